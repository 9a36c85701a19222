package web

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// rendered is main text in the documents' markdown-ish form ("## " for
// headings, "- " for list items, paragraphs apart by a blank line) with
// the byte spans of its links' anchors.
type rendered struct {
	text  string
	spans []linkSpan
	// linkBytes counts the anchors' bytes, for the link density.
	linkBytes int
}

type linkSpan struct {
	start, end int
	href       string
}

// render writes the extracted content tree as text. Inline runs are
// joined with single spaces; block elements end the line.
func render(root *html.Node) rendered {
	w := &textWriter{}
	w.node(root)
	w.endBlock()
	text := strings.TrimRight(w.b.String(), "\n ")
	r := rendered{text: text}
	for _, s := range w.spans {
		if s.end <= len(text) && s.start < s.end {
			r.spans = append(r.spans, s)
			r.linkBytes += s.end - s.start
		}
	}
	return r
}

type textWriter struct {
	b       strings.Builder
	spans   []linkSpan
	space   bool // a space is pending before the next word
	inLine  bool // the current line has text
	prefix  string
	inPre   int
	inTable int
	// edge is set when an element began or ended since the last word:
	// trafilatura's tree drops the spaces around inline elements, so a
	// word that follows an element edge directly after a letter gets one.
	edge bool
}

func (w *textWriter) endBlock() {
	if w.inLine {
		w.b.WriteString("\n")
		if w.inTable == 0 {
			w.b.WriteString("\n")
		}
	}
	w.inLine, w.space, w.prefix = false, false, ""
}

func (w *textWriter) word(s string) {
	if !w.inLine {
		w.b.WriteString(w.prefix)
		w.inLine, w.space = true, false
	} else if w.space || (w.edge && joinsAcrossEdge(w.b.String(), s)) {
		w.b.WriteByte(' ')
	}
	w.space, w.edge = false, false
	w.b.WriteString(s)
}

// joinsAcrossEdge: the text before ends in a letter, digit or closing
// punctuation and the word starts with a letter, digit or "(".
func joinsAcrossEdge(before, word string) bool {
	last, _ := utf8.DecodeLastRuneInString(before)
	first, _ := utf8.DecodeRuneInString(word)
	if !(unicode.IsLetter(first) || unicode.IsDigit(first) || first == '(') {
		return false
	}
	if unicode.Is(unicode.Han, last) || unicode.Is(unicode.Han, first) {
		return false // no spaces between Han characters
	}
	return unicode.IsLetter(last) || unicode.IsDigit(last) || strings.ContainsRune(".,;:!?)", last)
}

func (w *textWriter) text(s string) {
	if w.inPre > 0 {
		for i, line := range strings.Split(s, "\n") {
			if i > 0 {
				w.endLine()
			}
			if strings.TrimSpace(line) != "" {
				w.word(strings.TrimRight(line, " \t\r"))
			}
		}
		return
	}
	if s != "" && isSpaceByte(s[0]) {
		w.space = true
	}
	fields := strings.Fields(s)
	for i, f := range fields {
		if i > 0 {
			w.space = true
		}
		w.word(f)
	}
	if len(fields) > 0 && isSpaceByte(s[len(s)-1]) {
		w.space = true
	}
}

func (w *textWriter) endLine() {
	if w.inLine {
		w.b.WriteString("\n")
	}
	w.inLine, w.space = false, false
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' }

func (w *textWriter) node(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		w.text(n.Data)
		return
	case html.ElementNode:
		w.edge = true
		defer func() { w.edge = true }()
	case html.DocumentNode:
		w.children(n)
		return
	default:
		return
	}
	switch n.DataAtom {
	case atom.Script, atom.Style, atom.Template, atom.Img, atom.Figure, atom.Head:
		return
	case atom.Br:
		w.endLine()
		return
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		w.endBlock()
		w.prefix = "## "
		w.children(n)
		w.endBlock()
		return
	case atom.Li, atom.Dt, atom.Dd:
		w.endLine()
		w.prefix = "- "
		w.children(n)
		w.endLine()
		return
	case atom.Ul, atom.Ol, atom.Dl:
		w.endBlock()
		w.children(n)
		w.endLine()
		w.b.WriteString("\n")
		return
	case atom.Pre:
		w.endBlock()
		w.inPre++
		w.children(n)
		w.inPre--
		w.endBlock()
		return
	case atom.Table:
		w.endBlock()
		w.inTable++
		w.children(n)
		w.inTable--
		w.endLine()
		w.b.WriteString("\n")
		return
	case atom.Tr:
		w.endLine()
		w.children(n)
		w.endLine()
		return
	case atom.Td, atom.Th:
		if w.inLine {
			w.word("|")
			w.space = true
		}
		w.children(n)
		w.space = true
		return
	case atom.A:
		href := attr(n, "href")
		if w.inLine && (w.space || joinsAcrossEdge(w.b.String(), firstText(n))) {
			w.b.WriteByte(' ')
			w.space = false
		}
		if !w.inLine {
			w.b.WriteString(w.prefix)
			w.inLine = true
		}
		start := w.b.Len()
		w.children(n)
		end := w.b.Len()
		if href != "" && end > start {
			w.spans = append(w.spans, linkSpan{start, end, href})
		}
		return
	}
	if n.Data == "head" && n.DataAtom == 0 { // trafilatura's heading element
		w.endBlock()
		w.prefix = "## "
		w.children(n)
		w.endBlock()
		return
	}
	if isBlock(n) {
		w.endBlock()
		w.children(n)
		w.endBlock()
		return
	}
	w.children(n)
}

// firstText is the start of n's text, for the spacing before a link.
func firstText(n *html.Node) string {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			if t := strings.TrimSpace(c.Data); t != "" {
				return t
			}
		} else if t := firstText(c); t != "" {
			return t
		}
	}
	return ""
}

func (w *textWriter) children(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.node(c)
	}
}

func isBlock(n *html.Node) bool {
	switch n.DataAtom {
	case atom.P, atom.Div, atom.Section, atom.Article, atom.Blockquote, atom.Main, atom.Header, atom.Footer,
		atom.Aside, atom.Nav, atom.Form, atom.Fieldset, atom.Address, atom.Hr, atom.Caption, atom.Details,
		atom.Summary, atom.Body, atom.Html:
		return true
	}
	switch n.Data {
	case "list", "item", "quote", "row", "cell", "lb":
		return true
	}
	return false
}

// tidyText brings plain text (WET records, JSONL "text") to the form of
// rendered text: lines trimmed, runs of blank lines as one.
func tidyText(s string) string {
	var b strings.Builder
	blank := false
	for line := range strings.SplitSeq(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" {
			blank = b.Len() > 0
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n")
			if blank {
				b.WriteString("\n")
			}
		}
		blank = false
		b.WriteString(line)
	}
	return b.String()
}
