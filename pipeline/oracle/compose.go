package oracle

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/miroverse/miroverse/qa/writer"
)

// The oracle's composition writes a question as a chain of clauses, the
// way the compose prompt asks a real model to: the first clause describes
// the seed, each later one is the evidence sentence of the previous hop's
// document, which introduces the next entity by its placeholder, and the
// ask names the entity the last clause introduced. No clause is clipped
// (a cut clause reads as broken English and, worse, may lose the mention
// that carries the hop), no clause speaks of an entity before one
// introduced it, and no part of a walk title survives.

// chainClauses are the constraints the question is built from: the seed's
// lead and every evidence sentence, each needed to cross its hop. Infobox
// facts enter only when the chain has no evidence: they are facts about the
// answer that pin it by themselves, the shortcut a chain must not offer.
func chainClauses(f writer.PassRequest) []writer.Fact {
	last := len(f.Docs) - 1
	var sel, clue []writer.Fact
	seedDesc := false
	for _, c := range f.Constraints {
		switch {
		case c.Doc < 0 || c.Doc > last:
			continue
		case c.Kind == writer.FactDescription && c.Doc == 0 && !seedDesc:
			seedDesc = true
		case c.Kind == writer.FactEvidence && c.Doc < last:
		case c.Kind == writer.FactInfobox && c.Doc == last && clue == nil:
			clue = []writer.Fact{c}
			continue
		default:
			continue
		}
		sel = append(sel, c)
	}
	if !hasEvidence(sel) {
		sel = append(sel, clue...)
	}
	if len(sel) == 0 {
		sel = f.Constraints
	}
	return sel
}

func hasEvidence(fs []writer.Fact) bool {
	for _, c := range fs {
		if c.Kind == writer.FactEvidence {
			return true
		}
	}
	return false
}

// composeChain writes the question and its clauses (each a substring of the
// question, the ask last). extra, when not empty, is one more clause put
// before the ask (the shortcut injection).
func composeChain(f writer.PassRequest, o *obfuscator, extra *writer.Fact) (string, []string) {
	last := len(f.Docs) - 1
	sel := chainClauses(f)
	if extra != nil {
		sel = append(sel, *extra)
	}
	var clauses []string
	used := map[string]bool{}
	for _, c := range sel {
		t := strings.TrimSpace(c.Text)
		if t == "" || used[t] {
			continue // a lead is often the evidence sentence too: say it once
		}
		used[t] = true
		t = o.clause(f, c, t)
		if t != "" {
			clauses = append(clauses, t)
		}
	}
	target := labelCore(o.labels[last])
	introduced := false
	for _, c := range clauses {
		introduced = introduced || containsFold(c, target)
	}
	if !introduced && last > 0 {
		// The ask must not name an entity no clause introduced: say how it
		// hangs on the chain, in the only terms that are sure to be true.
		intro := "The article on " + o.mention(last-1) + " links to " + o.mention(last) + "."
		clauses = append(clauses, intro)
	}
	clauses = introduceMentions(shortenClauses(clauses, maxQuestionRunes))
	ask := "What is the name of " + definite(o.labels[last]) + "?"
	return strings.Join(append(clauses, ask), " "), append(clauses, ask)
}

// clause turns one obfuscated constraint into a sentence of the question:
// clipped text cut back to a whole clause, names and their parts hidden,
// text in a language other than English replaced by an English
// description, and the clause made to name the doc it is about.
func (o *obfuscator) clause(f writer.PassRequest, c writer.Fact, t string) string {
	t = unclip(stripParentheticals(t))
	if t == "" || !looksEnglish(t) {
		return o.describeInEnglish(f, c)
	}
	t = o.hideParts(o.names.replace(t, o.seen), c.Doc)
	t = obfuscateDates(t)
	// A clause that opens with a pronoun is anchored even when it names
	// its doc later: read alone, "It is the oldest university in …" says
	// nothing of which entity "it" is.
	if !o.mentioned(t, c.Doc) || opensWithPronoun(t) {
		t = o.anchorTo(t, c.Doc)
	}
	return endSentence(upperFirst(strings.TrimSpace(t)))
}

// unclip cuts a text that ends in an ellipsis back to its last whole
// clause (up to a comma or semicolon) and ends it with a stop; "" when too
// little is left to say anything.
func unclip(t string) string {
	t = strings.TrimSpace(t)
	body, clipped := strings.CutSuffix(t, "…")
	if !clipped {
		body, clipped = strings.CutSuffix(t, "...")
	}
	if !clipped {
		return t
	}
	cut := max(strings.LastIndex(body, ", "), strings.LastIndex(body, "; "))
	if cut < 0 || utf8.RuneCountInString(body[:cut]) < 30 || !hasVerb(body[:cut]) {
		return ""
	}
	return strings.TrimSpace(body[:cut]) + "."
}

// hasVerb reports whether s holds one of the verbs a lead sentence states
// its subject with; a fragment without one ("X, also known as Y") is no
// sentence.
func hasVerb(s string) bool {
	for _, t := range tokens(s) {
		switch t {
		case "is", "was", "are", "were", "has", "had", "became", "lies", "flows", "served":
			return true
		}
	}
	return false
}

// looksEnglish reports whether enough of t's words are English function
// words for t to be English prose. Pasting a sentence of another language
// into an English question is what the writer must not do; names and short
// phrases (a category) carry no function words, so only texts of several
// words are judged.
func looksEnglish(t string) bool {
	toks := tokens(dropPlaceholders(t)) // a placeholder's own English words prove nothing
	if len(toks) < 2 {
		return true
	}
	return englishShare(toks)
}

// englishShare reports whether at least one word in five of toks is an
// English function word.
func englishShare(toks []string) bool {
	n := 0
	for _, w := range toks {
		if isEnglishFunctionWord(w) {
			n++
		}
	}
	return 5*n >= len(toks) // English prose runs at a third or more
}

func isEnglishFunctionWord(w string) bool {
	switch w {
	case "a", "an", "the", "and", "or", "of", "in", "on", "at", "to", "for", "from", "by", "with", "as",
		"is", "are", "was", "were", "be", "been", "has", "have", "had", "it", "its", "this", "that", "he",
		"she", "they", "his", "her", "their", "which", "who", "into", "after", "also":
		return true
	}
	return false
}

// describeInEnglish says in English what a constraint in another language
// is about, from what any reader can check: the doc's categories when they
// are English, and a short quotation of the doc's own words (a few words,
// never a sentence) that a reader finds in the article: "X is the subject
// of an article that opens with the words "…"" for a lead, "The article on
// X mentions Y where it
// says "…"" for a hop. "" when nothing can be said.
func (o *obfuscator) describeInEnglish(f writer.PassRequest, c writer.Fact) string {
	t := strings.TrimSpace(c.Text)
	switch c.Kind {
	case writer.FactEvidence:
		if c.Doc+1 < len(f.Docs) {
			q := o.quoteNear(t, c.Doc+1)
			out := "The article on " + o.mention(c.Doc) + " mentions " + o.mention(c.Doc+1) + o.categoryNote(f, c.Doc+1)
			if q != "" {
				out += " where it says \"" + q + "\""
			}
			return out + "."
		}
	case writer.FactDescription:
		if q := o.quoteNear(t, -1); q != "" {
			return upperFirst(o.mention(c.Doc)) + " is the subject of an article that opens with the words \"" + q + "\"."
		}
		if note := o.categoryNote(f, c.Doc); note != "" {
			return upperFirst(o.mention(c.Doc)) + " is" + strings.TrimPrefix(note, ",") + "."
		}
	}
	return ""
}

// quoteWords is how many of a sentence's words a quotation holds: enough to
// find the sentence, too few to be the sentence.
const quoteWords = 4

// quoteNear quotes up to quoteWords words of t next to the placeholder of
// doc next (before it, else after it), or from the start of t when next is
// -1. Words inside placeholders and words with digits (blurred dates, which
// the article does not spell that way) end the quotation.
func (o *obfuscator) quoteNear(t string, next int) string {
	spans := o.labelSpans(t)
	ws := words(t)
	ok := func(w word) bool {
		for _, sp := range spans {
			if w.start < sp[1] && w.end > sp[0] {
				return false
			}
		}
		if o.partOf(w.norm) >= 0 {
			return false
		}
		return !strings.ContainsAny(w.norm, "0123456789") && !isEnglishFunctionWord(w.norm)
	}
	pick := func(from, step int) (int, int) {
		a, b := -1, -1
		for i := from; i >= 0 && i < len(ws) && (b < 0 || abs(b-a) < quoteWords-1); i += step {
			if !ok(ws[i]) {
				if a >= 0 {
					break
				}
				continue
			}
			if a < 0 {
				a = i
			}
			b = i
		}
		return min(a, b), max(a, b)
	}
	var a, b int
	if next < 0 {
		a, b = pick(0, 1)
	} else {
		core := strings.ToLower(labelCore(o.labels[next]))
		at := strings.Index(strings.ToLower(t), core)
		if at < 0 {
			return ""
		}
		before := 0
		for before < len(ws) && ws[before].end <= at {
			before++
		}
		a, b = pick(before-1, -1)
		if a < 0 || b-a < 1 {
			after := before
			for after < len(ws) && ws[after].start < at+len(core) {
				after++
			}
			a, b = pick(after, 1)
		}
	}
	if a < 0 || b-a < 1 {
		return ""
	}
	return strings.Trim(t[ws[a].start:ws[b].end], "\"")
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// categoryNote is ", one categorised as C" for the first category of doc i
// that names no walk entity and is not already its placeholder; "" without
// one, and for a doc whose lead is not English: its categories are then in
// the corpus language too, and a category name is still the language's
// words.
func (o *obfuscator) categoryNote(f writer.PassRequest, i int) string {
	if !looksEnglish(f.Docs[i].Description) {
		return ""
	}
	for _, cat := range f.Docs[i].Categories {
		cat = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(cat), "Category:"))
		if cat == "" || o.names.mentions(cat) || containsFold(o.labels[i], cat) {
			continue
		}
		return ", one categorised as " + obfuscateDates(cat)
	}
	return ""
}

// mention is doc i's placeholder as the next mention in the question.
func (o *obfuscator) mention(i int) string { return o.refer(i) }

// anchorTo makes a sentence about doc i name it: a leading pronoun becomes
// the doc's placeholder ("He was born…" → "The second figure was born…"),
// else the sentence is introduced as a statement about the doc.
func (o *obfuscator) anchorTo(t string, i int) string {
	t = strings.TrimSpace(t)
	first, rest, _ := strings.Cut(t, " ")
	switch strings.ToLower(first) {
	case "he", "she", "it", "they":
		return upperFirst(o.mention(i)) + " " + rest
	case "his", "her", "its", "their":
		return upperFirst(o.mention(i)) + "'s " + rest
	}
	return "Of " + o.mention(i) + " it is recorded that " + lowerLead(t)
}

func opensWithPronoun(t string) bool {
	first, _, _ := strings.Cut(strings.TrimSpace(t), " ")
	switch strings.ToLower(first) {
	case "he", "she", "it", "they", "his", "her", "its", "their":
		return true
	}
	return false
}

// lowerLead lowercases the first word of t when it is a function word that
// only had its capital for opening the sentence; names keep theirs.
func lowerLead(t string) string {
	first, _, _ := strings.Cut(t, " ")
	switch first {
	case "The", "In", "From", "A", "An", "During", "After", "Before", "At", "On", "As", "With", "By", "For",
		"Following", "Under", "Between", "Since", "Until", "Like", "Its", "This", "These", "There":
		r, size := utf8.DecodeRuneInString(t)
		return string(unicode.ToLower(r)) + t[size:]
	}
	return t
}

// hideParts removes what remains of a walk name around and beside the
// placeholders: the given names before a hidden surname at the start of a
// person's own sentence ("Antonín Leopold the first figure" — the text named
// the person more fully than the title), a capitalised word that is a part
// of a walk title ("Frédéric") or one letter away from one. A run of
// capitalised words right before a person's placeholder that shares no part
// with that person's names is someone else of the same surname ("Pierre"
// before Marie Curie's placeholder) and becomes "a namesake of" the
// placeholder. doc is the doc the text is about. Words inside placeholders
// ("Capitals in Europe") are left alone.
func (o *obfuscator) hideParts(t string, doc int) string {
	spans := o.labelSpans(t)
	inSpan := func(off int) bool {
		for _, sp := range spans {
			if off >= sp[0] && off < sp[1] {
				return true
			}
		}
		return false
	}
	ws := words(t)
	var b strings.Builder
	prev := 0
	for i := 0; i < len(ws); i++ {
		if inSpan(ws[i].start) || !isCapitalised(t, ws[i]) || isStopword(ws[i].norm) {
			continue
		}
		j := i // the run of capitalised words from i, up to a placeholder
		for j+1 < len(ws) && !inSpan(ws[j+1].start) && isCapitalised(t, ws[j+1]) && t[ws[j].end:ws[j+1].start] == " " {
			j++
		}
		part := -1
		for k := i; k <= j && part < 0; k++ {
			part = o.partOf(ws[k].norm)
		}
		owner := -1
		if gap := t[ws[j].end:]; strings.HasPrefix(gap, " ") {
			if d, ok := o.placeholderAt(gap[1:]); ok && o.kinds[d] == kindPerson && j-i < 4 {
				owner = d
			}
		}
		atStart := strings.TrimSpace(t[:ws[i].start]) == ""
		if owner >= 0 && i > 0 && isPreposition(ws[i-1].norm) {
			owner = -1 // "In Vienna the first figure…": a place before the name, not a given name
		}
		switch {
		case owner >= 0 && (part == owner || (owner == doc && atStart)):
			b.WriteString(t[prev:ws[i].start])
			prev = ws[j].end + 1
		case owner >= 0 && part < 0:
			b.WriteString(t[prev:ws[i].start])
			b.WriteString("a namesake of")
			prev = ws[j].end
		case part >= 0 && i == j && o.kinds[part] == kindPlace && attributive(t[ws[j].end:]):
			// A place's adjective ("German-born", "a Czech composer"):
			// "a namesake of" a place cannot modify a noun, so the word goes,
			// with the rest of its compound, and the article is made to
			// agree with the word that now follows it.
			end := ws[j].end
			if strings.HasPrefix(t[end:], "-") && j+1 < len(ws) {
				end = ws[j+1].end
			}
			b.WriteString(agreeArticle(t[prev:ws[i].start], t[end:]))
			prev = end
			if strings.HasPrefix(t[prev:], " ") {
				prev++
			}
			i = j
			continue
		case part >= 0:
			// Another name that shares a part with a walk name (the Charles
			// Bridge, of Charles IV): say so rather than keep the part.
			before := t[prev:ws[i].start]
			if cut, capital, ok := trailingArticle(before); ok {
				before = cut
				if capital {
					before += "A "
				} else {
					before += "a "
				}
			} else {
				before += "a "
			}
			b.WriteString(before)
			b.WriteString("namesake of " + o.refer(part))
			prev = ws[j].end
		}
		i = j
	}
	b.WriteString(t[prev:])
	return b.String()
}

// attributive reports whether the text after a word makes the word a
// modifier: a hyphenated compound ("-born") or a lower-case noun after it.
func attributive(after string) bool {
	if len(after) < 2 || (after[0] != ' ' && after[0] != '-') {
		return false
	}
	r, _ := utf8.DecodeRuneInString(after[1:])
	return unicode.IsLower(r)
}

// agreeArticle ends before with the article that suits the first word of
// next ("a" before a consonant, "an" before a vowel) when before ends
// with one.
func agreeArticle(before, next string) string {
	cut, capital, ok := trailingArticle(before)
	if !ok || strings.HasSuffix(strings.ToLower(strings.TrimSpace(before)), "the") {
		return before
	}
	next = strings.TrimLeft(next, " -")
	for _, w := range words(next) {
		next = w.norm
		break
	}
	a := "a "
	if next != "" && strings.ContainsRune("aeiou", rune(next[0])) {
		a = "an "
	}
	if capital {
		a = upperFirst(a)
	}
	return cut + a
}

func isPreposition(w string) bool {
	switch w {
	case "in", "at", "on", "from", "to", "of", "by", "with", "for", "near", "into", "after", "before", "since":
		return true
	}
	return false
}

// labelSpans are the byte spans of t that hold a placeholder, either form.
func (o *obfuscator) labelSpans(t string) [][2]int {
	low := strings.ToLower(t)
	var out [][2]int
	for _, l := range o.labels {
		core := strings.ToLower(labelCore(l))
		for off := 0; ; {
			i := strings.Index(low[off:], core)
			if i < 0 {
				break
			}
			out = append(out, [2]int{off + i, off + i + len(core)})
			off += i + len(core)
		}
	}
	return out
}

// placeholderAt reports which doc's placeholder s starts with.
func (o *obfuscator) placeholderAt(s string) (int, bool) {
	best, bestLen := -1, 0
	for i, l := range o.labels {
		for _, form := range []string{l, definite(l), labelCore(l)} {
			if len(form) > bestLen && len(s) >= len(form) && strings.EqualFold(s[:len(form)], form) {
				best, bestLen = i, len(form)
			}
		}
	}
	return best, best >= 0
}

// partOf is the doc one of whose names has w (a folded word) as a part, or
// is one letter away from it; -1 for none. Short parts and function words
// are too common to count.
func (o *obfuscator) partOf(w string) int {
	if utf8.RuneCountInString(w) < 4 || isStopword(w) || isPlaceWord(w) {
		return -1
	}
	for _, t := range o.names.terms {
		for _, p := range t.toks {
			if utf8.RuneCountInString(p) < 4 || isStopword(p) {
				continue
			}
			if p == w || (utf8.RuneCountInString(w) >= 5 && oneEditApart(p, w)) {
				return t.doc
			}
		}
	}
	return -1
}

// oneEditApart reports whether a and b differ by exactly one substituted,
// inserted or deleted rune.
func oneEditApart(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) < len(rb) {
		ra, rb = rb, ra
	}
	if len(ra)-len(rb) > 1 {
		return false
	}
	i := 0
	for i < len(rb) && ra[i] == rb[i] {
		i++
	}
	if i == len(rb) {
		return len(ra) == len(rb)+1
	}
	if len(ra) == len(rb) {
		return string(ra[i+1:]) == string(rb[i+1:])
	}
	return string(ra[i+1:]) == string(rb[i:])
}

// isCapitalised reports whether word w of t starts with a capital letter.
func isCapitalised(t string, w word) bool {
	r, _ := utf8.DecodeRuneInString(t[w.start:])
	return unicode.IsUpper(r)
}

// rePositionalThe is a positional placeholder with its definite article,
// the only form that can speak of an entity before anything introduced it.
var rePositionalThe = regexp.MustCompile(`\b(the|The) ((first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth) (subject|figure|place))\b`)

// introduceMentions makes the first mention of each positional placeholder
// introduce its entity. A reader meeting "where the third figure carried
// out his experiments" asks "which third figure?": the first mention is
// "a third figure" unless the words right after it say what it is ("The
// first figure was a Danish astronomer", "the second figure, who …").
// Later mentions keep "the".
func introduceMentions(clauses []string) []string {
	seen := map[string]bool{}
	out := make([]string, len(clauses))
	for i, c := range clauses {
		var b strings.Builder
		last := 0
		for _, m := range rePositionalThe.FindAllStringSubmatchIndex(c, -1) {
			key := c[m[4]:m[5]]
			if seen[key] {
				continue
			}
			seen[key] = true
			if at, desc, ok := titleBefore(c[last:m[0]]); ok {
				// "The Polish composer the third figure settled …" reads as
				// two names: the title moves after the placeholder as an
				// apposition ("The third figure, a Polish composer, settled …").
				at += last
				b.WriteString(c[last:at])
				det := "the"
				if at == 0 || strings.HasSuffix(strings.TrimSpace(c[:at]), ".") {
					det = "The"
				}
				b.WriteString(det + " " + c[m[4]:m[5]] + ", " + indefinite(desc))
				if !strings.HasPrefix(c[m[1]:], ",") {
					b.WriteString(",")
				}
				last = m[1]
				continue
			}
			if saysWhatItIs(c[m[1]:]) {
				continue
			}
			article := "a"
			if strings.HasPrefix(c[m[6]:m[7]], "eighth") {
				article = "an"
			}
			if c[m[2]:m[3]] == "The" {
				article = upperFirst(article)
			}
			b.WriteString(c[last:m[2]])
			b.WriteString(article)
			last = m[3]
		}
		b.WriteString(c[last:])
		out[i] = b.String()
	}
	return out
}

// titleBefore finds, at the end of s, a title that names an entity by
// what it is ("the Polish composer ", "the writer "): a determiner and up
// to three words, none a function word, a number or a plural. It returns
// where the title starts in s and its words.
func titleBefore(s string) (int, string, bool) {
	if !strings.HasSuffix(s, " ") {
		return 0, "", false
	}
	f := strings.Fields(s)
	for n := 1; n <= 3 && n < len(f); n++ {
		det := f[len(f)-1-n]
		if det != "the" && det != "The" {
			continue
		}
		desc := f[len(f)-n:]
		for _, w := range desc {
			lw := strings.ToLower(w)
			if isEnglishFunctionWord(lw) || strings.ContainsAny(w, "0123456789,;:.\"()") ||
				(strings.HasSuffix(lw, "s") && !strings.HasSuffix(lw, "ss")) {
				return 0, "", false
			}
		}
		if r, _ := utf8.DecodeRuneInString(desc[n-1]); !unicode.IsLower(r) {
			return 0, "", false // the noun must be a common noun
		}
		at := strings.LastIndex(s, det+" "+strings.Join(desc, " ")+" ")
		if at < 0 {
			return 0, "", false // spaced otherwise than Fields rejoins it
		}
		return at, strings.Join(desc, " "), true
	}
	return 0, "", false
}

// indefinite puts "a" or "an" before a noun phrase.
func indefinite(np string) string {
	if np != "" && strings.ContainsRune("aeiouAEIOU", rune(np[0])) {
		return "an " + np
	}
	return "a " + np
}

// saysWhatItIs reports whether the text after a mention is a predicate or
// an apposition that introduces the entity.
func saysWhatItIs(after string) bool {
	after = strings.TrimLeft(after, " ")
	for _, p := range []string{"was ", "is ", "were ", "are ", ", who ", ", which ", ", a ", ", an ", ", the ", "(", "— "} {
		if strings.HasPrefix(after, p) {
			return true
		}
	}
	return false
}

// shortenClauses keeps a long question readable without cutting a clause:
// while the question is over budget, the longest clause loses its last
// comma-separated part, as long as what is left still holds every
// placeholder the clause had and reads as a sentence.
func shortenClauses(clauses []string, budget int) []string {
	out := append([]string(nil), clauses...)
	total := func() int {
		n := len(out)
		for _, c := range out {
			n += utf8.RuneCountInString(c)
		}
		return n
	}
	for total() > budget {
		best, bestLen := -1, 0
		for i, c := range out {
			if n := utf8.RuneCountInString(c); n > bestLen && shorterClause(c) != "" {
				best, bestLen = i, n
			}
		}
		if best < 0 {
			break
		}
		out[best] = shorterClause(out[best])
	}
	return out
}

// shorterClause is c without its last comma-separated part, or "" when that
// would drop a placeholder or leave too little.
func shorterClause(c string) string {
	body := strings.TrimRight(c, ".!? ")
	cut := strings.LastIndex(body, ", ")
	if cut < 0 || utf8.RuneCountInString(body[:cut]) < 40 {
		return ""
	}
	if rePositional.MatchString(body[cut:]) || reCategoryPlace.MatchString(body[cut:]) {
		return ""
	}
	return body[:cut] + "."
}
