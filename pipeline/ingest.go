package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/miroverse/miroverse/internal/atomicfile"
	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/wiki"
)

// Ingest reads MediaWiki dumps and web inputs into the graph store. Store writes are
// idempotent, so an interrupted ingest is simply run again; a finished one
// with the same inputs and settings is skipped. Reading is one streaming
// pass per dump, so the stage is all global step.
func (r *Runner) Ingest(ctx context.Context, paths []string) error {
	if len(paths) == 0 {
		return fmt.Errorf("ingest: no input paths (set input.paths in the config or pass --input)")
	}
	inputs, err := r.describeInputs(ctx, paths)
	if err != nil {
		return err
	}
	stamps, shared := r.store.(stamper)
	return runStage(ctx, r, stage[noItems]{
		name:     StageIngest,
		settings: ingestSettings(inputs, r.cfg.Graph.Backend, r.cfg.Input),
		recheck: func(ctx context.Context, fp string, done bool) (bool, error) {
			if !shared {
				return r.localGraphBuilt(fp, done), nil
			}
			stamp, err := stamps.GraphStamp(ctx)
			if err != nil {
				return false, fmt.Errorf("ingest: %w", err)
			}
			switch {
			case r.shard.Sharded() && stamp != fp:
				// Every shard would load the one database at once.
				return false, fmt.Errorf("ingest: shard %s: graph %s does not hold this run's graph yet; ingest it before the shards: "+
					"in one process (miroverse ingest --config FILE --out ROOT), or split over the dumps' streams "+
					"(miroverse ingest --config FILE --out ROOT --shard I/%d for every I, then miroverse ingest --config FILE --out ROOT --resolve --shards %d)",
					r.shard, r.manifest.Graph.Path, r.shard.Count, r.shard.Count)
			case stamp != "" && stamp != fp:
				return false, fmt.Errorf("ingest: graph %s already holds a graph built from other inputs; "+
					"empty it (MATCH (n) DETACH DELETE n) or use another database (graph.database)", r.manifest.Graph.Path)
			case stamp == "" && done:
				r.log.Warn("the graph database was emptied since this root's ingest; ingesting again", "graph", r.manifest.Graph.Path)
				return false, nil
			}
			return done, nil
		},
		global: func(ctx context.Context, fp string) (*StageStats, error) {
			r.manifest.Inputs = inputs
			st := newStageStats()
			if err := r.loadGraph(ctx, paths, fp, st); err != nil {
				return nil, err
			}
			c, err := r.store.Counts(ctx)
			if err != nil {
				return nil, fmt.Errorf("ingest: %w", err)
			}
			st.Counts["documents"], st.Counts["links"], st.Counts["aliases"] = c.Docs, c.Links, c.Aliases
			st.Counts["raw_links"], st.Counts["unresolved_links"] = c.RawLinks, c.Unresolved
			r.manifest.Graph.Docs, r.manifest.Graph.Links, r.manifest.Graph.Aliases = c.Docs, c.Links, c.Aliases
			if shared {
				if err := stamps.SetGraphStamp(ctx, fp); err != nil {
					return nil, fmt.Errorf("ingest: %w", err)
				}
			} else if err := atomicfile.WriteFile(r.graphStampPath(), []byte(fp)); err != nil {
				return nil, fmt.Errorf("ingest: %w", err)
			}
			r.log.Info("ingest done", "documents", c.Docs, "links", c.Links, "aliases", c.Aliases, "unresolved_links", c.Unresolved)
			return st, nil
		},
	})
}

func (r *Runner) describeInputs(ctx context.Context, paths []string) ([]InputFile, error) {
	inputs := make([]InputFile, 0, len(paths))
	for _, p := range paths {
		in, err := r.describeInput(ctx, p)
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, in)
	}
	return inputs, nil
}

// ingestSettings are what decide which pages become the graph; workers and
// memory do not.
func ingestSettings(inputs []InputFile, backend string, in InputConfig) []any {
	return []any{inputs, backend, in.Index, in.Shard, in.Shards, in.MaxPageSize, in.Web}
}

// graphStampPath names the file beside the embedded graph that holds the
// fingerprint of the ingest that built it.
func (r *Runner) graphStampPath() string { return filepath.Join(r.root, "graph", "ingest.fingerprint") }

// localGraphBuilt: when the checkpoints come from the root (a shard, a run
// into object storage), the embedded graph is only the node's cache; a
// task on a node whose cache does not hold this ingest's graph builds it
// again (deterministically, so every node's copy is the same).
func (r *Runner) localGraphBuilt(fp string, done bool) bool {
	if !done || r.place.dest == nil {
		return done
	}
	b, err := os.ReadFile(r.graphStampPath())
	if err != nil || string(b) != fp {
		r.log.Info("this node's cache holds no graph of this ingest; building it", "cache", filepath.Dir(r.graphStampPath()))
		return false
	}
	return true
}

// graphWriter takes what ingest reads: a kg store, or nothing in a dry run.
type graphWriter interface {
	PutDocs(ctx context.Context, docs []kg.Doc) error
	PutRawLinks(ctx context.Context, links []kg.RawLink) error
	PutRedirects(ctx context.Context, redirects []kg.Redirect) error
}

// discard is the graphWriter of a dry run.
type discard struct{}

func (discard) PutDocs(context.Context, []kg.Doc) error           { return nil }
func (discard) PutRawLinks(context.Context, []kg.RawLink) error   { return nil }
func (discard) PutRedirects(context.Context, []kg.Redirect) error { return nil }

// readOptions are the reader options of the input config.
func readOptions(in InputConfig) (wiki.OpenOptions, error) {
	opt := wiki.OpenOptions{Index: in.Index, Shard: in.Shard, Shards: in.Shards, Workers: in.Workers}
	if in.MemoryBudget != "" {
		n, err := humanize.ParseBytes(in.MemoryBudget)
		if err != nil {
			return opt, fmt.Errorf("input.memory_budget %q: %w", in.MemoryBudget, err)
		}
		opt.MemoryBudget = int64(n)
	}
	if in.MaxPageSize != "" {
		n, err := humanize.ParseBytes(in.MaxPageSize)
		if err != nil {
			return opt, fmt.Errorf("input.max_page_size %q: %w", in.MaxPageSize, err)
		}
		opt.MaxPageBytes = int64(n)
	}
	return opt, nil
}

// readDump reads one dump into w, decoding and parsing in parallel but
// handing pages over in dump order. Bad records never stop it: a malformed
// or oversized page is counted by reason and skipped, a repeated page id
// keeps the first page, a lost bzip2 stream costs only its pages, and a dump
// that ends early keeps every page before the break; the last two make the
// input incomplete.
func readDump(ctx context.Context, path string, w graphWriter, in InputConfig, batch int, st *StageStats, log *slog.Logger, progress io.Writer) error {
	opt, err := readOptions(in)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	rd, err := wiki.OpenWith(ctx, path, opt)
	if err != nil {
		return fmt.Errorf("ingest %s: %w", path, err)
	}
	defer rd.Close()
	bw := startBatchWriter(ctx, w, path)
	defer bw.close()
	var docs []kg.Doc
	var links []kg.RawLink
	var redirects []kg.Redirect
	flush := func() error {
		if len(docs)+len(links)+len(redirects) == 0 {
			return nil
		}
		err := bw.put(writeBatch{docs, links, redirects})
		// The writer owns the batch now: new slices for the next one.
		docs, links, redirects = nil, nil, nil
		return err
	}
	var pages wiki.Pages
	prog := startReadProgress(progress, filepath.Base(path), rd.Progress)
	defer prog.Finish()
	err = wiki.ParseAll(ctx, rd, in.Workers, func(p wiki.Page, doc kg.Doc, ls []kg.RawLink, err error) error {
		if err != nil {
			reason := wiki.ErrorReason(err)
			if reason == wiki.ReasonCorruptStream {
				st.Counts["corrupt_streams"]++
			}
			st.add("failed", reason)
			st.example(reason, err.Error())
			log.Warn("skipping bad input", "reason", reason, "err", err)
			return nil
		}
		prog.Add(1)
		st.Counts["pages"]++
		st.Counts["ns_"+strconv.Itoa(p.NS)]++
		if p.Replaced > 0 {
			st.Counts["pages_with_invalid_utf8"]++
			st.example(wiki.ReasonInvalidUTF8, fmt.Sprintf("%s: page %q (id %d) at offset %d: %d invalid UTF-8 sequences replaced with U+FFFD",
				path, p.Title, p.ID, p.Offset, p.Replaced))
		}
		e := pages.Sort(p, doc, ls)
		switch e.Skip {
		case "":
			st.add("kept", "")
			if e.Doc.Kind != kg.KindArticle {
				st.Counts[e.Doc.Kind]++
			}
			docs = append(docs, e.Doc)
			links = append(links, e.Links...)
		case wiki.SkipDuplicateID:
			st.add("skipped", e.Skip)
			st.example(e.Skip, fmt.Sprintf("%s: page %q (id %d) at offset %d repeats an earlier page id; the first is kept", path, p.Title, p.ID, p.Offset))
			return nil
		case wiki.SkipRedirect:
			st.add("skipped", e.Skip)
			redirects = append(redirects, e.Redirect)
		default:
			st.add("skipped", e.Skip)
		}
		if len(docs) >= batch || len(links) >= batch || len(redirects) >= batch {
			return flush()
		}
		return nil
	})
	if errors.Is(err, io.ErrUnexpectedEOF) {
		st.Counts["truncated_inputs"]++
		st.example(wiki.ReasonTruncated, err.Error())
		log.Error("input ended early (truncated); kept every page before the break", "file", path, "err", err)
		err = nil
	}
	if err != nil {
		return fmt.Errorf("ingest %s: %w", path, err)
	}
	if err := flush(); err != nil {
		return err
	}
	return bw.close()
}

// writeBatch is what one flush of readDump writes.
type writeBatch struct {
	docs      []kg.Doc
	links     []kg.RawLink
	redirects []kg.Redirect
}

// batchWriter writes batches on a goroutine of its own, one at a time and
// in order, so that parsing goes on while the store writes a batch. On the
// parsing goroutine the two took turns: ParseAll holds only a few pages in
// flight, far fewer than a batch takes to write, so the parse workers
// stood idle for every write. One batch waits while another is written, so
// memory stays bounded by two batches.
type batchWriter struct {
	ch   chan writeBatch
	done chan struct{}
	err  error // the first write error; read after done is closed
	once sync.Once
}

func startBatchWriter(ctx context.Context, w graphWriter, path string) *batchWriter {
	bw := &batchWriter{ch: make(chan writeBatch, 1), done: make(chan struct{})}
	go func() {
		defer close(bw.done)
		for b := range bw.ch {
			if err := b.write(ctx, w); err != nil {
				bw.err = fmt.Errorf("ingest %s: %w", path, err)
				return
			}
		}
	}()
	return bw
}

// put hands a batch to the writer; it fails with the error of an earlier
// batch once the writer has stopped on one.
func (bw *batchWriter) put(b writeBatch) error {
	select {
	case bw.ch <- b:
		return nil
	case <-bw.done:
		return bw.err
	}
}

// close waits for the batches handed over to be written and returns the
// first error. It may be called more than once.
func (bw *batchWriter) close() error {
	bw.once.Do(func() { close(bw.ch) })
	<-bw.done
	return bw.err
}

func (b writeBatch) write(ctx context.Context, w graphWriter) error {
	if len(b.docs) > 0 {
		if err := w.PutDocs(ctx, b.docs); err != nil {
			return err
		}
	}
	if len(b.links) > 0 {
		if err := w.PutRawLinks(ctx, b.links); err != nil {
			return err
		}
	}
	if len(b.redirects) > 0 {
		return w.PutRedirects(ctx, b.redirects)
	}
	return nil
}

// DryRun reads and parses every page of the dumps without writing a store:
// the quick way to validate a dump, with the same counts by reason as ingest.
func DryRun(ctx context.Context, paths []string, cfg Config, opt Options) (*StageStats, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opt.Progress == nil {
		opt.Progress = io.Discard
	}
	mem, err := planMemory(cfg.MemoryBudget)
	if err != nil {
		return nil, err
	}
	defer mem.apply()()
	start := time.Now()
	rss := startRSSWatch()
	st := newStageStats()
	st.MemoryBudgetBytes = mem.budget
	if err := readInputs(ctx, paths, discard{}, cfg, 1<<16, st, opt.Log, opt.Progress, os.TempDir()); err != nil {
		return st, err
	}
	st.Seconds = time.Since(start).Seconds()
	rss.record(st)
	st.Complete = true
	return st, nil
}

// Incomplete reports whether an input ended early or lost a stream.
func (s *StageStats) Incomplete() bool {
	return s != nil && s.Counts["truncated_inputs"]+s.Counts["corrupt_streams"] > 0
}
