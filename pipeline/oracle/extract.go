package oracle

import (
	"slices"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/trajectory/toolset"
)

// Extraction limits: a handful of sentences is what a small extraction model
// returns, and a page with a giant unpunctuated line (a table, a list run
// together) must not come back whole.
const (
	maxExtractSentences = 5
	maxSentenceRunes    = 600
	fallbackSentences   = 2
)

func extractorTurn(req *openai.ChatCompletionRequest) (turn, error) {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		m := req.Messages[i]
		if m.Role != openai.ChatMessageRoleUser {
			continue
		}
		if info, page, ok := toolset.ReadExtractorPrompt(messageText(m)); ok {
			return turn{content: extract(info, page), finish: openai.FinishReasonStop}, nil
		}
	}
	return turn{}, badRequestf("extractor request has no user message with the extractor's sections")
}

// extract picks the sentences of page that share the most content words
// with info (ties go to the earlier sentence) and returns them in page
// order; with no overlap at all it returns the page's opening sentences,
// which on an encyclopedic page say what the page is about.
func extract(info, page string) string {
	ss := sentences(page)
	if len(ss) == 0 {
		return "The page has no text."
	}
	want := contentWords(info)
	type scored struct{ idx, score int }
	var hits []scored
	for i, s := range ss {
		n := 0
		for w := range contentWords(s) {
			if want[w] {
				n++
			}
		}
		if n > 0 {
			hits = append(hits, scored{i, n})
		}
	}
	var chosen []int
	if len(hits) == 0 {
		for i := range min(fallbackSentences, len(ss)) {
			chosen = append(chosen, i)
		}
	} else {
		slices.SortStableFunc(hits, func(a, b scored) int { return b.score - a.score })
		for _, h := range hits[:min(maxExtractSentences, len(hits))] {
			chosen = append(chosen, h.idx)
		}
		slices.Sort(chosen)
	}
	out := make([]string, len(chosen))
	for i, idx := range chosen {
		out[i] = clipRunes(ss[idx], maxSentenceRunes)
	}
	return strings.Join(out, " ")
}
