package qa

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Leak reasons returned by CheckLeak and recorded in Item.Reason.
const (
	ReasonLeakAnswer       = "leak:answer"
	ReasonLeakAlias        = "leak:alias"
	ReasonLeakIntermediate = "leak:intermediate_title"
)

// minDerivedLen is the shortest normalized alias (or title with its
// parenthetical removed) that the gate looks for. Redirects such as "US",
// "It" or "UK" fold to ordinary words ("us", "it") once case is dropped, so
// matching them would reject almost every question; a leak through a one- or
// two-letter name is rare enough to accept. Full titles are always checked:
// whole-word matching already keeps "Ur" from hitting "during".
const minDerivedLen = 3

// Leak lists the names a question must not contain.
type Leak struct {
	Answer        string   // the answer's title
	AnswerAliases []string // its redirect aliases
	// Intermediate holds the titles of the other docs of the path and their
	// redirect aliases.
	Intermediate []string
}

// CheckLeak returns "" when question names none of l's entities, else the
// reason of the first leak found: ReasonLeakAnswer, ReasonLeakAlias or
// ReasonLeakIntermediate. Names match as whole words on normalized text, so
// "Rome" leaks in "Rome's forum" but not in "Romeo".
func CheckLeak(question string, l Leak) string {
	reason, _ := findLeak(question, l)
	return reason
}

// findLeak is CheckLeak that also returns the name that matched, for the
// item's detail.
func findLeak(question string, l Leak) (reason, name string) {
	q := " " + normalize(question) + " "
	has := func(name string, full bool) bool {
		n := normalize(name)
		if n == "" || (!full && len([]rune(n)) < minDerivedLen) {
			return false
		}
		return strings.Contains(q, " "+n+" ")
	}
	// hasTitle checks a title and the title without its disambiguating
	// parenthetical ("Mercury (planet)" -> "Mercury"), since a question
	// naming the planet leaks it whether or not it adds the qualifier.
	hasTitle := func(title string, full bool) bool {
		if has(title, full) {
			return true
		}
		if base := stripParenthetical(title); base != title {
			return has(base, false)
		}
		return false
	}
	if hasTitle(l.Answer, true) {
		return ReasonLeakAnswer, l.Answer
	}
	for _, a := range l.AnswerAliases {
		if hasTitle(a, false) {
			return ReasonLeakAlias, a
		}
	}
	// Intermediate names mix titles and aliases; both are checked as titles
	// would be, but with the short-name rule, because the caller cannot tell
	// us which is which.
	for _, t := range l.Intermediate {
		if hasTitle(t, false) {
			return ReasonLeakIntermediate, t
		}
	}
	return "", ""
}

// stripParenthetical removes one trailing "(…)" qualifier from a title.
func stripParenthetical(title string) string {
	t := strings.TrimSpace(title)
	if !strings.HasSuffix(t, ")") {
		return title
	}
	i := strings.LastIndex(t, "(")
	if i <= 0 {
		return title
	}
	return strings.TrimSpace(t[:i])
}

// normalize lowercases s, removes diacritics, turns every rune that is not a
// letter or digit into a space and collapses runs of spaces, so that names
// compare equal however they are cased, accented or punctuated.
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true // drops leading spaces
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if f, ok := foldExtra(r); ok {
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

// foldExtra folds letters that carry a diacritic-like stroke but have no
// Unicode decomposition, so NFD leaves them alone.
func foldExtra(r rune) (string, bool) {
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
