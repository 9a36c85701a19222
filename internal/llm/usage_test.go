package llm

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"
)

const noUsageBody = `{"id":"x","object":"chat.completion","created":0,"model":"m",
"choices":[{"index":0,"message":{"role":"assistant","content":"Paris is the capital of France."},"finish_reason":"stop"}]}`

const noUsageStream = `data: {"id":"s","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Paris is the "},"finish_reason":null}]}

data: {"id":"s","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{"content":"capital of France."},"finish_reason":"stop"}]}

data: [DONE]

`

func TestMissingUsageIsEstimatedAndMarked(t *testing.T) {
	prompt := strings.Repeat("What is the capital of France? ", 40) // 1,240 characters
	tests := []struct {
		name          string
		stream        bool
		body          string
		wantEstimated bool
		wantPrompt    int // exact when the server counted
		wantComp      int
	}{
		{name: "server counted", body: okBody, wantPrompt: 3, wantComp: 2},
		{name: "no usage", body: noUsageBody, wantEstimated: true},
		{name: "stream without usage", stream: true, body: noUsageStream, wantEstimated: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.stream {
					w.Header().Set("Content-Type", "text/event-stream")
				} else {
					w.Header().Set("Content-Type", "application/json")
				}
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c := New(RoleWriter, Endpoint{BaseURL: srv.URL + "/v1", Model: "m", Stream: tc.stream})
			reply, err := c.Chat(context.Background(), openai.ChatCompletionRequest{
				Messages: []openai.ChatCompletionMessage{{Role: "user", Content: prompt}},
			})
			if err != nil {
				t.Fatal(err)
			}
			u := reply.Usage
			if reply.UsageEstimated != tc.wantEstimated {
				t.Fatalf("UsageEstimated = %v, want %v (usage %+v)", reply.UsageEstimated, tc.wantEstimated, u)
			}
			if !tc.wantEstimated {
				if u.PromptTokens != tc.wantPrompt || u.CompletionTokens != tc.wantComp {
					t.Errorf("usage = %+v, want the server's %d/%d", u, tc.wantPrompt, tc.wantComp)
				}
				return
			}
			// 1,240 characters of prompt are about 310 tokens; the 31
			// characters of reply about 8. The estimate only has to be
			// of the right size, never zero.
			if u.PromptTokens < 250 || u.PromptTokens > 400 {
				t.Errorf("estimated prompt tokens = %d, want about 310", u.PromptTokens)
			}
			if u.CompletionTokens < 5 || u.CompletionTokens > 12 {
				t.Errorf("estimated completion tokens = %d, want about 8", u.CompletionTokens)
			}
			if u.TotalTokens != u.PromptTokens+u.CompletionTokens {
				t.Errorf("total %d != prompt %d + completion %d", u.TotalTokens, u.PromptTokens, u.CompletionTokens)
			}
		})
	}
}
