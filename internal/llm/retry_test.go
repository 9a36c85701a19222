package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

const retryOKBody = `{"id":"x","object":"chat.completion","created":0,"model":"m",
"choices":[{"index":0,"message":{"role":"assistant","content":"fine"},"finish_reason":"stop"}],
"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`

// scripted answers the i-th request with script[i] (the last one repeats)
// and records when each request arrived.
type scripted struct {
	mu       sync.Mutex
	arrivals []time.Time
	auth     []string
}

func (s *scripted) serve(t *testing.T, script ...func(w http.ResponseWriter, r *http.Request)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		n := len(s.arrivals)
		s.arrivals = append(s.arrivals, time.Now())
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.mu.Unlock()
		script[min(n, len(script)-1)](w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func status(code int, header ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"error":{"message":"scripted","type":"x"}}`))
	}
}

func okReply(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(retryOKBody))
}

func hi() openai.ChatCompletionRequest {
	return openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Time
		wantOK bool
	}{
		{"3", now.Add(3 * time.Second), true},
		{" 0 ", now, true},
		{"Sat, 01 Mar 2025 12:00:10 GMT", now.Add(10 * time.Second), true},
		{"Saturday, 01-Mar-25 12:00:10 GMT", now.Add(10 * time.Second), true}, // RFC 850, still allowed
		{"99999999999", now.Add(24 * time.Hour), true},
		{"-1", time.Time{}, false},
		{"soon", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tc := range tests {
		got, ok := parseRetryAfter(tc.in, now)
		if ok != tc.wantOK || !got.Equal(tc.want) {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestRetryWaitHonoursRetryAfterUpToCap(t *testing.T) {
	c := New(RoleAgent, Endpoint{BaseURL: "http://x/v1", BackoffBase: time.Millisecond, BackoffCap: time.Hour})
	if w := c.retryWait(1, time.Now().Add(10*time.Minute)); w < 5*time.Minute || w > 10*time.Minute {
		t.Errorf("wait %v for a Retry-After of 10m", w)
	}
	if w := c.retryWait(1, time.Time{}); w > time.Millisecond {
		t.Errorf("wait %v without Retry-After, want the backoff (<= 1ms)", w)
	}
	if w := c.retryWait(1, time.Now().Add(-time.Minute)); w > time.Millisecond {
		t.Errorf("wait %v for a Retry-After in the past", w)
	}
	capped := New(RoleAgent, Endpoint{BaseURL: "http://x/v1", BackoffBase: time.Millisecond, BackoffCap: 20 * time.Millisecond})
	if w := capped.retryWait(1, time.Now().Add(time.Hour)); w != 20*time.Millisecond {
		t.Errorf("wait %v, want BackoffCap 20ms", w)
	}
}

// TestTransportCapturesRetryAfter: the round tripper hands a 429's or 503's
// Retry-After to the holder in the request context, and ignores it on
// other statuses.
func TestTransportCapturesRetryAfter(t *testing.T) {
	date := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		name    string
		reply   func(http.ResponseWriter, *http.Request)
		atLeast time.Duration // zero: nothing captured
	}{
		{"429 seconds", status(429, "Retry-After", "120"), 110 * time.Second},
		{"503 http-date", status(503, "Retry-After", date), 50 * time.Minute},
		{"429 without header", status(429), 0},
		{"500 ignored", status(500, "Retry-After", "120"), 0},
		{"200 ignored", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "120")
			okReply(w, r)
		}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s scripted
			srv := s.serve(t, tc.reply)
			h := &retryHint{}
			req, err := http.NewRequestWithContext(withRetryHint(context.Background(), h), http.MethodPost, srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := roleTransport{role: RoleAgent, next: newTransport()}.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			at := h.get()
			switch {
			case tc.atLeast == 0 && !at.IsZero():
				t.Errorf("captured %v, want nothing", at)
			case tc.atLeast > 0 && time.Until(at) < tc.atLeast:
				t.Errorf("captured %v, want at least %v from now", at, tc.atLeast)
			}
		})
	}
}

// TestChatWaitsForRetryAfter: a 429 asking for one second makes the client
// wait at least that long although its own backoff is a millisecond. Only a
// lower bound is checked: a slow machine can only make the gap longer.
func TestChatWaitsForRetryAfter(t *testing.T) {
	var s scripted
	srv := s.serve(t, status(429, "Retry-After", "1"), okReply)
	c := New(RoleAgent, Endpoint{BaseURL: srv.URL + "/v1", Model: "m", MaxRetries: 2, BackoffBase: time.Millisecond, BackoffCap: time.Minute})
	rep, err := c.Chat(context.Background(), hi())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Attempts != 2 {
		t.Errorf("attempts %d, want 2", rep.Attempts)
	}
	if gap := s.arrivals[1].Sub(s.arrivals[0]); gap < time.Second {
		t.Errorf("retried after %v, before the server's Retry-After of 1s", gap)
	}
}

// TestChatCapsRetryAfter: a Retry-After of an hour is cut to BackoffCap.
func TestChatCapsRetryAfter(t *testing.T) {
	var s scripted
	srv := s.serve(t, status(503, "Retry-After", "3600"), okReply)
	c := New(RoleAgent, Endpoint{BaseURL: srv.URL + "/v1", Model: "m", MaxRetries: 1, BackoffBase: time.Millisecond, BackoffCap: 10 * time.Millisecond})
	// The deadline only keeps a broken cap from hanging the test run.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := c.Chat(ctx, hi()); err != nil {
		t.Fatal(err)
	}
}

// TestChatReportsOverloadToLimiter: each 429 or 503 halves the endpoint's
// limit; a 500 does not touch it.
func TestChatReportsOverloadToLimiter(t *testing.T) {
	var s scripted
	srv := s.serve(t, status(429), status(500), status(503), okReply)
	lim := NewLimiter("test", 8, nil)
	c := New(RoleAgent, Endpoint{BaseURL: srv.URL + "/v1", Model: "m", MaxRetries: 5, BackoffBase: time.Millisecond, BackoffCap: time.Millisecond, Limiter: lim})
	if _, err := c.Chat(context.Background(), hi()); err != nil {
		t.Fatal(err)
	}
	if lim.Limit() != 2 || lim.InFlight() != 0 {
		t.Errorf("limit %d in flight %d, want 2 and 0", lim.Limit(), lim.InFlight())
	}
}

// TestChatErrorsNeverHoldTheKey: a server that echoes the Authorization
// header in its error, and a base URL with credentials in it: the client's
// error names role and endpoint but neither secret.
func TestChatErrorsNeverHoldTheKey(t *testing.T) {
	const key = "sk-live-very-secret-0123456789"
	echo := func(code int) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"error":{"message":"bad credentials %s","type":"x"}}`, r.Header.Get("Authorization"))
		}
	}
	for _, code := range []int{401, 500} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			var s scripted
			srv := s.serve(t, echo(code))
			base := strings.Replace(srv.URL, "http://", "http://user:url-password@", 1) + "/v1?api-key=query-secret"
			c := New(RoleGrader, Endpoint{BaseURL: base, Model: "m", APIKey: key, MaxRetries: 2, BackoffBase: time.Millisecond, BackoffCap: time.Millisecond})
			_, err := c.Chat(context.Background(), hi())
			if err == nil {
				t.Fatal("want an error")
			}
			msg := err.Error()
			for _, secret := range []string{key, "url-password", "query-secret"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error holds %q: %s", secret, msg)
				}
			}
			for _, want := range []string{RoleGrader, strings.TrimPrefix(srv.URL, "http://"), "[REDACTED]"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error lacks %q: %s", want, msg)
				}
			}
			if s.auth[0] != "Bearer "+key {
				t.Errorf("key not sent: %q", s.auth[0])
			}
		})
	}
}

// TestRetryableKinds: the errors a flaky endpoint produces are retried,
// requests the server rejected are not.
func TestRetryableKinds(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"429", &openai.APIError{HTTPStatusCode: 429}, true},
		{"502 html", &openai.RequestError{HTTPStatusCode: 502}, true},
		{"400", &openai.APIError{HTTPStatusCode: 400}, false},
		{"401", &openai.APIError{HTTPStatusCode: 401}, false},
		{"404 html", &openai.RequestError{HTTPStatusCode: 404}, false},
		{"422", &openai.APIError{HTTPStatusCode: 422}, false},
		{"empty choices", fmt.Errorf("x: %w", errEmptyChoices), true},
		{"cut body", fmt.Errorf("decode: %w", io.ErrUnexpectedEOF), true},
		{"closed", io.EOF, true},
		{"cancelled by caller", context.Canceled, false},
		{"plain", errors.New("something else"), false},
	}
	for _, tc := range tests {
		if got := Retryable(tc.err); got != tc.want {
			t.Errorf("%s: Retryable = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestChatTimeoutIsRetried: an attempt that outlives Endpoint.Timeout is
// cut off and tried again.
func TestChatTimeoutIsRetried(t *testing.T) {
	var s scripted
	var hung atomic.Bool
	srv := s.serve(t, func(w http.ResponseWriter, r *http.Request) {
		if hung.CompareAndSwap(false, true) {
			<-r.Context().Done() // until the client gives up
			return
		}
		okReply(w, r)
	})
	c := New(RoleAgent, Endpoint{BaseURL: srv.URL + "/v1", Model: "m", Timeout: 100 * time.Millisecond, MaxRetries: 2, BackoffBase: time.Millisecond, BackoffCap: time.Millisecond})
	rep, err := c.Chat(context.Background(), hi())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Attempts != 2 {
		t.Errorf("attempts %d, want 2", rep.Attempts)
	}
}
