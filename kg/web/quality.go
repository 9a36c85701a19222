package web

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Quality are the measures the filters judge a page by.
type Quality struct {
	Words int
	// LinkDensity is the share of the main text's bytes inside anchors.
	LinkDensity float64
	// Boilerplate is the share of the page's visible text that is not main
	// text (navigation, footers, sidebars), 0 for text-only records.
	Boilerplate float64
	Lang        string
}

// Filters are the quality rules of kept pages; a zero field does not
// filter. Defaults, as configs document them: DefaultFilters.
type Filters struct {
	MinWords       int
	MaxLinkDensity float64
	MaxBoilerplate float64
	// Languages are ISO 639-1 codes; a page in another language, or whose
	// language is not identified, is rejected. Empty: every language.
	Languages []string
}

// DefaultFilters keep pages with some prose of their own: at least 50
// words, at most half of the text inside links (link lists, tag clouds)
// and at most 95% of the visible page outside the main text (a shell of
// navigation around a line of content). FineWeb's and Gopher's rules are
// stricter; these only remove what cannot make a question.
func DefaultFilters() Filters {
	return Filters{MinWords: 50, MaxLinkDensity: 0.5, MaxBoilerplate: 0.95}
}

// Filter reasons, as counted: "filter:" and the rule.
const (
	FilterMinWords    = "filter:min_words"
	FilterLinkDensity = "filter:link_density"
	FilterBoilerplate = "filter:boilerplate"
	FilterLanguage    = "filter:language"
)

// check returns the first rule q fails, "" when it passes them all.
func (f Filters) check(q Quality) string {
	switch {
	case f.MinWords > 0 && q.Words < f.MinWords:
		return FilterMinWords
	case f.MaxLinkDensity > 0 && q.LinkDensity > f.MaxLinkDensity:
		return FilterLinkDensity
	case f.MaxBoilerplate > 0 && q.Boilerplate > f.MaxBoilerplate:
		return FilterBoilerplate
	case len(f.Languages) > 0 && !slices.Contains(f.Languages, q.Lang):
		return FilterLanguage
	}
	return ""
}

// measure fills every field of a page's Quality but its language.
func measure(r rendered, visible int) Quality {
	q := Quality{Words: countWords(r.text)}
	main := 0
	for _, c := range r.text {
		if !unicode.IsSpace(c) {
			main += utf8.RuneLen(c)
		}
	}
	if n := len(strings.TrimSpace(r.text)); n > 0 {
		q.LinkDensity = float64(r.linkBytes) / float64(n)
	}
	if visible > 0 && main < visible {
		q.Boilerplate = 1 - float64(main)/float64(visible)
	}
	return q
}

// countWords counts space-separated words, and every character of the
// scripts written without spaces (Han, kana, Thai, ...) as one, so that a
// Chinese page of 200 characters is not taken for a page of three words.
func countWords(s string) int {
	n := 0
	in := false
	for _, r := range s {
		if r < utf8.RuneSelf {
			// ASCII, most of most pages: no script of the tables below.
			if r == ' ' || '\t' <= r && r <= '\r' || unicode.IsPunct(r) {
				in = false
			} else if !in {
				n++
				in = true
			}
			continue
		}
		switch {
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar):
			n++
			in = false
		case unicode.IsSpace(r) || unicode.IsPunct(r):
			in = false
		default:
			if !in {
				n++
			}
			in = true
		}
	}
	return n
}
