package pipeline

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// A stage's peak must be its own: after a reset, memory a previous stage
// touched and gave back no longer counts, while memory touched since does.
func TestPeakRSSIsPerStage(t *testing.T) {
	const big = 256 << 20
	w := startRSSWatch()
	if !w.own {
		t.Fatal("cannot reset the RSS high-water mark (/proc/self/clear_refs); the manifest would report process peaks")
	}
	buf := make([]byte, big)
	for i := range buf {
		buf[i] = 1 // resident only once touched
	}
	var first StageStats
	w.record(&first)
	runtime.KeepAlive(buf)
	buf = nil
	runtime.GC()
	debug.FreeOSMemory()

	w = startRSSWatch()
	var second StageStats
	w.record(&second)
	if first.PeakRSSScope != "stage" || second.PeakRSSScope != "stage" {
		t.Fatalf("scopes %q and %q, want stage", first.PeakRSSScope, second.PeakRSSScope)
	}
	if first.PeakRSSBytes < big {
		t.Errorf("peak %d bytes while %d were resident", first.PeakRSSBytes, big)
	}
	if second.PeakRSSBytes > first.PeakRSSBytes-big/2 {
		t.Errorf("peak after the reset %d bytes, before %d: the released %d bytes still count", second.PeakRSSBytes, first.PeakRSSBytes, big)
	}
}
