package react

import (
	"strings"
	"testing"

	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/internal/tooltest"
	"github.com/miroverse/miroverse/trajectory/toolset"
)

func TestQuestionFromPrompt(t *testing.T) {
	for _, q := range []string{
		"Which engine did the collaborator of a 19th-century English mathematician design?",
		"multi\nline question with \\boxed{} inside\n\nand trailing spaces  ",
		"",
	} {
		got, ok := QuestionFromPrompt(taskPrompt(q))
		if !ok || got != q {
			t.Errorf("round trip of %q gave %q, %v", q, got, ok)
		}
	}
	for _, s := range []string{"", "Question: x", trajectory.SummaryRequest("Who?")} {
		if _, ok := QuestionFromPrompt(s); ok {
			t.Errorf("QuestionFromPrompt(%q) accepted a non-task prompt", s)
		}
	}
}

func TestSystemPrompt(t *testing.T) {
	ts := toolset.New(tooltest.NewCorpus(), nil)
	if sys := systemPrompt(trajectory.ModeMCP, ts, DefaultToday); !strings.Contains(sys, ts.MCPToolsSection()) {
		t.Errorf("MCP system prompt lacks the tool section")
	}
	if sys := systemPrompt(trajectory.ModeFunction, ts, DefaultToday); strings.Contains(sys, "<use_mcp_tool>") {
		t.Errorf("function-mode system prompt teaches the MCP format")
	}
}
