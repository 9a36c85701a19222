package oracle

import (
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/boxed"
	"github.com/miroverse/miroverse/internal/text"
	"github.com/miroverse/miroverse/trajectory/verdict"
)

// minF1 is the token F1 from which a prediction counts as the gold answer
// worded differently.
const minF1 = 0.8

func graderTurn(req *openai.ChatCompletionRequest) (turn, error) {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		m := req.Messages[i]
		if m.Role != openai.ChatMessageRoleUser {
			continue
		}
		if _, gold, predicted, ok := verdict.ReadGraderPrompt(messageText(m)); ok {
			return turn{content: grade(gold, predicted), finish: openai.FinishReasonStop}, nil
		}
	}
	return turn{}, badRequestf("grader request has no user message with the grader's sections")
}

// grade labels a prediction against the gold answers, aliases of one
// entity: matching any of them is enough.
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
	pt := graderTokens(p)
	for _, g := range gold {
		gt := graderTokens(g)
		if len(gt) == 0 {
			continue
		}
		if containsRun(pt, gt) || containsRun(gt, pt) || text.TokenF1(text.Fold(p), text.Fold(g)) >= minF1 {
			return verdict.LabelCorrect
		}
	}
	return verdict.LabelIncorrect
}

// isPlaceholder reports an answer that gives nothing: empty, "?", "unknown",
// "...", "n/a" and the like.
func isPlaceholder(p string) bool {
	if boxed.Placeholder(p) {
		return true
	}
	switch strings.Join(graderTokens(p), " ") {
	case "", "unknown", "n a", "na", "idk", "i dont know", "no answer":
		return true
	}
	return false
}

// graderTokens are the words the grader compares: the judge's answer
// normalisation after every diacritic and stroke letter is folded, because a
// reader recognises "Lodz" as "Łódź" where the judge's exact match, which
// keeps non-Latin marks apart, does not.
func graderTokens(s string) []string { return text.AnswerTokens(text.Fold(s)) }

// containsRun reports whether sub occurs in toks as consecutive whole words.
func containsRun(toks, sub []string) bool {
	if len(sub) == 0 || len(sub) > len(toks) {
		return false
	}
outer:
	for i := 0; i+len(sub) <= len(toks); i++ {
		for j := range sub {
			if toks[i+j] != sub[j] {
				continue outer
			}
		}
		return true
	}
	return false
}
