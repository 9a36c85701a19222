package oracle

import (
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/trajectory/verdict"
)

func TestGrade(t *testing.T) {
	// gold is the answer, then its aliases, separated by "|".
	tests := []struct {
		name, gold, predicted, want string
	}{
		// Normalised equality with the gold answer or an alias.
		{"same words", "Vistula", "Vistula", verdict.LabelCorrect},
		{"case, article and punctuation", "Vistula", "the vistula.", verdict.LabelCorrect},
		{"boxed", "Vistula", `\boxed{Vistula}`, verdict.LabelCorrect},
		{"accents", "Łódź", "Lodz", verdict.LabelCorrect},
		{"periods join", "U.S. Army", "US Army", verdict.LabelCorrect},
		{"hyphens separate", "Jean-Paul Sartre", "Jean Paul Sartre", verdict.LabelCorrect},
		{"an alias", "Pierre Curie|Curie, Pierre", "curie pierre", verdict.LabelCorrect},
		{"another alias", "Vistula|Wisła", "Wisla", verdict.LabelCorrect},
		{"gold's qualifier dropped", "Paris (France)", "Paris", verdict.LabelCorrect},
		{"gold's qualifier kept", "Symphony No. 9 (Dvořák)", "Symphony No. 9 (Dvorak)", verdict.LabelCorrect},
		{"comma in a title", "Charles IV, Holy Roman Emperor", "Charles IV Holy Roman Emperor", verdict.LabelCorrect},
		// Containment either way names another entity (the audit's cases).
		{"audit: gold contains the prediction", "University of Paris", "Paris", verdict.LabelIncorrect},
		{"audit: prediction contains the gold", "Paris", "University of Paris", verdict.LabelIncorrect},
		{"prediction adds a word", "Vistula", "Vistula River", verdict.LabelIncorrect},
		{"prediction drops a word", "Vistula River", "Vistula", verdict.LabelIncorrect},
		{"title inside a longer title", "Charles IV, Holy Roman Emperor", "Charles IV", verdict.LabelIncorrect},
		{"person inside a work", "Symphony No. 9 (Dvořák)", "Antonín Dvořák", verdict.LabelIncorrect},
		{"prediction's own qualifier is not dropped", "Mercury (element)", "Mercury (planet)", verdict.LabelIncorrect},
		{"qualifier only on the prediction", "Paris", "Paris (Texas)", verdict.LabelIncorrect},
		{"alias contained is not the alias", "Vistula|Wisła", "Wisła basin", verdict.LabelIncorrect},
		{"not a whole word", "Vistula", "Vistulan", verdict.LabelIncorrect},
		{"high word overlap", "Johann Sebastian Bach Junior", "Johann Sebastian Bach Senior", verdict.LabelIncorrect},
		{"word order", "Albert Einstein Memorial Building", "Albert Einstein Building Memorial", verdict.LabelIncorrect},
		{"another entity", "Warsaw", "Kraków", verdict.LabelIncorrect},
		// No definite answer.
		{"empty", "Vistula", "", verdict.LabelNotAttempted},
		{"question mark", "Vistula", "?", verdict.LabelNotAttempted},
		{"unknown", "Vistula", "Unknown", verdict.LabelNotAttempted},
		{"boxed unknown", "Vistula", `\boxed{unknown}`, verdict.LabelNotAttempted},
		{"ellipsis", "Vistula", "...", verdict.LabelNotAttempted},
		{"n/a", "Vistula", "N/A", verdict.LabelNotAttempted},
		{"I don't know", "Vistula", "I don't know", verdict.LabelNotAttempted},
		{"I do not know", "Vistula", "I do not know.", verdict.LabelNotAttempted},
		{"empty box", "Vistula", `\boxed{}`, verdict.LabelNotAttempted},
	}
	for _, tc := range tests {
		if got := grade(strings.Split(tc.gold, "|"), tc.predicted); got != tc.want {
			t.Errorf("%s: grade(gold %q, predicted %q) = %s, want %s", tc.name, tc.gold, tc.predicted, got, tc.want)
		}
	}
}

func TestGraderOverHTTP(t *testing.T) {
	s := startOracle(t, Config{})
	c := client(s, llm.RoleGrader)
	tests := []struct{ predicted, want string }{
		{"The Vistula", verdict.LabelCorrect},
		{"Wisla", verdict.LabelCorrect}, // an alias reaches the grader
		{"Vistula River", verdict.LabelIncorrect},
		{"The Oder", verdict.LabelIncorrect},
		{"", verdict.LabelNotAttempted},
	}
	for _, tc := range tests {
		prompt := verdict.GraderPrompt("Which river?", tc.predicted, []string{"Vistula", "Wisła"})
		rep, err := c.Chat(t.Context(), openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{{Role: "user", Content: prompt}}})
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"label": "` + tc.want + `"}`; rep.Message.Content != want {
			t.Errorf("predicted %q: grader said %q, want the label %q as the prompt's JSON", tc.predicted, rep.Message.Content, tc.want)
		}
	}
}
