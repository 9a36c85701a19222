package pipeline

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/qa/gates"
	"github.com/miroverse/miroverse/qa/sample"
	"github.com/miroverse/miroverse/qa/verify"
	"github.com/miroverse/miroverse/qa/writer"
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

// Sample draws the walks from a snapshot of the graph. Sampling is one
// sequential pass, so the stage is all global step.
func (r *Runner) Sample(ctx context.Context) error {
	c := r.cfg.Sample
	return runStage(ctx, r, stage[noItems]{
		name: StageSample, upstream: StageIngest, settings: []any{c, r.cfg.Seed},
		global: func(ctx context.Context, _ string) (*StageStats, error) {
			counts, err := r.store.Counts(ctx)
			if err != nil {
				return nil, fmt.Errorf("sample: %w", err)
			}
			pool := 0 // only a stratified sample looks seeds up
			if c.Stratify {
				pool = cmp.Or(c.SeedPool, sample.DefaultSeedPool(c.Walks))
			}
			if err := r.mem.checkSample(counts, c.Walks, pool); err != nil {
				return nil, err
			}
			snapStart := time.Now()
			g, err := r.store.Snapshot(ctx)
			if err != nil {
				return nil, fmt.Errorf("sample: %w", err)
			}
			r.log.Info("graph snapshot taken", "seconds", time.Since(snapStart).Seconds(), "nodes", g.NodeCount(), "edges", g.EdgeCount())
			walks, stats, err := sample.Walks(ctx, g, c.options(r.cfg.Seed, r.store, r.store))
			if err != nil {
				return nil, fmt.Errorf("sample: %w", err)
			}
			recs := make([]Record, 0, len(walks))
			for _, w := range walks {
				b, err := json.Marshal(w)
				if err != nil {
					return nil, fmt.Errorf("sample: encode %s: %w", w.ID, err)
				}
				recs = append(recs, Record{ID: w.ID, Status: "kept", Payload: b})
			}
			if err := r.state.Commit(ctx, StageSample, recs...); err != nil {
				return nil, err
			}
			if err := r.publishSubgraphs(ctx); err != nil {
				return nil, err
			}
			fmt.Fprintf(r.progress, "%-10s %d walks from %d documents (%d links)\n", StageSample, len(walks), g.NodeCount(), g.EdgeCount())
			st := sampleStats(c, g, len(walks), stats)
			st.Diversity = walkDiversity(walks)
			st.Diversity.NodeCap = int64(sample.ShareCap(c.MaxNodeShare, c.Walks))
			return st, nil
		},
	})
}

// sampleStats are the sample stage's counts.
func sampleStats(c SampleConfig, g *kg.Graph, walks int, stats sample.Stats) *StageStats {
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
	for reason, n := range stats.Refused {
		st.Counts["attempts_refused_"+reason] = int64(n)
	}
	if c.Stratify {
		st.Counts["seed_strata"], st.Counts["walk_categories"] = int64(stats.Strata), int64(len(stats.WalksByCategory))
	}
	return st
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
	return publish(ctx, r, "subgraphs", rows, partName)
}

// publish writes a dataset part and records it in the manifest. A shard
// publishes no dataset parts: the commit step writes them from every
// shard's checkpoints.
func publish[T any](ctx context.Context, r *Runner, dir string, rows []T, name func(i, n int) string) error {
	if r.shard.Sharded() {
		return nil
	}
	files, err := writeShards(filepath.Join(r.root, dir), rows, r.cfg.Export.ShardRows, r.cfg.Export.RowGroupRows, name)
	if err != nil {
		return err
	}
	key := filepath.ToSlash(dir)
	for i := range files {
		files[i] = key + "/" + files[i]
	}
	if d := r.place.dest; d != nil {
		if err := upload(ctx, d.Bucket, r.root, files...); err != nil {
			return err
		}
		if err := removeStale(ctx, d.Bucket, key, files); err != nil {
			return err
		}
	}
	r.manifest.Outputs[dir] = &Output{Files: files, Rows: int64(len(rows))}
	return nil
}

// QA writes one question per walk and gates it. Every walk ends as one
// committed item: kept, rejected or failed with its reason. The items are
// committed in three steps (ARCHITECTURE.md, "Checkpoints"): each question
// with its contamination verdict as it is written (the per-item work),
// then the near duplicates over all of them and each LLM-gate verdict (the
// global step).
func (r *Runner) QA(ctx context.Context) error {
	var (
		byID  map[string]qa.Walk
		write writer.Writer
		gate  gates.Order
	)
	return runStage(ctx, r, stage[qa.Walk]{
		name: StageQA, upstream: StageSample,
		settings: []any{writer.PromptHash(), r.cfg.Endpoint("writer").Model, r.cfg.QA.Inject,
			r.verifyFingerprint(), r.textGatesFingerprint(ctx)},
		// Questions of `qa import` are no product of the walks: starting the
		// stage over must not lose them.
		keep: func(ctx context.Context) ([]Record, error) {
			imported, err := r.importedItems(ctx)
			if err != nil {
				return nil, err
			}
			return itemRecords(imported)
		},
		items: func(ctx context.Context) ([]qa.Walk, error) {
			ws, err := r.walks(ctx)
			if err != nil {
				return nil, err
			}
			writerLLM, err := r.client(ctx, "writer")
			if err != nil {
				return nil, err
			}
			byID = make(map[string]qa.Walk, len(ws))
			for _, w := range ws {
				byID[w.ID] = w
			}
			write = writer.Writer{LLM: writerLLM, Docs: r.store, Inject: r.cfg.QA.Inject,
				Walk: func(id string) (qa.Walk, bool) { x, ok := byID[id]; return x, ok }}
			if gate.Contamination, gate.Dedup, err = r.textGates(ctx); err != nil {
				return nil, err
			}
			// The closed-book oracle "remembers" the leads of the walks' documents,
			// as a model trained on the corpus would.
			if err := rememberLeads(ctx, r.store, r.memory, ws); err != nil {
				return nil, err
			}
			if gate.LLM, err = r.newVerifier(ctx); err != nil {
				return nil, err
			}
			return ws, nil
		},
		id: func(w qa.Walk) string { return qa.ItemID(w.ID) },
		work: func(ctx context.Context, walk qa.Walk) (Record, error) {
			it, err := write.Write(ctx, walk)
			if err != nil {
				return Record{}, err
			}
			gate.Screen(ctx, &it)
			return itemRecord(it)
		},
		global: func(ctx context.Context, _ string) (*StageStats, error) {
			items, err := r.qaItems(ctx)
			if err != nil {
				return nil, err
			}
			switch {
			case r.committing:
				// Every shard's questions are here at last.
				if err := r.commitNearDuplicates(ctx, items); err != nil {
					return nil, err
				}
			case r.shard.Sharded():
				// The near duplicates need every shard's questions: the commit
				// step decides them. Until then each shard judges its own.
				if err := r.verifyQuestions(ctx, items, byID, gate); err != nil {
					return nil, err
				}
			default:
				if err := r.commitItems(ctx, StageQA, gate.MarkNearDuplicates(items)...); err != nil {
					return nil, err
				}
				if err := r.verifyQuestions(ctx, items, byID, gate); err != nil {
					return nil, err
				}
			}
			if items, err = r.qaItems(ctx); err != nil {
				return nil, err
			}
			st, err := r.publishQA(ctx, items)
			if err != nil {
				return nil, err
			}
			r.manifest.Prompts["writer"] = writer.PromptHash()
			for k, h := range writer.PromptHashes() {
				r.manifest.Prompts[k] = h
			}
			r.manifest.Prompts["verifier"] = verify.PromptHash()
			if gate.Contamination != nil {
				r.manifest.Prompts["decontam"] = gates.DecontamPromptHash()
			}
			return st, nil
		},
	})
}

// verifyQuestions runs the LLM gates (uniqueness, closed book, masked hop)
// on every kept question not yet judged, committing each verdict: a second
// pass over the qa stage's items, chosen and run as the first.
func (r *Runner) verifyQuestions(ctx context.Context, items []qa.Item, walks map[string]qa.Walk, gate gates.Order) error {
	id := func(it qa.Item) string { return it.ID }
	todo := pending(r, items, id, func(it qa.Item) bool {
		_, ok := walks[it.WalkID]
		return !gates.AwaitsVerdict(it, ok)
	})
	return eachItem(ctx, r, StageQA, "qa verify", todo, id, func(ctx context.Context, it qa.Item) (Record, error) {
		if r.shard.Sharded() {
			// The commit step may find it a near duplicate and needs it as
			// it was before its verdicts (gates.MarkNearDuplicatesAfter).
			rec, err := itemRecord(it)
			if err != nil {
				return Record{}, err
			}
			if err := r.state.Commit(ctx, stageQAWritten, rec); err != nil {
				return Record{}, err
			}
		}
		if err := gate.Verify(ctx, walks[it.WalkID], &it); err != nil {
			return Record{}, err
		}
		return itemRecord(it)
	})
}

// importedItems lists the committed questions that `qa import` made.
func (r *Runner) importedItems(ctx context.Context) ([]qa.Item, error) {
	items, err := r.qaItems(ctx)
	if err != nil {
		return nil, err
	}
	var out []qa.Item
	for _, it := range items {
		if it.Imported() {
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
		rec, err := itemRecord(it)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// itemRecord is the checkpoint record of a question.
func itemRecord(it qa.Item) (Record, error) {
	b, err := json.Marshal(it)
	if err != nil {
		return Record{}, fmt.Errorf("encode question %s: %w", it.ID, err)
	}
	return Record{ID: it.ID, Status: it.Status, Reason: it.Reason, Payload: b}, nil
}

// publishQA writes qa/ from every committed item and returns the stage's
// counts by status and reason, with examples of each rejection.
func (r *Runner) publishQA(ctx context.Context, items []qa.Item) (*StageStats, error) {
	st := newStageStats()
	rows := make([]QARow, 0, len(items))
	for _, it := range items {
		st.add(it.Status, it.Reason)
		if it.Status != qa.StatusKept {
			st.example(it.Reason, fmt.Sprintf("%s: %s (%s)", it.ID, it.Question, it.Detail))
		}
		st.PromptTokens += it.PromptTokens
		st.CompletionTokens += it.CompletionTokens
		if it.UsageMissing > 0 {
			st.Counts["usage_missing"] += it.UsageMissing
		}
		rows = append(rows, QARow{
			ID: it.ID, WalkID: it.WalkID, Question: it.Question, Answer: it.Answer, Gold: it.Gold,
			Hops: int32(it.Hops), DocIDs: it.DocIDs, Titles: it.Titles, Status: it.Status, Reason: it.Reason,
			Detail: it.Detail, Writer: it.Writer, PromptHash: it.PromptHash,
		})
	}
	st.Diversity, st.GateRates = keptDiversity(items), gateRates(st)
	return st, publish(ctx, r, "qa", rows, partName)
}

// textGatesFingerprint is what the contamination and near-duplicate gates
// depend on: the lists (by content, so an edited list re-runs the stage)
// and the thresholds.
func (r *Runner) textGatesFingerprint(ctx context.Context) any {
	c := r.cfg.QA
	lists := make([]string, 0, len(c.Contamination))
	for _, p := range c.Contamination {
		in, err := r.describeInput(ctx, p)
		if err != nil {
			in.SHA256 = "unreadable" // NewTextGates reports it with the path
		}
		lists = append(lists, p+"="+in.SHA256)
	}
	// The judge's verdicts depend on its model and prompt as well, but only
	// when there is a list for it to judge against.
	judge := ""
	if len(lists) > 0 {
		judge = r.cfg.Endpoint(llm.RoleDecontam).Model + "@" + gates.DecontamPromptHash()
	}
	return []any{lists, c.ContaminationNGram, c.ContaminationOverlap, c.DedupThreshold, c.ContaminationTopK, judge}
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
