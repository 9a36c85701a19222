// Command gendump writes a synthetic MediaWiki pages-articles multistream
// dump of N articles, with its offset:id:title index, deterministic per
// seed (see internal/gendump for its shape):
//
//	go run ./scripts/gendump -articles 100000 -seed 1 -out /tmp/dumps
//
// It prints the paths and the dump's counts as JSON on stdout (the same
// JSON is written next to the dump as NAME.json), progress on stderr.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/miroverse/miroverse/internal/gendump"
)

func main() {
	var (
		articles = flag.Int64("articles", 10_000, "articles in namespace 0 (disambiguation and list pages included)")
		seed     = flag.Int64("seed", 1, "seed: the same seed and size give the same bytes")
		out      = flag.String("out", ".", "output directory")
		name     = flag.String("name", "", "file name prefix (default genwiki-a<articles>-s<seed>)")
		workers  = flag.Int("workers", 0, "compression workers (0: one per core); the output does not depend on it")
		quiet    = flag.Bool("quiet", false, "no progress lines")
	)
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	last := start
	opt := gendump.Options{Dir: *out, Name: *name, Articles: *articles, Seed: *seed, Workers: *workers}
	if !*quiet {
		opt.Progress = func(pages, total int64) {
			if now := time.Now(); now.Sub(last) >= time.Second || pages == total {
				last = now
				el := now.Sub(start).Seconds()
				rate := float64(pages) / max(el, 1e-9)
				eta := time.Duration(float64(total-pages) / max(rate, 1e-9) * float64(time.Second))
				fmt.Fprintf(os.Stderr, "gendump %s/%s pages (%.0f%%)  %s pages/s  ETA %s\n", humanize.Comma(pages),
					humanize.Comma(total), 100*float64(pages)/float64(total), humanize.Comma(int64(rate)), eta.Round(time.Second))
			}
		}
	}
	st, err := gendump.Write(ctx, opt)
	if err != nil {
		log.Error("gendump failed", "err", err)
		os.Exit(1)
	}
	log.Info("dump written", "dump", st.Dump, "pages", st.Pages, "articles", st.Articles, "links", st.Links,
		"xml", humanize.Bytes(uint64(st.XMLBytes)), "bz2", humanize.Bytes(uint64(st.Bz2Bytes)),
		"seconds", fmt.Sprintf("%.1f", st.Seconds))
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(st); err != nil {
		log.Error("gendump", "err", err)
		os.Exit(1)
	}
}
