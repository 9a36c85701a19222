package llm

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// Short names for the trajectory table.
const (
	sOK   = OutcomeSuccess
	sOver = OutcomeOverload
	sOth  = OutcomeOther
)

// TestLimiterTrajectory feeds outcomes to a limiter and checks the limit
// after each step. A step admits len(outcomes) attempts together, then ends
// them in order: one outcome is a lone attempt, several are a burst that
// was in flight at once.
func TestLimiterTrajectory(t *testing.T) {
	type step struct {
		outcomes []Outcome
		want     int
	}
	one := func(o Outcome, want int) step { return step{[]Outcome{o}, want} }
	tests := []struct {
		name  string
		max   int
		steps []step
	}{
		{"starts at max and stays there on success", 4, []step{one(sOK, 4), one(sOK, 4), one(sOK, 4)}},
		{"halves on each separate overload, never below 1", 8, []step{
			one(sOver, 4), one(sOver, 2), one(sOver, 1), one(sOver, 1),
		}},
		{"other failures change nothing", 4, []step{one(sOth, 4), one(sOver, 2), one(sOth, 2), one(sOth, 2)}},
		{"grows by one per window of successes up to max", 4, []step{
			one(sOver, 2), one(sOver, 1),
			one(sOK, 2),              // window of 1
			one(sOK, 2), one(sOK, 3), // window of 2
			one(sOK, 3), one(sOK, 3), one(sOK, 4), // window of 3
			one(sOK, 4), one(sOK, 4), one(sOK, 4), one(sOK, 4), one(sOK, 4), // at max: no further growth
		}},
		{"an overload resets the success window", 4, []step{
			one(sOver, 2), one(sOK, 2), one(sOver, 1), one(sOK, 2),
		}},
		{"a burst of overloads is one signal", 8, []step{
			{[]Outcome{sOver, sOver, sOver, sOver, sOver, sOver, sOver, sOver}, 4},
		}},
		{"successes admitted before a decrease do not grow it", 4, []step{
			{[]Outcome{sOver, sOK, sOK, sOK}, 2},
			one(sOK, 2), one(sOK, 3),
		}},
		{"a new overload after a burst halves again", 8, []step{
			{[]Outcome{sOver, sOver}, 4},
			one(sOver, 2),
		}},
		{"max below 1 means 1", 0, []step{one(sOK, 1), one(sOver, 1), one(sOK, 1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLimiter("test", tc.max, nil)
			ctx := context.Background()
			for i, st := range tc.steps {
				permits := make([]Permit, len(st.outcomes))
				for j := range permits {
					p, err := l.Acquire(ctx)
					if err != nil {
						t.Fatalf("step %d: acquire: %v", i, err)
					}
					permits[j] = p
				}
				for j, p := range permits {
					p.Release(st.outcomes[j])
				}
				if got := l.Limit(); got != st.want {
					t.Fatalf("step %d (%v): limit %d, want %d", i, st.outcomes, got, st.want)
				}
				if l.InFlight() != 0 {
					t.Fatalf("step %d: %d in flight after all released", i, l.InFlight())
				}
			}
		})
	}
}

// TestLimiterNeverExceedsMax runs many goroutines through a small limiter
// with a mix of outcomes and counts what is in flight at once.
func TestLimiterNeverExceedsMax(t *testing.T) {
	const maxInFlight, workers, rounds = 4, 32, 200
	l := NewLimiter("test", maxInFlight, nil)
	var cur, peak atomic.Int32
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				p, err := l.Acquire(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				n := cur.Add(1)
				for {
					old := peak.Load()
					if n <= old || peak.CompareAndSwap(old, n) {
						break
					}
				}
				runtime.Gosched()
				cur.Add(-1)
				o := OutcomeSuccess
				switch (w*rounds + i) % 23 {
				case 0:
					o = OutcomeOverload
				case 1:
					o = OutcomeOther
				}
				p.Release(o)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > maxInFlight || p < 1 {
		t.Errorf("peak in flight %d, want 1..%d", p, maxInFlight)
	}
	if l.InFlight() != 0 {
		t.Errorf("%d in flight after all released", l.InFlight())
	}
	if lim := l.Limit(); lim < 1 || lim > maxInFlight {
		t.Errorf("limit %d outside 1..%d", lim, maxInFlight)
	}
}

// waitForWaiters spins until n acquirers are queued. It waits for a state,
// not for a time.
func waitForWaiters(l *Limiter, n int) {
	for {
		l.mu.Lock()
		k := len(l.waiters)
		l.mu.Unlock()
		if k == n {
			return
		}
		runtime.Gosched()
	}
}

// TestLimiterHalvingHoldsBackNewAttempts: after a decrease, a new attempt
// waits until the attempts in flight are below the new limit.
func TestLimiterHalvingHoldsBackNewAttempts(t *testing.T) {
	l := NewLimiter("test", 4, nil)
	ctx := context.Background()
	var ps []Permit
	for range 4 {
		p, err := l.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	ps[0].Release(OutcomeOverload) // limit 2, 3 in flight
	got := make(chan Permit)
	go func() {
		p, err := l.Acquire(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- p
	}()
	waitForWaiters(l, 1)
	ps[1].Release(OutcomeSuccess) // 2 in flight: still full
	waitForWaiters(l, 1)
	if l.InFlight() != 2 {
		t.Fatalf("in flight %d, want 2", l.InFlight())
	}
	ps[2].Release(OutcomeSuccess) // 1 in flight: the waiter gets a slot
	p := <-got
	if l.InFlight() != 2 || l.Limit() != 2 {
		t.Fatalf("in flight %d limit %d, want 2 and 2", l.InFlight(), l.Limit())
	}
	p.Release(OutcomeSuccess)
	ps[3].Release(OutcomeSuccess)
}

// TestLimiterAcquireHonoursContext: a waiter whose context ends gives up
// without taking or leaking a slot.
func TestLimiterAcquireHonoursContext(t *testing.T) {
	l := NewLimiter("test", 1, nil)
	p, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := l.Acquire(ctx)
		errc <- err
	}()
	waitForWaiters(l, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire after cancel: %v", err)
	}
	waitForWaiters(l, 0)
	p.Release(OutcomeSuccess)
	p2, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if l.InFlight() != 1 {
		t.Errorf("in flight %d, want 1", l.InFlight())
	}
	p2.Release(OutcomeSuccess)
	if _, err := l.Acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("acquire with a done context: %v", err)
	}
	var zero Permit
	zero.Release(OutcomeOverload) // a client without a limiter releases this
}
