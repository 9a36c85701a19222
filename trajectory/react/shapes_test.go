package react

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/internal/tooltest"
	"github.com/miroverse/miroverse/trajectory/toolset"
)

// finalAnswerBody answers every request after the fixture: a plain reply
// with a boxed answer, which ends the loop and serves as the summary.
const finalAnswerBody = `{"id":"x","object":"chat.completion","created":1,"model":"m",
"choices":[{"index":0,"message":{"role":"assistant","content":"Done: \\boxed{Analytical Engine}"},"finish_reason":"stop"}],
"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`

// fixtureServer answers the first request with a real-model response body
// from internal/llm/testdata/shapes and every later one with finalAnswerBody.
func fixtureServer(t *testing.T, fixture string) *httptest.Server {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "..", "internal", "llm", "testdata", "shapes", fixture))
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first := n.Add(1) == 1
		switch {
		case first && strings.HasSuffix(fixture, ".sse"):
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write(body)
		case first:
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		case r.Header.Get("Accept") == "text/event-stream":
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte("data: " + strings.ReplaceAll(strings.ReplaceAll(finalAnswerBody, "\n", ""), `"message"`, `"delta"`) + "\n\ndata: [DONE]\n\n"))
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(finalAnswerBody))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The stored trajectory of a rollout keeps what a real model sent: its
// reasoning in reasoning_content, its text exactly, and every call it made,
// each answered by a tool message in order.
func TestAgentKeepsRealModelShapes(t *testing.T) {
	tests := []struct {
		fixture       string
		stream        bool
		wantContent   *string
		wantReasoning string
		wantCalls     []string // tool names in order
		wantResults   []string // prefix of each tool message
	}{
		{
			fixture:       "think_in_content.json",
			wantContent:   trajectory.Text("Let me look up the observatory."),
			wantReasoning: "The question wants the year the observatory opened. I should search for the observatory first, then read its page.",
			wantCalls:     []string{"google_search"},
			wantResults:   []string{`{"organic":`},
		},
		{
			fixture:       "vllm_reasoning.json",
			wantReasoning: "Need the mayor's birth year. Search with the town name and mayor.",
			wantCalls:     []string{"google_search"},
			wantResults:   []string{`{"organic":`},
		},
		{
			fixture:       "text_tool_call.json",
			wantContent:   trajectory.Text("Searching for the composer of the opera."),
			wantReasoning: "I should find the composer first.",
			wantCalls:     []string{"google_search"},
			wantResults:   []string{`{"organic":`},
		},
		{
			fixture:     "several_calls.json",
			wantCalls:   []string{"google_search", "google_search"},
			wantResults: []string{`{"organic":`, `{"organic":`},
		},
		{
			// An empty content beside tool calls is stored as none.
			fixture:     "invalid_arguments.json",
			wantCalls:   []string{"google_search"},
			wantResults: []string{trajectory.ToolErrorPrefix + " invalid arguments for google_search"},
		},
		{
			fixture:       "stream_tool_calls.sse",
			stream:        true,
			wantContent:   trajectory.Text("Searching for both."),
			wantReasoning: "Two facts are needed: the year and the architect.",
			wantCalls:     []string{"google_search", "google_search"},
			wantResults:   []string{`{"organic":`, `{"organic":`},
		},
	}
	for _, tc := range tests {
		t.Run(strings.TrimSuffix(tc.fixture, filepath.Ext(tc.fixture)), func(t *testing.T) {
			srv := fixtureServer(t, tc.fixture)
			client := llm.New(llm.RoleAgent, llm.Endpoint{BaseURL: srv.URL + "/v1", Model: "m", Stream: tc.stream})
			agent := &Agent{LLM: client, Tools: toolset.New(tooltest.NewCorpus(), nil), Policy: keepEmptySearches()}
			ro, err := agent.Run(context.Background(), trajectory.Task{QAID: "q", Question: "Which engine?"}, 7)
			if err != nil {
				t.Fatal(err)
			}
			if ro.Status != trajectory.StatusAnswered || ro.Answer != "Analytical Engine" {
				t.Fatalf("status %s answer %q (%s)", ro.Status, ro.Answer, ro.FailReason)
			}
			first := ro.Messages[2]
			if first.Role != "assistant" {
				t.Fatalf("message 2 is %s", first.Role)
			}
			switch {
			case tc.wantContent == nil && first.Content != nil:
				t.Errorf("content = %q, want none (a reply of tool calls only)", *first.Content)
			case tc.wantContent != nil && (first.Content == nil || *first.Content != *tc.wantContent):
				t.Errorf("content = %v, want %q", text(first), *tc.wantContent)
			}
			gotReasoning := ""
			if first.ReasoningContent != nil {
				gotReasoning = *first.ReasoningContent
			}
			if gotReasoning != tc.wantReasoning {
				t.Errorf("reasoning_content = %q, want %q", gotReasoning, tc.wantReasoning)
			}
			if len(first.ToolCalls) != len(tc.wantCalls) {
				t.Fatalf("tool calls = %+v, want %v", first.ToolCalls, tc.wantCalls)
			}
			for i, c := range first.ToolCalls {
				if c.Function.Name != tc.wantCalls[i] || c.ID == "" {
					t.Errorf("call %d = %+v", i, c)
				}
				res := ro.Messages[3+i]
				if res.Role != "tool" || res.ToolCallID == nil || *res.ToolCallID != c.ID {
					t.Fatalf("message %d does not answer call %s: %+v", 3+i, c.ID, res)
				}
				if !strings.HasPrefix(text(res), tc.wantResults[i]) {
					t.Errorf("result %d = %.120q, want prefix %q", i, text(res), tc.wantResults[i])
				}
			}
			if ro.NumToolCalls != len(tc.wantCalls) || ro.Rollbacks != 0 {
				t.Errorf("tool calls %d rollbacks %d", ro.NumToolCalls, ro.Rollbacks)
			}
		})
	}
}

// keepEmptySearches is the default policy with empty search results kept:
// the fixtures' queries find nothing in the test corpus, and what is tested
// here is how each shape is stored, not the rollback of an empty search.
func keepEmptySearches() Policy {
	p := DefaultPolicy()
	p.EmptySearch = EmptySearchKeep
	return p
}
