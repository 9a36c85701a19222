// Package shard says which items one task of a sharded run owns. The
// cluster's own scheduler starts the tasks (a Slurm job array, a
// Kubernetes Indexed Job); each task learns its place from a flag or from
// the variables the scheduler sets, and owns the items whose id hashes to
// it. The hash is of the id alone, so an item's shard depends on nothing
// but the shard count: a task restarted on another node owns the same
// items.
package shard

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Spec is one task's place in a run of Count tasks. The zero Spec is the
// unsharded run, like Whole().
type Spec struct {
	Index, Count int
}

// Whole is the run of one process that owns every item.
func Whole() Spec { return Spec{Index: 0, Count: 1} }

// Variables the schedulers set in each task's environment.
const (
	EnvK8sIndex   = "JOB_COMPLETION_INDEX"   // Kubernetes Indexed Job: this pod's index
	EnvSlurmTask  = "SLURM_ARRAY_TASK_ID"    // Slurm job array: this task's id
	EnvSlurmCount = "SLURM_ARRAY_TASK_COUNT" // Slurm job array: how many tasks
	EnvSlurmMin   = "SLURM_ARRAY_TASK_MIN"   // Slurm job array: the lowest task id
)

// Parse reads "I/N" as given to --shard: task I of N, counted from 0.
func Parse(s string) (Spec, error) {
	i, n, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Spec{}, fmt.Errorf("shard %q: want I/N, task I of N counted from 0 (e.g. 0/4)", s)
	}
	index, err := strconv.Atoi(strings.TrimSpace(i))
	if err != nil {
		return Spec{}, fmt.Errorf("shard %q: index %q is not a number", s, i)
	}
	count, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil {
		return Spec{}, fmt.Errorf("shard %q: count %q is not a number", s, n)
	}
	return New(index, count)
}

// New checks that index lies in [0, count).
func New(index, count int) (Spec, error) {
	switch {
	case count < 1:
		return Spec{}, fmt.Errorf("shard %d/%d: the count must be at least 1", index, count)
	case index < 0 || index >= count:
		return Spec{}, fmt.Errorf("shard %d/%d: the index must lie in 0..%d (shards count from 0)", index, count, count-1)
	}
	return Spec{Index: index, Count: count}, nil
}

// FromEnv finds the task's place from the scheduler's variables, read by
// getenv (os.Getenv in the CLI). A Kubernetes Indexed Job gives only the
// index, so the count comes from the caller (--shards or config; 0 when
// neither set it); a Slurm array gives both, and an array that does not
// start at 0 is counted from its lowest id. ok is false when no scheduler
// variable is set.
func FromEnv(getenv func(string) string, count int) (s Spec, ok bool, err error) {
	if v := getenv(EnvK8sIndex); v != "" {
		index, err := strconv.Atoi(v)
		if err != nil {
			return Spec{}, true, fmt.Errorf("%s=%q is not a number", EnvK8sIndex, v)
		}
		if count < 1 {
			return Spec{}, true, fmt.Errorf("%s=%s is set but the shard count is not: pass --shards N (the Job's completions)", EnvK8sIndex, v)
		}
		s, err := New(index, count)
		if err != nil {
			return Spec{}, true, fmt.Errorf("%s=%s: %w", EnvK8sIndex, v, err)
		}
		return s, true, nil
	}
	if v := getenv(EnvSlurmTask); v != "" {
		id, err := strconv.Atoi(v)
		if err != nil {
			return Spec{}, true, fmt.Errorf("%s=%q is not a number", EnvSlurmTask, v)
		}
		n, err := strconv.Atoi(getenv(EnvSlurmCount))
		if err != nil {
			return Spec{}, true, fmt.Errorf("%s=%s without a numeric %s: submit the run as one job array", EnvSlurmTask, v, EnvSlurmCount)
		}
		if count > 0 && count != n {
			return Spec{}, true, fmt.Errorf("the job array has %d tasks but the run asks for %d shards", n, count)
		}
		lowest := 0
		if m := getenv(EnvSlurmMin); m != "" {
			if lowest, err = strconv.Atoi(m); err != nil {
				return Spec{}, true, fmt.Errorf("%s=%q is not a number", EnvSlurmMin, m)
			}
		}
		s, err := New(id-lowest, n)
		if err != nil {
			return Spec{}, true, fmt.Errorf("%s=%s of an array of %d from %d: %w", EnvSlurmTask, v, n, lowest, err)
		}
		return s, true, nil
	}
	return Whole(), false, nil
}

// Of is the shard of n that owns the item with this id: the first 8 bytes
// of the id's SHA-256, big-endian, mod n. SHA-256 rather than a faster
// hash because anyone can recompute it (Python's hashlib, sha256sum) to
// find where a row was made.
func Of(id string, n int) int {
	if n <= 1 {
		return 0
	}
	sum := sha256.Sum256([]byte(id))
	return int(binary.BigEndian.Uint64(sum[:8]) % uint64(n))
}

// Owns reports whether this task owns the item with this id.
func (s Spec) Owns(id string) bool {
	return s.Count <= 1 || Of(id, s.Count) == s.Index
}

// Sharded reports whether the run has more than one task.
func (s Spec) Sharded() bool { return s.Count > 1 }

// String is "I/N", as --shard takes it.
func (s Spec) String() string {
	if s.Count == 0 {
		return Whole().String()
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}
