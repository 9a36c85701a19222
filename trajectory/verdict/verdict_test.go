package verdict

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/trajectory"
)

// fakeGrader replies with a fixed text and records the requests it saw.
type fakeGrader struct {
	reply string
	err   error
	reqs  []openai.ChatCompletionRequest
}

func (f *fakeGrader) Chat(_ context.Context, req openai.ChatCompletionRequest) (llm.Reply, error) {
	f.reqs = append(f.reqs, req)
	if f.err != nil {
		return llm.Reply{}, f.err
	}
	return llm.Reply{Message: openai.ChatCompletionMessage{Role: "assistant", Content: f.reply}}, nil
}

func (f *fakeGrader) Model() string { return "fake-grader" }

func TestDecide(t *testing.T) {
	gold := []string{"Eiffel Tower", "Tour Eiffel"}
	tests := []struct {
		name      string
		predicted string
		gold      []string
		grader    *fakeGrader
		threshold float64
		want      Verdict
		wantErr   bool
		asked     bool
	}{
		{name: "empty", predicted: "", want: Verdict{Method: MethodNoAnswer, Label: LabelNotAttempted}},
		{name: "question mark", predicted: " ? ", want: Verdict{Method: MethodNoAnswer, Label: LabelNotAttempted}},
		{name: "unknown", predicted: "Unknown.", want: Verdict{Method: MethodNoAnswer, Label: LabelNotAttempted}},
		{name: "ellipsis", predicted: "...", want: Verdict{Method: MethodNoAnswer, Label: LabelNotAttempted}},
		{name: "n/a", predicted: "N/A", grader: &fakeGrader{reply: "CORRECT"},
			want: Verdict{Method: MethodNoAnswer, Label: LabelNotAttempted}},
		{name: "exact alias", predicted: "the tour eiffel!",
			want: Verdict{Correct: true, Method: MethodExact, Label: LabelCorrect, F1: 1}},
		{name: "option letter", predicted: "A", gold: []string{"a"},
			want: Verdict{Correct: true, Method: MethodExact, Label: LabelCorrect}},
		{name: "f1 over threshold", predicted: "Eiffel Tower Paris", grader: &fakeGrader{reply: "INCORRECT"},
			want: Verdict{Correct: true, Method: MethodF1, Label: LabelCorrect, F1: 0.8}},
		{name: "f1 under custom threshold", predicted: "Eiffel Tower Paris", threshold: 0.9,
			want: Verdict{Method: MethodF1, Label: LabelIncorrect, F1: 0.8}},
		{name: "no grader", predicted: "Louvre",
			want: Verdict{Method: MethodF1, Label: LabelIncorrect}},
		{name: "grader correct", predicted: "Gustave's tower", grader: &fakeGrader{reply: "CORRECT"}, asked: true,
			want: Verdict{Correct: true, Method: MethodGrader, Label: LabelCorrect, F1: 0.5}},
		{name: "grader markdown", predicted: "Louvre", grader: &fakeGrader{reply: "  **INCORRECT**.\nbecause"}, asked: true,
			want: Verdict{Method: MethodGrader, Label: LabelIncorrect}},
		{name: "grader not attempted", predicted: "I could not find it", grader: &fakeGrader{reply: "not_attempted"}, asked: true,
			want: Verdict{Method: MethodGrader, Label: LabelNotAttempted}},
		{name: "grader partial F1 kept", predicted: "Eiffel", grader: &fakeGrader{reply: "CORRECT"}, asked: true,
			want: Verdict{Correct: true, Method: MethodGrader, Label: LabelCorrect, F1: 2.0 / 3}},
		{name: "grader rambles", predicted: "Louvre", grader: &fakeGrader{reply: "The answer is CORRECT"}, asked: true, wantErr: true},
		{name: "grader empty", predicted: "Louvre", grader: &fakeGrader{reply: ""}, asked: true, wantErr: true},
		{name: "grader fails", predicted: "Louvre", grader: &fakeGrader{err: errors.New("boom")}, asked: true, wantErr: true},
		{name: "no gold", predicted: "Louvre", gold: []string{" "}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.gold
			if g == nil {
				g = gold
			}
			j := Judge{F1Threshold: tt.threshold}
			if tt.grader != nil {
				j.Grader = tt.grader
			}
			got, err := j.Decide(context.Background(), "Which tower?", tt.predicted, g)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.grader != nil && (len(tt.grader.reqs) > 0) != tt.asked {
				t.Errorf("grader asked = %v, want %v", len(tt.grader.reqs) > 0, tt.asked)
			}
			if tt.wantErr {
				return
			}
			if math.Abs(got.F1-tt.want.F1) > 1e-9 {
				t.Errorf("F1 = %v, want %v", got.F1, tt.want.F1)
			}
			got.F1, tt.want.F1 = 0, 0
			if got != tt.want {
				t.Errorf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecideGraderPrompt(t *testing.T) {
	g := &fakeGrader{reply: "CORRECT"}
	_, err := Judge{Grader: g}.Decide(context.Background(), "Which tower?", "Gustave's tower", []string{"Eiffel Tower", "Tour Eiffel"})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.reqs) != 1 {
		t.Fatalf("grader asked %d times, want 1", len(g.reqs))
	}
	req := g.reqs[0]
	if req.Model != "fake-grader" || len(req.Messages) != 1 || req.Messages[0].Role != openai.ChatMessageRoleUser {
		t.Fatalf("request = %+v, want one user message for fake-grader", req)
	}
	c := req.Messages[0].Content
	// The oracle reads each section up to the next heading: the order and
	// the contents matter.
	q := strings.Index(c, graderQuestion+"\nWhich tower?\n")
	gi := strings.Index(c, graderGold+"\nEiffel Tower\n")
	ai := strings.Index(c, graderAliases+"\nTour Eiffel\n")
	p := strings.Index(c, graderPredicted+"\nGustave's tower\n")
	if q < 0 || gi < q || ai < gi || p < ai {
		t.Errorf("grader prompt sections missing or out of order:\n%s", c)
	}
}

// TestGraderPromptRoundTrip checks that the reading side gets back what the
// writing side put in: the answer first, every alias (with semicolons and
// commas inside a name kept whole), none when there are none, and the old
// semicolon-joined layout still read.
func TestGraderPromptRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		gold      []string
		predicted string
		want      []string
	}{
		{"answer and aliases", []string{"Vistula", "Wisła", "Vistula River"}, "the Vistula", []string{"Vistula", "Wisła", "Vistula River"}},
		{"no aliases", []string{"Paris"}, "University of Paris", []string{"Paris"}},
		{"separators inside names", []string{"Charles IV, Holy Roman Emperor", "Love; Hate"}, "Charles IV", []string{"Charles IV, Holy Roman Emperor", "Love; Hate"}},
		{"blank and multi-line names", []string{"", "Marie\nCurie", " ", "Maria Skłodowska"}, "", []string{"Marie Curie", "Maria Skłodowska"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := GraderPrompt("Which one?", tt.predicted, tt.gold)
			q, gold, p, ok := ReadGraderPrompt(msg)
			if !ok || q != "Which one?" || p != tt.predicted || !slices.Equal(gold, tt.want) {
				t.Errorf("ReadGraderPrompt = %q, %q, %q, %v; want %q, %q, %q, true\n%s", q, gold, p, ok, "Which one?", tt.want, tt.predicted, msg)
			}
			if len(tt.want) == 1 && !strings.Contains(msg, graderAliases+"\n"+noAliases+"\n") {
				t.Errorf("prompt without aliases does not say so:\n%s", msg)
			}
		})
	}
	old := "Grade.\n\n" + graderQuestion + "\nWhich river?\n\n" + graderGold + "\nVistula; Wisła\n\n" + graderPredicted + "\nOder\n"
	if _, gold, p, ok := ReadGraderPrompt(old); !ok || p != "Oder" || !slices.Equal(gold, []string{"Vistula", "Wisła"}) {
		t.Errorf("old layout read as %q, %q, %v", gold, p, ok)
	}
}

func TestQuality(t *testing.T) {
	clean := trajectory.Rollout{Status: trajectory.StatusAnswered, Answer: "Paris"}
	tests := []struct {
		name string
		edit func(*trajectory.Rollout)
		want []string
	}{
		{"clean", func(*trajectory.Rollout) {}, nil},
		{"repetition", func(r *trajectory.Rollout) { r.Repetition = true }, []string{QualityRepetition}},
		{"rollbacks", func(r *trajectory.Rollout) { r.Rollbacks = 1 }, []string{QualityMalformedToolCalls}},
		{"five errors in a row are tolerated", func(r *trajectory.Rollout) { r.MaxToolErrorRun = 5 }, nil},
		{"six errors in a row", func(r *trajectory.Rollout) { r.MaxToolErrorRun = 6 }, []string{QualityToolErrors}},
		{"truncated", func(r *trajectory.Rollout) { r.Truncated = true }, []string{QualityTruncated}},
		{"no answer", func(r *trajectory.Rollout) { r.Answer = "" }, []string{QualityNoFinalAnswer}},
		{"format error", func(r *trajectory.Rollout) { r.Status = trajectory.StatusFormatError }, []string{QualityNoFinalAnswer}},
		{"all", func(r *trajectory.Rollout) {
			*r = trajectory.Rollout{Status: trajectory.StatusFailed, Repetition: true, Rollbacks: 2, MaxToolErrorRun: 9, Truncated: true}
		}, []string{QualityRepetition, QualityMalformedToolCalls, QualityToolErrors, QualityTruncated, QualityNoFinalAnswer}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := clean
			tt.edit(&r)
			if got := Quality(r); !slices.Equal(got, tt.want) {
				t.Errorf("Quality = %v, want %v", got, tt.want)
			}
		})
	}
}
