package oracle

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/miroverse/miroverse/qa/verify"
	"github.com/miroverse/miroverse/qa/writer"
	openai "github.com/sashabaranov/go-openai"
)

// The verifier role reads a question and a set of documents and lists every
// document the question describes. The oracle answers it by rule: it works
// out, for each document, what the oracle writer would have left of its
// sentences once names are hidden and dates and numbers blurred, then
// follows the question's constraints one sentence at a time — the first one
// is a document's lead, each later one a sentence of the current document
// that either names the next (a hop) or adds a clue about the current one —
// and answers the documents where a chain that uses every constraint ends.
// A bridge document left out of the request breaks every chain through it,
// so the masked-hop gate sees no answer. The final ask may narrow the
// answers by a category ("the place categorised as X") or widen them to
// what a doc leads to.

func verifierTurn(req *openai.ChatCompletionRequest) (turn, error) {
	msg, ok := lastUserText(req)
	if !ok {
		return turn{}, badRequestf("verifier request has no user message")
	}
	q, docs, ok := verify.ReadPrompt(msg)
	if !ok {
		return turn{}, badRequestf("verifier request has no question section")
	}
	answers := resolveQuestion(q, docs)
	if answers == nil {
		answers = []string{} // "[]", not null
	}
	b, err := marshal(verify.Reply{Answers: answers})
	if err != nil {
		return turn{}, fmt.Errorf("encode verifier reply: %w", err)
	}
	return turn{content: string(b), finish: openai.FinishReasonStop}, nil
}

// sentenceSig is a sentence of a document as the writer would leave it: its
// content words (stemmed, no stopwords) after names are hidden and dates
// blurred, and the documents it names.
type sentenceSig struct {
	words   []string // every folded word, for quotations
	content []string
	names   []int // indexes of the documents named, in order of first mention
}

// docSigs is what the resolver knows of one document.
type docSigs struct {
	lead      []sentenceSig // the first sentences, any of which may open a question
	sentences []sentenceSig
}

// leadSentences is how many of a document's first sentences count as its
// lead: the writer takes the first sentence of the first prose paragraph,
// which is the first or, after a stray caption line, the second.
const leadSentences = 2

// resolveQuestion returns the titles of the docs question describes.
func resolveQuestion(question string, docs []verify.Doc) []string {
	if len(docs) == 0 {
		return nil
	}
	pieces, ask := questionPieces(question)
	var names namer
	for i, d := range docs {
		desc := ""
		if ss := proseSentences(d.Text); len(ss) > 0 {
			desc = ss[0]
		}
		kind := docKind(writer.PassDoc{Title: d.Title, Description: desc, Categories: d.Categories})
		for _, v := range nameVariants(d.Title, kind == kindPerson) {
			names.add(v, "", i)
		}
		// The writer hides redirect names too, as obfuscate.go does.
		for _, a := range d.Aliases {
			for _, v := range nameVariants(a, false) {
				names.add(v, "", i)
			}
		}
	}
	names.sort()
	sigs := make([]docSigs, len(docs))
	for i, d := range docs {
		for j, s := range proseSentences(d.Text) {
			sig := signature(s, &names)
			if j < leadSentences {
				sigs[i].lead = append(sigs[i].lead, sig)
			}
			sigs[i].sentences = append(sigs[i].sentences, sig)
		}
	}
	cats := make([][][]string, len(docs))
	for i, d := range docs {
		for _, c := range d.Categories {
			cats[i] = append(cats[i], tokens(obfuscateDates(strings.TrimPrefix(strings.TrimSpace(c), "Category:"))))
		}
	}
	r := resolver{docs: sigs, cats: cats, pieces: pieces, ends: map[int]bool{}}
	cat := askCategory(ask)
	if len(pieces) == 0 {
		if cat == nil && !askLeadsOn(ask) {
			// A bare ask ("What is the name of the third figure?", the
			// last clause on its own) says nothing a document could
			// satisfy: a reader has no answer.
			return nil
		}
		// An ask with a category or a "leads to" fits every document as
		// far as the chain goes; the ask narrows it.
		for i := range docs {
			r.ends[i] = true
		}
	} else {
		r.start()
	}
	ends := r.ends
	if askLeadsOn(ask) {
		ends = r.onward(ends)
	}
	var out []string
	for i, d := range docs {
		if ends[i] && (cat == nil || hasCategory(d.Categories, cat)) {
			out = append(out, d.Title)
		}
	}
	return out
}

// askLeadsOn recognises an ask for what a doc leads to ("a subject that the
// first subject leads to, directly or through another subject") rather than
// for the doc the clues describe.
func askLeadsOn(ask string) bool {
	return strings.Contains(strings.ToLower(ask), "leads to")
}

// onward is every doc reachable from the docs in from through sentences
// naming another doc, the starting docs themselves left out.
func (r *resolver) onward(from map[int]bool) map[int]bool {
	out := map[int]bool{}
	var queue []int
	for d := range len(r.docs) {
		if from[d] {
			queue = append(queue, d)
		}
	}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		for _, sig := range r.docs[d].sentences {
			for _, e := range sig.names {
				if !from[e] && !out[e] {
					out[e] = true
					queue = append(queue, e)
				}
			}
		}
	}
	return out
}

// askCategory is the category an ask ends on ("the place categorised as
// Rivers of Poland?"), as folded words; nil when it names none. The writer's
// place placeholders take their words from a category of the doc, so the
// answer of a sound question always has it.
func askCategory(ask string) []string {
	m := reAskCategory.FindStringSubmatch(strings.TrimSpace(ask))
	if m == nil {
		return nil
	}
	return tokens(m[1])
}

// hasCategory reports whether one of cats, dates blurred as the writer
// blurs them in a placeholder, is cat.
func hasCategory(cats []string, cat []string) bool {
	for _, c := range cats {
		c = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(c), "Category:"))
		if slices.Equal(tokens(obfuscateDates(c)), cat) {
			return true
		}
	}
	return false
}

// proseSentences are the sentences of a document's text, without Markdown
// emphasis and structure lines, the way the writer reads a lead.
func proseSentences(text string) []string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.ContainsRune("#|>=", rune(t[0])) || strings.HasPrefix(t, "- ") || strings.HasPrefix(t, "* ") {
			continue
		}
		t = strings.NewReplacer("**", "", "__", "").Replace(t)
		out = append(out, splitLine(t)...)
	}
	return out
}

// piece is one sentence of the question: its content words and whether the
// writer clipped it (ended it with an ellipsis to fit the length budget).
type piece struct {
	content []string
	clipped bool
	// fresh: the piece names a placeholder no earlier piece named, so it
	// introduces an entity; only such a piece can cross a hop.
	fresh bool
	// link: an English stand-in for a sentence the writer could not
	// translate ("The article on X mentions Y"): checked against the names the
	// current doc's text holds, not its words.
	link bool
	// quote: the words a stand-in quotes from the article ("… where it says
	// "w1 w2""), folded; a supporting sentence holds them in a row.
	quote []string
	// opening: the quote is from the article's first sentence.
	opening bool
	// category: a piece that only says what a doc is categorised as
	// ("X is one categorised as C"), as folded words; nil otherwise.
	category []string
}

// questionPieces splits a question into its constraint sentences and its
// final ask ("What is the name of …?"), which names what is sought rather
// than a clue to follow.
func questionPieces(q string) (pieces []piece, ask string) {
	var ss []string
	for _, s := range splitLine(collapseSpaces(q)) {
		ss = append(ss, splitAfterEllipsis(s)...)
	}
	if n := len(ss); n > 0 && strings.HasSuffix(ss[n-1], "?") {
		ss, ask = ss[:n-1], ss[n-1]
	}
	named := map[string]bool{}
	for _, s := range ss {
		p := piece{content: contentSeq(dropPlaceholders(s)), clipped: strings.HasSuffix(strings.TrimRight(s, ".!? "), "…")}
		for _, l := range placeholdersIn(s) {
			if !named[l] {
				named[l], p.fresh = true, true
			}
		}
		low := strings.ToLower(s)
		p.link = reLinkPiece.MatchString(low)
		p.opening = strings.Contains(low, "'s article opens with the words ") || strings.Contains(low, " is the subject of an article that opens with the words ")
		if m := reQuote.FindStringSubmatch(s); m != nil && (p.link || p.opening) {
			p.quote = tokens(m[1])
		}
		if m := reCategoryOnly.FindStringSubmatch(s); m != nil && !p.link {
			p.category = tokens(m[1])
		}
		pieces = append(pieces, p)
	}
	return pieces, ask
}

// reLinkPiece is a stand-in that says one article mentions or links to
// another, in either of its wordings.
var reLinkPiece = regexp.MustCompile(`'s article (?:mentions|links to) |^the article on .+? (?:mentions|links to) `)

// reQuote is the quotation of a stand-in clause.
var reQuote = regexp.MustCompile(`"([^"]+)"`)

// reCategoryOnly is a piece that only states a category: "The first subject
// is one categorised as C."
var reCategoryOnly = regexp.MustCompile(`^\S.* is one categori[sz]ed as (.+?)\.?$`)

// placeholdersIn lists the placeholders s names, folded and without their
// article, so that "a place categorised as X" and "the place categorised
// as X" are one entity.
func placeholdersIn(s string) []string {
	var out []string
	for _, re := range []*regexp.Regexp{reCategoryPlace, rePositional} {
		for _, m := range re.FindAllString(s, -1) {
			out = append(out, strings.Join(dropArticle(tokens(m)), " "))
		}
	}
	return out
}

func dropArticle(toks []string) []string {
	if len(toks) > 0 && (toks[0] == "a" || toks[0] == "an" || toks[0] == "the") {
		return toks[1:]
	}
	return toks
}

// Placeholder shapes of the oracle writer (obfuscate.go: placeholder): by
// position and kind, by letter, and places by a category, whose words run
// on while they are capitalised or connectors. Compiled regexps are
// immutable, so sharing them is not shared mutable state.
var (
	rePositional = regexp.MustCompile(`(?i)\b(?:(?:the|a|an)\s+)?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|number \d+)\s+(?:subject|figure|place)\b|\bentity [A-Z]\b|\bthis entity\b`)
	// reAskCategory is an ask that ends on a category placeholder; an ask
	// that goes on after it ("… categorised as X leads to …?") asks for
	// something else.
	reAskCategory   = regexp.MustCompile(`categori[sz]ed\s+as\s+((?:[\p{Lu}0-9][\p{L}\p{M}0-9'’.-]*|in|of|the|and|on|de|du|la|le)(?:\s+(?:[\p{Lu}0-9][\p{L}\p{M}0-9'’.-]*|in|of|the|and|on|de|du|la|le))*)\s*\?$`)
	reCategoryPlace = regexp.MustCompile(`(?i:\b(?:(?:the|a)\s+)?(?:place|subject)\s+categori[sz]ed\s+as)(?:\s+(?:[A-Z\p{Lu}][\p{L}\p{M}'’.-]*|in|of|the|and|on|de|du|la|le))*`)
)

// dropPlaceholders removes the writer's placeholders from a question
// sentence: they stand where a name was, and the resolver compares only what
// the source sentence and the question share besides names.
func dropPlaceholders(s string) string {
	s = reCategoryPlace.ReplaceAllString(s, " ")
	return rePositional.ReplaceAllString(s, " ")
}

// splitAfterEllipsis splits s after every "…" followed by a space and a
// capital: the writer ends a clipped clause with an ellipsis instead of a
// stop, and the next clause starts there.
func splitAfterEllipsis(s string) []string {
	var out []string
	start := 0
	for off := 0; ; {
		i := strings.Index(s[off:], "… ")
		if i < 0 {
			break
		}
		cut := off + i + len("…")
		off = cut + 1
		if r, _ := utf8.DecodeRuneInString(s[off:]); unicode.IsUpper(r) {
			out = append(out, strings.TrimSpace(s[start:cut]))
			start = off
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// contentSeq is the stemmed, non-stopword words of s in order. Numbers and
// the words the writer rounds them to ("about 3 thousand", "several dozen")
// are left out: whether a number was blurred depends on the writer's pass,
// and a question should match its sentence either way.
func contentSeq(s string) []string {
	var out []string
	for _, t := range tokens(s) {
		if isStopword(t) || isNumberWord(t) {
			continue
		}
		out = append(out, stem(t))
	}
	return out
}

func isNumberWord(t string) bool {
	switch t {
	case "about", "several", "dozen", "hundred", "thousand", "million", "billion", "over", "ten":
		return true
	}
	return strings.Trim(t, "0123456789") == ""
}

// signature hides the given docs' names in s the way the writer does (names
// first, then dates, parenthetical asides dropped) and keeps the rest.
func signature(s string, names *namer) sentenceSig {
	s = stripParentheticals(s)
	ws := words(s)
	sig := sentenceSig{words: tokens(s)}
	prev := 0 // byte offset where the text not yet read starts
	emit := func(seg string) {
		sig.content = append(sig.content, contentSeq(obfuscateDates(seg))...)
	}
	for i := 0; i < len(ws); {
		t, ok := names.match(ws, i)
		if !ok {
			i++
			continue
		}
		emit(s[prev:ws[i].start])
		if !slices.Contains(sig.names, t.doc) {
			sig.names = append(sig.names, t.doc)
		}
		prev = ws[i+len(t.toks)-1].end
		i += len(t.toks)
	}
	emit(s[prev:])
	return sig
}

// matches decides whether the question piece p is sentence sig as the writer
// would have rewritten it: most of the sentence's content words appear in
// the piece in order. A clipped piece holds only the sentence's beginning,
// so there most of the piece's words must come from the sentence instead.
func matches(sig sentenceSig, p piece) bool {
	if len(sig.content) == 0 || len(p.content) == 0 {
		return false
	}
	m := lcs(sig.content, p.content)
	if m < 2 {
		return false
	}
	if 10*m >= 6*len(sig.content) {
		return true
	}
	// A piece clipped down to a couple of words matches when all of them
	// are the sentence's, in order.
	return p.clipped && (m == len(p.content) || (m >= 3 && 10*m >= 5*len(p.content)))
}

// lcs is the length of the longest common subsequence of a and b.
func lcs(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := range a {
		for j := range b {
			switch {
			case a[i] == b[j]:
				cur[j+1] = prev[j] + 1
			default:
				cur[j+1] = max(cur[j], prev[j+1])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// resolver follows the question's pieces over the documents the way a
// reader does: the first piece is a document's lead (or any sentence of
// it), each later one a sentence of the current document that either adds
// a clue about it or, when it introduces a new entity, names the next
// document (a hop). A piece that no shown document supports cannot be
// checked, so it is skipped, as a reader who cannot verify a clause goes
// on with the rest; if it was the one that said which document comes next,
// the reader has lost the chain and looks for the next piece in every
// document. ends collects where the chain stands once every piece is read,
// for chains that still know where they are.
type resolver struct {
	docs   []docSigs
	cats   [][][]string // each doc's categories, dates blurred, as folded words
	pieces []piece
	ends   map[int]bool
}

// lost marks a chain that no longer knows its current document.
const lost = -1

func (r *resolver) start() {
	if len(r.pieces) == 1 && !r.pieces[0].link && r.pieces[0].category == nil {
		// A question whose one clue is a doc's lead asks for that doc,
		// whatever else the lead mentions.
		for d := range r.docs {
			for _, sig := range r.docs[d].lead {
				if matches(sig, r.pieces[0]) {
					r.ends[d] = true
				}
			}
		}
		if len(r.ends) > 0 {
			return
		}
	}
	r.follow(nil, lost, 0)
}

// follow reads piece k with the chain at doc cur (lost: unknown) after the
// docs of path.
func (r *resolver) follow(path []int, cur, k int) {
	if k == len(r.pieces) {
		if cur != lost {
			r.ends[cur] = true
		}
		return
	}
	p := r.pieces[k]
	if cur == lost && p.link && p.quote == nil && len(path) > 0 {
		// "The article on X mentions Y" says nothing by which a reader who lost
		// track of X could find it again.
		r.follow(path, lost, k+1)
		return
	}
	if cur == lost {
		found := false
		for d := range r.docs {
			if slices.Contains(path, d) {
				continue
			}
			if r.supports(d, p) {
				found = true
				r.read(append(slices.Clone(path), d), d, k)
			}
		}
		if !found {
			r.follow(path, lost, k+1) // nothing can check it: skip
		}
		return
	}
	if !r.supports(cur, p) {
		// Not about the current doc as far as the shown text says: the
		// reader looks for it elsewhere, or skips it.
		r.follow(path, lost, k)
		return
	}
	r.read(path, cur, k)
}

// supports reports whether doc d has something piece p can be matched to.
func (r *resolver) supports(d int, p piece) bool {
	switch {
	case p.opening:
		for _, sig := range r.docs[d].lead {
			if hasRun(sig.words, p.quote) {
				return true
			}
		}
		return false
	case p.link && p.quote != nil:
		for _, sig := range r.docs[d].sentences {
			if len(sig.names) > 0 && hasRun(sig.words, p.quote) {
				return true
			}
		}
		return false
	case p.link:
		return r.namesAny(d)
	case p.category != nil:
		return hasCategoryTokens(r.cats[d], p.category)
	}
	for _, sig := range r.docs[d].sentences {
		if matches(sig, p) {
			return true
		}
	}
	return false
}

func (r *resolver) namesAny(d int) bool {
	for _, sig := range r.docs[d].sentences {
		if len(sig.names) > 0 {
			return true
		}
	}
	return false
}

// read applies piece k, which doc cur supports (cur is the last of path).
// The piece moves the chain on to every doc not yet on it that its sentence
// names (a hop), and may also stay as a further clue about cur (a lead that
// mentions the doc's maker while a later piece makes the hop), except when
// it is the last piece and introduces an entity: there the hop is what the
// question asks for. A piece that introduces an entity which none of the
// shown docs is loses the chain: the doc it leads to is not there.
func (r *resolver) read(path []int, cur, k int) {
	p := r.pieces[k]
	if p.category != nil {
		r.follow(path, cur, k+1)
		return
	}
	next := map[int]bool{}
	if p.opening {
		r.follow(path, cur, k+1) // a clue about cur, no hop
		return
	}
	for _, sig := range r.docs[cur].sentences {
		if !p.link && !matches(sig, p) || p.quote != nil && !hasRun(sig.words, p.quote) {
			continue
		}
		for _, d := range sig.names {
			if !slices.Contains(path, d) && d != cur {
				next[d] = true
			}
		}
	}
	if !p.link && (len(next) == 0 || k < len(r.pieces)-1 || !p.fresh) {
		r.follow(path, cur, k+1)
	}
	if len(next) == 0 {
		if (p.fresh || p.link) && k < len(r.pieces)-1 {
			r.follow(path, lost, k+1)
		}
		return
	}
	for d := range len(r.docs) {
		if next[d] {
			r.follow(append(slices.Clone(path), d), d, k+1)
		}
	}
}

// hasRun reports whether run occurs in ws as consecutive words.
func hasRun(ws, run []string) bool {
	for i := 0; i+len(run) <= len(ws); i++ {
		if slices.Equal(ws[i:i+len(run)], run) {
			return true
		}
	}
	return false
}

// hasCategoryTokens reports whether one of cats (folded words) is cat.
func hasCategoryTokens(cats [][]string, cat []string) bool {
	for _, c := range cats {
		if slices.Equal(c, cat) {
			return true
		}
	}
	return false
}
