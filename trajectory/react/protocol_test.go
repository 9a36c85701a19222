package react

import (
	"context"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/internal/tooltest"
	"github.com/miroverse/miroverse/trajectory/toolset"
)

// runScript runs one rollout of steps under policy p, the toolset named by
// naming ("" keeps the package default).
func runScript(t *testing.T, p Policy, naming string, steps ...scriptStep) (trajectory.Rollout, []openai.ChatCompletionRequest, *tooltest.Corpus) {
	t.Helper()
	corpus := tooltest.NewCorpus()
	tools := toolset.New(corpus, &tooltest.Extractor{})
	if naming != "" {
		tools = tools.WithFunctionNames(naming)
	}
	script := &scriptLLM{steps: steps}
	agent := &Agent{LLM: script, Tools: tools, Policy: p}
	r, err := agent.Run(context.Background(), trajectory.Task{QAID: "qa1", Question: "Who designed the Analytical Engine?"}, 42)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return r, script.requests(), corpus
}

func policyWith(change func(*Policy)) Policy {
	p := DefaultPolicy()
	if change != nil {
		change(&p)
	}
	return p
}

// TestRepeatAndEmptyRollbacks transcribes MiroThinker's rules for repeated
// and empty searches (orchestrator.py, _check_duplicate_query and the
// should_rollback_result branch; tool_executor.py,
// get_query_str_from_tool_call and is_google_search_empty_result).
func TestRepeatAndEmptyRollbacks(t *testing.T) {
	const question = "Who designed the Analytical Engine?"
	tests := []struct {
		name          string
		policy        func(*Policy)
		steps         []scriptStep
		roles         string
		searches      int   // corpus searches made
		rollbacks     int   // Rollout.Rollbacks
		toolCalls     int   // Rollout.NumToolCalls
		seeds         []int // seed of every request, in order
		wantInResults string
	}{
		{
			name: "a repeated search is rolled back, not answered",
			steps: []scriptStep{
				fn("", "google_search", searchBabbage),
				fn("", "google_search", searchBabbage),
				fn("", "scrape_and_extract_info", scrapeBabbage),
				say(`\boxed{Charles Babbage}`), say(`\boxed{Charles Babbage}`),
			},
			roles:    "system,user,assistant,tool,assistant,tool,assistant,user,assistant",
			searches: 1, rollbacks: 1, toolCalls: 2,
			// The retry after a rollback sends seed+1, then the count resets.
			seeds: []int{42, 42, 43, 42, 42},
		},
		{
			name: "the repeat key is exact: another spelling is a new search",
			steps: []scriptStep{
				fn("", "google_search", searchBabbage),
				fn("", "google_search", `{"q":"Analytical Engine"}`),
				say(`\boxed{Charles Babbage}`), say(`\boxed{Charles Babbage}`),
			},
			roles:    "system,user,assistant,tool,assistant,tool,assistant,user,assistant",
			searches: 2, rollbacks: 0, toolCalls: 2,
		},
		{
			name:   "after max_rollbacks-1 rollbacks in a row the repeat runs",
			policy: func(p *Policy) { p.MaxRollbacks = 3 },
			steps: []scriptStep{
				fn("", "google_search", searchBabbage),
				fn("", "google_search", searchBabbage),
				fn("", "google_search", searchBabbage),
				fn("", "google_search", searchBabbage),
				say(`\boxed{Charles Babbage}`), say(`\boxed{Charles Babbage}`),
			},
			roles:    "system,user,assistant,tool,assistant,tool,assistant,user,assistant",
			searches: 2, rollbacks: 2, toolCalls: 2,
			seeds: []int{42, 42, 43, 44, 42, 42},
		},
		{
			name: "an empty search is rolled back, and asking it again is a repeat",
			steps: []scriptStep{
				fn("", "google_search", `{"q":"zzz nothing"}`),
				fn("", "google_search", `{"q":"zzz nothing"}`),
				fn("", "google_search", searchBabbage),
				say(`\boxed{Charles Babbage}`), say(`\boxed{Charles Babbage}`),
			},
			roles:    "system,user,assistant,tool,assistant,user,assistant",
			searches: 2, rollbacks: 2, toolCalls: 1,
			seeds: []int{42, 43, 44, 42, 42},
		},
		{
			name:   "an empty search is kept under empty_search keep",
			policy: func(p *Policy) { p.EmptySearch = EmptySearchKeep },
			steps: []scriptStep{
				fn("", "google_search", `{"q":"zzz nothing"}`),
				say(`\boxed{Charles Babbage}`), say(`\boxed{Charles Babbage}`),
			},
			roles:    "system,user,assistant,tool,assistant,user,assistant",
			searches: 1, rollbacks: 0, toolCalls: 1, wantInResults: `"organic":[]`,
		},
		{
			name:   "repeat_calls notice answers the repeat and keeps it in the log",
			policy: func(p *Policy) { p.RepeatCalls = RepeatNotice },
			steps: []scriptStep{
				fn("", "google_search", searchBabbage),
				fn("", "google_search", searchBabbage),
				say(`\boxed{Charles Babbage}`), say(`\boxed{Charles Babbage}`),
			},
			roles:    "system,user,assistant,tool,assistant,tool,assistant,user,assistant",
			searches: 1, rollbacks: 0, toolCalls: 2, wantInResults: duplicateCallNotice,
		},
		{
			name:   "mcp mode: a repeat in text is rolled back too",
			policy: mcpMode,
			steps: []scriptStep{
				mcp("google_search", searchBabbage),
				mcp("google_search", searchBabbage),
				say(`\boxed{Charles Babbage}`), say(`\boxed{Charles Babbage}`),
			},
			roles:    "system,user,assistant,user,assistant,user,assistant",
			searches: 1, rollbacks: 1, toolCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, reqs, corpus := runScript(t, policyWith(tt.policy), "", tt.steps...)
			wantRoles(t, r, tt.roles)
			if got := len(corpus.Searches()); got != tt.searches {
				t.Errorf("corpus searches %d (%v), want %d", got, corpus.Searches(), tt.searches)
			}
			if r.Rollbacks != tt.rollbacks || r.NumToolCalls != tt.toolCalls {
				t.Errorf("rollbacks %d, tool calls %d; want %d, %d", r.Rollbacks, r.NumToolCalls, tt.rollbacks, tt.toolCalls)
			}
			wantStatus(t, r, trajectory.StatusAnswered, "Charles Babbage")
			if tt.seeds != nil {
				var got []int
				for _, q := range reqs {
					got = append(got, *q.Seed)
				}
				if len(got) != len(tt.seeds) {
					t.Fatalf("seeds %v, want %v", got, tt.seeds)
				}
				for i := range got {
					if got[i] != tt.seeds[i] {
						t.Fatalf("seeds %v, want %v", got, tt.seeds)
					}
				}
			}
			if tt.wantInResults != "" {
				found := false
				for _, m := range r.Messages {
					found = found || (m.Role == "tool" && strings.Contains(text(m), tt.wantInResults))
				}
				if !found {
					t.Errorf("no tool result contains %q", tt.wantInResults)
				}
			}
			// What was rolled back is gone from the log: every call in it
			// has its result right after it.
			if last := r.Messages[len(r.Messages)-2]; text(last) != trajectory.SummaryRequest(question) {
				t.Errorf("summary request: %q", text(last))
			}
		})
	}
}

// TestSummaryAssembly transcribes what MiroThinker sends at the summary turn
// (orchestrator.py, run_main_agent's summary step; base_client.py,
// _remove_tool_result_from_messages).
func TestSummaryAssembly(t *testing.T) {
	const question = "Who designed the Analytical Engine?"
	twoSearches := func(p *Policy) { mcpMode(p); p.MaxTurns = 2; p.KeepToolResults = 1 }
	tests := []struct {
		name   string
		policy func(*Policy)
		steps  []scriptStep
		roles  string
		// sent is what the summary request carried, per message after the
		// task: "R" a full result, "P" the placeholder, "S" the request.
		sent string
	}{
		{
			name:   "turn limit right after a result: the result is removed before the request",
			policy: twoSearches,
			steps:  []scriptStep{mcp("google_search", searchBabbage), mcp("google_search", `{"q":"Ada Lovelace"}`), say(`\boxed{Charles Babbage}`)},
			roles:  "system,user,assistant,user,assistant,user,assistant",
			// K=1 and the request takes the slot: the one result left is omitted.
			sent: "P S",
		},
		{
			name:   "summary_after_result keep: two user messages in a row",
			policy: func(p *Policy) { twoSearches(p); p.SummaryAfterResult = SummaryKeepResult },
			steps:  []scriptStep{mcp("google_search", searchBabbage), mcp("google_search", `{"q":"Ada Lovelace"}`), say(`\boxed{Charles Babbage}`)},
			roles:  "system,user,assistant,user,assistant,user,user,assistant",
			sent:   "P P S",
		},
		{
			name: "retention results: the request takes no slot",
			policy: func(p *Policy) {
				twoSearches(p)
				p.SummaryAfterResult = SummaryKeepResult
				p.Retention = trajectory.RetainResults
			},
			steps: []scriptStep{mcp("google_search", searchBabbage), mcp("google_search", `{"q":"Ada Lovelace"}`), say(`\boxed{Charles Babbage}`)},
			roles: "system,user,assistant,user,assistant,user,user,assistant",
			sent:  "P R S",
		},
		{
			name:   "function mode keeps the last result (role tool), as MiroThinker pops only a user message",
			policy: func(p *Policy) { p.MaxTurns = 1; p.KeepToolResults = 1 },
			steps:  []scriptStep{fn("", "google_search", searchBabbage), say(`\boxed{Charles Babbage}`)},
			roles:  "system,user,assistant,tool,user,assistant",
			sent:   "P S",
		},
		{
			name:   "a final reply before the request: nothing is removed",
			policy: func(p *Policy) { mcpMode(p); p.KeepToolResults = 5 },
			steps:  []scriptStep{mcp("google_search", searchBabbage), say("It is Babbage."), say(`\boxed{Charles Babbage}`)},
			roles:  "system,user,assistant,user,assistant,user,assistant",
			sent:   "R S",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, reqs, _ := runScript(t, policyWith(tt.policy), "", tt.steps...)
			wantRoles(t, r, tt.roles)
			wantStatus(t, r, trajectory.StatusAnswered, "Charles Babbage")
			last := reqs[len(reqs)-1]
			var sent []string
			for _, m := range last.Messages[2:] {
				switch {
				case m.Role == "assistant":
				case m.Content == trajectory.ToolResultPlaceholder:
					sent = append(sent, "P")
				case m.Content == trajectory.SummaryRequest(question):
					sent = append(sent, "S")
				default:
					sent = append(sent, "R")
				}
			}
			if got := strings.Join(sent, " "); got != tt.sent {
				t.Errorf("summary request sent %q, want %q", got, tt.sent)
			}
			if !strings.Contains(last.Messages[len(last.Messages)-1].Content, `"`+question+`"`) {
				t.Errorf("the summary request does not quote the question")
			}
		})
	}
}

func TestMCPSeveralBlocks(t *testing.T) {
	reply := trajectory.FormatMCPReply("Two lookups.", []trajectory.MCPCall{
		{Tool: "google_search", Arguments: searchBabbage},
		{Tool: "scrape_and_extract_info", Arguments: scrapeBabbage},
	})
	r, _, corpus := runScript(t, policyWith(mcpMode), "", say(reply), say(`\boxed{Charles Babbage}`), say(`\boxed{Charles Babbage}`))
	wantRoles(t, r, "system,user,assistant,user,assistant,user,assistant")
	if r.NumToolCalls != 2 || len(corpus.Searches()) != 1 || len(corpus.Fetches()) != 1 {
		t.Errorf("calls %d, searches %v, fetches %v", r.NumToolCalls, corpus.Searches(), corpus.Fetches())
	}
	// One user message holds both results, joined by a newline.
	res := text(r.Messages[3])
	if !strings.HasPrefix(res, `{"organic":`) || !strings.Contains(res, "}\n{\"success\": true") || !strings.Contains(res, `"extracted_info": "EXTRACTED"`) {
		t.Errorf("merged results: %q", res)
	}
}

func TestFunctionNames(t *testing.T) {
	tests := []struct {
		name, naming, call string
		wantError          bool
	}{
		{"server-tool name runs", trajectory.FunctionNamesServerTool, "search_and_scrape_webpage-google_search", false},
		{"bare name is not offered under server-tool", trajectory.FunctionNamesServerTool, "google_search", true},
		{"bare name runs under bare", trajectory.FunctionNamesBare, "google_search", false},
		{"server-tool name is not offered under bare", trajectory.FunctionNamesBare, "search_and_scrape_webpage-google_search", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, reqs, corpus := runScript(t, DefaultPolicy(), tt.naming,
				fn("", tt.call, searchBabbage), say(`\boxed{Charles Babbage}`), say(`\boxed{Charles Babbage}`))
			if got := reqs[0].Tools[0].Function.Name; got != trajectory.FunctionName("google_search", tt.naming) {
				t.Errorf("offered name %q", got)
			}
			res := text(r.Messages[3])
			if isErr := strings.HasPrefix(res, trajectory.ToolErrorPrefix); isErr != tt.wantError {
				t.Errorf("result %q, want error %v", res, tt.wantError)
			}
			if want := map[bool]int{false: 1, true: 0}[tt.wantError]; len(corpus.Searches()) != want {
				t.Errorf("searches %v", corpus.Searches())
			}
		})
	}
}

// A request that cannot be sent leaves the log, and the result it would
// have replaced stays in it.
func TestSummaryNotSentKeepsResult(t *testing.T) {
	p := policyWith(func(p *Policy) { mcpMode(p); p.ContextTokens = 10000; p.MaxTokens = 2000 })
	r, reqs, _ := runScript(t, p, "", withUsage(mcp("google_search", searchBabbage), 9500))
	if r.Status != trajectory.StatusFailed || r.FailReason != "context_exhausted" || len(reqs) != 1 {
		t.Errorf("status %s/%s after %d requests", r.Status, r.FailReason, len(reqs))
	}
	wantRoles(t, r, "system,user,assistant,user")
	if res := text(r.Messages[3]); !strings.HasPrefix(res, `{"organic":`) {
		t.Errorf("last message %q, want the search result", res)
	}
}
