package llm

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
)

// Outcome is what one HTTP attempt told the limiter about its endpoint.
type Outcome int

const (
	// OutcomeOther is neither a success nor an overload signal (a 400, a
	// reset connection, a timeout, a cancelled call): it leaves the limit
	// alone, because it says nothing reliable about the server's capacity.
	OutcomeOther Outcome = iota
	// OutcomeSuccess is a usable reply.
	OutcomeSuccess
	// OutcomeOverload is the server saying it has too much to do: HTTP 429
	// or 503.
	OutcomeOverload
)

func (o Outcome) String() string {
	switch o {
	case OutcomeSuccess:
		return "success"
	case OutcomeOverload:
		return "overload"
	}
	return "other"
}

// Limiter bounds the HTTP attempts in flight to one endpoint and adapts the
// bound to the endpoint's answers (AIMD, as TCP does with its window): it
// starts at the configured maximum, halves (never below 1) when an attempt is
// told the server is overloaded, and grows by one after a full window of
// successes (as many successes as the current limit) until it is back at the
// maximum. It never goes above the maximum.
//
// Only attempts that started after the last decrease can cause another one:
// when a burst of requests meets a 429 together, their overload answers are
// one signal, not one halving each. Successes of such older attempts do not
// count towards growth either, since they were admitted under a limit that
// has already been judged too high.
//
// Permits are per attempt, not per call: a call waiting out its backoff
// holds no slot, so the slots go to requests that can actually be sent.
// Waiters are served first come, first served. A Limiter is safe for
// concurrent use and may be shared by every client of an endpoint.
type Limiter struct {
	name string
	max  int
	log  *slog.Logger

	mu        sync.Mutex
	limit     int
	inFlight  int
	successes int    // successes counted towards the next increase
	epoch     uint64 // bumped at every decrease
	waiters   []*waiter
}

type waiter struct {
	ready   chan struct{} // closed when granted
	granted bool          // set under mu when the slot is handed over
	epoch   uint64
}

// NewLimiter starts a limiter for the endpoint called name (used in log lines
// only; it must hold no secret) at max attempts in flight (at least 1). Limit
// changes are logged at debug level on log, which may be nil.
func NewLimiter(name string, max int, log *slog.Logger) *Limiter {
	if max < 1 {
		max = 1
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Limiter{name: name, max: max, log: log, limit: max}
}

// Permit is one admitted attempt. Its zero value is a no-op, so a client
// without a limiter can release unconditionally.
type Permit struct {
	l     *Limiter
	epoch uint64
}

// Acquire waits for a slot, or until ctx is done.
func (l *Limiter) Acquire(ctx context.Context) (Permit, error) {
	if err := ctx.Err(); err != nil {
		return Permit{}, fmt.Errorf("wait for a slot at %s: %w", l.name, err)
	}
	l.mu.Lock()
	if len(l.waiters) == 0 && l.inFlight < l.limit {
		l.inFlight++
		p := Permit{l: l, epoch: l.epoch}
		l.mu.Unlock()
		return p, nil
	}
	w := &waiter{ready: make(chan struct{})}
	l.waiters = append(l.waiters, w)
	l.mu.Unlock()

	select {
	case <-w.ready:
		return Permit{l: l, epoch: w.epoch}, nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	if w.granted {
		// The slot arrived as ctx ended: hand it on rather than leak it.
		l.inFlight--
		l.grantLocked()
	} else {
		for i, x := range l.waiters {
			if x == w {
				l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
				break
			}
		}
	}
	l.mu.Unlock()
	return Permit{}, fmt.Errorf("wait for a slot at %s: %w", l.name, ctx.Err())
}

// Release ends the attempt and tells the limiter how it went.
func (p Permit) Release(o Outcome) {
	if p.l == nil {
		return
	}
	p.l.release(p.epoch, o)
}

func (l *Limiter) release(epoch uint64, o Outcome) {
	l.mu.Lock()
	l.inFlight--
	from := l.limit
	switch o {
	case OutcomeOverload:
		if epoch == l.epoch {
			l.limit = max(1, l.limit/2)
			l.epoch++
			l.successes = 0
		}
	case OutcomeSuccess:
		if epoch == l.epoch && l.limit < l.max {
			l.successes++
			if l.successes >= l.limit {
				l.limit++
				l.successes = 0
			}
		}
	}
	to, inFlight := l.limit, l.inFlight
	l.grantLocked()
	l.mu.Unlock()
	// Logged outside the lock: a slow log sink must not stall the endpoint.
	if to != from {
		l.log.Debug("llm concurrency limit changed", "endpoint", l.name, "from", from, "to", to,
			"max", l.max, "in_flight", inFlight, "after", o.String())
	}
}

// grantLocked hands free slots to waiters in arrival order.
func (l *Limiter) grantLocked() {
	for len(l.waiters) > 0 && l.inFlight < l.limit {
		w := l.waiters[0]
		l.waiters[0] = nil
		l.waiters = l.waiters[1:]
		l.inFlight++
		w.granted, w.epoch = true, l.epoch
		close(w.ready)
	}
}

// Limit is the current bound on attempts in flight.
func (l *Limiter) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit
}

// Max is the configured ceiling of the limit.
func (l *Limiter) Max() int { return l.max }

// InFlight is the number of attempts holding a permit.
func (l *Limiter) InFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inFlight
}
