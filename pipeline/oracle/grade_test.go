package oracle

import (
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/trajectory/verdict"
)

func TestGrade(t *testing.T) {
	tests := []struct {
		gold, predicted, want string
	}{
		{"Vistula", "Vistula", verdict.LabelCorrect},
		{"Vistula", "the vistula.", verdict.LabelCorrect},
		{"Vistula", `\boxed{Vistula}`, verdict.LabelCorrect},
		{"Vistula", "Vistula River", verdict.LabelCorrect},             // gold inside the prediction as whole words
		{"Vistula River", "Vistula", verdict.LabelCorrect},             // prediction inside the gold
		{"Vistula", "Vistulan", verdict.LabelIncorrect},                // not a whole word
		{"Łódź", "Lodz", verdict.LabelCorrect},                         // accents ignored
		{"U.S. Army", "US Army", verdict.LabelCorrect},                 // periods join
		{"Jean-Paul Sartre", "Jean Paul Sartre", verdict.LabelCorrect}, // hyphens separate
		{"Pierre Curie; Curie, Pierre", "curie pierre", verdict.LabelCorrect},
		{"Warsaw", "Kraków", verdict.LabelIncorrect},
		{"Vistula", "Warsaw", verdict.LabelIncorrect},
		{"Johann Sebastian Bach Junior", "Johann Sebastian Bach Senior", verdict.LabelIncorrect},                               // F1 0.75
		{"Albert Einstein Memorial Building Washington", "Albert Einstein Memorial Washington Building", verdict.LabelCorrect}, // F1 1.0
		{"Vistula", "", verdict.LabelNotAttempted},
		{"Vistula", "?", verdict.LabelNotAttempted},
		{"Vistula", "Unknown", verdict.LabelNotAttempted},
		{"Vistula", `\boxed{unknown}`, verdict.LabelNotAttempted},
		{"Vistula", "...", verdict.LabelNotAttempted},
		{"Vistula", "N/A", verdict.LabelNotAttempted},
		{"Vistula", "I don't know", verdict.LabelNotAttempted},
	}
	for _, tc := range tests {
		if got := grade(strings.Split(tc.gold, ";"), tc.predicted); got != tc.want {
			t.Errorf("grade(gold %q, predicted %q) = %s, want %s", tc.gold, tc.predicted, got, tc.want)
		}
	}
}

func TestGraderOverHTTP(t *testing.T) {
	s := startOracle(t, Config{})
	c := client(s, llm.RoleGrader)
	tests := []struct{ predicted, want string }{
		{"The Vistula", verdict.LabelCorrect},
		{"The Oder", verdict.LabelIncorrect},
		{"", verdict.LabelNotAttempted},
	}
	for _, tc := range tests {
		prompt := verdict.GraderPrompt("Which river?", tc.predicted, []string{"Vistula", "Wisła"})
		rep, err := c.Chat(t.Context(), openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{{Role: "user", Content: prompt}}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Message.Content != tc.want {
			t.Errorf("predicted %q: grader said %q, want %q", tc.predicted, rep.Message.Content, tc.want)
		}
	}
}
