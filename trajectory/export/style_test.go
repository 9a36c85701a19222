package export

import (
	"reflect"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/trajectory"
)

// functionConversation is a short rollout in ModeFunction style: two tool
// calls with their results, then the summary turn.
func functionConversation() []trajectory.Message {
	return []trajectory.Message{
		{Role: "system", Content: trajectory.Text("You are a researcher.")},
		{Role: "user", Content: trajectory.Text("Which tower?")},
		{Role: "assistant", Content: trajectory.Text("I will search first."), ReasoningContent: trajectory.Text("think"),
			ToolCalls: []trajectory.ToolCall{{ID: "call_1", Type: "function",
				Function: trajectory.FunctionCall{Name: "google_search", Arguments: `{"q":"tower in Paris"}`}}}},
		{Role: "tool", Content: trajectory.Text(`{"organic":[]}`), ToolCallID: trajectory.Text("call_1"), Name: trajectory.Text("google_search")},
		{Role: "assistant",
			ToolCalls: []trajectory.ToolCall{{ID: "call_2", Type: "function",
				Function: trajectory.FunctionCall{Name: "scrape_and_extract_info", Arguments: "{\n  \"url\": \"https://x/a\",\n  \"info_to_extract\": \"height\"\n}"}}}},
		{Role: "tool", Content: trajectory.Text("[ERROR]: not found"), ToolCallID: trajectory.Text("call_2"), Name: trajectory.Text("scrape_and_extract_info")},
		{Role: "assistant", Content: trajectory.Text("It is the Eiffel Tower.")},
		{Role: "user", Content: trajectory.Text("Give the final answer.")},
		{Role: "assistant", Content: trajectory.Text(`\boxed{Eiffel Tower}`)},
	}
}

const (
	mcpSearchBlock = "<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n" +
		"<tool_name>google_search</tool_name>\n<arguments>\n{\"q\":\"tower in Paris\"}\n</arguments>\n</use_mcp_tool>"
	mcpScrapeBlock = "<use_mcp_tool>\n<server_name>jina_scrape_llm_summary</server_name>\n" +
		"<tool_name>scrape_and_extract_info</tool_name>\n<arguments>\n{\n  \"url\": \"https://x/a\",\n  \"info_to_extract\": \"height\"\n}\n</arguments>\n</use_mcp_tool>"
)

// mcpConversation is functionConversation in ModeMCP style.
func mcpConversation() []trajectory.Message {
	return []trajectory.Message{
		{Role: "system", Content: trajectory.Text("You are a researcher.")},
		{Role: "user", Content: trajectory.Text("Which tower?")},
		{Role: "assistant", Content: trajectory.Text("I will search first.\n\n" + mcpSearchBlock), ReasoningContent: trajectory.Text("think")},
		{Role: "user", Content: trajectory.Text(`{"organic":[]}`)},
		{Role: "assistant", Content: trajectory.Text(mcpScrapeBlock)},
		{Role: "user", Content: trajectory.Text("[ERROR]: not found")},
		{Role: "assistant", Content: trajectory.Text("It is the Eiffel Tower.")},
		{Role: "user", Content: trajectory.Text("Give the final answer.")},
		{Role: "assistant", Content: trajectory.Text(`\boxed{Eiffel Tower}`)},
	}
}

func TestToStyle(t *testing.T) {
	tests := []struct {
		name      string
		in        []trajectory.Message
		from, to  string
		want      []trajectory.Message
		wantError bool
	}{
		{name: "function to chatml", in: functionConversation(), from: trajectory.ModeFunction, to: StyleChatML, want: mcpConversation()},
		{name: "mcp to openai", in: mcpConversation(), from: trajectory.ModeMCP, to: StyleOpenAI, want: functionConversation()},
		{name: "same style copies", in: mcpConversation(), from: StyleChatML, to: StyleChatML, want: mcpConversation()},
		{name: "unknown target", in: mcpConversation(), from: trajectory.ModeMCP, to: "sharegpt", wantError: true},
		{name: "unknown source", in: mcpConversation(), from: "xml", to: StyleOpenAI, wantError: true},
		{name: "tool outside the profile", from: trajectory.ModeFunction, to: StyleChatML, wantError: true,
			in: []trajectory.Message{{Role: "assistant", ToolCalls: []trajectory.ToolCall{{ID: "c", Type: "function",
				Function: trajectory.FunctionCall{Name: "launch_rocket", Arguments: "{}"}}}}}},
		{name: "mcp input with native calls", in: functionConversation(), from: trajectory.ModeMCP, to: StyleOpenAI, wantError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := toStyle(tt.in, tt.from, tt.to)
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
	tests := []struct {
		name     string
		in       []trajectory.Message
		from, to string
	}{
		{"openai via chatml", functionConversation(), StyleOpenAI, StyleChatML},
		{"chatml via openai", mcpConversation(), StyleChatML, StyleOpenAI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mid, err := toStyle(tt.in, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			back, err := toStyle(mid, tt.to, tt.from)
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
	in := functionConversation()
	out, err := toStyle(in, trajectory.ModeFunction, StyleOpenAI)
	if err != nil {
		t.Fatal(err)
	}
	*out[0].Content = "changed"
	out[2].ToolCalls[0].Function.Name = "changed"
	if *in[0].Content == "changed" || in[2].ToolCalls[0].Function.Name == "changed" {
		t.Error("toStyle output shares memory with its input")
	}
}

func TestStyleSplitMCP(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantText  string
		wantCalls []styleMCPCall
	}{
		{name: "no block", in: "just text  ", wantText: "just text  "},
		{name: "canonical", in: "Search.\n\n" + mcpSearchBlock,
			wantText: "Search.", wantCalls: []styleMCPCall{{tool: "google_search", args: `{"q":"tower in Paris"}`}}},
		{name: "tight and trailing space",
			in:       "x<use_mcp_tool><server_name>tool-python</server_name><tool_name>run_command</tool_name><arguments>{\"command\":\"ls\"}</arguments></use_mcp_tool>\n ",
			wantText: "x", wantCalls: []styleMCPCall{{tool: "run_command", args: `{"command":"ls"}`}}},
		{name: "closing tags eaten by a stop sequence",
			in:       "x\n<use_mcp_tool>\n<tool_name>create_sandbox</tool_name>\n<arguments>\n{}",
			wantText: "x", wantCalls: []styleMCPCall{{tool: "create_sandbox", args: "{}"}}},
		{name: "fenced json",
			in:       "<use_mcp_tool><tool_name>google_search</tool_name><arguments>\n```json\n{\"q\":\"a\"}\n```\n</arguments></use_mcp_tool>",
			wantText: "", wantCalls: []styleMCPCall{{tool: "google_search", args: `{"q":"a"}`}}},
		{name: "no arguments", in: "<use_mcp_tool><tool_name>create_sandbox</tool_name></use_mcp_tool>",
			wantText: "", wantCalls: []styleMCPCall{{tool: "create_sandbox", args: "{}"}}},
		{name: "two blocks keep order", in: "t\n\n" + mcpSearchBlock + "\n\n" + mcpScrapeBlock,
			wantText: "t", wantCalls: []styleMCPCall{
				{tool: "google_search", args: `{"q":"tower in Paris"}`},
				{tool: "scrape_and_extract_info", args: "{\n  \"url\": \"https://x/a\",\n  \"info_to_extract\": \"height\"\n}"}}},
		{name: "block followed by text is not a call", in: mcpSearchBlock + "\nand then more", wantText: mcpSearchBlock + "\nand then more"},
		{name: "block without tool name", in: "a <use_mcp_tool><arguments>{}</arguments></use_mcp_tool>",
			wantText: "a <use_mcp_tool><arguments>{}</arguments></use_mcp_tool>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, calls := styleSplitMCP(tt.in)
			if text != tt.wantText || !reflect.DeepEqual(calls, tt.wantCalls) {
				t.Errorf("styleSplitMCP = %q, %+v; want %q, %+v", text, calls, tt.wantText, tt.wantCalls)
			}
		})
	}
}

func TestRenderMCPBlockServers(t *testing.T) {
	tests := []struct{ tool, server string }{
		{"google_search", "search_and_scrape_webpage"},
		{"scrape_and_extract_info", "jina_scrape_llm_summary"},
		{"create_sandbox", "tool-python"},
		{"run_python_code", "tool-python"},
		{"run_command", "tool-python"},
	}
	for _, tt := range tests {
		b, err := renderMCPBlock(tt.tool, "{}")
		if err != nil {
			t.Fatalf("%s: %v", tt.tool, err)
		}
		if !strings.Contains(b, "<server_name>"+tt.server+"</server_name>") {
			t.Errorf("%s: block %q lacks server %s", tt.tool, b, tt.server)
		}
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
