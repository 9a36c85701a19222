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
		"### Server: search_and_scrape_webpage", "#### Tool: google_search",
		"### Server: jina_scrape_llm_summary", "#### Tool: scrape_and_extract_info",
		`"required":["q"]`, `"required":["url","info_to_extract"]`,
		"<use_mcp_tool>", "<server_name>", "<tool_name>", "<arguments>", "</use_mcp_tool>",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("section lacks %q", want)
		}
	}
	// The example call in the section must itself parse, or the prompt
	// teaches a call the agent would roll back.
	if _, ok, err := trajectory.ParseMCP(s); !ok || err != nil {
		t.Errorf("last block of the section does not parse: ok=%v err=%v", ok, err)
	}
}
