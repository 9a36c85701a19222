package pipeline

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/embedded"
	"github.com/miroverse/miroverse/kg/wiki"
)

func TestPlanMemory(t *testing.T) {
	for _, c := range []struct {
		budget  string
		want    int64
		wantErr string
	}{
		{"", 0, ""},
		{"96MiB", 96 << 20, ""},
		{"8GiB", 8 << 30, ""},
		{"2 GB", 2_000_000_000, ""},
		{"95MiB", 0, "below the 96 MiB"},
		{"lots", 0, `memory_budget "lots"`},
		{"-1GiB", 0, `memory_budget "-1GiB"`},
	} {
		p, err := planMemory(c.budget)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: error %v, want one containing %q", c.budget, err, c.wantErr)
			}
			continue
		}
		if err != nil || p.budget != c.want {
			t.Errorf("%q: budget %d, %v; want %d", c.budget, p.budget, err, c.want)
		}
	}
}

// The shares of a budget add up to no more than the budget, and no budget
// leaves every part at its default.
func TestMemoryPlanShares(t *testing.T) {
	if p := (memoryPlan{}); p.storeOptions() != (embedded.Options{}) || p.readerBytes(0) != 0 || p.heapLimit() != 0 {
		t.Errorf("no budget: store %+v, reader %d, heap %d; want the defaults", p.storeOptions(), p.readerBytes(0), p.heapLimit())
	}
	for _, budget := range []int64{336 << 20, 1 << 30, 2 << 30, 24 << 30} {
		p := memoryPlan{budget: budget}
		so := p.storeOptions()
		if so.CacheBytes <= 0 || so.CacheBytes > embedded.DefaultCacheBytes || so.IndexBuildBytes <= 0 {
			t.Errorf("budget %d: store options %+v", budget, so)
		}
		if got := p.heapLimit() + so.CacheBytes + fixedBytes; got != budget {
			t.Errorf("budget %d: heap %d + cache %d + fixed %d = %d", budget, p.heapLimit(), so.CacheBytes, fixedBytes, got)
		}
		// The reader and the index build take their memory from the heap's
		// share (they are Go allocations), and must leave room in it.
		if r := p.readerBytes(0) + so.IndexBuildBytes; r <= 0 || r > p.heapLimit()*3/4 {
			t.Errorf("budget %d: reader %d + index build %d of a heap share of %d", budget, p.readerBytes(0), so.IndexBuildBytes, p.heapLimit())
		}
		if err := p.checkReader(0); err != nil {
			t.Errorf("budget %d: %v", budget, err)
		}
		// The reader always gets what its pages need.
		if p.readerBytes(0) < wiki.MinMemoryBudget(0) || p.readerBytes(1<<20) < wiki.MinMemoryBudget(1<<20) {
			t.Errorf("budget %d: reader %d, below what its pages need", budget, p.readerBytes(0))
		}
	}
}

func TestMemoryPlanApplyRestores(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	p := memoryPlan{budget: 512 << 20}
	restore := p.apply()
	if got := debug.SetMemoryLimit(-1); got != p.heapLimit() {
		t.Errorf("limit during the stage %d, want the heap share %d", got, p.heapLimit())
	}
	restore()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit after the stage %d, want the %d it was", got, before)
	}
	(memoryPlan{}).apply()()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("no budget changed the limit to %d", got)
	}
}

func TestCheckSample(t *testing.T) {
	enwiki := kg.Counts{Docs: 6_900_000, Links: 170_000_000}
	for _, c := range []struct {
		name    string
		budget  int64
		counts  kg.Counts
		walks   int
		wantErr bool
	}{
		{"no budget", 0, enwiki, 100_000, false},
		{"enwiki in 8 GiB", 8 << 30, enwiki, 100_000, false},
		{"enwiki in 1 GiB", 1 << 30, enwiki, 100_000, true},
		{"20k articles in 128 MiB", 128 << 20, kg.Counts{Docs: 20_000, Links: 500_000}, 400, false},
		{"a million walks in 2 GiB", 2 << 30, kg.Counts{Docs: 1000, Links: 20_000}, 1_000_000, true},
	} {
		err := memoryPlan{budget: c.budget}.checkSample(c.counts, c.walks, 20*c.walks)
		if (err != nil) != c.wantErr {
			t.Errorf("%s: %v, want error %v", c.name, err, c.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "raise memory_budget") {
			t.Errorf("%s: %v does not say what to do", c.name, err)
		}
	}
}

// Without an input.memory_budget of its own the reader gets its share of
// memory_budget; one of its own stays.
func TestReaderShare(t *testing.T) {
	c := DefaultConfig()
	if got := c.reader().MemoryBudget; got != "" {
		t.Errorf("no budget: reader budget %q, want the reader's default", got)
	}
	c.MemoryBudget = "1GiB"
	if got := c.reader().MemoryBudget; got != "134217728B" {
		t.Errorf("1GiB: reader budget %q, want an eighth", got)
	}
	c.Input.MemoryBudget = "32MiB"
	if got := c.reader().MemoryBudget; got != "32MiB" {
		t.Errorf("own budget: reader budget %q, want 32MiB", got)
	}
}
