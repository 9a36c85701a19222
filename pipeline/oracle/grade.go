package oracle

import (
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
)

// Grader labels.
const (
	labelCorrect      = "CORRECT"
	labelIncorrect    = "INCORRECT"
	labelNotAttempted = "NOT_ATTEMPTED"
)

// minF1 is the token F1 from which a prediction counts as the gold answer
// worded differently.
const minF1 = 0.8

func graderTurn(req *openai.ChatCompletionRequest) (turn, error) {
	text := ""
	for i := len(req.Messages) - 1; i >= 0; i-- {
		m := req.Messages[i]
		if m.Role == openai.ChatMessageRoleUser && strings.Contains(messageText(m), llm.SectionGold) {
			text = messageText(m)
			break
		}
	}
	if text == "" {
		return turn{}, badRequestf("grader request has no user message with a %q section", llm.SectionGold)
	}
	sec := sections(text, llm.SectionQuestion, llm.SectionGold, llm.SectionPredicted)
	return turn{content: grade(sec[llm.SectionGold], sec[llm.SectionPredicted]), finish: openai.FinishReasonStop}, nil
}

// grade labels a prediction against the gold answer. Gold may list aliases of
// one entity separated by semicolons (the judge's prompt does); matching any
// of them is enough.
func grade(gold, predicted string) string {
	p := strings.TrimSpace(predicted)
	if b, ok := lastBoxed(p); ok {
		p = strings.TrimSpace(b)
	}
	if isPlaceholder(p) {
		return labelNotAttempted
	}
	pt := answerTokens(p)
	for g := range strings.SplitSeq(gold, ";") {
		gt := answerTokens(g)
		if len(gt) == 0 {
			continue
		}
		if containsRun(pt, gt) || containsRun(gt, pt) || tokenF1(pt, gt) >= minF1 {
			return labelCorrect
		}
	}
	return labelIncorrect
}

// isPlaceholder reports an answer that gives nothing: empty, "?", "unknown",
// "...", "n/a" and the like.
func isPlaceholder(p string) bool {
	switch strings.ToLower(strings.TrimSpace(p)) {
	case "", "?", "...", "…", "n/a", "unknown":
		return true
	}
	switch strings.Join(answerTokens(p), " ") {
	case "", "unknown", "n a", "na", "idk", "i dont know", "no answer":
		return true
	}
	return false
}

// answerTokens normalises an answer the usual way of QA scoring: lowercase,
// no accents, no punctuation, no articles. Apostrophes and periods join
// ("U.S." -> "us", "O'Brien" -> "obrien"); other punctuation separates words
// ("Jean-Paul" -> "jean paul").
func answerTokens(s string) []string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\'' || r == '’' || r == '.':
		case isWordRune(r):
			b.WriteRune(r)
		default:
			b.WriteRune(' ')
		}
	}
	var out []string
	for _, f := range strings.Fields(b.String()) {
		w := foldWord(f)
		if w == "a" || w == "an" || w == "the" || w == "" {
			continue
		}
		out = append(out, w)
	}
	return out
}

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

// tokenF1 is the harmonic mean of token precision and recall, counting
// repeated tokens as often as they occur in both.
func tokenF1(pred, gold []string) float64 {
	if len(pred) == 0 || len(gold) == 0 {
		return 0
	}
	counts := map[string]int{}
	for _, t := range gold {
		counts[t]++
	}
	common := 0
	for _, t := range pred {
		if counts[t] > 0 {
			counts[t]--
			common++
		}
	}
	if common == 0 {
		return 0
	}
	precision := float64(common) / float64(len(pred))
	recall := float64(common) / float64(len(gold))
	return 2 * precision * recall / (precision + recall)
}

// lastBoxed returns the content of the last \boxed{…} in s, nested braces
// included; ok is false when s has no complete box.
func lastBoxed(s string) (string, bool) {
	const tag = `\boxed{`
	i := strings.LastIndex(s, tag)
	for i >= 0 {
		depth := 1
		start := i + len(tag)
		for j, r := range s[start:] {
			switch r {
			case '{':
				depth++
			case '}':
				depth--
				if depth == 0 {
					return s[start : start+j], true
				}
			}
		}
		// Unclosed: try an earlier box.
		i = strings.LastIndex(s[:i], tag)
	}
	return "", false
}
