package llm

import (
	"sync"
	"time"
)

// Watch keeps the calls in flight of the clients that share it, so that a
// progress line can say what a stage is waiting for: when an ETA climbs, the
// slowest call names the role, the model and how long it has run. The zero
// value is not ready; use NewWatch. A nil *Watch watches nothing.
type Watch struct {
	mu    sync.Mutex
	next  uint64
	calls map[uint64]InFlight
}

// InFlight is one call being made.
type InFlight struct {
	Role, Model string
	Started     time.Time
	// Attempt is the attempt under way, from 1.
	Attempt int
}

// NewWatch returns an empty Watch.
func NewWatch() *Watch { return &Watch{calls: map[uint64]InFlight{}} }

// Slowest is the call that has been in flight longest; ok is false when
// none is.
func (w *Watch) Slowest() (c InFlight, ok bool) {
	if w == nil {
		return InFlight{}, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range w.calls {
		if !ok || f.Started.Before(c.Started) {
			c, ok = f, true
		}
	}
	return c, ok
}

// Len is the number of calls in flight.
func (w *Watch) Len() int {
	if w == nil {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.calls)
}

// begin books a call and returns the functions that move it to its next
// attempt and end it.
func (w *Watch) begin(role, model string) (retry func(attempt int), end func()) {
	if w == nil {
		return func(int) {}, func() {}
	}
	w.mu.Lock()
	id := w.next
	w.next++
	w.calls[id] = InFlight{Role: role, Model: model, Started: time.Now(), Attempt: 1}
	w.mu.Unlock()
	retry = func(attempt int) {
		w.mu.Lock()
		if f, ok := w.calls[id]; ok {
			f.Attempt = attempt
			w.calls[id] = f
		}
		w.mu.Unlock()
	}
	end = func() {
		w.mu.Lock()
		delete(w.calls, id)
		w.mu.Unlock()
	}
	return retry, end
}
