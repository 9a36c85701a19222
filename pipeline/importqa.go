package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/qa"
)

// ImportOptions say what `qa import` reads.
type ImportOptions struct {
	Input  string
	Format string // qa.FormatHotpotQA, qa.FormatMuSiQue, qa.FormatJSONL or "" to detect
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
func NewTextGates(c QAConfig, extraLists ...string) (*qa.Contamination, *qa.Dedup, error) {
	if c.DedupThreshold < 0 || c.DedupThreshold > 1 {
		return nil, nil, fmt.Errorf("qa.dedup_threshold %v: want a Jaccard estimate in [0, 1] (0 = default)", c.DedupThreshold)
	}
	if c.ContaminationOverlap < 0 || c.ContaminationOverlap > 1 {
		return nil, nil, fmt.Errorf("qa.contamination_overlap %v: want a share in [0, 1] (0 = default)", c.ContaminationOverlap)
	}
	lists := append(slices.Clone(c.Contamination), extraLists...)
	var cont *qa.Contamination
	if len(lists) > 0 {
		var err error
		cont, err = qa.LoadContamination(lists, qa.ContaminationOptions{NGram: c.ContaminationNGram, Overlap: c.ContaminationOverlap})
		if err != nil {
			return nil, nil, err
		}
	}
	return cont, qa.NewDedup(c.DedupThreshold), nil
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
	start := time.Now()
	cont, dedup, err := NewTextGates(r.cfg.QA, opt.Contamination...)
	if err != nil {
		return nil, fmt.Errorf("qa import: %w", err)
	}
	existing, err := r.qaItems(ctx)
	if err != nil {
		return nil, err
	}
	committed := map[string]bool{}
	slices.SortFunc(existing, func(a, b qa.Item) int { return strings.Compare(a.ID, b.ID) })
	for _, it := range existing {
		committed[it.ID] = true
		if it.Status == qa.StatusKept {
			dedup.Add(it.ID, it.Question)
		}
	}

	f, err := os.Open(opt.Input)
	if err != nil {
		return nil, fmt.Errorf("qa import: %w", err)
	}
	defer f.Close()
	name := filepath.Base(opt.Input)
	res := &ImportResult{Rejected: map[string]int{}, Failed: map[string]int{}}
	var items []qa.Item
	docs := newDocMerger()
	err = qa.ReadImport(f, name, opt.Format, func(rec qa.ImportRecord) error {
		res.Records++
		res.Format = rec.Format
		it := importedItem(rec, name)
		if committed[it.ID] {
			res.AlreadyThere++
			return nil
		}
		committed[it.ID] = true // a record repeated within the file is one item
		if rec.Err != nil {
			r.log.Warn("skipping bad record", "reason", rec.Reason, "err", rec.Err)
		}
		if rec.Format != qa.FormatJSONL {
			for _, p := range rec.Paragraphs {
				docs.add(rec.Format, p)
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
	if rerr := r.resolveDocIDs(ctx, items); rerr != nil {
		return nil, errors.Join(err, fmt.Errorf("qa import: %w", rerr))
	}
	qa.ApplyTextGates(items, cont, dedup)
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

// importedItem is the qa.Item of one record, before the text gates.
func importedItem(rec qa.ImportRecord, file string) qa.Item {
	it := qa.Item{
		Question: rec.Question, Answer: rec.Answer, Hops: rec.Hops, Titles: rec.Titles,
		Writer: importedPrefix + rec.Format, Status: qa.StatusKept,
	}
	if rec.Err != nil {
		// Unparsable records have no reliable id or question: their
		// position names them, so a fixed file imports the fixed record.
		sum := sha256.Sum256([]byte("bad\x00" + file + "\x00" + rec.Where))
		it.ID = "qa-" + hex.EncodeToString(sum[:8])
		it.Status, it.Reason, it.Detail = qa.StatusFailed, rec.Reason, rec.Err.Error()
		return it
	}
	it.ID = qa.ImportItemID(rec.Format, rec.SourceID, rec.Question)
	if rec.Answer != "" {
		it.Gold = append([]string{rec.Answer}, rec.Aliases...)
	}
	// WalkID keeps where the question came from; imported items have no walk.
	it.WalkID = rec.Where
	if rec.Reason != "" {
		it.Status, it.Reason, it.Detail = qa.StatusRejected, rec.Reason, rec.Where
	}
	return it
}

// docMerger collects imported paragraphs by title. HotpotQA repeats the same
// lead paragraph across questions and MuSiQue may give several paragraphs of
// one article, so distinct texts of a title are joined in input order.
type docMerger struct {
	order  []string
	source map[string]string
	texts  map[string][]string
}

func newDocMerger() *docMerger {
	return &docMerger{source: map[string]string{}, texts: map[string][]string{}}
}

func (m *docMerger) add(source string, p qa.Paragraph) {
	ts, ok := m.texts[p.Title]
	if !ok {
		m.order = append(m.order, p.Title)
		m.source[p.Title] = source
	}
	if !slices.Contains(ts, p.Text) {
		m.texts[p.Title] = append(ts, p.Text)
	}
}

// importDocID is the document id of an imported title: stable across
// imports and files, so the same title is one document.
func importDocID(source, title string) string {
	sum := sha256.Sum256([]byte(title))
	return source + ":" + hex.EncodeToString(sum[:8])
}

// putImportedDocs writes the titles the store does not know yet and
// rebuilds its search index. A title already in the store (from a dump or
// an earlier import) keeps its document: its text is the fuller one or the
// same.
func (r *Runner) putImportedDocs(ctx context.Context, m *docMerger) (int, error) {
	batch := max(r.cfg.Graph.BatchSize, 1)
	var docs []kg.Doc
	added := 0
	for _, title := range m.order {
		if _, err := r.store.DocByTitle(ctx, title); err == nil {
			continue
		} else if !errors.Is(err, kg.ErrNotFound) {
			return added, fmt.Errorf("qa import: look up %q: %w", title, err)
		}
		src := m.source[title]
		docs = append(docs, kg.Doc{
			ID: importDocID(src, title), Title: title, Source: src, Lang: "en", Kind: kg.KindArticle,
			URL:  "https://en.wikipedia.org/wiki/" + url.PathEscape(strings.ReplaceAll(title, " ", "_")),
			Text: strings.Join(m.texts[title], "\n\n"),
		})
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

// resolveDocIDs fills each item's DocIDs from its supporting titles.
func (r *Runner) resolveDocIDs(ctx context.Context, items []qa.Item) error {
	for i := range items {
		for _, t := range items[i].Titles {
			d, err := r.store.DocByTitle(ctx, t)
			if errors.Is(err, kg.ErrNotFound) {
				continue // a supporting title without its paragraph in the file
			}
			if err != nil {
				return fmt.Errorf("look up %q: %w", t, err)
			}
			items[i].DocIDs = append(items[i].DocIDs, d.ID)
		}
	}
	return nil
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
	st, err := r.publishQA(items)
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
	if in, err := describeInput(opt.Input); err == nil && !slices.ContainsFunc(r.manifest.Inputs, func(x InputFile) bool { return x.SHA256 == in.SHA256 }) {
		r.manifest.Inputs = append(r.manifest.Inputs, in)
	}
	st.Seconds = time.Since(start).Seconds()
	return r.endStage(ctx, StageQA, fp, st)
}
