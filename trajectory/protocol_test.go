package trajectory

import (
	"strings"
	"testing"
)

func TestServerOf(t *testing.T) {
	for tool, want := range map[string]string{
		"google_search":                          "search_and_scrape_webpage",
		"scrape_and_extract_info":                "jina_scrape_llm_summary",
		"run_python_code":                        "tool-python",
		"upload_file_from_local_to_sandbox":      "tool-python",
		"download_file_from_internet_to_sandbox": "tool-python",
		"nope":                                   "",
	} {
		if got := ServerOf(tool); got != want {
			t.Errorf("ServerOf(%s) = %q, want %q", tool, got, want)
		}
	}
}

func TestTruncateToolResult(t *testing.T) {
	const n = maxToolResultChars
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"short", "abc", "abc"},
		{"exactly the limit", strings.Repeat("x", n), strings.Repeat("x", n)},
		{"one over", strings.Repeat("x", n+1), strings.Repeat("x", n) + "\n... [Result truncated]"},
		{"runes, not bytes", strings.Repeat("é", n+7), strings.Repeat("é", n) + "\n... [Result truncated]"},
		{"multibyte at the limit is kept", strings.Repeat("é", n), strings.Repeat("é", n)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TruncateToolResult(tt.in); got != tt.want {
				t.Errorf("len %d, want len %d", len(got), len(tt.want))
			}
		})
	}
}

func TestIsToolError(t *testing.T) {
	tests := []struct {
		result string
		want   bool
	}{
		{"[ERROR]: page not found", true},
		{`{"success": false, "url": "u", "extracted_info": "", "error": "x", "scrape_stats": {}, "tokens_used": 0}`, true},
		{` {"success":false,"error":"SERPER_API_KEY environment variable not set","results":[]}`, true},
		{`{"success": true, "url": "u", "extracted_info": "facts"}`, false},
		{`{"organic":[],"searchParameters":{"q":"success"}}`, false},
		{`{"organic":[{"title":"\"success\": false"}]}`, false},
		{"Execution(Results: [], Logs: Logs(stdout: ['[ERROR]: x'], stderr: []), Error: None)", false},
		{"plain page text", false},
		{`{"success": false`, false}, // not JSON: a page that starts like one
		{"", false},
	}
	for _, tt := range tests {
		if got := IsToolError(tt.result); got != tt.want {
			t.Errorf("IsToolError(%q) = %v, want %v", tt.result, got, tt.want)
		}
	}
}
