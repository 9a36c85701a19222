package verify

import (
	"strings"

	"github.com/miroverse/miroverse/internal/text"
)

// The verifier's prompt layout: the gates write it and any verifier model,
// the built-in oracle included, reads it, so both sides are here.
const (
	verifierQuestion  = "## Question"
	verifierDocuments = "## Documents" // each document opened by a "### " heading with its title
	categoriesPrefix  = "Categories:"
	aliasesPrefix     = "Also known as:"
)

// Doc is one document as the verifier sees it.
type Doc struct {
	Title      string
	Categories []string
	Aliases    []string // redirect titles: other names of the doc
	Text       string
}

// Reply is the JSON a verifier answers with: the titles of every document
// the question fits.
type Reply struct {
	Answers []string `json:"answers"`
}

// Prompt lays out the question and the documents, in the given order, as
// the verifier reads them.
func Prompt(question string, docs []Doc) string {
	var b strings.Builder
	b.WriteString(verifierQuestion + "\n" + question + "\n\n" + verifierDocuments + "\n")
	for _, d := range docs {
		b.WriteString("\n### " + d.Title + "\n")
		if len(d.Categories) > 0 {
			b.WriteString(categoriesPrefix + " " + strings.Join(d.Categories, "; ") + "\n")
		}
		if len(d.Aliases) > 0 {
			b.WriteString(aliasesPrefix + " " + strings.Join(d.Aliases, "; ") + "\n")
		}
		b.WriteString(d.Text + "\n")
	}
	return b.String()
}

// ReadPrompt is the reading side of Prompt, for a message that holds one
// (instructions may precede it). ok is false when the message has no
// question section. A document starts with its "### " line, may have a
// categories and an aliases line, and its text runs to the next "### " line.
func ReadPrompt(msg string) (question string, docs []Doc, ok bool) {
	sec := text.Sections(msg, verifierQuestion, verifierDocuments)
	question = strings.TrimSpace(sec[verifierQuestion])
	if question == "" {
		return "", nil, false
	}
	var cur *Doc
	var body []string
	flush := func() {
		if cur != nil {
			cur.Text = strings.TrimSpace(strings.Join(body, "\n"))
			docs = append(docs, *cur)
		}
	}
	for line := range strings.SplitSeq(sec[verifierDocuments], "\n") {
		t := strings.TrimSpace(line)
		if title, ok := strings.CutPrefix(t, "### "); ok {
			flush()
			cur, body = &Doc{Title: strings.TrimSpace(title)}, nil
			continue
		}
		if cur == nil {
			continue
		}
		if rest, ok := strings.CutPrefix(t, categoriesPrefix); ok && len(body) == 0 && cur.Categories == nil {
			cur.Categories = splitList(rest)
			continue
		}
		if rest, ok := strings.CutPrefix(t, aliasesPrefix); ok && len(body) == 0 && cur.Aliases == nil {
			cur.Aliases = splitList(rest)
			continue
		}
		body = append(body, line)
	}
	flush()
	return question, docs, true
}

// splitList splits a header line's value on semicolons.
func splitList(s string) []string {
	out := []string{}
	for c := range strings.SplitSeq(s, ";") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}
