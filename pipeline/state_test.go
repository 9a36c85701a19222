package pipeline

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
)

func TestStateCommitIsIdempotentAndOrdered(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := OpenState(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"c", "a", "b", "a"} {
		if err := st.Commit(ctx, "qa", Record{ID: id, Status: "kept", Payload: []byte(id)}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	// Reopened, as a resumed run would.
	st, err = OpenState(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var got []string
	if err := st.Each(ctx, "qa", func(r Record) error { got = append(got, r.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "c" {
		t.Errorf("items %v, want [a b c]", got)
	}
	ids, _ := st.Committed(ctx, "sample")
	if len(ids) != 0 {
		t.Errorf("stages leak into each other: %v", ids)
	}
}

func TestStageFingerprintResets(t *testing.T) {
	ctx := context.Background()
	st, err := OpenState(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.SetStage(ctx, "qa", "fp1", true); err != nil {
		t.Fatal(err)
	}
	if done, _ := st.StageDone(ctx, "qa", "fp1"); !done {
		t.Error("stage with same fingerprint not done")
	}
	if done, _ := st.StageDone(ctx, "qa", "fp2"); done {
		t.Error("stage with other fingerprint counted as done")
	}
	st.Commit(ctx, "qa", Record{ID: "x", Status: "kept"})
	if err := st.ResetStage(ctx, "qa"); err != nil {
		t.Fatal(err)
	}
	if ids, _ := st.Committed(ctx, "qa"); len(ids) != 0 {
		t.Errorf("reset left %v", ids)
	}
}

func TestItemSeedIsStableAndSpread(t *testing.T) {
	a, b := itemSeed(42, "ro-1"), itemSeed(42, "ro-2")
	if a == b || a != itemSeed(42, "ro-1") || a == itemSeed(43, "ro-1") {
		t.Errorf("seeds %d %d", a, b)
	}
	if a < 0 || a >= 1<<31 {
		t.Errorf("seed %d outside 31 bits", a)
	}
}

func TestForEachStopsAtFirstError(t *testing.T) {
	items := make([]int, 1000)
	var ran atomic.Int64
	boom := errors.New("boom")
	err := forEach(context.Background(), 4, items, func(_ context.Context, _ int) error {
		if ran.Add(1) == 10 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if ran.Load() >= 1000 {
		t.Error("kept going after an error")
	}
}
