package trajectory_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/trajectory"
)

func TestParseMCP(t *testing.T) {
	search := trajectory.MCPCall{Server: "search_and_scrape_webpage", Tool: "google_search", Arguments: `{"q":"Ada Lovelace"}`}
	tests := []struct {
		name    string
		in      string
		want    trajectory.MCPCall
		ok      bool
		wantErr bool
		// first is the first of two calls; want is then the second.
		first *trajectory.MCPCall
	}{
		{
			name: "canonical",
			in:   "Let me search.\n\n" + trajectory.FormatMCP(search),
			want: search, ok: true,
		},
		{
			name: "compact on one line",
			in:   `<use_mcp_tool><server_name>search_and_scrape_webpage</server_name><tool_name>google_search</tool_name><arguments>{"q":"Ada Lovelace"}</arguments></use_mcp_tool>`,
			want: search, ok: true,
		},
		{
			name: "whitespace everywhere",
			in: "thinking...\n<use_mcp_tool>\n\n   <server_name>\n  search_and_scrape_webpage \n</server_name>\n\t<tool_name> google_search </tool_name>\n" +
				"<arguments>\n\n   {\n  \"q\" :  \"Ada Lovelace\"\n}\n   </arguments>\n\n</use_mcp_tool>\n\n",
			want: search, ok: true,
		},
		{
			name: "blanks inside the angle brackets",
			in:   "< use_mcp_tool >\n<server_name >search_and_scrape_webpage</ server_name>\n<tool_name>google_search</tool_name>\n< arguments>{\"q\":\"Ada Lovelace\"}</arguments>\n</use_mcp_tool >",
			want: search, ok: true,
		},
		{
			name: "missing final closing tag",
			in:   "<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n<tool_name>google_search</tool_name>\n<arguments>\n{\"q\": \"Ada Lovelace\"}\n</arguments>\n",
			want: search, ok: true,
		},
		{
			name: "missing </arguments> and </use_mcp_tool> at the very end",
			in:   "<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n<tool_name>google_search</tool_name>\n<arguments>\n{\"q\": \"Ada Lovelace\"}",
			want: search, ok: true,
		},
		{
			name: "escaped quotes in JSON",
			in:   "<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n<tool_name>google_search</tool_name>\n<arguments>\n{\"q\": \"\\\"Analytical Engine\\\" designer\"}\n</arguments>\n</use_mcp_tool>",
			want: trajectory.MCPCall{Server: "search_and_scrape_webpage", Tool: "google_search", Arguments: `{"q":"\"Analytical Engine\" designer"}`}, ok: true,
		},
		{
			name: "code fence around the JSON",
			in:   "<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n<tool_name>google_search</tool_name>\n<arguments>\n```json\n{\"q\": \"Ada Lovelace\"}\n```\n</arguments>\n</use_mcp_tool>",
			want: search, ok: true,
		},
		{
			name: "trailing junk after a complete object",
			in:   "<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n<tool_name>google_search</tool_name>\n<arguments>\n{\"q\": \"Ada Lovelace\"} and then some\n</arguments>\n</use_mcp_tool> trailing words",
			want: search, ok: true,
		},
		{
			name: "closing tags inside a JSON string",
			in:   "<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n<tool_name>google_search</tool_name>\n<arguments>\n{\"q\": \"</arguments></use_mcp_tool>\"}\n</arguments>\n</use_mcp_tool>",
			want: trajectory.MCPCall{Server: "search_and_scrape_webpage", Tool: "google_search", Arguments: `{"q":"</arguments></use_mcp_tool>"}`}, ok: true,
		},
		{
			name: "object sent as a JSON string",
			in:   "<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n<tool_name>google_search</tool_name>\n<arguments>\"{\\\"q\\\": \\\"Ada Lovelace\\\"}\"</arguments>\n</use_mcp_tool>",
			want: search, ok: true,
		},
		{
			name: "missing server name is inferred",
			in:   "<use_mcp_tool>\n<tool_name>google_search</tool_name>\n<arguments>{\"q\":\"Ada Lovelace\"}</arguments>\n</use_mcp_tool>",
			want: search, ok: true,
		},
		{
			name: "missing </tool_name>",
			in:   "<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n<tool_name>google_search\n<arguments>{\"q\":\"Ada Lovelace\"}</arguments>\n</use_mcp_tool>",
			want: search, ok: true,
		},
		{
			name: "every block counts, in order",
			in: trajectory.FormatMCP(trajectory.MCPCall{Tool: "google_search", Arguments: `{"q":"first"}`}) + "\nActually:\n" +
				trajectory.FormatMCP(search),
			want: search, ok: true, first: &trajectory.MCPCall{Server: "search_and_scrape_webpage", Tool: "google_search", Arguments: `{"q":"first"}`},
		},
		{
			name: "a tag inside a JSON string does not open a block",
			in:   "<use_mcp_tool><tool_name>google_search</tool_name><arguments>{\"q\":\"<use_mcp_tool> tag\"}</arguments></use_mcp_tool>",
			want: trajectory.MCPCall{Server: "search_and_scrape_webpage", Tool: "google_search", Arguments: `{"q":"<use_mcp_tool> tag"}`}, ok: true,
		},
		{name: "no tag at all", in: "The answer is \\boxed{Ada Lovelace}."},
		{name: "empty", in: ""},
		{
			name:    "missing tool_name",
			in:      "<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n<arguments>{\"q\":\"x\"}</arguments>\n</use_mcp_tool>",
			wantErr: true,
		},
		{
			name:    "empty tool_name",
			in:      "<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n<tool_name> </tool_name>\n<arguments>{\"q\":\"x\"}</arguments>\n</use_mcp_tool>",
			wantErr: true,
		},
		{
			name:    "arguments not JSON",
			in:      "<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n<tool_name>google_search</tool_name>\n<arguments>q = Ada</arguments>\n</use_mcp_tool>",
			wantErr: true,
		},
		{
			name:    "arguments cut off",
			in:      "<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n<tool_name>google_search</tool_name>\n<arguments>{\"q\": \"Ada",
			wantErr: true,
		},
		{
			name:    "arguments not an object",
			in:      "<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n<tool_name>google_search</tool_name>\n<arguments>[\"Ada\"]</arguments>\n</use_mcp_tool>",
			wantErr: true,
		},
		{
			name:    "no arguments tag",
			in:      "<use_mcp_tool>\n<server_name>search_and_scrape_webpage</server_name>\n<tool_name>google_search</tool_name>\n</use_mcp_tool>",
			wantErr: true,
		},
		{
			name:    "stray tags without the opening tag",
			in:      "<tool_name>google_search</tool_name>\n<arguments>{\"q\":\"x\"}</arguments>",
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, calls, err := trajectory.SplitMCP(tt.in)
			if tt.wantErr {
				if err == nil || !errors.Is(err, trajectory.ErrMalformedMCP) || calls != nil {
					t.Fatalf("want a malformed error, got calls=%+v err=%v", calls, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			var want []trajectory.MCPCall
			if tt.first != nil {
				want = append(want, *tt.first)
			}
			if tt.ok {
				want = append(want, tt.want)
			}
			if !slices.Equal(calls, want) {
				t.Errorf("got %+v, want %+v", calls, want)
			}
			if !tt.ok && text != tt.in {
				t.Errorf("text of a final response: got %q, want it unchanged", text)
			}
			if tt.ok && strings.Contains(text, "<") {
				t.Errorf("text %q keeps part of a block", text)
			}
		})
	}
}

func TestFormatMCP(t *testing.T) {
	got := trajectory.FormatMCP(trajectory.MCPCall{Tool: "scrape_and_extract_info", Arguments: `{"url":"u","info_to_extract":"i"}`})
	want := "<use_mcp_tool>\n<server_name>jina_scrape_llm_summary</server_name>\n<tool_name>scrape_and_extract_info</tool_name>\n" +
		"<arguments>\n{\"url\":\"u\",\"info_to_extract\":\"i\"}\n</arguments>\n</use_mcp_tool>"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	_, back, err := trajectory.SplitMCP(got)
	if err != nil || len(back) != 1 || back[0].Server != "jina_scrape_llm_summary" || back[0].Arguments != `{"url":"u","info_to_extract":"i"}` {
		t.Errorf("round trip: %+v %v", back, err)
	}
}
