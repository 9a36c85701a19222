package oracle

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/text"
	"github.com/miroverse/miroverse/qa/gates"
)

// The decontam role decides whether a question paraphrases one of the
// benchmark questions the contamination gate retrieved for it. The oracle
// decides by rule, from the texts of the request alone: the share of
// content words (stemmed, folded through a small synonym table) the two
// questions have in common, provided they name the same entities. A
// paraphrase may reword everything but the names; a question of the same
// template about other entities shares the template words and nothing else.

// Thresholds of the rule. decontamOverlap is the least share of the larger
// question's content words the two must share; decontamMissingNames is the
// most names, counted over both sides, that one question holds and the
// other lacks. One is allowed, for a name a paraphrase rewords ("US" for
// "American"); two would let "1900" / "1904" or one swapped person through,
// which is a question of the template about another entity.
const (
	decontamOverlap      = 0.5
	decontamMissingNames = 1
)

// decontamSynonyms folds words that paraphrases swap to one form (stemmed
// forms on both sides). It is small on purpose: a real judge knows far more
// synonyms, and the oracle only needs to stand in for it plausibly.
var decontamSynonyms = func() map[string]string {
	groups := [][]string{
		{"film", "movie", "picture"},
		{"born", "birth", "birthplace"},
		{"die", "died", "death", "pass"},
		{"city", "town"},
		{"country", "nation"},
		{"wrote", "write", "written", "author", "pen"},
		{"direct", "director"},
		{"found", "establish", "creat", "create", "start"},
		{"begin", "began"},
		{"large", "big", "largest", "biggest"},
		{"song", "track"},
		{"singer", "vocalist"},
		{"band", "group"},
		{"locat", "situat", "lie"},
		{"known", "call", "nam", "name"},
		{"person", "man", "woman", "individual"},
		{"job", "occupation", "profession", "position"},
		{"famous", "well-known", "noted", "renown"},
		{"age", "aged", "old"},
		{"first", "earliest"},
		{"play", "portray", "star"},
		{"release", "releas", "publish", "issu", "issue"},
		{"company", "compani", "firm", "business"},
		{"home", "headquarter", "base"},
	}
	m := map[string]string{}
	for _, g := range groups {
		for _, w := range g {
			if _, taken := m[w]; !taken {
				m[w] = g[0]
			}
		}
	}
	return m
}()

// decontamTerms are the content words of s through the synonym table.
func decontamTerms(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range text.ContentWords(s) {
		if c, ok := decontamSynonyms[w]; ok {
			w = c
		}
		out[w] = true
	}
	return out
}

// decontamNameWords are the folded words s capitalises after its first,
// and its numbers, each once.
func decontamNameWords(s string) []string {
	var out []string
	for i, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		r, _ := utf8.DecodeRuneInString(w)
		if i > 0 && (unicode.IsUpper(r) || unicode.IsDigit(r)) {
			if f := text.FoldName(w); !text.IsStopWord(f) {
				out = append(out, f)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// namesMissing counts the names not found among the folded words of s.
func namesMissing(names []string, s string) int {
	words := map[string]bool{}
	for _, w := range strings.Fields(text.FoldName(s)) {
		words[w] = true
	}
	n := 0
	for _, nm := range names {
		if !words[nm] {
			n++
		}
	}
	return n
}

// decontamMatch returns the candidate question paraphrases, or -1: the one
// with the largest content overlap among those that reach decontamOverlap
// and whose names agree, the first on a tie.
func decontamMatch(question string, candidates []string) int {
	q := decontamTerms(question)
	qNames := decontamNameWords(question)
	best, bestScore := -1, 0.0
	for i, cand := range candidates {
		c := decontamTerms(cand)
		shared := 0
		for w := range q {
			if c[w] {
				shared++
			}
		}
		score := float64(shared) / float64(max(len(q), len(c), 1))
		if score < decontamOverlap || score <= bestScore {
			continue
		}
		if namesMissing(qNames, cand)+namesMissing(decontamNameWords(cand), question) > decontamMissingNames {
			continue
		}
		best, bestScore = i, score
	}
	return best
}

// decontamTurn answers a decontam request with {"match": N}.
func decontamTurn(req *openai.ChatCompletionRequest) (turn, error) {
	msg := ""
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == openai.ChatMessageRoleUser {
			msg = req.Messages[i].Content
			break
		}
	}
	q, cands, ok := gates.ReadPrompt(msg)
	if !ok {
		return turn{}, badRequestf("decontam request has no question section")
	}
	b, err := marshal(gates.DecontamReply{Match: decontamMatch(q, cands)})
	if err != nil {
		return turn{}, fmt.Errorf("encode decontam reply: %w", err)
	}
	return turn{content: string(b), finish: openai.FinishReasonStop}, nil
}
