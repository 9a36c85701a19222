package oracle

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/miroverse/miroverse/internal/text"
	openai "github.com/sashabaranov/go-openai"
)

// messageText is the text of a message whether it was sent as a plain string
// or as content parts; non-text parts carry nothing the oracle can read.
func messageText(m openai.ChatCompletionMessage) string {
	if len(m.MultiContent) == 0 {
		return m.Content
	}
	var parts []string
	for _, p := range m.MultiContent {
		if p.Type == openai.ChatMessagePartTypeText || p.Text != "" {
			parts = append(parts, p.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// word is one run of letters and digits in a text, with its byte span and its
// folded form (lowercase, without diacritics).
type word struct {
	start, end int
	norm       string
}

// isWordRune decides what belongs to a word. Combining marks count so that a
// decomposed "é" stays inside its word.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// words splits s into words. Everything else (spaces, punctuation,
// apostrophes) separates words, so "Curie's" is the words "Curie" and "s":
// a name then matches inside its possessive.
func words(s string) []word {
	var out []word
	start := -1
	for i, r := range s {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, word{start: start, end: i, norm: text.Fold(s[start:i])})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, word{start: start, end: len(s), norm: text.Fold(s[start:])})
	}
	return out
}

// tokens is the folded words of s.
func tokens(s string) []string {
	ws := words(s)
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		if w.norm != "" {
			out = append(out, w.norm)
		}
	}
	return out
}

// isStopword lists English function words, plus the words people use to
// phrase a request ("facts", "information", "question"…): they say how to
// look, not what to look for, so they must not pull sentences in. A switch
// keeps the list free of package-level state.
func isStopword(w string) bool {
	switch w {
	case "a", "an", "the", "and", "or", "but", "nor", "of", "in", "on", "at", "to", "for", "from", "by", "with",
		"about", "as", "into", "onto", "over", "under", "between", "through", "during", "after", "before",
		"is", "are", "was", "were", "be", "been", "being", "am", "has", "have", "had", "do", "does", "did",
		"it", "its", "this", "that", "these", "those", "he", "she", "they", "them", "his", "her", "their",
		"him", "we", "us", "our", "you", "your", "i", "me", "my", "which", "who", "whom", "whose", "what",
		"when", "where", "why", "how", "than", "then", "there", "here", "so", "such", "not", "no", "any",
		"all", "each", "some", "can", "could", "will", "would", "shall", "should", "may", "might", "must",
		"if", "also", "only", "both", "other", "s", "one", "up", "out", "more", "most", "very", "own",
		"fact", "facts", "information", "info", "detail", "details", "extract", "find", "relevant",
		"question", "questions", "step", "next", "connect", "connects", "connecting", "related", "mention",
		"mentioned", "page", "answer", "identify", "identifies", "regarding", "concerning", "describe",
		"describes", "including", "include", "includes", "please", "give", "list":
		return true
	}
	return false
}

// stem strips the most common English inflections so that "cities" meets
// "city" and "physicists" meets "physicist"; it is deliberately crude, since
// it only has to make overlaps count, not produce words.
func stem(w string) string {
	n := utf8.RuneCountInString(w)
	switch {
	case n > 4 && strings.HasSuffix(w, "ies"):
		return w[:len(w)-3] + "y"
	case n > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us"):
		return w[:len(w)-1]
	}
	return w
}

// contentWords is the set of stemmed, non-stopword words of s.
func contentWords(s string) map[string]bool {
	out := map[string]bool{}
	for _, t := range tokens(s) {
		if isStopword(t) {
			continue
		}
		out[stem(t)] = true
	}
	return out
}

// isAbbreviation reports whether a word ending in "." is more likely an
// abbreviation than the end of a sentence.
func isAbbreviation(w string) bool {
	if utf8.RuneCountInString(w) == 1 {
		return true // an initial: "J. R. R. Tolkien"
	}
	switch strings.ToLower(w) {
	case "mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "gen", "col", "lt", "sgt", "capt", "mt", "no",
		"vs", "inc", "ltd", "co", "corp", "etc", "approx", "ca", "c", "fl", "b", "d", "e.g", "i.e", "u.s",
		"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec":
		return true
	}
	return false
}

// sentences splits text into sentences: every line is split on ".", "!" or
// "?" followed by a space and a capital, digit or quote, unless the word
// before the stop is an abbreviation. Blank lines and Markdown headings are
// dropped: headings name sections, they state no facts.
func sentences(text string) []string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, splitLine(line)...)
	}
	return out
}

func splitLine(line string) []string {
	var out []string
	start := 0
	rs := []rune(line)
	// byteAt maps rune indexes back to byte offsets for slicing.
	byteAt := make([]int, len(rs)+1)
	off := 0
	for i, r := range rs {
		byteAt[i] = off
		off += utf8.RuneLen(r)
	}
	byteAt[len(rs)] = off
	for i := 0; i < len(rs); i++ {
		if rs[i] != '.' && rs[i] != '!' && rs[i] != '?' {
			continue
		}
		j := i + 1
		for j < len(rs) && strings.ContainsRune(`"')”’»]`, rs[j]) {
			j++
		}
		if j >= len(rs) || !unicode.IsSpace(rs[j]) {
			continue
		}
		k := j
		for k < len(rs) && unicode.IsSpace(rs[k]) {
			k++
		}
		if k >= len(rs) {
			continue
		}
		next := rs[k]
		if !unicode.IsUpper(next) && !unicode.IsDigit(next) && !strings.ContainsRune(`"'“‘«(`, next) {
			continue
		}
		if rs[i] == '.' {
			b := i
			for b > 0 && (isWordRune(rs[b-1]) || rs[b-1] == '.') {
				b--
			}
			if isAbbreviation(strings.TrimSuffix(string(rs[b:i]), ".")) {
				continue
			}
		}
		if s := strings.TrimSpace(line[byteAt[start]:byteAt[j]]); s != "" {
			out = append(out, s)
		}
		start = k
		i = k - 1
	}
	if s := strings.TrimSpace(line[byteAt[start]:]); s != "" {
		out = append(out, s)
	}
	return out
}

// clipRunes cuts s to at most n runes at a word boundary, marking the cut.
func clipRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	rs := []rune(s)
	cut := n - 1 // room for the ellipsis
	if cut < 1 {
		return string(rs[:n])
	}
	end := cut
	for end > cut/2 && !unicode.IsSpace(rs[end]) {
		end--
	}
	if end <= cut/2 {
		end = cut
	}
	return strings.TrimRightFunc(string(rs[:end]), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r)
	}) + "…"
}

// collapseSpaces turns every run of white space into one space.
func collapseSpaces(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// upperFirst capitalises the first letter of s.
func upperFirst(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 || !unicode.IsLower(r) {
		return s
	}
	return string(unicode.ToUpper(r)) + s[size:]
}
