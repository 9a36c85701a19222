package oracle

import (
	"regexp"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/boxed"
	"github.com/miroverse/miroverse/internal/text"
	"github.com/miroverse/miroverse/trajectory/verdict"
)

func graderTurn(req *openai.ChatCompletionRequest) (turn, error) {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		m := req.Messages[i]
		if m.Role != openai.ChatMessageRoleUser {
			continue
		}
		if _, gold, predicted, ok := verdict.ReadGraderPrompt(messageText(m)); ok {
			// The prompt asks for the label as JSON.
			return turn{content: `{"label": "` + grade(gold, predicted) + `"}`, finish: openai.FinishReasonStop}, nil
		}
	}
	return turn{}, badRequestf("grader request has no user message with the grader's sections")
}

// grade labels a prediction against the gold answers, aliases of one
// entity. A prediction is CORRECT only when it names that entity: its
// normalised words equal those of the gold answer or an alias, or of one of
// them without a trailing parenthesised qualifier ("Paris (France)" is named
// by "Paris"). Containment either way is not enough: "Paris" does not name
// "University of Paris", nor "University of Paris" "Paris"; nor is a high
// token overlap, since the judge has already tried its F1 before asking.
func grade(gold []string, predicted string) string {
	p := strings.TrimSpace(predicted)
	if b, ok := boxed.Last(p); ok {
		p = b
	} else if strings.Contains(p, `\boxed`) {
		return verdict.LabelNotAttempted // boxed, but no answer by the box rule
	}
	if isPlaceholder(p) {
		return verdict.LabelNotAttempted
	}
	pk := strings.Join(graderTokens(p), " ")
	for _, g := range gold {
		for _, name := range goldNames(g) {
			if k := strings.Join(graderTokens(name), " "); k != "" && k == pk {
				return verdict.LabelCorrect
			}
		}
	}
	return verdict.LabelIncorrect
}

// reQualifier is a trailing parenthesised qualifier of a title, the way
// encyclopedias tell namesakes apart: "Mercury (planet)".
var reQualifier = regexp.MustCompile(`\s*\([^()]*\)\s*$`)

// goldNames are the names under which one gold string is named: itself and,
// when it ends in a qualifier, itself without it. Only the gold side drops
// its qualifier: a prediction "Mercury (planet)" must not be taken for the
// gold "Mercury (element)".
func goldNames(g string) []string {
	if bare := reQualifier.ReplaceAllString(g, ""); bare != g && strings.TrimSpace(bare) != "" {
		return []string{g, bare}
	}
	return []string{g}
}

// isPlaceholder reports an answer that gives nothing: empty, "?", "unknown",
// "...", "n/a" and the like.
func isPlaceholder(p string) bool {
	if boxed.Placeholder(p) {
		return true
	}
	switch strings.Join(graderTokens(p), " ") {
	case "", "unknown", "n a", "na", "idk", "i dont know", "i do not know", "no answer", "not known",
		"not sure", "unsure", "cannot be determined", "cannot determine", "unable to determine":
		return true
	}
	return false
}

// graderTokens are the words the grader compares: the judge's answer
// normalisation after every diacritic and stroke letter is folded, because a
// reader recognises "Lodz" as "Łódź" where the judge's exact match, which
// keeps non-Latin marks apart, does not.
func graderTokens(s string) []string { return text.AnswerTokens(text.Fold(s)) }
