package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/qa"
)

// verifyStore is a qa.Docs over a map, for the gate tests.
type verifyStore map[string]kg.Doc

func (s verifyStore) Doc(_ context.Context, id string) (kg.Doc, error) {
	d, ok := s[id]
	if !ok {
		return kg.Doc{}, fmt.Errorf("no doc %q", id)
	}
	return d, nil
}

func (s verifyStore) Aliases(context.Context, string) ([]kg.Alias, error) { return nil, nil }

// scripted is a llm.Chatter whose replies are a function of the call's number
// and request; it records the requests it saw.
type scripted struct {
	mu    sync.Mutex
	reqs  []openai.ChatCompletionRequest
	reply func(n int, req openai.ChatCompletionRequest) (string, error)
}

func (s *scripted) Model() string { return "scripted" }

func (s *scripted) Chat(_ context.Context, req openai.ChatCompletionRequest) (llm.Reply, error) {
	s.mu.Lock()
	n := len(s.reqs)
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	content, err := s.reply(n, req)
	if err != nil {
		return llm.Reply{}, err
	}
	return llm.Reply{
		Message: openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: content},
		Usage:   openai.Usage{PromptTokens: 10, CompletionTokens: 2},
	}, nil
}

func (s *scripted) calls() []openai.ChatCompletionRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]openai.ChatCompletionRequest(nil), s.reqs...)
}

// verifyFixture is a three-doc walk A → B → C whose answer is C.
func verifyFixture() (qa.Walk, verifyStore, qa.Item) {
	store := verifyStore{
		"a": {ID: "a", Title: "Alpha", Text: "Alpha is a town.\n\nIt lies on a river."},
		"b": {ID: "b", Title: "Beta", Text: "Beta is a bridge.", Categories: []string{"Bridges"}},
		"c": {ID: "c", Title: "Gamma (river)", Text: "Gamma is a river."},
	}
	w := qa.Walk{
		ID: "w1", SeedDoc: "a", DocIDs: []string{"a", "b", "c"}, Titles: []string{"Alpha", "Beta", "Gamma (river)"},
		Hops: []qa.Hop{
			{From: "a", To: "b", Anchor: "Beta", Sentence: "Alpha has the Beta bridge."},
			{From: "b", To: "c", Anchor: "Gamma", Sentence: "Beta crosses the Gamma."},
		},
	}
	it := qa.Item{
		ID: qa.ItemID(w.ID), WalkID: w.ID, Question: "Which river does the bridge of the town cross?", Answer: "Gamma (river)",
		Gold: []string{"Gamma (river)", "Gamma River"}, Hops: 2, DocIDs: w.DocIDs, Titles: w.Titles, Status: qa.StatusKept,
	}
	return w, store, it
}

// answers renders a verifier reply.
func answers(titles ...string) string {
	return `{"answers": [` + strings.Join(quoteAll(titles), ", ") + `]}`
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// maskedTitle names the doc missing from a verifier request, "" if none.
func maskedTitle(req openai.ChatCompletionRequest) string {
	user := req.Messages[len(req.Messages)-1].Content
	for _, t := range []string{"Alpha", "Beta", "Gamma (river)"} {
		if !strings.Contains(user, "### "+t+"\n") {
			return t
		}
	}
	return ""
}

func TestVerifierCheck(t *testing.T) {
	unknown := func(int, openai.ChatCompletionRequest) (string, error) { return `\boxed{unknown}`, nil }
	// honest answers the gold title with every doc, nothing with a bridge hidden.
	honest := func(_ int, req openai.ChatCompletionRequest) (string, error) {
		if maskedTitle(req) != "" {
			return answers(), nil
		}
		return answers("Gamma (river)"), nil
	}
	tests := []struct {
		name       string
		verifier   func(int, openai.ChatCompletionRequest) (string, error)
		closedBook func(int, openai.ChatCompletionRequest) (string, error)
		tries      int
		wantStatus string
		wantReason string
		wantDetail string // a substring
		wantCB     int    // closed-book calls
		wantV      int    // verifier calls
	}{
		{name: "unique passes", verifier: honest, closedBook: unknown, wantStatus: qa.StatusKept, wantCB: 3, wantV: 2},
		{name: "alias and fenced reply count as gold", verifier: func(_ int, req openai.ChatCompletionRequest) (string, error) {
			if maskedTitle(req) != "" {
				return "```json\n[]\n```", nil
			}
			return "Here: ```json\n" + answers("gamma river", "Gamma") + "\n```", nil
		}, closedBook: unknown, tries: 2, wantStatus: qa.StatusKept, wantCB: 2, wantV: 2},
		{name: "two answers are ambiguous", verifier: func(int, openai.ChatCompletionRequest) (string, error) {
			return answers("Gamma (river)", "Beta"), nil
		}, closedBook: unknown, wantStatus: qa.StatusRejected, wantReason: qa.ReasonAmbiguous, wantDetail: "Beta", wantV: 1},
		{name: "gold missing is unanswerable", verifier: func(int, openai.ChatCompletionRequest) (string, error) {
			return answers("Beta"), nil
		}, closedBook: unknown, wantStatus: qa.StatusRejected, wantReason: qa.ReasonNotAnswered, wantV: 1},
		{name: "no answer is unanswerable", verifier: func(int, openai.ChatCompletionRequest) (string, error) {
			return answers(), nil
		}, closedBook: unknown, wantStatus: qa.StatusRejected, wantReason: qa.ReasonNotAnswered, wantDetail: "nothing", wantV: 1},
		{name: "closed book right on the second try", verifier: honest, closedBook: func(n int, _ openai.ChatCompletionRequest) (string, error) {
			if n == 1 {
				return `I recall it: \boxed{Gamma}`, nil
			}
			return `\boxed{Beta}`, nil
		}, wantStatus: qa.StatusRejected, wantReason: qa.ReasonClosedBook, wantDetail: "try 2 of 3", wantCB: 2, wantV: 1},
		{name: "closed book without a box fails the try", verifier: honest, closedBook: func(int, openai.ChatCompletionRequest) (string, error) {
			return "Gamma (river)", nil
		}, wantStatus: qa.StatusKept, wantCB: 3, wantV: 2},
		{name: "masked hop answerable", verifier: func(int, openai.ChatCompletionRequest) (string, error) {
			return answers("Gamma (river)"), nil
		}, closedBook: unknown, wantStatus: qa.StatusRejected, wantReason: qa.ReasonMaskedHop, wantDetail: "without Beta", wantCB: 3, wantV: 2},
		{name: "verifier error fails the item", verifier: func(int, openai.ChatCompletionRequest) (string, error) {
			return "", errors.New("503 after 3 attempts")
		}, closedBook: unknown, wantStatus: qa.StatusFailed, wantReason: qa.ReasonVerifierError, wantDetail: "503", wantV: 1},
		{name: "unreadable verifier reply fails the item", verifier: func(int, openai.ChatCompletionRequest) (string, error) {
			return "Gamma, I think.", nil
		}, closedBook: unknown, wantStatus: qa.StatusFailed, wantReason: qa.ReasonVerifierError, wantDetail: "no JSON list", wantV: 1},
		{name: "closed book error fails the item", verifier: honest, closedBook: func(int, openai.ChatCompletionRequest) (string, error) {
			return "", errors.New("timeout")
		}, wantStatus: qa.StatusFailed, wantReason: qa.ReasonVerifierError, wantDetail: "closed book", wantCB: 1, wantV: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, store, it := verifyFixture()
			v := &scripted{reply: tc.verifier}
			cb := &scripted{reply: tc.closedBook}
			reason, detail, err := Gates{LLM: v, ClosedBook: cb, Tries: tc.tries, Docs: store}.Check(t.Context(), w, &it)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if it.Status != tc.wantStatus || it.Reason != tc.wantReason || reason != tc.wantReason || detail != it.Detail {
				t.Fatalf("got status %q reason %q/%q detail %q, want %q %q", it.Status, it.Reason, reason, it.Detail, tc.wantStatus, tc.wantReason)
			}
			if !strings.Contains(it.Detail, tc.wantDetail) {
				t.Errorf("detail %q lacks %q", it.Detail, tc.wantDetail)
			}
			if got := len(cb.calls()); got != tc.wantCB {
				t.Errorf("closed-book calls = %d, want %d", got, tc.wantCB)
			}
			if got := len(v.calls()); got != tc.wantV {
				t.Errorf("verifier calls = %d, want %d", got, tc.wantV)
			}
			if want := int64(10 * (tc.wantCB + tc.wantV)); tc.wantReason != qa.ReasonVerifierError && it.PromptTokens != want {
				t.Errorf("prompt tokens = %d, want %d", it.PromptTokens, want)
			}
		})
	}
}

func TestVerifierRequests(t *testing.T) {
	w, store, it := verifyFixture()
	v := &scripted{reply: func(_ int, req openai.ChatCompletionRequest) (string, error) {
		if maskedTitle(req) != "" {
			return answers(), nil
		}
		return answers("Gamma (river)"), nil
	}}
	cb := &scripted{reply: func(int, openai.ChatCompletionRequest) (string, error) { return `\boxed{unknown}`, nil }}
	if _, _, err := (Gates{LLM: v, ClosedBook: cb, Docs: store}).Check(t.Context(), w, &it); err != nil {
		t.Fatal(err)
	}
	vr := v.calls()
	// Uniqueness sees every doc; the masked-hop call hides the bridge Beta.
	if m := maskedTitle(vr[0]); m != "" {
		t.Errorf("uniqueness request hides %q", m)
	}
	if m := maskedTitle(vr[1]); m != "Beta" {
		t.Errorf("masked-hop request hides %q, want Beta", m)
	}
	user := vr[0].Messages[1].Content
	for _, want := range []string{verifierQuestion + "\n" + it.Question, verifierDocuments, "### Alpha\n", "Categories: Bridges",
		"Alpha has the Beta bridge."} {
		if !strings.Contains(user, want) {
			t.Errorf("verifier request lacks %q:\n%s", want, user)
		}
	}
	// Closed-book: no documents, the bare question, a distinct seed per try.
	seeds := map[int]bool{}
	for _, r := range cb.calls() {
		if r.Messages[len(r.Messages)-1].Content != it.Question || len(r.Tools) > 0 {
			t.Errorf("closed-book request is not the bare question: %+v", r.Messages)
		}
		seeds[*r.Seed] = true
	}
	if len(seeds) != 3 {
		t.Errorf("closed-book seeds %v, want 3 distinct", seeds)
	}
}

func TestVerifierSkips(t *testing.T) {
	w, store, it := verifyFixture()
	it.Status = qa.StatusRejected
	v := &scripted{reply: func(int, openai.ChatCompletionRequest) (string, error) { return answers(), nil }}
	if r, _, err := (Gates{LLM: v, Docs: store}).Check(t.Context(), w, &it); err != nil || r != "" || len(v.calls()) != 0 {
		t.Errorf("a rejected item was checked: reason %q err %v calls %d", r, err, len(v.calls()))
	}
	_, _, it = verifyFixture()
	if r, _, err := (Gates{LLM: v, Docs: store, SkipUniqueness: true, SkipMaskedHop: true}).Check(t.Context(), w, &it); err != nil || r != "" || len(v.calls()) != 0 {
		t.Errorf("skipped gates ran: reason %q err %v calls %d", r, err, len(v.calls()))
	}
}

func TestVerifierContextDone(t *testing.T) {
	w, store, it := verifyFixture()
	ctx, cancel := context.WithCancel(t.Context())
	v := &scripted{reply: func(int, openai.ChatCompletionRequest) (string, error) {
		cancel()
		return "", context.Canceled
	}}
	_, _, err := Gates{LLM: v, Docs: store}.Check(ctx, w, &it)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if it.Status != qa.StatusKept {
		t.Errorf("status %q after a cancelled check, want it untouched", it.Status)
	}
}

func TestParseAnswers(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{`{"answers": ["A", "B"]}`, []string{"A", "B"}, true},
		{`{"answers": []}`, []string{}, true},
		{"Sure.\n```json\n[\"A\"]\n```", []string{"A"}, true},
		{`I think {maybe} {"answers":["C"]}`, []string{"C"}, true},
		{`{"question": "x"}`, nil, false},
		{`nothing`, nil, false},
	}
	for _, tc := range tests {
		got, ok := parseAnswers(tc.in)
		if ok != tc.ok || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("parseAnswers(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// clauseSearch is a Searcher over fixed hits per query; it records queries
// and fails on the query fail.
type clauseSearch struct {
	hits  map[string][]string // query -> doc ids
	fail  string
	asked []string
}

func (s *clauseSearch) Search(_ context.Context, q string, limit int) ([]kg.SearchHit, error) {
	s.asked = append(s.asked, q)
	if q == s.fail {
		return nil, errors.New("index gone")
	}
	var out []kg.SearchHit
	for _, id := range s.hits[q] {
		if len(out) == limit {
			break
		}
		out = append(out, kg.SearchHit{DocID: id, Title: id})
	}
	return out, nil
}

func TestSingleClauseGate(t *testing.T) {
	walk, store, base := verifyFixture()
	chainQ := "Start from a town. That town has a bridge. The river that bridge crosses: what is it?"
	shortcutQ := chainQ + " It is a river."
	tests := []struct {
		name     string
		question string
		clauses  []string
		hits     map[string][]string
		// byClause is what the scripted verifier answers for a clause
		// given the titles it was shown: it stands for a reader, so it only
		// answers documents it sees.
		byClause   map[string]string
		wantReason string
		wantDocs   [][]string // titles shown per clause, in order
	}{
		{
			name:     "chain: no clause alone reaches the answer",
			question: chainQ,
			clauses:  []string{"Start from a town.", "That town has a bridge.", "The river that bridge crosses: what is it?"},
			hits: map[string][]string{
				"Start from a town.": {"a"}, "That town has a bridge.": {"a", "b"}, "The river that bridge crosses: what is it?": {"b"},
			},
			byClause:   map[string]string{"Start from a town.": "Alpha", "That town has a bridge.": "Beta"},
			wantDocs:   [][]string{{"Alpha"}, {"Alpha", "Beta"}, {"Beta"}},
			wantReason: "",
		},
		{
			name:     "shortcut: the answer's own fact pins it",
			question: shortcutQ,
			clauses:  []string{"Start from a town.", "It is a river."},
			hits:     map[string][]string{"Start from a town.": {"a"}, "It is a river.": {"c", "a"}},
			byClause: map[string]string{"Start from a town.": "Alpha", "It is a river.": "Gamma (river)"},
			// the gate stops at the first clause that reaches the gold
			wantDocs:   [][]string{{"Alpha"}, {"Gamma (river)", "Alpha"}},
			wantReason: qa.ReasonSingleClause,
		},
		{
			name:       "no hits: nothing to ask",
			question:   chainQ,
			clauses:    []string{"Start from a town."},
			hits:       map[string][]string{},
			wantDocs:   nil,
			wantReason: "",
		},
		{
			name:       "no clauses (an imported question): nothing to check",
			question:   chainQ,
			wantReason: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := base
			it.Question, it.Clauses = tt.question, tt.clauses
			var shown [][]string
			v := &scripted{reply: func(_ int, req openai.ChatCompletionRequest) (string, error) {
				q, docs, _ := ReadPrompt(req.Messages[1].Content)
				var titles []string
				for _, d := range docs {
					titles = append(titles, d.Title)
				}
				shown = append(shown, titles)
				a := tt.byClause[q]
				if a == "" || !strings.Contains(strings.Join(titles, "\n"), a) {
					return `{"answers": []}`, nil
				}
				return `{"answers": ["` + a + `"]}`, nil
			}}
			s := &clauseSearch{hits: tt.hits}
			g := Gates{LLM: v, Docs: store, Search: s, SkipUniqueness: true, SkipMaskedHop: true}
			reason, detail, err := g.Check(context.Background(), walk, &it)
			if err != nil {
				t.Fatal(err)
			}
			if reason != tt.wantReason {
				t.Errorf("reason = %q (%s), want %q", reason, detail, tt.wantReason)
			}
			if fmt.Sprint(shown) != fmt.Sprint(tt.wantDocs) {
				t.Errorf("verifier saw %v, want %v", shown, tt.wantDocs)
			}
			if len(s.asked) > len(tt.clauses) {
				t.Errorf("searched %q for clauses %q", s.asked, tt.clauses)
			}
		})
	}
}

func TestSingleClauseSearchErrorIsNotAVerdict(t *testing.T) {
	walk, store, it := verifyFixture()
	it.Clauses = []string{"Start from a town."}
	v := &scripted{reply: func(int, openai.ChatCompletionRequest) (string, error) { return `{"answers": []}`, nil }}
	g := Gates{LLM: v, Docs: store, Search: &clauseSearch{fail: "Start from a town."}, SkipUniqueness: true, SkipMaskedHop: true}
	if _, _, err := g.Check(context.Background(), walk, &it); err == nil || !strings.Contains(err.Error(), "index gone") {
		t.Errorf("err = %v, want the search failure", err)
	}
	if it.Status != qa.StatusKept {
		t.Errorf("status = %s, want the item left kept (fate unknown)", it.Status)
	}
}
