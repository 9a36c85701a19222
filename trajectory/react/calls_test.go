package react

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/internal/tooltest"
	"github.com/miroverse/miroverse/trajectory/toolset"
)

// A rollout row says how it was made: sampling parameters, hashes of the
// wording and the tool schemas, and every LLM call in order, the
// extractor's booked to the turn whose tool call caused it.
func TestRolloutRecordsCalls(t *testing.T) {
	script := &scriptLLM{steps: []scriptStep{
		fn("", "scrape_and_extract_info", `{"url":"https://demo.wiki/Ada_Lovelace","info_to_extract":"employer"}`),
		fn("", "scrape_and_extract_info", `{"url":"https://demo.wiki/Nobody","info_to_extract":"x"}`),
		say(`It is \boxed{Analytical Engine}`),
		say(`\boxed{Analytical Engine}`),
	}}
	p := DefaultPolicy()
	p.Temperature, p.TopP, p.MaxTokens = 0.6, 0.9, 2048
	tools := toolset.New(tooltest.NewCorpus(), &tooltest.Extractor{})
	agent := &Agent{LLM: script, Tools: tools, Policy: p}
	ro, err := agent.Run(context.Background(), trajectory.Task{QAID: "q", Question: "Which engine?"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ro.Role != "agent" || ro.Temperature != 0.6 || ro.TopP != 0.9 || ro.MaxTokens != 2048 {
		t.Errorf("sampling: role %q T %v top_p %v max %d", ro.Role, ro.Temperature, ro.TopP, ro.MaxTokens)
	}
	if ro.PromptHash != PromptHash() || len(ro.ToolsHash) != 64 {
		t.Errorf("hashes: prompt %q tools %q", ro.PromptHash, ro.ToolsHash)
	}
	type call struct {
		role  string
		turn  int32
		model string
	}
	want := []call{{"agent", 1, "scripted"}, {"extractor", 1, "extractor"}, {"agent", 2, "scripted"}, {"agent", 3, "scripted"}, {"agent", 4, "scripted"}}
	if len(ro.Calls) != len(want) {
		t.Fatalf("calls = %+v", ro.Calls)
	}
	var agentPrompt int64
	for i, c := range ro.Calls {
		if (call{c.Role, c.Turn, c.Model}) != want[i] {
			t.Errorf("call %d = %+v, want %+v", i, c, want[i])
		}
		if c.Role == "agent" {
			agentPrompt += int64(c.PromptTokens)
			if c.FinishReason == "" {
				t.Errorf("call %d has no finish reason", i)
			}
		}
	}
	if agentPrompt != ro.PromptTokens {
		t.Errorf("per-call prompt tokens sum to %d, rollout says %d", agentPrompt, ro.PromptTokens)
	}
	// The scrape of a missing page is the one tool error.
	if ro.ToolErrors != 1 || len(ro.Errors) != 1 || !strings.HasPrefix(ro.Errors[0], "scrape_and_extract_info: {\"success\": false") ||
		!strings.Contains(ro.Errors[0], "page not found") {
		t.Errorf("errors = %q (tool errors %d)", ro.Errors, ro.ToolErrors)
	}
}

// A failed LLM call is a call of the rollout too, with its error, and the
// key the endpoint echoed never reaches the row.
func TestRolloutRecordsFailedCall(t *testing.T) {
	script := &scriptLLM{steps: []scriptStep{
		fn("", "google_search", `{"q":"Analytical Engine"}`),
		fail(errors.New("agent call to https://api.example/v1: status 401: bad key sk-live-abcdef123456")),
	}}
	agent := &Agent{LLM: script, Tools: toolset.New(tooltest.NewCorpus(), nil), Policy: DefaultPolicy()}
	ro, err := agent.Run(context.Background(), trajectory.Task{QAID: "q", Question: "Which engine?"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ro.Status != trajectory.StatusFailed || len(ro.Calls) != 2 {
		t.Fatalf("status %s calls %+v", ro.Status, ro.Calls)
	}
	last := ro.Calls[1]
	if last.Error == "" || last.Attempts != 0 || strings.Contains(last.Error, "sk-live") {
		t.Errorf("failed call = %+v", last)
	}
	if len(ro.Errors) != 1 || !strings.HasPrefix(ro.Errors[0], "agent call failed: ") || strings.Contains(ro.Errors[0], "sk-live") {
		t.Errorf("errors = %q", ro.Errors)
	}
}

// A call the client gave up on after its retries is stored with the number
// of attempts it made, not 0.
func TestRolloutRecordsAttemptsOfFailedCall(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"error":{"message":"overheated %d","type":"x"}}`, n.Add(1))
	}))
	defer srv.Close()
	client := llm.New(llm.RoleAgent, llm.Endpoint{BaseURL: srv.URL + "/v1", Model: "m", MaxRetries: 2,
		BackoffBase: time.Millisecond, BackoffCap: time.Millisecond})
	agent := &Agent{LLM: client, Tools: toolset.New(tooltest.NewCorpus(), nil), Policy: DefaultPolicy()}
	ro, err := agent.Run(context.Background(), trajectory.Task{QAID: "q", Question: "Which engine?"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ro.Status != trajectory.StatusFailed || len(ro.Calls) != 1 || ro.Calls[0].Attempts != 3 || n.Load() != 3 {
		t.Errorf("status %s, calls %+v after %d requests", ro.Status, ro.Calls, n.Load())
	}
}
