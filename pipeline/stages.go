package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/miroverse/miroverse/qa"
)

// SubgraphRow is one walk as published in subgraphs/.
type SubgraphRow struct {
	ID        string   `parquet:"id"`
	SeedDoc   string   `parquet:"seed_doc"`
	DocIDs    []string `parquet:"doc_ids,list"`
	Titles    []string `parquet:"titles,list"`
	Hops      int32    `parquet:"hops"`
	Anchors   []string `parquet:"anchors,list"`
	Sentences []string `parquet:"evidence_sentences,list"`
}

// QARow is one question candidate as published in qa/, whatever its fate.
type QARow struct {
	ID         string   `parquet:"id"`
	WalkID     string   `parquet:"walk_id"`
	Question   string   `parquet:"question"`
	Answer     string   `parquet:"answer"`
	Gold       []string `parquet:"gold_answers,list"`
	Hops       int32    `parquet:"hops"`
	DocIDs     []string `parquet:"source_doc_ids,list"`
	Titles     []string `parquet:"titles,list"`
	Status     string   `parquet:"status"`
	Reason     string   `parquet:"reason"`
	Detail     string   `parquet:"detail"`
	Writer     string   `parquet:"writer"`
	PromptHash string   `parquet:"prompt_hash"`
}

// Sample draws the walks from a snapshot of the graph.
func (r *Runner) Sample(ctx context.Context) error {
	start := time.Now()
	c := r.cfg.Sample
	fp, err := r.fingerprint(ctx, StageIngest, c, r.cfg.Seed)
	if err != nil {
		return err
	}
	done, err := r.beginStage(ctx, StageSample, fp)
	if err != nil || done {
		return err
	}
	g, err := r.store.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	walks, stats, err := qa.Sample(ctx, g, c.options(r.cfg.Seed, r.store))
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	recs := make([]Record, 0, len(walks))
	for _, w := range walks {
		b, err := json.Marshal(w)
		if err != nil {
			return fmt.Errorf("sample: encode %s: %w", w.ID, err)
		}
		recs = append(recs, Record{ID: w.ID, Status: "kept", Payload: b})
	}
	if err := r.state.Commit(ctx, StageSample, recs...); err != nil {
		return err
	}
	st := newStageStats()
	for range walks {
		st.add("kept", "")
	}
	st.Counts["nodes"], st.Counts["edges"] = int64(g.NodeCount()), int64(g.EdgeCount())
	st.Counts["seed_candidates"], st.Counts["seeds_tried"] = int64(stats.SeedCandidates), int64(stats.SeedsTried)
	for reason, n := range stats.Skipped {
		st.Counts["seeds_skipped_"+reason] = int64(n)
	}
	for h, n := range stats.HopHistogram {
		st.Counts[fmt.Sprintf("walks_%d_hops", h)] = int64(n)
	}
	for b, n := range stats.WalksByBand {
		st.Counts["walks_band_"+b] = int64(n)
	}
	for t, n := range stats.WalksByAnswerType {
		st.Counts["walks_answer_"+t] = int64(n)
	}
	if c.Stratify {
		st.Counts["seed_strata"], st.Counts["walk_categories"] = int64(stats.Strata), int64(len(stats.WalksByCategory))
	}
	if err := r.publishSubgraphs(ctx); err != nil {
		return err
	}
	st.Seconds = time.Since(start).Seconds()
	fmt.Fprintf(r.progress, "%-10s %d walks from %d documents (%d links)\n", StageSample, len(walks), g.NodeCount(), g.EdgeCount())
	return r.endStage(ctx, StageSample, fp, st)
}

func (r *Runner) walks(ctx context.Context) ([]qa.Walk, error) {
	var ws []qa.Walk
	err := r.state.Each(ctx, StageSample, func(rec Record) error {
		var w qa.Walk
		if err := json.Unmarshal(rec.Payload, &w); err != nil {
			return fmt.Errorf("read walk %s: %w", rec.ID, err)
		}
		ws = append(ws, w)
		return nil
	})
	return ws, err
}

func (r *Runner) publishSubgraphs(ctx context.Context) error {
	ws, err := r.walks(ctx)
	if err != nil {
		return err
	}
	rows := make([]SubgraphRow, 0, len(ws))
	for _, w := range ws {
		row := SubgraphRow{ID: w.ID, SeedDoc: w.SeedDoc, DocIDs: w.DocIDs, Titles: w.Titles, Hops: int32(len(w.Hops))}
		for _, h := range w.Hops {
			row.Anchors = append(row.Anchors, h.Anchor)
			row.Sentences = append(row.Sentences, h.Sentence)
		}
		rows = append(rows, row)
	}
	return publish(r, "subgraphs", rows, partName)
}

// publish writes a dataset part and records it in the manifest.
func publish[T any](r *Runner, dir string, rows []T, name func(i, n int) string) error {
	files, err := writeShards(filepath.Join(r.root, dir), rows, r.cfg.Export.ShardRows, r.cfg.Export.RowGroupRows, name)
	if err != nil {
		return err
	}
	for i := range files {
		files[i] = filepath.ToSlash(filepath.Join(dir, files[i]))
	}
	r.manifest.Outputs[dir] = &Output{Files: files, Rows: int64(len(rows))}
	return nil
}

// QA writes one question per walk and gates it. Every walk ends as one
// committed item: kept, rejected or failed with its reason.
func (r *Runner) QA(ctx context.Context) error {
	start := time.Now()
	fp, err := r.fingerprint(ctx, StageSample, qa.PromptHash(), r.cfg.Endpoint("writer").Model, r.cfg.QA.Inject,
		r.verifyFingerprint(), r.textGatesFingerprint())
	if err != nil {
		return err
	}
	imported, err := r.importedItems(ctx)
	if err != nil {
		return err
	}
	// Questions of `qa import` are no product of the walks: starting the
	// stage over must not lose them.
	keep, err := itemRecords(imported)
	if err != nil {
		return err
	}
	done, err := r.beginStage(ctx, StageQA, fp, keep...)
	if err != nil || done {
		return err
	}
	ws, err := r.walks(ctx)
	if err != nil {
		return err
	}
	committed, err := r.state.Committed(ctx, StageQA)
	if err != nil {
		return err
	}
	var todo []qa.Walk
	for _, w := range ws {
		if !committed[qa.ItemID(w.ID)] {
			todo = append(todo, w)
		}
	}
	writerLLM, err := r.client(ctx, "writer")
	if err != nil {
		return err
	}
	byID := make(map[string]qa.Walk, len(ws))
	for _, w := range ws {
		byID[w.ID] = w
	}
	w := qa.Writer{LLM: writerLLM, Docs: r.store, Inject: r.cfg.QA.Inject,
		Walk: func(id string) (qa.Walk, bool) { x, ok := byID[id]; return x, ok }}
	cont, dedup, err := NewTextGates(r.cfg.QA)
	if err != nil {
		return err
	}
	// The closed-book oracle "remembers" the leads of the walks' documents,
	// as a model trained on the corpus would.
	if err := rememberLeads(ctx, r.store, r.memory, ws); err != nil {
		return err
	}
	ver, err := r.newVerifier(ctx)
	if err != nil {
		return err
	}
	prog := startProgress(r.progress, StageQA, int64(len(todo)))
	err = forEach(ctx, r.cfg.Workers, todo, func(ctx context.Context, walk qa.Walk) error {
		it, err := w.Write(ctx, walk)
		if err != nil {
			return fmt.Errorf("qa %s: %w", walk.ID, err)
		}
		// The text gates come before the LLM gates, so that a contaminated
		// or duplicated question costs no verifier calls.
		if cont != nil && it.Status == qa.StatusKept {
			if m, bad := cont.Check(it.Question); bad {
				it.Status, it.Reason, it.Detail = qa.StatusRejected, qa.ReasonContaminated, m.Detail()
			}
		}
		prog.Add(1)
		return r.commitItems(ctx, StageQA, it)
	})
	prog.Finish()
	if err != nil {
		return err
	}
	items, err := r.qaItems(ctx)
	if err != nil {
		return err
	}
	if err := r.markNearDuplicates(ctx, items, cont, dedup); err != nil {
		return err
	}
	if err := r.verifyQuestions(ctx, items, byID, ver); err != nil {
		return err
	}
	if items, err = r.qaItems(ctx); err != nil {
		return err
	}
	st, err := r.publishQA(items)
	if err != nil {
		return err
	}
	r.manifest.Prompts["writer"] = qa.PromptHash()
	for k, h := range qa.PromptHashes() {
		r.manifest.Prompts[k] = h
	}
	r.manifest.Prompts["verifier"] = qa.VerifierPromptHash()
	st.Seconds = time.Since(start).Seconds()
	return r.endStage(ctx, StageQA, fp, st)
}

// markNearDuplicates rejects the near duplicates among the written
// questions, the lower id kept. It is a pure function of the committed
// items in id order, so a resumed run marks the same ones: questions the
// LLM gates have judged since were kept at this point of the first run and
// take part as such.
func (r *Runner) markNearDuplicates(ctx context.Context, items []qa.Item, cont *qa.Contamination, dedup *qa.Dedup) error {
	view := slices.Clone(items)
	for i := range view {
		if view[i].Verified {
			view[i].Status = qa.StatusKept
		}
	}
	var dups []qa.Item
	for _, i := range qa.ApplyTextGates(view, cont, dedup) {
		if items[i].Status != qa.StatusKept {
			continue // judged by the LLM gates already: it was no duplicate then
		}
		items[i] = view[i]
		dups = append(dups, items[i])
	}
	return r.commitItems(ctx, StageQA, dups...)
}

// verifyQuestions runs the LLM gates (uniqueness, closed book, masked hop)
// on every kept question not yet judged, committing each verdict.
func (r *Runner) verifyQuestions(ctx context.Context, items []qa.Item, walks map[string]qa.Walk, ver qa.Verifier) error {
	var todo []qa.Item
	for _, it := range items {
		if it.Status == qa.StatusKept && !it.Verified {
			if _, ok := walks[it.WalkID]; ok { // imported questions have no walk to check against
				todo = append(todo, it)
			}
		}
	}
	prog := startProgress(r.progress, "qa verify", int64(len(todo)))
	err := forEach(ctx, r.cfg.Workers, todo, func(ctx context.Context, it qa.Item) error {
		if _, _, err := ver.Check(ctx, walks[it.WalkID], &it); err != nil {
			return fmt.Errorf("qa verify %s: %w", it.ID, err)
		}
		it.Verified = true
		prog.Add(1)
		return r.commitItems(ctx, StageQA, it)
	})
	prog.Finish()
	return err
}

// importedPrefix starts the Writer of an item that `qa import` made.
const importedPrefix = "import:"

// importedItems lists the committed questions that `qa import` made.
func (r *Runner) importedItems(ctx context.Context) ([]qa.Item, error) {
	items, err := r.qaItems(ctx)
	if err != nil {
		return nil, err
	}
	var out []qa.Item
	for _, it := range items {
		if strings.HasPrefix(it.Writer, importedPrefix) {
			out = append(out, it)
		}
	}
	return out, nil
}

// commitItems commits questions, each as one record of stage, in one
// transaction.
func (r *Runner) commitItems(ctx context.Context, stage string, items ...qa.Item) error {
	if len(items) == 0 {
		return nil
	}
	recs, err := itemRecords(items)
	if err != nil {
		return fmt.Errorf("%s: %w", stage, err)
	}
	return r.state.Commit(ctx, stage, recs...)
}

// itemRecords are the checkpoint records of questions.
func itemRecords(items []qa.Item) ([]Record, error) {
	recs := make([]Record, 0, len(items))
	for _, it := range items {
		b, err := json.Marshal(it)
		if err != nil {
			return nil, fmt.Errorf("encode question %s: %w", it.ID, err)
		}
		recs = append(recs, Record{ID: it.ID, Status: it.Status, Reason: it.Reason, Payload: b})
	}
	return recs, nil
}

// publishQA writes qa/ from every committed item and returns the stage's
// counts by status and reason, with examples of each rejection.
func (r *Runner) publishQA(items []qa.Item) (*StageStats, error) {
	st := newStageStats()
	rows := make([]QARow, 0, len(items))
	for _, it := range items {
		st.add(it.Status, it.Reason)
		if it.Status != qa.StatusKept {
			st.example(it.Reason, fmt.Sprintf("%s: %s (%s)", it.ID, it.Question, it.Detail))
		}
		st.PromptTokens += it.PromptTokens
		st.CompletionTokens += it.CompletionTokens
		rows = append(rows, QARow{
			ID: it.ID, WalkID: it.WalkID, Question: it.Question, Answer: it.Answer, Gold: it.Gold,
			Hops: int32(it.Hops), DocIDs: it.DocIDs, Titles: it.Titles, Status: it.Status, Reason: it.Reason,
			Detail: it.Detail, Writer: it.Writer, PromptHash: it.PromptHash,
		})
	}
	return st, publish(r, "qa", rows, partName)
}

// textGatesFingerprint is what the contamination and near-duplicate gates
// depend on: the lists (by content, so an edited list re-runs the stage)
// and the thresholds.
func (r *Runner) textGatesFingerprint() any {
	c := r.cfg.QA
	lists := make([]string, 0, len(c.Contamination))
	for _, p := range c.Contamination {
		in, err := describeInput(p)
		if err != nil {
			in.SHA256 = "unreadable" // NewTextGates reports it with the path
		}
		lists = append(lists, p+"="+in.SHA256)
	}
	return []any{lists, c.ContaminationNGram, c.ContaminationOverlap, c.DedupThreshold}
}

func (r *Runner) qaItems(ctx context.Context) ([]qa.Item, error) {
	var items []qa.Item
	err := r.state.Each(ctx, StageQA, func(rec Record) error {
		var it qa.Item
		if err := json.Unmarshal(rec.Payload, &it); err != nil {
			return fmt.Errorf("read question %s: %w", rec.ID, err)
		}
		items = append(items, it)
		return nil
	})
	return items, err
}
