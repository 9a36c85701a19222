package react

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/internal/boxed"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/internal/tooltest"
	"github.com/miroverse/miroverse/trajectory/toolset"
)

const (
	searchBabbage = `{"q":"analytical engine"}`
	scrapeBabbage = `{"url":"https://demo.wiki/Charles_Babbage","info_to_extract":"what he designed"}`
	brokenNoTool  = "Searching.\n<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n<arguments>{\"q\":\"ada\"}</arguments>\n</use_mcp_tool>"
	brokenArgs    = "<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n<tool_name>google_search</tool_name>\n<arguments>{q: ada}</arguments>\n</use_mcp_tool>"
	brokenStray   = "<tool_name>google_search</tool_name> <arguments>{\"q\":\"ada\"}</arguments>"
)

type agentCase struct {
	name   string
	policy func(*Policy)
	steps  []scriptStep
	check  func(t *testing.T, r trajectory.Rollout, reqs []openai.ChatCompletionRequest, c *tooltest.Corpus)
}

func mcpMode(p *Policy) { p.Mode = trajectory.ModeMCP }

func TestAgentRun(t *testing.T) {
	// A box in an early reply only: the summary and the reply before it
	// have none.
	boxEarlierOnly := []scriptStep{
		fn(`It may be \boxed{Ada Lovelace}; checking.`, "google_search", searchBabbage),
		fn(`Reading further.`, "scrape_and_extract_info", scrapeBabbage),
		say("I could not settle it."),
		say("Final: no idea"),
	}
	cases := []agentCase{
		{
			name:   "function mode: several calls in one message, duplicate query noticed, summary turn",
			policy: func(p *Policy) { p.RepeatCalls = RepeatNotice },
			steps: []scriptStep{
				fn("Searching and reading.", "google_search", searchBabbage, "scrape_and_extract_info", scrapeBabbage),
				fn("", "google_search", `{"q":" Analytical  ENGINE ","num":10}`),
				say(`Babbage designed it, so the answer is \boxed{Charles Babbage}.`),
				say(`\boxed{Charles Babbage}`),
			},
			check: func(t *testing.T, r trajectory.Rollout, reqs []openai.ChatCompletionRequest, c *tooltest.Corpus) {
				wantRoles(t, r, "system,user,assistant,tool,tool,assistant,tool,assistant,user,assistant")
				wantStatus(t, r, trajectory.StatusAnswered, "Charles Babbage")
				if r.NumToolCalls != 3 || r.NumTurns != 4 || r.ToolErrors != 0 || r.Rollbacks != 0 {
					t.Errorf("counters: calls %d turns %d errors %d rollbacks %d", r.NumToolCalls, r.NumTurns, r.ToolErrors, r.Rollbacks)
				}
				if len(c.Searches()) != 1 || len(c.Fetches()) != 1 {
					t.Errorf("corpus calls: searches %v fetches %v", c.Searches(), c.Fetches())
				}
				m := r.Messages
				if !strings.HasPrefix(text(m[3]), `{"organic":[{"title":"Ada Lovelace"`) ||
					*m[3].ToolCallID != "call-0" || *m[3].Name != "google_search" {
					t.Errorf("first tool message: %+v %q", m[3], text(m[3]))
				}
				if info, ok := toolset.ScrapeResult(text(m[4])); !ok || info != "EXTRACTED" || *m[4].ToolCallID != "call-1" || *m[4].Name != "scrape_and_extract_info" {
					t.Errorf("second tool message: %q", text(m[4]))
				}
				if m[5].Content != nil || len(m[5].ToolCalls) != 1 {
					t.Errorf("a reply that is only a tool call must have nil content: %+v", m[5])
				}
				if text(m[6]) != duplicateCallNotice {
					t.Errorf("duplicate query was not answered with the notice: %q", text(m[6]))
				}
				if text(m[8]) != trajectory.SummaryRequest("Who designed the Analytical Engine?") {
					t.Errorf("summary request: %q", text(m[8]))
				}
				for i, q := range reqs {
					wantTools := 2
					if i == 3 {
						wantTools = 0
					}
					if len(q.Tools) != wantTools {
						t.Errorf("request %d: %d tools, want %d", i, len(q.Tools), wantTools)
					}
					if q.Seed == nil || *q.Seed != 42 || q.Temperature != 1.0 || q.TopP != 0.95 || q.MaxCompletionTokens != 16384 {
						t.Errorf("request %d: sampling %v %v %v %d", i, q.Seed, q.Temperature, q.TopP, q.MaxCompletionTokens)
					}
				}
				if got := strings.Join(r.FinishReasons, ","); got != "tool_calls,tool_calls,stop,stop" {
					t.Errorf("finish reasons %s", got)
				}
				if r.PromptTokens != 400 || r.CompletionTokens != 40 || r.LatencyMillis != 12 {
					t.Errorf("usage %d %d %d", r.PromptTokens, r.CompletionTokens, r.LatencyMillis)
				}
			},
		},
		{
			name:   "mcp mode: broken tag rolled back, calls as text, results as user messages",
			policy: func(p *Policy) { mcpMode(p); p.RepeatCalls = RepeatNotice },
			steps: []scriptStep{
				say(brokenNoTool),
				mcp("google_search", `{"q":"ada lovelace"}`),
				mcp("scrape_and_extract_info", `{"url":"https://demo.wiki/Ada_Lovelace","info_to_extract":"collaborator"}`),
				mcp("google_search", `{"q":"Ada Lovelace"}`),
				say(`She worked with Charles Babbage. \boxed{Charles Babbage}`),
				say("Final: Charles Babbage"), // no box: the previous message's box counts
			},
			check: func(t *testing.T, r trajectory.Rollout, reqs []openai.ChatCompletionRequest, c *tooltest.Corpus) {
				wantRoles(t, r, "system,user,assistant,user,assistant,user,assistant,user,assistant,user,assistant")
				wantStatus(t, r, trajectory.StatusAnswered, "Charles Babbage")
				if r.Rollbacks != 1 || r.NumToolCalls != 3 || r.NumTurns != 5 {
					t.Errorf("rollbacks %d calls %d turns %d", r.Rollbacks, r.NumToolCalls, r.NumTurns)
				}
				if len(c.Searches()) != 1 || c.Searches()[0] != "ada lovelace" || len(c.Fetches()) != 1 {
					t.Errorf("corpus calls: %v %v", c.Searches(), c.Fetches())
				}
				for _, m := range r.Messages {
					if strings.Contains(text(m), brokenNoTool) {
						t.Errorf("rolled-back message is in the log")
					}
				}
				m := r.Messages
				if info, ok := toolset.ScrapeResult(text(m[5])); !strings.HasPrefix(text(m[3]), `{"organic":[`) || !ok || info != "EXTRACTED" || text(m[7]) != duplicateCallNotice {
					t.Errorf("tool results: %q / %q / %q", text(m[3]), text(m[5]), text(m[7]))
				}
				if !strings.Contains(text(m[0]), "<use_mcp_tool>") || !strings.Contains(text(m[0]), "google_search") {
					t.Errorf("MCP system prompt lacks the tool section")
				}
				for i, q := range reqs {
					if q.Tools != nil {
						t.Errorf("request %d sends tools in MCP mode", i)
					}
				}
				if len(reqs[1].Messages) != len(reqs[0].Messages) {
					t.Errorf("the retry after a rollback sent %d messages, first try %d", len(reqs[1].Messages), len(reqs[0].Messages))
				}
				if *reqs[0].Seed != 42 || *reqs[1].Seed != 43 || *reqs[2].Seed != 42 {
					t.Errorf("seeds %d %d %d: want 42, 43 (retry), 42", *reqs[0].Seed, *reqs[1].Seed, *reqs[2].Seed)
				}
				if r.Mode != trajectory.ModeMCP || r.Tools != toolset.New(nil, nil).SchemasJSON() {
					t.Errorf("mode %s, tools %.40s", r.Mode, r.Tools)
				}
			},
		},
		{
			name:   "mcp mode: malformed calls are never executed and end the run after MaxRollbacks",
			policy: func(p *Policy) { p.Mode = trajectory.ModeMCP; p.MaxRollbacks = 3 },
			steps:  []scriptStep{say(brokenArgs), say(brokenNoTool), say(brokenStray), say(`\boxed{never asked}`)},
			check: func(t *testing.T, r trajectory.Rollout, reqs []openai.ChatCompletionRequest, c *tooltest.Corpus) {
				if r.Status != trajectory.StatusFailed || r.FailReason != "rollbacks" || r.Rollbacks != 3 || r.Repetition {
					t.Errorf("status %s/%s rollbacks %d repetition %v", r.Status, r.FailReason, r.Rollbacks, r.Repetition)
				}
				if c.Calls() != 0 {
					t.Errorf("a malformed call reached the corpus: %v %v", c.Searches(), c.Fetches())
				}
				if len(reqs) != 3 || r.NumTurns != 0 {
					t.Errorf("%d requests, %d turns", len(reqs), r.NumTurns)
				}
				wantRoles(t, r, "system,user")
			},
		},
		{
			name:  "format_error when no box anywhere",
			steps: []scriptStep{say("I believe it was Babbage."), say("Charles Babbage")},
			check: func(t *testing.T, r trajectory.Rollout, _ []openai.ChatCompletionRequest, _ *tooltest.Corpus) {
				wantStatus(t, r, trajectory.StatusFormatError, "")
				wantRoles(t, r, "system,user,assistant,user,assistant")
			},
		},
		{
			name:  "a summary without a box takes the last box of the earlier turns (MiroThinker)",
			steps: boxEarlierOnly,
			check: func(t *testing.T, r trajectory.Rollout, _ []openai.ChatCompletionRequest, _ *tooltest.Corpus) {
				wantStatus(t, r, trajectory.StatusAnswered, "Ada Lovelace")
			},
		},
		{
			name:   "the strict rule looks only at the reply before the summary",
			policy: func(p *Policy) { p.BoxRule = boxed.Strict },
			steps:  boxEarlierOnly,
			check: func(t *testing.T, r trajectory.Rollout, _ []openai.ChatCompletionRequest, _ *tooltest.Corpus) {
				wantStatus(t, r, trajectory.StatusFormatError, "")
			},
		},
		{
			name:  "an unclosed box in the summary runs to its end (MiroThinker)",
			steps: []scriptStep{say("Thinking it over."), say(`So it is \boxed{Charles Babbage`)},
			check: func(t *testing.T, r trajectory.Rollout, _ []openai.ChatCompletionRequest, _ *tooltest.Corpus) {
				wantStatus(t, r, trajectory.StatusAnswered, "Charles Babbage")
			},
		},
		{
			name:   "the strict rule takes no unclosed box",
			policy: func(p *Policy) { p.BoxRule = boxed.Strict },
			steps:  []scriptStep{say("Thinking it over."), say(`So it is \boxed{Charles Babbage`)},
			check: func(t *testing.T, r trajectory.Rollout, _ []openai.ChatCompletionRequest, _ *tooltest.Corpus) {
				wantStatus(t, r, trajectory.StatusFormatError, "")
			},
		},
		{
			name:  "placeholder box is no answer",
			steps: []scriptStep{say(`Not sure. \boxed{unknown}`), say(`\boxed{?}`)},
			check: func(t *testing.T, r trajectory.Rollout, _ []openai.ChatCompletionRequest, _ *tooltest.Corpus) {
				wantStatus(t, r, trajectory.StatusFormatError, "")
			},
		},
		{
			name: "function mode: finish_reason length goes to the summary; cut-off calls are not run",
			steps: []scriptStep{
				withFinish(fn("", "google_search", searchBabbage), "length"),
				say(`\boxed{Charles Babbage}`),
			},
			check: func(t *testing.T, r trajectory.Rollout, reqs []openai.ChatCompletionRequest, c *tooltest.Corpus) {
				wantStatus(t, r, trajectory.StatusAnswered, "Charles Babbage")
				wantRoles(t, r, "system,user,assistant,tool,user,assistant")
				if !r.Truncated || c.Calls() != 0 || !strings.HasPrefix(text(r.Messages[3]), "[ERROR]:") || r.ToolErrors != 1 {
					t.Errorf("truncated %v, corpus calls %d, tool message %q", r.Truncated, c.Calls(), text(r.Messages[3]))
				}
				if len(reqs) != 2 || reqs[1].Tools != nil {
					t.Errorf("summary request: %d requests", len(reqs))
				}
			},
		},
		{
			name:   "mcp mode: finish_reason length with a cut-off tag is kept, not rolled back",
			policy: mcpMode,
			steps: []scriptStep{
				withFinish(say("Let me think at length... <use_mcp_tool>\n<server_name>search_and"), "length"),
				say(`\boxed{Y}`),
			},
			check: func(t *testing.T, r trajectory.Rollout, _ []openai.ChatCompletionRequest, c *tooltest.Corpus) {
				wantStatus(t, r, trajectory.StatusAnswered, "Y")
				wantRoles(t, r, "system,user,assistant,user,assistant")
				if !r.Truncated || r.Rollbacks != 0 || c.Calls() != 0 {
					t.Errorf("truncated %v rollbacks %d calls %d", r.Truncated, r.Rollbacks, c.Calls())
				}
			},
		},
		{
			name:   "repetition that persists ends the run",
			policy: func(p *Policy) { p.MaxRollbacks = 2 },
			steps: []scriptStep{
				say(strings.Repeat("I need to search for this again. ", 12)),
				say(strings.Repeat("I need to search for this again. ", 12)),
			},
			check: func(t *testing.T, r trajectory.Rollout, _ []openai.ChatCompletionRequest, _ *tooltest.Corpus) {
				if r.Status != trajectory.StatusFailed || r.FailReason != "rollbacks" || !r.Repetition || r.Rollbacks != 2 {
					t.Errorf("status %s/%s repetition %v rollbacks %d", r.Status, r.FailReason, r.Repetition, r.Rollbacks)
				}
			},
		},
		{
			name: "repetition is retried and the run recovers",
			steps: []scriptStep{
				say(strings.Repeat("loop loop loop loop loop loop loop loop loop loop. ", 8)),
				say(`Done: \boxed{Z}`),
				say(`\boxed{Z}`),
			},
			check: func(t *testing.T, r trajectory.Rollout, _ []openai.ChatCompletionRequest, _ *tooltest.Corpus) {
				wantStatus(t, r, trajectory.StatusAnswered, "Z")
				if r.Repetition || r.Rollbacks != 1 {
					t.Errorf("repetition %v rollbacks %d", r.Repetition, r.Rollbacks)
				}
			},
		},
		{
			name:   "refusal is rolled back",
			policy: mcpMode,
			steps: []scriptStep{
				say("I’m sorry, but I can't help with that."),
				mcp("google_search", searchBabbage),
				say(`It is \boxed{Charles Babbage}`),
				say(`\boxed{Charles Babbage}`),
			},
			check: func(t *testing.T, r trajectory.Rollout, _ []openai.ChatCompletionRequest, c *tooltest.Corpus) {
				wantStatus(t, r, trajectory.StatusAnswered, "Charles Babbage")
				if r.Rollbacks != 1 || len(c.Searches()) != 1 {
					t.Errorf("rollbacks %d searches %d", r.Rollbacks, len(c.Searches()))
				}
			},
		},
		{
			name: "function mode: a tool call printed as text is rolled back",
			steps: []scriptStep{
				say(`<tool_call>{"name":"google_search","arguments":{"q":"x"}}</tool_call>`),
				say(`\boxed{A}`),
				say(`\boxed{A}`),
			},
			check: func(t *testing.T, r trajectory.Rollout, _ []openai.ChatCompletionRequest, _ *tooltest.Corpus) {
				wantStatus(t, r, trajectory.StatusAnswered, "A")
				if r.Rollbacks != 1 {
					t.Errorf("rollbacks %d", r.Rollbacks)
				}
			},
		},
		{
			name:   "mcp mode: a call addressed to the wrong server fails as a tool error",
			policy: mcpMode,
			steps: []scriptStep{
				say(trajectory.FormatMCP(trajectory.MCPCall{Server: "jina_scrape_llm_summary", Tool: "google_search", Arguments: searchBabbage})),
				say(`\boxed{A}`),
				say(`\boxed{A}`),
			},
			check: func(t *testing.T, r trajectory.Rollout, _ []openai.ChatCompletionRequest, c *tooltest.Corpus) {
				if c.Calls() != 0 || r.ToolErrors != 1 || !strings.HasPrefix(text(r.Messages[3]), "[ERROR]: tool google_search is served by search_and_scrape_webpage") {
					t.Errorf("calls %d errors %d result %q", c.Calls(), r.ToolErrors, text(r.Messages[3]))
				}
			},
		},
		{
			name: "consecutive tool errors are counted",
			steps: []scriptStep{
				fn("", "scrape_and_extract_info", `{"url":"https://demo.wiki/A","info_to_extract":"x"}`),
				fn("", "scrape_and_extract_info", `{"url":"https://demo.wiki/B","info_to_extract":"x"}`),
				fn("", "google_search", searchBabbage),
				fn("", "nonexistent_tool", `{}`),
				say(`\boxed{A}`),
				say(`\boxed{A}`),
			},
			check: func(t *testing.T, r trajectory.Rollout, _ []openai.ChatCompletionRequest, _ *tooltest.Corpus) {
				if r.ToolErrors != 3 || r.MaxToolErrorRun != 2 {
					t.Errorf("errors %d, longest run %d", r.ToolErrors, r.MaxToolErrorRun)
				}
				if got := text(r.Messages[3]); !trajectory.IsToolError(got) || !strings.Contains(got, `"error": "Scraping failed: page not found: https://demo.wiki/A"`) {
					t.Errorf("not-found result %q", got)
				}
			},
		},
		{
			name:   "LLM error fails the rollout without leaking the key",
			policy: mcpMode,
			steps: []scriptStep{
				mcp("google_search", searchBabbage),
				fail(errors.New("agent call to http://x: 401 Incorrect API key provided: sk-proj-abcd1234wxyz")),
			},
			check: func(t *testing.T, r trajectory.Rollout, _ []openai.ChatCompletionRequest, _ *tooltest.Corpus) {
				if r.Status != trajectory.StatusFailed || !strings.HasPrefix(r.FailReason, "llm_error: ") || strings.Contains(r.FailReason, "abcd1234") {
					t.Errorf("status %s, reason %q", r.Status, r.FailReason)
				}
				wantRoles(t, r, "system,user,assistant,user")
			},
		},
		{
			name:   "context guard moves to the summary with the room that is left",
			policy: func(p *Policy) { p.ContextTokens = 10000; p.MaxTokens = 2000 },
			steps: []scriptStep{
				withUsage(fn("", "google_search", searchBabbage), 8500),
				say(`\boxed{A}`),
			},
			check: func(t *testing.T, r trajectory.Rollout, reqs []openai.ChatCompletionRequest, _ *tooltest.Corpus) {
				wantStatus(t, r, trajectory.StatusAnswered, "A")
				wantRoles(t, r, "system,user,assistant,tool,user,assistant")
				if len(reqs) != 2 || reqs[1].MaxCompletionTokens != 1500 || reqs[1].Tools != nil {
					t.Errorf("%d requests; summary max tokens %d", len(reqs), reqs[len(reqs)-1].MaxCompletionTokens)
				}
			},
		},
		{
			name:   "no room even for the summary",
			policy: func(p *Policy) { p.ContextTokens = 10000; p.MaxTokens = 2000 },
			steps:  []scriptStep{withUsage(fn("", "google_search", searchBabbage), 9500)},
			check: func(t *testing.T, r trajectory.Rollout, reqs []openai.ChatCompletionRequest, _ *tooltest.Corpus) {
				if r.Status != trajectory.StatusFailed || r.FailReason != "context_exhausted" || len(reqs) != 1 {
					t.Errorf("status %s/%s after %d requests", r.Status, r.FailReason, len(reqs))
				}
				wantRoles(t, r, "system,user,assistant,tool")
			},
		},
		{
			name:   "max turns forces the summary",
			policy: func(p *Policy) { p.MaxTurns = 2; p.EmptySearch = EmptySearchKeep },
			steps: []scriptStep{
				fn("", "google_search", `{"q":"one"}`),
				fn("", "google_search", `{"q":"two"}`),
				say(`\boxed{B}`),
			},
			check: func(t *testing.T, r trajectory.Rollout, reqs []openai.ChatCompletionRequest, _ *tooltest.Corpus) {
				wantStatus(t, r, trajectory.StatusAnswered, "B")
				if r.NumTurns != 3 || len(reqs) != 3 || reqs[2].Tools != nil {
					t.Errorf("turns %d requests %d", r.NumTurns, len(reqs))
				}
			},
		},
		{
			name: "empty summary reply is retried with a new seed; reasoning is stored",
			steps: []scriptStep{
				withReasoning(say(`So \boxed{A}`), "it must be A"),
				say("  "),
				say(`\boxed{B}`),
			},
			check: func(t *testing.T, r trajectory.Rollout, reqs []openai.ChatCompletionRequest, _ *tooltest.Corpus) {
				wantStatus(t, r, trajectory.StatusAnswered, "B")
				wantRoles(t, r, "system,user,assistant,user,assistant")
				if r.Rollbacks != 1 || len(reqs) != 3 || *reqs[2].Seed != 43 {
					t.Errorf("rollbacks %d requests %d", r.Rollbacks, len(reqs))
				}
				if rc := r.Messages[2].ReasoningContent; rc == nil || *rc != "it must be A" {
					t.Errorf("reasoning not stored: %v", rc)
				}
				if r.Messages[4].ReasoningContent != nil {
					t.Errorf("empty reasoning must be nil")
				}
				for _, m := range reqs[2].Messages {
					if m.ReasoningContent != "" {
						t.Errorf("reasoning was sent back to the model")
					}
				}
			},
		},
		{
			name:   "degenerate summary replies end the run",
			policy: func(p *Policy) { p.MaxRollbacks = 1 },
			steps: []scriptStep{
				say(`\boxed{A}`),
				say(strings.Repeat("the answer is A and ", 20)),
			},
			check: func(t *testing.T, r trajectory.Rollout, _ []openai.ChatCompletionRequest, _ *tooltest.Corpus) {
				if r.Status != trajectory.StatusFailed || r.FailReason != "rollbacks" || !r.Repetition {
					t.Errorf("status %s/%s repetition %v", r.Status, r.FailReason, r.Repetition)
				}
			},
		},
		{
			name: "tool calls in the summary reply are answered, never run",
			steps: []scriptStep{
				say(`\boxed{A}`),
				fn(`Final: \boxed{A}`, "google_search", searchBabbage),
			},
			check: func(t *testing.T, r trajectory.Rollout, _ []openai.ChatCompletionRequest, c *tooltest.Corpus) {
				wantStatus(t, r, trajectory.StatusAnswered, "A")
				wantRoles(t, r, "system,user,assistant,user,assistant,tool")
				if c.Calls() != 0 || !strings.HasPrefix(text(r.Messages[5]), "[ERROR]:") {
					t.Errorf("corpus calls %d, result %q", c.Calls(), text(r.Messages[5]))
				}
			},
		},
		{
			name:   "retention applies to what is sent, not to the log",
			policy: func(p *Policy) { p.KeepToolResults = 1 },
			steps: []scriptStep{
				fn("", "google_search", `{"q":"ada"}`),
				fn("", "google_search", `{"q":"babbage"}`),
				fn("", "google_search", `{"q":"engine"}`),
				say(`\boxed{C}`),
				say(`\boxed{C}`),
			},
			check: func(t *testing.T, r trajectory.Rollout, reqs []openai.ChatCompletionRequest, _ *tooltest.Corpus) {
				var sent []string
				for _, m := range reqs[3].Messages {
					if m.Role == "tool" {
						sent = append(sent, m.Content)
					}
				}
				if len(sent) != 3 || sent[0] != trajectory.ToolResultPlaceholder || sent[1] != trajectory.ToolResultPlaceholder ||
					!strings.HasPrefix(sent[2], `{"organic"`) {
					t.Errorf("sent tool results %q", sent)
				}
				for _, m := range r.Messages {
					if text(m) == trajectory.ToolResultPlaceholder {
						t.Errorf("the stored log carries a placeholder")
					}
				}
				if reqs[0].Messages[1].Content != taskPrompt("Who designed the Analytical Engine?") {
					t.Errorf("first user message %q", reqs[0].Messages[1].Content)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultPolicy()
			if tc.policy != nil {
				tc.policy(&p)
			}
			corpus := tooltest.NewCorpus()
			script := &scriptLLM{steps: tc.steps}
			agent := &Agent{LLM: script, Tools: toolset.New(corpus, &tooltest.Extractor{}), Policy: p}
			r, err := agent.Run(context.Background(), trajectory.Task{QAID: "qa1", Question: "Who designed the Analytical Engine?"}, 42)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if r.QAID != "qa1" || r.Seed != 42 || r.Model != "scripted" || r.Mode != p.Mode {
				t.Errorf("identity fields: %+v", r)
			}
			tc.check(t, r, script.requests(), corpus)
		})
	}
}

func TestAgentRunCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	agent := &Agent{LLM: &scriptLLM{}, Tools: toolset.New(tooltest.NewCorpus(), nil), Policy: DefaultPolicy()}
	r, err := agent.Run(ctx, trajectory.Task{QAID: "q", Question: "x"}, 1)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if r.Status != trajectory.StatusFailed || len(r.Messages) != 2 {
		t.Errorf("partial rollout: %s, %d messages", r.Status, len(r.Messages))
	}
}

func TestAgentRunMisconfigured(t *testing.T) {
	tools := toolset.New(tooltest.NewCorpus(), nil)
	for name, a := range map[string]*Agent{
		"no llm":   {Tools: tools},
		"no tools": {LLM: &scriptLLM{}},
		"bad mode": {LLM: &scriptLLM{}, Tools: tools, Policy: Policy{Mode: "xml"}},
	} {
		if _, err := a.Run(context.Background(), trajectory.Task{}, 1); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func text(m trajectory.Message) string {
	if m.Content == nil {
		return ""
	}
	return *m.Content
}

func wantRoles(t *testing.T, r trajectory.Rollout, want string) {
	t.Helper()
	roles := make([]string, len(r.Messages))
	for i, m := range r.Messages {
		roles[i] = m.Role
	}
	if got := strings.Join(roles, ","); got != want {
		t.Errorf("roles\n got  %s\n want %s", got, want)
	}
}

func wantStatus(t *testing.T, r trajectory.Rollout, status, answer string) {
	t.Helper()
	if r.Status != status || r.Answer != answer {
		t.Errorf("status %q answer %q (fail %q), want %q %q", r.Status, r.Answer, r.FailReason, status, answer)
	}
}
