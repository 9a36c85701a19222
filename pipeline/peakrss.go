package pipeline

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// Each stage reports its own peak RSS, although one process may run them
// all: Linux keeps a resettable high-water mark (VmHWM in /proc/self/status,
// reset by writing 5 to /proc/self/clear_refs), so a stage starts by
// resetting it and ends by reading it. Where either file is missing (other
// systems, a locked-down /proc) the figure falls back to getrusage's
// ru_maxrss, the process's peak so far, which is still an upper bound.

// resetPeakRSS starts a new high-water mark; it reports whether it could,
// which the manifest records so that a reader knows what the figure means.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS is the resident set's high-water mark in bytes, 0 when no
// source of it is available.
func peakRSS() int64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:")); ok {
				f := bytes.Fields(rest) // "1234", "kB"
				if len(f) == 2 {
					if kb, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
						return kb << 10
					}
				}
			}
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		return ru.Maxrss << 10 // KiB on Linux
	}
	return 0
}

// rssWatch measures one stage's peak RSS.
type rssWatch struct{ own bool }

func startRSSWatch() rssWatch { return rssWatch{own: resetPeakRSS()} }

// record stores the stage's peak in st. With no reset the process's peak
// since start is all there is; PeakRSSScope says so.
func (w rssWatch) record(st *StageStats) {
	st.PeakRSSBytes = peakRSS()
	st.PeakRSSScope = "stage"
	if !w.own {
		st.PeakRSSScope = "process"
	}
}
