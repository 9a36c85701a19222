package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/parquet-go/parquet-go"
	"golang.org/x/text/unicode/norm"

	"github.com/miroverse/miroverse/pipeline"
	"github.com/miroverse/miroverse/qa"
)

// This file reads the kept questions of a run the way an auditor would,
// with rules of its own: it must not call qa/gates or the writer, because a
// check written with the gates' code would share their blind spots. The
// rules are deliberately plain (what a person reading the question notices
// first), and TestQuestionAudit proves each one catches the audit's
// examples before the runs are held to them.

// questionFault is what an auditor objects to in one question, "" if none.
type questionFault struct{ kind, detail string }

// auditQuestion checks one question against the titles and anchor texts of
// its walk.
func auditQuestion(question string, names []string) []questionFault {
	var out []questionFault
	if f := cutClause(question); f != "" {
		out = append(out, questionFault{"cut_clause", f})
	}
	if f := unintroduced(question); f != "" {
		out = append(out, questionFault{"unintroduced", f})
	}
	if f := brokenGrammar(question); f != "" {
		out = append(out, questionFault{"broken_grammar", f})
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		if f := nameFragment(question, n); f != "" {
			out = append(out, questionFault{"name_fragment", fmt.Sprintf("%q from %q", f, n)})
		}
	}
	return out
}

// cutClause: an ellipsis, a question that does not end as a question, a
// bracket or quote left open, or a sentence that ends on a function word
// ("… in the.") are all signs of text clipped to a length.
func cutClause(q string) string {
	q = strings.TrimSpace(q)
	switch {
	case strings.Contains(q, "…") || strings.Contains(q, "..."):
		return "ellipsis"
	case !strings.HasSuffix(q, "?"):
		return "does not end with a question mark"
	case strings.Count(q, "(") != strings.Count(q, ")"):
		return "unbalanced parentheses"
	case strings.Count(q, `"`)%2 != 0 || strings.Count(q, "“") != strings.Count(q, "”"):
		return "unbalanced quotes"
	}
	for _, s := range sentenceEnd.FindAllStringSubmatch(q, -1) {
		if danglingWords[strings.ToLower(s[1])] {
			return fmt.Sprintf("sentence ends on %q", s[1])
		}
	}
	return ""
}

var (
	sentenceEnd   = regexp.MustCompile(`(\p{L}+)\s*[.;:](?:\s|$)`)
	danglingWords = setOf("the", "a", "an", "of", "in", "and", "or", "to", "by", "for", "with", "from", "at", "on", "as", "its", "his", "her", "their")
)

// ordinalRef is a reference by position ("the second figure"), the form
// the writer uses for what it may not name.
var ordinalRef = regexp.MustCompile(`\b((?i:the|a|an|this|that))\s+(first|second|third|fourth|fifth|sixth|seventh|eighth)\s+(\p{L}+)`)

// brokenGrammar: the seams a writer that splices placeholders into
// sentences leaves: two articles in a row ("the the 1900s"), an article
// after a possessive ("their the city"), "an" before a consonant, and a
// title run into a placeholder ("the composer the third figure").
func brokenGrammar(q string) string {
	for _, r := range grammarSeams {
		if m := r.FindString(q); m != "" {
			return fmt.Sprintf("%q", m)
		}
	}
	return ""
}

var grammarSeams = []*regexp.Regexp{
	regexp.MustCompile(`\b(?i:the|a|an) (?i:the|a|an)\b`),
	regexp.MustCompile(`\b(?i:their|his|her|its|our) (?i:the|a|an)\b`),
	regexp.MustCompile(`\b(?i:an) [bcdfgjklmnpqrstvwxz]\p{L}*`),
	regexp.MustCompile(`\b(?i:the) [a-z]+ the (?:first|second|third|fourth|fifth|sixth|seventh|eighth) (?:figure|subject|place)\b`),
}

// unintroduced: a reference by position that the question uses with "the"
// before it has ever said what that entity is. The first mention must
// introduce it: either with an indefinite article ("a second figure"),
// or as the subject of a clause that says what it is ("The first figure
// was a Danish astronomer", "the second figure, who …"). "What is the name
// of the fifth figure?" with no fifth figure before it is the audit's case.
func unintroduced(q string) string {
	seen := map[string]bool{}
	for _, m := range ordinalRef.FindAllStringSubmatchIndex(q, -1) {
		det := strings.ToLower(q[m[2]:m[3]])
		key := strings.ToLower(q[m[4]:m[5]] + " " + q[m[6]:m[7]])
		if seen[key] {
			continue
		}
		seen[key] = true
		if det == "a" || det == "an" || introducesBy(q[m[1]:]) {
			continue
		}
		return "\"" + q[m[0]:m[1]] + "\" before it is introduced"
	}
	return ""
}

// introducesBy reports whether the text right after a first mention says
// what the entity is.
func introducesBy(after string) bool {
	after = strings.TrimLeft(after, " ")
	for _, p := range []string{"was ", "is ", "were ", "are ", ", who ", ", which ", ", a ", ", an ", ", the ", "(", "— "} {
		if strings.HasPrefix(after, p) {
			return true
		}
	}
	return false
}

// nameFragment returns a part of name that q still holds: a distinctive
// word of it (capitalised in the title and capitalised in the question),
// the same word with one letter changed, the name's initialism, or its
// qualifier in parentheses.
func nameFragment(q, name string) string {
	qWords := words(q)
	qFolded := make([]string, len(qWords))
	for i, w := range qWords {
		qFolded[i] = foldWord(w)
	}
	inner, qual := name, ""
	if i := strings.LastIndex(name, " ("); i > 0 && strings.HasSuffix(name, ")") {
		inner, qual = name[:i], name[i+2:len(name)-1]
	}
	var parts []string
	for _, w := range words(inner) {
		if isCapitalised(w) && len([]rune(w)) >= 4 && !commonCapitalised[strings.ToLower(w)] {
			parts = append(parts, w)
		}
	}
	for _, w := range words(qual) {
		if isCapitalised(w) && len([]rune(w)) >= 3 {
			parts = append(parts, w)
		}
	}
	for _, p := range parts {
		fp := foldWord(p)
		for i, w := range qWords {
			if !isCapitalised(w) {
				continue
			}
			if qFolded[i] == fp || (len([]rune(fp)) >= 5 && editDistanceOne(qFolded[i], fp)) {
				return w
			}
		}
	}
	if ini := initialism(inner); len(ini) >= 2 {
		for _, w := range qWords {
			if w == ini {
				return w
			}
		}
	}
	return ""
}

// commonCapitalised are title words that a fluent question capitalises for
// reasons of its own: at a sentence start.
// Generic heads of names ("Party", "University", "River") are no part of
// any one name: another name may hold them as well.
var commonCapitalised = setOf("the", "what", "which", "who", "whom", "whose", "where", "when", "this", "that", "there", "from", "after", "before", "during", "with",
	"party", "university", "college", "school", "river", "city", "county", "district", "region", "state", "states", "republic",
	"kingdom", "empire", "national", "united", "church", "institute", "company", "club", "football", "association", "list", "high", "senior", "junior", "king", "queen", "saint")

func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’' })
}

func isCapitalised(w string) bool {
	for _, r := range w {
		return unicode.IsUpper(r)
	}
	return false
}

// initialism: the capitals of a name of two or more capitalised words
// ("New Patriotic Party" → "NPP").
func initialism(name string) string {
	var b strings.Builder
	n := 0
	for _, w := range words(name) {
		if isCapitalised(w) {
			r := []rune(w)[0]
			b.WriteRune(r)
			n++
		}
	}
	if n < 2 {
		return ""
	}
	return b.String()
}

func foldWord(w string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(w)) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// editDistanceOne reports whether a and b differ by one substitution,
// insertion or deletion.
func editDistanceOne(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) < len(rb) {
		ra, rb = rb, ra
	}
	if len(ra)-len(rb) > 1 || a == b {
		return false
	}
	i := 0
	for i < len(rb) && ra[i] == rb[i] {
		i++
	}
	if len(ra) == len(rb) {
		return string(ra[i+1:]) == string(rb[i+1:])
	}
	return string(ra[i+1:]) == string(rb[i:])
}

func setOf(ws ...string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[w] = true
	}
	return m
}

// The auditor's rules on the audit's own examples, and on questions a
// person would accept.
func TestQuestionAudit(t *testing.T) {
	cases := []struct {
		question string
		names    []string
		want     string // fault kind, "" for none
	}{
		{"Antonín Leopold the first figure was a Czech composer. What is the name of the first figure?", []string{"Antonín Dvořák"}, "name_fragment"},
		{"The first figure and Pierre the first figure discovered polonium. What is the name of the first figure?", []string{"Marie Curie", "Pierre Curie"}, "name_fragment"},
		{"The first figure was born in Wasaw. Which city was that?", []string{"Warsaw"}, "name_fragment"},
		{"The first subject won many seats for the NPP. What is the name of the first subject?", []string{"New Patriotic Party"}, "name_fragment"},
		{"The first subject stands in Texas. What is the name of the first subject?", []string{"Paris (Texas)"}, "name_fragment"},
		{"A place categorised as Rivers of Germany rises in the mountains. Which country does the river rise in?", []string{"Elbe", "Germany"}, "name_fragment"},
		{"The first figure moved to a place categorised as Capitals in Europe to work as an assistant to the… What is the name of the place?", nil, "cut_clause"},
		{"The score was published by the firm of Simrock in a place categorised as. What is the name of the place?", nil, "cut_clause"},
		{"Who was the composer (born in the 1840s", nil, "cut_clause"},
		{"The first figure was a Danish astronomer. Regarding the second figure: he moved to the city. What is the name of the second figure?", nil, "unintroduced"},
		{"The fourth subject is a novel. What is the name of the fifth figure?", nil, "unintroduced"},
		{"For this work the first figure shared the the 1900s Nobel Prize. What is the name of the first figure?", nil, "broken_grammar"},
		{"The first figure worked in their the place categorised as Capitals in Europe laboratory. What is the name of the first figure?", nil, "broken_grammar"},
		{"The first figure was an composer. What is the name of the first figure?", nil, "broken_grammar"},
		{"The first figure met the composer the second figure there. What is the name of the second figure?", nil, "broken_grammar"},
		// Fluent, chained, no names: nothing to object to.
		{"A Danish astronomer moved in the 1590s to a capital city of Europe. Which astronomer, later his assistant there, published laws of planetary motion?", []string{"Tycho Brahe", "Prague", "Johannes Kepler"}, ""},
		{"The first figure was a Danish astronomer. A second figure became his assistant in the city where he died. What is the name of the second figure?", []string{"Tycho Brahe", "Johannes Kepler"}, ""},
		{"What is the name of the river that flows through the capital where the University of this country was founded?", []string{"Elbe"}, ""},
		{"Which opera did the composer write for the theatre where his career began?", []string{"The Magic Flute", "Wolfgang Amadeus Mozart"}, ""},
		{"An astronomer who worked for an hour a day met a second figure, a composer, in their laboratory. What is the name of the second figure?", nil, ""},
	}
	for _, c := range cases {
		faults := auditQuestion(c.question, c.names)
		found := false
		for _, f := range faults {
			found = found || f.kind == c.want
		}
		if (c.want == "" && len(faults) > 0) || (c.want != "" && !found) {
			t.Errorf("audit(%q) = %v, want %q", c.question, faults, c.want)
		}
	}
}

// subgraphNames maps a walk id to the titles and anchor texts of its walk.
func subgraphNames(t *testing.T, root string) map[string][]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, "subgraphs", "*.parquet"))
	out := map[string][]string{}
	for _, f := range files {
		rows, err := parquet.ReadFile[pipeline.SubgraphRow](f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		for _, r := range rows {
			out[r.ID] = append(append([]string(nil), r.Titles...), r.Anchors...)
		}
	}
	return out
}

// auditRun holds every kept question the walks gave (imports excluded) to
// the auditor's rules.
func auditRun(t *testing.T, root string) {
	t.Helper()
	names := subgraphNames(t, root)
	kept := 0
	for _, r := range readQA(t, root) {
		if r.Status != qa.StatusKept || strings.HasPrefix(r.Writer, qa.ImportedWriter) {
			continue
		}
		kept++
		walk, ok := names[r.WalkID]
		if !ok {
			t.Errorf("%s: walk %s not in subgraphs/", r.ID, r.WalkID)
		}
		for _, f := range auditQuestion(r.Question, append(walk, r.Titles...)) {
			t.Errorf("%s %s (%s): %q", r.ID, f.kind, f.detail, r.Question)
		}
	}
	if kept == 0 {
		t.Errorf("%s: no kept question to audit", root)
	}
	t.Logf("%s: %d kept questions audited", root, kept)
}

func TestDemoQuestionsPassAudit(t *testing.T) { auditRun(t, demo(t)) }

func TestFatwikiQuestionsPassAudit(t *testing.T) {
	root, _ := fatwiki(t)
	auditRun(t, root)
}
