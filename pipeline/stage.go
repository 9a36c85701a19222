package pipeline

import (
	"context"
	"fmt"
	"time"
)

// stage is what one stage of a dataset version supplies: its name and
// upstream, the settings its output depends on, its items and the work on
// each, and its global step. runStage does the rest the same way for every
// stage: the fingerprint and start-over, the skip of a finished stage,
// the choice of the items still to do, the worker pool, the commit of each
// item, progress, timing and the manifest. T is the stage's item.
type stage[T any] struct {
	name     string
	upstream string // the stage whose fingerprint this one chains to; "" for none
	// settings are the stage's own part of its fingerprint: config
	// sections, model names, prompt hashes. When one changes, the stage's
	// items are dropped and it runs again.
	settings []any
	// keep, when set, lists the records a start-over keeps (the qa stage's
	// imported questions, which are no product of its walks).
	keep func(ctx context.Context) ([]Record, error)
	// recheck, when set, may overrule the checkpoints' verdict that the
	// stage is done: its output may live outside the root (ingest into a
	// shared Neo4j database that was emptied since).
	recheck func(ctx context.Context, fingerprint string, done bool) (bool, error)
	// always runs the global step on a finished stage too: its output is
	// cheap and a pure function of the committed items (export).
	always bool

	// items reads the upstream and lists every item of the stage, done or
	// not. It runs only when the stage has work to do, so it is also where
	// a stage makes its clients and sandboxes. Nil for a stage that has
	// only a global step.
	items func(ctx context.Context) ([]T, error)
	// id is an item's stable id: its work's Record is committed under it,
	// and an item whose id is committed is not done again.
	id func(T) string
	// owner, when set, is the id that assigns an item to a shard, when
	// that is not its own: the rollouts of a question stay together.
	owner func(T) string
	// work does one item. Its error stops the stage (the item's fate is
	// then unknown and it is done again on the next run); an item that
	// fails for its own reasons is a Record with that status instead.
	work func(ctx context.Context, item T) (Record, error)

	// global runs once every item is committed, over all committed items
	// (this run's and earlier runs'): it publishes the stage's files and
	// returns its counts. fingerprint is the stage's own.
	global func(ctx context.Context, fingerprint string) (*StageStats, error)
}

// noItems is the item type of a stage that has only a global step.
type noItems struct{}

// runStage runs s to its end: a finished stage with an unchanged
// fingerprint is skipped, otherwise the items not yet committed are done on
// the configured workers, each committed as it finishes, and the global
// step and the manifest close the stage.
func runStage[T any](ctx context.Context, r *Runner, s stage[T]) error {
	// A replayed request the cache does not hold ends the stage at once:
	// the calls in flight see their context cancelled, so no item is
	// recorded as failed for it, and the run says which request missed.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer r.cache.OnMiss(cancel)()
	if r.cache != nil {
		r.cacheMark = [2]int64{r.cache.Hits(), r.cache.Stores()}
	}
	err := runStageIn(ctx, r, s)
	if miss := r.cache.FirstMiss(); err != nil && miss != nil {
		return fmt.Errorf("stage %s: %w", s.name, miss)
	}
	return err
}

func runStageIn[T any](ctx context.Context, r *Runner, s stage[T]) error {
	defer r.mem.apply()()
	start := time.Now()
	rss := startRSSWatch()
	fp, err := r.fingerprint(ctx, s.upstream, s.settings...)
	if err != nil {
		return err
	}
	var keep []Record
	if s.keep != nil {
		if keep, err = s.keep(ctx); err != nil {
			return err
		}
	}
	if r.committing {
		// The shards did the items; the commit step checks that they ran
		// this very stage and does its global step over all of them.
		if err := r.checkShardsStage(ctx, s.name, fp); err != nil {
			return err
		}
		return endGlobal(ctx, r, s, fp, start, rss)
	}
	done, err := r.beginStage(ctx, s.name, fp, keep...)
	if err != nil {
		return err
	}
	if s.recheck != nil {
		if done, err = s.recheck(ctx, fp, done); err != nil {
			return err
		}
	}
	if done && !s.always {
		r.log.Info("stage already complete; skipping", "stage", s.name)
		return nil
	}
	if s.items != nil {
		items, err := s.items(ctx)
		if err != nil {
			return err
		}
		committed, err := r.state.Committed(ctx, s.name)
		if err != nil {
			return err
		}
		owner := s.id
		if s.owner != nil {
			owner = s.owner
		}
		todo := pending(r, items, owner, func(it T) bool { return committed[s.id(it)] })
		if err := eachItem(ctx, r, s.name, s.name, todo, s.id, s.work); err != nil {
			return err
		}
	}
	return endGlobal(ctx, r, s, fp, start, rss)
}

// endGlobal runs a stage's global step and closes the stage.
func endGlobal[T any](ctx context.Context, r *Runner, s stage[T], fp string, start time.Time, rss rssWatch) error {
	st, err := s.global(ctx, fp)
	if err != nil {
		return err
	}
	st.Seconds = time.Since(start).Seconds()
	rss.record(st)
	if c := r.cache; c != nil {
		// What the stage's calls took from the response cache and added.
		if st.Counts == nil {
			st.Counts = map[string]int64{}
		}
		if n := c.Hits() - r.cacheMark[0]; n > 0 {
			st.Counts["llm_cache_hits"] = n
		}
		if n := c.Stores() - r.cacheMark[1]; n > 0 {
			st.Counts["llm_cache_stores"] = n
		}
	}
	st.MemoryBudgetBytes = r.mem.budget
	return r.endStage(ctx, s.name, fp, st)
}

// pending is the one place that chooses the items this process works on:
// the items its shard owns (by owner's id: shard.Spec.Owns) that skip does
// not rule out (committed already, or with nothing to do).
func pending[T any](r *Runner, items []T, owner func(T) string, skip func(T) bool) []T {
	var todo []T
	for _, it := range items {
		if r.shard.Owns(owner(it)) && !skip(it) {
			todo = append(todo, it)
		}
	}
	return todo
}

// eachItem does todo on the configured workers and commits each item's
// Record under stage as soon as it is done, in its own transaction, so that
// an interruption loses only the items in flight; progress goes out under
// label. It stops at the first error.
func eachItem[T any](ctx context.Context, r *Runner, stage, label string, todo []T, id func(T) string, work func(context.Context, T) (Record, error)) error {
	prog := startProgress(r.progress, label, int64(len(todo)))
	prog.calls = r.watch
	err := forEach(ctx, r.cfg.Workers, todo, func(ctx context.Context, it T) error {
		rec, err := work(ctx, it)
		if err != nil {
			return fmt.Errorf("%s %s: %w", label, id(it), err)
		}
		if rec.ID != id(it) {
			// The skip of committed items relies on it.
			return fmt.Errorf("%s %s: its record is named %s", label, id(it), rec.ID)
		}
		prog.Add(1)
		return r.state.Commit(ctx, stage, rec)
	})
	prog.Finish()
	return err
}
