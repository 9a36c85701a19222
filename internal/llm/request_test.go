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
