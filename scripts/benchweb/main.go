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
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
)

func main() {
	repeat := flag.Int("repeat", 20, "copies of the shared WARCs in the benchmark file")
	rounds := flag.Int("rounds", 3, "rounds of both measurements; the medians are compared")
	py := flag.String("python", ".venv/bin/python", "python with trafilatura and warcio (make venv)")
	bin := flag.String("bin", "bin/miroverse", "the miroverse binary (make build)")
	flag.Parse()
	if err := run(*repeat, max(*rounds, 1), *py, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "benchweb:", err)
		os.Exit(1)
	}
}

func run(repeat, rounds int, py, bin string) error {
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

	// Rounds alternate ours and theirs so that a burst of load on the
	// shared machine hits both; the medians are compared.
	var oursRates, peerRates []float64
	var ourPages, peerPages int64
	var rss int64
	var wall time.Duration
	for round := range rounds {
		n, took, peak, err := ingest(bin, file, filepath.Join(dir, fmt.Sprint("r", round)))
		if err != nil {
			return err
		}
		ourPages, wall, rss = n, took, max(rss, peak)
		oursRates = append(oursRates, float64(n)/took.Seconds())
		pn, secs, err := trafilatura(py, repeat, pages)
		if err != nil {
			return err
		}
		peerPages = pn
		peerRates = append(peerRates, float64(pn)/secs)
	}
	oursRate, peerRate := median(oursRates), median(peerRates)
	ratio := oursRate / peerRate
	met := "yes"
	if ratio < 5 {
		met = "NO"
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\tours\tpeer\tratio\tgoal\tmet")
	fmt.Fprintf(tw, "web pages/s (%s pages, %d cores, median of %d)\t%.0f pages/s (ingest, last %s wall, peak RSS %s)\t%.0f pages/s (trafilatura.extract, %d pages)\t%.1f×\t≥ 5×\t%s\n",
		humanize.Comma(ourPages), runtime.NumCPU(), rounds, oursRate, wall.Round(time.Millisecond), humanize.IBytes(uint64(rss)),
		peerRate, peerPages, ratio, met)
	return tw.Flush()
}

func median(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}

// ingest runs a real `miroverse ingest` of file into a fresh embedded store
// at root: the pages that reached extraction, the wall time and the
// child's peak RSS.
func ingest(bin, file, root string) (pages int64, took time.Duration, rss int64, err error) {
	cfg := root + ".yaml"
	if err := os.WriteFile(cfg, []byte("input:\n  paths: ["+file+"]\n"), 0o644); err != nil {
		return 0, 0, 0, err
	}
	cmd := exec.Command(bin, "ingest", "--quiet", "--config", cfg, "--out", root)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, 0, fmt.Errorf("%s ingest: %v\n%s", bin, err, stderr.String())
	}
	took = time.Since(start)
	rss = int64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) * 1024
	var m struct {
		Stages map[string]struct {
			Kept     int64            `json:"kept"`
			Rejected map[string]int64 `json:"rejected"`
			Skipped  map[string]int64 `json:"skipped"`
		} `json:"stages"`
	}
	b, err := os.ReadFile(filepath.Join(root, "manifest.json"))
	if err != nil {
		return 0, 0, 0, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return 0, 0, 0, err
	}
	// Every HTML response that reached extraction: kept, rejected by a
	// filter or as a duplicate, or without main text.
	st := m.Stages["ingest"]
	pages = st.Kept + st.Skipped["no_main_text"]
	for _, n := range st.Rejected {
		pages += n
	}
	return pages, took, rss, os.RemoveAll(root)
}

// trafilatura times trafilatura.extract over the same WARCs' HTML
// responses, repeat times.
func trafilatura(py string, repeat int, warcs []string) (pages int64, seconds float64, err error) {
	out, err := exec.Command(py, append([]string{"scripts/trafilatura_extract.py", "--repeat", fmt.Sprint(repeat)}, warcs...)...).Output()
	if err != nil {
		return 0, 0, fmt.Errorf("trafilatura_extract.py: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var peer struct {
		Seconds float64 `json:"seconds"`
		Pages   int64   `json:"pages"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &peer); err != nil {
		return 0, 0, fmt.Errorf("trafilatura_extract.py output: %v", err)
	}
	return peer.Pages, peer.Seconds, nil
}
