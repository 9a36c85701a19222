package pipeline

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/web"
	"github.com/miroverse/miroverse/kg/wiki"
)

// WebConfig holds the quality filters and deduplication of web pages
// (input.web). Zero values take the defaults of web.DefaultFilters and
// web.DefaultNearThreshold; a negative number turns a rule off.
type WebConfig struct {
	// MinWords: fewer words in the main text reject a page (default 50).
	MinWords int `yaml:"min_words" json:"min_words"`
	// MaxLinkDensity: a larger share of the main text inside links rejects
	// a page (default 0.5).
	MaxLinkDensity float64 `yaml:"max_link_density" json:"max_link_density"`
	// MaxBoilerplate: a larger share of the visible page outside the main
	// text rejects it (default 0.95).
	MaxBoilerplate float64 `yaml:"max_boilerplate" json:"max_boilerplate"`
	// Languages (ISO 639-1) keep only pages identified as one of them;
	// empty keeps all.
	Languages []string `yaml:"languages" json:"languages"`
	// NearDuplicate is the MinHash Jaccard estimate from which a page is a
	// near duplicate of one before it in URL order (default 0.8).
	NearDuplicate float64 `yaml:"near_duplicate" json:"near_duplicate"`
}

func (c WebConfig) filters() web.Filters {
	f := web.DefaultFilters()
	pick := func(v float64, def float64) float64 {
		switch {
		case v < 0:
			return 0
		case v == 0:
			return def
		}
		return v
	}
	switch {
	case c.MinWords < 0:
		f.MinWords = 0
	case c.MinWords > 0:
		f.MinWords = c.MinWords
	}
	f.MaxLinkDensity = pick(c.MaxLinkDensity, f.MaxLinkDensity)
	f.MaxBoilerplate = pick(c.MaxBoilerplate, f.MaxBoilerplate)
	f.Languages = c.Languages
	return f
}

// splitInputs sorts the inputs into wiki dumps and web inputs, each in
// the order given. Wiki dumps are read first, so that the web reader knows
// which wikis' links to resolve by title.
func splitInputs(paths []string) (dumps, webs []string, err error) {
	for _, p := range paths {
		_, err := web.Detect(p)
		switch {
		case err == nil:
			webs = append(webs, p)
		case errors.Is(err, web.ErrNotWeb):
			dumps = append(dumps, p)
		default:
			return nil, nil, fmt.Errorf("ingest: %w", err)
		}
	}
	return dumps, webs, nil
}

// readInputs reads every input into w: the dumps one by one, then all web
// inputs together (deduplication spans them).
func readInputs(ctx context.Context, paths []string, w graphWriter, cfg Config, batch int, st *StageStats,
	log *slog.Logger, progress io.Writer, spillDir string) error {
	dumps, webs, err := splitInputs(paths)
	if err != nil {
		return err
	}
	var hosts []string
	for _, p := range dumps {
		if err := readDump(ctx, p, w, cfg.reader(), batch, st, log, progress); err != nil {
			return err
		}
		if h := wikiHost(ctx, p, cfg.reader()); h != "" {
			hosts = append(hosts, h)
		}
	}
	if len(webs) == 0 {
		return nil
	}
	return readWeb(ctx, webs, w, cfg, hosts, batch, st, log, spillDir)
}

// wikiHost is the host of a dump's wiki ("en.wikipedia.org"), "" when its
// siteinfo names none.
func wikiHost(ctx context.Context, path string, in InputConfig) string {
	opt, err := readOptions(in)
	if err != nil {
		return ""
	}
	rd, err := wiki.OpenWith(ctx, path, opt)
	if err != nil {
		return ""
	}
	defer rd.Close()
	u, err := url.Parse(rd.SiteInfo().Base)
	if err != nil {
		return ""
	}
	return u.Host
}

// readWeb reads web inputs in two passes. The first extracts every page
// (in parallel), counts what each record became, writes redirects, and
// spills the pages that pass the filters to a file, keeping only their URL,
// hash and MinHash signature in memory. Duplicates are then decided in URL
// order across all the inputs (web.Dedup), and the second pass writes the
// pages that are no duplicate, and the URL of each duplicate as a redirect
// to the page kept, so that a link to it still resolves.
func readWeb(ctx context.Context, paths []string, w graphWriter, cfg Config, wikiHosts []string, batch int,
	st *StageStats, log *slog.Logger, spillDir string) error {
	opt := web.Options{MaxPageBytes: cfg.maxPage(), Workers: cfg.Input.Workers, WikiHosts: wikiHosts,
		Filters: cfg.Input.Web.filters()}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	// Extraction makes a page's DOM, and copies of it, as short-lived
	// garbage: collecting at 4× the live heap instead of 2× costs ~12% less
	// time on the shared WARCs. The stage's memory limit (memory_budget)
	// still bounds the heap.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	if err := os.MkdirAll(spillDir, 0o755); err != nil {
		return fmt.Errorf("ingest: web pages: %w", err)
	}
	spill, err := os.CreateTemp(spillDir, "web-pages-*.gob")
	if err != nil {
		return fmt.Errorf("ingest: web pages: %w", err)
	}
	defer os.Remove(spill.Name())
	defer spill.Close()
	bw := bufio.NewWriterSize(spill, 1<<20)
	enc := gob.NewEncoder(bw)
	var cands []web.Candidate
	var redirects []kg.Redirect
	for _, path := range paths {
		err := web.Read(ctx, path, opt, func(p web.Page) error {
			st.Counts["web_records"]++
			st.Counts["web_"+p.Type]++
			for _, n := range p.Notes {
				st.Counts[n]++
				st.example(n, fmt.Sprintf("%s: record at %d: %s", path, p.Offset, n))
			}
			redirects = append(redirects, p.Redirects...)
			switch {
			case p.Err != nil:
				st.add("failed", p.Skip)
				st.example(p.Skip, p.Err.Error())
				log.Warn("skipping bad web record", "reason", p.Skip, "err", p.Err)
			case p.Doc == nil:
				st.add("skipped", p.Skip)
			case p.Skip != "":
				st.add("rejected", p.Skip)
				st.example(p.Skip, fmt.Sprintf("%s: %s (%s at %d): %s", path, p.Doc.Doc.URL, p.Type, p.Offset, p.Skip))
			default:
				cands = append(cands, web.Candidate{Seq: len(cands), URL: p.Doc.Doc.URL, Hash: p.Doc.Doc.Hash,
					Sig: p.Doc.Sig, Empty: p.Doc.NoSig})
				if err := enc.Encode(spilled{Doc: p.Doc.Doc, Links: p.Doc.Links}); err != nil {
					return fmt.Errorf("spill web page: %w", err)
				}
			}
			if len(redirects) >= batch {
				if err := w.PutRedirects(ctx, redirects); err != nil {
					return err
				}
				redirects = nil
			}
			return nil
		})
		if errors.Is(err, io.ErrUnexpectedEOF) {
			st.Counts["truncated_inputs"]++
			st.example(wiki.ReasonTruncated, err.Error())
			log.Error("input ended early (truncated); kept every record before the break", "file", path, "err", err)
			err = nil
		}
		if err != nil {
			return fmt.Errorf("ingest %s: %w", path, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("ingest: spill web pages: %w", err)
	}
	dups := map[int]web.Verdict{}
	for _, v := range web.Dedup(cands, cfg.Input.Web.NearDuplicate) {
		dups[v.Seq] = v
	}
	if _, err := spill.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("ingest: read spilled web pages: %w", err)
	}
	dec := gob.NewDecoder(bufio.NewReaderSize(spill, 1<<20))
	var docs []kg.Doc
	var links []kg.RawLink
	flush := func() error {
		if len(docs) > 0 {
			if err := w.PutDocs(ctx, docs); err != nil {
				return err
			}
		}
		if len(links) > 0 {
			if err := w.PutRawLinks(ctx, links); err != nil {
				return err
			}
		}
		docs, links = nil, nil
		return nil
	}
	for seq := range cands {
		var p spilled
		if err := dec.Decode(&p); err != nil {
			return fmt.Errorf("ingest: read spilled web page %d: %w", seq, err)
		}
		if v, ok := dups[seq]; ok {
			st.add("rejected", v.Reason)
			kept := cands[v.Of].URL
			st.example(v.Reason, fmt.Sprintf("%s (%s) duplicates %s", p.Doc.URL, p.Doc.Origin, kept))
			if kg.URLKey(p.Doc.URL) != kg.URLKey(kept) {
				redirects = append(redirects, kg.Redirect{From: kg.URLKey(p.Doc.URL), To: kg.URLKey(kept)})
			}
			continue
		}
		st.add("kept", "")
		st.Counts["web_documents"]++
		docs = append(docs, p.Doc)
		links = append(links, p.Links...)
		if len(docs) >= batch || len(links) >= batch {
			if err := flush(); err != nil {
				return fmt.Errorf("ingest: %w", err)
			}
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	if len(redirects) > 0 {
		if err := w.PutRedirects(ctx, redirects); err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
	}
	return nil
}

// spilled is a page kept by the filters, as the first pass writes it.
type spilled struct {
	Doc   kg.Doc
	Links []kg.RawLink
}

// webSpillDir is where an ingest under root spills web pages.
func webSpillDir(root string) string { return filepath.Join(root, "graph") }
