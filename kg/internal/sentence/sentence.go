// Package sentence splits document text into the sentences that links are
// evidenced by. Wiki and web readers both use it, so that a link's sentence
// means the same whatever the document came from.
package sentence

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Seg is a sentence: text[Start:End].
type Seg struct{ Start, End int }

// Span is a byte range of text that no sentence boundary may cut: a
// link's anchor. Spans are sorted by Start and do not overlap.
type Span struct{ Start, End int }

// Split cuts text, in the markdown-ish form documents are kept in, into
// sentences: each heading and list item is one, paragraphs split after
// . ! ? followed by a space and a letter that is not lower case, except
// after abbreviations and initials and never inside a span.
func Split(text string, spans []Span) []Seg {
	var segs []Seg
	for a := 0; a < len(text); {
		b := strings.IndexByte(text[a:], '\n')
		if b < 0 {
			b = len(text)
		} else {
			b += a
		}
		if m := MarkerLen(text[a:b]); m >= 0 {
			if a+m < b {
				segs = append(segs, Seg{a + m, b})
			}
		} else if a < b {
			segs = splitParagraph(text, a, b, spans, segs)
		}
		a = b + 1
	}
	return segs
}

// MarkerLen is the length of a heading or list marker opening line, or -1.
func MarkerLen(line string) int {
	switch {
	case strings.HasPrefix(line, "- "):
		return 2
	case strings.HasPrefix(line, "1. "):
		return 3
	case strings.HasPrefix(line, "#"):
		h := strings.IndexByte(line, ' ')
		if h > 0 && strings.Count(line[:h], "#") == h {
			return h + 1
		}
	}
	return -1
}

func splitParagraph(text string, a, b int, spans []Span, segs []Seg) []Seg {
	start := a
	for k := a; k < b; {
		r, n := utf8.DecodeRuneInString(text[k:])
		k += n
		var cjk bool
		switch r {
		case '.', '!', '?':
		case '。', '！', '？':
			cjk = true
		default:
			continue
		}
		e := k
		for e < b {
			c, m := utf8.DecodeRuneInString(text[e:])
			if !isCloser(c) {
				break
			}
			e += m
		}
		f := e
		for f < b && text[f] == ' ' {
			f++
		}
		if f >= b || (f == e && !cjk) {
			continue
		}
		if !cjk {
			if !startsSentence(text[f:b]) {
				continue
			}
			if r == '.' && isAbbreviation(text[a:k-1]) {
				continue
			}
		}
		if crossesSpan(spans, e, f) {
			continue
		}
		segs = append(segs, Seg{start, e})
		start, k = f, f
	}
	if start < b {
		segs = append(segs, Seg{start, b})
	}
	return segs
}

func isCloser(r rune) bool {
	switch r {
	case '"', '\'', ')', ']', '”', '’', '»', '」', '』':
		return true
	}
	return false
}

// startsSentence: the next word begins with a letter that is not lower
// case (upper case, or a script without case), perhaps after an opening
// quote or parenthesis.
func startsSentence(s string) bool {
	r, n := utf8.DecodeRuneInString(s)
	switch r {
	case '"', '\'', '(', '[', '“', '‘', '«', '„':
		r, _ = utf8.DecodeRuneInString(s[n:])
	}
	return unicode.IsLetter(r) && !unicode.IsLower(r)
}

// isListedAbbreviation reports words (lower case) whose period does not
// end a sentence.
func isListedAbbreviation(w string) bool {
	switch w {
	case "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "no", "nos", "vol", "vols",
		"fig", "figs", "op", "ed", "eds", "rev", "gen", "col", "lt", "sgt", "capt", "cpl", "maj",
		"adm", "gov", "pres", "sen", "rep", "hon", "mt", "ft", "ave", "blvd", "rd", "inc", "ltd",
		"co", "corp", "bros", "dept", "est", "approx", "ca", "cf", "al", "jan", "feb", "mar", "apr",
		"jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "ch", "pp", "pt", "sq", "univ",
		"assn", "mme", "mlle", "messrs":
		return true
	}
	return false
}

// isAbbreviation looks at the word ending before a period: an initial, a
// dotted abbreviation ("U.S", "e.g") or a listed one.
func isAbbreviation(before string) bool {
	i := len(before)
	for i > 0 {
		r, n := utf8.DecodeLastRuneInString(before[:i])
		if !unicode.IsLetter(r) && r != '.' {
			break
		}
		i -= n
	}
	word := before[i:]
	if word == "" {
		return false
	}
	if r, n := utf8.DecodeRuneInString(word); n == len(word) && unicode.IsUpper(r) {
		return true // an initial
	}
	if strings.Contains(word, ".") {
		return true
	}
	return isListedAbbreviation(strings.ToLower(word))
}

// crossesSpan reports whether cutting text between e and f would split an
// anchor.
func crossesSpan(spans []Span, e, f int) bool {
	k := sort.Search(len(spans), func(i int) bool { return spans[i].End > e })
	return k < len(spans) && spans[k].Start < f
}

// Around returns the sentence of segs (as Split returns them) that holds
// text[start:end] whole; false when none does.
func Around(segs []Seg, start, end int) (Seg, bool) {
	k := sort.Search(len(segs), func(i int) bool { return segs[i].End > start })
	if k == len(segs) || segs[k].Start > start || segs[k].End < end {
		return Seg{}, false
	}
	return segs[k], true
}
