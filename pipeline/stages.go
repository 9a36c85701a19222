package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
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
	walks, stats, err := qa.Sample(ctx, g, qa.SampleOptions{
		Seed: r.cfg.Seed, Walks: c.Walks, MinHops: c.MinHops, MaxHops: c.MaxHops, HubCap: c.HubCap, Attempts: c.Attempts,
	})
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
	fp, err := r.fingerprint(ctx, StageSample, qa.PromptHash(), r.cfg.Endpoint("writer").Model, r.cfg.QA.Inject)
	if err != nil {
		return err
	}
	done, err := r.beginStage(ctx, StageQA, fp)
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
	w := qa.Writer{LLM: writerLLM, Docs: r.store, Inject: r.cfg.QA.Inject}
	prog := startProgress(r.progress, StageQA, int64(len(todo)))
	err = forEach(ctx, r.cfg.Workers, todo, func(ctx context.Context, walk qa.Walk) error {
		it, err := w.Write(ctx, walk)
		if err != nil {
			return fmt.Errorf("qa %s: %w", walk.ID, err)
		}
		b, err := json.Marshal(it)
		if err != nil {
			return fmt.Errorf("qa %s: %w", walk.ID, err)
		}
		prog.Add(1)
		return r.state.Commit(ctx, StageQA, Record{ID: it.ID, Status: it.Status, Reason: it.Reason, Payload: b})
	})
	prog.Finish()
	if err != nil {
		return err
	}
	items, err := r.qaItems(ctx)
	if err != nil {
		return err
	}
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
	if err := publish(r, "qa", rows, partName); err != nil {
		return err
	}
	r.manifest.Prompts["writer"] = qa.PromptHash()
	st.Seconds = time.Since(start).Seconds()
	return r.endStage(ctx, StageQA, fp, st)
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
