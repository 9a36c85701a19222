package trajectory

import (
	"strings"
	"testing"
)

func TestServerOf(t *testing.T) {
	for tool, want := range map[string]string{
		"google_search":           "search_and_scrape_webpage",
		"scrape_and_extract_info": "jina_scrape_llm_summary",
		"run_python_code":         "tool-python",
		"nope":                    "",
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
