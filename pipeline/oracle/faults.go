package oracle

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
)

// FaultKind is one way the fault layer answers a chat request badly, as a
// flaky endpoint or the proxy in front of it would.
type FaultKind string

// The fault kinds. Each is a failure the client must retry.
const (
	// FaultRateLimitRetryAfter is HTTP 429 with a Retry-After of one second,
	// as delay-seconds or as an HTTP-date (chosen by the request's hash).
	FaultRateLimitRetryAfter FaultKind = "429-retry-after"
	// FaultRateLimit is HTTP 429 without Retry-After.
	FaultRateLimit FaultKind = "429"
	// FaultServerError is HTTP 500 with an OpenAI-shaped error body.
	FaultServerError FaultKind = "500"
	// FaultBadGateway is HTTP 502 with an HTML body, as a proxy sends it.
	FaultBadGateway FaultKind = "502"
	// FaultUnavailable is HTTP 503 (overloaded) without Retry-After.
	FaultUnavailable FaultKind = "503"
	// FaultReset reads the request, then closes the connection with a TCP
	// reset (SO_LINGER 0) instead of answering.
	FaultReset FaultKind = "reset"
	// FaultTimeout holds the request without answering until the client
	// gives up (its read timeout) or Faults.Hang has passed, then closes the
	// connection.
	FaultTimeout FaultKind = "timeout"
	// FaultTruncated answers 200 with the real reply's JSON cut in half (the
	// Content-Length matches the cut body, so only the JSON is broken).
	FaultTruncated FaultKind = "truncated"
	// FaultEmptyChoices answers 200 with a well-formed completion whose
	// "choices" is [].
	FaultEmptyChoices FaultKind = "empty-choices"
)

// FaultKinds lists every fault kind.
func FaultKinds() []FaultKind {
	return []FaultKind{
		FaultRateLimitRetryAfter, FaultRateLimit, FaultServerError, FaultBadGateway, FaultUnavailable,
		FaultReset, FaultTimeout, FaultTruncated, FaultEmptyChoices,
	}
}

// FaultKindNames is the list of kinds for help texts: "429-retry-after, 429, ...".
func FaultKindNames() string {
	var names []string
	for _, k := range FaultKinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// ParseFaultKinds reads a comma-separated list of kinds; "" and "all" mean
// every kind.
func ParseFaultKinds(s string) ([]FaultKind, error) {
	var out []FaultKind
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		if f == "all" {
			return FaultKinds(), nil
		}
		if !slices.Contains(FaultKinds(), FaultKind(f)) {
			return nil, fmt.Errorf("unknown fault kind %q (kinds: %s)", f, FaultKindNames())
		}
		out = append(out, FaultKind(f))
	}
	if len(out) == 0 {
		return FaultKinds(), nil
	}
	return out, nil
}

// Defaults of Faults.
const (
	// DefaultMaxStreak is how many faults in a row one request can meet.
	// The pipeline's clients retry 6 times by default, so 3 leaves room.
	DefaultMaxStreak = 3
	// DefaultFaultHang is how long a timeout fault holds a request whose
	// client has not given up by then.
	DefaultFaultHang = 10 * time.Second
)

// maxStreakLimit bounds MaxStreak so that a streak fits the table's byte.
const maxStreakLimit = 100

// retryAfterSeconds is what 429-retry-after faults ask for: long enough to
// tell an honoured Retry-After from the client's own backoff, short enough
// for tests.
const retryAfterSeconds = 1

// Faults makes the oracle a flaky endpoint: a fraction of chat requests is
// answered with an HTTP error, a broken body or no answer at all.
//
// Every request still gets its real answer eventually. The layer counts the
// faults per request (the hash of role header and body, which holds the
// seed, so a retry is the same request) and never injects more than
// MaxStreak of them for one request: after at most MaxStreak faults in a
// row, that request is answered, and once answered it is never faulted
// again. A client that retries at least MaxStreak times therefore always
// gets through, and since the oracle's answers are a function of the
// request, it gets exactly the answer a fault-free run gets: a pipeline run
// with faults ends with the rows of a run without.
//
// Which requests fail, and how, is drawn from Seed and the request's hash
// and fault count, not from arrival order, so the same requests meet the
// same faults on every run whatever the concurrency. The per-request counts
// live in a bounded table (the most recent ~64k faulted requests); a request
// forgotten by it could meet up to MaxStreak faults again.
type Faults struct {
	// Rate is the fraction of requests faulted, 0 to 1; 0 turns the layer off.
	Rate float64
	// Kinds are the faults drawn from, uniformly; empty means all.
	Kinds []FaultKind
	// MaxStreak caps the faults one request meets (0: DefaultMaxStreak).
	MaxStreak int
	// Hang caps how long a timeout fault holds a request (0: DefaultFaultHang).
	Hang time.Duration
	// Seed makes the choice of faulted requests reproducible.
	Seed int64
	// Log, if set, gets a debug line per injected fault (role and kind,
	// never the request).
	Log *slog.Logger
}

// Validate checks the values a flag or config key can get wrong.
func (f Faults) Validate() error {
	var errs []error
	if f.Rate < 0 || f.Rate > 1 {
		errs = append(errs, fmt.Errorf("fault rate %v: want a fraction between 0 and 1", f.Rate))
	}
	if f.MaxStreak < 0 || f.MaxStreak > maxStreakLimit {
		errs = append(errs, fmt.Errorf("fault max streak %d: want 0 to %d", f.MaxStreak, maxStreakLimit))
	}
	if f.Hang < 0 {
		errs = append(errs, fmt.Errorf("fault hang %v: want a duration >= 0", f.Hang))
	}
	for _, k := range f.Kinds {
		if !slices.Contains(FaultKinds(), k) {
			errs = append(errs, fmt.Errorf("unknown fault kind %q (kinds: %s)", k, FaultKindNames()))
		}
	}
	return errors.Join(errs...)
}

// faultLayer wraps the oracle's handler with injected faults.
type faultLayer struct {
	next  http.Handler
	f     Faults
	kinds []FaultKind
	model string

	counts map[FaultKind]*atomic.Int64 // fixed keys: read without a lock

	mu         sync.Mutex
	cur, prev  map[[32]byte]uint8 // request hash → faults so far, or streakDone
	generation int                // entries per table before it is rotated
}

// streakDone marks a request that has been answered after a fault: it is
// never faulted again.
const streakDone = 255

// streakGeneration is the size at which the current table becomes the
// previous one and a new one starts, so at most twice this many requests are
// remembered.
const streakGeneration = 1 << 15

func newFaultLayer(next http.Handler, f Faults, model string) *faultLayer {
	if f.MaxStreak == 0 {
		f.MaxStreak = DefaultMaxStreak
	}
	if f.Hang == 0 {
		f.Hang = DefaultFaultHang
	}
	kinds := f.Kinds
	if len(kinds) == 0 {
		kinds = FaultKinds()
	}
	counts := map[FaultKind]*atomic.Int64{}
	for _, k := range FaultKinds() {
		counts[k] = &atomic.Int64{}
	}
	return &faultLayer{
		next: next, f: f, kinds: kinds, model: model, counts: counts,
		cur: map[[32]byte]uint8{}, prev: map[[32]byte]uint8{}, generation: streakGeneration,
	}
}

func (l *faultLayer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		l.next.ServeHTTP(w, r)
		return
	}
	// The body is read here to name the request; the handler reads it again
	// from memory.
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	role := r.Header.Get(llm.RoleHeader)
	h := sha256.New()
	h.Write([]byte(role))
	h.Write([]byte{0})
	h.Write(body)
	var key [32]byte
	h.Sum(key[:0])

	kind, n, draw, fault := l.decide(key)
	if !fault {
		l.next.ServeHTTP(w, r)
		return
	}
	l.counts[kind].Add(1)
	if l.f.Log != nil {
		l.f.Log.Debug("oracle injected fault", "kind", string(kind), "role", role, "in_a_row", n)
	}
	l.inject(kind, draw, w, r)
}

// decide says whether the request named key gets a fault, which one, and
// how many faults in a row it has met with this one.
func (l *faultLayer) decide(key [32]byte) (kind FaultKind, n int, draw uint64, fault bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen, known := l.cur[key]
	if !known {
		seen, known = l.prev[key]
	}
	if seen == streakDone {
		return "", 0, 0, false
	}
	if int(seen) >= l.f.MaxStreak {
		l.remember(key, streakDone)
		return "", 0, 0, false
	}
	draw = mix(uint64(l.f.Seed)^binary.LittleEndian.Uint64(key[8:16]), binary.LittleEndian.Uint64(key[:8]), uint64(seen))
	if float64(draw>>11)/(1<<53) >= l.f.Rate {
		if known {
			l.remember(key, streakDone)
		}
		return "", 0, 0, false
	}
	l.remember(key, seen+1)
	pick := mix(draw, 0x6b696e64, 0) // "kind": a second, independent draw
	return l.kinds[pick%uint64(len(l.kinds))], int(seen) + 1, draw, true
}

// remember records a request's count, rotating the tables when full.
func (l *faultLayer) remember(key [32]byte, v uint8) {
	l.cur[key] = v
	if len(l.cur) >= l.generation {
		l.prev, l.cur = l.cur, map[[32]byte]uint8{}
	}
}

// mix is SplitMix64 over three words: a cheap, well-spread hash.
func mix(a, b, c uint64) uint64 {
	z := a ^ (b * 0x9e3779b97f4a7c15) ^ (c * 0xbf58476d1ce4e5b9)
	for range 2 {
		z += 0x9e3779b97f4a7c15
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		z ^= z >> 31
	}
	return z
}

func (l *faultLayer) inject(kind FaultKind, draw uint64, w http.ResponseWriter, r *http.Request) {
	switch kind {
	case FaultRateLimitRetryAfter:
		if draw&(1<<7) == 0 {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		} else {
			// An HTTP-date has whole seconds: one more second keeps the
			// wait at least retryAfterSeconds after truncation.
			at := time.Now().Add((retryAfterSeconds + 1) * time.Second)
			w.Header().Set("Retry-After", at.UTC().Format(http.TimeFormat))
		}
		writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "injected fault: rate limit reached, retry later")
	case FaultRateLimit:
		writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "injected fault: rate limit reached")
	case FaultServerError:
		// Each transient 500 names its own request, as hosted APIs' do;
		// the client takes one repeated word for word for a fault of the
		// request itself and stops retrying it.
		writeError(w, http.StatusInternalServerError, "server_error",
			fmt.Sprintf("injected fault: the server had an error while processing request req_%016x", draw))
	case FaultBadGateway:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>\n"))
	case FaultUnavailable:
		writeError(w, http.StatusServiceUnavailable, "server_overloaded", "injected fault: the server is overloaded")
	case FaultReset:
		cut(w, true)
	case FaultTimeout:
		t := time.NewTimer(l.f.Hang)
		defer t.Stop()
		select {
		case <-r.Context().Done(): // the client gave up, or the server is closing
		case <-t.C:
		}
		cut(w, false)
	case FaultTruncated:
		rec := &recorder{header: http.Header{}}
		l.next.ServeHTTP(rec, r)
		if rec.status == 0 {
			return // the handler saw the client leave and wrote nothing
		}
		body := rec.body.Bytes()
		if rec.status == http.StatusOK {
			body = body[:len(body)/2]
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.status)
		_, _ = w.Write(body)
	case FaultEmptyChoices:
		writeJSON(w, http.StatusOK, openai.ChatCompletionResponse{
			ID: "chatcmpl-oracle-fault", Object: "chat.completion", Model: l.model,
			Choices: []openai.ChatCompletionChoice{},
		})
	}
}

// cut drops the connection without an answer; with reset, as a TCP reset
// rather than an orderly close.
func cut(w http.ResponseWriter, reset bool) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// Not HTTP/1 (the oracle serves only HTTP/1, but a wrapper may
		// hide it): net/http aborts the response on this panic.
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok && reset {
		_ = tcp.SetLinger(0) // close sends RST instead of FIN
	}
	_ = conn.Close()
}

// recorder keeps a handler's reply so that it can be cut before sending.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// FaultCounts reports how many faults of each kind the server has injected.
func (s *Server) FaultCounts() map[FaultKind]int64 {
	out := map[FaultKind]int64{}
	if s.faults == nil {
		return out
	}
	for k, c := range s.faults.counts {
		if n := c.Load(); n > 0 {
			out[k] = n
		}
	}
	return out
}
