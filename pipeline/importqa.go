package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/qa/gates"
	"github.com/miroverse/miroverse/qa/importer"
)

// ImportOptions say what `qa import` reads.
type ImportOptions struct {
	Input  string
	Format string // importer.FormatHotpotQA, importer.FormatMuSiQue, importer.FormatJSONL or "" to detect
	// Contamination lists are checked on top of the config's qa.contamination.
	Contamination []string
}

// ImportResult counts what one import added.
type ImportResult struct {
	Format       string
	Records      int
	Kept         int
	Rejected     map[string]int
	Failed       map[string]int
	Docs         int // documents added to the store (new titles)
	AlreadyThere int // records committed by an earlier import of the same items
}

// NewTextGates builds the contamination and near-duplicate gates of the qa
// section, with extra benchmark lists on top of qa.contamination. The
// contamination index is nil when no list is configured.
func NewTextGates(c QAConfig, extraLists ...string) (*gates.Contamination, *gates.Dedup, error) {
	if c.DedupThreshold < 0 || c.DedupThreshold > 1 {
		return nil, nil, fmt.Errorf("qa.dedup_threshold %v: want a Jaccard estimate in [0, 1] (0 = default)", c.DedupThreshold)
	}
	if c.ContaminationOverlap < 0 || c.ContaminationOverlap > 1 {
		return nil, nil, fmt.Errorf("qa.contamination_overlap %v: want a share in [0, 1] (0 = default)", c.ContaminationOverlap)
	}
	if c.ContaminationTopK < 0 {
		return nil, nil, fmt.Errorf("qa.contamination_top_k %d: want a count ≥ 0 (0 = default)", c.ContaminationTopK)
	}
	lists := append(slices.Clone(c.Contamination), extraLists...)
	var cont *gates.Contamination
	if len(lists) > 0 {
		var err error
		cont, err = gates.LoadContamination(lists, gates.ContaminationOptions{
			NGram: c.ContaminationNGram, Overlap: c.ContaminationOverlap, TopK: c.ContaminationTopK})
		if err != nil {
			return nil, nil, err
		}
	}
	return cont, gates.NewDedup(c.DedupThreshold), nil
}

// textGates is NewTextGates with the decontam judge connected to the
// contamination gate, when there is one.
func (r *Runner) textGates(ctx context.Context, extraLists ...string) (*gates.Contamination, *gates.Dedup, error) {
	cont, dedup, err := NewTextGates(r.cfg.QA, extraLists...)
	if err != nil || cont == nil {
		return cont, dedup, err
	}
	if cont.Judge, err = r.client(ctx, llm.RoleDecontam); err != nil {
		return nil, nil, fmt.Errorf("contamination judge: %w", err)
	}
	return cont, dedup, nil
}

// ImportQA turns a public multi-hop QA file into committed items of the qa
// stage and its paragraphs into documents of the graph store, so that
// synthesize, judge and export continue from them. Every record ends as one
// item: kept, rejected (contaminated, near_duplicate, marked_unanswerable,
// no_answer) or failed (malformed_record, with the file and line or index in
// its detail). Earlier kept items of the stage stay kept: new questions are
// checked against them, never the reverse. Importing the same file again
// commits nothing new.
//
// The qa stage keeps its fingerprint and the later stages are reopened, so
// their next run takes up the new questions and redoes nothing. When the qa
// stage is run again with other settings, it starts over but keeps the
// imported items as they are.
func (r *Runner) ImportQA(ctx context.Context, opt ImportOptions) (*ImportResult, error) {
	if r.shard.Sharded() {
		// Imported questions take part in the near-duplicate pass with every
		// walk's question; the commit step has no import of its own to redo.
		return nil, fmt.Errorf("qa import: not into a shard (%s): import into the unsharded run, or into the root before it is sharded", r.shard)
	}
	start := time.Now()
	cont, dedup, err := r.textGates(ctx, opt.Contamination...)
	if err != nil {
		return nil, fmt.Errorf("qa import: %w", err)
	}
	existing, err := r.qaItems(ctx)
	if err != nil {
		return nil, err
	}
	committed := map[string]bool{}
	for _, it := range existing {
		committed[it.ID] = true
	}

	f, err := os.Open(opt.Input)
	if err != nil {
		return nil, fmt.Errorf("qa import: %w", err)
	}
	defer f.Close()
	name := filepath.Base(opt.Input)
	res := &ImportResult{Rejected: map[string]int{}, Failed: map[string]int{}}
	var items []qa.Item
	docs := importer.NewDocs()
	err = importer.Read(f, name, opt.Format, func(rec importer.Record) error {
		res.Records++
		res.Format = rec.Format
		it := rec.Item(name)
		if committed[it.ID] {
			res.AlreadyThere++
			return nil
		}
		committed[it.ID] = true // a record repeated within the file is one item
		if rec.Err != nil {
			r.log.Warn("skipping bad record", "reason", rec.Reason, "err", rec.Err)
		}
		if rec.Format != importer.FormatJSONL {
			for _, p := range rec.Paragraphs {
				docs.Add(rec.Format, p)
			}
		}
		items = append(items, it)
		return nil
	})
	if err != nil {
		if res.Records == 0 {
			return nil, fmt.Errorf("qa import: %w", err)
		}
		// A broken JSON array: the records before the break are still
		// imported and the error is returned after, so nothing read is lost.
		err = fmt.Errorf("qa import: %w", err)
	}
	added, derr := r.putImportedDocs(ctx, docs)
	if derr != nil {
		return nil, errors.Join(err, derr)
	}
	res.Docs = added
	if rerr := importer.ResolveDocIDs(ctx, r.store, items); rerr != nil {
		return nil, errors.Join(err, fmt.Errorf("qa import: %w", rerr))
	}
	gates.Order{Contamination: cont, Dedup: dedup}.ScreenImports(ctx, items, existing)
	for _, it := range items {
		switch it.Status {
		case qa.StatusKept:
			res.Kept++
		case qa.StatusRejected:
			res.Rejected[it.Reason]++
		default:
			res.Failed[it.Reason]++
		}
	}
	if cerr := r.commitItems(ctx, StageQA, items...); cerr != nil {
		return nil, errors.Join(err, cerr)
	}
	if ferr := r.finishImport(ctx, start, opt, res); ferr != nil {
		return nil, errors.Join(err, ferr)
	}
	return res, err
}

// putImportedDocs writes the titles the store does not know yet and
// rebuilds its search index. A title already in the store (from a dump or
// an earlier import) keeps its document: its text is the fuller one or the
// same.
func (r *Runner) putImportedDocs(ctx context.Context, m *importer.Docs) (int, error) {
	batch := max(r.cfg.Graph.BatchSize, 1)
	var docs []kg.Doc
	added := 0
	for _, title := range m.Titles() {
		if _, err := r.store.DocByTitle(ctx, title); err == nil {
			continue
		} else if !errors.Is(err, kg.ErrNotFound) {
			return added, fmt.Errorf("qa import: look up %q: %w", title, err)
		}
		docs = append(docs, m.Doc(title))
		if len(docs) >= batch {
			if err := r.store.PutDocs(ctx, docs); err != nil {
				return added, fmt.Errorf("qa import: %w", err)
			}
			added += len(docs)
			docs = docs[:0]
		}
	}
	if len(docs) > 0 {
		if err := r.store.PutDocs(ctx, docs); err != nil {
			return added, fmt.Errorf("qa import: %w", err)
		}
		added += len(docs)
	}
	if added > 0 {
		if err := r.store.Finish(ctx); err != nil {
			return added, fmt.Errorf("qa import: index documents: %w", err)
		}
	}
	return added, nil
}

// importFingerprint is the qa stage's fingerprint in a root whose questions
// all came from `qa import`.
const importFingerprint = "qa-import"

// reopenStages marks finished stages unfinished, keeping their items, so
// that their next run does what is new and skips what is committed.
func (r *Runner) reopenStages(ctx context.Context, stages ...string) error {
	for _, stage := range stages {
		fp, ok, err := r.state.Fingerprint(ctx, stage)
		if err != nil {
			return err
		}
		if ok {
			if err := r.state.SetStage(ctx, stage, fp, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// finishImport marks the qa stage done (see ImportQA for its fingerprint),
// republishes qa/ and records the stage's counts (all items, imported or
// written) and the graph's in the manifest.
func (r *Runner) finishImport(ctx context.Context, start time.Time, opt ImportOptions, res *ImportResult) error {
	items, err := r.qaItems(ctx)
	if err != nil {
		return err
	}
	// The qa stage keeps its fingerprint: imported questions change none of
	// its settings, and a changed fingerprint would make the next run write
	// every walk's question again and redo every rollout. The stages after
	// it are reopened instead, so that they take up the new questions and
	// keep what they have done.
	fp, ok, err := r.state.Fingerprint(ctx, StageQA)
	if err != nil {
		return err
	}
	if !ok {
		fp = importFingerprint
	}
	if err := r.reopenStages(ctx, StageSynthesize, StageJudge, StageExport); err != nil {
		return err
	}
	st, err := r.publishQA(ctx, items)
	if err != nil {
		return err
	}
	if prev := r.manifest.Stages[StageQA]; prev != nil {
		for k, v := range prev.Counts {
			if strings.HasPrefix(k, "imported_") {
				st.Counts[k] = v
			}
		}
	}
	st.Counts["imported_records"] += int64(res.Records - res.AlreadyThere)
	st.Counts["imported_documents"] += int64(res.Docs)
	c, err := r.store.Counts(ctx)
	if err != nil {
		return fmt.Errorf("qa import: %w", err)
	}
	r.manifest.Graph.Docs, r.manifest.Graph.Links, r.manifest.Graph.Aliases = c.Docs, c.Links, c.Aliases
	if in, err := r.describeInput(ctx, opt.Input); err == nil && !slices.ContainsFunc(r.manifest.Inputs, func(x InputFile) bool { return x.SHA256 == in.SHA256 }) {
		r.manifest.Inputs = append(r.manifest.Inputs, in)
	}
	st.Seconds = time.Since(start).Seconds()
	return r.endStage(ctx, StageQA, fp, st)
}
