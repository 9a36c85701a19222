package oracle

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/qa/writer"
)

// walkExamples are hand-made walk facts with the traps the writer must
// handle: accents, possessives, surnames, commas and parentheses in titles,
// titles inside other titles and inside categories, every date format.
func walkExamples() map[string]writer.PassRequest {
	return map[string]writer.PassRequest{
		"curie": {
			Docs: []writer.PassDoc{
				{
					Title: "Marie Curie",
					Description: "Marie Curie (born Maria Salomea Skłodowska; 7 November 1867 – 4 July 1934) was a Polish and " +
						"naturalised-French physicist and chemist who conducted pioneering research on radioactivity.",
					Categories: []string{"1867 births", "Polish physicists"},
				},
				{Title: "Warsaw", Description: "Warsaw is the capital and largest city of Poland.", Categories: []string{"Cities in Poland", "Capitals in Europe"}},
				{Title: "Vistula", Description: "The Vistula is the longest river in Poland.", Categories: []string{"Rivers of Poland"}},
			},
			Evidence: []string{
				"Curie's family lived in Warsaw, where she was born on 7 November 1867.",
				"Warsaw lies on the Vistula River in east-central Poland.",
			},
			Answer: "Vistula",
		},
		"paris texas": {
			Docs: []writer.PassDoc{
				{Title: "Paris, Texas", Description: "Paris is a city in and the county seat of Lamar County, Texas, United States.", Categories: []string{"Cities in Texas", "County seats in Texas"}},
				{Title: "Lamar County, Texas", Description: "Lamar County is a county located in the U.S. state of Texas.", Categories: []string{"Texas counties"}},
				{Title: "Texas", Description: "Texas is a state in the South Central region of the United States.", Categories: []string{"States of the United States"}},
			},
			Evidence: []string{
				"Paris is the county seat of Lamar County, Texas.",
				"Lamar County was formed in 1840 from Red River County in the Republic of Texas.",
			},
			Answer: "Texas",
		},
		"beatles": {
			Docs: []writer.PassDoc{
				{Title: "The Beatles", Description: "The Beatles were an English rock band formed in Liverpool in 1960.", Categories: []string{"Musical groups established in 1960"}},
				{Title: "Liverpool", Description: "Liverpool is a port city in North West England.", Categories: []string{"Port cities and towns in England"}},
				{Title: "River Mersey", Description: "The River Mersey is a river in North West England.", Categories: []string{"Rivers of Merseyside"}},
			},
			Evidence: []string{
				"Beatles members grew up in Liverpool during the 1950s.",
				"Liverpool stands on the eastern side of the estuary of the River Mersey.",
			},
			Answer: "River Mersey",
		},
		"einstein": {
			Docs: []writer.PassDoc{
				{Title: "Albert Einstein", Description: "Albert Einstein (14 March 1879 – 18 April 1955) was a German-born theoretical physicist.", Categories: []string{"1879 births", "German physicists"}},
				{Title: "Ulm", Description: "Ulm is a city in the German state of Baden-Württemberg.", Categories: []string{"Cities in Baden-Württemberg"}},
				{Title: "Mercury (planet)", Description: "Mercury is the smallest planet in the Solar System.", Categories: []string{"Planets of the Solar System"}},
			},
			Evidence: []string{
				"Einstein was born in Ulm on March 14, 1879, in the 19th century.",
				"Ulm's observatory, founded 1881–1885, tracked Mercury's transit.",
			},
			Answer: "Mercury (planet)",
		},
		"accents": {
			Docs: []writer.PassDoc{
				{Title: "Łódź", Description: "Łódź is the third-largest city in Poland.", Categories: []string{"Cities in Łódź Voivodeship"}},
				{Title: "Andrzej Wajda", Description: "Andrzej Wajda (6 March 1926 – 9 October 2016) was a Polish film director.", Categories: []string{"1926 births"}},
			},
			Evidence: []string{"The film school of Lodz trained Andrzej Wajda in 1953."},
			Answer:   "Andrzej Wajda",
		},
	}
}

// titleNames are the names a question must not contain for f: every title,
// the answer, and the forms the leak gate also looks for.
func titleNames(f writer.PassRequest) []string {
	var out []string
	for i, d := range f.Docs {
		out = append(out, nameVariants(d.Title, docKind(f.Docs[i]) == kindPerson)...)
	}
	return append(out, f.Answer)
}

// leaks reports the names of f that question contains, as whole words
// (case, accents and punctuation ignored, like the leak gate) or as plain
// case-insensitive substrings of the full titles.
func leaks(question string, f writer.PassRequest) []string {
	var out []string
	q := " " + strings.Join(tokens(question), " ") + " "
	for _, n := range titleNames(f) {
		if strings.Contains(q, " "+strings.Join(tokens(n), " ")+" ") {
			out = append(out, n)
		}
	}
	for _, d := range f.Docs {
		if strings.Contains(strings.ToLower(question), strings.ToLower(d.Title)) {
			out = append(out, d.Title)
		}
	}
	return out
}

var reLiteralYear = regexp.MustCompile(`\b1\d{3}\b|\b20\d{2}\b`)

func TestComposeQuestionHidesNames(t *testing.T) {
	for name, f := range walkExamples() {
		t.Run(name, func(t *testing.T) {
			q, answer, err := composeQuestion(f)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("question: %s", q)
			if answer != f.Answer {
				t.Errorf("answer %q, want %q", answer, f.Answer)
			}
			if l := leaks(q, f); len(l) > 0 {
				t.Errorf("question names %q:\n%s", l, q)
			}
			if y := reLiteralYear.FindString(q); y != "" {
				t.Errorf("question keeps the literal year %s:\n%s", y, q)
			}
			if n := utf8.RuneCountInString(q); n > maxQuestionRunes {
				t.Errorf("question has %d runes, want at most %d", n, maxQuestionRunes)
			}
			if !strings.HasSuffix(q, "?") {
				t.Errorf("question does not end with a question mark: %s", q)
			}
		})
	}
}

func TestComposeQuestionText(t *testing.T) {
	ex := walkExamples()
	tests := []struct {
		example string
		want    []string
	}{
		{"curie", []string{
			"The first figure was a Polish and naturalised-French physicist",
			"The first figure's family lived in a place categorised as Cities in Poland, where she was born in the autumn of the 1860s.",
			// Second mentions turn definite; "Vistula River" is one name.
			"The place categorised as Cities in Poland lies on a place categorised as Rivers of Poland in east-central Poland.",
			"What is the name of the place categorised as Rivers of Poland?",
		}},
		// Both categories of Paris name Texas, so Paris gets a positional
		// placeholder.
		{"paris texas", []string{"The first place is a city", "The second place was formed in the 1840s"}},
		{"beatles", []string{"formed in a place categorised as Port cities and towns in England in the 1960s."}},
		{"einstein", []string{"in the spring of the 1870s, in the 19th century", "founded the 1880s", "The place categorised as Cities in Baden-Württemberg's observatory"}},
		// Łódź's only category names it, so it gets a positional placeholder;
		// the unaccented "Lodz" of the evidence is still recognised.
		{"accents", []string{"The film school of the first place trained the second figure in the 1950s."}},
	}
	for _, tc := range tests {
		q, _, err := composeQuestion(ex[tc.example])
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(q, w) {
				t.Errorf("%s: question lacks %q:\n%s", tc.example, w, q)
			}
		}
	}
}

func TestComposeQuestionLongWalk(t *testing.T) {
	long := strings.Repeat("It is known for a great many things that are described at length here. ", 6)
	var f writer.PassRequest
	titles := []string{"Alpha Centre", "Bravo Works", "Charlie Hall", "Delta Yard", "Echo Forge", "Foxtrot Mill", "Golf Tower"}
	for i, tt := range titles {
		f.Docs = append(f.Docs, writer.PassDoc{Title: tt, Description: tt + " is a building. " + long})
		if i > 0 {
			f.Evidence = append(f.Evidence, titles[i-1]+" sends its goods to "+tt+" every week, "+long)
		}
	}
	f.Answer = titles[len(titles)-1]
	q, _, err := composeQuestion(f)
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(q); n > maxQuestionRunes+50 {
		t.Errorf("question has %d runes, want about %d at most:\n%s", n, maxQuestionRunes, q)
	}
	if l := leaks(q, f); len(l) > 0 {
		t.Errorf("question names %q:\n%s", l, q)
	}
	if !strings.HasSuffix(q, "What is the name of the seventh subject?") {
		t.Errorf("question lost its ask:\n%s", q)
	}
}

// TestWriterOverHTTP runs the writer role through the production client with
// a request shaped like the question writer's.
func TestWriterOverHTTP(t *testing.T) {
	s := startOracle(t, Config{})
	c := client(s, llm.RoleWriter)
	for _, inject := range []string{"", "leak"} {
		f := walkExamples()["curie"]
		f.Inject = inject
		facts, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := c.Chat(t.Context(), openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{
			{Role: "system", Content: "You write research questions."},
			{Role: "user", Content: "Write the question for the chain below.\n\n```json\n" + string(facts) + "\n```"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Question, Answer string }
		if err := json.Unmarshal([]byte(rep.Message.Content), &out); err != nil {
			t.Fatalf("writer reply is not JSON: %q: %v", rep.Message.Content, err)
		}
		if out.Answer != "Vistula" || out.Question == "" {
			t.Errorf("writer reply %+v", out)
		}
		leaked := strings.Contains(out.Question, "Vistula")
		if leaked != (inject == "leak") {
			t.Errorf("inject %q: answer in question = %v:\n%s", inject, leaked, out.Question)
		}
	}
}

func TestReadWalkFacts(t *testing.T) {
	facts := `{"docs":[{"title":"A","description":"A is x.","categories":[]}],"evidence":[],"answer":"A"}`
	tests := []struct {
		name    string
		content string
		wantErr bool
	}{
		{"fenced", "Write it.\n\n```json\n" + facts + "\n```", false},
		{"last fence wins", "Example:\n```json\n{\"docs\":[]}\n```\nNow:\n```json\n" + facts + "\n```", false},
		{"unclosed fence", "```json\n" + facts, false},
		{"bare object", "Facts: " + facts, false},
		{"no docs", "```json\n{\"docs\":[],\"answer\":\"A\"}\n```", true},
		{"no JSON", "write something", true},
	}
	for _, tc := range tests {
		req := &openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{{Role: "user", Content: tc.content}}}
		f, err := readWalkFacts(req)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err %v, wantErr %v", tc.name, err, tc.wantErr)
		}
		if err == nil && (len(f.Docs) != 1 || f.Answer != "A") {
			t.Errorf("%s: facts %+v", tc.name, f)
		}
	}
}
