package oracle

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/qa/writer"
)

// curieWithInfobox is the curie walk with infobox entries on its docs.
func curieWithInfobox() writer.PassRequest {
	f := walkExamples()["curie"]
	f.Docs[0].Infobox = []kg.Fact{
		{Key: "image", Value: "Marie Curie c1920.jpg"},
		{Key: "known_for", Value: "Radioactivity"},
		{Key: "birth_name", Value: "Maria Salomea Skłodowska"},
		{Key: "birth_date", Value: "7 November 1867"},
	}
	f.Docs[2].Infobox = []kg.Fact{
		{Key: "length", Value: "1,047 km"},
		{Key: "source", Value: "Barania Góra"},
	}
	return f
}

func TestExtractFacts(t *testing.T) {
	f := curieWithInfobox()
	got := extractFacts(f)
	want := []writer.Fact{
		{Doc: 0, Kind: writer.FactDescription, Text: f.Docs[0].Description},
		{Doc: 0, Kind: writer.FactEvidence, Text: f.Evidence[0]},
		{Doc: 0, Kind: writer.FactInfobox, Text: "The birth date of Marie Curie is 7 November 1867."},
		{Doc: 0, Kind: writer.FactInfobox, Text: "The known for of Marie Curie is Radioactivity."},
		{Doc: 1, Kind: writer.FactDescription, Text: f.Docs[1].Description},
		{Doc: 1, Kind: writer.FactEvidence, Text: f.Evidence[1]},
		{Doc: 2, Kind: writer.FactDescription, Text: f.Docs[2].Description},
		{Doc: 2, Kind: writer.FactInfobox, Text: "The length of Vistula is 1,047 km."},
		{Doc: 2, Kind: writer.FactInfobox, Text: "The source of Vistula is Barania Góra."},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("facts:\n got %+v\nwant %+v", got, want)
	}
}

func TestExtractFactsLeadIsEvidence(t *testing.T) {
	// The seed's lead sentence is also its link to the next doc: one fact,
	// kept as evidence since that is the hop.
	f := walkExamples()["paris texas"]
	f.Docs[0].Description = f.Evidence[0]
	got := extractFacts(f)
	if got[0] != (writer.Fact{Doc: 0, Kind: writer.FactEvidence, Text: f.Evidence[0]}) || got[1].Doc != 1 {
		t.Errorf("facts = %+v", got)
	}
}

func TestObfuscateFacts(t *testing.T) {
	f := curieWithInfobox()
	f.Facts = extractFacts(f)
	got := obfuscateFacts(f)
	if len(got) != len(f.Facts) {
		t.Fatalf("%d facts out for %d in: %+v", len(got), len(f.Facts), got)
	}
	tests := []struct {
		i    int
		want string
	}{
		{1, "The first figure's family lived in a place categorised as Cities in Poland, where she was born in the autumn of the 1860s."},
		{2, "The birth date of the first figure is the autumn of the 1860s."},
		{7, "The length of the place categorised as Rivers of Poland is about 1 thousand km."},
	}
	for _, tc := range tests {
		if got[tc.i].Text != tc.want || got[tc.i].Doc != f.Facts[tc.i].Doc || got[tc.i].Kind != f.Facts[tc.i].Kind {
			t.Errorf("fact %d = %+v, want text %q", tc.i, got[tc.i], tc.want)
		}
	}
	for _, g := range got {
		if l := leaks(g.Text, f); len(l) > 0 {
			t.Errorf("obfuscated fact names %q: %q", l, g.Text)
		}
	}
}

func TestBlurNumbers(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2,873,000 people", "about 3 million people"},
		{"1,047 km", "about 1 thousand km"},
		{"15,400 seats", "about 20 thousand seats"},
		{"250 members", "several hundred members"},
		{"42 games", "several dozen games"},
		{"about 1,047 km, nearly 2,000 m", "about 1 thousand km, nearly 2 thousand m"},
		{"in the 1860s and the 19th century, 7 days", "in the 1860s and the 19th century, 7 days"},
	}
	for _, tc := range tests {
		if got := blurNumbers(tc.in); got != tc.want {
			t.Errorf("blurNumbers(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// composeInput runs the oracle's facts and obfuscation passes on f and
// returns f as a compose request with inject.
func composeInput(f writer.PassRequest, inject string) writer.PassRequest {
	f.Facts = extractFacts(f)
	c := f
	c.Constraints = obfuscateFacts(f)
	c.Facts = nil
	c.Pass, c.Inject = writer.PassCompose, inject
	for i := range c.Docs {
		c.Docs[i].Infobox = nil
	}
	return c
}

func TestComposeInject(t *testing.T) {
	const copied = "Which river flows through the capital of Poland?"
	tests := []struct {
		inject string
		check  func(t *testing.T, q, plain string)
	}{
		{"", func(t *testing.T, q, _ string) {
			for _, want := range []string{"The first figure was a Polish", "autumn of the 1860s",
				"What is the name of the place categorised as Rivers of Poland?"} {
				if !strings.Contains(q, want) {
					t.Errorf("question lacks %q:\n%s", want, q)
				}
			}
		}},
		{"leak", func(t *testing.T, q, plain string) {
			if q != plain+" (The answer is Vistula.)" {
				t.Errorf("leak question %q", q)
			}
		}},
		{"ambiguous", func(t *testing.T, q, _ string) {
			// No category is shared by two docs of the curie walk, so the
			// question asks for any doc the seed leads to.
			if !strings.HasSuffix(q, "What is the name of a subject that the first figure leads to, directly or through another subject?") {
				t.Errorf("ambiguous question %q", q)
			}
		}},
		{"closed_book", func(t *testing.T, q, _ string) {
			if q != "A place categorised as Rivers of Poland is the longest river in Poland. What is the name of the place categorised as Rivers of Poland?" {
				t.Errorf("closed-book question %q", q)
			}
		}},
		{"duplicate:" + copied, func(t *testing.T, q, _ string) {
			if q != "Which river flows through the capital of Poland exactly?" {
				t.Errorf("duplicate question %q", q)
			}
		}},
		{"contaminated:" + copied, func(t *testing.T, q, _ string) {
			if q != copied {
				t.Errorf("contaminated question %q", q)
			}
		}},
		{"unknown-kind", func(t *testing.T, q, plain string) {
			if q != plain {
				t.Errorf("unknown instruction changed the question: %q", q)
			}
		}},
	}
	plain, _ := composeChain(composeInput(curieWithInfobox(), ""), newObfuscator(curieWithInfobox().Docs, "Vistula"), nil)
	for _, tc := range tests {
		t.Run(tc.inject, func(t *testing.T) {
			f := composeInput(curieWithInfobox(), tc.inject)
			tr, err := composeTurn(f)
			if err != nil {
				t.Fatal(err)
			}
			var out writer.QuestionReply
			if err := json.Unmarshal([]byte(tr.content), &out); err != nil {
				t.Fatal(err)
			}
			if out.Answer != "Vistula" {
				t.Errorf("answer = %q", out.Answer)
			}
			tc.check(t, out.Question, plain)
		})
	}
}

func TestAmbiguousSharedCategory(t *testing.T) {
	f := walkExamples()["curie"]
	f.Docs[1].Categories = append(f.Docs[1].Categories, "Landmarks of Mazovia")
	f.Docs[2].Categories = append(f.Docs[2].Categories, "Landmarks of Mazovia")
	got := ambiguousQuestion(f, newObfuscator(f.Docs, f.Answer))
	if got != "What is the name of a subject categorised as Landmarks of Mazovia?" {
		t.Errorf("ambiguous question %q", got)
	}
}

func TestWriterPassesOverHTTP(t *testing.T) {
	s := startOracle(t, Config{})
	c := client(s, llm.RoleWriter)
	send := func(f writer.PassRequest) string {
		t.Helper()
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := c.Chat(t.Context(), openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{
			{Role: "user", Content: "Do the pass.\n\n```json\n" + string(b) + "\n```"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		return rep.Message.Content
	}
	f := curieWithInfobox()
	f.Pass = writer.PassFacts
	var facts writer.FactsReply
	if err := json.Unmarshal([]byte(send(f)), &facts); err != nil || len(facts.Facts) != 9 {
		t.Fatalf("facts reply: %+v, %v", facts, err)
	}
	f.Pass, f.Facts = writer.PassObfuscate, facts.Facts
	var hidden writer.FactsReply
	if err := json.Unmarshal([]byte(send(f)), &hidden); err != nil || len(hidden.Facts) != 9 {
		t.Fatalf("obfuscate reply: %+v, %v", hidden, err)
	}
	f.Pass, f.Facts, f.Constraints = writer.PassCompose, nil, hidden.Facts
	var out writer.QuestionReply
	if err := json.Unmarshal([]byte(send(f)), &out); err != nil || out.Answer != "Vistula" || out.Question == "" {
		t.Fatalf("compose reply: %+v, %v", out, err)
	}
	if l := leaks(out.Question, f); len(l) > 0 {
		t.Errorf("question names %q: %s", l, out.Question)
	}
	f.Pass = "brainstorm"
	b, _ := json.Marshal(f)
	if _, err := c.Chat(t.Context(), openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{
		{Role: "user", Content: "```json\n" + string(b) + "\n```"},
	}}); err == nil {
		t.Error("unknown pass: want an error")
	}
}
