package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/miroverse/miroverse/internal/atomicfile"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/qa/gates"
	"github.com/miroverse/miroverse/trajectory/export"
)

// Export builds the SFT and DPO shards and the dataset card. It is cheap and
// always rebuilt from the committed items, so its output is a pure function
// of them.
func (r *Runner) Export(ctx context.Context) error {
	return runStage(ctx, r, stage[noItems]{
		name: StageExport, upstream: StageJudge, settings: []any{r.cfg.Export}, always: true,
		global: func(ctx context.Context, _ string) (*StageStats, error) { return r.export(ctx) },
	})
}

// export is the export stage's global step.
func (r *Runner) export(ctx context.Context) (*StageStats, error) {
	items, err := r.qaItems(ctx)
	if err != nil {
		return nil, err
	}
	rollouts, err := r.rollouts(ctx)
	if err != nil {
		return nil, err
	}
	verdicts, err := r.verdicts(ctx)
	if err != nil {
		return nil, err
	}
	byQA := map[string][]export.Judged{}
	for _, ro := range rollouts {
		v, ok := verdicts[ro.ID]
		if !ok {
			return nil, fmt.Errorf("export: rollout %s has no verdict; run the judge stage first", ro.ID)
		}
		ro.Messages = r.storedMessages(ro)
		byQA[ro.QAID] = append(byQA[ro.QAID], export.Judged{Rollout: ro, Verdict: v.Verdict})
	}
	opt := export.Options{
		Style: r.cfg.Export.Style, Generator: "miroverse", SFTPick: r.cfg.Export.SFTPick,
		MaxPairsPerQuestion: r.cfg.Export.MaxPairsPerQA, FunctionNames: r.cfg.Synthesize.FunctionNames,
	}
	st := newStageStats()
	var sft []export.SFTRow
	var dpo []export.DPORow
	for _, it := range items {
		if it.Status != qa.StatusKept {
			continue
		}
		js := byQA[it.ID]
		if why := gates.OutsideBand(correctCount(js), len(js), r.cfg.Export.DifficultyBand); why != "" {
			st.add("rejected", why)
			continue
		}
		info := export.QAInfo{QAID: it.ID, Question: it.Question, Answer: it.Answer, Gold: it.Gold, Hops: it.Hops, DocIDs: it.DocIDs}
		row, ok, err := export.BuildSFT(info, js, opt)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", it.ID, err)
		}
		if ok {
			sft = append(sft, row)
			st.add("kept", "")
		} else {
			st.add("rejected", export.NoSFTReason(js))
		}
		pairs, err := export.BuildDPO(info, js, opt)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", it.ID, err)
		}
		dpo = append(dpo, pairs...)
	}
	sort.Slice(sft, func(a, b int) bool { return sft[a].ID < sft[b].ID })
	sort.Slice(dpo, func(a, b int) bool { return dpo[a].ID < dpo[b].ID })
	if err := publish(ctx, r, filepath.Join("sft", "data"), sft, shardName); err != nil {
		return nil, err
	}
	if err := publish(ctx, r, filepath.Join("dpo", "data"), dpo, shardName); err != nil {
		return nil, err
	}
	st.Counts["sft_rows"], st.Counts["dpo_pairs"] = int64(len(sft)), int64(len(dpo))
	if err := r.publishCard(ctx, r.datasetCard(len(sft), len(dpo))); err != nil {
		return nil, err
	}
	return st, nil
}

// publishCard writes the dataset card (none for a shard: the commit step
// writes the version's card).
func (r *Runner) publishCard(ctx context.Context, card string) error {
	if r.shard.Sharded() {
		return nil
	}
	if err := atomicfile.WriteFile(filepath.Join(r.root, "README.md"), []byte(card)); err != nil {
		return err
	}
	if d := r.place.dest; d != nil {
		return upload(ctx, d.Bucket, r.root, "README.md")
	}
	return nil
}

// correctCount counts the correct rollouts of a question.
func correctCount(js []export.Judged) int {
	n := 0
	for _, j := range js {
		if j.Verdict.Correct {
			n++
		}
	}
	return n
}

// datasetCard is the Hugging Face dataset card: YAML front matter with the
// sft and dpo configs and their exact split sizes, then a short description.
func (r *Runner) datasetCard(sftRows, dpoRows int) string {
	var b strings.Builder
	b.WriteString("---\nconfigs:\n")
	for _, c := range []string{"sft", "dpo"} {
		fmt.Fprintf(&b, "- config_name: %s\n  data_files:\n  - split: train\n    path: %s/data/train-*.parquet\n", c, c)
	}
	b.WriteString("dataset_info:\n")
	for _, c := range []struct {
		name string
		n    int
	}{{"sft", sftRows}, {"dpo", dpoRows}} {
		fmt.Fprintf(&b, "- config_name: %s\n  splits:\n  - name: train\n    num_examples: %d\n", c.name, c.n)
	}
	b.WriteString("tags:\n- agent\n- tool-use\n- multi-hop-qa\n- synthetic\n---\n\n")
	m := r.manifest
	fmt.Fprintf(&b, "# miroverse dataset\n\nMulti-hop questions built from random walks over a hyperlink graph, each solved by a ReAct agent with\n"+
		"`google_search` and `scrape_and_extract_info` tools; rollouts are judged by answer correctness.\n\n")
	fmt.Fprintf(&b, "| config | rows | content |\n|---|---|---|\n| sft | %d | one correct trajectory per question (`messages`, `tools`) |\n| dpo | %d | `prompt`, `chosen` (correct), `rejected` (incorrect) |\n\n", sftRows, dpoRows)
	fmt.Fprintf(&b, "Message style: `%s`. Tool results in messages: `%s`. Seed %d, config hash `%s`, code version `%s`.\n\n",
		r.cfg.Export.Style, r.cfg.Export.TrajectoryContent, m.Seed, m.ConfigHash[:16], m.CodeVersion)
	b.WriteString("```python\nfrom datasets import load_dataset\nsft = load_dataset(\"parquet\", data_files=\"sft/data/*.parquet\", split=\"train\")\n```\n\n")
	b.WriteString("Counts by stage and reason, hashes and the resolved config are in `manifest.json`.\n")
	return b.String()
}
