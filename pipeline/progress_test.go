package pipeline

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
)

// TestProgressNamesTheSlowestCall is the line a user sees while a stage
// waits on a slow model: no item done yet, so no ETA to climb, and the call
// it waits for by role, model and age.
func TestProgressNamesTheSlowestCall(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`))
	}))
	defer srv.Close()
	defer close(release)
	watch := llm.NewWatch()
	c := llm.New(llm.RoleVerifier, llm.Endpoint{BaseURL: srv.URL + "/v1", Model: "tiny-verifier", Watch: watch})
	go c.Chat(context.Background(), openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "q"}}})
	<-arrived

	var out bytes.Buffer
	p := &progress{w: &out, stage: "generate", total: 8, calls: watch, start: time.Now()}
	p.print(false)
	line := out.String()
	for _, want := range []string{"0/8", "ETA unknown until an item is done", "1 LLM call(s) in flight, slowest: verifier (tiny-verifier) for "} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q does not say %q", line, want)
		}
	}
	if !regexp.MustCompile(`for \d+(\.\d+)?(ms|s)`).MatchString(line) {
		t.Errorf("progress line %q gives no age for the call", line)
	}

	out.Reset()
	p.print(true)
	if strings.Contains(out.String(), "in flight") {
		t.Errorf("final line %q still speaks of calls in flight", out.String())
	}
}
