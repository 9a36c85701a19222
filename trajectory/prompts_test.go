package trajectory_test

import (
	"testing"

	"github.com/miroverse/miroverse/trajectory"
)

func TestQuestionFromPrompt(t *testing.T) {
	for _, q := range []string{
		"Which engine did the collaborator of a 19th-century English mathematician design?",
		"multi\nline question with \\boxed{} inside\n\nand trailing spaces  ",
		"",
	} {
		got, ok := trajectory.QuestionFromPrompt(trajectory.TaskPrompt(q))
		if !ok || got != q {
			t.Errorf("round trip of %q gave %q, %v", q, got, ok)
		}
	}
	for _, s := range []string{"", "Question: x", trajectory.SummaryPrompt} {
		if _, ok := trajectory.QuestionFromPrompt(s); ok {
			t.Errorf("QuestionFromPrompt(%q) accepted a non-task prompt", s)
		}
	}
}
