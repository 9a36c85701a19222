// Package verify holds the gates that need a model to judge a question:
// whether the walk's documents single out its answer (uniqueness), whether
// a model without tools already knows it (closed book), and whether it can
// still be answered with a bridge document hidden (masked hop). They are
// the costly gates, run last on what the text gates kept; the verifier's
// prompt layout is here with both its writing and its reading side, so a
// verifier model, the built-in oracle included, reads what the gates wrote.
package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/boxed"
	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/internal/text"
	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/qa/internal/clip"
	"github.com/miroverse/miroverse/qa/internal/names"
	"github.com/miroverse/miroverse/qa/internal/seed"
)

// DefaultClosedBookTries is how many times the closed-book role is asked
// when Gates.Tries is zero.
const DefaultClosedBookTries = 3

// Gates are the LLM-backed gates of a kept question, run in this order:
// uniqueness, closed-book, masked hop, single clause. A nil LLM skips
// uniqueness, masked hop and single clause; a nil ClosedBook skips
// closed-book; a nil Search skips single clause.
type Gates struct {
	LLM        llm.Chatter // role "verifier": lists the documents a question describes
	ClosedBook llm.Chatter // role "closed_book": answers without tools or documents
	Tries      int         // closed-book attempts, each with its own seed; 0: DefaultClosedBookTries
	Docs       qa.Docs
	// SkipUniqueness and SkipMaskedHop turn single gates off while keeping
	// the verifier client for the other.
	SkipUniqueness, SkipMaskedHop bool
	// Search, when set with LLM, turns on the single-clause gate: each of
	// the item's clauses alone, with the corpus documents Search finds for
	// its text as the verifier's documents, must not yield the gold answer.
	// A question one clause of which pins the answer needs no chain.
	Search Searcher
	// SearchHits is how many hits of each clause's search the verifier
	// reads; 0: DefaultSearchHits.
	SearchHits int
}

// Searcher is the corpus search the single-clause gate asks: a kg.Store's
// Search.
type Searcher interface {
	Search(ctx context.Context, query string, limit int) ([]kg.SearchHit, error)
}

// DefaultSearchHits is how many documents of a clause's search the
// single-clause gate shows the verifier: a searcher reads the first page of
// results, not the corpus.
const DefaultSearchHits = 5

// Check gates it in place. A kept item that fails a gate becomes rejected
// (or failed, with qa.ReasonVerifierError, when an LLM call fails) and the
// reason and detail are returned; "" means it passed or was not kept to
// begin with. Token counts of every call are added to the item. An error is
// returned only when ctx is done or the store fails: the item's fate is then
// unknown and it must be retried.
func (v Gates) Check(ctx context.Context, walk qa.Walk, it *qa.Item) (reason, detail string, err error) {
	if it.Status != qa.StatusKept {
		return "", "", nil
	}
	if v.Docs == nil && (v.LLM != nil || v.Search != nil) {
		return "", "", errors.New("verify question: verifier needs a document store")
	}
	reject := func(status, r, d string) (string, string, error) {
		it.Status, it.Reason, it.Detail = status, r, d
		return r, d, nil
	}
	var docs []Doc
	if v.LLM != nil && (!v.SkipUniqueness || !v.SkipMaskedHop) {
		docs, err = v.loadDocs(ctx, walk)
		if err != nil {
			return "", "", fmt.Errorf("verify %s: %w", it.ID, err)
		}
	}
	if v.LLM != nil && !v.SkipUniqueness {
		answers, err := v.ask(ctx, it, docs, -1)
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return "", "", fmt.Errorf("verify %s: %w (verifier: %v)", it.ID, cerr, err)
			}
			return reject(qa.StatusFailed, qa.ReasonVerifierError, "uniqueness: "+err.Error())
		}
		gold, others := splitAnswers(answers, it.Gold)
		switch {
		case !gold:
			return reject(qa.StatusRejected, qa.ReasonNotAnswered, answersDetail("verifier answered", answers))
		case len(others) > 0:
			return reject(qa.StatusRejected, qa.ReasonAmbiguous, answersDetail("also answered by", others))
		}
	}
	if v.ClosedBook != nil {
		tries := v.Tries
		if tries <= 0 {
			tries = DefaultClosedBookTries
		}
		for try := range tries {
			answer, err := v.closedBook(ctx, it, try)
			if err != nil {
				if cerr := ctx.Err(); cerr != nil {
					return "", "", fmt.Errorf("verify %s: %w (closed book: %v)", it.ID, cerr, err)
				}
				return reject(qa.StatusFailed, qa.ReasonVerifierError, "closed book: "+err.Error())
			}
			if matchesGold(answer, it.Gold) {
				return reject(qa.StatusRejected, qa.ReasonClosedBook, fmt.Sprintf("try %d of %d answered %s", try+1, tries, answer))
			}
		}
	}
	if v.LLM != nil && !v.SkipMaskedHop {
		for _, m := range maskedDocs(len(docs)) {
			answers, err := v.ask(ctx, it, docs, m)
			if err != nil {
				if cerr := ctx.Err(); cerr != nil {
					return "", "", fmt.Errorf("verify %s: %w (verifier: %v)", it.ID, cerr, err)
				}
				return reject(qa.StatusFailed, qa.ReasonVerifierError, "masked hop: "+err.Error())
			}
			if gold, _ := splitAnswers(answers, it.Gold); gold {
				return reject(qa.StatusRejected, qa.ReasonMaskedHop, "answerable without "+docs[m].Title)
			}
		}
	}
	if v.LLM != nil && v.Search != nil {
		for i, c := range it.Clauses {
			answers, err := v.askClause(ctx, it, c)
			if err != nil {
				if cerr := ctx.Err(); cerr != nil {
					return "", "", fmt.Errorf("verify %s: %w (single clause: %v)", it.ID, cerr, err)
				}
				var serr searchError
				if errors.As(err, &serr) {
					return "", "", fmt.Errorf("verify %s: %w", it.ID, err)
				}
				return reject(qa.StatusFailed, qa.ReasonVerifierError, "single clause: "+err.Error())
			}
			if gold, _ := splitAnswers(answers, it.Gold); gold {
				return reject(qa.StatusRejected, qa.ReasonSingleClause, fmt.Sprintf("clause %d of %d alone: %s", i+1, len(it.Clauses), clip.AtWord(c, 160)))
			}
		}
	}
	return "", "", nil
}

// searchError is a failure of the corpus or the store, not of the
// verifier: the item's fate is unknown, so Check returns it as an error.
type searchError struct{ err error }

func (e searchError) Error() string { return e.err.Error() }
func (e searchError) Unwrap() error { return e.err }

// askClause asks the verifier which of the documents the corpus search
// finds for clause satisfy clause alone.
func (v Gates) askClause(ctx context.Context, it *qa.Item, clause string) ([]string, error) {
	k := v.SearchHits
	if k <= 0 {
		k = DefaultSearchHits
	}
	hits, err := v.Search.Search(ctx, clause, k)
	if err != nil {
		return nil, searchError{fmt.Errorf("search for a clause: %w", err)}
	}
	docs := make([]Doc, 0, len(hits))
	for _, h := range hits {
		d, err := v.Docs.Doc(ctx, h.DocID)
		if err != nil {
			return nil, searchError{fmt.Errorf("load hit %q: %w", h.DocID, err)}
		}
		as, err := v.Docs.Aliases(ctx, h.DocID)
		if err != nil {
			return nil, searchError{fmt.Errorf("load aliases of %q: %w", h.DocID, err)}
		}
		text := clip.AtWord(strings.TrimSpace(d.Text), maxVerifyLead)
		if facts := infoboxLines(d.Title, d.Facts); facts != "" {
			text += "\n\n" + facts
		}
		docs = append(docs, Doc{Title: d.Title, Categories: d.Categories, Aliases: names.Redirects(as), Text: text})
	}
	if len(docs) == 0 {
		return nil, nil // nothing found: the clause alone leads nowhere
	}
	return v.askText(ctx, it, clause, docs)
}

// maskedDocs lists the docs the masked-hop gate hides, one at a time: every
// bridge, i.e. every doc of the walk but the first and the answer, since
// each is a hop the question claims to need. A one-hop walk has no bridge;
// its first doc is then hidden, the only other hop there is.
func maskedDocs(n int) []int {
	if n < 2 {
		return nil
	}
	if n == 2 {
		return []int{0}
	}
	out := make([]int, 0, n-2)
	for i := 1; i < n-1; i++ {
		out = append(out, i)
	}
	return out
}

// maxVerifyLead bounds the part of a document's text the verifier reads from
// its start; the sentence that links it to the next doc of the walk is added
// when it lies further in, so that no hop is cut off by the clip while the
// prompt of a long walk stays a few thousand tokens.
const maxVerifyLead = 1500

func (v Gates) loadDocs(ctx context.Context, walk qa.Walk) ([]Doc, error) {
	out := make([]Doc, len(walk.DocIDs))
	for i, id := range walk.DocIDs {
		d, err := v.Docs.Doc(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("load doc %q: %w", id, err)
		}
		as, err := v.Docs.Aliases(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("load aliases of %q: %w", id, err)
		}
		title := d.Title
		if i < len(walk.Titles) {
			title = walk.Titles[i]
		}
		text := clip.AtWord(strings.TrimSpace(d.Text), maxVerifyLead)
		if i < len(walk.Hops) {
			if ev := strings.TrimSpace(walk.Hops[i].Sentence); ev != "" && !strings.Contains(text, ev) {
				text += "\n\n" + ev
			}
		}
		if facts := infoboxLines(title, d.Facts); facts != "" {
			text += "\n\n" + facts
		}
		out[i] = Doc{Title: title, Categories: d.Categories, Aliases: names.Redirects(as), Text: text}
	}
	return out, nil
}

// Infobox bounds of a verifier document: the writer may take a clue from
// any of the first entries, so the verifier must see them, but a long
// infobox should not crowd out the text.
const (
	maxVerifyFacts     = 12
	maxVerifyFactValue = 200
)

// infoboxLines renders a doc's infobox entries as sentences, one per line
// ("The birth date of X is 3 July 1883."), the form in which the writer's
// facts pass states them.
func infoboxLines(title string, facts []kg.Fact) string {
	var lines []string
	for _, f := range facts {
		if len(lines) == maxVerifyFacts {
			break
		}
		v := strings.TrimRight(strings.TrimSpace(f.Value), ".")
		key := strings.Join(strings.FieldsFunc(f.Key, func(r rune) bool { return r == '_' || r == ' ' }), " ")
		if key == "" || v == "" {
			continue
		}
		lines = append(lines, "The "+key+" of "+title+" is "+clip.AtWord(v, maxVerifyFactValue)+".")
	}
	return strings.Join(lines, "\n")
}

// The prompts of the gates. PromptHash covers these texts, so any edit
// shows up in the manifest; bump verifierPromptVersion with it.
const (
	verifierPromptVersion = "verifier-v1"

	verifierSystemPrompt = `You check research questions against a small set of documents. Read the question and every document. Decide which documents the question is asking for: a document counts only when every clue of the question holds for it, following the clues from one document to the next where the question chains them. Use only what the documents say, not outside knowledge. If no document fits, the list is empty; if several fit, list them all.

Reply with one JSON object and nothing else: {"answers": ["<title of a fitting document, copied exactly>", ...]}`

	verifierUserPrompt = `Which of the documents below does the question ask for?`

	closedBookSystemPrompt = `Answer the question from your own knowledge. You have no tools and no documents. Think briefly, then give your final answer as \boxed{answer}. If you do not know, answer \boxed{unknown}.`
)

// PromptVersion names the gate prompts for people; PromptHash identifies
// them for machines.
func PromptVersion() string { return verifierPromptVersion }

// PromptHash is 16 hex digits of the SHA-256 of the gate prompts.
func PromptHash() string {
	sum := sha256.Sum256([]byte(verifierPromptVersion + "\x00" + verifierSystemPrompt + "\x00" + verifierUserPrompt +
		"\x00" + closedBookSystemPrompt))
	return hex.EncodeToString(sum[:8])
}

// verifierRequest lists docs (all but masked, when masked >= 0) under the
// question. Documents keep walk order: the gate hides a doc, it does not
// reshuffle the rest.
func verifierRequest(question string, docs []Doc, masked int, model string, seed int) openai.ChatCompletionRequest {
	shown := make([]Doc, 0, len(docs))
	for i, d := range docs {
		if i != masked {
			shown = append(shown, d)
		}
	}
	return openai.ChatCompletionRequest{
		Model: model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: verifierSystemPrompt},
			{Role: openai.ChatMessageRoleUser, Content: verifierUserPrompt + "\n\n" + Prompt(question, shown)},
		},
		Seed:           &seed,
		ResponseFormat: answersFormat(shown),
	}
}

// answersFormat is the verifier's reply as a JSON Schema: a list of the
// shown titles, so a server that constrains decoding lets the model name
// nothing else. parseAnswers reads the same JSON from servers that do not.
func answersFormat(docs []Doc) *openai.ChatCompletionResponseFormat {
	titles := make([]string, 0, len(docs))
	for _, d := range docs {
		if !slices.Contains(titles, d.Title) {
			titles = append(titles, d.Title)
		}
	}
	enum, err := json.Marshal(titles)
	if err != nil {
		panic(fmt.Sprintf("verifier schema: %v", err)) // strings always encode
	}
	return llm.Schema("verifier_answers", json.RawMessage(fmt.Sprintf(`{"type":"object","properties":{"answers":{"type":"array",`+
		`"items":{"type":"string","enum":%s}}},"required":["answers"],"additionalProperties":false}`, enum)))
}

// ask runs the verifier over docs with doc masked hidden (-1: none) and
// returns the titles it lists.
func (v Gates) ask(ctx context.Context, it *qa.Item, docs []Doc, masked int) ([]string, error) {
	shown := make([]Doc, 0, len(docs))
	for i, d := range docs {
		if i != masked {
			shown = append(shown, d)
		}
	}
	return v.askText(ctx, it, it.Question, shown)
}

// askText runs the verifier on question (the item's, or one of its
// clauses) over docs and returns the titles it lists; tokens go to it.
func (v Gates) askText(ctx context.Context, it *qa.Item, question string, docs []Doc) ([]string, error) {
	req := verifierRequest(question, docs, -1, v.LLM.Model(), seed.Of(it.WalkID))
	reply, err := v.LLM.Chat(ctx, req)
	if err != nil {
		return nil, err
	}
	addUsage(it, reply)
	msg := reply.Message
	llm.SplitThink(&msg)
	answers, ok := parseAnswers(msg.Content)
	if !ok {
		return nil, fmt.Errorf("verifier reply has no JSON list of answers: %q", clip.AtWord(msg.Content, 200))
	}
	return answers, nil
}

// parseAnswers reads {"answers": [...]} or a bare JSON array of strings,
// fenced or embedded in prose.
func parseAnswers(content string) ([]string, bool) {
	for off := 0; off < len(content); off++ {
		i := strings.IndexAny(content[off:], "{[")
		if i < 0 {
			break
		}
		off += i
		dec := json.NewDecoder(strings.NewReader(content[off:]))
		if content[off] == '{' {
			var r struct {
				Answers *[]string `json:"answers"`
			}
			if dec.Decode(&r) == nil && r.Answers != nil {
				return *r.Answers, true
			}
			continue
		}
		var list []string
		if dec.Decode(&list) == nil {
			return list, true
		}
	}
	return nil, false
}

// closedBook asks the closed-book role once; try picks the seed, so that a
// sampling model gives k independent answers and a seeded cache k entries.
func (v Gates) closedBook(ctx context.Context, it *qa.Item, try int) (string, error) {
	s := (seed.Of(it.WalkID) + 7919*(try+1)) & 0x7fffffff
	req := openai.ChatCompletionRequest{
		Model: v.ClosedBook.Model(),
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: closedBookSystemPrompt},
			{Role: openai.ChatMessageRoleUser, Content: it.Question},
		},
		Seed: &s,
	}
	reply, err := v.ClosedBook.Chat(ctx, req)
	if err != nil {
		return "", err
	}
	addUsage(it, reply)
	msg := reply.Message
	llm.SplitThink(&msg)
	answer, _ := boxed.Last(msg.Content) // no box or a placeholder: no answer, which fails the try
	return strings.TrimSpace(answer), nil
}

// matchesGold reports whether answer names the gold answer: the title, the
// title without its qualifier, or an alias, compared normalized.
func matchesGold(answer string, gold []string) bool {
	a := text.FoldName(answer)
	if a == "" {
		return false
	}
	for _, g := range gold {
		if text.FoldName(g) == a || text.FoldName(names.StripParenthetical(g)) == a {
			return true
		}
	}
	return false
}

// splitAnswers reports whether answers include the gold answer and lists the
// distinct other answers (by normalized form, in the order given).
func splitAnswers(answers, gold []string) (hasGold bool, others []string) {
	seen := map[string]bool{}
	for _, a := range answers {
		n := text.FoldName(a)
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		if matchesGold(a, gold) {
			hasGold = true
			continue
		}
		others = append(others, a)
	}
	return hasGold, others
}

func answersDetail(prefix string, answers []string) string {
	if len(answers) == 0 {
		return prefix + " nothing"
	}
	return prefix + " " + clip.AtWord(strings.Join(answers, "; "), 200)
}

// addUsage books a gate call's tokens to the item.
func addUsage(it *qa.Item, reply llm.Reply) {
	it.PromptTokens += int64(reply.Usage.PromptTokens)
	it.CompletionTokens += int64(reply.Usage.CompletionTokens)
	if reply.UsageEstimated {
		it.UsageMissing++
	}
}
