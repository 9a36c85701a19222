package wiki

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/internal/sentence"
)

// Parser turns pages of one wiki into documents and links. It holds only
// what it derives from SiteInfo, so one Parser may serve many goroutines.
type Parser struct {
	site      SiteInfo
	ns        namespaces
	urlPrefix string
}

// NewParser prepares parsing for the wiki that site describes.
func NewParser(site SiteInfo) *Parser {
	return &Parser{site: site, ns: newNamespaces(site), urlPrefix: articlePrefix(site)}
}

// Parse turns an article page (ns 0, not a redirect) into a Doc and its
// RawLinks. It is NewParser(site).Parse(p); reuse a Parser for many pages.
func Parse(site SiteInfo, p Page) (kg.Doc, []kg.RawLink) {
	return NewParser(site).Parse(p)
}

// NormalizeTitle puts a link target into the form of page titles: trimmed,
// underscores as spaces, single spaces, no "#fragment", first letter upper
// case.
func NormalizeTitle(t string) string { return kg.NormalizeTitle(t) }

// RedirectOf returns the redirect an article-namespace redirect page
// stands for.
func RedirectOf(p Page) (kg.Redirect, bool) {
	if p.NS != nsMain || p.Redirect == "" {
		return kg.Redirect{}, false
	}
	from, to := NormalizeTitle(p.Title), NormalizeTitle(p.Redirect)
	if from == "" || to == "" || from == to {
		return kg.Redirect{}, false
	}
	return kg.Redirect{From: from, To: to}, true
}

// ArticleURL is the address of a title on the wiki.
func (ps *Parser) ArticleURL(title string) string { return ps.urlPrefix + kg.EscapeTitle(title) }

// articlePrefix is the wiki's article path, taken from the host of <base>
// or, without one, guessed from the language.
func articlePrefix(site SiteInfo) string {
	if u, err := url.Parse(site.Base); err == nil && u.Host != "" {
		scheme := u.Scheme
		if scheme == "" {
			scheme = "https"
		}
		return scheme + "://" + u.Host + "/wiki/"
	}
	lang := site.Lang
	if lang == "" {
		lang = "en"
	}
	return "https://" + lang + ".wikipedia.org/wiki/"
}

// Parse turns an article page into a Doc and its RawLinks.
func (ps *Parser) Parse(p Page) (kg.Doc, []kg.RawLink) {
	c := &cleaner{ns: ps.ns}
	c.run(stripComments(p.Text), false, false)
	text, spans := tidy(c.out, c.links)
	doc := kg.Doc{
		ID:         fmt.Sprintf("%s:%d", ps.site.DBName, p.ID),
		Title:      p.Title,
		URL:        ps.ArticleURL(p.Title),
		Source:     ps.site.DBName,
		Lang:       ps.site.Lang,
		Text:       text,
		Categories: dedupe(c.cats),
		Facts:      c.facts,
	}
	doc.Kind = kind(p.Title, c.disamb, c.list, doc.Categories)
	return doc, rawLinks(doc.ID, text, spans)
}

// kind classifies a page. Disambiguation pages are known by their
// templates or title; list pages by their title ("List of …", and the
// outlines, article indexes and glossaries Wikipedia counts as lists), a
// set index template, or a category of lists.
func kind(title string, disamb, list bool, cats []string) string {
	if disamb || strings.HasSuffix(title, " (disambiguation)") {
		return kg.KindDisambiguation
	}
	if list {
		return kg.KindList
	}
	for _, p := range [...]string{"List of ", "Lists of ", "Outline of ", "Glossary of "} {
		if strings.HasPrefix(title, p) {
			return kg.KindList
		}
	}
	// "Index of Economic Freedom" is an article; "Index of Angola-related
	// articles" is a list.
	if strings.HasPrefix(title, "Index of ") && strings.HasSuffix(title, " articles") {
		return kg.KindList
	}
	for _, c := range cats {
		if strings.HasPrefix(c, "Lists of ") {
			return kg.KindList
		}
	}
	return kg.KindArticle
}

func dedupe(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(ss))
	out := ss[:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// rawLinks pairs each link span with the sentence around it, once per
// (target, anchor, sentence).
func rawLinks(src, text string, spans []span) []kg.RawLink {
	if len(spans) == 0 {
		return nil
	}
	cuts := make([]sentence.Span, len(spans))
	for i, sp := range spans {
		cuts[i] = sentence.Span{Start: sp.start, End: sp.end}
	}
	segs := sentence.Split(text, cuts)
	type key struct{ target, anchor, sentence string }
	seen := make(map[key]bool, len(spans))
	var out []kg.RawLink
	for _, sp := range spans {
		anchor := text[sp.start:sp.end]
		if strings.TrimSpace(anchor) == "" {
			continue
		}
		sg, ok := sentence.Around(segs, sp.start, sp.end)
		if !ok {
			continue // cannot happen: sentences never cut a span
		}
		l := kg.RawLink{Src: src, Target: sp.target, Anchor: anchor, Sentence: text[sg.Start:sg.End]}
		kk := key{l.Target, l.Anchor, l.Sentence}
		if !seen[kk] {
			seen[kk] = true
			out = append(out, l)
		}
	}
	return out
}
