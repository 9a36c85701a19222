package gates

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/miroverse/miroverse/internal/text"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/qa/internal/names"
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
	// PathText holds the path docs' fact values and evidence sentences. A
	// number of two or more digits (a year, a day of a full date, a count)
	// that the question repeats from them literally is a leak: the report
	// asks for dates to become periods ("in the spring of the 2020s").
	// Nil skips the literal check, so callers that predate it keep working.
	PathText []string
	// Anchors are the anchor texts of the links the walk follows into its
	// docs (WalkAnchors): only their distinctive words, initialisms and
	// near spellings count, since an anchor is often a common word ("his
	// party"). Nil skips them.
	Anchors []string
}

// CheckLeak returns "" when question names none of l's entities, else the
// reason of the first leak found: qa.ReasonLeakAnswer, qa.ReasonLeakAlias
// or qa.ReasonLeakIntermediate, then qa.ReasonLeakNamePart (a word,
// near spelling, initialism or qualifier of a name or anchor), then
// qa.ReasonLeakLiteral; and the name, part or number that matched, for the
// item's detail. Names match as whole words on
// normalized text, so "Rome" leaks in "Rome's forum" but not in "Romeo".
func CheckLeak(question string, l Leak) (reason, name string) {
	q := " " + text.FoldName(question) + " "
	has := func(name string, full bool) bool {
		n := text.FoldName(name)
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
		if base := names.StripParenthetical(title); base != title {
			return has(base, false)
		}
		return false
	}
	if hasTitle(l.Answer, true) {
		return qa.ReasonLeakAnswer, l.Answer
	}
	for _, a := range l.AnswerAliases {
		if hasTitle(a, false) {
			return qa.ReasonLeakAlias, a
		}
	}
	// Intermediate names mix titles and aliases; both are checked as titles
	// would be, but with the short-name rule, because the caller cannot tell
	// us which is which.
	for _, t := range l.Intermediate {
		if hasTitle(t, false) {
			return qa.ReasonLeakIntermediate, t
		}
	}
	// Parts of names come after whole names, so a question naming an entity
	// in full keeps the more telling reason.
	all := append([]string{l.Answer}, l.AnswerAliases...)
	all = append(all, l.Intermediate...)
	all = append(all, l.Anchors...)
	if part := checkNameParts(question, all); part != "" {
		return qa.ReasonLeakNamePart, part
	}
	if lit := findLiteral(question, l.PathText); lit != "" {
		return qa.ReasonLeakLiteral, lit
	}
	return "", ""
}

// numberRE finds digit runs with inner thousands or decimal separators
// ("1,200", "3.5", "2023"); separators are dropped before comparing, so
// "1,200" in a question matches "1200" in a fact.
var numberRE = regexp.MustCompile(`\d(?:[\d,.]*\d)?`)

// minLiteralDigits: single digits ("2 sons", "3rd") are too common to mean
// anything; two digits already cover days of dates and years.
const minLiteralDigits = 2

// literals returns the numbers of s with at least minLiteralDigits digits,
// separators removed, in order of appearance and without repeats. A decade
// ("the 1830s") or an ordinal ("the 14th century") is not a number here: it
// is the period the obfuscation pass turns a date into, and "1830" of the
// path must not make it a leak.
func literals(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, loc := range numberRE.FindAllStringIndex(s, -1) {
		if isPeriod(s, loc[1]) {
			continue
		}
		n := strings.NewReplacer(",", "", ".", "").Replace(s[loc[0]:loc[1]])
		if len(n) < minLiteralDigits || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	return out
}

// isPeriod reports whether the number ending at end is a decade or an
// ordinal ("1830s", "the 90s", "14th century", "21st"): periods are what
// the obfuscation pass makes of dates, not literals copied from the path.
func isPeriod(s string, end int) bool {
	for _, suffix := range []string{"s", "st", "nd", "rd", "th"} {
		if !strings.HasPrefix(s[end:], suffix) {
			continue
		}
		next := end + len(suffix)
		if next == len(s) {
			return true
		}
		r, _ := utf8.DecodeRuneInString(s[next:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// findLiteral returns the first number of question that also occurs in
// pathText, or "". Both sides go through literals, so a number only matches
// a whole number ("19" is not found in "1990").
func findLiteral(question string, pathText []string) string {
	qs := literals(question)
	if len(qs) == 0 || len(pathText) == 0 {
		return ""
	}
	path := map[string]bool{}
	for _, t := range pathText {
		for _, n := range literals(t) {
			path[n] = true
		}
	}
	for _, n := range qs {
		if path[n] {
			return n
		}
	}
	return ""
}
