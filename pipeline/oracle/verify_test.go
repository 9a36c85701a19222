package oracle

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/qa/verify"
	"github.com/miroverse/miroverse/qa/writer"
)

// chainDoc is a document of the gate tests: what the writer sees (title,
// lead, categories) and what the verifier reads (the full text).
type chainDoc struct {
	title string
	cats  []string
	text  string
}

// astronomyChain is a two-hop walk Tycho Brahe → Johannes Kepler → Prague.
// The astronomers share a category, which the "ambiguous" writer fault uses.
func astronomyChain() ([]chainDoc, []string) {
	docs := []chainDoc{
		{"Tycho Brahe", []string{"1546 births", "Astronomers"},
			"Tycho Brahe (14 December 1546 – 24 October 1601) was a Danish astronomer known for the most accurate naked-eye observations of his time.\n\n" +
				"He built the observatory of Uraniborg on the island of Hven.\n\n" +
				"In 1600 he hired Johannes Kepler as an assistant at his castle in Benátky."},
		{"Johannes Kepler", []string{"1571 births", "Astronomers"},
			"Johannes Kepler (27 December 1571 – 15 November 1630) was a German astronomer and mathematician who formulated the laws of planetary motion.\n\n" +
				"In 1601 he settled in Prague, where he succeeded Tycho Brahe as imperial mathematician to Rudolf II."},
		{"Prague", []string{"Capitals in Europe"},
			"Prague is the capital and largest city of the Czech Republic, lying on the Vltava river.\n\n" +
				"Its historic centre has been a World Heritage Site since 1992."},
	}
	evidence := []string{
		"In 1600 he hired Johannes Kepler as an assistant at his castle in Benátky.",
		"In 1601 he settled in Prague, where he succeeded Tycho Brahe as imperial mathematician to Rudolf II.",
	}
	return docs, evidence
}

// lead is the first sentence of a doc's text, as the pipeline describes it.
func lead(d chainDoc) string { return sentences(d.text)[0] }

// writeQuestion asks the oracle's writer role for the question of the chain,
// in one pass or through the facts, obfuscation and composition passes.
func writeQuestion(t *testing.T, s *Server, docs []chainDoc, evidence []string, inject string, passes bool) string {
	t.Helper()
	f := writer.PassRequest{Evidence: evidence, Answer: docs[len(docs)-1].title, Inject: inject}
	for _, d := range docs {
		f.Docs = append(f.Docs, writer.PassDoc{Title: d.title, Description: lead(d), Categories: d.cats})
	}
	call := func(f writer.PassRequest) string {
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		reply, err := client(s, llm.RoleWriter).Chat(t.Context(), openai.ChatCompletionRequest{
			Model:    "oracle",
			Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "Walk:\n```json\n" + string(b) + "\n```"}},
		})
		if err != nil {
			t.Fatalf("writer: %v", err)
		}
		return reply.Message.Content
	}
	if passes {
		var out writer.FactsReply
		f.Pass = writer.PassFacts
		if err := json.Unmarshal([]byte(call(f)), &out); err != nil {
			t.Fatalf("facts pass: %v", err)
		}
		f.Pass, f.Facts = writer.PassObfuscate, out.Facts
		if err := json.Unmarshal([]byte(call(f)), &out); err != nil {
			t.Fatalf("obfuscate pass: %v", err)
		}
		f.Pass, f.Facts, f.Constraints = writer.PassCompose, nil, out.Facts
	}
	var w writer.QuestionReply
	if err := json.Unmarshal([]byte(call(f)), &w); err != nil {
		t.Fatalf("writer reply: %v", err)
	}
	return w.Question
}

// verifierUser renders a verifier request with the qa package's layout.
func verifierUser(question string, docs []chainDoc) string {
	vd := make([]verify.Doc, len(docs))
	for i, d := range docs {
		vd[i] = verify.Doc{Title: d.title, Categories: d.cats, Text: d.text}
	}
	return "Which of the documents below does the question ask for?\n\n" + verify.Prompt(question, vd)
}

func askVerifier(t *testing.T, s *Server, question string, docs []chainDoc) []string {
	t.Helper()
	reply, err := client(s, llm.RoleVerifier).Chat(t.Context(), openai.ChatCompletionRequest{
		Model: "oracle",
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: "List the documents the question asks for."},
			{Role: openai.ChatMessageRoleUser, Content: verifierUser(question, docs)},
		},
	})
	if err != nil {
		t.Fatalf("verifier: %v", err)
	}
	var r verify.Reply
	if err := json.Unmarshal([]byte(reply.Message.Content), &r); err != nil {
		t.Fatalf("verifier reply %q: %v", reply.Message.Content, err)
	}
	return r.Answers
}

func without(docs []chainDoc, i int) []chainDoc {
	return slices.Delete(slices.Clone(docs), i, i+1)
}

func TestVerifierResolvesChain(t *testing.T) {
	s := startOracle(t, Config{})
	docs, evidence := astronomyChain()
	for _, passes := range []bool{false, true} {
		name := "single pass"
		if passes {
			name = "three passes"
		}
		t.Run(name, func(t *testing.T) {
			q := writeQuestion(t, s, docs, evidence, "", passes)
			for _, name := range []string{"Prague", "Kepler", "Tycho"} {
				if strings.Contains(q, name) {
					t.Fatalf("question names %s: %s", name, q)
				}
			}
			tests := []struct {
				name string
				docs []chainDoc
				want []string
			}{
				{"every doc: exactly the gold", docs, []string{"Prague"}},
				{"bridge hidden: no answer", without(docs, 1), nil},
				// The last clause is a sentence of the bridge that names the answer:
				// with the seed hidden its clauses are skipped, and that one still
				// leads a reader to the gold.
				{"first doc hidden: the last hop still leads there", without(docs, 0), []string{"Prague"}},
				{"docs shuffled: still the gold", []chainDoc{docs[2], docs[0], docs[1]}, []string{"Prague"}},
			}
			for _, tc := range tests {
				if got := askVerifier(t, s, q, tc.docs); !slices.Equal(got, tc.want) && len(got)+len(tc.want) > 0 {
					t.Errorf("%s: answers %q, want %q\nquestion: %s", tc.name, got, tc.want, q)
				}
			}
		})
	}
}

func TestVerifierAmbiguousQuestion(t *testing.T) {
	s := startOracle(t, Config{})
	docs, evidence := astronomyChain()
	q := writeQuestion(t, s, docs, evidence, "ambiguous", true)
	if got := askVerifier(t, s, q, docs); len(got) < 2 {
		t.Errorf("ambiguous question %q: answers %q, want several", q, got)
	}
	// Hand-written shapes of the same fault.
	for _, q := range []string{
		"What is the name of a subject categorised as Astronomers?",
		"The first figure was a Danish astronomer known for the most accurate naked-eye observations of his time. " +
			"What is the name of a subject that the first figure leads to, directly or through another subject?",
	} {
		if got := askVerifier(t, s, q, docs); len(got) < 2 {
			t.Errorf("%q: answers %q, want several", q, got)
		}
	}
}

func TestResolveQuestionEdgeCases(t *testing.T) {
	docs, _ := astronomyChain()
	vd := make([]verify.Doc, len(docs))
	for i, d := range docs {
		vd[i] = verify.Doc{Title: d.title, Categories: d.cats, Text: d.text}
	}
	tests := []struct {
		name, q string
		want    []string
	}{
		{"no documents", "Anything?", nil},
		{"clue matching nothing", "A violinist was born in a harbour town in the 1930s. What is the name of the second subject?", nil},
		{"ask by category only", "What is the name of the place categorised as Capitals in Europe?", []string{"Prague"}},
	}
	for _, tc := range tests {
		in := vd
		if tc.name == "no documents" {
			in = nil
		}
		if got := resolveQuestion(tc.q, in); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func closedBook(t *testing.T, s *Server, question string, seed int) string {
	t.Helper()
	reply, err := client(s, llm.RoleClosedBook).Chat(t.Context(), openai.ChatCompletionRequest{
		Model: "oracle",
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: `Answer from memory in \boxed{}.`},
			{Role: openai.ChatMessageRoleUser, Content: question},
		},
		Seed: &seed,
	})
	if err != nil {
		t.Fatalf("closed book: %v", err)
	}
	return reply.Message.Content
}

func TestClosedBookMemory(t *testing.T) {
	docs, evidence := astronomyChain()
	mem := NewLeadMemory()
	for _, d := range docs {
		mem.Add(d.title, lead(d))
	}
	s := startOracle(t, Config{Memory: mem})
	forgetful := startOracle(t, Config{})

	leaky := writeQuestion(t, s, docs, evidence, "closed_book", true)
	normal := writeQuestion(t, s, docs, evidence, "", true)
	tests := []struct {
		name   string
		srv    *Server
		q      string
		answer string
	}{
		{"plain lead description is recalled", s, leaky, "Prague"},
		{"lead quoted verbatim is recalled", s, "Prague is the capital and largest city of the Czech Republic, lying on the Vltava river. Which city?", "Prague"},
		{"obfuscated question is unknown", s, normal, "unknown"},
		{"no memory: unknown", forgetful, leaky, "unknown"},
	}
	for _, tc := range tests {
		for seed := range 3 {
			if got := closedBook(t, tc.srv, tc.q, seed); got != `\boxed{`+tc.answer+`}` {
				t.Errorf("%s (seed %d): %q, want \\boxed{%s}\nquestion: %s", tc.name, seed, got, tc.answer, tc.q)
			}
		}
	}
}

func TestLeadMemoryKeys(t *testing.T) {
	m := NewLeadMemory()
	m.Add("Paris", "Paris is a city.") // too short to be remembered
	m.Add("", "A lead without a title is never recalled by anyone at all.")
	if m.Len() != 0 {
		t.Errorf("memory kept %d keys of unusable leads", m.Len())
	}
	m.Add("Elbe", "The Elbe (Czech: Labe) is one of the major rivers of Central Europe, about 1,094 kilometres long.")
	m.Add("Elbe", "The Elbe (Czech: Labe) is one of the major rivers of Central Europe, about 1,094 kilometres long.")
	for q, want := range map[string]string{
		"A place categorised as Rivers of Germany is one of the major rivers of Central Europe. Which?": "Elbe",
		"It is one of the major rivers of a continent.":                                                 "",
	} {
		if got, _ := m.Recall(q); got != want {
			t.Errorf("Recall(%q) = %q, want %q", q, got, want)
		}
	}
}
