// Package journal keeps the committed items of one shard of one stage in
// the output root itself, so that a task killed on one node and started
// again on another goes on from what it committed. The root may be a local
// directory or object storage (gocloud.dev/blob): a journal is a sequence
// of segment objects, seg-000000001.jsonl, seg-000000002.jsonl, …, each
// written whole and published only when complete, and never overwritten.
// Object stores cannot append, so each flush is one new segment; Compact
// folds them into one snapshot, snap-<n>.jsonl, that later opens read
// instead of segments 1..n.
package journal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
	"golang.org/x/sync/errgroup"
)

// Record is one committed item.
type Record struct {
	ID      string          `json:"id"`
	Status  string          `json:"status"`
	Reason  string          `json:"reason,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// ErrConflict means another writer published the segment this one was
// about to write: two tasks are running the same shard. Object stores
// decide IfNotExist on the server, so the second writer always learns of
// the first; on a local directory gocloud checks and then renames, which
// keeps apart only the writers of one process, so there one task per shard
// is the scheduler's to guarantee.
var ErrConflict = errors.New("another task wrote this shard's journal")

// Journal is one shard's committed records under a prefix of a bucket.
// It is not safe for concurrent use.
type Journal struct {
	bucket  *blob.Bucket
	prefix  string
	next    int // number of the next segment
	base    int // the last segment the latest snapshot holds; 0: none
	records map[string]Record
	pending []Record
	// frozen is the encoding of the first frozenN pending records, fixed
	// by a Flush that failed: its retry must write the very same segment,
	// or a write that did land would look like another task's.
	frozen  []byte
	frozenN int
}

const (
	segPrefix  = "seg-"
	snapPrefix = "snap-"
	segSuffix  = ".jsonl"
)

func segKey(prefix string, n int) string {
	return fmt.Sprintf("%s%s%09d%s", prefix, segPrefix, n, segSuffix)
}

func snapKey(prefix string, n int) string {
	return fmt.Sprintf("%s%s%09d%s", prefix, snapPrefix, n, segSuffix)
}

// Open reads the journal under prefix (a "directory": it should end in
// "/"): its latest snapshot, if Compact wrote one, then every segment
// after it, and returns the journal positioned after the last. A segment
// that cannot be parsed is an error naming its key and line: a journal is
// written whole or not at all, so a bad line means something else wrote
// there.
func Open(ctx context.Context, b *blob.Bucket, prefix string) (*Journal, error) {
	// A compaction by the journal's writer may delete segments between our
	// listing and our reads; the snapshot it wrote first holds them, and a
	// second look finds it.
	var err error
	for range 3 {
		var j *Journal
		if j, err = open(ctx, b, prefix); err == nil {
			return j, nil
		}
		if gcerrors.Code(err) != gcerrors.NotFound {
			return nil, err
		}
	}
	return nil, err
}

func open(ctx context.Context, b *blob.Bucket, prefix string) (*Journal, error) {
	j := &Journal{bucket: b, prefix: prefix, next: 1, records: map[string]Record{}}
	segs, snaps, err := list(ctx, b, prefix)
	if err != nil {
		return nil, err
	}
	if len(snaps) > 0 {
		j.base = snaps[len(snaps)-1]
		j.next = j.base + 1
	}
	var after []int
	for _, n := range segs {
		if n > j.base {
			after = append(after, n)
		}
	}
	// Segments are small and many: read them side by side, apply in order.
	data := make([][]byte, len(after))
	var snap []byte
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	if j.base > 0 {
		g.Go(func() (err error) {
			snap, err = b.ReadAll(gctx, snapKey(prefix, j.base))
			if err != nil {
				return fmt.Errorf("read journal snapshot %s: %w", snapKey(prefix, j.base), err)
			}
			return nil
		})
	}
	for i, n := range after {
		g.Go(func() (err error) {
			data[i], err = b.ReadAll(gctx, segKey(prefix, n))
			if err != nil {
				return fmt.Errorf("read journal segment %s: %w", segKey(prefix, n), err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if j.base > 0 {
		if err := j.parse(snapKey(prefix, j.base), snap); err != nil {
			return nil, err
		}
	}
	for i, n := range after {
		if err := j.parse(segKey(prefix, n), data[i]); err != nil {
			return nil, err
		}
		j.next = n + 1
	}
	return j, nil
}

// list returns the numbers of the segments and of the snapshots under
// prefix, each sorted; other keys (a stray temporary, another tool's
// file) are not the journal's.
func list(ctx context.Context, b *blob.Bucket, prefix string) (segs, snaps []int, err error) {
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("list journal %s: %w", prefix, err)
		}
		if n, ok := number(obj.Key, prefix, segPrefix, segKey); ok {
			segs = append(segs, n)
		} else if n, ok := number(obj.Key, prefix, snapPrefix, snapKey); ok {
			snaps = append(snaps, n)
		}
	}
	sort.Ints(segs)
	sort.Ints(snaps)
	return segs, snaps, nil
}

// number is the n of key when key is exactly name(prefix, n).
func number(key, prefix, kind string, name func(string, int) string) (int, bool) {
	rest, ok := strings.CutPrefix(key, prefix+kind)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(rest, segSuffix))
	return n, err == nil && n >= 1 && key == name(prefix, n)
}

func (j *Journal) parse(key string, data []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), len(data)+1)
	for line := 1; sc.Scan(); line++ {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.ID == "" {
			if err == nil {
				err = errors.New("record without an id")
			}
			return fmt.Errorf("journal segment %s line %d: %w", key, line, err)
		}
		j.records[r.ID] = r
	}
	return sc.Err()
}

// Compact writes every committed record into one snapshot,
// snap-<n>.jsonl where n is the last segment it holds, and then deletes
// the segments and the older snapshot it replaces, so that the next Open
// reads one object where there were many. Records still pending are not
// in it (Flush first). Only the journal's writer may compact; a reader
// that meets a segment deleted under it reads the snapshot instead.
func (j *Journal) Compact(ctx context.Context) error {
	n := j.next - 1
	if n <= j.base {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, id := range j.IDs() {
		if err := enc.Encode(j.records[id]); err != nil {
			return fmt.Errorf("journal: encode %s: %w", id, err)
		}
	}
	key := snapKey(j.prefix, n)
	err := j.bucket.WriteAll(ctx, key, buf.Bytes(), &blob.WriterOptions{IfNotExist: true, ContentType: "application/x-ndjson"})
	if err != nil && gcerrors.Code(err) == gcerrors.FailedPrecondition {
		there, rerr := j.bucket.ReadAll(ctx, key)
		if rerr != nil {
			return fmt.Errorf("journal snapshot %s exists; read it: %w", key, rerr)
		}
		if !bytes.Equal(there, buf.Bytes()) {
			return fmt.Errorf("journal snapshot %s: %w", key, ErrConflict)
		}
		err = nil
	}
	if err != nil {
		return fmt.Errorf("write journal snapshot %s: %w", key, err)
	}
	old := j.base
	j.base = n
	// The snapshot holds everything now; the deletes only save reads.
	for m := old + 1; m <= n; m++ {
		if err := j.bucket.Delete(ctx, segKey(j.prefix, m)); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return fmt.Errorf("delete compacted segment %s: %w", segKey(j.prefix, m), err)
		}
	}
	if old > 0 {
		if err := j.bucket.Delete(ctx, snapKey(j.prefix, old)); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return fmt.Errorf("delete the replaced snapshot %s: %w", snapKey(j.prefix, old), err)
		}
	}
	return nil
}

// Uncompacted is the number of segments published since the last
// snapshot: what the next Open reads besides it.
func (j *Journal) Uncompacted() int { return j.next - 1 - j.base }

// Add queues records for the next Flush; until then they are not
// committed. A record needs an id.
func (j *Journal) Add(recs ...Record) error {
	for _, r := range recs {
		if r.ID == "" {
			return errors.New("journal: a record without an id")
		}
	}
	j.pending = append(j.pending, recs...)
	return nil
}

// Pending is the number of records waiting for Flush.
func (j *Journal) Pending() int { return len(j.pending) }

// Flush publishes the queued records as new segments; nothing of a segment
// is visible before it is complete. When a segment's key is taken, Flush
// succeeds if the object there is this very segment (an earlier Flush whose
// reply was lost) and fails with ErrConflict otherwise. On an error the
// records stay queued and Flush may be called again: the retry writes the
// same segment first, whatever was added since.
func (j *Journal) Flush(ctx context.Context) error {
	for len(j.pending) > 0 {
		if j.frozen == nil {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			for _, r := range j.pending {
				if err := enc.Encode(r); err != nil {
					return fmt.Errorf("journal: encode %s: %w", r.ID, err)
				}
			}
			j.frozen, j.frozenN = buf.Bytes(), len(j.pending)
		}
		key := segKey(j.prefix, j.next)
		err := j.bucket.WriteAll(ctx, key, j.frozen, &blob.WriterOptions{IfNotExist: true, ContentType: "application/x-ndjson"})
		if err != nil && gcerrors.Code(err) == gcerrors.FailedPrecondition {
			there, rerr := j.bucket.ReadAll(ctx, key)
			if rerr != nil {
				return fmt.Errorf("journal segment %s exists; read it: %w", key, rerr)
			}
			if !bytes.Equal(there, j.frozen) {
				return fmt.Errorf("journal segment %s: %w", key, ErrConflict)
			}
			err = nil
		}
		if err != nil {
			return fmt.Errorf("write journal segment %s: %w", key, err)
		}
		for _, r := range j.pending[:j.frozenN] {
			j.records[r.ID] = r
		}
		j.pending = j.pending[j.frozenN:]
		j.frozen, j.frozenN = nil, 0
		j.next++
	}
	return nil
}

// Committed returns the record committed under id; a later record of an
// id replaces an earlier one.
func (j *Journal) Committed(id string) (Record, bool) {
	r, ok := j.records[id]
	return r, ok
}

// IDs lists the committed ids, sorted.
func (j *Journal) IDs() []string {
	ids := make([]string, 0, len(j.records))
	for id := range j.records {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Segments is the number of segments published so far.
func (j *Journal) Segments() int { return j.next - 1 }
