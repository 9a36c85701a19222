// Command dumptext prints the clean text miroverse makes of every article
// of a MediaWiki dump (namespace 0, redirects left out), one JSON object per
// line: {"id", "title", "kind", "text", "facts": [{"key", "value"}]}. It is
// the "ours" side of scripts/compare_wikiextractor.sh.
//
//	go run ./scripts/dumptext [-o out.jsonl] DUMP
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/wiki"
)

type page struct {
	ID    int64     `json:"id"`
	Title string    `json:"title"`
	Kind  string    `json:"kind"`
	Text  string    `json:"text"`
	Facts []kg.Fact `json:"facts"`
}

func main() {
	out := flag.String("o", "-", "output file (- for standard output)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: dumptext [-o out.jsonl] DUMP")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, flag.Arg(0), *out); err != nil {
		fmt.Fprintln(os.Stderr, "dumptext:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dump, out string) (err error) {
	var w io.Writer = os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return fmt.Errorf("create output: %w", err)
		}
		defer func() {
			if cerr := f.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("close %s: %w", out, cerr)
			}
		}()
		w = f
	}
	bw := bufio.NewWriter(w)
	n, err := write(ctx, dump, json.NewEncoder(bw))
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	fmt.Fprintf(os.Stderr, "dumptext: %d articles of %s\n", n, dump)
	return nil
}

func write(ctx context.Context, dump string, enc *json.Encoder) (int, error) {
	rd, err := wiki.OpenContext(ctx, dump)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", dump, err)
	}
	defer rd.Close()
	parser := wiki.NewParser(rd.SiteInfo())
	n := 0
	for {
		p, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("read %s: %w", dump, err)
		}
		if p.NS != 0 || p.Redirect != "" {
			continue
		}
		d, _ := parser.Parse(p)
		facts := d.Facts
		if facts == nil {
			facts = []kg.Fact{} // [] rather than null: one shape per field
		}
		if err := enc.Encode(page{ID: p.ID, Title: d.Title, Kind: d.Kind, Text: d.Text, Facts: facts}); err != nil {
			return n, fmt.Errorf("write page %d: %w", p.ID, err)
		}
		n++
	}
}
