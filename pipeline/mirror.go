package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"gocloud.dev/blob"

	"github.com/miroverse/miroverse/pipeline/journal"
)

// mirror keeps a State's checkpoints in the output root as well, as
// journals (pipeline/journal), for runs whose local state.db is only a
// cache: a shard of a sharded run, or a run into object storage. The root
// is what counts: a task that starts on a node without the cache (or
// after it was lost) rebuilds state.db from the root's journals and goes
// on from there.
//
// Layout under prefix (each journal its segments, and a snapshot once
// compacted: when its stage is done, and when an open finds many):
//
//	stages/seg-*.jsonl                   one record per stage: its fingerprint, open or done
//	items/<stage>/<fingerprint>/seg-*    the stage's committed items
//
// A stage's items live under its fingerprint, so a stage started over
// (its settings changed) begins an empty journal and the old one is
// ignored. Stages whose name has a dot ("qa.written") are a stage's
// auxiliary records and take the fingerprint of the part before the dot.
type mirror struct {
	bucket *blob.Bucket
	prefix string

	mu       sync.Mutex
	stages   *journal.Journal
	journals map[string]*journal.Journal // by items prefix
}

// Stage record statuses of the stages journal.
const (
	stageOpen = "open"
	stageDone = "done"
)

func baseStage(stage string) string {
	base, _, _ := strings.Cut(stage, ".")
	return base
}

func (m *mirror) itemsPrefix(stage, fp string) string {
	return m.prefix + "items/" + stage + "/" + fp + "/"
}

func openMirror(ctx context.Context, b *blob.Bucket, prefix string) (*mirror, error) {
	st, err := journal.Open(ctx, b, prefix+"stages/")
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	return &mirror{bucket: b, prefix: prefix, stages: st, journals: map[string]*journal.Journal{}}, nil
}

// stageFingerprints are the fingerprints and done flags the journal holds.
func (m *mirror) stageFingerprints() (map[string]string, map[string]bool, error) {
	fps, done := map[string]string{}, map[string]bool{}
	for _, id := range m.stages.IDs() {
		rec, _ := m.stages.Committed(id)
		var fp string
		if err := json.Unmarshal(rec.Payload, &fp); err != nil {
			return nil, nil, fmt.Errorf("checkpoints %sstages: stage %s: %w", m.prefix, id, err)
		}
		fps[id], done[id] = fp, rec.Status == stageDone
	}
	return fps, done, nil
}

func (m *mirror) journal(ctx context.Context, stage, fp string) (*journal.Journal, error) {
	p := m.itemsPrefix(stage, fp)
	if j, ok := m.journals[p]; ok {
		return j, nil
	}
	j, err := journal.Open(ctx, m.bucket, p)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints of %s: %w", stage, err)
	}
	m.journals[p] = j
	return j, nil
}

// setStage records a stage's fingerprint and state.
func (m *mirror) setStage(ctx context.Context, stage, fp string, done bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, _ := json.Marshal(fp)
	status := stageOpen
	if done {
		status = stageDone
	}
	if err := m.stages.Add(journal.Record{ID: stage, Status: status, Payload: b}); err != nil {
		return err
	}
	if err := m.stages.Flush(ctx); err != nil {
		return fmt.Errorf("record stage %s in the root: %w", stage, err)
	}
	if !done {
		return nil
	}
	// A finished stage is read whole by every later open and by the
	// commit: one snapshot instead of a segment per item.
	for p, j := range m.journals {
		if strings.HasPrefix(p, m.prefix+"items/"+stage+"/") || strings.HasPrefix(p, m.prefix+"items/"+stage+".") {
			if err := compact(ctx, j, 0, "the checkpoints of "+stage); err != nil {
				return err
			}
		}
	}
	return compact(ctx, m.stages, compactAfter, "the stage records")
}

// compact folds j into a snapshot when more than after segments follow
// its last one.
func compact(ctx context.Context, j *journal.Journal, after int, what string) error {
	if j.Uncompacted() <= after {
		return nil
	}
	if err := j.Compact(ctx); err != nil {
		return fmt.Errorf("compact %s: %w", what, err)
	}
	return nil
}

// compactAfter is how many segments since its last snapshot make a
// journal worth compacting when it is opened: each costs a read.
const compactAfter = 32

// commit publishes recs of stage, whose fingerprint is fp, as one segment.
func (m *mirror) commit(ctx context.Context, stage, fp string, recs []Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, err := m.journal(ctx, stage, fp)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := j.Add(journal.Record{ID: r.ID, Status: r.Status, Reason: r.Reason, Payload: json.RawMessage(r.Payload)}); err != nil {
			return err
		}
	}
	if err := j.Flush(ctx); err != nil {
		return fmt.Errorf("commit %s to the root: %w", stage, err)
	}
	return nil
}

// itemStages lists the stage names that have items under the mirror.
func (m *mirror) itemStages(ctx context.Context) ([]string, error) {
	var out []string
	it := m.bucket.List(&blob.ListOptions{Prefix: m.prefix + "items/", Delimiter: "/"})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list checkpoints %sitems/: %w", m.prefix, err)
		}
		if obj.IsDir {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(obj.Key, m.prefix+"items/"), "/"))
		}
	}
}

// restore loads the mirror's stages and items into st, replacing what st
// holds of them: the root is the truth and state.db its cache.
func (m *mirror) restore(ctx context.Context, st *State) error {
	fps, done, err := m.stageFingerprints()
	if err != nil {
		return err
	}
	if err := st.forgetAll(ctx); err != nil {
		return err
	}
	for stage, fp := range fps {
		if err := st.setStageLocal(ctx, stage, fp, done[stage]); err != nil {
			return err
		}
	}
	stages, err := m.itemStages(ctx)
	if err != nil {
		return err
	}
	for _, stage := range stages {
		fp, ok := fps[baseStage(stage)]
		if !ok {
			continue
		}
		j, err := m.journal(ctx, stage, fp)
		if err != nil {
			return err
		}
		if err := st.commitLocal(ctx, stage, records(j)...); err != nil {
			return err
		}
		// A stage killed mid-way left a segment per item: fold them now,
		// so that the next open (another node, the commit) reads one.
		if err := compact(ctx, j, compactAfter, "the checkpoints of "+stage); err != nil {
			return err
		}
	}
	return compact(ctx, m.stages, compactAfter, "the stage records")
}

// records are a journal's committed records, in id order.
func records(j *journal.Journal) []Record {
	ids := j.IDs()
	recs := make([]Record, 0, len(ids))
	for _, id := range ids {
		r, _ := j.Committed(id)
		recs = append(recs, Record{ID: r.ID, Status: r.Status, Reason: r.Reason, Payload: []byte(r.Payload)})
	}
	return recs
}

// eachItem calls fn with every stage's committed records, for the stages
// whose fingerprints fps gives: a reader's pass (the commit step's), which
// never compacts another task's journals.
func (m *mirror) eachItem(ctx context.Context, fps map[string]string, fn func(stage string, recs []Record) error) error {
	stages, err := m.itemStages(ctx)
	if err != nil {
		return err
	}
	for _, stage := range stages {
		fp, ok := fps[baseStage(stage)]
		if !ok {
			continue // items of a stage never started under this root's journal
		}
		j, err := journal.Open(ctx, m.bucket, m.itemsPrefix(stage, fp))
		if err != nil {
			return fmt.Errorf("read checkpoints of %s: %w", stage, err)
		}
		if err := fn(stage, records(j)); err != nil {
			return err
		}
	}
	return nil
}
