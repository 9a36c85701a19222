package pipeline

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"gocloud.dev/blob/fileblob"
)

// The root is the truth and state.db its cache: a fresh cache opened on
// the root's journals holds every committed item and stage; a stage left
// with many segments (a task killed mid-way) is folded into a snapshot by
// the next open, and a finished stage by its end.
func TestMirrorRestoresAndCompacts(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{CreateDir: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	openState := func(name string) *State {
		st, err := OpenState(ctx, filepath.Join(t.TempDir(), name+".db"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := openMirror(ctx, b, "shards/1-of-2/checkpoints/")
		if err != nil {
			t.Fatal(err)
		}
		if err := m.restore(ctx, st); err != nil {
			t.Fatal(err)
		}
		st.mirror = m
		t.Cleanup(func() { st.Close() })
		return st
	}
	segments := func() []string {
		segs, _ := filepath.Glob(filepath.Join(dir, "shards", "1-of-2", "checkpoints", "items", "*", "*", "*.jsonl"))
		for i := range segs {
			segs[i] = filepath.Base(segs[i])
		}
		return segs
	}

	a := openState("node1")
	if err := a.SetStage(ctx, StageSynthesize, "fp1", false); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if err := a.Commit(ctx, StageSynthesize, Record{ID: fmt.Sprintf("ro-%02d", i), Status: "answered", Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(segments()); got != 40 {
		t.Fatalf("%d segments after 40 commits", got)
	}
	// Killed here. Another node's fresh cache:
	c := openState("node2")
	ids, err := c.Committed(ctx, StageSynthesize)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 40 {
		t.Errorf("the fresh cache holds %d of the 40 committed items", len(ids))
	}
	if fp, ok, _ := c.Fingerprint(ctx, StageSynthesize); !ok || fp != "fp1" {
		t.Errorf("the fresh cache has stage fingerprint %q, %v", fp, ok)
	}
	if got := segments(); !slices.Equal(got, []string{"snap-000000040.jsonl"}) {
		t.Errorf("after the open the journal holds %v, want one snapshot", got)
	}
	if err := c.Commit(ctx, StageSynthesize, Record{ID: "ro-40", Status: "answered", Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetStage(ctx, StageSynthesize, "fp1", true); err != nil {
		t.Fatal(err)
	}
	if got := segments(); !slices.Equal(got, []string{"snap-000000041.jsonl"}) {
		t.Errorf("after the stage's end the journal holds %v, want one snapshot", got)
	}
	d := openState("node3")
	if done, _ := d.StageDone(ctx, StageSynthesize, "fp1"); !done {
		t.Error("the stage's end is not in the root")
	}
	if ids, _ := d.Committed(ctx, StageSynthesize); len(ids) != 41 {
		t.Errorf("%d items after the snapshot, want 41", len(ids))
	}
}
