package oracle

import (
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/trajectory"
)

func TestGrade(t *testing.T) {
	tests := []struct {
		gold, predicted, want string
	}{
		{"Vistula", "Vistula", trajectory.LabelCorrect},
		{"Vistula", "the vistula.", trajectory.LabelCorrect},
		{"Vistula", `\boxed{Vistula}`, trajectory.LabelCorrect},
		{"Vistula", "Vistula River", trajectory.LabelCorrect},             // gold inside the prediction as whole words
		{"Vistula River", "Vistula", trajectory.LabelCorrect},             // prediction inside the gold
		{"Vistula", "Vistulan", trajectory.LabelIncorrect},                // not a whole word
		{"Łódź", "Lodz", trajectory.LabelCorrect},                         // accents ignored
		{"U.S. Army", "US Army", trajectory.LabelCorrect},                 // periods join
		{"Jean-Paul Sartre", "Jean Paul Sartre", trajectory.LabelCorrect}, // hyphens separate
		{"Pierre Curie; Curie, Pierre", "curie pierre", trajectory.LabelCorrect},
		{"Warsaw", "Kraków", trajectory.LabelIncorrect},
		{"Vistula", "Warsaw", trajectory.LabelIncorrect},
		{"Johann Sebastian Bach Junior", "Johann Sebastian Bach Senior", trajectory.LabelIncorrect},                               // F1 0.75
		{"Albert Einstein Memorial Building Washington", "Albert Einstein Memorial Washington Building", trajectory.LabelCorrect}, // F1 1.0
		{"Vistula", "", trajectory.LabelNotAttempted},
		{"Vistula", "?", trajectory.LabelNotAttempted},
		{"Vistula", "Unknown", trajectory.LabelNotAttempted},
		{"Vistula", `\boxed{unknown}`, trajectory.LabelNotAttempted},
		{"Vistula", "...", trajectory.LabelNotAttempted},
		{"Vistula", "N/A", trajectory.LabelNotAttempted},
		{"Vistula", "I don't know", trajectory.LabelNotAttempted},
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
		{"The Vistula", trajectory.LabelCorrect},
		{"The Oder", trajectory.LabelIncorrect},
		{"", trajectory.LabelNotAttempted},
	}
	for _, tc := range tests {
		prompt := trajectory.GraderPrompt("Which river?", tc.predicted, []string{"Vistula", "Wisła"})
		rep, err := c.Chat(t.Context(), openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{{Role: "user", Content: prompt}}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Message.Content != tc.want {
			t.Errorf("predicted %q: grader said %q, want %q", tc.predicted, rep.Message.Content, tc.want)
		}
	}
}
