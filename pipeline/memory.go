package pipeline

import (
	"cmp"
	"fmt"
	"math"
	"runtime/debug"

	"github.com/dustin/go-humanize"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/embedded"
	"github.com/miroverse/miroverse/kg/wiki"
)

// memoryPlan shares memory_budget out among the parts of a run that grow
// with the corpus: the reader's streams in flight, the embedded store's
// page cache and search-index build, and the Go heap (the walk snapshot,
// batches, rows). A batch job gets one number from its scheduler (a Slurm
// --mem, a Kubernetes limit) and the run stays inside it, or says at a
// stage's start that the stage cannot.
//
// The Go heap is held to its share by the runtime's soft limit
// (debug.SetMemoryLimit), which makes the collector work harder near it
// rather than let the heap double; what no collector can shrink (the
// snapshot's live size) is checked against the share before it is built.
type memoryPlan struct {
	budget int64 // 0: no budget
}

// MinMemoryBudget is the smallest memory_budget a run accepts: below it the
// fixed costs (the program, the runtime, one batch of pages) leave nothing
// for the stages.
const MinMemoryBudget = 96 << 20

// fixedBytes is what the budget keeps back for what neither the runtime's
// limit nor a cache setting covers: the program's text, thread stacks,
// SQLite's own allocations outside its page cache. The object-storage
// drivers (gocloud's s3blob and gcsblob and the cloud SDKs under them)
// doubled the binary and added about 30 MiB of resident baseline, measured
// as the peak RSS of the ingest and sample stages of the scale guard.
const fixedBytes = 56 << 20

// planMemory reads memory_budget ("" for none).
func planMemory(budget string) (memoryPlan, error) {
	if budget == "" {
		return memoryPlan{}, nil
	}
	n, err := humanize.ParseBytes(budget)
	if err != nil {
		return memoryPlan{}, fmt.Errorf("memory_budget %q: %w", budget, err)
	}
	if n > math.MaxInt64 {
		return memoryPlan{}, fmt.Errorf("memory_budget %q is too large", budget)
	}
	if n < MinMemoryBudget {
		return memoryPlan{}, fmt.Errorf("memory_budget %q is below the %s a run needs", budget, humanize.IBytes(MinMemoryBudget))
	}
	return memoryPlan{budget: int64(n)}, nil
}

// storeCache is the embedded store's page cache: an eighth of the budget,
// between 8 MiB and the store's default.
func (p memoryPlan) storeCache() int64 {
	if p.budget == 0 {
		return embedded.DefaultCacheBytes
	}
	return min(max(p.budget/8, 8<<20), embedded.DefaultCacheBytes)
}

// storeOptions bound the embedded store (the graph, or a bulk load's
// staging copy). The index build holds its postings on the Go heap.
func (p memoryPlan) storeOptions() embedded.Options {
	if p.budget == 0 {
		return embedded.Options{}
	}
	return embedded.Options{CacheBytes: p.storeCache(), IndexBuildBytes: min(p.budget/16, 96<<20)}
}

// readerBytes is the reader's default bound on streams in flight when
// input.memory_budget is not set: an eighth of the budget, at most the
// reader's own default, and at least what pages of up to maxPage bytes
// need (wiki.MinMemoryBudget); 0 leaves the reader's default.
func (p memoryPlan) readerBytes(maxPage int64) int64 {
	if p.budget == 0 {
		return 0
	}
	return max(min(p.budget/8, wiki.DefaultMemoryBudget), wiki.MinMemoryBudget(maxPage))
}

// checkReader refuses a budget whose heap share the reader would take more
// than half of, for pages of up to maxPage bytes.
func (p memoryPlan) checkReader(maxPage int64) error {
	if p.budget == 0 {
		return nil
	}
	if r := p.readerBytes(maxPage); r > p.heapLimit()/2 {
		return fmt.Errorf("memory_budget %s leaves %s for the Go heap, and the reader alone needs %s for pages of up to %s "+
			"(input.max_page_size): raise memory_budget to at least %s or lower input.max_page_size",
			humanize.IBytes(uint64(p.budget)), humanize.IBytes(uint64(p.heapLimit())), humanize.IBytes(uint64(r)),
			humanize.IBytes(uint64(cmp.Or(maxPage, wiki.DefaultMaxPageBytes))), humanize.IBytes(uint64(2*r+p.storeCache()+fixedBytes)))
	}
	return nil
}

// heapLimit is the Go heap's share: the budget less the store's cache and
// the fixed part; 0 for no budget.
func (p memoryPlan) heapLimit() int64 {
	if p.budget == 0 {
		return 0
	}
	return p.budget - p.storeCache() - fixedBytes
}

// apply holds the Go heap to its share until the returned function
// restores the limit it found.
func (p memoryPlan) apply() (restore func()) {
	if p.budget == 0 {
		return func() {}
	}
	old := debug.SetMemoryLimit(p.heapLimit())
	return func() { debug.SetMemoryLimit(old) }
}

// Bytes the walk snapshot and the sampler take on the Go heap while the
// snapshot is built and walks are drawn: per node its id, title and index
// entries plus the node list the store reads them into; per edge its
// target and evidence bit with the growth room of the arrays being built;
// per seed looked up its categories; per walk its hops and evidence.
const (
	snapshotNodeBytes = 192
	snapshotEdgeBytes = 8
	sampleSeedBytes   = 256
	sampleWalkBytes   = 4096
)

// checkSample refuses a sample that would not fit the heap's share, before
// the snapshot is read: the collector cannot shrink a live graph, and an
// out-of-memory kill hours into a job tells the user less than this.
func (p memoryPlan) checkSample(c kg.Counts, walks, seedPool int) error {
	if p.budget == 0 {
		return nil
	}
	need := c.Docs*snapshotNodeBytes + c.Links*snapshotEdgeBytes + int64(seedPool)*sampleSeedBytes + int64(walks)*sampleWalkBytes
	if have := p.heapLimit(); need > have {
		return fmt.Errorf("sample: the walk snapshot of %s documents and %s links and %s walks need about %s, "+
			"and memory_budget %s leaves %s for them (the rest is the store's cache and the program); raise memory_budget",
			humanize.Comma(c.Docs), humanize.Comma(c.Links), humanize.Comma(int64(walks)),
			humanize.IBytes(uint64(need)), humanize.IBytes(uint64(p.budget)), humanize.IBytes(uint64(have)))
	}
	return nil
}
