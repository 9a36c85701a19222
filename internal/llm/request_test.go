package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	openai "github.com/sashabaranov/go-openai"
)

// TestAssistantMessagesCarryContent: llama.cpp's server renders
// message.content of every message and answers 500 when an assistant
// message that is only tool calls arrives without the key. The fixture
// server here does the same; the client's request must pass it.
func TestAssistantMessagesCarryContent(t *testing.T) {
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, b)
		var req struct {
			Messages []map[string]any `json:"messages"`
		}
		if err := json.Unmarshal(b, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, m := range req.Messages {
			if _, ok := m["content"]; !ok {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				w.Write([]byte(`{"error":{"code":500,"message":"Value is not callable: null at row 1","type":"server_error"}}`))
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(okBody))
	}))
	defer srv.Close()
	c := New(RoleAgent, Endpoint{BaseURL: srv.URL + "/v1", Model: "m"})
	withCall := openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{
		{Role: "user", Content: "Which engine?"},
		{Role: "assistant", ToolCalls: []openai.ToolCall{{ID: "c1", Type: openai.ToolTypeFunction,
			Function: openai.FunctionCall{Name: "google_search", Arguments: `{"q":"engine"}`}}}},
		{Role: "tool", Content: `{"organic":[]}`, ToolCallID: "c1"},
	}}
	if _, err := c.Chat(context.Background(), withCall); err != nil {
		t.Fatalf("a tool-call-only assistant message was sent without content: %v", err)
	}
	var sent struct {
		Messages []map[string]any `json:"messages"`
	}
	if err := json.Unmarshal(bodies[0], &sent); err != nil || sent.Messages[1]["content"] != "" || sent.Messages[1]["tool_calls"] == nil {
		t.Errorf("assistant message sent as %v (%v)", sent.Messages, err)
	}

	// A request that needs nothing goes out byte for byte as go-openai
	// wrote it.
	plain := openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "<b>hi</b> & bye"}}}
	if _, err := c.Chat(context.Background(), plain); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(plain)
	if got := bodies[1]; !bytes.Equal(bytes.TrimSpace(got), want) {
		t.Errorf("an unchanged request was rewritten:\n got %s\nwant %s", got, want)
	}
}

// TestRequestShape: every request carries the role's reply limit in the
// fields the endpoint reads, and a request that offers tools says how to
// choose among them (llama.cpp's server drops tools sent without
// tool_choice, and reads max_tokens only).
func TestRequestShape(t *testing.T) {
	tools := []openai.Tool{{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: "google_search", Parameters: json.RawMessage(`{"type":"object"}`)}}}
	tests := []struct {
		name       string
		ep         Endpoint
		req        openai.ChatCompletionRequest
		maxTokens  any // the JSON value sent, nil for absent
		completion any
		toolChoice any
	}{
		{"role default in both fields", Endpoint{MaxTokens: 512}, openai.ChatCompletionRequest{}, 512.0, 512.0, nil},
		{"the request's own limit wins", Endpoint{MaxTokens: 512}, openai.ChatCompletionRequest{MaxCompletionTokens: 16384}, 16384.0, 16384.0, nil},
		{"max_tokens only", Endpoint{MaxTokens: 512, TokenLimitField: LimitMaxTokens}, openai.ChatCompletionRequest{}, 512.0, nil, nil},
		{"max_completion_tokens only", Endpoint{MaxTokens: 512, TokenLimitField: LimitMaxCompletionTokens}, openai.ChatCompletionRequest{}, nil, 512.0, nil},
		{"no limit anywhere", Endpoint{}, openai.ChatCompletionRequest{}, nil, nil, nil},
		{"tools get tool_choice auto", Endpoint{}, openai.ChatCompletionRequest{Tools: tools}, nil, nil, "auto"},
		{"tool_choice as configured", Endpoint{ToolChoice: ToolChoiceRequired}, openai.ChatCompletionRequest{Tools: tools}, nil, nil, "required"},
		{"tool_choice omitted", Endpoint{ToolChoice: ToolChoiceOmit}, openai.ChatCompletionRequest{Tools: tools}, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent map[string]any
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				_ = json.Unmarshal(b, &sent)
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(okBody))
			}))
			defer srv.Close()
			ep := tt.ep
			ep.BaseURL, ep.Model = srv.URL+"/v1", "m"
			req := tt.req
			req.Messages = []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}
			if _, err := New(RoleWriter, ep).Chat(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			if sent["max_tokens"] != tt.maxTokens || sent["max_completion_tokens"] != tt.completion || sent["tool_choice"] != tt.toolChoice {
				t.Errorf("sent max_tokens %v, max_completion_tokens %v, tool_choice %v; want %v, %v, %v",
					sent["max_tokens"], sent["max_completion_tokens"], sent["tool_choice"], tt.maxTokens, tt.completion, tt.toolChoice)
			}
		})
	}
}
