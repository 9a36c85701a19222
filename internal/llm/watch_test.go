package llm

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// TestWatchNamesTheCallInFlight holds a call on the server (after one
// overloaded attempt) and reads the watch while it waits: the slowest call
// is the writer's, on its second attempt; when the call returns, nothing is
// in flight.
func TestWatchNamesTheCallInFlight(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 4)
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":{"message":"busy","type":"x"}}`))
			return
		}
		arrived <- struct{}{}
		<-release
		w.Write([]byte(okBody))
	}))
	defer srv.Close()
	watch := NewWatch()
	c := New(RoleWriter, Endpoint{BaseURL: srv.URL + "/v1", Model: "small-model", Watch: watch, MaxRetries: 2, BackoffBase: time.Millisecond, BackoffCap: time.Millisecond})
	done := make(chan error, 1)
	before := time.Now()
	go func() {
		_, err := c.Chat(context.Background(), openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "q"}}})
		done <- err
	}()
	<-arrived
	f, ok := watch.Slowest()
	if !ok || watch.Len() != 1 {
		t.Fatalf("watch holds %d call(s), slowest ok=%v; want the one call", watch.Len(), ok)
	}
	if f.Role != RoleWriter || f.Model != "small-model" || f.Attempt != 2 {
		t.Errorf("in flight = %+v, want the writer's call to small-model on attempt 2", f)
	}
	if f.Started.Before(before) || f.Started.After(time.Now()) {
		t.Errorf("started %v, not within the call", f.Started)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, ok := watch.Slowest(); ok || watch.Len() != 0 {
		t.Errorf("after the call, %d call(s) still in flight", watch.Len())
	}
}

func TestNilWatchWatchesNothing(t *testing.T) {
	var w *Watch
	retry, end := w.begin(RoleAgent, "m")
	retry(2)
	end()
	if _, ok := w.Slowest(); ok || w.Len() != 0 {
		t.Error("a nil watch reported a call")
	}
}
