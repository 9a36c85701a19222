// Command benchweb measures how fast miroverse ingests web pages, side by
// side with Python trafilatura's extract on the same pages in the same run:
//
//	go run ./scripts/benchweb            # or: make bench
//
// It concatenates the shared WARCs (../shared/data/warc, gzip members
// concatenate into one valid WARC) -repeat times into one file, then times
//
//   - ours: `bin/miroverse ingest` of that file into a fresh embedded store
//     (reading, extraction on every core, filters, dedup, the store's
//     writes and Finish), its peak RSS from the kernel's account of the
//     child;
//   - trafilatura: scripts/trafilatura_extract.py --repeat N over the same
//     WARCs in the venv of `make test` (.venv), counting only the time
//     inside trafilatura.extract, not warcio's parsing: the peer's best
//     case;
//
// and prints pages/s of both, the ratio and the goal (≥ 5×). The token F1
// agreement of the two extractions is kg/web's TestExtractionAgreesWith
// Trafilatura.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
)

func main() {
	repeat := flag.Int("repeat", 20, "copies of the shared WARCs in the benchmark file")
	py := flag.String("python", ".venv/bin/python", "python with trafilatura and warcio (make venv)")
	bin := flag.String("bin", "bin/miroverse", "the miroverse binary (make build)")
	flag.Parse()
	if err := run(*repeat, *py, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "benchweb:", err)
		os.Exit(1)
	}
}

func run(repeat int, py, bin string) error {
	_, self, _, _ := runtime.Caller(0)
	warcs, _ := filepath.Glob(filepath.Join(filepath.Dir(self), "..", "..", "..", "shared", "data", "warc", "*.warc.gz"))
	var pages []string
	for _, w := range warcs {
		if !strings.Contains(w, ".wat.") && !strings.Contains(w, ".wet.") {
			pages = append(pages, w)
		}
	}
	if len(pages) == 0 {
		return fmt.Errorf("no WARCs in ../shared/data/warc")
	}
	dir, err := os.MkdirTemp("", "benchweb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "bench.warc.gz")
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	for range repeat {
		for _, w := range pages {
			in, err := os.Open(w)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, in)
			in.Close()
			if err != nil {
				return err
			}
		}
	}
	if err := f.Close(); err != nil {
		return err
	}

	// Ours: a real ingest into an embedded store.
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("input:\n  paths: ["+file+"]\n"), 0o644); err != nil {
		return err
	}
	root := filepath.Join(dir, "out")
	cmd := exec.Command(bin, "ingest", "--config", cfg, "--out", root)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s ingest: %v\n%s", bin, err, stderr.String())
	}
	ours := time.Since(start)
	rss := int64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) * 1024
	var m struct {
		Stages map[string]struct {
			Kept     int64            `json:"kept"`
			Rejected map[string]int64 `json:"rejected"`
			Skipped  map[string]int64 `json:"skipped"`
		} `json:"stages"`
	}
	b, err := os.ReadFile(filepath.Join(root, "manifest.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	// Every HTML response that reached extraction: kept, rejected by a
	// filter or as a duplicate, or skipped for a reason.
	st := m.Stages["ingest"]
	ourPages := st.Kept + st.Skipped["no_main_text"]
	for _, n := range st.Rejected {
		ourPages += n
	}

	// Theirs: trafilatura.extract on the same pages.
	out, err := exec.Command(py, append([]string{"scripts/trafilatura_extract.py", "--repeat", fmt.Sprint(repeat)}, pages...)...).Output()
	if err != nil {
		return fmt.Errorf("trafilatura_extract.py: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var peer struct {
		Seconds float64 `json:"seconds"`
		Pages   int64   `json:"pages"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &peer); err != nil {
		return fmt.Errorf("trafilatura_extract.py output: %v", err)
	}
	oursRate := float64(ourPages) / ours.Seconds()
	peerRate := float64(peer.Pages) / peer.Seconds
	ratio := oursRate / peerRate
	met := "yes"
	if ratio < 5 {
		met = "NO"
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\tours\tpeer\tratio\tgoal\tmet")
	fmt.Fprintf(tw, "web pages/s (%s pages, %d cores)\t%.0f pages/s (ingest, %s wall, peak RSS %s)\t%.0f pages/s (trafilatura.extract, %d pages)\t%.1f×\t≥ 5×\t%s\n",
		humanize.Comma(ourPages), runtime.NumCPU(), oursRate, ours.Round(time.Millisecond), humanize.IBytes(uint64(rss)),
		peerRate, peer.Pages, ratio, met)
	return tw.Flush()
}
