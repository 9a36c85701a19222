package llm

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// memStore is a CacheStore in memory.
type memStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memStore) Get(_ context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[key]
	return b, ok, nil
}

func (s *memStore) Put(_ context.Context, key string, b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = b
	return nil
}

// sampler answers every call with a new text, as a sampling model does.
func sampler(t *testing.T, calls *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		time.Sleep(5 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"sample ` +
			strings.Repeat("x", int(n)) + `"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func ask(q string) openai.ChatCompletionRequest {
	return openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{{Role: "user", Content: q}}}
}

func TestCacheReadWriteAnswersASecondTimeWithoutACall(t *testing.T) {
	var calls atomic.Int32
	srv := sampler(t, &calls)
	store := &memStore{m: map[string][]byte{}}
	cache := NewCache(CacheReadWrite, store)
	c := New(RoleWriter, Endpoint{BaseURL: srv.URL + "/v1", Model: "m", Cache: cache})
	first, err := c.Chat(t.Context(), ask("q1"))
	if err != nil {
		t.Fatal(err)
	}
	// Another client of the same cache (a second run) gets the first
	// reply back, latency and attempts included, and sends nothing.
	again := New(RoleWriter, Endpoint{BaseURL: srv.URL + "/v1", Model: "m", Cache: cache})
	second, err := again.Chat(t.Context(), ask("q1"))
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Fatalf("server saw %d calls, want 1", calls.Load())
	}
	if !second.Cached || first.Cached {
		t.Errorf("cached flags: first %v, second %v", first.Cached, second.Cached)
	}
	if second.Message.Content != first.Message.Content || second.Latency.Milliseconds() != first.Latency.Milliseconds() ||
		second.Attempts != first.Attempts || second.Usage != first.Usage {
		t.Errorf("replayed reply %+v differs from the paid one %+v", second, first)
	}
	// Another question, another model, or another limit is another request.
	for _, ep := range []Endpoint{{Model: "m"}, {Model: "m2"}, {Model: "m", MaxTokens: 7}} {
		ep.BaseURL, ep.Cache = srv.URL+"/v1", cache
		q := "q1"
		if ep.Model == "m" && ep.MaxTokens == 0 {
			q = "q2"
		}
		if _, err := New(RoleWriter, ep).Chat(t.Context(), ask(q)); err != nil {
			t.Fatal(err)
		}
	}
	if calls.Load() != 4 || cache.Hits() != 1 || cache.Stores() != 4 {
		t.Errorf("calls %d hits %d stores %d, want 4, 1, 4", calls.Load(), cache.Hits(), cache.Stores())
	}
}

func TestCacheKeyLeavesOutTransport(t *testing.T) {
	plain := ask("q")
	streamed := ask("q")
	streamed.Stream = true
	streamed.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	seeded := ask("q")
	seed := 3
	seeded.Seed = &seed
	k1, _ := CacheKey(plain)
	k2, _ := CacheKey(streamed)
	k3, _ := CacheKey(seeded)
	if k1 != k2 {
		t.Error("streaming changed the cache key")
	}
	if k1 == k3 {
		t.Error("a seed did not change the cache key")
	}
}

func TestCacheReplayMissNamesTheRequest(t *testing.T) {
	var calls atomic.Int32
	srv := sampler(t, &calls)
	store := &memStore{m: map[string][]byte{}}
	// A torn entry for the request is a miss, not a reply.
	key, _ := CacheKey(Endpoint{Model: "m", MaxTokens: 0}.shape(func() openai.ChatCompletionRequest { r := ask("Which river?"); r.Model = "m"; return r }()))
	store.m[entryKey(key)] = []byte(`{"v":1,"message":`)
	cache := NewCache(CacheReplay, store)
	var heard []error
	stop := cache.OnMiss(func(err error) { heard = append(heard, err) })
	defer stop()
	c := New(RoleVerifier, Endpoint{BaseURL: srv.URL + "/v1", Model: "m", Cache: cache})
	_, err := c.Chat(t.Context(), ask("Which river?"))
	if !errors.Is(err, ErrCacheMiss) {
		t.Fatalf("err = %v, want a cache miss", err)
	}
	for _, want := range []string{"verifier", key, "Which river?", "read-write"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("miss %q does not say %q", err, want)
		}
	}
	if calls.Load() != 0 {
		t.Errorf("replay called the server %d time(s)", calls.Load())
	}
	if len(heard) != 1 || !errors.Is(cache.FirstMiss(), ErrCacheMiss) {
		t.Errorf("hook heard %v, first miss %v", heard, cache.FirstMiss())
	}
}
