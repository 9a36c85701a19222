package llm

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

const okBody = `{"id":"x","object":"chat.completion","created":0,"model":"m",
"choices":[{"index":0,"message":{"role":"assistant","content":"<think>plan</think>\nanswer"},"finish_reason":"stop"}],
"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`

// flaky answers with the given statuses in turn, then succeeds.
func flaky(t *testing.T, statuses []int, calls *atomic.Int32, seen *http.Header) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1)) - 1
		if seen != nil {
			*seen = r.Header.Clone()
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if n < len(statuses) {
			w.WriteHeader(statuses[n])
			w.Write([]byte(`{"error":{"message":"injected","type":"x"}}`))
			return
		}
		w.Write([]byte(okBody))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestChatRetries(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []int
		wantErr   bool
		wantCalls int32
	}{
		{"ok at once", nil, false, 1},
		{"429 then ok", []int{429}, false, 2},
		{"5xx then ok", []int{500, 502, 503}, false, 4},
		{"408 409 425 retried", []int{408, 409, 425}, false, 4},
		{"400 not retried", []int{400}, true, 1},
		{"401 not retried", []int{401}, true, 1},
		{"404 not retried", []int{404}, true, 1},
		{"gives up after max retries", []int{502, 504, 502, 504, 502}, true, 4},
		// The same server error twice is a fault, not a passing state.
		{"the same 500 twice is not retried again", []int{500, 500, 500, 500, 500}, true, 2},
		{"a 500 after another status is retried", []int{500, 504, 500}, false, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := flaky(t, tc.statuses, &calls, nil)
			c := New(RoleAgent, Endpoint{BaseURL: srv.URL + "/v1", Model: "m", MaxRetries: 3, BackoffBase: time.Millisecond, BackoffCap: 5 * time.Millisecond})
			rep, err := c.Chat(context.Background(), openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("calls = %d, want %d", got, tc.wantCalls)
			}
			if err != nil && AttemptsOf(err) != int(tc.wantCalls) {
				t.Errorf("a failed call reports %d attempts, made %d", AttemptsOf(err), tc.wantCalls)
			}
			if err == nil && (rep.Attempts != int(tc.wantCalls) || rep.Usage.TotalTokens != 5) {
				t.Errorf("reply %+v", rep)
			}
		})
	}
}

func TestChatSendsRoleAndNeverLeaksKey(t *testing.T) {
	var calls atomic.Int32
	var seen http.Header
	srv := flaky(t, []int{400}, &calls, &seen)
	const key = "sk-secret-value-123"
	c := New(RoleWriter, Endpoint{BaseURL: srv.URL + "/v1", Model: "m", APIKey: key})
	_, err := c.Chat(context.Background(), openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}})
	if err == nil {
		t.Fatal("want error")
	}
	if strings.Contains(err.Error(), key) {
		t.Errorf("error leaks the key: %v", err)
	}
	if seen.Get(RoleHeader) != RoleWriter || seen.Get("Authorization") != "Bearer "+key {
		t.Errorf("headers %v", seen)
	}
}

func TestSplitThink(t *testing.T) {
	tests := []struct{ content, reasoning, wantContent, wantReasoning string }{
		{"<think>a plan</think>\nthe answer", "", "the answer", "a plan"},
		{"no think here", "", "no think here", ""},
		{"<think>unclosed", "", "<think>unclosed", ""},
		{"<think>x</think>y", "server said", "y", "server said\nx"},
		{"text <think>late</think>", "", "text <think>late</think>", ""},
	}
	for _, tc := range tests {
		m := openai.ChatCompletionMessage{Content: tc.content, ReasoningContent: tc.reasoning}
		SplitThink(&m)
		if m.Content != tc.wantContent || m.ReasoningContent != tc.wantReasoning {
			t.Errorf("SplitThink(%q) = %q / %q", tc.content, m.Content, m.ReasoningContent)
		}
	}
}

func TestRetryHonoursContext(t *testing.T) {
	var calls atomic.Int32
	srv := flaky(t, []int{503, 503, 503, 503, 503, 503}, &calls, nil)
	c := New(RoleAgent, Endpoint{BaseURL: srv.URL + "/v1", Model: "m", MaxRetries: 5, BackoffBase: time.Hour, BackoffCap: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Chat(ctx, openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}}); err == nil {
		t.Fatal("want error after cancellation")
	}
	if calls.Load() > 2 {
		t.Errorf("kept calling after cancellation: %d", calls.Load())
	}
}
