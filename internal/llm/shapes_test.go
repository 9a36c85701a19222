package llm

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"
)

// serveFixture answers every request with the body of one file from
// testdata/shapes: .json as a completion, .sse as an event stream.
func serveFixture(t *testing.T, name string) *httptest.Server {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "shapes", name))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(name, ".sse") {
			w.Header().Set("Content-Type", "text/event-stream")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

var offeredTools = []openai.Tool{{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: "google_search"}}}

type wantCall struct{ id, name, args string }

func TestReplyShapes(t *testing.T) {
	tests := []struct {
		fixture       string
		stream        bool
		tools         bool
		wantContent   string
		wantReasoning string
		wantCalls     []wantCall
		wantFinish    string
		wantUsage     [2]int // prompt, completion
	}{
		{
			fixture:       "think_in_content.json",
			tools:         true,
			wantContent:   "Let me look up the observatory.",
			wantReasoning: "The question wants the year the observatory opened. I should search for the observatory first, then read its page.",
			wantCalls:     []wantCall{{"chatcmpl-tool-5b0e", "google_search", `{"q": "Kallinen observatory opening year"}`}},
			wantFinish:    "tool_calls",
			wantUsage:     [2]int{1873, 78},
		},
		{
			fixture:       "think_opened_by_template.json",
			tools:         true,
			wantContent:   `The Dravna is 412 km long, so the answer is \boxed{412 km}.`,
			wantReasoning: "The template opened the thinking block, so only its end is in my output.\nI already know the river; now I need its length.",
			wantFinish:    "stop",
			wantUsage:     [2]int{5120, 60},
		},
		{
			fixture:       "reasoning_content.json",
			tools:         true,
			wantContent:   "I'll open the founder's page to confirm the date.",
			wantReasoning: "The search result names the founder. The page should state when the society was founded.",
			wantCalls: []wantCall{{"call_00_hJ2kq", "scrape_and_extract_info",
				`{"url":"https://en.wikipedia.org/wiki/Orvell_Society","info_to_extract":"founding date and founder"}`}},
			wantFinish: "tool_calls",
			wantUsage:  [2]int{2310, 96},
		},
		{
			fixture:       "vllm_reasoning.json",
			tools:         true,
			wantReasoning: "Need the mayor's birth year. Search with the town name and mayor.",
			wantCalls:     []wantCall{{"chatcmpl-tool-a41f", "google_search", `{"q": "Lindmoor mayor born", "num": 5}`}},
			wantFinish:    "tool_calls",
			wantUsage:     [2]int{1402, 59},
		},
		{
			fixture:       "text_tool_call.json",
			tools:         true,
			wantContent:   "Searching for the composer of the opera.",
			wantReasoning: "I should find the composer first.",
			wantCalls:     []wantCall{{"", "google_search", `{"q":"composer of the opera Seven Lanterns"}`}},
			wantFinish:    "stop",
			wantUsage:     [2]int{1650, 52},
		},
		{
			// Without tools in the request a <tool_call> block is text the
			// model wrote, and stays text.
			fixture:       "text_tool_call.json",
			tools:         false,
			wantContent:   "Searching for the composer of the opera.\n\n<tool_call>\n{\"name\": \"google_search\", \"arguments\": {\"q\": \"composer of the opera Seven Lanterns\"}}\n</tool_call>",
			wantReasoning: "I should find the composer first.",
			wantFinish:    "stop",
			wantUsage:     [2]int{1650, 52},
		},
		{
			fixture:     "text_several_calls.json",
			tools:       true,
			wantContent: "I will check both candidates at once.",
			wantCalls: []wantCall{
				{"", "google_search", `{"q":"Harbin Ice Bridge length"}`},
				{"", "scrape_and_extract_info", `{"url": "https://en.wikipedia.org/wiki/Songhua_River", "info_to_extract": "bridges"}`},
			},
			wantFinish: "stop",
			wantUsage:  [2]int{900, 80},
		},
		{
			fixture: "several_calls.json",
			tools:   true,
			wantCalls: []wantCall{
				{"call_kT3x9fQ1", "google_search", `{"q":"Belmonte dam completion year"}`},
				{"call_Zp0m4LwA", "google_search", `{"q":"Belmonte dam architect"}`},
			},
			wantFinish: "tool_calls",
			wantUsage:  [2]int{733, 58},
		},
		{
			// Broken arguments reach the caller as sent: the tool reports
			// them to the model, the client does not guess.
			fixture:    "invalid_arguments.json",
			tools:      true,
			wantCalls:  []wantCall{{"chatcmpl-tool-0c9d", "google_search", `{"q": "Ada Lovelace notes on the Analytical Engine`}},
			wantFinish: "tool_calls",
			wantUsage:  [2]int{610, 30},
		},
		{
			fixture:       "length.json",
			tools:         true,
			wantReasoning: "Let me reconsider the second hop. The bridge was",
			wantFinish:    "length",
			wantUsage:     [2]int{3000, 512},
		},
		{
			fixture:       "stream_tool_calls.sse",
			stream:        true,
			tools:         true,
			wantContent:   "Searching for both.",
			wantReasoning: "Two facts are needed: the year and the architect.",
			wantCalls: []wantCall{
				{"call_0_a1", "google_search", `{"q": "Belmonte dam completion year"}`},
				{"call_1_b2", "google_search", `{"q": "Belmonte dam architect"}`},
			},
			wantFinish: "tool_calls",
			wantUsage:  [2]int{812, 64},
		},
		{
			fixture:       "stream_vllm_reasoning.sse",
			stream:        true,
			tools:         true,
			wantContent:   `The society was founded in \boxed{1898}.`,
			wantReasoning: "The page gives 1898. That settles it.",
			wantFinish:    "stop",
			wantUsage:     [2]int{4021, 39},
		},
	}
	for _, tc := range tests {
		name := strings.TrimSuffix(tc.fixture, filepath.Ext(tc.fixture))
		if !tc.tools {
			name += "/no_tools"
		}
		t.Run(name, func(t *testing.T) {
			srv := serveFixture(t, tc.fixture)
			c := New(RoleAgent, Endpoint{BaseURL: srv.URL + "/v1", Model: "m", Stream: tc.stream})
			req := openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "q"}}}
			if tc.tools {
				req.Tools = offeredTools
			}
			reply, err := c.Chat(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			m := reply.Message
			if m.Content != tc.wantContent {
				t.Errorf("content = %q, want %q", m.Content, tc.wantContent)
			}
			if m.ReasoningContent != tc.wantReasoning {
				t.Errorf("reasoning = %q, want %q", m.ReasoningContent, tc.wantReasoning)
			}
			var got []wantCall
			for _, c := range m.ToolCalls {
				got = append(got, wantCall{c.ID, c.Function.Name, c.Function.Arguments})
				if c.Type != openai.ToolTypeFunction {
					t.Errorf("call type = %q", c.Type)
				}
			}
			if len(got) != len(tc.wantCalls) {
				t.Fatalf("calls = %+v, want %+v", got, tc.wantCalls)
			}
			for i := range got {
				if got[i] != tc.wantCalls[i] {
					t.Errorf("call %d = %+v, want %+v", i, got[i], tc.wantCalls[i])
				}
			}
			if reply.FinishReason != tc.wantFinish {
				t.Errorf("finish = %q, want %q", reply.FinishReason, tc.wantFinish)
			}
			if u := reply.Usage; u.PromptTokens != tc.wantUsage[0] || u.CompletionTokens != tc.wantUsage[1] {
				t.Errorf("usage = %d/%d, want %v", u.PromptTokens, u.CompletionTokens, tc.wantUsage)
			}
		})
	}
}

// A stream that stops before any finish_reason lost its connection: it is
// retried, and reported as such once the retries run out.
func TestStreamCutIsRetried(t *testing.T) {
	calls := 0
	body, err := os.ReadFile(filepath.Join("testdata", "shapes", "stream_cut.sse"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write(body)
	}))
	defer srv.Close()
	c := New(RoleAgent, Endpoint{BaseURL: srv.URL + "/v1", Model: "m", Stream: true, MaxRetries: 2, BackoffBase: 1, BackoffCap: 1})
	_, err = c.Chat(context.Background(), openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "q"}}})
	if !errors.Is(err, errStreamCut) {
		t.Fatalf("err = %v, want the cut stream", err)
	}
	// The user reading this has to learn how far the reply got and what
	// usually cuts streams, or they will chase the network.
	for _, want := range []string{"after 2 chunk(s) and 13 character(s)", "concurrent request", "interrupt_requests", "concurrency"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if got := AttemptsOf(err); got != 3 {
		t.Errorf("AttemptsOf = %d, want 3", got)
	}
	if calls != 3 {
		t.Errorf("attempts = %d, want 3 (1 + 2 retries)", calls)
	}
}

func TestExtractTextToolCallsLeavesBrokenBlocks(t *testing.T) {
	tests := []struct{ name, content string }{
		{"unclosed", "Searching.\n<tool_call>\n{\"name\": \"google_search\", \"arguments\": {\"q\": \"x\"}}"},
		{"invalid json", "<tool_call>{\"name\": \"google_search\", \"arguments\": {\"q\": }</tool_call>"},
		{"no name", "<tool_call>{\"arguments\": {\"q\": \"x\"}}</tool_call>"},
		{"two objects", "<tool_call>{\"name\": \"a\"} {\"name\": \"b\"}</tool_call>"},
		{"stray close", "done </tool_call> <tool_call>{\"name\": \"a\"}</tool_call>"},
		{"one good one broken", "<tool_call>{\"name\": \"a\"}</tool_call><tool_call>{\"name\": </tool_call>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := openai.ChatCompletionMessage{Content: tc.content}
			if ExtractTextToolCalls(&m) {
				t.Fatalf("extracted %+v from a broken block", m.ToolCalls)
			}
			if m.Content != tc.content || len(m.ToolCalls) != 0 {
				t.Errorf("message changed: %+v", m)
			}
		})
	}
}
