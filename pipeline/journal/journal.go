// Package journal keeps the committed items of one shard of one stage in
// the output root itself, so that a task killed on one node and started
// again on another goes on from what it committed. The root may be a local
// directory or object storage (gocloud.dev/blob): a journal is a sequence
// of segment objects, seg-000000001.jsonl, seg-000000002.jsonl, …, each
// written whole and published only when complete, and never overwritten.
// Object stores cannot append, so each flush is one new segment.
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
	records map[string]Record
	pending []Record
	// frozen is the encoding of the first frozenN pending records, fixed
	// by a Flush that failed: its retry must write the very same segment,
	// or a write that did land would look like another task's.
	frozen  []byte
	frozenN int
}

const (
	segPrefix = "seg-"
	segSuffix = ".jsonl"
)

func segKey(prefix string, n int) string {
	return fmt.Sprintf("%s%s%09d%s", prefix, segPrefix, n, segSuffix)
}

// Open reads every segment under prefix (a "directory": it should end in
// "/") and returns the journal positioned after the last one. A segment
// that cannot be parsed is an error naming its key and line: a journal is
// written whole or not at all, so a bad line means something else wrote
// there.
func Open(ctx context.Context, b *blob.Bucket, prefix string) (*Journal, error) {
	j := &Journal{bucket: b, prefix: prefix, next: 1, records: map[string]Record{}}
	var segs []int
	it := b.List(&blob.ListOptions{Prefix: prefix + segPrefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list journal %s: %w", prefix, err)
		}
		name := strings.TrimPrefix(obj.Key, prefix+segPrefix)
		n, err := strconv.Atoi(strings.TrimSuffix(name, segSuffix))
		if err != nil || n < 1 || obj.Key != segKey(prefix, n) {
			continue // not a segment (a stray temporary, another tool's file)
		}
		segs = append(segs, n)
	}
	sort.Ints(segs)
	for _, n := range segs {
		if err := j.read(ctx, segKey(prefix, n)); err != nil {
			return nil, err
		}
		j.next = n + 1
	}
	return j, nil
}

func (j *Journal) read(ctx context.Context, key string) error {
	data, err := j.bucket.ReadAll(ctx, key)
	if err != nil {
		return fmt.Errorf("read journal segment %s: %w", key, err)
	}
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
