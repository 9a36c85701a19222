package verify

import (
	"reflect"
	"testing"
)

func TestVerifierPromptRoundTrip(t *testing.T) {
	docs := []Doc{
		{Title: "A (x)", Categories: []string{"c1", "c2"}, Aliases: []string{"Ay"}, Text: "line one\n\nline two"},
		{Title: "B", Text: "text B\nCategories: not a header here"},
		// A page may carry headings named like the prompt's own.
		{Title: "C", Text: "## Question\n### not a doc either"},
	}
	msg := "Which of the documents below does the question ask for?\n\n" + Prompt("Which one?", docs)
	q, got, ok := ReadPrompt(msg)
	if !ok || q != "Which one?" {
		t.Fatalf("question %q, %v", q, ok)
	}
	want := []Doc{
		docs[0], docs[1],
		{Title: "C", Text: "## Question"},
		{Title: "not a doc either"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("docs = %+v\nwant %+v", got, want)
	}
}

func TestReadVerifierPromptRejects(t *testing.T) {
	for _, msg := range []string{"", "just a question?", "## Documents\n### A\ntext"} {
		if _, _, ok := ReadPrompt(msg); ok {
			t.Errorf("ReadPrompt(%q) ok", msg)
		}
	}
}
