package llm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Cache modes.
const (
	CacheOff       = "off"
	CacheReadWrite = "read-write" // answer from the cache, call and store on a miss
	CacheReplay    = "replay"     // answer from the cache only; a miss fails the run
)

// CacheStore holds cached replies by key, as a directory or a bucket does.
// Get returns found false, and no error, for a key it does not hold. Put
// must make an entry visible whole or not at all, since runs and shards
// sharing the store read while others write.
type CacheStore interface {
	Get(ctx context.Context, key string) (entry []byte, found bool, err error)
	Put(ctx context.Context, key string, entry []byte) error
}

// Cache is a content-addressed store of replies: the key of a request is
// the hash of its body as sent (model included) without the fields that
// only say how the reply travels (stream, stream_options). Clients of one
// run share it. A sampling model's replies then come back the same on a
// second run, and a run resumed after a crash does not pay again for the
// calls it had made.
type Cache struct {
	mode  string
	store CacheStore

	hits, stores atomic.Int64
	mu           sync.Mutex
	firstMiss    error
	onMiss       map[int]func(error)
	nextHook     int
}

// NewCache returns a cache in mode (CacheReadWrite or CacheReplay) over
// store.
func NewCache(mode string, store CacheStore) *Cache {
	return &Cache{mode: mode, store: store, onMiss: map[int]func(error){}}
}

// ErrCacheMiss is the error of a replayed call whose request is not in the
// cache.
var ErrCacheMiss = errors.New("no cached reply")

// CacheMissError says which request missed.
type CacheMissError struct {
	Role, Model, Key string
	// Asks is the start of the request's last user message, for a person
	// to recognise it.
	Asks string
}

func (e *CacheMissError) Error() string {
	return fmt.Sprintf("llm.cache replay: %v for the %s request %s (model %s, asking %q): the cache holds no run of this config; run it once with llm.cache: read-write",
		ErrCacheMiss, e.Role, e.Key, e.Model, e.Asks)
}

func (e *CacheMissError) Unwrap() error { return ErrCacheMiss }

// OnMiss registers f to hear of every replay miss (a run cancels its stage
// with it); the returned function unregisters it.
func (c *Cache) OnMiss(f func(error)) (stop func()) {
	if c == nil {
		return func() {}
	}
	c.mu.Lock()
	id := c.nextHook
	c.nextHook++
	c.onMiss[id] = f
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.onMiss, id)
		c.mu.Unlock()
	}
}

// FirstMiss is the first replay miss of the cache's life, nil if none.
func (c *Cache) FirstMiss() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.firstMiss
}

// Hits and Stores count the replies answered from the cache and stored in it.
func (c *Cache) Hits() int64   { return c.hits.Load() }
func (c *Cache) Stores() int64 { return c.stores.Load() }

// cachedReply is a stored entry: the reply as the call returned it, latency
// and attempts included, so rows replayed from it are the rows of the run
// that paid for it.
type cachedReply struct {
	Version        int                          `json:"v"`
	Model          string                       `json:"model"`
	Message        openai.ChatCompletionMessage `json:"message"`
	FinishReason   string                       `json:"finish_reason"`
	Usage          openai.Usage                 `json:"usage"`
	UsageEstimated bool                         `json:"usage_estimated,omitempty"`
	LatencyMillis  int64                        `json:"latency_ms"`
	Attempts       int                          `json:"attempts"`
}

const cacheVersion = 1

// CacheKey is the key of a request: the SHA-256 of its JSON body with the
// transport-only fields cleared. req must be shaped as it will be sent.
func CacheKey(req openai.ChatCompletionRequest) (string, error) {
	req.Stream, req.StreamOptions = false, nil
	b, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("hash request for the cache: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// entryKey spreads entries over 256 directories, as git does objects.
func entryKey(key string) string { return key[:2] + "/" + key + ".json" }

// lookup answers req from the cache: found with the stored reply, or a
// CacheMissError in replay mode.
func (c *Cache) lookup(ctx context.Context, role, key string, req openai.ChatCompletionRequest) (Reply, bool, error) {
	b, found, err := c.store.Get(ctx, entryKey(key))
	if err != nil {
		return Reply{}, false, fmt.Errorf("read cached reply %s: %w", key, err)
	}
	if found {
		var e cachedReply
		if err := json.Unmarshal(b, &e); err != nil || e.Version != cacheVersion {
			found = false // a torn or older entry is a miss, and is rewritten
		} else {
			c.hits.Add(1)
			return Reply{Message: e.Message, FinishReason: e.FinishReason, Usage: e.Usage, UsageEstimated: e.UsageEstimated,
				Latency: time.Duration(e.LatencyMillis) * time.Millisecond, Attempts: e.Attempts, Cached: true}, true, nil
		}
	}
	if c.mode != CacheReplay {
		return Reply{}, false, nil
	}
	miss := &CacheMissError{Role: role, Model: req.Model, Key: key, Asks: lastUserText(req, 120)}
	c.mu.Lock()
	if c.firstMiss == nil {
		c.firstMiss = miss
	}
	first := c.firstMiss
	hooks := make([]func(error), 0, len(c.onMiss))
	for _, f := range c.onMiss {
		hooks = append(hooks, f)
	}
	c.mu.Unlock()
	for _, f := range hooks {
		f(first)
	}
	return Reply{}, false, miss
}

// put keeps a reply of req under key.
func (c *Cache) put(ctx context.Context, key string, req openai.ChatCompletionRequest, r Reply) error {
	b, err := json.Marshal(cachedReply{Version: cacheVersion, Model: req.Model, Message: r.Message, FinishReason: r.FinishReason,
		Usage: r.Usage, UsageEstimated: r.UsageEstimated, LatencyMillis: r.Latency.Milliseconds(), Attempts: r.Attempts})
	if err != nil {
		return fmt.Errorf("encode cached reply: %w", err)
	}
	if err := c.store.Put(ctx, entryKey(key), b); err != nil {
		return fmt.Errorf("store cached reply %s: %w", key, err)
	}
	c.stores.Add(1)
	return nil
}

func lastUserText(req openai.ChatCompletionRequest, n int) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if m := req.Messages[i]; m.Role == openai.ChatMessageRoleUser {
			return clipText(m.Content, n)
		}
	}
	return ""
}
