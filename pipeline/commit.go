package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/miroverse/miroverse/internal/blobroot"
	"github.com/miroverse/miroverse/pipeline/shard"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/qa/gates"
)

// stageQAWritten holds, in a shard, each question as it was before the
// LLM gates judged it (see gates.MarkNearDuplicatesAfter).
const stageQAWritten = StageQA + ".written"

// CommitOptions are the settings of Commit.
type CommitOptions struct {
	Shards int // N: the shards the run was split into
	// Wait polls every Poll (default 10s) until every shard has finished
	// instead of failing at once; the context bounds the wait.
	Wait     bool
	Poll     time.Duration
	CacheDir string // as Options.CacheDir
	Log      *slog.Logger
	Progress io.Writer
}

// ShardsUnfinished is Commit's error when some shards have not finished:
// it names each and what to do, and nothing was published.
type ShardsUnfinished struct {
	Root    string
	Shards  int
	Missing []int            // shards without a manifest: never started, or lost
	Open    map[int][]string // started shards and their unfinished stages
	Differ  map[int]string   // shards run with another config or code
	problem []string
}

func (e *ShardsUnfinished) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "commit %s: not every shard of %d has finished, so nothing was published:", e.Root, e.Shards)
	for _, p := range e.problem {
		b.WriteString("\n  " + p)
	}
	fmt.Fprintf(&b, "\nrun the shards named (miroverse run --config FILE --out %s --shard I/%d), then commit again (or commit --wait)", e.Root, e.Shards)
	return b.String()
}

func (e *ShardsUnfinished) any() bool { return len(e.problem) > 0 }

// Commit runs the global steps of a sharded run once all N shards have
// finished: it merges their checkpoints, decides the near duplicates over
// every question, drops the rollouts of the questions that lose, and
// publishes the version as one process would have: subgraphs/, qa/,
// trajectories/, sft/data, dpo/data, the card and one manifest. It is
// idempotent: each commit rebuilds everything from the shards'
// checkpoints. Shards missing or unfinished are a *ShardsUnfinished error.
func Commit(ctx context.Context, root string, o CommitOptions) (*Runner, error) {
	if o.Shards < 1 {
		return nil, fmt.Errorf("commit: --shards %d: want the number of shards the run was split into", o.Shards)
	}
	if o.Poll <= 0 {
		o.Poll = 10 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	dest, err := blobroot.Open(ctx, root)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	manifests, err := waitShards(ctx, dest, o)
	if err != nil {
		dest.Close()
		return nil, err
	}
	m0 := manifests[0]
	p := placement{dest: dest, name: dest.String(), manifest: "manifest.json"}
	dir, local := blobroot.LocalDir(root)
	if local {
		// A local root is its own work dir, as for one process: the merged
		// state.db lands in it, so inspect and a later run see it.
		p.work = dir
	} else if p.work, err = workDir(o.CacheDir, dest.String(), "commit"); err != nil {
		dest.Close()
		return nil, err
	}
	opt := Options{Log: o.Log, Progress: o.Progress}
	r, err := open(ctx, m0.Config, p, opt, func(ctx context.Context, st *State) error {
		return mergeShards(ctx, dest, st, o.Shards)
	})
	if err != nil {
		dest.Close()
		return nil, err
	}
	if local {
		// Files go straight into the work dir; nothing to upload.
		r.place.dest = nil
		dest.Close()
	}
	r.committing = true
	if err := r.commit(ctx, m0, o.Shards); err != nil {
		r.closeAll()
		return nil, err
	}
	return r, nil
}

// waitShards reads the N shard manifests, until every shard has finished
// when o.Wait, and returns them.
func waitShards(ctx context.Context, dest *blobroot.Root, o CommitOptions) ([]*Manifest, error) {
	for {
		ms, unfinished, err := readShards(ctx, dest, o.Shards)
		if err != nil {
			return nil, err
		}
		if !unfinished.any() {
			return ms, nil
		}
		if !o.Wait || len(unfinished.Differ) > 0 {
			return nil, unfinished
		}
		o.Log.Info("waiting for shards", "root", dest.String(), "missing", len(unfinished.Missing), "unfinished", len(unfinished.Open))
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (%w)", unfinished, ctx.Err())
		case <-time.After(o.Poll):
		}
	}
}

// readShards reads every shard's manifest and says which are not done.
func readShards(ctx context.Context, dest *blobroot.Root, n int) ([]*Manifest, *ShardsUnfinished, error) {
	u := &ShardsUnfinished{Root: dest.String(), Shards: n, Open: map[int][]string{}, Differ: map[int]string{}}
	ms := make([]*Manifest, n)
	for i := range n {
		spec := shard.Spec{Index: i, Count: n}
		key := ShardDir(spec) + "manifest.json"
		m, err := readManifestKey(ctx, dest.Bucket, key)
		if errors.Is(err, os.ErrNotExist) {
			u.Missing = append(u.Missing, i)
			u.problem = append(u.problem, fmt.Sprintf("shard %s: missing (no %s: it has not run, or ran with another --shards)", spec, key))
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("commit: shard %s: %w", spec, err)
		}
		ms[i] = m
		var open []string
		for _, s := range Stages {
			if st := m.Stages[s]; st == nil || !st.Complete {
				open = append(open, s)
			}
		}
		if len(open) == 0 {
			// The manifest is written just before a stage's done mark in the
			// journal: until the mark is there too, the shard is finishing.
			mr, err := openMirror(ctx, dest.Bucket, ShardDir(spec)+"checkpoints/")
			if err != nil {
				return nil, nil, fmt.Errorf("commit: shard %s: %w", spec, err)
			}
			_, done, err := mr.stageFingerprints()
			if err != nil {
				return nil, nil, fmt.Errorf("commit: shard %s: %w", spec, err)
			}
			for _, s := range Stages {
				if !done[s] {
					open = append(open, s)
				}
			}
		}
		if len(open) > 0 {
			u.Open[i] = open
			u.problem = append(u.problem, fmt.Sprintf("shard %s: unfinished (%s not done)", spec, strings.Join(open, ", ")))
		}
	}
	for i, m := range ms {
		if m == nil || ms[0] == nil {
			continue
		}
		if m.ConfigHash != ms[0].ConfigHash || m.CodeVersion != ms[0].CodeVersion {
			u.Differ[i] = m.ConfigHash
			u.problem = append(u.problem, fmt.Sprintf("shard %d/%d: ran config %.12s with code %s, shard 0/%d config %.12s with code %s: run every shard with one config and binary",
				i, n, m.ConfigHash, m.CodeVersion, n, ms[0].ConfigHash, ms[0].CodeVersion))
		}
	}
	return ms, u, nil
}

// mergeShards fills st with every shard's checkpoints. Each shard
// started every stage with the same fingerprint (same config and code),
// which is checked here too: the journals are what gets merged.
func mergeShards(ctx context.Context, dest *blobroot.Root, st *State, n int) error {
	if err := st.forgetAll(ctx); err != nil {
		return err
	}
	var first map[string]string
	for i := range n {
		spec := shard.Spec{Index: i, Count: n}
		m, err := openMirror(ctx, dest.Bucket, ShardDir(spec)+"checkpoints/")
		if err != nil {
			return fmt.Errorf("commit: shard %s: %w", spec, err)
		}
		fps, done, err := m.stageFingerprints()
		if err != nil {
			return fmt.Errorf("commit: shard %s: %w", spec, err)
		}
		if first == nil {
			first = fps
			for stage, fp := range fps {
				if err := st.setStageLocal(ctx, stage, fp, done[stage]); err != nil {
					return err
				}
			}
		}
		// The manifest said done, but a stage started over since (another
		// fingerprint) is open in the journal: its items are not all there.
		for _, stage := range Stages {
			if !done[stage] {
				return fmt.Errorf("commit: shard %s has not finished %s (its checkpoints say it is running or was stopped): run it to its end, then commit again", spec, stage)
			}
		}
		for stage, fp := range fps {
			if stage == stageIngestRead {
				continue // each shard read its own slice
			}
			if first[stage] != fp {
				return fmt.Errorf("commit: shard %s ran stage %s with other settings than shard 0/%d: run every shard with one config", spec, stage, n)
			}
		}
		if err := m.eachItem(ctx, fps, func(stage string, recs []Record) error {
			return st.commitLocal(ctx, stage, recs...)
		}); err != nil {
			return fmt.Errorf("commit: shard %s: %w", spec, err)
		}
	}
	return nil
}

// checkShardsStage: the commit step runs only what the shards ran.
func (r *Runner) checkShardsStage(ctx context.Context, stage, fp string) error {
	got, ok, err := r.state.Fingerprint(ctx, stage)
	if err != nil {
		return err
	}
	if !ok || got != fp {
		return fmt.Errorf("commit: the shards ran %s with other settings than this binary and config would (a changed contamination list, prompt or code version?): run them again", stage)
	}
	return nil
}

// commit is the commit step proper: the shards' shared stages (ingest and
// sample: every shard ran them whole) come from shard 0's manifest, the
// rest run their global steps over the merged checkpoints.
func (r *Runner) commit(ctx context.Context, m0 *Manifest, shards int) error {
	m := r.manifest
	m.Shards, m.Shard = shards, ""
	m.Inputs, m.Graph, m.ToolSchemaHash = m0.Inputs, m0.Graph, m0.ToolSchemaHash
	for k, v := range m0.Prompts {
		m.Prompts[k] = v
	}
	for k, v := range m0.Models {
		m.Models[k] = v
	}
	m.Outputs = map[string]*Output{}
	for _, s := range []string{StageIngest, StageSample} {
		m.Stages[s] = m0.Stages[s]
	}
	if err := r.publishSubgraphs(ctx); err != nil {
		return err
	}
	for _, step := range []func(context.Context) error{r.QA, r.Synthesize, r.Judge, r.Export} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// commitNearDuplicates decides the near duplicates over every shard's
// questions and drops the rollouts and verdicts of those that lose.
func (r *Runner) commitNearDuplicates(ctx context.Context, items []qa.Item) error {
	written := map[string]qa.Item{}
	if err := r.state.Each(ctx, stageQAWritten, func(rec Record) error {
		var it qa.Item
		if err := json.Unmarshal(rec.Payload, &it); err != nil {
			return fmt.Errorf("read question %s: %w", rec.ID, err)
		}
		written[it.ID] = it
		return nil
	}); err != nil {
		return err
	}
	// No decontam judge: this pass checks the lists by n-grams only, as
	// the near-duplicate pass of one process does.
	cont, dedup, err := NewTextGates(r.cfg.QA)
	if err != nil {
		return err
	}
	changed := gates.Order{Contamination: cont, Dedup: dedup}.MarkNearDuplicatesAfter(items, written)
	if err := r.commitItems(ctx, StageQA, changed...); err != nil {
		return err
	}
	lost := map[string]bool{}
	for _, it := range changed {
		lost[it.ID] = true
	}
	rollouts, err := r.rollouts(ctx)
	if err != nil {
		return err
	}
	var drop []string
	for _, ro := range rollouts {
		if lost[ro.QAID] {
			drop = append(drop, ro.ID)
		}
	}
	slices.Sort(drop)
	r.log.Info("near duplicates across shards", "questions", len(changed), "rollouts_dropped", len(drop))
	if err := r.state.Forget(ctx, StageSynthesize, drop...); err != nil {
		return err
	}
	return r.state.Forget(ctx, StageJudge, drop...)
}
