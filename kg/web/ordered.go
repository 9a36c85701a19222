package web

import (
	"context"
	"sync"
	"sync/atomic"
)

// ordered runs the extraction jobs that feed submits on workers and hands
// their Pages to fn in submission order: reading a file is sequential,
// extraction is where the time goes. At most a few jobs per worker are in
// flight, so memory is bounded by a few payloads per worker.
func ordered(ctx context.Context, workers int, fn func(Page) error, feed func(submit func(func() Page) error) error) error {
	workers = max(workers, 1)
	type job struct {
		run func() Page
		out chan Page
	}
	jobs := make(chan job, workers)
	order := make(chan chan Page, 8*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				j.out <- j.run()
			}
		}()
	}
	var failed atomic.Bool
	var fnErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for out := range order {
			p := <-out
			if fnErr == nil {
				if fnErr = fn(p); fnErr != nil {
					failed.Store(true)
				}
			}
		}
	}()
	submit := func(run func() Page) error {
		if failed.Load() {
			return errStopped
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		out := make(chan Page, 1)
		order <- out
		jobs <- job{run, out}
		return nil
	}
	err := feed(submit)
	close(jobs)
	close(order)
	<-done
	wg.Wait()
	if fnErr != nil {
		return fnErr
	}
	if err == errStopped {
		err = nil
	}
	return err
}

type stopped struct{}

func (stopped) Error() string { return "stopped" }

var errStopped error = stopped{}
