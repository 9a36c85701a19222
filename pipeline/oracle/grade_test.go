package oracle

import (
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
)

func TestGrade(t *testing.T) {
	tests := []struct {
		gold, predicted, want string
	}{
		{"Vistula", "Vistula", labelCorrect},
		{"Vistula", "the vistula.", labelCorrect},
		{"Vistula", `\boxed{Vistula}`, labelCorrect},
		{"Vistula", "Vistula River", labelCorrect},             // gold inside the prediction as whole words
		{"Vistula River", "Vistula", labelCorrect},             // prediction inside the gold
		{"Vistula", "Vistulan", labelIncorrect},                // not a whole word
		{"Łódź", "Lodz", labelCorrect},                         // accents ignored
		{"U.S. Army", "US Army", labelCorrect},                 // periods join
		{"Jean-Paul Sartre", "Jean Paul Sartre", labelCorrect}, // hyphens separate
		{"Pierre Curie; Curie, Pierre", "curie pierre", labelCorrect},
		{"Warsaw", "Kraków", labelIncorrect},
		{"Vistula", "Warsaw", labelIncorrect},
		{"Johann Sebastian Bach Junior", "Johann Sebastian Bach Senior", labelIncorrect}, // F1 0.75
		{"Albert Einstein Memorial Building Washington", "Albert Einstein Memorial Washington Building", labelCorrect}, // F1 1.0
		{"Vistula", "", labelNotAttempted},
		{"Vistula", "?", labelNotAttempted},
		{"Vistula", "Unknown", labelNotAttempted},
		{"Vistula", `\boxed{unknown}`, labelNotAttempted},
		{"Vistula", "...", labelNotAttempted},
		{"Vistula", "N/A", labelNotAttempted},
		{"Vistula", "I don't know", labelNotAttempted},
	}
	for _, tc := range tests {
		if got := grade(tc.gold, tc.predicted); got != tc.want {
			t.Errorf("grade(gold %q, predicted %q) = %s, want %s", tc.gold, tc.predicted, got, tc.want)
		}
	}
}

func TestGraderOverHTTP(t *testing.T) {
	s := startOracle(t, Config{})
	c := client(s, llm.RoleGrader)
	tests := []struct{ predicted, want string }{
		{"The Vistula", labelCorrect},
		{"The Oder", labelIncorrect},
		{"", labelNotAttempted},
	}
	for _, tc := range tests {
		prompt := "Grade the answer.\n\n" + llm.SectionQuestion + "\nWhich river?\n\n" + llm.SectionGold + "\nVistula; Wisła\n\n" +
			llm.SectionPredicted + "\n" + tc.predicted + "\n"
		rep, err := c.Chat(t.Context(), openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{{Role: "user", Content: prompt}}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Message.Content != tc.want {
			t.Errorf("predicted %q: grader said %q, want %q", tc.predicted, rep.Message.Content, tc.want)
		}
	}
}

func TestLastBoxed(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{`the answer is \boxed{Paris}.`, "Paris", true},
		{`\boxed{a} then \boxed{b}`, "b", true},
		{`\boxed{\frac{1}{2}}`, `\frac{1}{2}`, true},
		{`\boxed{done} and \boxed{unclosed`, "done", true},
		{"no box", "", false},
	}
	for _, tc := range tests {
		got, ok := lastBoxed(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("lastBoxed(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
