package pipeline

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/miroverse/miroverse/internal/llm"
)

// progress prints a stage's advance (items, items/s, ETA) about once a
// second, and a final line when done.
type progress struct {
	w     io.Writer
	stage string
	total int64
	done  atomic.Int64
	// bytes, when set, reports the input read so far against its size, and
	// the XML decoded from it; the ETA then runs against the input size.
	bytes func() (read, total, xml int64)
	// calls, when set, names the slowest LLM call in flight: a stage that
	// waits on a model shows what it waits for while its ETA climbs.
	calls *llm.Watch
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startProgress(w io.Writer, stage string, total int64) *progress {
	p := &progress{w: w, stage: stage, total: total, start: time.Now(), stop: make(chan struct{})}
	p.run()
	return p
}

func (p *progress) run() {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.print(false)
			}
		}
	}()
}

// startReadProgress is progress for reading a file: pages and pages/s, MB/s
// of XML, and an ETA against the (compressed) file size.
func startReadProgress(w io.Writer, name string, bytes func() (read, total, xml int64)) *progress {
	p := &progress{w: w, stage: "ingest " + name, bytes: bytes, start: time.Now(), stop: make(chan struct{})}
	p.run()
	return p
}

// Add counts n finished items.
func (p *progress) Add(n int64) { p.done.Add(n) }

// Finish stops the ticker and prints the final line.
func (p *progress) Finish() {
	close(p.stop)
	p.wg.Wait()
	p.print(true)
}

func (p *progress) print(final bool) {
	done := p.done.Load()
	el := time.Since(p.start)
	rate := float64(done) / max(el.Seconds(), 1e-9)
	line := fmt.Sprintf("%-10s %s", p.stage, humanize.Comma(done))
	if p.total > 0 {
		line += fmt.Sprintf("/%s (%.0f%%)", humanize.Comma(p.total), 100*float64(done)/float64(p.total))
	}
	line += fmt.Sprintf("  %s items/s", humanize.FtoaWithDigits(rate, 1))
	if p.bytes != nil {
		read, total, xml := p.bytes()
		line += fmt.Sprintf("  %s/s XML  %s of %s read", humanize.Bytes(uint64(float64(xml)/max(el.Seconds(), 1e-9))), humanize.Bytes(uint64(read)), humanize.Bytes(uint64(total)))
		if !final && read > 0 && total > read {
			eta := time.Duration(float64(total-read) / (float64(read) / el.Seconds()) * float64(time.Second))
			line += fmt.Sprintf(" (%.0f%%)  ETA %s", 100*float64(read)/float64(total), eta.Round(time.Second))
		}
	}
	switch {
	case final:
		line += fmt.Sprintf("  done in %s", el.Round(10*time.Millisecond))
	case p.total > 0 && rate > 0:
		eta := time.Duration(float64(p.total-done) / rate * float64(time.Second))
		line += fmt.Sprintf("  ETA %s", eta.Round(time.Second))
	case p.total > 0:
		line += "  ETA unknown until an item is done"
	}
	if !final {
		line += inFlight(p.calls, time.Now())
	}
	fmt.Fprintln(p.w, line)
}

// inFlight is the progress line's word on the LLM calls in flight: how
// many, and the slowest with its role, model, age and attempt.
func inFlight(w *llm.Watch, now time.Time) string {
	c, ok := w.Slowest()
	if !ok {
		return ""
	}
	s := fmt.Sprintf("  %s LLM call(s) in flight, slowest: %s (%s) for %s", humanize.Comma(int64(w.Len())), c.Role, c.Model,
		now.Sub(c.Started).Round(100*time.Millisecond))
	if c.Attempt > 1 {
		s += fmt.Sprintf(", attempt %d", c.Attempt)
	}
	return s
}
