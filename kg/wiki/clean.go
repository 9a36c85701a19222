package wiki

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/miroverse/miroverse/kg"
)

// span is a link's anchor in the clean text: out[start:end].
type span struct {
	start, end int
	target     string // normalised title
}

// cleaner renders wikitext as readable text. It works in one pass over the
// source, writing to out and noting where each link's anchor lands, so that
// links never have to be found again in text that no longer has markup.
type cleaner struct {
	ns     namespaces
	out    []byte
	links  []span
	cats   []string
	disamb bool // a disambiguation template or __DISAMBIG__ was seen
	list   bool // a set index template was seen: the page is a list
	depth  int  // of nested run calls, a guard against pathological input

	// facts are the infobox parameters met so far, one per key (factKeys).
	facts    []kg.Fact
	factKeys map[string]bool
	// inFact counts the fact values being rendered: there a list is one
	// line of items, not lines of text.
	inFact int
	// dates is the page's declared date order ({{Use dmy dates}}), which
	// date templates without a df= of their own follow.
	dates dateOrder
}

// maxDepth bounds recursion through link texts and template arguments.
const maxDepth = 40

// isSpecial reports the bytes at which run stops copying: markup starts,
// line ends, and lead bytes of the few non-ASCII characters that need
// rewriting (no-break and other spaces, soft hyphens, bidi marks, BOM).
func isSpecial(c byte) bool {
	switch c {
	case '\n', '\r', '\t', '{', '}', '[', ']', '<', '\'', '&', '_', 0xc2, 0xe2, 0xe3, 0xef:
		return true
	}
	return false
}

// run renders s. inline means s is part of a line (a link text, a heading,
// a template argument), so line-start constructs are not recognised;
// inLink means s is a link's text, where nested links are plain text.
func (c *cleaner) run(s string, inline, inLink bool) {
	if c.depth >= maxDepth {
		return
	}
	c.depth++
	defer func() { c.depth-- }()
	lineStart := !inline
	lineBegin := 0 // start of the current source line
	for i := 0; i < len(s); {
		if lineStart {
			lineStart = false
			lineBegin = i
			if j := c.lineStart(s, i, inLink); j != i {
				i = j
				continue
			}
		}
		// Copy ordinary bytes in bulk.
		j := i
		for j < len(s) && !isSpecial(s[j]) {
			j++
		}
		c.out = append(c.out, s[i:j]...)
		if i = j; i >= len(s) {
			break
		}
		switch ch := s[i]; ch {
		case '\n':
			// MediaWiki joins the lines of a paragraph; only a blank line
			// or a line-start construct ends it.
			if !inline && paragraphLine(s[lineBegin:]) && paragraphLine(s[i+1:]) {
				c.out = append(c.out, ' ')
			} else {
				c.out = append(c.out, '\n')
			}
			i++
			lineStart = !inline
		case '\r':
			i++
		case '\t':
			c.out = append(c.out, ' ')
			i++
		case '{':
			i = c.brace(s, i, inLink)
		case '}':
			if strings.HasPrefix(s[i:], "}}") {
				i += 2 // stray end of a template
			} else {
				c.out = append(c.out, '}')
				i++
			}
		case '[':
			i = c.bracket(s, i, inLink)
		case ']':
			if strings.HasPrefix(s[i:], "]]") {
				i += 2
			} else {
				c.out = append(c.out, ']')
				i++
			}
		case '<':
			i = c.tag(s, i)
		case '\'':
			i = c.quotes(s, i)
		case '&':
			i = c.entity(s, i)
		case '_':
			i = c.magicWord(s, i)
		default:
			// The non-ASCII lead bytes.
			if ch < utf8.RuneSelf {
				c.out = append(c.out, ch)
				i++
				continue
			}
			r, n := utf8.DecodeRuneInString(s[i:])
			c.appendRune(r)
			i += n
		}
	}
}

// appendRune writes r, turning exotic spaces into plain ones and dropping
// invisible characters.
func (c *cleaner) appendRune(r rune) {
	switch {
	case r == '\n':
		c.out = append(c.out, '\n')
	case unicode.IsSpace(r):
		c.out = append(c.out, ' ')
	case r == '\u00ad' || r == '\ufeff' || r == '\u200b' || r == '\u200c' || r == '\u200d' || r == '\u2060' || isBidi(r):
	default:
		c.out = utf8.AppendRune(c.out, r)
	}
}

func isBidi(r rune) bool {
	return r == '\u200e' || r == '\u200f' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}

func (c *cleaner) appendText(s string) {
	for _, r := range s {
		c.appendRune(r)
	}
}

// newline ends the current output line unless it is already ended.
func (c *cleaner) newline() {
	if len(c.out) > 0 && c.out[len(c.out)-1] != '\n' {
		c.out = append(c.out, '\n')
	}
}

// lineStart handles constructs that exist only at the start of a line:
// headings, tables, list items, rules and preformatted indentation. It
// returns the position after what it consumed (i when nothing).
func (c *cleaner) lineStart(s string, i int, inLink bool) int {
	eol := strings.IndexByte(s[i:], '\n')
	if eol < 0 {
		eol = len(s)
	} else {
		eol += i
	}
	line := s[i:eol]
	// A table, possibly indented with ':' or spaces.
	k := 0
	for k < len(line) && (line[k] == ':' || line[k] == ' ' || line[k] == '\t') {
		k++
	}
	if strings.HasPrefix(line[k:], "{|") {
		return tableEnd(s, i+k)
	}
	switch {
	case len(line) == 0:
		return i
	case line[0] == '=':
		if level, inner, ok := heading(line); ok {
			c.newline()
			c.out = append(c.out, strings.Repeat("#", level)...)
			c.out = append(c.out, ' ')
			c.run(inner, true, inLink)
			return eol
		}
	case line[0] == '*' || line[0] == '#' || line[0] == ':' || line[0] == ';':
		n := 0
		for n < len(line) && strings.IndexByte("*#:;", line[n]) >= 0 {
			n++
		}
		switch line[n-1] {
		case '*':
			c.out = append(c.out, "- "...)
		case '#':
			c.out = append(c.out, "1. "...)
		}
		return i + n
	case strings.HasPrefix(line, "----"):
		return eol
	case line[0] == '|' || line[0] == '!':
		// Rows of a table opened by a template ({{awards table}} … {{end}}).
		return tableRowsEnd(s, i)
	case line[0] == ' ':
		return i + 1 // preformatted text: keep the text, lose the indent
	}
	return i
}

// tableRowsEnd returns the end of the block of lines starting with '|' or
// '!' at s[i:] if the block has a row mark ("|-", "|+", "|}"), which makes
// it table rows whose "{|" came from a template; otherwise i, and the lines
// are text.
func tableRowsEnd(s string, i int) int {
	end, rows := i, false
	for p := i; p < len(s); {
		line := s[p:]
		if e := strings.IndexByte(line, '\n'); e >= 0 {
			line = line[:e]
		}
		t := strings.TrimLeft(line, " \t")
		if t == "" || (t[0] != '|' && t[0] != '!') {
			break
		}
		rows = rows || strings.HasPrefix(t, "|-") || strings.HasPrefix(t, "|+") || strings.HasPrefix(t, "|}")
		end = p + len(line)
		p = end + 1
	}
	if !rows {
		return i
	}
	return end
}

// paragraphLine reports whether the source line at the start of s is
// running text (not blank, not a heading, list item, table row, rule or
// preformatted line).
func paragraphLine(s string) bool {
	if s == "" || s[0] == '\n' || s[0] == '\r' {
		return false
	}
	if strings.IndexByte("=*#:; \t|!", s[0]) >= 0 {
		return false
	}
	if s[0] == '<' {
		name, closing, _, end := parseTag(s, 0)
		if end > 0 && (closing || classifyTag(name) == tagBlock || ownLine(name)) {
			return false
		}
	}
	return !strings.HasPrefix(s, "{|") && !strings.HasPrefix(s, "----")
}

// ownLine reports the tags that stand on lines of their own: the text
// around them is not one paragraph.
func ownLine(name string) bool {
	switch name {
	case "gallery", "references", "table", "timeline", "imagemap", "graph", "mapframe",
		"templatedata", "inputbox", "categorytree", "syntaxhighlight", "source", "score", "pre":
		return true
	}
	return false
}

// heading recognises "== Title ==" and returns its level and text.
func heading(line string) (int, string, bool) {
	t := strings.TrimRight(line, " \t\r")
	lead := 0
	for lead < len(t) && t[lead] == '=' {
		lead++
	}
	trail := 0
	for trail < len(t)-lead && t[len(t)-1-trail] == '=' {
		trail++
	}
	if trail == 0 {
		return 0, "", false
	}
	level := min(lead, trail, 6)
	inner := t[level : len(t)-level]
	if strings.TrimSpace(inner) == "" {
		return 0, "", false
	}
	return level, strings.TrimSpace(inner), true
}

// tableEnd returns the end of the line that closes the table opened by
// "{|" at s[i:], counting nested tables and skipping templates (whose
// arguments may hold "|}" at a line start). An unclosed table runs to the
// end, as MediaWiki renders it.
func tableEnd(s string, i int) int {
	depth := 0
	atLine := true
	for p := i; p < len(s); {
		if atLine {
			atLine = false
			q := p
			for q < len(s) && (s[q] == ' ' || s[q] == '\t' || s[q] == ':') {
				q++
			}
			switch {
			case strings.HasPrefix(s[q:], "{|"):
				depth++
				p = q + 2
				continue
			case strings.HasPrefix(s[q:], "|}"):
				depth--
				p = q + 2
				if depth == 0 {
					if e := strings.IndexByte(s[p:], '\n'); e >= 0 {
						return p + e
					}
					return len(s)
				}
				continue
			}
		}
		switch {
		case s[p] == '\n':
			atLine = true
			p++
		case strings.HasPrefix(s[p:], "{{"):
			if e := matchTemplate(s, p); e > 0 {
				p = e
			} else {
				p += 2
			}
		default:
			p++
		}
	}
	return len(s)
}

// matchTemplate returns the end of the template (or parameter) whose
// braces open at s[i:], or -1 if they never close. Runs of braces pair up
// the way MediaWiki's preprocessor pairs them: two for a template, three
// for a parameter, so a lone '{' inside an argument does not unbalance it.
func matchTemplate(s string, i int) int {
	var stack []int
	for j := i; j < len(s); {
		switch s[j] {
		case '{':
			n := run(s, j, '{')
			if n >= 2 {
				stack = append(stack, n)
			}
			j += n
		case '}':
			n := run(s, j, '}')
			m := n
			for m >= 2 && len(stack) > 0 {
				top := &stack[len(stack)-1]
				k := 2
				if *top >= 3 && m >= 3 {
					k = 3
				}
				*top -= k
				m -= k
				if *top < 2 {
					stack = stack[:len(stack)-1]
				}
				if len(stack) == 0 {
					return j + n - m
				}
			}
			j += n
		default:
			k := strings.IndexAny(s[j:], "{}")
			if k < 0 {
				return -1
			}
			j += k
		}
		if len(stack) == 0 {
			return -1
		}
	}
	return -1
}

// run counts the bytes equal to b from s[i].
func run(s string, i int, b byte) int {
	n := 0
	for i+n < len(s) && s[i+n] == b {
		n++
	}
	return n
}

// brace handles '{': a template is dropped (a few that only format text
// keep it), anything else is text.
func (c *cleaner) brace(s string, i int, inLink bool) int {
	if !strings.HasPrefix(s[i:], "{{") {
		c.out = append(c.out, '{')
		return i + 1
	}
	end := matchTemplate(s, i)
	if end < 0 {
		return i + 2
	}
	c.template(s[i+2:end-2], inLink)
	return end
}

// splitTop splits s at sep bytes that are not inside [[…]], {{…}} or an
// extension tag's content: MediaWiki's preprocessor reads <ref>, <nowiki>
// and <math> before it splits arguments, so a '|' in a reference does
// not end an infobox value.
func splitTop(s string, sep byte) []string {
	var parts []string
	depthL, start := 0, 0
	for j := 0; j < len(s); {
		switch {
		case strings.HasPrefix(s[j:], "{{"):
			if e := matchTemplate(s, j); e > 0 {
				j = e
				continue
			}
			j += 2
		case s[j] == '<':
			j = skipOpaqueTag(s, j)
		case strings.HasPrefix(s[j:], "[["):
			depthL++
			j += 2
		case strings.HasPrefix(s[j:], "]]") && depthL > 0:
			depthL--
			j += 2
		case s[j] == sep && depthL == 0:
			parts = append(parts, s[start:j])
			j++
			start = j
		default:
			j++
		}
	}
	return append(parts, s[start:])
}

// skipOpaqueTag returns the end of the element opened at s[i:] if it is an
// extension tag whose content is not wikitext to the preprocessor (ref,
// nowiki, pre, math and the like); otherwise i+1.
func skipOpaqueTag(s string, i int) int {
	name, closing, selfClosing, end := parseTag(s, i)
	if end < 0 || closing {
		return i + 1
	}
	if k := classifyTag(name); k != tagDrop && k != tagLiteral {
		return i + 1
	}
	if selfClosing {
		return end
	}
	if e := closeTag(s, end, name); e >= 0 {
		return e
	}
	return i + 1
}

// templateArgs are a template's arguments: positional ones in order
// (numbered ones "1=" included) and named ones.
type templateArgs struct {
	pos   []string
	named map[string]string
}

func parseArgs(parts []string) templateArgs {
	a := templateArgs{named: map[string]string{}}
	for _, p := range parts {
		name, val, ok := strings.Cut(p, "=")
		if ok && !strings.Contains(name, "{{") && !strings.Contains(name, "[[") {
			name = strings.ToLower(strings.TrimSpace(name))
			if n := atoiSmall(name); n > 0 {
				for len(a.pos) < n {
					a.pos = append(a.pos, "")
				}
				a.pos[n-1] = strings.TrimSpace(val)
				continue
			}
			a.named[name] = strings.TrimSpace(val)
			continue
		}
		a.pos = append(a.pos, strings.TrimSpace(p))
	}
	return a
}

func (a templateArgs) arg(n int) string {
	if n < len(a.pos) {
		return a.pos[n]
	}
	return ""
}

func atoiSmall(s string) int {
	if s == "" || len(s) > 2 {
		return 0
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// bracket handles '[': a wikilink, an external link, or a plain bracket.
func (c *cleaner) bracket(s string, i int, inLink bool) int {
	if strings.HasPrefix(s[i:], "[[") {
		return c.wikilink(s, i, inLink)
	}
	if !hasURLScheme(s[i+1:]) {
		c.out = append(c.out, '[')
		return i + 1
	}
	j := externalLinkEnd(s, i)
	if j < 0 {
		c.out = append(c.out, '[')
		return i + 1
	}
	inner := s[i+1 : i+j]
	if k := strings.IndexAny(inner, " \t"); k >= 0 {
		c.run(strings.TrimSpace(inner[k+1:]), true, inLink)
	}
	return i + j + 1
}

// externalLinkEnd returns the offset from i of the ']' closing the external
// link at s[i:], stepping over wikilinks in its label; -1 if the line ends
// first.
func externalLinkEnd(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\n':
			return -1
		case '[':
			if strings.HasPrefix(s[j:], "[[") {
				if e := matchLink(s, j, false); e > 0 {
					j = e - 1
				}
			}
		case ']':
			return j - i
		}
	}
	return -1
}

// hasURLScheme reports whether s starts an external link target.
func hasURLScheme(s string) bool {
	for _, p := range [...]string{"http://", "https://", "//", "ftp://", "ftps://", "sftp://", "mailto:",
		"irc://", "ircs://", "news:", "nntp://", "gopher://", "git://", "svn://", "ssh://",
		"telnet://", "worldwind://", "xmpp:", "sip:", "sips:", "tel:", "urn:", "geo:", "magnet:",
		"mms://", "redis://", "ws://", "wss://", "bitcoin:", "sms:", "matrix:"} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return true
		}
	}
	return false
}

// wikilink handles "[[…]]" at s[i:].
func (c *cleaner) wikilink(s string, i int, inLink bool) int {
	// The target decides whether the link may span lines: only file
	// embeds (whose captions hold templates and links) do.
	head := s[i+2:]
	if k := strings.IndexAny(head, "|]\n"); k >= 0 {
		head = head[:k]
	}
	rawTarget := strings.TrimSpace(head)
	colon := strings.HasPrefix(rawTarget, ":")
	target := strings.TrimSpace(strings.TrimPrefix(rawTarget, ":"))
	kind, rest := c.ns.classify(target)
	end := matchLink(s, i, kind == linkFile && !colon)
	if end < 0 {
		return i + 2
	}
	inner := s[i+2 : end-2]
	parts := splitTop(inner, '|')
	display, hasDisplay := "", len(parts) > 1
	if hasDisplay {
		display = strings.Join(parts[1:], "|")
	}
	if strings.ContainsAny(parts[0], "\n{}<>[]") {
		// Not a valid title (a template in the target, say): MediaWiki
		// shows the text, links nothing.
		if hasDisplay {
			c.run(display, true, true)
		}
		return end
	}
	show := func(fallback string) int {
		if hasDisplay && strings.TrimSpace(display) != "" {
			c.run(display, true, true)
		} else {
			c.run(fallback, true, true)
		}
		return end
	}
	switch kind {
	case linkFile:
		if colon {
			return show(target)
		}
		return end
	case linkCategory:
		if colon {
			return show(target)
		}
		if name := kg.NormalizeTitle(rest); name != "" {
			c.cats = append(c.cats, name)
		}
		return end
	case linkInterlanguage:
		if colon {
			return show(rest)
		}
		return end
	case linkInterwiki:
		return show(rest)
	case linkOtherNS:
		return show(target)
	}
	switch {
	case hasDisplay && strings.TrimSpace(display) == "":
		display = pipeTrick(target)
	case !hasDisplay:
		display = strings.TrimPrefix(target, "#")
	}
	start := len(c.out)
	c.run(display, true, true)
	// Letters glued to the link ("[[apple]]s") belong to its text.
	j := end
	for j < len(s) {
		r, n := utf8.DecodeRuneInString(s[j:])
		if !isTrailLetter(r) {
			break
		}
		j += n
	}
	c.out = append(c.out, s[end:j]...)
	if t := kg.NormalizeTitle(target); t != "" && !inLink {
		c.links = append(c.links, span{start: start, end: len(c.out), target: t})
	}
	return j
}

// isTrailLetter: MediaWiki's link trails are lower-case letters of the
// wiki's alphabet; scripts written without spaces have none.
func isTrailLetter(r rune) bool {
	if !unicode.IsLower(r) {
		return false
	}
	return r < 0x80 || unicode.In(r, unicode.Latin, unicode.Greek, unicode.Cyrillic, unicode.Armenian)
}

// pipeTrick renders "[[Paris, Texas|]]" as "Paris" and "[[Mercury
// (planet)|]]" as "Mercury".
func pipeTrick(target string) string {
	t := target
	if k := strings.LastIndex(t, " ("); k > 0 && strings.HasSuffix(t, ")") {
		return strings.TrimSpace(t[:k])
	}
	if k := strings.Index(t, ","); k > 0 {
		return strings.TrimSpace(t[:k])
	}
	return t
}

// matchLink returns the end of the "[[…]]" opening at s[i:], honouring
// nested links and templates; -1 if it does not close (on the same line
// unless multiline).
func matchLink(s string, i int, multiline bool) int {
	depth := 0
	for j := i; j < len(s); {
		switch {
		case strings.HasPrefix(s[j:], "[["):
			depth++
			j += 2
		case strings.HasPrefix(s[j:], "]]"):
			depth--
			j += 2
			if depth == 0 {
				return j
			}
		case strings.HasPrefix(s[j:], "{{"):
			if e := matchTemplate(s, j); e > 0 {
				j = e
			} else {
				j += 2
			}
		case s[j] == '\n' && !multiline:
			return -1
		default:
			j++
		}
	}
	return -1
}

// tagKind says what happens to an HTML or extension tag and its content.
type tagKind int

const (
	tagUnknown tagKind = iota // not a tag we know: the '<' is text
	tagDrop                   // content is not running text and goes with the tag
	tagLiteral                // content is shown as written, without markup
	tagBlock                  // tag dropped, content kept, starts a line
	tagInline                 // tag dropped, content kept
)

func classifyTag(name string) tagKind {
	switch name {
	case "ref", "references", "gallery", "math", "chem", "ce", "score", "timeline", "graph",
		"mapframe", "maplink", "templatedata", "imagemap", "inputbox", "categorytree", "hiero",
		"includeonly", "indicator", "templatestyles", "section", "charinsert", "syntaxhighlight",
		"source", "table", "style", "script", "noscript", "dynamicpagelist", "rss", "languages",
		"talkpage", "poll":
		return tagDrop
	case "nowiki", "pre":
		return tagLiteral
	case "p", "div", "li", "dd", "dt", "blockquote", "center", "tr", "poem", "h1", "h2", "h3",
		"h4", "h5", "h6", "br", "hr", "figure", "figcaption":
		return tagBlock
	case "b", "i", "u", "s", "strike", "span", "small", "big", "sup", "sub", "font", "abbr",
		"code", "tt", "var", "cite", "q", "strong", "em", "del", "ins", "mark", "kbd", "samp",
		"ruby", "rb", "rt", "rp", "bdi", "bdo", "dfn", "data", "time", "onlyinclude", "noinclude",
		"a", "wbr", "caption", "thead", "tbody", "tfoot", "col", "colgroup", "td", "th", "nav",
		"translate", "tvar", "img", "ol", "ul", "dl":
		return tagInline
	}
	return tagUnknown
}

// tag handles '<': an HTML or extension tag, or a plain '<'.
func (c *cleaner) tag(s string, i int) int {
	name, closing, selfClosing, end := parseTag(s, i)
	if end < 0 {
		c.out = append(c.out, '<')
		return i + 1
	}
	switch classifyTag(name) {
	case tagDrop:
		if closing || selfClosing {
			return end
		}
		if e := closeTag(s, end, name); e >= 0 {
			return e
		}
		return end // unclosed: drop the tag alone rather than the rest
	case tagLiteral:
		if closing || selfClosing {
			return end
		}
		e := closeTag(s, end, name)
		if e < 0 {
			return end
		}
		content := s[end:e]
		content = content[:strings.LastIndexByte(content, '<')]
		c.appendText(html.UnescapeString(content))
		return e
	case tagBlock:
		c.newline()
		if !closing && len(name) == 2 && name[0] == 'h' && name[1] >= '2' && name[1] <= '6' {
			c.out = append(c.out, strings.Repeat("#", int(name[1]-'0'))...)
			c.out = append(c.out, ' ')
		}
	}
	return end
}

// parseTag reads "<name …>", "</name>" or "<name …/>" at s[i:]; end is -1
// when s[i:] is not a tag.
func parseTag(s string, i int) (name string, closing, selfClosing bool, end int) {
	j := i + 1
	if j < len(s) && s[j] == '/' {
		closing = true
		j++
	}
	k := j
	for k < len(s) && (isASCIILetter(s[k]) || (k > j && s[k] >= '0' && s[k] <= '9')) {
		k++
	}
	if k == j || k >= len(s) {
		return "", false, false, -1
	}
	name = strings.ToLower(s[j:k])
	if classifyTag(name) == tagUnknown {
		return "", false, false, -1
	}
	if c := s[k]; c != '>' && c != '/' && c != ' ' && c != '\t' && c != '\n' {
		return "", false, false, -1
	}
	// Attributes end at '>'; a '<' first means this was no tag.
	const maxAttr = 4096
	limit := min(len(s), k+maxAttr)
	gt := strings.IndexAny(s[k:limit], "<>")
	if gt < 0 || s[k+gt] == '<' {
		return "", false, false, -1
	}
	end = k + gt + 1
	selfClosing = s[end-2] == '/'
	return name, closing, selfClosing, end
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// closeTag returns the end of the "</name>" that closes an element whose
// content starts at s[from:]; -1 if there is none. Extension tags (ref,
// nowiki, math) end at the first closing tag; HTML elements that nest
// (tables) count their nested openings.
func closeTag(s string, from int, name string) int {
	nest := name == "table"
	depth := 1
	for p := from; ; {
		k := strings.IndexByte(s[p:], '<')
		if k < 0 {
			return -1
		}
		p += k + 1
		closing := p < len(s) && s[p] == '/'
		n0 := p
		if closing {
			n0++
		}
		if n0+len(name) > len(s) || !strings.EqualFold(s[n0:n0+len(name)], name) {
			continue
		}
		e := n0 + len(name)
		if e < len(s) && (isASCIILetter(s[e]) || (s[e] >= '0' && s[e] <= '9')) {
			continue
		}
		gt := strings.IndexAny(s[e:], "<>")
		if gt < 0 {
			return -1
		}
		if s[e+gt] == '<' {
			continue
		}
		// A closing tag holds nothing but spaces before its '>': MediaWiki
		// reads "</ref name=x>" as text, not as the end of the ref.
		if closing && strings.TrimSpace(s[e:e+gt]) != "" {
			continue
		}
		switch {
		case closing:
			depth--
			if depth == 0 {
				return e + gt + 1
			}
		case nest && s[e+gt-1] != '/':
			depth++
		}
	}
}

// quotes handles runs of apostrophes: two (italic), three (bold) and five
// (both) vanish; a single one is text, and extra ones are shown as
// MediaWiki shows them.
func (c *cleaner) quotes(s string, i int) int {
	n := run(s, i, '\'')
	switch {
	case n == 1:
		c.out = append(c.out, '\'')
	case n == 4:
		c.out = append(c.out, '\'')
	case n > 5:
		c.out = append(c.out, strings.Repeat("'", n-5)...)
	}
	return i + n
}

// entity decodes an HTML entity such as "&nbsp;" or "&#8212;".
func (c *cleaner) entity(s string, i int) int {
	const maxEntity = 12
	limit := min(len(s), i+maxEntity)
	if k := strings.IndexByte(s[i+1:limit], ';'); k > 0 {
		ent := s[i : i+1+k+1]
		if dec := html.UnescapeString(ent); dec != ent {
			c.appendText(dec)
			return i + len(ent)
		}
	}
	c.out = append(c.out, '&')
	return i + 1
}

// magicWord drops behaviour switches such as __TOC__ and __NOTOC__.
func (c *cleaner) magicWord(s string, i int) int {
	if strings.HasPrefix(s[i:], "__") {
		if k := strings.Index(s[i+2:], "__"); k > 1 && k <= 40 {
			word := s[i+2 : i+2+k]
			if isMagicWord(word) {
				if word == "DISAMBIG" {
					c.disamb = true
				}
				return i + 2 + k + 2
			}
		}
	}
	c.out = append(c.out, '_')
	return i + 1
}

func isMagicWord(w string) bool {
	for _, r := range w {
		if !unicode.IsUpper(r) && r != '_' && !unicode.Is(unicode.Lo, r) {
			return false
		}
	}
	return true
}

// stripComments removes <!-- … -->; an unclosed comment runs to the end,
// as in HTML.
func stripComments(s string) string {
	i := strings.Index(s, "<!--")
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		j := strings.Index(s[i+4:], "-->")
		if j < 0 {
			return b.String()
		}
		s = s[i+4+j+3:]
		i = strings.Index(s, "<!--")
	}
	b.WriteString(s)
	return b.String()
}
