package oracle

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
)

func TestRouting(t *testing.T) {
	s := startOracle(t, Config{Keys: testKeys()})
	plain := `{"model":"x","messages":[{"role":"user","content":"hello there"}]}`
	withTools, err := json.Marshal(openai.ChatCompletionRequest{
		Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "some question"}},
		Tools:    agentTools(),
	})
	if err != nil {
		t.Fatal(err)
	}
	mcpHistory := `{"messages":[{"role":"system","content":"Call tools with <use_mcp_tool> blocks."},{"role":"user","content":"q"}]}`
	known := `{"messages":[{"role":"user","content":"` + testQuestion + `"}]}`
	tests := []struct {
		name       string
		role       string
		body       string
		wantStatus int
		wantIn     string // a substring of the reply body
	}{
		{"agent by tools", "", string(withTools), 200, `"finish_reason":"tool_calls"`},
		// go-openai's message marshaller escapes "<" as \u003c.
		{"agent by MCP text", "", mcpHistory, 200, "use_mcp_tool"},
		{"agent by answer key", "", known, 200, `{\"q\": \"Marie Curie\"}`},
		{"unknown role with tools is an agent", "planner", string(withTools), 200, `"tool_calls"`},
		{"no role, no agent shape", "", plain, 400, "invalid_request_error"},
		{"unknown role, no agent shape", "planner", plain, 400, "unknown role"},
		{"closed book knows nothing", llm.RoleClosedBook, plain, 200, `\\boxed{unknown}`},
		{"malformed JSON", llm.RoleAgent, `{"messages":`, 400, "decode"},
		{"agent without a user message", llm.RoleAgent, `{"messages":[{"role":"system","content":"x"}]}`, 400, "no user message"},
		{"writer without facts", llm.RoleWriter, plain, 400, "walk facts"},
		{"extractor without sections", llm.RoleExtractor, plain, 400, "extractor's sections"},
		{"grader without sections", llm.RoleGrader, plain, 400, "grader's sections"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := postStatus(t, s, tc.role, []byte(tc.body))
			if status != tc.wantStatus || !strings.Contains(string(body), tc.wantIn) {
				t.Errorf("status %d body %s; want %d containing %q", status, body, tc.wantStatus, tc.wantIn)
			}
			if status != 200 {
				var e openai.ErrorResponse
				if err := json.Unmarshal(body, &e); err != nil || e.Error == nil || e.Error.Message == "" {
					t.Errorf("error body is not an OpenAI error: %s", body)
				}
			}
		})
	}
}

func TestResponseShape(t *testing.T) {
	s := startOracle(t, Config{Model: "oracle-test"})
	// 40 characters of input: ceil(40/4) = 10 prompt tokens.
	body := `{"messages":[{"role":"user","content":"` + strings.Repeat("x", 40) + `"}]}`
	out := post(t, s, llm.RoleClosedBook, []byte(body))
	var resp openai.ChatCompletionResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	content := `\boxed{unknown}` // 15 characters: 4 tokens
	if resp.Object != "chat.completion" || resp.Created != 0 || resp.Model != "oracle-test" ||
		!strings.HasPrefix(resp.ID, "chatcmpl-") || len(resp.Choices) != 1 {
		t.Fatalf("envelope: %s", out)
	}
	ch := resp.Choices[0]
	if ch.Index != 0 || ch.Message.Role != "assistant" || ch.Message.Content != content || ch.FinishReason != "stop" {
		t.Errorf("choice: %+v", ch)
	}
	if u := resp.Usage; u.PromptTokens != 10 || u.CompletionTokens != 4 || u.TotalTokens != 14 {
		t.Errorf("usage %+v, want 10 + 4 = 14", u)
	}
	if again := post(t, s, llm.RoleClosedBook, []byte(body)); string(again) != string(out) {
		t.Errorf("same request, different bytes:\n%s\n%s", out, again)
	}
}

func TestModels(t *testing.T) {
	s := startOracle(t, Config{})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+"/models", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var list openai.ModelsList
	if err := json.Unmarshal(b, &list); err != nil || len(list.Models) != 1 || list.Models[0].ID != DefaultModel {
		t.Errorf("models: %s (%v)", b, err)
	}
}

// TestDelayFollowsContext checks that a reply held back by Delay is abandoned
// when the caller gives up, and that Close then returns without waiting out
// the delay.
func TestDelayFollowsContext(t *testing.T) {
	s, err := Start(t.Context(), Config{Delay: time.Hour}, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err = client(s, llm.RoleClosedBook).Chat(ctx, openai.ChatCompletionRequest{
		Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "q"}},
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Chat during a long delay: %v, want the caller's deadline", err)
	}
	closeCtx, closeCancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer closeCancel()
	if err := s.Close(closeCtx); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := s.Close(closeCtx); err != nil {
		t.Errorf("second close: %v", err)
	}
}

// TestCloseCutsPendingReplies checks that Close does not hang on a reply that
// is still waiting out its delay once Close's own context ends.
func TestCloseCutsPendingReplies(t *testing.T) {
	s, err := Start(t.Context(), Config{Delay: time.Hour}, "")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan error, 1)
	go func() {
		_, err := client(s, llm.RoleClosedBook).Chat(context.Background(), openai.ChatCompletionRequest{
			Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "q"}},
		})
		started <- err
	}()
	// Give the request a chance to reach the handler; Close is correct
	// whether or not it has.
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_ = s.Close(ctx) // may report the cut-off; what matters is that it returns
	if err := <-started; err == nil {
		t.Errorf("a reply delayed by an hour came back after Close")
	}
}

// TestStartStopsWithContext checks that the end of Start's context stops the
// server and that Close afterwards is still clean.
func TestStartStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	s, err := Start(ctx, Config{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client(s, llm.RoleClosedBook).Chat(t.Context(), openai.ChatCompletionRequest{
		Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "q"}},
	}); err != nil {
		t.Fatalf("chat while running: %v", err)
	}
	cancel()
	closeCtx, closeCancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer closeCancel()
	if err := s.Close(closeCtx); err != nil {
		t.Errorf("close after the context ended: %v", err)
	}
	if _, err := client(s, llm.RoleClosedBook).Chat(t.Context(), openai.ChatCompletionRequest{
		Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "q"}},
	}); err == nil {
		t.Errorf("chat after the server stopped: no error")
	}
}

func TestStartRejectsBadAddress(t *testing.T) {
	if _, err := Start(t.Context(), Config{}, "256.0.0.1:bad"); err == nil {
		t.Errorf("Start on a bad address: no error")
	}
}

func TestKeyMapLookup(t *testing.T) {
	m := KeyMap{
		"Which river?":                {Answer: "short"},
		"Which river flows past her?": {Answer: "long"},
	}
	tests := []struct {
		msg    string
		want   string
		wantOK bool
	}{
		{"Which river?", "short", true},
		{"  Which river?\n", "short", true},
		{"Answer this.\n\nWhich river flows past her?\nUse the tools.", "long", true},
		{"Which lake?", "", false},
	}
	for _, tc := range tests {
		got, ok := m.Lookup(tc.msg)
		if ok != tc.wantOK || got.Answer != tc.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tc.msg, got.Answer, ok, tc.want, tc.wantOK)
		}
	}
}
