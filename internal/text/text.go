// Package text holds the generic text rules that several stages, and the
// built-in oracle that stands in for their models, must apply the same way:
// how names are folded for comparison, how answers are normalised and
// scored. A rule written twice drifts; each lives here once.
package text

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Fold lowercases s and removes its diacritics, in every script, including
// the stroke letters that have no Unicode decomposition ("Łódź" → "lodz",
// "Ørsted" → "orsted", "Straße" → "strasse"). Everything else is kept as it
// is, so the result can be cut at the same word boundaries as s.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if f, ok := foldStroke(r); ok {
			b.WriteString(f)
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// FoldName is the form in which names are compared, however they are cased,
// accented or punctuated: Fold, then every run of runes that are not letters
// or digits as one space, trimmed ("Saint-Étienne (city)" → "saint etienne
// city").
func FoldName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true // drops leading spaces
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if f, ok := foldStroke(r); ok {
			b.WriteString(f)
			space = false
			continue
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
			space = false
			continue
		}
		if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// FoldText is the form in which whole questions are compared for near
// duplicates and benchmark contamination: NFKC (so full-width and ligature
// forms fold), lowercase, every run of runes that are not letters or digits
// as one space, trimmed. Unlike FoldName it keeps diacritics: NFKC is what
// the benchmark lists are hashed under, and a question differing only in
// accents is caught by the overlap thresholds anyway.
func FoldText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true
	for _, r := range norm.NFKC.String(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
			space = false
			continue
		}
		if unicode.Is(unicode.Mn, r) {
			continue // a combining mark NFKC could not compose belongs to its letter, not a word break
		}
		if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// foldStroke folds letters that carry a diacritic-like stroke but have no
// Unicode decomposition, so NFD leaves them alone.
func foldStroke(r rune) (string, bool) {
	switch r {
	case 'ø', 'Ø':
		return "o", true
	case 'ł', 'Ł':
		return "l", true
	case 'đ', 'Đ':
		return "d", true
	case 'ı':
		return "i", true
	case 'ß':
		return "ss", true
	case 'æ', 'Æ':
		return "ae", true
	case 'œ', 'Œ':
		return "oe", true
	case 'þ', 'Þ':
		return "th", true
	}
	return "", false
}

// NormalizeAnswer maps an answer to the form compared by exact match and
// token F1: compatibility-normalized, lowercased, Latin diacritics removed,
// punctuation dropped, the articles a/an/the removed and whitespace collapsed.
//
// Dashes become spaces rather than vanishing because they join words
// ("Jean-Paul" must match "Jean Paul"); other punctuation is dropped so that
// "U.S." matches "US" and "1,000" matches "1000".
func NormalizeAnswer(s string) string {
	s = foldLatinMarks(norm.NFKC.String(s))
	s = strings.ToLower(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Pd, r):
			b.WriteByte(' ')
		case unicode.IsPunct(r) || unicode.IsSymbol(r):
			// dropped
		case unicode.IsSpace(r) || unicode.IsControl(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	words := strings.Fields(b.String())
	kept := words[:0]
	for _, w := range words {
		switch w {
		case "a", "an", "the":
			continue
		}
		kept = append(kept, w)
	}
	return strings.Join(kept, " ")
}

// AnswerTokens is the words of NormalizeAnswer(s).
func AnswerTokens(s string) []string { return strings.Fields(NormalizeAnswer(s)) }

// foldLatinMarks removes combining marks that sit on Latin letters, so that
// "Zürich" matches "Zurich" (gold answers are Wikipedia titles, agents often
// drop accents). Marks on other scripts stay: in Devanagari or kana they
// distinguish different words, not spellings of one.
func foldLatinMarks(s string) string {
	d := norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(d))
	var base rune
	changed := false
	for _, r := range d {
		if unicode.Is(unicode.Mn, r) {
			if unicode.Is(unicode.Latin, base) {
				changed = true
				continue
			}
		} else {
			base = r
		}
		b.WriteRune(r)
	}
	if !changed {
		return s
	}
	return norm.NFC.String(b.String())
}

// TokenF1 is the SQuAD-style token F1 between the normalized answers. Unlike
// SQuAD 2.0 it is 0 when either side is empty: an empty prediction is never a
// correct answer here, and an empty gold is a data error, not a match.
func TokenF1(pred, gold string) float64 {
	return tokenF1(AnswerTokens(pred), AnswerTokens(gold))
}

func tokenF1(p, g []string) float64 {
	if len(p) == 0 || len(g) == 0 {
		return 0
	}
	counts := make(map[string]int, len(g))
	for _, t := range g {
		counts[t]++
	}
	common := 0
	for _, t := range p {
		if counts[t] > 0 {
			counts[t]--
			common++
		}
	}
	// 2PR/(P+R) simplified to 2c/(|p|+|g|): one rounding instead of several,
	// so an F1 of exactly the threshold (4/5 = 0.8) compares as equal to it.
	return 2 * float64(common) / float64(len(p)+len(g))
}
