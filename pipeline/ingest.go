package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/wiki"
)

// Ingest reads MediaWiki dumps into the graph store. Store writes are
// idempotent, so an interrupted ingest is simply run again; a finished one
// with the same inputs and settings is skipped.
func (r *Runner) Ingest(ctx context.Context, paths []string) error {
	if len(paths) == 0 {
		return fmt.Errorf("ingest: no input paths (set input.paths in the config or pass --input)")
	}
	start := time.Now()
	inputs := make([]InputFile, 0, len(paths))
	for _, p := range paths {
		in, err := describeInput(p)
		if err != nil {
			return err
		}
		inputs = append(inputs, in)
	}
	fp, err := r.fingerprint(ctx, "", inputs, r.cfg.Graph.Backend)
	if err != nil {
		return err
	}
	done, err := r.beginStage(ctx, StageIngest, fp)
	if err != nil {
		return err
	}
	stamps, shared := r.store.(stamper)
	if shared {
		stamp, err := stamps.GraphStamp(ctx)
		if err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		switch {
		case stamp != "" && stamp != fp:
			return fmt.Errorf("ingest: graph %s already holds a graph built from other inputs; "+
				"empty it (MATCH (n) DETACH DELETE n) or use another database (graph.database)", r.manifest.Graph.Path)
		case stamp == "" && done:
			r.log.Warn("the graph database was emptied since this root's ingest; ingesting again", "graph", r.manifest.Graph.Path)
			done = false
		}
	}
	if done {
		r.log.Info("ingest already complete; skipping", "inputs", len(paths))
		return nil
	}
	r.manifest.Inputs = inputs
	st := newStageStats()
	for _, p := range paths {
		if err := r.ingestDump(ctx, p, st); err != nil {
			return err
		}
	}
	if err := r.store.Finish(ctx); err != nil {
		return fmt.Errorf("ingest: resolve links: %w", err)
	}
	c, err := r.store.Counts(ctx)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	st.Counts["documents"], st.Counts["links"], st.Counts["aliases"] = c.Docs, c.Links, c.Aliases
	st.Counts["raw_links"], st.Counts["unresolved_links"] = c.RawLinks, c.Unresolved
	r.manifest.Graph.Docs, r.manifest.Graph.Links, r.manifest.Graph.Aliases = c.Docs, c.Links, c.Aliases
	if shared {
		if err := stamps.SetGraphStamp(ctx, fp); err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
	}
	st.Seconds = time.Since(start).Seconds()
	r.log.Info("ingest done", "documents", c.Docs, "links", c.Links, "aliases", c.Aliases, "unresolved_links", c.Unresolved)
	return r.endStage(ctx, StageIngest, fp, st)
}

// ingestDump streams one dump into the store. A malformed page is counted
// and skipped; a dump that ends early keeps every page before the break.
func (r *Runner) ingestDump(ctx context.Context, path string, st *StageStats) error {
	rd, err := wiki.OpenContext(ctx, path)
	if err != nil {
		return fmt.Errorf("ingest %s: %w", path, err)
	}
	defer rd.Close()
	site := rd.SiteInfo()
	batch := max(r.cfg.Graph.BatchSize, 1)
	var docs []kg.Doc
	var links []kg.RawLink
	var redirects []kg.Redirect
	flush := func() error {
		if len(docs) > 0 {
			if err := r.store.PutDocs(ctx, docs); err != nil {
				return fmt.Errorf("ingest %s: %w", path, err)
			}
		}
		if len(links) > 0 {
			if err := r.store.PutRawLinks(ctx, links); err != nil {
				return fmt.Errorf("ingest %s: %w", path, err)
			}
		}
		if len(redirects) > 0 {
			if err := r.store.PutRedirects(ctx, redirects); err != nil {
				return fmt.Errorf("ingest %s: %w", path, err)
			}
		}
		docs, links, redirects = docs[:0], links[:0], redirects[:0]
		return nil
	}
	prog := startProgress(r.progress, StageIngest, 0)
	defer prog.Finish()
	for {
		p, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *wiki.PageError
		switch {
		case errors.As(err, &pe):
			st.add("failed", "malformed_page")
			st.example("malformed_page", pe.Error())
			r.log.Warn("skipping malformed page", "err", pe.Error())
			continue
		case errors.Is(err, io.ErrUnexpectedEOF):
			st.Counts["truncated_inputs"]++
			st.example("truncated_input", err.Error())
			r.log.Error("input ended early (truncated); keeping every page before the break", "file", path, "err", err)
			return flush()
		case err != nil:
			return fmt.Errorf("ingest %s: %w", path, err)
		}
		prog.Add(1)
		st.Counts["pages"]++
		st.Counts["ns_"+strconv.Itoa(p.NS)]++
		switch {
		case p.NS != 0:
			st.add("skipped", "namespace")
		case p.Redirect != "":
			st.add("skipped", "redirect")
			redirects = append(redirects, kg.Redirect{From: wiki.NormalizeTitle(p.Title), To: wiki.NormalizeTitle(p.Redirect)})
		default:
			doc, ls := wiki.Parse(site, p)
			st.add("kept", "")
			if doc.Kind != kg.KindArticle {
				st.Counts[doc.Kind]++
			}
			docs = append(docs, doc)
			links = append(links, ls...)
		}
		if len(docs) >= batch || len(links) >= batch || len(redirects) >= batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// describeInput identifies an input by size and content hash, so a changed
// file re-runs ingest and everything after it.
func describeInput(path string) (InputFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return InputFile{}, fmt.Errorf("ingest: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return InputFile{}, fmt.Errorf("ingest: read %s: %w", path, err)
	}
	return InputFile{Path: path, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
