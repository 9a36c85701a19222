package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	openai "github.com/sashabaranov/go-openai"
)

const replySchema = `{"type":"object","properties":{"label":{"type":"string","enum":["A","B"]}},"required":["label"],"additionalProperties":false}`

// formatServer answers like the server it stands for: it records the
// response_format of every request, and refuses the forms it does not take
// with refusal (status and body).
func formatServer(t *testing.T, refuse map[string]bool, status int, refusal []byte) (*httptest.Server, func() []string) {
	t.Helper()
	var (
		mu   sync.Mutex
		seen []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			Format json.RawMessage `json:"response_format"`
		}
		_ = json.Unmarshal(body, &req)
		var f struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(req.Format, &f)
		mu.Lock()
		seen = append(seen, string(req.Format))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if refuse[f.Type] {
			w.WriteHeader(status)
			w.Write(refusal)
			return
		}
		w.Write([]byte(`{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"{\"label\": \"A\"}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

func structuredRequest() openai.ChatCompletionRequest {
	return openai.ChatCompletionRequest{
		Messages:       []openai.ChatCompletionMessage{{Role: "user", Content: "label it"}},
		ResponseFormat: Schema("label", json.RawMessage(replySchema)),
	}
}

// TestStructuredOutputForms: the form each mode sends, and how a client
// steps down when the server refuses a form: llama-cpp-python's server
// answers json_schema with a 500 that names response_format, and takes the
// schema inside json_object.
func TestStructuredOutputForms(t *testing.T) {
	llamaCppPython, err := os.ReadFile(filepath.Join("testdata", "shapes", "response_format_rejected.json"))
	if err != nil {
		t.Fatal(err)
	}
	schemaForm := `{"type":"json_schema","json_schema":{"name":"label","schema":` + replySchema + `,"strict":true}}`
	objectForm := `{"type":"json_object","schema":` + replySchema + `}`
	tests := []struct {
		name     string
		mode     string
		refuse   map[string]bool
		status   int
		refusal  []byte
		want     []string // response_format of each request, over two calls
		attempts int      // of the first call
		warned   bool
		fails    bool
	}{
		{name: "json_schema taken", mode: "", want: []string{schemaForm, schemaForm}, attempts: 1},
		{name: "json_object", mode: FormatJSONObject, want: []string{objectForm, objectForm}, attempts: 1},
		{name: "off", mode: FormatOff, want: []string{"", ""}, attempts: 1},
		{name: "llama-cpp-python refuses json_schema", refuse: map[string]bool{"json_schema": true}, status: 500, refusal: llamaCppPython,
			want: []string{schemaForm, objectForm, objectForm}, attempts: 2, warned: true},
		{name: "a server with no structured output", refuse: map[string]bool{"json_schema": true, "json_object": true}, status: 400,
			refusal: []byte(`{"error":{"message":"unsupported parameter: response_format","type":"invalid_request_error"}}`),
			want:    []string{schemaForm, objectForm, "", ""}, attempts: 3, warned: true},
		{name: "a 400 about something else is no reason to step down", refuse: map[string]bool{"json_schema": true}, status: 400,
			refusal: []byte(`{"error":{"message":"messages: too long for the context","type":"invalid_request_error"}}`),
			want:    []string{schemaForm, schemaForm}, fails: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, seen := formatServer(t, tc.refuse, tc.status, tc.refusal)
			var logs bytes.Buffer
			c := New(RoleGrader, Endpoint{BaseURL: srv.URL + "/v1", Model: "m", StructuredOutput: tc.mode, MaxRetries: 2,
				BackoffBase: 1, BackoffCap: 1, Log: slog.New(slog.NewTextHandler(&logs, nil))})
			for call := range 2 {
				reply, err := c.Chat(context.Background(), structuredRequest())
				if tc.fails {
					if err == nil {
						t.Fatal("call succeeded against a server refusing it")
					}
					continue
				}
				if err != nil {
					t.Fatalf("call %d: %v", call, err)
				}
				if call == 0 && reply.Attempts != tc.attempts {
					t.Errorf("first call made %d attempt(s), want %d", reply.Attempts, tc.attempts)
				}
			}
			got := seen()
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("response_format sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if warned := strings.Contains(logs.String(), "rejected the response_format"); warned != tc.warned {
				t.Errorf("warned = %v, want %v; log:\n%s", warned, tc.warned, logs.String())
			}
		})
	}
}
