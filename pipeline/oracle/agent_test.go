package oracle

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/trajectory"
)

const testQuestion = "Which river flows through the capital of the country where a certain chemist was born?"

func testKeys() KeyMap {
	return KeyMap{testQuestion: {
		Answer: "Vistula",
		Wrong:  "Warsaw",
		Path:   []string{"Marie Curie", "Warsaw", "Vistula"},
	}}
}

// solvedCalls is the teacher's route through testKeys with the default fake
// search: for each title a search and a scrape of the title's own link.
func solvedCalls() []string {
	var out []string
	for _, t := range []string{"Marie Curie", "Warsaw", "Vistula"} {
		out = append(out, "search("+t+")", "scrape("+linkOf(t)+")")
	}
	return out
}

var modes = []string{trajectory.ModeFunction, trajectory.ModeMCP}

func TestAgentSolvesPath(t *testing.T) {
	s := startOracle(t, Config{Keys: testKeys()})
	c := client(s, llm.RoleAgent)
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			r := newRollout(t, c, mode, 7, "Answer this question.\n\n"+testQuestion)
			final := r.run()
			if got, want := callStrings(r.calls), solvedCalls(); !slices.Equal(got, want) {
				t.Errorf("calls:\n got %v\nwant %v", got, want)
			}
			if want := `Based on the pages I read, the answer is \boxed{Vistula}.`; final != want {
				t.Errorf("final answer %q, want %q", final, want)
			}
			last := r.replies[len(r.replies)-1]
			if last.FinishReason != "stop" || last.Message.ReasoningContent == "" || len(last.Message.ToolCalls) != 0 {
				t.Errorf("final turn: finish %q, reasoning %q, %d tool calls; want stop, a reasoning, no call",
					last.FinishReason, last.Message.ReasoningContent, len(last.Message.ToolCalls))
			}
			for i, rep := range r.replies[:len(r.replies)-1] {
				wantFinish := "stop"
				if mode == trajectory.ModeFunction {
					wantFinish = "tool_calls"
				}
				if rep.FinishReason != wantFinish {
					t.Errorf("turn %d: finish %q, want %q", i, rep.FinishReason, wantFinish)
				}
				if rep.Message.ReasoningContent == "" {
					t.Errorf("turn %d: no reasoning_content", i)
				}
				if rep.Message.Role != openai.ChatMessageRoleAssistant {
					t.Errorf("turn %d: role %q", i, rep.Message.Role)
				}
			}
			sum := r.summary()
			if sum.Message.Content != `\boxed{Vistula}` || len(sum.Message.ToolCalls) != 0 {
				t.Errorf("summary turn: %q with %d calls, want only \\boxed{Vistula}", sum.Message.Content, len(sum.Message.ToolCalls))
			}
		})
	}
}

func TestAgentToolCallShapes(t *testing.T) {
	s := startOracle(t, Config{Keys: testKeys()})
	c := client(s, llm.RoleAgent)

	fn := newRollout(t, c, trajectory.ModeFunction, 1, testQuestion)
	rep := fn.send()
	if len(rep.Message.ToolCalls) != 1 {
		t.Fatalf("function mode: want one tool call, got %+v", rep.Message)
	}
	tc := rep.Message.ToolCalls[0]
	if tc.ID != "call_0" || tc.Type != openai.ToolTypeFunction || tc.Function.Name != trajectory.ToolGoogleSearch || tc.Function.Arguments != `{"q":"Marie Curie"}` {
		t.Errorf("function mode call: %+v", tc)
	}
	if rep.Message.Content == "" {
		t.Errorf("function mode: want a short thought in content")
	}
	// The second call is numbered after the first.
	fn.msgs = append(fn.msgs, openai.ChatCompletionMessage{
		Role: openai.ChatMessageRoleTool, ToolCallID: tc.ID, Content: serperJSON(t, "Marie Curie", "Marie Curie"),
	})
	rep = fn.send()
	if got := rep.Message.ToolCalls[0]; got.ID != "call_1" || got.Function.Name != trajectory.ToolScrape ||
		!strings.HasPrefix(got.Function.Arguments, `{"url":"`+linkOf("Marie Curie")+`","info_to_extract":"`) {
		t.Errorf("second call: %+v", got)
	}

	mcp := newRollout(t, c, trajectory.ModeMCP, 1, testQuestion)
	rep = mcp.send()
	wantBlock := "\n\n<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n<tool_name>google_search</tool_name>\n" +
		"<arguments>\n{\"q\": \"Marie Curie\"}\n</arguments>\n</use_mcp_tool>"
	if !strings.HasSuffix(rep.Message.Content, wantBlock) || strings.HasPrefix(rep.Message.Content, "\n") {
		t.Errorf("MCP mode content:\n%s\nwant a thought, then\n%s", rep.Message.Content, wantBlock)
	}
	if rep.FinishReason != "stop" || len(rep.Message.ToolCalls) != 0 {
		t.Errorf("MCP mode: finish %q with %d native calls", rep.FinishReason, len(rep.Message.ToolCalls))
	}
}

func TestAgentRoutes(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		search  func(t *testing.T, q string) string
		keep    int
		want    []string
		wantBox string
	}{
		{
			name:    "detour first",
			cfg:     Config{Keys: testKeys(), DetourRate: 1},
			want:    append([]string{"detour"}, solvedCalls()...),
			wantBox: "Vistula",
		},
		{
			name: "error and empty results skip the scrape",
			cfg:  Config{Keys: testKeys()},
			search: func(t *testing.T, q string) string {
				switch q {
				case "Marie Curie":
					return "[ERROR]: search backend unavailable"
				case "Warsaw":
					return serperJSON(t, q)
				}
				return serperJSON(t, q, q)
			},
			want:    []string{"search(Marie Curie)", "search(Warsaw)", "search(Vistula)", "scrape(" + linkOf("Vistula") + ")"},
			wantBox: "Vistula",
		},
		{
			name: "no title match takes the first entry",
			cfg:  Config{Keys: testKeys()},
			search: func(t *testing.T, q string) string {
				return serperJSON(t, q, "First hit", "Second hit")
			},
			want: []string{
				"search(Marie Curie)", "scrape(" + linkOf("First hit") + ")",
				"search(Warsaw)", "scrape(" + linkOf("First hit") + ")",
				"search(Vistula)", "scrape(" + linkOf("First hit") + ")",
			},
			wantBox: "Vistula",
		},
		{
			name:    "old results omitted by retention",
			cfg:     Config{Keys: testKeys()},
			keep:    1,
			want:    solvedCalls(),
			wantBox: "Vistula",
		},
		{
			name:    "no key: one search, first title",
			cfg:     Config{},
			search:  func(t *testing.T, q string) string { return serperJSON(t, q, "Oder", "Vistula") },
			want:    []string{"search(" + testQuestion + ")"},
			wantBox: "Oder",
		},
		{
			name:    "no key and no result",
			cfg:     Config{Keys: KeyMap{"another question": {Answer: "X"}}},
			search:  func(t *testing.T, q string) string { return serperJSON(t, q) },
			want:    []string{"search(" + testQuestion + ")"},
			wantBox: "unknown",
		},
	}
	for _, tc := range tests {
		s := startOracle(t, tc.cfg)
		c := client(s, llm.RoleAgent)
		for _, mode := range modes {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				r := newRollout(t, c, mode, 3, testQuestion)
				if tc.search != nil {
					r.search = func(q string) string { return tc.search(t, q) }
				}
				r.keep = tc.keep
				final := r.run()
				got, want := callStrings(r.calls), tc.want
				if len(want) > 0 && want[0] == "detour" {
					// The detour's query is drawn from a list; it must be a
					// search for none of the path's titles.
					if len(got) == 0 || !strings.HasPrefix(got[0], "search(") || slices.Contains(solvedCalls(), got[0]) {
						t.Fatalf("first call %v is not a detour search", got)
					}
					got, want = got[1:], want[1:]
				}
				if !slices.Equal(got, want) {
					t.Errorf("calls:\n got %v\nwant %v", got, want)
				}
				if !strings.Contains(final, `\boxed{`+tc.wantBox+`}`) {
					t.Errorf("final answer %q, want \\boxed{%s}", final, tc.wantBox)
				}
				if sum := r.summary(); sum.Message.Content != `\boxed{`+tc.wantBox+`}` {
					t.Errorf("summary %q, want \\boxed{%s}", sum.Message.Content, tc.wantBox)
				}
			})
		}
	}
}

// TestAgentSummaryCutShort checks that a summary request right after a
// tool result (a rollout stopped at its turn limit) gets the box, not
// another call.
func TestAgentSummaryCutShort(t *testing.T) {
	s := startOracle(t, Config{Keys: testKeys()})
	c := client(s, llm.RoleAgent)
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			r := newRollout(t, c, mode, 5, testQuestion)
			for range 3 {
				if final, done := r.step(); done {
					t.Fatalf("answered early: %q", final)
				}
			}
			if sum := r.summary(); sum.Message.Content != `\boxed{Vistula}` || len(sum.Message.ToolCalls) != 0 {
				t.Errorf("summary after a tool result: %q with %d calls", sum.Message.Content, len(sum.Message.ToolCalls))
			}
		})
	}
}

// TestAgentDeterministic checks that every turn of a rollout is a function of
// the request: two runs with the same seed give the same conversation, and
// the same request body gives the same reply bytes.
func TestAgentDeterministic(t *testing.T) {
	s := startOracle(t, Config{Keys: testKeys(), ErrorRate: 0.5, DetourRate: 0.5})
	c := client(s, llm.RoleAgent)
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			a := newRollout(t, c, mode, 42, testQuestion)
			a.run()
			a.summary()
			b := newRollout(t, c, mode, 42, testQuestion)
			b.run()
			b.summary()
			if !reflect.DeepEqual(a.msgs, b.msgs) {
				t.Fatalf("same seed, different conversations:\n%v\n%v", a.msgs, b.msgs)
			}
			// Replay every prefix of the conversation as a raw request.
			for n := 2; n < len(a.msgs); n++ {
				prefix := *a
				prefix.msgs = a.msgs[:n]
				body, err := json.Marshal(prefix.request())
				if err != nil {
					t.Fatal(err)
				}
				first := post(t, s, llm.RoleAgent, body)
				second := post(t, s, llm.RoleAgent, body)
				if !bytes.Equal(first, second) {
					t.Fatalf("prefix %d: replies differ:\n%s\n%s", n, first, second)
				}
			}
		})
	}
}

// post sends body raw and returns the reply body, failing on a non-200.
func post(t *testing.T, s *Server, role string, body []byte) []byte {
	t.Helper()
	status, out := postStatus(t, s, role, body)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, out)
	}
	return out
}

func postStatus(t *testing.T, s *Server, role string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL()+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if role != "" {
		req.Header.Set(llm.RoleHeader, role)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	return resp.StatusCode, out
}

func TestAgentErrorRate(t *testing.T) {
	tests := []struct {
		rate     float64
		min, max float64
	}{
		{rate: 0, min: 0, max: 0},
		{rate: 0.3, min: 0.2, max: 0.4},
		{rate: 1, min: 1, max: 1},
	}
	const seeds = 200
	for _, tc := range tests {
		s := startOracle(t, Config{Keys: testKeys(), ErrorRate: tc.rate})
		c := client(s, llm.RoleAgent)
		wrong := 0
		for seed := range seeds {
			mode := modes[seed%2]
			r := newRollout(t, c, mode, seed, testQuestion)
			r.search, r.scrape = testCorpus.search, testCorpus.scrape
			switch final := r.run(); {
			case strings.Contains(final, `\boxed{Vistula}`):
			case reBoxedName.MatchString(final):
				wrong++
			default:
				t.Fatalf("seed %d: unexpected final answer %q", seed, final)
			}
		}
		f := float64(wrong) / seeds
		t.Logf("ErrorRate %.1f: %d of %d rollouts answered wrong (%.3f)", tc.rate, wrong, seeds, f)
		if f < tc.min || f > tc.max {
			t.Errorf("ErrorRate %.1f: wrong fraction %.3f, want within %.1f..%.1f", tc.rate, f, tc.min, tc.max)
		}
	}
}

// TestDecideOncePerRollout checks that the rollout's decisions depend on the
// seed and the question only, never on how far the conversation has got.
func TestDecideOncePerRollout(t *testing.T) {
	cfg := Config{ErrorRate: 0.5, DetourRate: 0.5}
	differ := false
	for seed := range 50 {
		a := decide(seed, testQuestion, cfg)
		if b := decide(seed, testQuestion, cfg); a != b {
			t.Fatalf("seed %d: decisions differ between calls: %+v %+v", seed, a, b)
		}
		if decide(seed, testQuestion+"?", cfg) != a {
			differ = true
		}
	}
	if !differ {
		t.Errorf("decisions never depend on the question")
	}
}
