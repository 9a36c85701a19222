package oracle

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/miroverse/miroverse/qa/writer"
)

// Date patterns. Month names are matched capitalised only, so that the verb
// "may" is never taken for a month. Compiled regexps are immutable and safe
// for concurrent use, so sharing them is not shared mutable state.
const (
	monthPattern = `(?:January|February|March|April|May|June|July|August|September|October|November|December|` +
		`Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept?\.?|Oct\.?|Nov\.?|Dec\.?)`
	dayPattern = `\d{1,2}(?:st|nd|rd|th)?`
)

var (
	reISODate = regexp.MustCompile(`\b(\d{4})-\d{2}-\d{2}\b`)
	// A full date may carry its preposition: "on 7 November 1867" must
	// become "in the late 1860s", not "on the late 1860s".
	reDayMonth  = regexp.MustCompile(`(?:\b[Oo]n\s+)?\b` + dayPattern + `\s+` + monthPattern + `,?\s+(\d{3,4})\b`)
	reMonthDay  = regexp.MustCompile(`(?:\b[Oo]n\s+)?\b` + monthPattern + `\s+` + dayPattern + `,?\s+(\d{3,4})\b`)
	reMonthYear = regexp.MustCompile(`\b` + monthPattern + `,?\s+(\d{3,4})\b`)
	reYearRange = regexp.MustCompile(`\b(1\d{3}|20\d{2})\s*(?:–|—|-|to)\s*(1\d{3}|20\d{2}|\d{2})\b`)
	reYear      = regexp.MustCompile(`\b(1\d{3}|20\d{2})\b`)
)

// reLifespan is the "(3 July 1883 – 3 June 1924)" aside that opens a
// biography: two years joined by a dash inside the first parentheses.
var reLifespan = regexp.MustCompile(`^[^(]*\([^()]*\b\d{3,4}\b[^()]*[–—-][^()]*\b\d{3,4}\b[^()]*\)`)

// decade names the decade of year: 1867 -> "the 1860s".
func decade(year int) string {
	return fmt.Sprintf("the %ds", year-year%10)
}

// period names the part of the decade of year: 1867 -> "the late 1860s".
// A full date is blurred this way (the report's "March 15, 2023 -> in the
// spring of the 2020s" style), keeping enough to tell eras apart.
func period(year int) string {
	part := "early"
	switch d := year % 10; {
	case d >= 7:
		part = "late"
	case d >= 4:
		part = "mid"
	}
	return fmt.Sprintf("the %s %ds", part, year-year%10)
}

// reMonthName finds the month of a date match by its first three letters.
var reMonthName = regexp.MustCompile(`\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)`)

// season names the season of month m (1-12) as the northern hemisphere has
// it: the report's "March 15, 2023 -> in the spring of the 2020s".
func season(m int) string {
	switch m {
	case 3, 4, 5:
		return "spring"
	case 6, 7, 8:
		return "summer"
	case 9, 10, 11:
		return "autumn"
	}
	return "winter"
}

// seasonPeriod blurs a date that names its month to the season of its
// decade: "March 15, 2023" -> "the spring of the 2020s". The day and the
// exact year go, the time of year stays as a clue.
func seasonPeriod(month, year int) string {
	return "the " + season(month) + " of " + decade(year)
}

// monthOf is the month (1-12) a date match names, 0 if none.
func monthOf(match string) int {
	m := reMonthName.FindString(match)
	if m == "" {
		return 0
	}
	return strings.Index("JanFebMarAprMayJunJulAugSepOctNovDec", m)/3 + 1
}

// lastYear is the year captured by the last group of a date match.
func lastYear(re *regexp.Regexp, match string) int {
	m := re.FindStringSubmatch(match)
	y, _ := strconv.Atoi(m[len(m)-1]) // the pattern only captures digits
	return y
}

// obfuscateDates blurs dates: full dates and month-year dates become the
// season of their decade ("the autumn of the 1860s"), lone years and year
// ranges become decades ("the 1860s"). Centuries and decades are already
// vague and are kept.
func obfuscateDates(s string) string {
	s = reISODate.ReplaceAllStringFunc(s, func(m string) string {
		y, _ := strconv.Atoi(m[:4])
		mo, _ := strconv.Atoi(m[5:7])
		if mo < 1 || mo > 12 {
			return period(y)
		}
		return seasonPeriod(mo, y)
	})
	for _, re := range []*regexp.Regexp{reDayMonth, reMonthDay, reMonthYear} {
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			p := period(lastYear(re, m))
			if mo := monthOf(m); mo > 0 {
				p = seasonPeriod(mo, lastYear(re, m))
			}
			switch {
			case strings.HasPrefix(m, "on"):
				return "in " + p
			case strings.HasPrefix(m, "On"):
				return "In " + p
			}
			return p
		})
	}
	s = reYearRange.ReplaceAllStringFunc(s, func(m string) string {
		g := reYearRange.FindStringSubmatch(m)
		from, _ := strconv.Atoi(g[1])
		to, _ := strconv.Atoi(g[2])
		if len(g[2]) == 2 { // "1867–70"
			to += from - from%100
			if to < from {
				to += 100
			}
		}
		if from/10 == to/10 {
			return decade(from)
		}
		return decade(from) + "–" + strings.TrimPrefix(decade(to), "the ")
	})
	s = reYear.ReplaceAllStringFunc(s, func(m string) string {
		y, _ := strconv.Atoi(m)
		return decade(y)
	})
	// "the 1903 Nobel Prize" gave "the the 1900s Nobel Prize": a period
	// brings its own article.
	return reDoubleThe.ReplaceAllString(s, "$1 ")
}

var reDoubleThe = regexp.MustCompile(`\b([Tt]he) the `)

// stripParentheticals removes every "(…)" aside, nested ones included. In
// the first sentence of an article they hold birth names, pronunciations
// and native spellings: alternative names that would give the entity away.
func stripParentheticals(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	out := collapseSpaces(b.String())
	for _, p := range []string{",", ".", ";", ":"} {
		out = strings.ReplaceAll(out, " "+p, p)
	}
	return out
}

// stripQualifier drops a trailing disambiguation: "Mercury (planet)" ->
// "Mercury".
func stripQualifier(title string) string {
	t := strings.TrimSpace(title)
	if !strings.HasSuffix(t, ")") {
		return t
	}
	if i := strings.LastIndex(t, "("); i > 0 {
		return strings.TrimSpace(t[:i])
	}
	return t
}

// nameVariants lists the forms under which a title shows up in running text:
// the title itself, without its disambiguation, before a comma ("Paris,
// Texas" -> "Paris"), without a leading article ("The Beatles" ->
// "Beatles"), and for a person the surname. Possessives need no variant:
// words() splits "Curie's" into "Curie" and "s". Variants shorter than three
// letters or made of a single stopword are left out, since hiding every
// "US" or "It" would wreck the sentence; the full title is always kept.
func nameVariants(title string, person bool) []string {
	t := collapseSpaces(title)
	if t == "" {
		return nil
	}
	out := []string{t}
	add := func(v string) {
		v = strings.TrimSpace(v)
		toks := tokens(v)
		if len(toks) == 0 || utf8.RuneCountInString(strings.Join(toks, " ")) < 3 {
			return
		}
		if len(toks) == 1 && isStopword(toks[0]) {
			return
		}
		for _, o := range out {
			if slices.Equal(tokens(o), toks) {
				return
			}
		}
		out = append(out, v)
	}
	base := stripQualifier(t)
	add(base)
	if i := strings.Index(base, ","); i > 0 {
		add(base[:i])
	}
	if len(base) > 4 && strings.EqualFold(base[:4], "the ") {
		add(base[4:])
	}
	if person {
		f := strings.Fields(base)
		if len(f) >= 2 && len(f) <= 4 {
			capitalised := true
			for _, w := range f {
				r, _ := utf8.DecodeRuneInString(w)
				capitalised = capitalised && unicode.IsUpper(r)
			}
			if capitalised {
				add(f[len(f)-1])
			}
		}
	}
	return out
}

// Kinds of doc, which pick the noun of a placeholder.
const (
	kindOther = iota
	kindPerson
	kindPlace
)

// docKind guesses whether a doc is about a person or a place from its
// categories and first sentence. Person wins, because a biography often
// mentions the town someone was born in.
func docKind(d writer.PassDoc) int {
	for _, c := range d.Categories {
		for _, t := range tokens(c) {
			switch t {
			case "births", "deaths", "people", "alumni":
				return kindPerson
			}
		}
	}
	// "born" is looked for before the asides are dropped: "(born 1950)" is
	// where a first sentence usually says it.
	if slices.Contains(tokens(d.Description), "born") || reLifespan.MatchString(d.Description) {
		return kindPerson
	}
	desc := tokens(stripParentheticals(d.Description))
	for _, c := range d.Categories {
		if slices.ContainsFunc(tokens(c), isPlaceWord) {
			return kindPlace
		}
	}
	// "X is a town in …", "X was a small fishing village …", "X is a state
	// in the South Central region …": the noun comes within a few words.
	for i, t := range desc {
		if t != "is" && t != "was" {
			continue
		}
		if slices.ContainsFunc(desc[i+1:min(len(desc), i+9)], isPlaceWord) {
			return kindPlace
		}
		break
	}
	return kindOther
}

// isPlaceWord recognises the nouns that categories and first sentences use
// for places. "State" is left out: too many non-places are "state" things.
func isPlaceWord(w string) bool {
	switch stem(w) {
	case "city", "town", "village", "capital", "country", "municipality", "commune", "region", "province",
		"county", "district", "island", "river", "mountain", "lake", "suburb", "neighbourhood", "neighborhood",
		"settlement", "borough", "metropoli", "port", "populated", "oblast", "prefecture", "canton", "hamlet":
		return true
	}
	return false
}

// ordinal spells out small positions for readable placeholders.
func ordinal(i int) string {
	words := []string{"first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"}
	if i < len(words) {
		return words[i]
	}
	return fmt.Sprintf("number %d", i+1)
}

// definite turns a placeholder into its definite form for the closing ask:
// "a place categorised as X" -> "the place categorised as X".
func definite(label string) string {
	if strings.HasPrefix(label, "a ") {
		return "the " + label[2:]
	}
	return label
}

// nameTerm is one name to hide, as folded words, with the placeholder that
// replaces it.
type nameTerm struct {
	toks  []string
	label string
	doc   int
	// place terms swallow a generic noun that follows them: "Vistula River"
	// becomes "a place categorised as Rivers of Poland", not "… Poland River".
	place bool
}

// namer finds names in text as whole words, ignoring case, accents and
// punctuation between the words ("Paris, Texas" meets "Paris Texas"), the
// same way the pipeline's leak gate looks for them.
type namer struct {
	terms []nameTerm
}

func (n *namer) add(name, label string, doc int) { n.addTerm(name, label, doc, false) }

func (n *namer) addTerm(name, label string, doc int, place bool) {
	toks := tokens(name)
	if len(toks) == 0 {
		return
	}
	n.terms = append(n.terms, nameTerm{toks: toks, label: label, doc: doc, place: place})
}

// sort puts longer names first, so "University of Paris" is replaced whole
// before "Paris" could be.
func (n *namer) sort() {
	slices.SortStableFunc(n.terms, func(a, b nameTerm) int {
		if c := cmp.Compare(len(b.toks), len(a.toks)); c != 0 {
			return c
		}
		return cmp.Compare(a.doc, b.doc)
	})
}

// match returns the term found at word i, if any.
func (n *namer) match(ws []word, i int) (nameTerm, bool) {
	for _, t := range n.terms {
		if i+len(t.toks) > len(ws) {
			continue
		}
		ok := true
		for j, tok := range t.toks {
			if ws[i+j].norm != tok {
				ok = false
				break
			}
		}
		if ok {
			return t, true
		}
	}
	return nameTerm{}, false
}

// mentions reports whether text names any term.
func (n *namer) mentions(text string) bool {
	ws := words(text)
	for i := range ws {
		if _, ok := n.match(ws, i); ok {
			return true
		}
	}
	return false
}

// replace puts each term's placeholder where text names it, capitalised at
// the start of a sentence. seen, when not nil, records the placeholders
// already used in the question: an indefinite one ("a place …") turns
// definite ("the place …") from its second mention on, as a reader expects.
func (n *namer) replace(text string, seen map[string]bool) string {
	ws := words(text)
	var b strings.Builder
	prev := 0
	for i := 0; i < len(ws); {
		t, ok := n.match(ws, i)
		if !ok {
			i++
			continue
		}
		end := i + len(t.toks) // index of the first word after the name
		if t.place && end < len(ws) && strings.TrimSpace(text[ws[end-1].end:ws[end].start]) == "" {
			if r, _ := utf8.DecodeRuneInString(text[ws[end].start:]); unicode.IsUpper(r) && isPlaceWord(ws[end].norm) {
				end++
			}
		}
		before := text[prev:ws[i].start]
		label := t.label
		if seen != nil {
			if seen[t.label] {
				label = definite(label)
			}
			seen[t.label] = true
		}
		// "the Vistula" must not become "the a place …": a placeholder
		// brings its own article, so the text's article goes, and its
		// capital passes to the placeholder.
		if cut, capital, ok := trailingArticle(before); ok && startsWithArticle(label) {
			before = cut
			if capital {
				label = upperFirst(label)
			}
		}
		// "their Paris laboratory": a placeholder cannot modify the noun
		// after it, so the place follows the noun ("their laboratory in the
		// place categorised as …").
		if t.place && end < len(ws) && endsWithPossessive(before) && text[ws[end-1].end:ws[end].start] == " " {
			if r, _ := utf8.DecodeRuneInString(text[ws[end].start:]); unicode.IsLower(r) {
				b.WriteString(before)
				b.WriteString(text[ws[end].start:ws[end].end])
				b.WriteString(" in ")
				b.WriteString(strings.ToLower(label[:1]) + label[1:])
				prev = ws[end].end
				i = end + 1
				continue
			}
		}
		b.WriteString(before)
		lead := strings.TrimRightFunc(before, unicode.IsSpace)
		if lead == "" {
			lead = strings.TrimRightFunc(text[:prev], unicode.IsSpace)
		}
		if lead == "" || strings.HasSuffix(lead, ".") || strings.HasSuffix(lead, "!") || strings.HasSuffix(lead, "?") {
			label = upperFirst(label)
		}
		b.WriteString(label)
		prev = ws[end-1].end
		i = end
	}
	b.WriteString(text[prev:])
	return b.String()
}

// endsWithPossessive reports whether s ends with a possessive determiner
// and a space.
func endsWithPossessive(s string) bool {
	if !strings.HasSuffix(s, " ") {
		return false
	}
	f := strings.Fields(s)
	if len(f) == 0 {
		return false
	}
	switch strings.ToLower(f[len(f)-1]) {
	case "their", "his", "her", "its", "our":
		return true
	}
	return false
}

// obfuscator hides the names of a walk's docs behind placeholders.
type obfuscator struct {
	names  namer
	labels []string // placeholder of each doc, in walk order
	kinds  []int    // docKind of each doc
	// seen holds the placeholders the question has used so far; an
	// obfuscator writes one question.
	seen map[string]bool
}

// newObfuscator prepares the placeholders of docs. answer is hidden too,
// under the last doc's placeholder, in case it is not spelled like the last
// title.
func newObfuscator(docs []writer.PassDoc, answer string) *obfuscator {
	kinds := make([]int, len(docs))
	variants := make([][]string, len(docs))
	var plain namer // names only, to vet placeholders
	for i, d := range docs {
		kinds[i] = docKind(d)
		variants[i] = nameVariants(d.Title, kinds[i] == kindPerson)
		for _, a := range d.Aliases {
			variants[i] = append(variants[i], nameVariants(a, false)...)
		}
		for _, v := range variants[i] {
			plain.add(v, "", i)
		}
	}
	for _, v := range nameVariants(answer, false) {
		plain.add(v, "", len(docs)-1)
	}

	o := &obfuscator{labels: make([]string, len(docs)), kinds: kinds, seen: map[string]bool{}}
	taken := map[string]bool{}
	for i, d := range docs {
		o.labels[i] = placeholder(i, kinds[i], d.Categories, &plain, taken)
		taken[o.labels[i]] = true
		for _, v := range variants[i] {
			o.names.addTerm(v, o.labels[i], i, kinds[i] == kindPlace)
		}
	}
	if last := len(docs) - 1; last >= 0 {
		for _, v := range nameVariants(answer, false) {
			o.names.addTerm(v, o.labels[last], last, kinds[last] == kindPlace)
		}
	}
	o.names.sort()
	return o
}

// placeholder picks the referential phrase of doc i: a place by its first
// category that names none of the walk's entities, anything else by its
// position and kind ("the second figure"). A phrase that would itself name an
// entity (a doc titled "Subject") falls back to a letter. A category another
// doc's placeholder already took is passed over: two places both "categorised
// as Capitals in Europe" would make "the place categorised as …" point at
// either.
func placeholder(i, kind int, categories []string, names *namer, taken map[string]bool) string {
	if kind == kindPlace {
		for _, c := range categories {
			c = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(c), "Category:"))
			if c == "" {
				continue
			}
			if l := "a place categorised as " + obfuscateDates(c); !names.mentions(l) && !taken[l] {
				return l
			}
		}
	}
	noun := "subject"
	switch kind {
	case kindPerson:
		noun = "figure"
	case kindPlace:
		noun = "place"
	}
	candidates := []string{
		"the " + ordinal(i) + " " + noun,
		"entity " + string(rune('A'+i%26)),
		"this entity",
	}
	for _, l := range candidates {
		if !names.mentions(l) {
			return l
		}
	}
	return "something"
}

// hide replaces names by placeholders and blurs dates. Names go first, so
// that a title holding a year ("2008 Summer Olympics") is recognised before
// its year is blurred.
func (o *obfuscator) hide(s string) string {
	return obfuscateDates(o.names.replace(s, o.seen))
}

// refer is the placeholder of doc i as the question's next mention of it.
func (o *obfuscator) refer(i int) string {
	l := o.labels[i]
	if o.seen[l] {
		return definite(l)
	}
	o.seen[l] = true
	return l
}

// mentioned reports whether s refers to doc i, under either form of its
// placeholder.
func (o *obfuscator) mentioned(s string, i int) bool {
	return containsFold(s, labelCore(o.labels[i]))
}

// labelCore is a placeholder without its article.
func labelCore(l string) string {
	for _, a := range []string{"a ", "an ", "the "} {
		if strings.HasPrefix(l, a) {
			return l[len(a):]
		}
	}
	return l
}

// trailingArticle cuts a final "the", "a" or "an" (a whole word followed by
// spaces) off s, reporting whether it was capitalised.
func trailingArticle(s string) (cut string, capital, ok bool) {
	t := strings.TrimRightFunc(s, unicode.IsSpace)
	if len(t) == len(s) {
		return s, false, false // no space between article and name
	}
	for _, a := range []string{"the", "an", "a"} {
		if len(t) < len(a) || !strings.EqualFold(t[len(t)-len(a):], a) {
			continue
		}
		rest := t[:len(t)-len(a)]
		if r, _ := utf8.DecodeLastRuneInString(rest); rest != "" && isWordRune(r) {
			continue // "Sparta", not "a"
		}
		first, _ := utf8.DecodeRuneInString(t[len(t)-len(a):])
		return rest, unicode.IsUpper(first), true
	}
	return s, false, false
}

// startsWithArticle reports whether a placeholder opens with its own
// determiner.
func startsWithArticle(label string) bool {
	l := strings.ToLower(label)
	return strings.HasPrefix(l, "the ") || strings.HasPrefix(l, "a ") || strings.HasPrefix(l, "an ") || strings.HasPrefix(l, "this ")
}
