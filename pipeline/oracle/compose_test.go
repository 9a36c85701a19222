package oracle

import (
	"slices"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/internal/text"
	"github.com/miroverse/miroverse/qa/verify"
	"github.com/miroverse/miroverse/qa/writer"
)

// The audit's findings on the demo questions, each as a case the composer
// must not reproduce.

func auditObfuscator() *obfuscator {
	docs := []writer.PassDoc{
		{Title: "Antonín Dvořák", Description: "Antonín Leopold Dvořák (8 September 1841 – 1 May 1904) was a Czech composer.", Categories: []string{"1841 births", "Czech composers"}},
		{Title: "Marie Curie", Description: "Marie Curie was a physicist.", Categories: []string{"1867 births"}},
		{Title: "Prague", Description: "Prague is the capital of the Czech Republic.", Categories: []string{"Capitals in Europe"}},
	}
	return newObfuscator(docs, "Prague")
}

func TestHideNameParts(t *testing.T) {
	tests := []struct {
		name, in string
		doc      int
		want     string
	}{
		{"given names before a hidden surname in the person's own lead",
			"Antonín Leopold Dvořák was a Czech composer.", 0, "the first figure was a Czech composer."},
		{"a namesake, not the person",
			"Marie Curie and Pierre Curie discovered polonium in Prague.", 2,
			"The second figure and a namesake of the second figure discovered polonium in a place categorised as Capitals in Europe."},
		{"a part of a title on its own",
			"The Antonín Quartet played in Vienna.", 2, "A namesake of the first figure played in Vienna."},
		{"a title word with one letter changed",
			"The composer Dvorzak toured America.", 2, "The composer a namesake of the first figure toured America."},
		{"other names stay", "In Vienna the first figure met Brahms.", 0, "In Vienna the first figure met Brahms."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := auditObfuscator()
			got := o.hideParts(o.names.replace(tt.in, nil), tt.doc)
			if got != tt.want {
				t.Errorf("hideParts(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for _, part := range []string{"antonin", "leopold", "dvorak", "dvorzak", "pierre", "curie", "prague"} {
				if slices.Contains(tokens(got), part) {
					t.Errorf("%q keeps %q", got, part)
				}
			}
		})
	}
}

func TestUnclip(t *testing.T) {
	tests := []struct{ in, want string }{
		{"X is a landlocked country in Central Europe, a federal republic of nine states whose capital…", "X is a landlocked country in Central Europe."},
		{"X, also known as Czechia, is a landlocked country in Central…", ""}, // no whole clause with a verb is left
		{"X is a city…", ""},
		{"X is a city in Poland.", "X is a city in Poland."},
	}
	for _, tt := range tests {
		if got := unclip(tt.in); got != tt.want {
			t.Errorf("unclip(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLooksEnglish(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"The first figure was a Czech composer of the Romantic era.", true},
		{"Accra yɛ Ghana ahenkuro na ɛyɛ kuro kɛse wɔ ɔman no mu.", false},
		{"Capitals in Africa", true}, // too short to judge: a category, not a sentence
	}
	for _, tt := range tests {
		if got := looksEnglish(tt.in); got != tt.want {
			t.Errorf("looksEnglish(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// chainRequest runs the oracle's facts and obfuscation passes over docs, as
// the writer would, and returns the compose request.
func chainRequest(docs []chainDoc, evidence []string, inject string) writer.PassRequest {
	f := writer.PassRequest{Evidence: evidence, Answer: docs[len(docs)-1].title}
	for _, d := range docs {
		f.Docs = append(f.Docs, writer.PassDoc{Title: d.title, Description: lead(d), Categories: d.cats})
	}
	return composeInput(f, inject)
}

// checkChainShape asserts what every composed question must be: no clipped
// clause, clauses that are substrings in order with the ask last, the
// answer's placeholder introduced before the ask, no word of a walk title.
func checkChainShape(t *testing.T, q string, clauses []string, titles []string) {
	t.Helper()
	if strings.Contains(q, "…") || strings.Contains(q, "...") {
		t.Errorf("clipped clause in %q", q)
	}
	off := 0
	for _, c := range clauses {
		i := strings.Index(q[off:], c)
		if i < 0 {
			t.Fatalf("clause %q is not in the question after offset %d: %q", c, off, q)
		}
		off += i + len(c)
	}
	if len(clauses) < 2 || !strings.HasSuffix(clauses[len(clauses)-1], "?") || off != len(q) {
		t.Fatalf("clauses %q do not end with the question's ask", clauses)
	}
	ask := clauses[len(clauses)-1]
	target := strings.TrimSuffix(strings.TrimPrefix(ask, "What is the name of "), "?")
	if !slices.ContainsFunc(clauses[:len(clauses)-1], func(c string) bool { return containsFold(c, labelCore(target)) }) {
		t.Errorf("the ask's %q is introduced by no clause of %q", target, q)
	}
	for _, title := range titles {
		for _, part := range tokens(title) {
			if len(part) >= 4 && slices.Contains(tokens(q), part) {
				t.Errorf("question keeps %q of %q: %s", part, title, q)
			}
		}
	}
}

func TestComposeChainShape(t *testing.T) {
	docs, evidence := astronomyChain()
	var titles []string
	for _, d := range docs {
		titles = append(titles, d.title)
	}
	f := chainRequest(docs, evidence, "")
	q, clauses := composeChain(f, newObfuscator(f.Docs, f.Answer), nil)
	checkChainShape(t, q, clauses, titles)
	// One clause per constraint the chain needs: the seed's lead and two hops.
	if len(clauses) != 4 {
		t.Errorf("%d clauses %q, want the lead, two hops and the ask", len(clauses), clauses)
	}
}

// fanteChain is a two-hop walk in Fante: its sentences must not be pasted
// into the English question.
func fanteChain() ([]chainDoc, []string) {
	docs := []chainDoc{
		{"Kwame Nkrumah", []string{"Ghana amammuifo"}, "Kwame Nkrumah nye Ghana aban panyin a odzi kan wɔ ɔman no mu.\n\nƆwɔ ne nkwa mu no ɔtsenaa Accra."},
		{"Accra", []string{"Ahenkuro wɔ Afrika"}, "Accra yɛ Ghana ahenkuro na ɛyɛ kuro kɛse wɔ ɔman no mu.\n\nAccra wɔ Gulf of Guinea ano."},
		{"Gulf of Guinea", []string{"Ɛpo wɔ Afrika"}, "Gulf of Guinea yɛ ɛpo kɛse bi wɔ Afrika atɔe fam."},
	}
	return docs, []string{"Ɔwɔ ne nkwa mu no ɔtsenaa Accra.", "Accra wɔ Gulf of Guinea ano."}
}

func TestComposeChainFanteInEnglish(t *testing.T) {
	docs, evidence := fanteChain()
	f := chainRequest(docs, evidence, "")
	q, clauses := composeChain(f, newObfuscator(f.Docs, f.Answer), nil)
	checkChainShape(t, q, clauses, []string{"Kwame Nkrumah", "Accra", "Gulf of Guinea"})
	// Outside its short quotations the question is English.
	unquoted := reQuote.ReplaceAllStringFunc(q, func(m string) string {
		if n := len(tokens(m)); n > quoteWords {
			t.Errorf("quotation %s has %d words, more than a few", m, n)
		}
		return `""`
	})
	for _, w := range []string{"yɛ", "wɔ", "ɔman", "ahenkuro", "ɔtsenaa", "nye"} {
		if slices.Contains(tokens(unquoted), text.Fold(w)) {
			t.Errorf("question pastes the Fante word %q: %s", w, q)
		}
	}
	if !strings.Contains(q, "mentions a second subject") {
		t.Errorf("no English stand-in for the hops: %s", q)
	}
	// The stand-ins still resolve: all docs give the answer, the bridge
	// hidden gives none.
	vd := verifyDocs(docs)
	if got := resolveQuestion(q, vd); !slices.Equal(got, []string{"Gulf of Guinea"}) {
		t.Errorf("all docs: %q, want the gold\nquestion: %s", got, q)
	}
	if got := resolveQuestion(q, slices.Delete(slices.Clone(vd), 1, 2)); len(got) != 0 {
		t.Errorf("bridge hidden: %q, want none\nquestion: %s", got, q)
	}
}

func verifyDocs(docs []chainDoc) []verify.Doc {
	out := make([]verify.Doc, len(docs))
	for i, d := range docs {
		out[i] = verify.Doc{Title: d.title, Categories: d.cats, Text: d.text}
	}
	return out
}

// The masked-hop gate's contract with the oracle verifier: with the bridge
// hidden, a chain question has no answer, and the same question with a
// standalone fact of the answer as its last clause still has the gold.
func TestVerifierShortcutSurvivesHiddenBridge(t *testing.T) {
	docs, evidence := astronomyChain()
	docs[2].text += "\n\nThe capital date of Prague is 1992." // an infobox-like line the shortcut can quote
	vd := verifyDocs(docs)
	masked := slices.Delete(slices.Clone(vd), 1, 2)

	chain := chainRequest(docs, evidence, "")
	chainQ, _ := composeChain(chain, newObfuscator(chain.Docs, chain.Answer), nil)
	short := chainRequest(docs, evidence, writer.InjectShortcut)
	shortQ, shortClauses := composeChain(short, newObfuscator(short.Docs, short.Answer), shortcutClause(short))
	if shortQ == chainQ || len(shortClauses) < 2 {
		t.Fatalf("shortcut question %q adds nothing to %q", shortQ, chainQ)
	}
	// By hand: the audit's shape, a final clause that is the answer's lead.
	handQ := "The first figure was a Danish astronomer known for the most accurate naked-eye observations of his time. " +
		"The first figure hired the second figure as an assistant at his castle in Benátky. " +
		"The second figure settled in a place categorised as Capitals in Europe, where he succeeded the first figure as imperial mathematician to Rudolf II. " +
		"The place categorised as Capitals in Europe is the capital and largest city of the Czech Republic, lying on the Vltava river. " +
		"What is the name of the place categorised as Capitals in Europe?"
	tests := []struct {
		name, q string
		docs    []verify.Doc
		want    []string
	}{
		{"chain, all docs", chainQ, vd, []string{"Prague"}},
		{"chain, bridge hidden", chainQ, masked, nil},
		{"shortcut, all docs", shortQ, vd, []string{"Prague"}},
		{"shortcut, bridge hidden", shortQ, masked, []string{"Prague"}},
		{"hand-written shortcut, bridge hidden", handQ, masked, []string{"Prague"}},
		{"the bare ask alone", "What is the name of the place categorised as Capitals in Europe?", vd[2:], []string{"Prague"}},
		{"a positional ask alone", "What is the name of the third figure?", vd, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resolveQuestion(tt.q, tt.docs); !slices.Equal(got, tt.want) {
				t.Errorf("answers %q, want %q\nquestion: %s", got, tt.want, tt.q)
			}
		})
	}
}

// The closed-book role decides from the question's text: a lead quoted with
// another walk name swapped for a placeholder is still remembered, an
// obfuscated chain clause is not.
func TestLeadMemoryRecallsByShare(t *testing.T) {
	m := NewLeadMemory()
	m.Add("Vistula", "The Vistula is the longest river in Poland, about 1,047 kilometres long.")
	m.Add("Prague", "Prague is the capital and largest city of the Czech Republic, lying on the Vltava river.")
	tests := []struct{ q, want string }{
		{"The third place is the longest river in the place categorised as Countries in Europe, about 1,047 kilometres long. What is the name of the third place?", "Vistula"},
		{"The second figure settled in a place categorised as Capitals in Europe, where he succeeded the first figure. What is the name of the place categorised as Capitals in Europe?", ""},
		{"A place categorised as Rivers of Poland flows into the Baltic Sea. What is the name of the place?", ""},
	}
	for _, tt := range tests {
		if got, _ := m.Recall(tt.q); got != tt.want {
			t.Errorf("Recall(%q) = %q, want %q", tt.q, got, tt.want)
		}
	}
}

// The composer's English: each entity introduced where it first appears, a
// title before a placeholder moved after it, a place's adjective dropped
// rather than turned into "a namesake of", a place after a possessive put
// after its noun, and no doubled article from a blurred year.
func TestComposedEnglish(t *testing.T) {
	docs := []writer.PassDoc{
		{Title: "Germany", Description: "Germany is a country in Central Europe.", Categories: []string{"Countries in Europe"}},
		{Title: "Paris", Description: "Paris is the capital of France.", Categories: []string{"Capitals in Europe"}},
		{Title: "Austria", Description: "Austria is a country in Central Europe.", Categories: []string{"Member states of the European Union"}},
	}
	tests := []struct {
		name string
		run  func(o *obfuscator, in string) string
		in   string
		want string
	}{
		{"first mention inside a clause is indefinite", func(_ *obfuscator, in string) string { return introduceMentions([]string{in})[0] },
			"Brno is where the third figure carried out his experiments.", "Brno is where a third figure carried out his experiments."},
		{"a title before a placeholder becomes its apposition", func(_ *obfuscator, in string) string { return introduceMentions([]string{in})[0] },
			"The Polish composer the third figure settled in the city.", "The third figure, a Polish composer, settled in the city."},
		{"a title before an apposition already there", func(_ *obfuscator, in string) string { return introduceMentions([]string{in})[0] },
			"Famous Poles include the astronomer the third figure, the composer Chopin.", "Famous Poles include the third figure, an astronomer, the composer Chopin."},
		{"mid-sentence title", func(_ *obfuscator, in string) string { return introduceMentions([]string{in})[0] },
			"Of the city it is recorded that the writer the third figure was born there.", "Of the city it is recorded that the third figure, a writer, was born there."},
		{"a mention that says what it is stays", func(_ *obfuscator, in string) string { return introduceMentions([]string{in})[0] },
			"The first figure was a Danish astronomer, and the second figure, who was his assistant, stayed.", "The first figure was a Danish astronomer, and the second figure, who was his assistant, stayed."},
		{"later mentions keep the article", func(_ *obfuscator, in string) string {
			return strings.Join(introduceMentions([]string{"The city is where the third figure lived.", in}), " ")
		}, "The third figure died there.", "The city is where a third figure lived. The third figure died there."},
		{"a place's adjective in a compound", func(o *obfuscator, in string) string { return o.hideParts(o.names.replace(in, nil), 1) },
			"He was a German-born theoretical physicist.", "He was a theoretical physicist."},
		{"a place's adjective before a noun, the article agreeing", func(o *obfuscator, in string) string { return o.hideParts(o.names.replace(in, nil), 1) },
			"He was an Austrian composer.", "He was a composer."},
		{"a place after a possessive", func(o *obfuscator, in string) string { return o.names.replace(in, o.seen) },
			"They worked in their Paris laboratory in 1898.", "They worked in their laboratory in a place categorised as Capitals in Europe in 1898."},
		{"a blurred year after the", func(_ *obfuscator, in string) string { return obfuscateDates(in) },
			"He shared the 1903 Nobel Prize.", "He shared the 1900s Nobel Prize."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newObfuscator(docs, "Austria")
			if got := tt.run(o, tt.in); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
