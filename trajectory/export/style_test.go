package export

import (
	"reflect"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/trajectory"
)

// testSystem is a system prompt laid out as the agent's, without the tool
// section (function mode).
const testSystem = "You are a researcher. Today is: 2025-10-01\n\n" + trajectory.ObjectiveHeading + "\n\nFind things out."

// testTools are the tools of the test rollouts, as their tools column lists
// them.
func testTools() []trajectory.ToolSpec {
	return []trajectory.ToolSpec{
		{Server: trajectory.ServerSearch, Name: trajectory.ToolGoogleSearch, Description: "Search.", Schema: []byte(`{"type":"object"}`)},
		{Server: trajectory.ServerScrape, Name: trajectory.ToolScrape, Description: "Read a page.", Schema: []byte(`{"type":"object"}`)},
	}
}

func mcpSystem() string {
	s, ok := trajectory.WithMCPTools(testSystem, testTools())
	if !ok {
		panic("test system prompt has no objective heading")
	}
	return s
}

// functionConversation is a short rollout in ModeFunction style: two tool
// calls with their results, then the summary turn. Function names follow
// naming.
func functionConversation(naming string) []trajectory.Message {
	search := trajectory.FunctionName(trajectory.ToolGoogleSearch, naming)
	scrape := trajectory.FunctionName(trajectory.ToolScrape, naming)
	return []trajectory.Message{
		{Role: "system", Content: trajectory.Text(testSystem)},
		{Role: "user", Content: trajectory.Text("Which tower?")},
		{Role: "assistant", Content: trajectory.Text("I will search first."), ReasoningContent: trajectory.Text("think"),
			ToolCalls: []trajectory.ToolCall{{ID: "call_1", Type: "function",
				Function: trajectory.FunctionCall{Name: search, Arguments: `{"q":"tower in Paris"}`}}}},
		{Role: "tool", Content: trajectory.Text(`{"organic":[]}`), ToolCallID: trajectory.Text("call_1"), Name: trajectory.Text(search)},
		{Role: "assistant",
			ToolCalls: []trajectory.ToolCall{{ID: "call_2", Type: "function",
				Function: trajectory.FunctionCall{Name: scrape, Arguments: `{"url":"https://x/a","info_to_extract":"height"}`}}}},
		{Role: "tool", Content: trajectory.Text("[ERROR]: not found"), ToolCallID: trajectory.Text("call_2"), Name: trajectory.Text(scrape)},
		{Role: "assistant", Content: trajectory.Text("It is the Eiffel Tower.")},
		{Role: "user", Content: trajectory.Text(trajectory.SummaryRequest("Which tower?"))},
		{Role: "assistant", Content: trajectory.Text(`\boxed{Eiffel Tower}`), ReasoningContent: trajectory.Text("sure")},
	}
}

const (
	mcpSearchBlock = "<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n" +
		"<tool_name>google_search</tool_name>\n<arguments>\n{\"q\":\"tower in Paris\"}\n</arguments>\n</use_mcp_tool>"
	mcpScrapeBlock = "<use_mcp_tool>\n<server_name>jina_scrape_llm_summary</server_name>\n" +
		"<tool_name>scrape_and_extract_info</tool_name>\n<arguments>\n{\"url\":\"https://x/a\",\"info_to_extract\":\"height\"}\n</arguments>\n</use_mcp_tool>"
)

// mcpConversation is functionConversation in MiroThinker's style: the tool
// section in the system prompt, reasoning in a think block, calls as text.
func mcpConversation() []trajectory.Message {
	return []trajectory.Message{
		{Role: "system", Content: trajectory.Text(mcpSystem())},
		{Role: "user", Content: trajectory.Text("Which tower?")},
		{Role: "assistant", Content: trajectory.Text("<think>\nthink\n</think>\n\nI will search first.\n\n" + mcpSearchBlock)},
		{Role: "user", Content: trajectory.Text(`{"organic":[]}`)},
		{Role: "assistant", Content: trajectory.Text(mcpScrapeBlock)},
		{Role: "user", Content: trajectory.Text("[ERROR]: not found")},
		{Role: "assistant", Content: trajectory.Text("It is the Eiffel Tower.")},
		{Role: "user", Content: trajectory.Text(trajectory.SummaryRequest("Which tower?"))},
		{Role: "assistant", Content: trajectory.Text("<think>\nsure\n</think>\n\n\\boxed{Eiffel Tower}")},
	}
}

// twoCalls is an assistant message with two native calls and their results.
func twoCalls() []trajectory.Message {
	return []trajectory.Message{
		{Role: "system", Content: trajectory.Text(testSystem)},
		{Role: "user", Content: trajectory.Text("Which tower?")},
		{Role: "assistant", ToolCalls: []trajectory.ToolCall{
			{ID: "a", Type: "function", Function: trajectory.FunctionCall{Name: "google_search", Arguments: `{"q":"tower in Paris"}`}},
			{ID: "b", Type: "function", Function: trajectory.FunctionCall{Name: "run_command", Arguments: `{"command":"ls","sandbox_id":"s"}`}},
		}},
		{Role: "tool", Content: trajectory.Text("one"), ToolCallID: trajectory.Text("a"), Name: trajectory.Text("google_search")},
		{Role: "tool", Content: trajectory.Text("two"), ToolCallID: trajectory.Text("b"), Name: trajectory.Text("run_command")},
	}
}

func TestToStyle(t *testing.T) {
	runBlock := "<use_mcp_tool>\n<server_name>tool-python</server_name>\n<tool_name>run_command</tool_name>\n" +
		"<arguments>\n{\"command\":\"ls\",\"sandbox_id\":\"s\"}\n</arguments>\n</use_mcp_tool>"
	server := convert{tools: testTools(), naming: trajectory.FunctionNamesServerTool}
	bare := convert{tools: testTools(), naming: trajectory.FunctionNamesBare}
	tests := []struct {
		name      string
		in        []trajectory.Message
		from, to  string
		cv        convert
		want      []trajectory.Message
		wantError bool
	}{
		{name: "function to chatml", in: functionConversation(trajectory.FunctionNamesServerTool), from: trajectory.ModeFunction, to: StyleChatML, cv: server, want: mcpConversation()},
		{name: "bare function names to chatml", in: functionConversation(trajectory.FunctionNamesBare), from: trajectory.ModeFunction, to: StyleChatML, cv: bare, want: mcpConversation()},
		{name: "mcp to openai, server-tool names", in: mcpConversation(), from: trajectory.ModeMCP, to: StyleOpenAI, cv: server, want: functionConversation(trajectory.FunctionNamesServerTool)},
		{name: "mcp to openai, bare names", in: mcpConversation(), from: trajectory.ModeMCP, to: StyleOpenAI, cv: bare, want: functionConversation(trajectory.FunctionNamesBare)},
		{name: "same style copies", in: mcpConversation(), from: StyleChatML, to: StyleChatML, cv: server, want: mcpConversation()},
		{name: "two calls: two blocks, one user message of both results", in: twoCalls(), from: trajectory.ModeFunction, to: StyleChatML, cv: server,
			want: []trajectory.Message{
				{Role: "system", Content: trajectory.Text(mcpSystem())},
				{Role: "user", Content: trajectory.Text("Which tower?")},
				{Role: "assistant", Content: trajectory.Text(mcpSearchBlock + "\n\n" + runBlock)},
				{Role: "user", Content: trajectory.Text("one\ntwo")},
			}},
		{name: "blanks inside the tags: the call the agent ran is a call here too", cv: bare,
			in: []trajectory.Message{
				{Role: "user", Content: trajectory.Text("Which tower?")},
				{Role: "assistant", Content: trajectory.Text("Search.\n<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n<tool_name >google_search</tool_name >\n<arguments>\n{\"q\": \"tower\"}\n</arguments>\n</use_mcp_tool>")},
				{Role: "user", Content: trajectory.Text("result")},
			},
			from: trajectory.ModeMCP, to: StyleOpenAI,
			want: []trajectory.Message{
				{Role: "user", Content: trajectory.Text("Which tower?")},
				{Role: "assistant", Content: trajectory.Text("Search."), ToolCalls: []trajectory.ToolCall{{ID: "call_1", Type: "function",
					Function: trajectory.FunctionCall{Name: "google_search", Arguments: `{"q":"tower"}`}}}},
				{Role: "tool", Content: trajectory.Text("result"), ToolCallID: trajectory.Text("call_1"), Name: trajectory.Text("google_search")},
			}},
		{name: "unknown target", in: mcpConversation(), from: trajectory.ModeMCP, to: "sharegpt", wantError: true},
		{name: "unknown source", in: mcpConversation(), from: "xml", to: StyleOpenAI, wantError: true},
		{name: "tool outside the profile", from: trajectory.ModeFunction, to: StyleChatML, wantError: true,
			in: []trajectory.Message{{Role: "assistant", ToolCalls: []trajectory.ToolCall{{ID: "c", Type: "function",
				Function: trajectory.FunctionCall{Name: "launch_rocket", Arguments: "{}"}}}}}},
		{name: "mcp input with native calls", in: functionConversation(""), from: trajectory.ModeMCP, to: StyleOpenAI, wantError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := toStyle(tt.in, tt.from, tt.to, tt.cv)
			if (err != nil) != tt.wantError {
				t.Fatalf("err = %v, wantError %v", err, tt.wantError)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("toStyle mismatch:\n got %s\nwant %s", dumpMessages(got), dumpMessages(tt.want))
			}
		})
	}
}

func TestToStyleRoundTrip(t *testing.T) {
	cv := convert{tools: testTools(), naming: trajectory.FunctionNamesServerTool}
	tests := []struct {
		name     string
		in       []trajectory.Message
		from, to string
	}{
		{"openai via chatml", functionConversation(trajectory.FunctionNamesServerTool), StyleOpenAI, StyleChatML},
		{"chatml via openai", mcpConversation(), StyleChatML, StyleOpenAI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mid, err := toStyle(tt.in, tt.from, tt.to, cv)
			if err != nil {
				t.Fatal(err)
			}
			back, err := toStyle(mid, tt.to, tt.from, cv)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.in) {
				t.Errorf("round trip changed the messages:\n got %s\nwant %s", dumpMessages(back), dumpMessages(tt.in))
			}
		})
	}
}

func TestToStyleDoesNotAlias(t *testing.T) {
	in := functionConversation("")
	out, err := toStyle(in, trajectory.ModeFunction, StyleOpenAI, convert{})
	if err != nil {
		t.Fatal(err)
	}
	*out[0].Content = "changed"
	out[2].ToolCalls[0].Function.Name = "changed"
	if *in[0].Content == "changed" || in[2].ToolCalls[0].Function.Name == "changed" {
		t.Error("toStyle output shares memory with its input")
	}
}

func dumpMessages(ms []trajectory.Message) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString("\n  " + m.Role + ": ")
		if m.Content == nil {
			b.WriteString("<nil>")
		} else {
			b.WriteString(strings.ReplaceAll(*m.Content, "\n", `\n`))
		}
		for _, tc := range m.ToolCalls {
			b.WriteString(" [" + tc.ID + " " + tc.Function.Name + " " + tc.Function.Arguments + "]")
		}
		if m.ToolCallID != nil {
			b.WriteString(" id=" + *m.ToolCallID)
		}
		if m.Name != nil {
			b.WriteString(" name=" + *m.Name)
		}
	}
	return b.String()
}
