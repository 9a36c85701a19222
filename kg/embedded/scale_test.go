package embedded

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/miroverse/miroverse/kg"
)

// BenchmarkScale ingests generated corpora of growing size and reports,
// per size, the write and Finish times per article and the file's bytes
// per article, so that how each cost grows with N can be read off:
//
//	go test ./kg/embedded -run '^$' -bench 'Scale/n=20000' -benchtime 1x
//	go test ./kg/embedded -run '^$' -bench 'Scale/n=100000' -benchtime 1x
//
// Run one size per process: max-rss-MB is the process's peak.
func BenchmarkScale(b *testing.B) {
	sizes := []int{20_000, 100_000, 500_000}
	if s := os.Getenv("SCALE_SIZES"); s != "" {
		sizes = nil
		for _, f := range filepath.SplitList(s) {
			n, err := strconv.Atoi(f)
			if err != nil {
				b.Fatal(err)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			for range b.N {
				benchScale(b, n)
			}
		})
	}
}

func benchScale(b *testing.B, n int) {
	ctx := context.Background()
	dir := b.TempDir()
	if d := os.Getenv("SCALE_DIR"); d != "" {
		dir = d
	}
	path := filepath.Join(dir, "kg.db")
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		os.Remove(p)
	}
	s, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	type stepTime struct {
		rows int64
		took time.Duration
	}
	steps := map[string]*stepTime{}
	var order []string
	s.trace = func(step string, rows int64, took time.Duration) {
		st := steps[step]
		if st == nil {
			st = &stepTime{}
			steps[step] = st
			order = append(order, step)
		}
		st.rows += rows
		st.took += took
	}
	syn := newSynth(n, 1)
	// The generator's own cost, to tell from the store's in put-*.
	gen0 := cpuTime()
	if err := syn.each(func([]kg.Doc, []kg.RawLink, []kg.Redirect) error { return nil }); err != nil {
		b.Fatal(err)
	}
	gen := cpuTime() - gen0
	var textBytes, linkCount int64
	cpu0 := cpuTime()
	start := time.Now()
	err = syn.each(func(docs []kg.Doc, links []kg.RawLink, reds []kg.Redirect) error {
		for _, d := range docs {
			textBytes += int64(len(d.Text))
		}
		linkCount += int64(len(links))
		if err := s.PutDocs(ctx, docs); err != nil {
			return err
		}
		if err := s.PutRawLinks(ctx, links); err != nil {
			return err
		}
		return s.PutRedirects(ctx, reds)
	})
	if err != nil {
		b.Fatal(err)
	}
	put := time.Since(start)
	cpu1 := cpuTime()
	start = time.Now()
	if err := s.Finish(ctx); err != nil {
		b.Fatal(err)
	}
	finish := time.Since(start)
	cpu2 := cpuTime()
	c, err := s.Counts(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	size := fileSize(path) + fileSize(path+"-wal")
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.Logf("n=%d: %+v; text %d B/article, %d links", n, c, textBytes/int64(n), linkCount)
	for _, k := range order {
		fmt.Fprintf(os.Stderr, "  finish step %-30s %10d rows %8.2fs\n", k, steps[k].rows, steps[k].took.Seconds())
	}
	b.ReportMetric(put.Seconds(), "put-s")
	b.ReportMetric(finish.Seconds(), "finish-s")
	b.ReportMetric(float64(put.Microseconds())/float64(n), "put-µs/article")
	b.ReportMetric(float64(finish.Microseconds())/float64(n), "finish-µs/article")
	b.ReportMetric(float64(gen.Microseconds())/float64(n), "gen-cpu-µs/article")
	b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(n), "put-cpu-µs/article")
	b.ReportMetric(float64((cpu2-cpu1).Microseconds())/float64(n), "finish-cpu-µs/article")
	b.ReportMetric(float64(size)/float64(n), "B/article")
	b.ReportMetric(float64(size)/float64(textBytes), "file/text")
	b.ReportMetric(float64(ru.Maxrss)/1024, "max-rss-MB")
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// cpuTime is the CPU time the process has used, user and system: on a
// shared machine it varies less than the wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
