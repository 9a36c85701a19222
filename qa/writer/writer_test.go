package writer

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/qa"
)

type fakeDocs struct {
	docs    map[string]kg.Doc
	aliases map[string][]kg.Alias
	err     error
}

func (f fakeDocs) Doc(_ context.Context, id string) (kg.Doc, error) {
	if f.err != nil {
		return kg.Doc{}, f.err
	}
	d, ok := f.docs[id]
	if !ok {
		return kg.Doc{}, fmt.Errorf("doc %s: %w", id, kg.ErrNotFound)
	}
	return d, nil
}

func (f fakeDocs) Aliases(_ context.Context, id string) ([]kg.Alias, error) {
	return f.aliases[id], nil
}

// fakeChatter answers each writer pass with a fixed reply (or err) and keeps
// the requests it saw. A pass without a reply of its own gets a usable
// default for facts and obfuscation, and content for composition.
type fakeChatter struct {
	content string            // the compose reply
	replies map[string]string // pass -> reply, overriding the defaults
	err     error
	errPass string // the pass err applies to; "" means every pass
	reqs    *[]openai.ChatCompletionRequest
}

const (
	defaultFactsReply     = `{"facts":[{"doc":0,"kind":"description","text":"Julius Caesar was a Roman general."},{"doc":1,"kind":"evidence","text":"The Tiber flows through Rome."}]}`
	defaultObfuscateReply = `{"facts":[{"doc":0,"kind":"description","text":"A general of an ancient republic."},{"doc":1,"kind":"evidence","text":"A river flows through a European capital."}]}`
)

func (f fakeChatter) Model() string { return "fake-writer" }

func (f fakeChatter) Chat(ctx context.Context, req openai.ChatCompletionRequest) (llm.Reply, error) {
	if f.reqs != nil {
		*f.reqs = append(*f.reqs, req)
	}
	if err := ctx.Err(); err != nil {
		return llm.Reply{}, fmt.Errorf("fake chat: %w", err)
	}
	pass := requestPass(req)
	if f.err != nil && (f.errPass == "" || f.errPass == pass) {
		return llm.Reply{}, f.err
	}
	content, ok := f.replies[pass]
	if !ok {
		switch pass {
		case PassFacts:
			content = defaultFactsReply
		case PassObfuscate:
			content = defaultObfuscateReply
		default:
			content = f.content
		}
	}
	return llm.Reply{
		Message: openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: content},
		Usage:   openai.Usage{PromptTokens: 100, CompletionTokens: 20},
	}, nil
}

// requestPass reads the "pass" of a writer request's fenced JSON.
func requestPass(req openai.ChatCompletionRequest) string {
	user := req.Messages[len(req.Messages)-1].Content
	i := strings.LastIndex(user, "```json\n")
	if i < 0 {
		return ""
	}
	var p struct{ Pass string }
	_ = json.Unmarshal([]byte(strings.TrimSuffix(user[i+len("```json\n"):], "\n```")), &p)
	return p.Pass
}

// fixture is the walk Julius Caesar -> Tiber (river) -> Rome.
func fixture() (qa.Walk, fakeDocs) {
	docs := fakeDocs{
		docs: map[string]kg.Doc{
			"w:1": {ID: "w:1", Title: "Julius Caesar", Categories: []string{"Roman dictators"},
				Facts: []kg.Fact{{Key: "born", Value: "12 July 100 BC"}, {Key: "office", Value: " "}},
				Text:  "# Julius Caesar\n\n**Julius Caesar** (c. 100 BC – 44 BC) was a Roman general. He crossed the Rubicon.\n\n- a list line"},
			"w:2": {ID: "w:2", Title: "Tiber (river)", Categories: nil,
				Text: "The Tiber is the third-longest river in Italy."},
			"w:3": {ID: "w:3", Title: "Rome", Categories: []string{"Capitals in Europe", "AT&T cities"},
				Text: "## Overview\n* item\nRome is the capital city of Italy. It is large."},
		},
		aliases: map[string][]kg.Alias{
			"w:1": {{DocID: "w:1", Alias: "Caesar", Kind: "redirect"}},
			"w:2": {{DocID: "w:2", Alias: "Tevere", Kind: "redirect"}},
			"w:3": {
				{DocID: "w:3", Alias: "Roma", Kind: "redirect"},
				{DocID: "w:3", Alias: "rome", Kind: "redirect"},
				{DocID: "w:3", Alias: "Eternal City", Kind: "redirect"},
				{DocID: "w:3", Alias: "the capital", Kind: "anchor"},
			},
		},
	}
	ids := []string{"w:1", "w:2", "w:3"}
	w := qa.Walk{
		ID:      qa.WalkID(ids),
		SeedDoc: "w:1",
		DocIDs:  ids,
		Titles:  []string{"Julius Caesar", "Tiber (river)", "Rome"},
		Hops: []qa.Hop{
			{From: "w:1", To: "w:2", Anchor: "Tiber", Sentence: "Caesar's ashes never reached the Tiber."},
			{From: "w:2", To: "w:3", Anchor: "Rome", Sentence: "The Tiber flows through Rome."},
		},
	}
	return w, docs
}

// decodeInput extracts the fenced pass input that ends the last user message.
func decodeInput(t *testing.T, req openai.ChatCompletionRequest) (PassRequest, map[string]json.RawMessage) {
	t.Helper()
	user := req.Messages[len(req.Messages)-1]
	if user.Role != openai.ChatMessageRoleUser {
		t.Fatalf("last message role = %s, want user", user.Role)
	}
	const open, closing = "```json\n", "\n```"
	if !strings.HasSuffix(user.Content, closing) {
		t.Fatalf("user message does not end with a fence: %q", user.Content)
	}
	i := strings.LastIndex(user.Content, open)
	if i < 0 {
		t.Fatalf("no ```json fence in %q", user.Content)
	}
	body := user.Content[i+len(open) : len(user.Content)-len(closing)]
	var in PassRequest
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		t.Fatalf("decode pass input: %v\n%s", err, body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	return in, raw
}

func TestDescribe(t *testing.T) {
	long := strings.Repeat("word ", 100) + "end."
	tests := []struct{ name, text, want string }{
		{"plain", "Paris is a city. It is big.", "Paris is a city."},
		{"heading and list skipped", "# Paris\n\n- item one\n1. item two\nParis is a city. More.", "Paris is a city."},
		{"wrapped paragraph", "Paris is\na city in France. More.", "Paris is a city in France."},
		{"initials", "J. R. R. Tolkien was a writer. He wrote.", "J. R. R. Tolkien was a writer."},
		{"abbreviation", "St. Louis is a city in Missouri. It has an arch.", "St. Louis is a city in Missouri."},
		{"lower case after period", "It weighs 3.5 kg. and more, said the ad. Then it ended.", "It weighs 3.5 kg. and more, said the ad."},
		{"question mark", "Who knows? Nobody.", "Who knows?"},
		{"bold title", "**Rome** is old. Yes.", "Rome is old."},
		{"rules skipped", "---\n* * *\nRome is old.", "Rome is old."},
		{"table and quote", "| a | b |\n> quoted\nText here", "Text here"},
		{"empty", "", ""},
		{"only headings", "# A\n## B", ""},
		{"clipped", long, strings.TrimSpace(strings.Repeat("word ", 59)) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := describe(tt.text)
			if got != tt.want {
				t.Errorf("describe = %q, want %q", got, tt.want)
			}
			if n := len([]rune(got)); n > maxDescription {
				t.Errorf("description has %d runes", n)
			}
		})
	}
}

func TestClausesOf(t *testing.T) {
	q := "Start from a painter of the 1880s. The town where that painter died lies on a river. Which river is it?"
	tests := []struct {
		name    string
		clauses []string
		want    []string
	}{
		{"all kept in order", []string{"Start from a painter of the 1880s.", " Which river is it? "}, []string{"Start from a painter of the 1880s.", "Which river is it?"}},
		{"not in the question", []string{"A clause the question lacks", "Which river is it?"}, []string{"Which river is it?"}},
		{"empty and repeated", []string{"", "Which river is it?", "Which river is it?"}, []string{"Which river is it?"}},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clausesOf(QuestionReply{Question: q, Clauses: tt.clauses}); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("clausesOf = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseReply(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    QuestionReply
		ok      bool
	}{
		{"bare", `{"question":"Q?","answer":"A"}`, QuestionReply{Question: "Q?", Answer: "A"}, true},
		{"fenced", "```json\n{\"question\": \"Q?\", \"answer\": \"A\"}\n```", QuestionReply{Question: "Q?", Answer: "A"}, true},
		{"fence without language", "```\n{\"question\":\"Q?\",\"answer\":\"A\"}\n```", QuestionReply{Question: "Q?", Answer: "A"}, true},
		{"inline fence", "```{\"question\":\"Q?\",\"answer\":\"A\"}```", QuestionReply{Question: "Q?", Answer: "A"}, true},
		{"prose around", "Sure {here} it is: {\"question\": \"Q {x}?\", \"answer\": \"A\"} Hope it helps.", QuestionReply{Question: "Q {x}?", Answer: "A"}, true},
		{"bad fence, good prose", "```json\n{broken\n```\nthen {\"question\":\"Q?\",\"answer\":\"A\"}", QuestionReply{Question: "Q?", Answer: "A"}, true},
		{"unclosed fence", "```json\n{\"question\":\"Q?\",\"answer\":\"A\"}", QuestionReply{Question: "Q?", Answer: "A"}, true},
		{"trimmed", `{"question":"  Q?  ","answer":" A "}`, QuestionReply{Question: "Q?", Answer: "A"}, true},
		{"with clauses", `{"question":"Q1, q2?","clauses":["Q1","q2?"],"answer":"A"}`, QuestionReply{Question: "Q1, q2?", Answer: "A", Clauses: []string{"Q1", "q2?"}}, true},
		{"malformed", `{"question": "Q?", "answer": }`, QuestionReply{}, false},
		{"missing question", `{"answer":"A"}`, QuestionReply{}, false},
		{"empty question", `{"question":" ","answer":"A"}`, QuestionReply{}, false},
		{"missing answer", `{"question":"Q?"}`, QuestionReply{}, false},
		{"wrong type", `{"question":3,"answer":"A"}`, QuestionReply{}, false},
		{"no json", "I cannot help with that.", QuestionReply{}, false},
		{"empty", "", QuestionReply{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseReply(tt.content)
			if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseReply = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	walk, docs := fixture()
	reply := func(q, a string) string {
		b, _ := json.Marshal(QuestionReply{Question: q, Answer: a})
		return string(b)
	}
	const clean = "Which capital does the river that a Roman general's story mentions flow through?"
	tests := []struct {
		name       string
		chat       fakeChatter
		wantStatus string
		wantReason string
	}{
		{"clean", fakeChatter{content: reply(clean, "Rome")}, qa.StatusKept, ""},
		{"clean fenced with thinking", fakeChatter{content: "<think>hmm {}</think>\n```json\n" + reply(clean, "Rome") + "\n```"}, qa.StatusKept, ""},
		{"answer given as alias", fakeChatter{content: reply(clean, "Eternal City")}, qa.StatusKept, ""},
		{"leaks answer", fakeChatter{content: reply("Which river flows through Rome?", "Rome")}, qa.StatusRejected, qa.ReasonLeakAnswer},
		{"leaks alias", fakeChatter{content: reply("Which city, Roma to locals, has this river?", "Rome")}, qa.StatusRejected, qa.ReasonLeakAlias},
		{"leaks intermediate", fakeChatter{content: reply("Which capital lies on the Tiber?", "Rome")}, qa.StatusRejected, qa.ReasonLeakIntermediate},
		{"leaks intermediate alias", fakeChatter{content: reply("Which city did Caesar rule?", "Rome")}, qa.StatusRejected, qa.ReasonLeakIntermediate},
		{"answer mismatch", fakeChatter{content: reply(clean, "Florence")}, qa.StatusRejected, qa.ReasonAnswerMismatch},
		{"bad reply", fakeChatter{content: "I would rather not."}, qa.StatusFailed, qa.ReasonBadWriterReply},
		{"llm error", fakeChatter{err: errors.New("status 500")}, qa.StatusFailed, qa.ReasonWriterError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, err := Writer{LLM: tt.chat, Docs: docs}.Write(context.Background(), walk)
			if err != nil {
				t.Fatal(err)
			}
			if it.Status != tt.wantStatus || it.Reason != tt.wantReason {
				t.Fatalf("status/reason = %s/%s, want %s/%s (detail %q)", it.Status, it.Reason, tt.wantStatus, tt.wantReason, it.Detail)
			}
			if it.ID != qa.ItemID(walk.ID) || it.WalkID != walk.ID || it.Answer != "Rome" || it.Hops != 2 ||
				it.Writer != "fake-writer" || it.PromptHash != PromptHash() ||
				!reflect.DeepEqual(it.DocIDs, walk.DocIDs) || !reflect.DeepEqual(it.Titles, walk.Titles) {
				t.Errorf("item identity fields wrong: %+v", it)
			}
			if want := []string{"Rome", "Eternal City", "Roma"}; !reflect.DeepEqual(it.Gold, want) {
				t.Errorf("gold = %q, want %q", it.Gold, want)
			}
			if tt.wantStatus == qa.StatusKept && (it.Question != clean || it.Detail != "" || it.PromptTokens != 300 || it.CompletionTokens != 60 ||
				len(it.Passes) != 3 || it.Passes[0].Pass != PassFacts || it.Passes[1].Pass != PassObfuscate || it.Passes[2].Pass != PassCompose) {
				t.Errorf("kept item: %+v", it)
			}
			if tt.wantStatus != qa.StatusKept && it.Detail == "" {
				t.Error("a rejected or failed item should say why in Detail")
			}
		})
	}
}

func TestWriteInject(t *testing.T) {
	walk, docs := fixture()
	var reqs []openai.ChatCompletionRequest
	w := Writer{LLM: fakeChatter{content: `{"question":"Q?","answer":"Rome"}`, reqs: &reqs}, Docs: docs,
		Inject: map[string]string{walk.ID: "leak", "walk-other": "x"}}
	if _, err := w.Write(context.Background(), walk); err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, want := range []string{"", "", "leak"} {
		if in, _ := decodeInput(t, reqs[i]); in.Inject != want {
			t.Errorf("request %d (%s): inject = %q, want %q", i, in.Pass, in.Inject, want)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	walk, docs := fixture()
	ok := fakeChatter{content: `{"question":"Q?","answer":"Rome"}`}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (Writer{LLM: ok, Docs: docs}).Write(ctx, walk); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}

	broken := docs
	broken.err = errors.New("disk on fire")
	if _, err := (Writer{LLM: ok, Docs: broken}).Write(context.Background(), walk); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("store failure: err = %v", err)
	}

	missing := walk
	missing.DocIDs = []string{"w:1", "w:9", "w:3"}
	if _, err := (Writer{LLM: ok, Docs: docs}).Write(context.Background(), missing); !errors.Is(err, kg.ErrNotFound) {
		t.Errorf("missing doc: err = %v, want kg.ErrNotFound", err)
	}

	if _, err := (Writer{Docs: docs}).Write(context.Background(), walk); err == nil {
		t.Error("no LLM: want an error")
	}

	bad := walk
	bad.Hops = bad.Hops[:1]
	it, err := Writer{LLM: ok, Docs: docs}.Write(context.Background(), bad)
	if err != nil || it.Status != qa.StatusFailed || it.Reason != qa.ReasonBadWalk {
		t.Errorf("malformed walk: %+v, %v", it, err)
	}
}

func TestItemIDAndPromptHash(t *testing.T) {
	id := qa.ItemID("walk-0123456789abcdef")
	if !strings.HasPrefix(id, "qa-") || len(id) != 3+16 || id == qa.ItemID("walk-x") {
		t.Errorf("qa.ItemID = %q", id)
	}
	h := PromptHash()
	if _, err := hex.DecodeString(h); err != nil || len(h) != 16 || h != PromptHash() {
		t.Errorf("PromptHash = %q", h)
	}
	if PromptVersion() == "" {
		t.Error("empty prompt version")
	}
}
