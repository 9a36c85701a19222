package writer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/qa/internal/clip"
	"github.com/miroverse/miroverse/qa/internal/seed"
)

// The writer works in three passes, each its own request with role header
// "writer"; the "pass" field of the fenced JSON block that ends the user
// message names the pass, which is what the oracle routes on (a real model
// reads it as part of the task). Splitting the work follows the MiroThinker
// report: facts first, then their obfuscation, then a question built from
// several obfuscated constraints. Each pass's prompt is versioned and hashed
// on its own so that the manifest shows which one changed.
const (
	PassFacts     = "facts"
	PassObfuscate = "obfuscate"
	PassCompose   = "compose"
)

// Prompt texts. Any edit changes PromptHashes; bump the version with it.
const (
	factsVersion = "writer-facts-v2"
	factsSystem  = `You collect raw material for a research question. You receive a chain of documents in which each document links to the next. The first document sets the theme of the chain.

For every document, list short factual statements that the document itself supports and that relate to the theme: what the entity is, when and where things happened, who was involved, what it is known for. Use the document's lead sentence, its infobox entries and the evidence sentence that links it to the next document. Each statement must be a whole sentence that names its subject; never cut a sentence short or end it with an ellipsis. Do not invent anything and do not add outside knowledge.

Reply with one JSON object and nothing else: {"facts": [{"doc": <index of the document in "docs">, "kind": "description" | "evidence" | "infobox", "text": "<the statement>"}]}`
	factsUser = `List the facts of the chain below. "theme" is the first document; "docs" lists the documents in chain order with their lead sentence, categories and infobox entries; "evidence[i]" is the sentence of docs[i] that links to docs[i+1]; "answer" is the last document.`

	obfuscateVersion = "writer-obfuscate-v2"
	obfuscateSystem  = `You make facts hard to look up while keeping them true. You receive a list of facts about the documents of a chain.

Rewrite every fact so that it identifies its entities only indirectly:
1. Dates become periods: a full date or a month becomes a season or part of a decade ("March 15, 2023" becomes "in the spring of the 2020s"), a year becomes its decade.
2. Places become categories: a named city, region or country becomes what kind of place it is ("Paris" becomes "a European capital").
3. People, works, organisations and every document of the chain are referred to by description ("a general who crossed a famous river", "the river in this story"), never by name, alternative name, anchor text or acronym, and never by part of one: no first name, surname, initial or a name with one letter changed.
4. Write plain English even when the facts are in another language: describe in English what you cannot translate (what kind of thing it is, its categories, its position in the chain) rather than copying source sentences.
Keep the meaning and keep one rewritten fact per input fact, with the same "doc" and "kind".

Reply with one JSON object and nothing else: {"facts": [{"doc": <index>, "kind": "<kind>", "text": "<the rewritten fact>"}]}`
	obfuscateUser = `Obfuscate the facts below. "docs" names the documents of the chain (for you to recognise them, never to repeat); "facts" are the statements to rewrite.`

	composeVersion = "writer-compose-v2"
	composeSystem  = `You are an expert author of research questions. You receive obfuscated constraints about a chain of documents, in chain order, and the title of the chain's last document, which is the answer.

Compose exactly one question as a chain of clauses:
1. The first clause introduces the first document by a description of it. Every later clause is about the entity the previous clause led to, and refers to it by the description the question already gave it ("the town where that painter died", "the company that bought it"). No clause may describe the answer by a fact that identifies it on its own, such as its own first sentence or an infobox value: the only way to the answer must run through the previous hop.
2. Every entity the question asks for or refers to is introduced before it is used: never "the fourth figure" or "it" without a clause that said which entity that is.
3. The last clause asks for the answer.
4. Every clause is a complete sentence or phrase in fluent English: never cut a clause short, never end one with an ellipsis, never paste raw sentences of a document in another language.
5. No document of the chain is named, nor any alternative name, anchor text or acronym of one, nor any part of such a name (a first name, a surname, an initial, a name with one letter changed); no exact date or number the documents state is repeated.
6. The answer is unique: only the answer satisfies all the clauses together.

Reply with one JSON object and nothing else: {"question": "<the question>", "clauses": ["<clause 1, copied exactly from the question>", "...", "<the final clause that asks for the answer>"], "answer": "<the answer's title, copied exactly>"}. Each clause must be a substring of the question, in chain order.`
	composeUser = `Compose the question from the constraints below. "docs" lists the documents in chain order (for reference only); "constraints" are obfuscated facts, each tied to the document at index "doc"; "answer" is the title the question must lead to. List the question's clauses in chain order in "clauses".`
)

// passPrompt is one pass's system and user text.
type passPrompt struct{ version, system, user string }

// prompts of the passes; a function rather than a package variable so that
// no mutable state is shared.
func prompts(pass string) passPrompt {
	switch pass {
	case PassFacts:
		return passPrompt{factsVersion, factsSystem, factsUser}
	case PassObfuscate:
		return passPrompt{obfuscateVersion, obfuscateSystem, obfuscateUser}
	}
	return passPrompt{composeVersion, composeSystem, composeUser}
}

func (p passPrompt) hash() string {
	sum := sha256.Sum256([]byte(p.version + "\x00" + p.system + "\x00" + p.user))
	return hex.EncodeToString(sum[:8])
}

// promptVersion names the three-pass writer as a whole.
const promptVersion = "writer-v3 (" + factsVersion + ", " + obfuscateVersion + ", " + composeVersion + ")"

// PromptVersion names the writer prompts for people; PromptHash and
// PromptHashes identify them for machines.
func PromptVersion() string { return promptVersion }

// PromptHashes maps each pass's manifest key ("writer_facts",
// "writer_obfuscate", "writer_compose") to 16 hex digits of the SHA-256 of
// its version and texts.
func PromptHashes() map[string]string {
	return map[string]string{
		"writer_facts":     prompts(PassFacts).hash(),
		"writer_obfuscate": prompts(PassObfuscate).hash(),
		"writer_compose":   prompts(PassCompose).hash(),
	}
}

// PromptHash covers all three passes (16 hex digits); it is what an item and
// the stage fingerprint record, so that any pass's edit re-runs the stage.
func PromptHash() string {
	sum := sha256.Sum256([]byte(prompts(PassFacts).hash() + "\x00" + prompts(PassObfuscate).hash() + "\x00" + prompts(PassCompose).hash()))
	return hex.EncodeToString(sum[:8])
}

// The JSON of the passes (ARCHITECTURE.md, "LLM roles"): the oracle parses
// it, so field names and order are a contract.

// PassDoc is one document as a pass sees it. Infobox is sent to the facts
// pass only.
type PassDoc struct {
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Categories  []string  `json:"categories"`
	Infobox     []kg.Fact `json:"infobox,omitempty"`
	// Aliases are the doc's redirect titles: names the question must not use
	// either, sent to obfuscation and composition.
	Aliases []string `json:"aliases,omitempty"`
}

// Fact is one statement about doc Doc of the walk: extracted by the facts
// pass, rewritten by the obfuscation pass, a constraint of the composition.
type Fact struct {
	Doc  int    `json:"doc"`
	Kind string `json:"kind,omitempty"` // FactDescription, FactEvidence, FactInfobox
	Text string `json:"text"`
}

// Fact kinds.
const (
	FactDescription = "description"
	FactEvidence    = "evidence"
	FactInfobox     = "infobox"
)

// Theme is the seed document, which the facts are tied to.
type Theme struct {
	Title      string   `json:"title"`
	Categories []string `json:"categories"`
}

// PassRequest is the fenced JSON of every pass; fields a pass does not use
// are left out.
type PassRequest struct {
	Pass        string    `json:"pass"`
	Theme       *Theme    `json:"theme,omitempty"`
	Docs        []PassDoc `json:"docs"`
	Evidence    []string  `json:"evidence,omitempty"`
	Facts       []Fact    `json:"facts,omitempty"`
	Constraints []Fact    `json:"constraints,omitempty"`
	Answer      string    `json:"answer"`
	Inject      string    `json:"inject,omitempty"`
}

// FactsReply is the JSON a facts or obfuscation pass answers with.
type FactsReply struct {
	Facts []Fact `json:"facts"`
}

// ReadPassRequest is the reading side of a pass request, for a model that
// answers one: the pass input in the last ```json fence of the user message
// msg, else in the outermost {…} of msg.
func ReadPassRequest(msg string) (PassRequest, error) {
	body := ""
	fence := max(strings.LastIndex(msg, "```json"), strings.LastIndex(msg, "```JSON"))
	if fence >= 0 {
		body = msg[fence+len("```json"):]
		if end := strings.Index(body, "```"); end >= 0 {
			body = body[:end]
		}
	} else if i, j := strings.Index(msg, "{"), strings.LastIndex(msg, "}"); i >= 0 && j > i {
		body = msg[i : j+1]
	}
	var in PassRequest
	if err := json.Unmarshal([]byte(strings.TrimSpace(body)), &in); err != nil {
		return PassRequest{}, fmt.Errorf("no readable pass input: %w", err)
	}
	return in, nil
}

// Infobox bounds in the facts request: enough entries for a few facts per
// doc, short enough to keep the prompt small.
const (
	maxInfoboxFacts = 12
	maxFactValue    = 200
)

// passDocs turns a walk's docs into the docs list of a pass request; the
// facts pass gets infobox entries, the later passes (aliases non-nil) the
// names to hide.
func passDocs(walk qa.Walk, docs []kg.Doc, infobox bool, aliases [][]string) []PassDoc {
	out := make([]PassDoc, len(docs))
	for i, d := range docs {
		cats := d.Categories
		if cats == nil {
			cats = []string{} // "[]" rather than null for strict readers
		}
		pd := PassDoc{Title: walk.Titles[i], Description: describe(d.Text), Categories: cats}
		if aliases != nil {
			pd.Aliases = aliases[i]
		}
		if infobox {
			for _, f := range d.Facts {
				if len(pd.Infobox) == maxInfoboxFacts {
					break
				}
				v := strings.TrimSpace(f.Value)
				if f.Key == "" || v == "" {
					continue
				}
				pd.Infobox = append(pd.Infobox, kg.Fact{Key: f.Key, Value: clip.AtWord(v, maxFactValue)})
			}
		}
		out[i] = pd
	}
	return out
}

// factsInput is the facts pass's input.
func factsInput(walk qa.Walk, docs []kg.Doc) PassRequest {
	ev := make([]string, len(walk.Hops))
	for i, h := range walk.Hops {
		ev[i] = h.Sentence
	}
	seed := docs[0].Categories
	if seed == nil {
		seed = []string{}
	}
	return PassRequest{
		Pass:     PassFacts,
		Theme:    &Theme{Title: walk.Titles[0], Categories: seed},
		Docs:     passDocs(walk, docs, true, nil),
		Evidence: ev,
		Answer:   walk.Titles[len(walk.Titles)-1],
	}
}

// buildPassRequest makes a pass's request. Its bytes depend only on in and
// the walk id, so a response cache keyed by request can replay a run.
func buildPassRequest(walkID string, in PassRequest, model string) (openai.ChatCompletionRequest, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Names like "AT&T" should reach the model as written, not as \u0026.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(in); err != nil {
		return openai.ChatCompletionRequest{}, fmt.Errorf("encode %s pass input: %w", in.Pass, err)
	}
	p := prompts(in.Pass)
	user := p.user + "\n\n```json\n" + strings.TrimRight(buf.String(), "\n") + "\n```"
	s := seed.Of(walkID)
	format := factsFormat(in.Pass, len(in.Docs))
	if in.Pass == PassCompose {
		format = composeFormat(in.Answer)
	}
	return openai.ChatCompletionRequest{
		Model: model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: p.system},
			{Role: openai.ChatMessageRoleUser, Content: user},
		},
		Seed:           &s,
		ResponseFormat: format,
	}, nil
}

// parseFacts finds the {"facts": […]} object of a facts or obfuscation
// reply, fenced or embedded in prose like parseReply. Facts with an empty
// text or a doc index outside [0, nDocs) are dropped; a reply left with none
// is unusable.
func parseFacts(content string, nDocs int) ([]Fact, bool) {
	if facts, ok := decodeFacts(replyCandidates(content), nDocs); ok {
		return facts, true
	}
	// A reply cut by its token limit (small models list facts until they
	// run out) still holds every fact before the cut: close the list after
	// the last whole one.
	return decodeFacts(closedAfterLastFact(content), nDocs)
}

// closedAfterLastFact are content cut after each of its last '}' and
// closed as a facts object, latest cut first.
func closedAfterLastFact(content string) []string {
	var out []string
	for end := len(content); len(out) < 32; {
		i := strings.LastIndexByte(content[:end], '}')
		if i < 0 {
			break
		}
		out = append(out, content[:i+1]+"]}")
		end = i
	}
	return out
}

func decodeFacts(candidates []string, nDocs int) ([]Fact, bool) {
	for _, c := range candidates {
		for off := 0; ; off++ {
			i := strings.IndexByte(c[off:], '{')
			if i < 0 {
				break
			}
			off += i
			var r FactsReply
			if err := json.NewDecoder(strings.NewReader(c[off:])).Decode(&r); err != nil || r.Facts == nil {
				continue
			}
			var out []Fact
			for _, f := range r.Facts {
				f.Text = strings.TrimSpace(f.Text)
				if f.Text != "" && f.Doc >= 0 && f.Doc < nDocs {
					out = append(out, f)
				}
			}
			if len(out) > 0 {
				return out, true
			}
		}
	}
	return nil, false
}

// replyCandidates are the places a JSON object may sit in a reply: the body
// of each ``` fence, then the whole content.
func replyCandidates(content string) []string {
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
	return append(candidates, content)
}
