// Package writer turns a walk into one question whose unique answer is the
// walk's last document, by asking an LLM in three passes (facts, their
// obfuscation, composition) as the MiroThinker report describes. The passes'
// prompts and JSON are a contract with whatever model answers them, the
// built-in oracle included, which reads them with this package's types so
// the two sides cannot drift. The leak gate runs at the end of Write because
// only there are the walk's names and literals at hand.
package writer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/internal/text"
	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/qa/gates"
	"github.com/miroverse/miroverse/qa/internal/clip"
	"github.com/miroverse/miroverse/qa/internal/names"
)

// Writer asks an LLM for one question per walk and gates it.
type Writer struct {
	LLM  llm.Chatter
	Docs qa.Docs
	// Inject is a test hook: walk id -> instruction, sent as "inject" in the
	// compose pass, which the oracle turns into a scripted bad question:
	// "leak", "ambiguous", "closed_book", "contaminated:<question text>" and
	// "duplicate:<walk id>" (ARCHITECTURE.md, "Injected questions"). Real
	// models never see it unless it is set.
	Inject map[string]string
	// Walk finds a walk by id; it resolves "duplicate:<walk id>", whose
	// compose pass carries that walk's question. Nil leaves such an
	// instruction unresolved (the item fails with qa.ReasonBadInject).
	Walk func(id string) (qa.Walk, bool)
}

// Write builds the question of walk. LLM failures and unusable replies give
// a failed or rejected item with a reason; an error is returned only when
// ctx is done or the store fails, because then the item's fate is unknown
// and it must be retried rather than recorded.
func (w Writer) Write(ctx context.Context, walk qa.Walk) (qa.Item, error) {
	if w.LLM == nil || w.Docs == nil {
		return qa.Item{}, errors.New("write question: writer needs both an LLM and a document store")
	}
	it := qa.Item{
		ID:         qa.ItemID(walk.ID),
		WalkID:     walk.ID,
		Hops:       len(walk.Hops),
		DocIDs:     slices.Clone(walk.DocIDs),
		Titles:     slices.Clone(walk.Titles),
		Writer:     w.LLM.Model(),
		PromptHash: PromptHash(),
	}
	if err := checkWalk(walk); err != nil {
		it.Status, it.Reason, it.Detail = qa.StatusFailed, qa.ReasonBadWalk, err.Error()
		return it, nil
	}
	last := len(walk.DocIDs) - 1
	it.Answer = walk.Titles[last]

	docs, redirects, err := w.load(ctx, walk)
	if err != nil {
		return qa.Item{}, err
	}
	it.Gold = gold(it.Answer, redirects[last])

	inject, err := w.resolveInject(ctx, walk, &it)
	if err != nil {
		return qa.Item{}, err
	}
	if it.Status != "" {
		return it, nil
	}
	r, err := w.passes(ctx, walk, docs, redirects, inject, &it)
	if err != nil {
		return qa.Item{}, err
	}
	if it.Status != "" {
		return it, nil
	}
	it.Question = r.Question
	it.Clauses = clausesOf(r)
	if !sameAnswer(r.Answer, it.Answer, redirects[last]) {
		it.Status, it.Reason, it.Detail = qa.StatusRejected, qa.ReasonAnswerMismatch, "writer answered "+r.Answer
		return it, nil
	}
	l := gates.Leak{Answer: it.Answer, AnswerAliases: redirects[last], Anchors: gates.WalkAnchors(walk)}
	for i := range last {
		l.Intermediate = append(l.Intermediate, walk.Titles[i])
		l.Intermediate = append(l.Intermediate, redirects[i]...)
	}
	// The literal dates and numbers of the path: its evidence sentences and
	// the documents' infobox values, which the obfuscation pass exists to blur.
	for _, h := range walk.Hops {
		l.PathText = append(l.PathText, h.Sentence)
	}
	for _, d := range docs {
		for _, f := range d.Facts {
			l.PathText = append(l.PathText, f.Value)
		}
	}
	if reason, name := gates.CheckLeak(r.Question, l); reason != "" {
		it.Status, it.Reason, it.Detail = qa.StatusRejected, reason, "question names "+name
		return it, nil
	}
	it.Status = qa.StatusKept
	return it, nil
}

// load reads the docs of walk and their redirect aliases.
func (w Writer) load(ctx context.Context, walk qa.Walk) ([]kg.Doc, [][]string, error) {
	docs := make([]kg.Doc, len(walk.DocIDs))
	redirects := make([][]string, len(walk.DocIDs))
	for i, id := range walk.DocIDs {
		d, err := w.Docs.Doc(ctx, id)
		if err != nil {
			return nil, nil, fmt.Errorf("write question for %s: load doc %q: %w", walk.ID, id, err)
		}
		as, err := w.Docs.Aliases(ctx, id)
		if err != nil {
			return nil, nil, fmt.Errorf("write question for %s: load aliases of %q: %w", walk.ID, id, err)
		}
		docs[i], redirects[i] = d, names.Redirects(as)
	}
	return docs, redirects, nil
}

// resolveInject turns the walk's inject instruction into the value the
// compose pass carries. "duplicate:<walk id>" becomes "duplicate:<that
// walk's question>", written by the same three passes without an
// instruction, so the bad question is a near copy of a question the run
// really writes (and keeps, unless that walk is itself rejected). When the
// instruction cannot be carried out, it sets its status and reason.
func (w Writer) resolveInject(ctx context.Context, walk qa.Walk, it *qa.Item) (string, error) {
	inject := strings.TrimSpace(w.Inject[walk.ID])
	kind, arg, _ := strings.Cut(inject, ":")
	if strings.TrimSpace(kind) != InjectDuplicate {
		return inject, nil
	}
	arg = strings.TrimSpace(arg)
	var (
		src qa.Walk
		ok  bool
	)
	if w.Walk != nil && arg != walk.ID {
		src, ok = w.Walk(arg)
	}
	if !ok || checkWalk(src) != nil {
		it.Status, it.Reason, it.Detail = qa.StatusFailed, qa.ReasonBadInject, "no walk "+arg+" to duplicate"
		return "", nil
	}
	docs, redirects, err := w.load(ctx, src)
	if err != nil {
		return "", err
	}
	var srcItem qa.Item
	r, err := w.passes(ctx, src, docs, redirects, "", &srcItem)
	it.Passes = append(it.Passes, srcItem.Passes...)
	it.PromptTokens += srcItem.PromptTokens
	it.CompletionTokens += srcItem.CompletionTokens
	if err != nil {
		return "", err
	}
	if srcItem.Status != "" {
		it.Status, it.Reason, it.Detail = srcItem.Status, srcItem.Reason, "writing the question to duplicate: "+srcItem.Detail
		return "", nil
	}
	return InjectDuplicate + ":" + r.Question, nil
}

// Inject instructions the oracle writer understands (see Writer.Inject):
// each makes it write the bad question that one gate exists to reject.
const (
	InjectLeak         = "leak"         // names the answer: the leak gate
	InjectAmbiguous    = "ambiguous"    // fits several docs of the chain: the uniqueness gate
	InjectClosedBook   = "closed_book"  // the answer's own lead sentence: the closed-book gate
	InjectDuplicate    = "duplicate"    // "duplicate:<question>" in the compose pass: a near copy, the near-duplicate gate
	InjectContaminated = "contaminated" // "contaminated:<question>": that text, the contamination gate
	InjectShortcut     = "shortcut"     // a final clause that is a standalone fact of the answer: the masked-hop and single-clause gates
)

// passes runs facts, obfuscation and composition for walk and returns the
// composed reply. An unusable pass sets its status, reason and detail and
// stops; an error means ctx is done, as in Write.
func (w Writer) passes(ctx context.Context, walk qa.Walk, docs []kg.Doc, aliases [][]string, inject string, it *qa.Item) (QuestionReply, error) {
	answer := walk.Titles[len(walk.Titles)-1]
	in := factsInput(walk, docs)
	content, ok, err := w.pass(ctx, walk.ID, in, it)
	if !ok || err != nil {
		return QuestionReply{}, err
	}
	facts, ok := parseFacts(content, len(docs))
	if !ok {
		it.Status, it.Reason, it.Detail = qa.StatusFailed, qa.ReasonBadWriterReply, "facts pass: "+clip.AtWord(content, 200)
		return QuestionReply{}, nil
	}

	plain := passDocs(walk, docs, false, hiddenNames(walk, aliases))
	in = PassRequest{Pass: PassObfuscate, Docs: plain, Facts: facts, Answer: answer}
	content, ok, err = w.pass(ctx, walk.ID, in, it)
	if !ok || err != nil {
		return QuestionReply{}, err
	}
	hidden, ok := parseFacts(content, len(docs))
	if !ok {
		it.Status, it.Reason, it.Detail = qa.StatusFailed, qa.ReasonBadWriterReply, "obfuscate pass: "+clip.AtWord(content, 200)
		return QuestionReply{}, nil
	}

	in = PassRequest{Pass: PassCompose, Docs: plain, Constraints: hidden, Answer: answer, Inject: inject}
	content, ok, err = w.pass(ctx, walk.ID, in, it)
	if !ok || err != nil {
		return QuestionReply{}, err
	}
	r, ok := parseReply(content)
	if !ok {
		it.Status, it.Reason, it.Detail = qa.StatusFailed, qa.ReasonBadWriterReply, "compose pass: "+clip.AtWord(content, 200)
		return QuestionReply{}, nil
	}
	return r, nil
}

// hiddenNames adds to each doc's redirects the anchor text the walk reached
// it by, when it reads as a name (starts with a capital): the question must
// not use it either, and the later passes only hide what they are told.
// Lower-case anchors ("the river") are ordinary words, too common to hide.
func hiddenNames(walk qa.Walk, redirects [][]string) [][]string {
	out := make([][]string, len(redirects))
	for i := range redirects {
		out[i] = slices.Clone(redirects[i])
		if i == 0 || i-1 >= len(walk.Hops) {
			continue
		}
		a := strings.TrimSpace(walk.Hops[i-1].Anchor)
		r, _ := utf8.DecodeRuneInString(a)
		if a != "" && unicode.IsUpper(r) && !strings.EqualFold(a, walk.Titles[i]) && !slices.Contains(out[i], a) {
			out[i] = append(out[i], a)
		}
	}
	return out
}

// pass sends one pass's request and records its usage in it. It returns the
// reply's content and true, or false with it marked failed when the call
// failed for good; the error is set only when ctx is done.
func (w Writer) pass(ctx context.Context, walkID string, in PassRequest, it *qa.Item) (string, bool, error) {
	req, err := buildPassRequest(walkID, in, w.LLM.Model())
	if err != nil {
		return "", false, fmt.Errorf("write question for %s: %w", walkID, err)
	}
	reply, err := w.LLM.Chat(ctx, req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return "", false, fmt.Errorf("write question for %s: %s pass: %w (writer: %v)", walkID, in.Pass, cerr, err)
		}
		it.Status, it.Reason, it.Detail = qa.StatusFailed, qa.ReasonWriterError, in.Pass+" pass: "+err.Error()
		return "", false, nil
	}
	u := qa.PassUsage{Pass: in.Pass, PromptTokens: int64(reply.Usage.PromptTokens), CompletionTokens: int64(reply.Usage.CompletionTokens),
		Estimated: reply.UsageEstimated}
	if u.Estimated {
		it.UsageMissing++
	}
	it.Passes = append(it.Passes, u)
	it.PromptTokens += u.PromptTokens
	it.CompletionTokens += u.CompletionTokens
	msg := reply.Message
	llm.SplitThink(&msg) // a no-op after llm.Client, but other Chatters may pass <think> through
	return msg.Content, true, nil
}

func checkWalk(w qa.Walk) error {
	switch {
	case w.ID == "":
		return errors.New("walk has no id")
	case len(w.DocIDs) < 2:
		return fmt.Errorf("walk has %d docs, want at least 2", len(w.DocIDs))
	case len(w.Titles) != len(w.DocIDs):
		return fmt.Errorf("walk has %d titles for %d docs", len(w.Titles), len(w.DocIDs))
	case len(w.Hops) != len(w.DocIDs)-1:
		return fmt.Errorf("walk has %d hops for %d docs", len(w.Hops), len(w.DocIDs))
	}
	return nil
}

// gold is the title followed by the aliases in sorted order, dropping any
// that normalize to a name already listed: the judge compares normalized
// text, so such duplicates add nothing.
func gold(title string, aliases []string) []string {
	sorted := slices.Clone(aliases)
	slices.Sort(sorted)
	out := []string{title}
	seen := map[string]bool{text.FoldName(title): true}
	for _, a := range sorted {
		if n := text.FoldName(a); !seen[n] {
			seen[n] = true
			out = append(out, a)
		}
	}
	return out
}

// sameAnswer reports whether the writer's claimed answer names the walk's
// last doc: its title, the title without its qualifier, or a redirect.
func sameAnswer(claimed, title string, aliases []string) bool {
	c := text.FoldName(claimed)
	if c == "" {
		return false
	}
	for _, n := range append([]string{title, names.StripParenthetical(title)}, aliases...) {
		if text.FoldName(n) == c {
			return true
		}
	}
	return false
}

// QuestionReply is the JSON the compose pass answers with.
type QuestionReply struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
	// Clauses are the question's constraints in chain order, the last one
	// asking for the answer; each is a substring of Question. The
	// single-clause gate checks them one at a time.
	Clauses []string `json:"clauses,omitempty"`
}

// clausesOf keeps the reply's clauses that are substrings of its question
// (trimmed, empty ones and repeats dropped): a clause the question does not
// contain was not what the reader sees, so no gate should judge it.
func clausesOf(r QuestionReply) []string {
	var out []string
	for _, c := range r.Clauses {
		c = strings.TrimSpace(c)
		if c == "" || !strings.Contains(r.Question, c) || slices.Contains(out, c) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// parseReply finds the writer's JSON object in content: inside a ``` fence
// if there is one, else the first object embedded in the prose. Both fields
// must be non-empty.
func parseReply(content string) (QuestionReply, bool) {
	for _, c := range replyCandidates(content) {
		if r, ok := firstObject(c); ok {
			return r, true
		}
	}
	return QuestionReply{}, false
}

// firstObject decodes the first JSON object of s that carries a question and
// an answer, trying each '{' in turn so that braces in prose are skipped.
func firstObject(s string) (QuestionReply, bool) {
	for off := 0; ; {
		i := strings.IndexByte(s[off:], '{')
		if i < 0 {
			return QuestionReply{}, false
		}
		off += i
		var r QuestionReply
		if err := json.NewDecoder(strings.NewReader(s[off:])).Decode(&r); err == nil {
			r.Question, r.Answer = strings.TrimSpace(r.Question), strings.TrimSpace(r.Answer)
			if r.Question != "" && r.Answer != "" {
				return r, true
			}
		}
		off++
	}
}

// Describe is the lead description of a document's text as the writer gives
// it (its first prose sentence, clipped): what the closed-book oracle is
// made to remember.
func Describe(text string) string { return describe(text) }

// LeadsOf calls add with the title and lead description of every doc of
// walks, each doc once, in walk order.
func LeadsOf(ctx context.Context, docs qa.Docs, walks []qa.Walk, add func(title, lead string)) error {
	seen := map[string]bool{}
	for _, w := range walks {
		for _, id := range w.DocIDs {
			if seen[id] {
				continue
			}
			seen[id] = true
			d, err := docs.Doc(ctx, id)
			if err != nil {
				return fmt.Errorf("load lead of %q: %w", id, err)
			}
			add(d.Title, describe(d.Text))
		}
	}
	return nil
}

// maxDescription bounds a doc's description in runes; the first sentence of
// an article is enough for the writer and keeps the prompt small.
const maxDescription = 300

// describe is the first sentence of a doc's text, skipping headings, list
// items and other non-prose lines.
func describe(text string) string {
	return clip.AtWord(firstSentence(firstParagraph(text)), maxDescription)
}

// firstParagraph joins the first run of prose lines of markdown-ish text.
func firstParagraph(text string) string {
	var lines []string
	for line := range strings.Lines(text) {
		t := strings.TrimSpace(line)
		if t == "" || !isProse(t) {
			if len(lines) > 0 {
				break
			}
			continue
		}
		lines = append(lines, t)
	}
	p := strings.Join(lines, " ")
	// Bold markers around the lead title carry no information for the writer.
	return strings.NewReplacer("**", "", "__", "").Replace(p)
}

// isProse tells a paragraph line from markdown structure: headings, list
// items, tables, quotes, rules and fences.
func isProse(t string) bool {
	switch t[0] {
	case '#', '|', '>', '=':
		return false
	case '-', '*', '+':
		// A list item ("- x") or a rule ("---", "* * *"); "**Bold** lead"
		// is prose.
		if len(t) == 1 || t[1] == ' ' || strings.Trim(t, t[:1]+" ") == "" {
			return false
		}
	}
	if strings.HasPrefix(t, "```") {
		return false
	}
	// Numbered list items: "1. …" or "2) …".
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i > 0 && i+1 < len(t) && (t[i] == '.' || t[i] == ')') && t[i+1] == ' ' {
		return false
	}
	return true
}

// firstSentence cuts p after its first sentence end: '.', '!' or '?'
// followed by a space and a character that is not lower case, unless the
// period closes an initial or a common abbreviation ("J. R. R. Tolkien",
// "c. 1200", "St. Louis").
func firstSentence(p string) string {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '.' && c != '!' && c != '?' {
			continue
		}
		if i+1 == len(p) {
			return p
		}
		if p[i+1] != ' ' {
			continue
		}
		next := strings.TrimLeft(p[i+1:], " ")
		if next == "" {
			return p[:i+1]
		}
		if r, _ := utf8.DecodeRuneInString(next); unicode.IsLower(r) {
			continue
		}
		if c == '.' && isAbbreviation(lastWord(p[:i])) {
			continue
		}
		return p[:i+1]
	}
	return p
}

// lastWord is the run of non-space bytes at the end of s, without a leading
// opening parenthesis or quote.
func lastWord(s string) string {
	w := s[strings.LastIndexByte(s, ' ')+1:]
	return strings.TrimLeft(w, `("'`)
}

func isAbbreviation(w string) bool {
	if len([]rune(w)) == 1 || strings.Contains(w, ".") { // an initial, or "U.S", "e.g"
		return true
	}
	switch strings.ToLower(w) {
	case "mr", "mrs", "ms", "dr", "st", "jr", "sr", "mt", "ft", "vs", "c", "ca", "no", "vol", "fl", "gen", "col", "lt", "prof", "rev":
		return true
	}
	return false
}
