package journal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"

	"github.com/miroverse/miroverse/internal/blobtest"
)

// backends are the two kinds of output root: a local directory and a real
// S3-compatible server (scripts/with-s3).
func backends(t *testing.T) map[string]func(t *testing.T) (*blob.Bucket, string) {
	return map[string]func(t *testing.T) (*blob.Bucket, string){
		"file": func(t *testing.T) (*blob.Bucket, string) {
			b, err := fileblob.OpenBucket(t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return b, "root/state/qa/shard-1-of-4/"
		},
		"s3": func(t *testing.T) (*blob.Bucket, string) {
			b, prefix := blobtest.Open(t)
			return b, prefix + "state/qa/shard-1-of-4/"
		},
	}
}

func mustAdd(t *testing.T, j *Journal, recs ...Record) {
	t.Helper()
	if err := j.Add(recs...); err != nil {
		t.Fatal(err)
	}
}

func rec(id, status string) Record {
	return Record{ID: id, Status: status, Payload: []byte(`{"id":"` + id + `"}`)}
}

func TestJournal(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			b, prefix := open(t)

			t.Run("flushed records survive a reopen, unflushed ones do not", func(t *testing.T) {
				j, err := Open(ctx, b, prefix)
				if err != nil {
					t.Fatal(err)
				}
				mustAdd(t, j, rec("qa-2", "kept"), rec("qa-1", "rejected"))
				if err := j.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				mustAdd(t, j, rec("qa-3", "kept"))
				if err := j.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				mustAdd(t, j, rec("qa-4", "kept")) // lost with the process
				again, err := Open(ctx, b, prefix)
				if err != nil {
					t.Fatal(err)
				}
				if got := again.IDs(); !slices.Equal(got, []string{"qa-1", "qa-2", "qa-3"}) {
					t.Errorf("reopened ids %v", got)
				}
				if r, ok := again.Committed("qa-1"); !ok || r.Status != "rejected" || string(r.Payload) != `{"id":"qa-1"}` {
					t.Errorf("qa-1 = %+v, %v", r, ok)
				}
				if again.Segments() != 2 {
					t.Errorf("%d segments, want 2", again.Segments())
				}
			})

			t.Run("a failed flush publishes nothing; its retry writes the same segment", func(t *testing.T) {
				j, err := Open(ctx, b, prefix)
				if err != nil {
					t.Fatal(err)
				}
				cctx, cancel := context.WithCancel(ctx)
				cancel()
				mustAdd(t, j, rec("qa-5", "kept"))
				if err := j.Flush(cctx); err == nil {
					t.Fatal("flush under a cancelled context succeeded")
				}
				if j.Pending() != 1 {
					t.Errorf("%d records queued after the failed flush, want 1", j.Pending())
				}
				mustAdd(t, j, rec("qa-5b", "kept")) // added between the failure and the retry
				again, err := Open(ctx, b, prefix)
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := again.Committed("qa-5"); ok {
					t.Error("a cut-off flush was published")
				}
				if err := j.Flush(ctx); err != nil { // the retry goes through
					t.Fatal(err)
				}
				again, err = Open(ctx, b, prefix)
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := again.Committed("qa-5"); !ok {
					t.Error("the retried flush is not there")
				}
				if _, ok := again.Committed("qa-5b"); !ok {
					t.Error("the record added before the retry is not there")
				}
				if again.Segments() != 4 { // 2 before, then qa-5 alone, then qa-5b
					t.Errorf("%d segments, want 4", again.Segments())
				}
			})

			t.Run("two tasks on one shard conflict", func(t *testing.T) {
				a, err := Open(ctx, b, prefix)
				if err != nil {
					t.Fatal(err)
				}
				z, err := Open(ctx, b, prefix) // a zombie of the same shard
				if err != nil {
					t.Fatal(err)
				}
				mustAdd(t, a, rec("qa-6", "kept"))
				if err := a.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				mustAdd(t, z, rec("qa-7", "kept"))
				if err := z.Flush(ctx); !errors.Is(err, ErrConflict) {
					t.Errorf("second writer: %v, want ErrConflict", err)
				}
				// The same segment again (a flush whose reply was lost) is no conflict.
				same, err := Open(ctx, b, prefix)
				if err != nil {
					t.Fatal(err)
				}
				same.next--
				mustAdd(t, same, rec("qa-6", "kept"))
				if err := same.Flush(ctx); err != nil {
					t.Errorf("re-flush of an identical segment: %v", err)
				}
			})

			t.Run("a record without an id is refused", func(t *testing.T) {
				j, err := Open(ctx, b, prefix+"noid/")
				if err != nil {
					t.Fatal(err)
				}
				if err := j.Add(Record{Status: "kept"}); err == nil || j.Pending() != 0 {
					t.Errorf("Add of a record without an id: %v, %d queued", err, j.Pending())
				}
			})

			t.Run("only canonical segment names count", func(t *testing.T) {
				odd := prefix + "odd/"
				if err := b.WriteAll(ctx, odd+"seg-1.jsonl", []byte(`{"id":"x","status":"kept"}`+"\n"), nil); err != nil {
					t.Fatal(err)
				}
				j, err := Open(ctx, b, odd)
				if err != nil {
					t.Fatal(err)
				}
				if len(j.IDs()) != 0 || j.Segments() != 0 {
					t.Errorf("seg-1.jsonl was read as a segment: %v", j.IDs())
				}
			})

			t.Run("a damaged segment is named", func(t *testing.T) {
				bad := prefix + "bad/"
				if err := b.WriteAll(ctx, segKey(bad, 1), []byte(`{"id":"qa-1","status":"kept"}`+"\n"+`{"id":`), nil); err != nil {
					t.Fatal(err)
				}
				_, err := Open(ctx, b, bad)
				if err == nil || !strings.Contains(err.Error(), "seg-000000001.jsonl line 2") {
					t.Errorf("open of a damaged journal: %v, want the segment and line named", err)
				}
			})
		})
	}
}

// Compact folds the segments into one snapshot that Open reads instead of
// them, numbering goes on after it, a later record of an id still wins,
// and a second compaction replaces the first snapshot.
func TestCompact(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			b, prefix := open(t)
			j, err := Open(ctx, b, prefix)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 40 {
				mustAdd(t, j, rec(fmt.Sprintf("ro-%02d", i), "answered"))
				if err := j.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if j.Uncompacted() != 40 {
				t.Fatalf("%d segments since a snapshot, want 40", j.Uncompacted())
			}
			if err := j.Compact(ctx); err != nil {
				t.Fatal(err)
			}
			keys := func() []string {
				var out []string
				it := b.List(&blob.ListOptions{Prefix: prefix})
				for {
					obj, err := it.Next(ctx)
					if err != nil {
						return out
					}
					out = append(out, strings.TrimPrefix(obj.Key, prefix))
				}
			}
			if got := keys(); !slices.Equal(got, []string{"snap-000000040.jsonl"}) {
				t.Errorf("after compaction the journal holds %v, want the one snapshot", got)
			}
			// Numbering goes on after the snapshot; a new record of an old id wins.
			mustAdd(t, j, Record{ID: "ro-03", Status: "failed", Reason: "retried"})
			if err := j.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			again, err := Open(ctx, b, prefix)
			if err != nil {
				t.Fatal(err)
			}
			if len(again.IDs()) != 40 || again.Segments() != 41 || again.Uncompacted() != 1 {
				t.Errorf("reopened: %d ids, %d segments, %d since the snapshot; want 40, 41, 1", len(again.IDs()), again.Segments(), again.Uncompacted())
			}
			if r, _ := again.Committed("ro-03"); r.Status != "failed" {
				t.Errorf("ro-03 = %+v: the record after the snapshot must win", r)
			}
			if r, _ := again.Committed("ro-17"); r.Status != "answered" || string(r.Payload) != `{"id":"ro-17"}` {
				t.Errorf("ro-17 from the snapshot = %+v", r)
			}
			if err := again.Compact(ctx); err != nil {
				t.Fatal(err)
			}
			if got := keys(); !slices.Equal(got, []string{"snap-000000041.jsonl"}) {
				t.Errorf("after the second compaction: %v", got)
			}
			last, err := Open(ctx, b, prefix)
			if err != nil {
				t.Fatal(err)
			}
			if r, _ := last.Committed("ro-03"); len(last.IDs()) != 40 || r.Status != "failed" {
				t.Errorf("after two compactions: %d ids, ro-03 %+v", len(last.IDs()), r)
			}
			// A journal that compacted nothing new writes nothing.
			if err := last.Compact(ctx); err != nil {
				t.Fatal(err)
			}
			if got := keys(); len(got) != 1 {
				t.Errorf("an idle compaction changed the journal: %v", got)
			}
		})
	}
}
