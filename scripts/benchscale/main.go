// Command benchscale measures how the pipeline's costs grow with the size of
// a Wikipedia dump, on generated dumps (internal/gendump) of 10k, 100k and
// 1M articles, and checks them against the goals of issue 11:
//
//	make bench-scale                      # or: go run ./scripts/benchscale -sizes 10k,100k
//	make bench-scale NEO4J=1              # also the Neo4j loaders, through scripts/with-neo4j
//
// Every stage runs in a child process of the real CLI (bin/miroverse, made
// by `make build`), so wall times and peak RSS (wait4's rusage) are the
// CLI's own: `ingest --dry-run` (parse only), `ingest` (read + link
// resolution, which the log times apart), `sample` (walks/s), and
// google_search calls through the agent's tool session (trajectory/toolset)
// in a child of this program. From the sizes it fits each cost's growth
// exponent (least squares on log-log), extrapolates to the English
// Wikipedia and prints the measurements and one table of the goals,
// measured against target, PASS or MISS; -markdown writes both as Markdown
// for the README.
//
// Dumps and output roots are cached under -dir (never in the repository);
// a size's measurements are saved there too, and -reuse prints them again
// without measuring, so a long 1M run can go in the background and the
// table be printed with the other sizes later.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/miroverse/miroverse/internal/gendump"
)

// options are the flags.
type options struct {
	sizes    []int64
	dir      string
	bin      string
	seed     int64
	walks    int
	queries  int
	neo4j    bool
	neo4jMax int64
	markdown string
	reuse    bool
	keep     bool
}

func main() {
	var (
		o       options
		sizes   = flag.String("sizes", "10k,100k,1M", "comma-separated article counts (k and M suffixes)")
		neo4jTo = flag.String("neo4j-max", "100k", "largest size whose graph is loaded into Neo4j (the current loader is slow)")
	)
	flag.StringVar(&o.dir, "dir", defaultDir(), "cache of generated dumps, output roots and results")
	flag.StringVar(&o.bin, "bin", "bin/miroverse", "the miroverse binary (make build)")
	flag.Int64Var(&o.seed, "seed", 1, "generator seed")
	flag.IntVar(&o.walks, "walks", 10_000, "walks the sample stage draws (sample.walks)")
	flag.IntVar(&o.queries, "queries", 300, "google_search calls timed per size")
	flag.BoolVar(&o.neo4j, "neo4j", false, "also load the graphs into the Neo4j at NEO4J_URI and run neo4j-admin import")
	flag.StringVar(&o.markdown, "markdown", "", "also write the tables as Markdown to this file")
	flag.BoolVar(&o.reuse, "reuse", false, "print the saved measurements of sizes measured before instead of measuring them again")
	flag.BoolVar(&o.keep, "keep", false, "keep the output roots (kg.db of 1M articles is ~10 GB)")
	childSearch := flag.String("child-search", "", "internal: time google_search on this output root")
	childGen := flag.Int64("child-gendump", 0, "internal: generate a dump of this many articles into -dir")
	queryFile := flag.String("query-file", "", "internal: queries for -child-search, one per line")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch {
	case *childSearch != "":
		err = runSearchChild(ctx, *childSearch, *queryFile)
	case *childGen > 0:
		err = runGenChild(ctx, o.dir, *childGen, o.seed)
	default:
		if o.sizes, err = parseSizes(*sizes); err == nil {
			var m []int64
			if m, err = parseSizes(*neo4jTo); err == nil {
				o.neo4jMax = m[0]
				err = run(ctx, log, o)
			}
		}
	}
	if err != nil {
		log.Error("benchscale failed", "err", err)
		os.Exit(1)
	}
}

func defaultDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "miroverse", "bench-scale")
	}
	return filepath.Join(os.TempDir(), "miroverse-bench-scale")
}

// parseSizes reads "10k,100k,1M".
func parseSizes(s string) ([]int64, error) {
	var out []int64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		mul := int64(1)
		switch {
		case strings.HasSuffix(f, "k"), strings.HasSuffix(f, "K"):
			mul, f = 1_000, f[:len(f)-1]
		case strings.HasSuffix(f, "M"), strings.HasSuffix(f, "m"):
			mul, f = 1_000_000, f[:len(f)-1]
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || v <= 0 || v*float64(mul) > float64(gendump.MaxArticles) {
			return nil, fmt.Errorf("size %q: want a positive article count such as 10k or 1M, at most %d", f, gendump.MaxArticles)
		}
		out = append(out, int64(v*float64(mul)))
	}
	return out, nil
}

// label is a size as the tables write it.
func label(n int64) string {
	switch {
	case n >= 1_000_000 && n%100_000 == 0:
		return strconv.FormatFloat(float64(n)/1e6, 'f', -1, 64) + "M"
	case n >= 1000 && n%100 == 0:
		return strconv.FormatFloat(float64(n)/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatInt(n, 10)
}

func run(ctx context.Context, log *slog.Logger, o options) error {
	if _, err := os.Stat(o.bin); err != nil {
		return fmt.Errorf("%s: %w (run `make build` first)", o.bin, err)
	}
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return err
	}
	o.bin = bin
	if o.neo4j && os.Getenv("NEO4J_URI") == "" {
		return errors.New("-neo4j needs NEO4J_URI: run through `make bench-scale NEO4J=1` (scripts/with-neo4j)")
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	var results []*result
	for _, n := range o.sizes {
		path := filepath.Join(o.dir, fmt.Sprintf("result-a%d-s%d.json", n, o.seed))
		if o.reuse {
			if r, err := readResult(path); err == nil && r.Dump.Version == gendump.Version {
				log.Info("reusing saved measurements", "size", label(n), "file", path, "measured", r.When)
				results = append(results, r)
				continue
			}
		}
		r, err := measure(ctx, log, o, n)
		if err != nil {
			return fmt.Errorf("%s articles: %w", label(n), err)
		}
		if err := writeJSON(path, r); err != nil {
			return err
		}
		results = append(results, r)
	}
	rep := newReport(results)
	rep.text(os.Stdout)
	if o.markdown != "" {
		f, err := os.Create(o.markdown)
		if err != nil {
			return err
		}
		rep.markdown(f)
		if err := f.Close(); err != nil {
			return err
		}
		log.Info("markdown written", "file", o.markdown)
	}
	return nil
}

func readResult(path string) (*result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r result
	return &r, json.Unmarshal(b, &r)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// runGenChild writes a dump in a process of its own, so that the parent
// stays small: a child's rusage counts the parent's memory at fork (Go
// starts children with CLONE_VM), so a large parent would inflate every
// measured RSS.
func runGenChild(ctx context.Context, dir string, n, seed int64) error {
	start := time.Now()
	last := start
	st, err := gendump.Write(ctx, gendump.Options{Dir: filepath.Join(dir, "dumps"), Articles: n, Seed: seed,
		Progress: func(pages, total int64) {
			if now := time.Now(); now.Sub(last) >= 5*time.Second {
				last = now
				rate := float64(pages) / now.Sub(start).Seconds()
				eta := time.Duration(float64(total-pages) / rate * float64(time.Second)).Round(time.Second)
				fmt.Fprintf(os.Stderr, "gendump %s/%s pages  %s pages/s  ETA %s\n", humanize.Comma(pages), humanize.Comma(total),
					humanize.Comma(int64(rate)), eta)
			}
		}})
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(st)
}

// copyTo is an io.Writer that keeps what a child prints and passes it on.
type copyTo struct {
	keep *strings.Builder
	pass io.Writer
}

func (c copyTo) Write(p []byte) (int, error) {
	c.keep.Write(p)
	if c.pass != nil {
		c.pass.Write(p)
	}
	return len(p), nil
}
