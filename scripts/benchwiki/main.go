// Command benchwiki measures how fast miroverse reads a Wikipedia dump,
// side by side with the decompression floor and with wikiextractor, on
// the same file in the same run:
//
//	go run ./scripts/benchwiki            # or: make bench
//
// It builds a dump of at least -size MB of XML by repeating the real pages
// of the shared dumps (../shared/data/wiki) under fresh ids and titles,
// compresses it like Wikimedia's pages-articles-multistream (streams of
// 100 pages, with the offset:id:title index) and as a single bzip2
// stream, and caches both in -dir. Then it times, on the multistream file:
//
//   - bzip2 -dc FILE > /dev/null (one core: the floor a reader cannot beat
//     without decoding in parallel);
//   - ours: wiki.OpenWith + wiki.ParseAll over every page, no store (what
//     `miroverse ingest --dry-run` does), in a child process so its peak
//     RSS is its own; and the CLI's `ingest --dry-run` when bin/miroverse
//     has it;
//   - wikiextractor --no-templates --processes N (PyPI, in a venv it
//     creates in -dir);
//
// and prints wall times, MB/s of XML, pages/s, peak RSS and the ratios
// the issue sets as goals (ours ≤ 1.3× the time of bzip2 -dc, ≥ 20× the
// pages/s of wikiextractor). The single-stream file is timed with bzip2
// -dc and ours only. Needs bzip2 and python3 on PATH.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/wiki"
)

const wikiextractorVersion = "3.1.0"

func main() {
	var (
		data    = flag.String("data", defaultData(), "directory of the shared dumps whose pages are repeated")
		dir     = flag.String("dir", defaultDir(), "cache directory for the built dumps and the wikiextractor venv")
		sizeMB  = flag.Int("size", 120, "MB of XML the built dump holds at least")
		procs   = flag.Int("procs", 2, "processes for wikiextractor, workers for ours")
		runs    = flag.Int("runs", 1, "runs of each timed command; the fastest counts")
		noWX    = flag.Bool("no-wikiextractor", false, "skip wikiextractor")
		single  = flag.Bool("single", true, "also time the single-stream file")
		cli     = flag.String("cli", "bin/miroverse", "miroverse binary for `ingest --dry-run` (skipped when missing)")
		child   = flag.String("child", "", "internal: read this dump and print what was read")
		workers = flag.Int("workers", 0, "internal: reader workers in -child mode (0: GOMAXPROCS)")
		cpuprof = flag.String("cpuprofile", "", "with -child: write a CPU profile here")
	)
	flag.Parse()
	ctx := context.Background()
	if *child != "" {
		if *cpuprof != "" {
			f, err := os.Create(*cpuprof)
			if err != nil {
				fmt.Fprintln(os.Stderr, "benchwiki:", err)
				os.Exit(1)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				fmt.Fprintln(os.Stderr, "benchwiki:", err)
				os.Exit(1)
			}
			defer pprof.StopCPUProfile()
		}
		if err := runChild(ctx, *child, *workers); err != nil {
			fmt.Fprintln(os.Stderr, "benchwiki:", err)
			pprof.StopCPUProfile()
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, *data, *dir, *sizeMB, *procs, *runs, !*noWX, *single, *cli); err != nil {
		fmt.Fprintln(os.Stderr, "benchwiki:", err)
		os.Exit(1)
	}
}

func defaultData() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "data", "wiki")
}

func defaultDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "miroverse", "benchwiki")
	}
	return filepath.Join(os.TempDir(), "miroverse-benchwiki")
}

// childResult is what a -child run prints as JSON.
type childResult struct {
	Pages, Articles, Errors int64
	XMLBytes                int64
	Workers                 int
}

// runChild reads a dump the way `ingest --dry-run` does: every page,
// every article parsed, nothing stored.
func runChild(ctx context.Context, path string, workers int) error {
	r, err := wiki.OpenWith(ctx, path, wiki.OpenOptions{Workers: workers})
	if err != nil {
		return err
	}
	defer r.Close()
	var res childResult
	res.Workers = r.Workers()
	err = wiki.ParseAll(ctx, r, workers, func(p wiki.Page, doc kg.Doc, links []kg.RawLink, err error) error {
		switch {
		case err != nil:
			res.Errors++
		case doc.ID != "":
			res.Articles++
			res.Pages++
		default:
			res.Pages++
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, _, res.XMLBytes = r.Progress()
	return json.NewEncoder(os.Stdout).Encode(res)
}

// built describes the dumps the bench reads.
type built struct {
	Multi, Index, Single string
	XMLBytes             int64
	Pages, Articles      int64
	Streams              int
}

func run(ctx context.Context, data, dir string, sizeMB, procs, runs int, wx, single bool, cli string) error {
	for _, tool := range []string{"bzip2", "python3"} {
		if _, err := exec.LookPath(tool); err != nil && (tool == "bzip2" || wx) {
			return fmt.Errorf("%s not found on PATH (apt-get install bzip2 python3-venv)", tool)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := buildDump(ctx, data, dir, int64(sizeMB)<<20)
	if err != nil {
		return fmt.Errorf("build dump: %w", err)
	}
	st, err := os.Stat(b.Multi)
	if err != nil {
		return err
	}
	fmt.Printf("dump: %s\n  %.1f MB bzip2 (%d streams + index), %.1f MB XML, %d pages (%d articles), %d CPUs\n\n",
		b.Multi, mb(st.Size()), b.Streams, mb(b.XMLBytes), b.Pages, b.Articles, runtime.NumCPU())

	var rows []row
	floor, err := timeCmd(runs, "", "bzip2", "-dc", b.Multi)
	if err != nil {
		return fmt.Errorf("bzip2 -dc: %w", err)
	}
	rows = append(rows, row{name: "bzip2 -dc (1 core)", m: floor})
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ours, err := timeCmd(runs, "", self, "-child", b.Multi, "-workers", strconv.Itoa(procs))
	if err != nil {
		return fmt.Errorf("ours: %w", err)
	}
	var res childResult
	if err := json.Unmarshal(ours.stdout, &res); err != nil {
		return fmt.Errorf("ours: %w: %s", err, ours.stdout)
	}
	if res.Pages != b.Pages || res.Errors != 0 {
		return fmt.Errorf("ours read %d pages with %d errors, the dump has %d", res.Pages, res.Errors, b.Pages)
	}
	rows = append(rows, row{name: fmt.Sprintf("ours: OpenWith+ParseAll (%d workers)", res.Workers), m: ours, ours: true})
	if hasDryRun(cli) {
		m, err := timeCmd(runs, "", cli, "ingest", "--dry-run", "--input", b.Multi)
		if err != nil {
			return fmt.Errorf("%s ingest --dry-run: %w", cli, err)
		}
		rows = append(rows, row{name: "ours: miroverse ingest --dry-run", m: m, ours: true})
	} else {
		fmt.Printf("(%s has no `ingest --dry-run`: timing the library only)\n", cli)
	}
	if wx {
		m, err := timeWikiextractor(ctx, dir, b.Multi, procs, runs)
		if err != nil {
			return fmt.Errorf("wikiextractor: %w", err)
		}
		rows = append(rows, row{name: fmt.Sprintf("wikiextractor %s --no-templates --processes %d", wikiextractorVersion, procs), m: m, peer: true})
	}
	fmt.Println("multistream with index (how real runs read enwiki):")
	printTable(os.Stdout, rows, b)

	if single {
		floor1, err := timeCmd(runs, "", "bzip2", "-dc", b.Single)
		if err != nil {
			return err
		}
		ours1, err := timeCmd(runs, "", self, "-child", b.Single, "-workers", strconv.Itoa(procs))
		if err != nil {
			return err
		}
		fmt.Println("\nsingle stream (blocks found by scanning, decoded in parallel):")
		printTable(os.Stdout, []row{
			{name: "bzip2 -dc (1 core)", m: floor1},
			{name: fmt.Sprintf("ours: OpenWith+ParseAll (%d workers)", res.Workers), m: ours1, ours: true},
		}, b)
	}
	return nil
}

func mb(n int64) float64 { return float64(n) / 1e6 }

// measure is one timed command.
type measure struct {
	wall   time.Duration
	rssKB  int64
	stdout []byte
}

type row struct {
	name       string
	m          measure
	ours, peer bool
}

func printTable(w io.Writer, rows []row, b built) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\twall s\tXML MB/s\tpages/s\tpeak RSS MB\t")
	var floor, peer time.Duration
	for _, r := range rows {
		if !r.ours && !r.peer && floor == 0 {
			floor = r.m.wall
		}
		if r.peer {
			peer = r.m.wall
		}
	}
	for _, r := range rows {
		s := r.m.wall.Seconds()
		fmt.Fprintf(tw, "%s\t%.2f\t%.1f\t%.0f\t%.0f\t\n", r.name, s, mb(b.XMLBytes)/s, float64(b.Pages)/s, float64(r.m.rssKB)/1024)
	}
	tw.Flush()
	for _, r := range rows {
		if !r.ours {
			continue
		}
		ratio := r.m.wall.Seconds() / floor.Seconds()
		fmt.Fprintf(w, "  %s: %.2f× the time of bzip2 -dc (goal ≤ 1.3×: %s)", r.name, ratio, met(ratio <= 1.3))
		if peer > 0 {
			x := peer.Seconds() / r.m.wall.Seconds()
			fmt.Fprintf(w, "; %.1f× the pages/s of wikiextractor (goal ≥ 20×: %s)", x, met(x >= 20))
		}
		fmt.Fprintln(w)
	}
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// timeCmd runs a command runs times and keeps the fastest run; the peak
// RSS is the largest seen. The RSS comes from /usr/bin/time: the rusage
// of a child Go starts also counts the parent's memory (it forks with
// CLONE_VM), which here holds the whole dump after building it.
func timeCmd(runs int, dir, name string, args ...string) (measure, error) {
	var best measure
	timeBin, _ := exec.LookPath("/usr/bin/time")
	for i := range max(runs, 1) {
		argv := append([]string{name}, args...)
		var rssFile string
		if timeBin != "" {
			f, err := os.CreateTemp("", "benchwiki-time-")
			if err != nil {
				return best, err
			}
			f.Close()
			rssFile = f.Name()
			argv = append([]string{timeBin, "-f", "%M", "-o", rssFile}, argv...)
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = dir
		var out, errb bytes.Buffer
		cmd.Stdout = &out
		if name == "bzip2" {
			cmd.Stdout = io.Discard
		}
		cmd.Stderr = &errb
		start := time.Now()
		err := cmd.Run()
		wall := time.Since(start)
		rss := int64(0)
		if rssFile != "" {
			raw, _ := os.ReadFile(rssFile)
			os.Remove(rssFile)
			fields := strings.Fields(string(raw))
			if len(fields) > 0 {
				rss, _ = strconv.ParseInt(fields[len(fields)-1], 10, 64) // KiB
			}
		} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = ru.Maxrss
		}
		if err != nil {
			return best, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, lastLines(errb.String(), 5))
		}
		if i == 0 || wall < best.wall {
			best.wall, best.stdout = wall, out.Bytes()
		}
		best.rssKB = max(best.rssKB, rss)
	}
	return best, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func hasDryRun(cli string) bool {
	out, err := exec.Command(cli, "ingest", "--help").CombinedOutput()
	return err == nil && bytes.Contains(out, []byte("--dry-run"))
}

// timeWikiextractor installs wikiextractor in a venv of its own (once)
// and times it on the dump, writing its output to a temporary directory.
func timeWikiextractor(ctx context.Context, dir, dump string, procs, runs int) (measure, error) {
	venv := filepath.Join(dir, "wikiextractor-venv")
	py := filepath.Join(venv, "bin", "python")
	if _, err := os.Stat(py); err != nil {
		if out, err := exec.CommandContext(ctx, "python3", "-m", "venv", venv).CombinedOutput(); err != nil {
			return measure{}, fmt.Errorf("python3 -m venv: %w: %s", err, out)
		}
	}
	check := exec.CommandContext(ctx, py, "-c", "import wikiextractor")
	if check.Run() != nil {
		out, err := exec.CommandContext(ctx, py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
			"wikiextractor=="+wikiextractorVersion).CombinedOutput()
		if err != nil {
			return measure{}, fmt.Errorf("pip install wikiextractor: %w: %s", err, out)
		}
	}
	out, err := os.MkdirTemp("", "wikiextractor-out-")
	if err != nil {
		return measure{}, err
	}
	defer os.RemoveAll(out)
	return timeCmd(runs, "", py, "-m", "wikiextractor.WikiExtractor", dump,
		"--no-templates", "--processes", strconv.Itoa(procs), "-o", out, "-q")
}

// buildDump writes (or finds in dir) the multistream dump, its index and
// the single-stream dump.
func buildDump(ctx context.Context, data, dir string, minXML int64) (built, error) {
	tag := fmt.Sprintf("benchwiki-%dmb", minXML>>20)
	b := built{
		Multi:  filepath.Join(dir, tag+"-pages-articles-multistream.xml.bz2"),
		Index:  filepath.Join(dir, tag+"-pages-articles-multistream-index.txt.bz2"),
		Single: filepath.Join(dir, tag+"-pages-articles.xml.bz2"),
	}
	manifest := filepath.Join(dir, tag+".json")
	if raw, err := os.ReadFile(manifest); err == nil {
		var cached built
		if json.Unmarshal(raw, &cached) == nil && cached.Multi == b.Multi && exists(b.Multi, b.Index, b.Single) {
			return cached, nil
		}
	}
	fmt.Printf("building a dump of ≥ %d MB of XML in %s …\n", minXML>>20, dir)
	src, site, err := loadPages(ctx, data)
	if err != nil {
		return b, err
	}
	if err := writeDump(ctx, &b, src, site, minXML); err != nil {
		return b, err
	}
	raw, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return b, err
	}
	return b, os.WriteFile(manifest, raw, 0o644)
}

func exists(paths ...string) bool {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

// loadPages reads every page of the shared dumps; the site header is the
// English excerpt's, so the dump reads as an English Wikipedia.
func loadPages(ctx context.Context, data string) ([]wiki.Page, wiki.SiteInfo, error) {
	files, err := filepath.Glob(filepath.Join(data, "*.xml.bz2"))
	if err != nil || len(files) == 0 {
		return nil, wiki.SiteInfo{}, fmt.Errorf("no *.xml.bz2 dumps in %s", data)
	}
	sort.Strings(files)
	var pages []wiki.Page
	var site wiki.SiteInfo
	for _, f := range files {
		r, err := wiki.OpenWith(ctx, f, wiki.OpenOptions{})
		if err != nil {
			return nil, site, err
		}
		if strings.HasPrefix(filepath.Base(f), "enwiki-2016") {
			site = r.SiteInfo()
		}
		for {
			p, err := r.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				return nil, site, fmt.Errorf("%s: %w", f, err)
			}
			pages = append(pages, p)
		}
		r.Close()
	}
	if site.DBName == "" {
		site = wiki.SiteInfo{DBName: "enwiki", Lang: "en", Base: "https://en.wikipedia.org/wiki/Main_Page", Namespaces: map[int]string{0: ""}}
	}
	return pages, site, nil
}

// escaper writes XML text as MediaWiki does (htmlspecialchars).
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

func header(site wiki.SiteInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="%s">`+"\n", site.Lang)
	b.WriteString("  <siteinfo>\n")
	fmt.Fprintf(&b, "    <sitename>Wikipedia</sitename>\n    <dbname>%s</dbname>\n    <base>%s</base>\n", site.DBName, escaper.Replace(site.Base))
	b.WriteString("    <generator>MediaWiki 1.43.0-wmf.22</generator>\n    <case>first-letter</case>\n    <namespaces>\n")
	keys := make([]int, 0, len(site.Namespaces))
	for k := range site.Namespaces {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		if name := site.Namespaces[k]; name == "" {
			fmt.Fprintf(&b, "      <namespace key=\"%d\" case=\"first-letter\" />\n", k)
		} else {
			fmt.Fprintf(&b, "      <namespace key=\"%d\" case=\"first-letter\">%s</namespace>\n", k, escaper.Replace(name))
		}
	}
	b.WriteString("    </namespaces>\n  </siteinfo>\n")
	return b.String()
}

func writePage(b *bytes.Buffer, p wiki.Page, id int64, copyN int) string {
	title := fmt.Sprintf("%s (%d)", p.Title, copyN)
	b.WriteString("  <page>\n    <title>")
	b.WriteString(escaper.Replace(title))
	fmt.Fprintf(b, "</title>\n    <ns>%d</ns>\n    <id>%d</id>\n", p.NS, id)
	if p.Redirect != "" {
		fmt.Fprintf(b, "    <redirect title=\"%s\" />\n", escaper.Replace(fmt.Sprintf("%s (%d)", p.Redirect, copyN)))
	}
	fmt.Fprintf(b, "    <revision>\n      <id>%d</id>\n      <parentid>%d</parentid>\n      <timestamp>2024-09-01T00:00:00Z</timestamp>\n", id+1e8, id+2e8)
	b.WriteString("      <contributor>\n        <username>Bench</username>\n        <id>1</id>\n      </contributor>\n")
	b.WriteString("      <comment>copied for the benchmark</comment>\n      <origin>1</origin>\n      <model>wikitext</model>\n      <format>text/x-wiki</format>\n")
	fmt.Fprintf(b, "      <text bytes=\"%d\" xml:space=\"preserve\">", len(p.Text))
	b.WriteString(escaper.Replace(p.Text))
	b.WriteString("</text>\n      <sha1>0000000000000000000000000000000</sha1>\n    </revision>\n  </page>\n")
	return title
}

// writeDump writes the XML in streams of 100 pages, each compressed by
// `bzip2 -9` on its own as Wikimedia does, with the index; and the whole
// XML as one stream.
func writeDump(ctx context.Context, b *built, src []wiki.Page, site wiki.SiteInfo, minXML int64) error {
	xmlPath := strings.TrimSuffix(b.Single, ".bz2")
	xmlFile, err := os.Create(xmlPath)
	if err != nil {
		return err
	}
	defer os.Remove(xmlPath)
	defer xmlFile.Close()

	// The streams, in order: the header, pages by 100, the footer.
	type stream struct {
		text  []byte
		lines []string // index lines without the offset
	}
	var streams []stream
	streams = append(streams, stream{text: []byte(header(site))})
	id := int64(1)
	var buf bytes.Buffer
	var lines []string
	total := int64(len(streams[0].text))
	for copyN := 1; total < minXML; copyN++ {
		for _, p := range src {
			title := writePage(&buf, p, id, copyN)
			lines = append(lines, fmt.Sprintf("%d:%s", id, title))
			id++
			b.Pages++
			if p.NS == 0 && p.Redirect == "" {
				b.Articles++
			}
			if len(lines) == 100 {
				streams = append(streams, stream{text: bytes.Clone(buf.Bytes()), lines: lines})
				total += int64(buf.Len())
				buf.Reset()
				lines = nil
			}
		}
	}
	if len(lines) > 0 {
		streams = append(streams, stream{text: bytes.Clone(buf.Bytes()), lines: lines})
		total += int64(buf.Len())
	}
	streams = append(streams, stream{text: []byte("</mediawiki>\n")})
	total += int64(len("</mediawiki>\n"))
	b.XMLBytes = total
	b.Streams = len(streams)

	// Compress the streams in parallel, write them in order.
	comp := make([][]byte, len(streams))
	errs := make([]error, len(streams))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i := range streams {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			comp[i], errs[i] = bzip2(ctx, streams[i].text)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	multi, err := os.Create(b.Multi)
	if err != nil {
		return err
	}
	var index bytes.Buffer
	off := int64(0)
	for i, s := range streams {
		for _, l := range s.lines {
			fmt.Fprintf(&index, "%d:%s\n", off, l)
		}
		if _, err := multi.Write(comp[i]); err != nil {
			multi.Close()
			return err
		}
		if _, err := xmlFile.Write(s.text); err != nil {
			multi.Close()
			return err
		}
		off += int64(len(comp[i]))
	}
	if err := multi.Close(); err != nil {
		return err
	}
	idx, err := bzip2(ctx, index.Bytes())
	if err != nil {
		return err
	}
	if err := os.WriteFile(b.Index, idx, 0o644); err != nil {
		return err
	}
	if err := xmlFile.Close(); err != nil {
		return err
	}
	out, err := os.Create(b.Single)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "bzip2", "-9", "-c", xmlPath)
	cmd.Stdout = out
	if err := cmd.Run(); err != nil {
		out.Close()
		return fmt.Errorf("bzip2 %s: %w", xmlPath, err)
	}
	return out.Close()
}

func bzip2(ctx context.Context, in []byte) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "bzip2", "-9", "-c")
	cmd.Stdin = bytes.NewReader(in)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("bzip2: %w", err)
	}
	return out.Bytes(), nil
}
