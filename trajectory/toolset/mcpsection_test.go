package toolset_test

import (
	"strings"
	"testing"

	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/internal/tooltest"
	"github.com/miroverse/miroverse/trajectory/toolset"
)

func TestMCPToolsSection(t *testing.T) {
	ts := toolset.New(tooltest.NewCorpus(), nil)
	s := ts.MCPToolsSection()
	for _, want := range []string{
		"\n## Server name: search_and_scrape_webpage\n### Tool name: google_search\nDescription: ",
		"\n## Server name: jina_scrape_llm_summary\n### Tool name: scrape_and_extract_info\nDescription: ",
		"Input JSON schema: {",
		`"required":["q"]`, `"required":["url","info_to_extract"]`,
		"<use_mcp_tool>", "<server_name>", "<tool_name>", "<arguments>", "</use_mcp_tool>",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("section lacks %q", want)
		}
	}
	// The layout shown must itself parse, or the prompt teaches a call the
	// agent would roll back.
	_, layout, _ := strings.Cut(s, "Layout:\n")
	layout, _, _ = strings.Cut(layout, "\n\nRules:")
	if _, calls, err := trajectory.SplitMCP(layout); len(calls) != 1 || err != nil || calls[0].Tool != "tool name" {
		t.Errorf("the layout block does not parse: %+v err=%v", calls, err)
	}
}
