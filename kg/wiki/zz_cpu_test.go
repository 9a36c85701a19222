package wiki

import (
	"bytes"
	"compress/bzip2"
	"io"
	"os"
	"syscall"
	"testing"
	"time"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestZZCPU prints CPU time per MB for our decoder and the stdlib.
func TestZZCPU(t *testing.T) {
	path := os.Getenv("BZFILE")
	if path == "" {
		t.Skip()
	}
	comp, _ := os.ReadFile(path)
	n, _ := io.Copy(io.Discard, newBzReader(bytes.NewReader(comp)))
	for _, name := range []string{"ours", "ours", "ours", "std"} {
		best := time.Hour
		for range 3 {
			c0 := cpuNow()
			var r io.Reader = newBzReader(bytes.NewReader(comp))
			if name == "std" {
				r = bzip2.NewReader(bytes.NewReader(comp))
			}
			io.Copy(io.Discard, r)
			best = min(best, cpuNow()-c0)
		}
		t.Logf("%s: %.1f MB/s of CPU", name, float64(n)/best.Seconds()/1e6)
	}
}
