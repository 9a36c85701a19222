package qa

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/kg"
)

// Chatter is the one LLM call the writer needs. *llm.Client satisfies it;
// tests use scripted fakes.
type Chatter interface {
	Chat(ctx context.Context, req openai.ChatCompletionRequest) (llm.Reply, error)
	Model() string
}

// Docs is what the writer needs from the store.
type Docs interface {
	Doc(ctx context.Context, id string) (kg.Doc, error)
	Aliases(ctx context.Context, docID string) ([]kg.Alias, error)
}

// Item statuses: every candidate ends in exactly one.
const (
	StatusKept     = "kept"
	StatusRejected = "rejected"
	StatusFailed   = "failed"
)

// Reasons of rejected and failed items besides the leak reasons.
const (
	ReasonWriterError    = "writer_error"     // the LLM call failed after its retries
	ReasonBadWriterReply = "bad_writer_reply" // no JSON object with a question and an answer
	ReasonAnswerMismatch = "answer_mismatch"  // the writer aimed at another answer than the walk's
	ReasonBadWalk        = "bad_walk"         // the walk is malformed (no hop, lengths disagree)
)

// Item is one question candidate.
type Item struct {
	ID, WalkID, Question, Answer string
	Gold                         []string // the answer title, then its redirect aliases
	Hops                         int
	DocIDs, Titles               []string
	Status                       string // StatusKept, StatusRejected or StatusFailed
	Reason                       string // "" when kept
	Detail                       string // what the reason refers to: the leaked name, the writer's error…
	Writer                       string // model name
	PromptHash                   string
	PromptTokens                 int64
	CompletionTokens             int64
}

// Writer asks an LLM for one question per walk and gates it.
type Writer struct {
	LLM  Chatter
	Docs Docs
	// Inject is a test hook: for a walk id it names a value passed through as
	// "inject" in the walk facts, which the oracle turns into a scripted
	// fault (e.g. "leak"). Real models never see it unless it is set.
	Inject map[string]string
}

// ItemID is the id of the question built from walk walkID.
func ItemID(walkID string) string {
	sum := sha256.Sum256([]byte(walkID))
	return "qa-" + hex.EncodeToString(sum[:8])
}

// Write builds the question of walk. LLM failures and unusable replies give
// a failed or rejected Item with a reason; an error is returned only when ctx
// is done or the store fails, because then the item's fate is unknown and it
// must be retried rather than recorded.
func (w Writer) Write(ctx context.Context, walk Walk) (Item, error) {
	if w.LLM == nil || w.Docs == nil {
		return Item{}, errors.New("write question: writer needs both an LLM and a document store")
	}
	it := Item{
		ID:         ItemID(walk.ID),
		WalkID:     walk.ID,
		Hops:       len(walk.Hops),
		DocIDs:     slices.Clone(walk.DocIDs),
		Titles:     slices.Clone(walk.Titles),
		Writer:     w.LLM.Model(),
		PromptHash: PromptHash(),
	}
	if err := checkWalk(walk); err != nil {
		it.Status, it.Reason, it.Detail = StatusFailed, ReasonBadWalk, err.Error()
		return it, nil
	}
	last := len(walk.DocIDs) - 1
	it.Answer = walk.Titles[last]

	docs := make([]kg.Doc, len(walk.DocIDs))
	redirects := make([][]string, len(walk.DocIDs))
	for i, id := range walk.DocIDs {
		d, err := w.Docs.Doc(ctx, id)
		if err != nil {
			return Item{}, fmt.Errorf("write question for %s: load doc %q: %w", walk.ID, id, err)
		}
		as, err := w.Docs.Aliases(ctx, id)
		if err != nil {
			return Item{}, fmt.Errorf("write question for %s: load aliases of %q: %w", walk.ID, id, err)
		}
		docs[i], redirects[i] = d, redirectAliases(as)
	}
	it.Gold = gold(it.Answer, redirects[last])

	req, err := buildRequest(walk, docs, w.Inject[walk.ID], w.LLM.Model())
	if err != nil {
		return Item{}, fmt.Errorf("write question for %s: %w", walk.ID, err)
	}
	reply, err := w.LLM.Chat(ctx, req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return Item{}, fmt.Errorf("write question for %s: %w (writer: %v)", walk.ID, cerr, err)
		}
		it.Status, it.Reason, it.Detail = StatusFailed, ReasonWriterError, err.Error()
		return it, nil
	}
	it.PromptTokens = int64(reply.Usage.PromptTokens)
	it.CompletionTokens = int64(reply.Usage.CompletionTokens)

	msg := reply.Message
	llm.SplitThink(&msg) // a no-op after llm.Client, but other Chatters may pass <think> through
	r, ok := parseReply(msg.Content)
	if !ok {
		it.Status, it.Reason, it.Detail = StatusFailed, ReasonBadWriterReply, clip(msg.Content, 200)
		return it, nil
	}
	it.Question = r.Question
	if !sameAnswer(r.Answer, it.Answer, redirects[last]) {
		it.Status, it.Reason, it.Detail = StatusRejected, ReasonAnswerMismatch, "writer answered "+r.Answer
		return it, nil
	}
	l := Leak{Answer: it.Answer, AnswerAliases: redirects[last]}
	for i := range last {
		l.Intermediate = append(l.Intermediate, walk.Titles[i])
		l.Intermediate = append(l.Intermediate, redirects[i]...)
	}
	if reason, name := findLeak(r.Question, l); reason != "" {
		it.Status, it.Reason, it.Detail = StatusRejected, reason, "question names "+name
		return it, nil
	}
	it.Status = StatusKept
	return it, nil
}

func checkWalk(w Walk) error {
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

func redirectAliases(as []kg.Alias) []string {
	var out []string
	for _, a := range as {
		if a.Kind == "redirect" && strings.TrimSpace(a.Alias) != "" {
			out = append(out, a.Alias)
		}
	}
	return out
}

// gold is the title followed by the aliases in sorted order, dropping any
// that normalize to a name already listed: the judge compares normalized
// text, so such duplicates add nothing.
func gold(title string, aliases []string) []string {
	sorted := slices.Clone(aliases)
	slices.Sort(sorted)
	out := []string{title}
	seen := map[string]bool{normalize(title): true}
	for _, a := range sorted {
		if n := normalize(a); !seen[n] {
			seen[n] = true
			out = append(out, a)
		}
	}
	return out
}

// sameAnswer reports whether the writer's claimed answer names the walk's
// last doc: its title, the title without its qualifier, or a redirect.
func sameAnswer(claimed, title string, aliases []string) bool {
	c := normalize(claimed)
	if c == "" {
		return false
	}
	for _, n := range append([]string{title, stripParenthetical(title)}, aliases...) {
		if normalize(n) == c {
			return true
		}
	}
	return false
}

// The prompt. PromptHash covers these texts, so any edit shows up in the
// manifest; bump PromptVersion with it.
const (
	promptVersion = "writer-v1"

	systemPrompt = `You are an expert author of research questions. You receive a chain of documents in which each document links to the next, together with the sentence that makes each link. Compose exactly one question that can only be answered by following the whole chain and whose single correct answer is the last document of the chain.

Guidelines:
1. Refer to every entity indirectly, through a fact the documents give about it. Never write the name of the answer, of any other document of the chain, or a well-known alternative name of any of them.
2. Blur specifics so that no single search finds the answer: make exact dates coarser (a day in 1987 becomes "the late 1980s"), make places broader (a named town becomes "a river port in central Europe"), and describe people, works and organisations by what they did or are known for.
3. Every link of the chain must be needed; one document alone must not be enough to answer.
4. Keep the answer unique: if the clues could fit more than one entity, add a distinguishing clue taken from the documents.
5. Use only facts found in the documents and evidence sentences. Write in English, in one or two sentences.

Reply with one JSON object and nothing else: {"question": "<the question>", "answer": "<the answer's title, copied exactly>"}`

	userPrompt = `Write the question for the chain below. "docs" lists the documents in chain order, each with its first sentence and its categories; "evidence[i]" is the sentence of docs[i] that links to docs[i+1]; "answer" is the title the question must lead to.`
)

// PromptVersion names the writer prompt for people; PromptHash identifies it
// for machines.
func PromptVersion() string { return promptVersion }

// PromptHash is 16 hex digits of the SHA-256 of the prompt texts.
func PromptHash() string {
	sum := sha256.Sum256([]byte(promptVersion + "\x00" + systemPrompt + "\x00" + userPrompt))
	return hex.EncodeToString(sum[:8])
}

// factsDoc and facts are the walk-facts JSON of ARCHITECTURE.md; the oracle
// parses it, so field names and order are a contract.
type factsDoc struct {
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Categories  []string `json:"categories"`
}

type facts struct {
	Docs     []factsDoc `json:"docs"`
	Evidence []string   `json:"evidence"`
	Answer   string     `json:"answer"`
	Inject   string     `json:"inject,omitempty"`
}

// buildRequest makes the writer request of walk. Its bytes depend only on
// the walk, the docs and inject, so a response cache keyed by request can
// replay a run.
func buildRequest(walk Walk, docs []kg.Doc, inject, model string) (openai.ChatCompletionRequest, error) {
	f := facts{
		Docs:     make([]factsDoc, len(docs)),
		Evidence: make([]string, len(walk.Hops)),
		Answer:   walk.Titles[len(walk.Titles)-1],
		Inject:   inject,
	}
	for i, d := range docs {
		cats := d.Categories
		if cats == nil {
			cats = []string{} // "[]" rather than null for strict readers
		}
		f.Docs[i] = factsDoc{Title: walk.Titles[i], Description: describe(d.Text), Categories: cats}
	}
	for i, h := range walk.Hops {
		f.Evidence[i] = h.Sentence
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Names like "AT&T" should reach the model as written, not as \u0026.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		return openai.ChatCompletionRequest{}, fmt.Errorf("encode walk facts: %w", err)
	}
	user := userPrompt + "\n\n```json\n" + strings.TrimRight(buf.String(), "\n") + "\n```"
	seed := requestSeed(walk.ID)
	return openai.ChatCompletionRequest{
		Model: model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: systemPrompt},
			{Role: openai.ChatMessageRoleUser, Content: user},
		},
		Seed: &seed,
	}, nil
}

// requestSeed derives the request's seed from the walk id, kept within 31
// bits because some servers reject larger seeds.
func requestSeed(walkID string) int {
	h := fnv.New64a()
	h.Write([]byte(walkID))
	return int(h.Sum64() & 0x7fffffff)
}

type writerReply struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

// parseReply finds the writer's JSON object in content: inside a ``` fence
// if there is one, else the first object embedded in the prose. Both fields
// must be non-empty.
func parseReply(content string) (writerReply, bool) {
	var candidates []string
	rest := content
	for {
		i := strings.Index(rest, "```")
		if i < 0 {
			break
		}
		body := rest[i+3:]
		// Skip the info string ("json") up to the end of the fence line.
		if nl := strings.IndexByte(body, '\n'); nl >= 0 && !strings.Contains(body[:nl], "{") {
			body = body[nl+1:]
		}
		end := strings.Index(body, "```")
		if end < 0 {
			candidates = append(candidates, body)
			break
		}
		candidates = append(candidates, body[:end])
		rest = body[end+3:]
	}
	candidates = append(candidates, content)
	for _, c := range candidates {
		if r, ok := firstObject(c); ok {
			return r, true
		}
	}
	return writerReply{}, false
}

// firstObject decodes the first JSON object of s that carries a question and
// an answer, trying each '{' in turn so that braces in prose are skipped.
func firstObject(s string) (writerReply, bool) {
	for off := 0; ; {
		i := strings.IndexByte(s[off:], '{')
		if i < 0 {
			return writerReply{}, false
		}
		off += i
		var r writerReply
		if err := json.NewDecoder(strings.NewReader(s[off:])).Decode(&r); err == nil {
			r.Question, r.Answer = strings.TrimSpace(r.Question), strings.TrimSpace(r.Answer)
			if r.Question != "" && r.Answer != "" {
				return r, true
			}
		}
		off++
	}
}

// maxDescription bounds a doc's description in runes; the first sentence of
// an article is enough for the writer and keeps the prompt small.
const maxDescription = 300

// describe is the first sentence of a doc's text, skipping headings, list
// items and other non-prose lines.
func describe(text string) string {
	return clip(firstSentence(firstParagraph(text)), maxDescription)
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

// clip shortens s to at most n runes, cutting at a word boundary when one is
// near and marking the cut with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n-1])
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:") + "…"
}
