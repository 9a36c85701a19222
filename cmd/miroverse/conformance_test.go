package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/miroverse/miroverse/pipeline"
	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/export"
)

// The conformance suite checks every demo trajectory, in both modes, against
// this file's own transcription of MiroThinker's rules (MiroMindAI/
// MiroThinker, apps/miroflow-agent): what each agent request carried
// (retention and summary assembly), how MCP text is parsed, which calls may
// stay in a trajectory (repeat and empty-search rollbacks), how the final
// answer is read from \boxed{}, and that every MiroThinker-style row the
// exporter wrote parses back into the calls, arguments and results of its
// rollout. The transcriptions below deliberately use none of the product's
// rule code, so that a rule changed there is caught here.

// mtKeep and mtMaxRollbacks are the demo's keep_tool_results and
// max_rollbacks (MiroThinker's keep_tool_result and
// MAX_CONSECUTIVE_ROLLBACKS).
const (
	mtKeep         = 5
	mtMaxRollbacks = 5
)

// mtRetain transcribes base_client.py, _remove_tool_result_from_messages:
// every user or tool message after the first user message is a tool result;
// all but the last keep get the placeholder.
func mtRetain(msgs []trajectory.Message, keep int) []trajectory.Message {
	out := make([]trajectory.Message, len(msgs))
	copy(out, msgs)
	if keep == -1 {
		return out
	}
	var userIdx []int
	for i, m := range out {
		if m.Role == "user" || m.Role == "tool" {
			userIdx = append(userIdx, i)
		}
	}
	if len(userIdx) <= 1 {
		return out
	}
	results := userIdx[1:]
	kept := map[int]bool{}
	if n := min(keep, len(results)); n > 0 {
		for _, i := range results[len(results)-n:] {
			kept[i] = true
		}
	}
	for _, i := range results {
		if !kept[i] {
			out[i].Content = trajectory.Text("Tool result is omitted to save tokens.")
		}
	}
	return out
}

// mtMCPCall transcribes the MCP branch of parsing_utils.py,
// parse_llm_response_for_tool_calls: complete blocks only, anywhere in the
// text, names trimmed.
var mtMCPCall = regexp.MustCompile(`(?s)<use_mcp_tool>\s*<server_name>(.*?)</server_name>\s*<tool_name>(.*?)</tool_name>\s*<arguments>\s*(.*?)\s*</arguments>\s*</use_mcp_tool>`)

type mtCall struct {
	server, tool string
	args         map[string]any
}

func mtParseMCP(t *testing.T, text string) []mtCall {
	t.Helper()
	var out []mtCall
	for _, m := range mtMCPCall.FindAllStringSubmatch(text, -1) {
		var args map[string]any
		if err := json.Unmarshal([]byte(strings.TrimSpace(m[3])), &args); err != nil {
			t.Fatalf("MCP arguments %q: %v", m[3], err)
		}
		out = append(out, mtCall{server: strings.TrimSpace(m[1]), tool: strings.TrimSpace(m[2]), args: args})
	}
	return out
}

// mtBoxed transcribes output_formatter.py, OutputFormatter._extract_boxed_content.
func mtBoxed(text string) string {
	var last *string
	boxedAt := regexp.MustCompile(`\\boxed\b`)
	i, n := 0, len(text)
	for {
		loc := boxedAt.FindStringIndex(text[i:])
		if loc == nil {
			break
		}
		j := i + loc[1]
		for j < n && unicode.IsSpace(rune(text[j])) {
			j++
		}
		if j >= n || text[j] != '{' {
			i = j
			continue
		}
		depth, k, escaped, closed := 0, j, false, false
		for ; k < n; k++ {
			switch ch := text[k]; {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '{':
				depth++
			case ch == '}':
				depth--
				if depth == 0 {
					s := text[j+1 : k]
					last, i, closed = &s, k+1, true
				}
			}
			if closed {
				break
			}
		}
		switch {
		case !closed && depth > 0:
			s := text[j+1 : n]
			last, i = &s, k
		case !closed:
			i = j + 1
		}
	}
	if last == nil {
		return ""
	}
	for _, b := range []string{"?", "??", "???", "？", "……", "…", "...", "unknown"} {
		if *last == b {
			return ""
		}
	}
	return strings.TrimSpace(*last)
}

// mtQueryKey transcribes tool_executor.py, get_query_str_from_tool_call.
func mtQueryKey(tool string, args map[string]any) string {
	str := func(k string) string {
		if v, ok := args[k]; ok && v != nil {
			if s, ok := v.(string); ok {
				return s
			}
			return fmt.Sprint(v)
		}
		return ""
	}
	switch tool {
	case "google_search":
		return tool + "_" + str("q")
	case "scrape_and_extract_info":
		return tool + "_" + str("url") + "_" + str("info_to_extract")
	}
	return ""
}

// mtEmptySearch transcribes is_google_search_empty_result.
func mtEmptySearch(tool, result string) bool {
	if tool != "google_search" || result == "" {
		return false
	}
	var r map[string]any
	if json.Unmarshal([]byte(result), &r) != nil {
		return false
	}
	organic, _ := r["organic"].([]any)
	return len(organic) == 0
}

// loggedCall is one call of a stored log with its result and the turn (the
// n-th assistant message, from 1) that made it.
type loggedCall struct {
	turn   int
	tool   string
	args   map[string]any
	result string
}

// callsOf lists the calls of a stored log, read independently of the
// product's parsers: native tool_calls in function mode, the transcribed
// regex in MCP mode.
func callsOf(t *testing.T, mode string, msgs []trajectory.Message) []loggedCall {
	t.Helper()
	var out []loggedCall
	turn := 0
	text := func(m trajectory.Message) string {
		if m.Content == nil {
			return ""
		}
		return *m.Content
	}
	for i, m := range msgs {
		if m.Role != "assistant" {
			continue
		}
		turn++
		if mode == "function" {
			for _, tc := range m.ToolCalls {
				var args map[string]any
				if err := json.Unmarshal([]byte(tc.Function.Arguments), &args); err != nil {
					t.Fatalf("arguments %q: %v", tc.Function.Arguments, err)
				}
				_, tool := trajectory.SplitFunctionName(tc.Function.Name)
				c := loggedCall{turn: turn, tool: tool, args: args}
				for _, r := range msgs[i+1:] {
					if r.Role == "tool" && r.ToolCallID != nil && *r.ToolCallID == tc.ID {
						c.result = text(r)
						break
					}
				}
				out = append(out, c)
			}
			continue
		}
		calls := mtParseMCP(t, text(m))
		result := ""
		if i+1 < len(msgs) && msgs[i+1].Role == "user" && !trajectory.IsSummaryRequest(text(msgs[i+1])) {
			result = text(msgs[i+1])
		}
		for _, c := range calls {
			if want := trajectory.ServerOf(c.tool); c.server != want {
				t.Fatalf("turn %d calls %s on %q, want %q", turn, c.tool, c.server, want)
			}
			out = append(out, loggedCall{turn: turn, tool: c.tool, args: c.args, result: result})
		}
	}
	return out
}

var (
	mcpDemoOnce sync.Once
	mcpDemoRoot string
)

// mcpDemo runs the demo in MCP mode, exported in MiroThinker's style, once.
func mcpDemo(t *testing.T) string {
	t.Helper()
	mcpDemoOnce.Do(func() {
		cfg := demoConfig(t, "synthesize:\n  mode: mcp\nexport:\n  style: mirothinker\n")
		dir, err := os.MkdirTemp("", "miroverse-mcp-demo-")
		if err != nil {
			t.Fatal(err)
		}
		root := filepath.Join(dir, "out")
		run(t, "run", "--config", cfg, "--out", root, "--quiet")
		mcpDemoRoot = root
	})
	if mcpDemoRoot == "" {
		t.Fatal("MCP demo run failed in an earlier test")
	}
	return mcpDemoRoot
}

// reexport copies root and exports it again in style.
func reexport(t *testing.T, root, style string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "out")
	if err := os.CopyFS(dst, os.DirFS(root)); err != nil {
		t.Fatal(err)
	}
	cfg := demoConfig(t, "export:\n  style: "+style+"\n")
	run(t, "export", "--config", cfg, "--out", dst, "--quiet")
	return dst
}

func TestProtocolConformance(t *testing.T) {
	requireSandbox(t)
	for _, tc := range []struct {
		mode string
		root func(*testing.T) string
	}{
		{"function", demo},
		{"mcp", mcpDemo},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			root := tc.root(t)
			// The protocol choices are recorded with the config.
			m, err := pipeline.ReadManifest(root)
			if err != nil {
				t.Fatal(err)
			}
			s := m.Config.Synthesize
			if got := []string{s.BoxRule, s.Retention, s.SummaryAfterResult, s.RepeatCalls, s.EmptySearch, s.FunctionNames, s.ScrapeResult, s.PythonResult, s.UnknownArguments}; !reflect.DeepEqual(got,
				[]string{"mirothinker", "mirothinker", "drop", "rollback", "rollback", "server-tool", "json", "e2b", "server"}) || s.Today == "" {
				t.Fatalf("manifest records the protocol choices as %v, today %q", got, s.Today)
			}
			rows := readTrajectories(t, root)
			if len(rows) == 0 {
				t.Fatal("no trajectories")
			}
			st := conformanceStats{}
			for _, r := range rows {
				if r.Mode != tc.mode {
					t.Fatalf("%s: mode %q", r.ID, r.Mode)
				}
				checkRollout(t, r, &st)
			}
			// The suite must have met the rules it checks, or it checked
			// nothing.
			if st.requests == 0 || st.summaries == 0 || st.calls == 0 || st.answers == 0 {
				t.Fatalf("suite saw too little: %+v", st)
			}
			t.Logf("%s: %d rollouts, %d agent requests replayed, %d summary turns, %d calls, %d answers, %d rollbacks",
				tc.mode, len(rows), st.requests, st.summaries, st.calls, st.answers, st.rollbacks)

			styled := root
			if tc.mode == "function" {
				styled = reexport(t, root, export.StyleChatML)
			}
			checkMiroThinkerRows(t, styled, rows)
		})
	}
}

type conformanceStats struct {
	requests, summaries, calls, answers, rollbacks int
}

func checkRollout(t *testing.T, r pipeline.TrajectoryRow, st *conformanceStats) {
	t.Helper()
	msgs := r.Messages
	// Where each kept turn's reply sits in the log.
	var replyAt []int
	for i, m := range msgs {
		if m.Role == "assistant" {
			replyAt = append(replyAt, i)
		}
	}
	if len(replyAt) != int(r.NumTurns) {
		t.Fatalf("%s: %d assistant messages for %d turns", r.ID, len(replyAt), r.NumTurns)
	}

	// Retention and summary assembly: every agent call, kept or rolled
	// back, sent the log before its turn's reply with MiroThinker's
	// retention; the summary request is sent without tools.
	tries := map[int]int{}
	for _, c := range r.Calls {
		if c.Role != "agent" {
			continue
		}
		tries[int(c.Turn)]++
		prefix := msgs
		if int(c.Turn) <= len(replyAt) {
			prefix = msgs[:replyAt[c.Turn-1]]
		}
		last := prefix[len(prefix)-1]
		summary := last.Role == "user" && last.Content != nil && trajectory.IsSummaryRequest(*last.Content)
		withTools := r.Mode == "function" && !summary
		if got, want := c.SentHash, trajectory.SentHash(mtRetain(prefix, mtKeep), withTools); got != want {
			t.Fatalf("%s turn %d: the agent sent %s, MiroThinker's retention gives %s", r.ID, c.Turn, got, want)
		}
		st.requests++
		if summary {
			st.summaries++
			// MiroThinker pops a final user message before it appends
			// the request, so in MCP mode the request never follows one.
			if before := prefix[len(prefix)-2]; r.Mode == "mcp" && before.Role == "user" {
				t.Fatalf("%s: the summary request follows a user message", r.ID)
			}
			if !strings.Contains(*last.Content, `"`+rolloutQuestion(t, r)+`"`) {
				t.Fatalf("%s: the summary request does not quote the question", r.ID)
			}
		}
	}

	// Repeats and empty searches stay in a trajectory only after
	// max_rollbacks-1 rollbacks in a row at that turn.
	calls := callsOf(t, r.Mode, msgs)
	if len(calls) != int(r.NumToolCalls) {
		t.Fatalf("%s: %d calls in the log, num_tool_calls %d", r.ID, len(calls), r.NumToolCalls)
	}
	used := map[string]bool{}
	for _, c := range calls {
		rolledBack := tries[c.turn] - 1
		key := mtQueryKey(c.tool, c.args)
		if key != "" && used[key] && rolledBack < mtMaxRollbacks-1 {
			t.Fatalf("%s turn %d: repeated %s kept after %d rollbacks", r.ID, c.turn, key, rolledBack)
		}
		if mtEmptySearch(c.tool, c.result) && rolledBack < mtMaxRollbacks-1 {
			t.Fatalf("%s turn %d: empty search result kept after %d rollbacks", r.ID, c.turn, rolledBack)
		}
		if key != "" && !strings.HasPrefix(c.result, "[ERROR]:") {
			used[key] = true
		}
		st.calls++
	}
	for _, n := range tries {
		st.rollbacks += n - 1
	}

	// The answer: the summary reply's last box, else the last box of the
	// earlier replies.
	if r.Status == trajectory.StatusAnswered || r.Status == trajectory.StatusFormatError {
		want := ""
		for i := len(replyAt) - 1; i >= 0 && want == ""; i-- {
			if c := msgs[replyAt[i]].Content; c != nil {
				want = mtBoxed(*c)
			}
		}
		switch {
		case want == "" && r.Status != trajectory.StatusFormatError:
			t.Fatalf("%s: status %s answer %q, MiroThinker finds no answer", r.ID, r.Status, r.Answer)
		case want != "" && (r.Status != trajectory.StatusAnswered || r.Answer != want):
			t.Fatalf("%s: status %s answer %q, MiroThinker reads %q", r.ID, r.Status, r.Answer, want)
		}
		st.answers++
	}
}

// rolloutQuestion is the question of a rollout: its first user message before
// the fixed format line.
func rolloutQuestion(t *testing.T, r pipeline.TrajectoryRow) string {
	t.Helper()
	for _, m := range r.Messages {
		if m.Role == "user" && m.Content != nil {
			q, _, ok := strings.Cut(*m.Content, "\nFollow any format the question asks for")
			if !ok {
				t.Fatalf("%s: first user message %q does not start with the question", r.ID, *m.Content)
			}
			return q
		}
	}
	t.Fatalf("%s: no user message", r.ID)
	return ""
}

// conversationCalls reads calls, arguments and results back from an exported
// MiroThinker-style conversation: the reply's think block, the blocks of
// the transcribed parser, and the user message after them.
type parsedCall struct {
	Tool   string
	Args   map[string]any
	Result string
}

func parseMiroThinkerRow(t *testing.T, id string, msgs []trajectory.Message) []parsedCall {
	t.Helper()
	var out []parsedCall
	for i, m := range msgs {
		if m.Role == "tool" || len(m.ToolCalls) > 0 || m.ReasoningContent != nil {
			t.Fatalf("%s message %d (%s): native fields in a MiroThinker-style row", id, i, m.Role)
		}
		if m.Role != "assistant" || m.Content == nil {
			continue
		}
		calls := mtParseMCP(t, *m.Content)
		result := ""
		if len(calls) > 0 {
			if i+1 >= len(msgs) || msgs[i+1].Role != "user" {
				t.Fatalf("%s message %d: calls without a result message", id, i)
			}
			result = *msgs[i+1].Content
		}
		for _, c := range calls {
			out = append(out, parsedCall{Tool: c.tool, Args: c.args, Result: result})
		}
	}
	return out
}

func checkMiroThinkerRows(t *testing.T, root string, rows []pipeline.TrajectoryRow) {
	t.Helper()
	byID := map[string]pipeline.TrajectoryRow{}
	byQA := map[string][]pipeline.TrajectoryRow{}
	for _, r := range rows {
		byID[r.ID] = r
		byQA[r.QAID] = append(byQA[r.QAID], r)
	}
	want := func(r pipeline.TrajectoryRow) []parsedCall {
		var out []parsedCall
		for _, c := range callsOf(t, r.Mode, r.Messages) {
			out = append(out, parsedCall{Tool: c.tool, Args: c.args, Result: c.result})
		}
		return out
	}
	checkShape := func(id string, msgs []trajectory.Message, r pipeline.TrajectoryRow) {
		sys := *msgs[0].Content
		if msgs[0].Role != "system" || !strings.Contains(sys, "Today is: ") || !strings.Contains(sys, "\n## Server name: search_and_scrape_webpage\n### Tool name: google_search\n") {
			t.Fatalf("%s: system prompt lacks MiroThinker's structure:\n%.600s", id, sys)
		}
		for i, m := range msgs {
			orig := r.Messages[min(i, len(r.Messages)-1)]
			if m.Role == "assistant" && orig.Role == "assistant" && orig.ReasoningContent != nil && *orig.ReasoningContent != "" &&
				!strings.HasPrefix(*m.Content, "<think>\n"+*orig.ReasoningContent+"\n</think>\n\n") {
				t.Fatalf("%s message %d: reasoning is not a leading think block: %.200q", id, i, *m.Content)
			}
		}
	}
	sft := readRows[export.SFTRow](t, root, "sft/data")
	for _, row := range sft {
		got := parseMiroThinkerRow(t, row.ID, row.Messages)
		matched := false
		for _, r := range byQA[row.QAID] {
			if len(r.Messages) == len(row.Messages) && reflect.DeepEqual(got, want(r)) {
				checkShape(row.ID, row.Messages, r)
				matched = true
				break
			}
		}
		if !matched {
			t.Fatalf("SFT row %s parses into calls that no rollout of %s made: %+v", row.ID, row.QAID, got)
		}
	}
	dpo := readRows[export.DPORow](t, root, "dpo/data")
	for _, row := range dpo {
		for side, ro := range map[string]struct {
			id   string
			msgs []trajectory.Message
		}{"chosen": {row.ChosenRolloutID, row.Chosen}, "rejected": {row.RejectedRolloutID, row.Rejected}} {
			r, ok := byID[ro.id]
			if !ok {
				t.Fatalf("DPO row %s %s: no rollout %s", row.ID, side, ro.id)
			}
			full := append(append([]trajectory.Message(nil), row.Prompt...), ro.msgs...)
			if got := parseMiroThinkerRow(t, row.ID, full); !reflect.DeepEqual(got, want(r)) {
				t.Fatalf("DPO row %s %s parses into %+v, rollout %s made %+v", row.ID, side, got, r.ID, want(r))
			}
			checkShape(row.ID+" "+side, full, r)
		}
	}
	if len(sft) == 0 || len(dpo) == 0 {
		t.Fatalf("%d SFT and %d DPO rows: nothing to check", len(sft), len(dpo))
	}
	t.Logf("%d SFT rows and %d DPO pairs parse back into their rollouts' calls", len(sft), len(dpo))
}
