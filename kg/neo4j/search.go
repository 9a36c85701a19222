package neo4j

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/miroverse/miroverse/internal/text"
	"github.com/miroverse/miroverse/kg"

	n4j "github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// luceneSpecial are the characters Lucene's classic query parser gives a
// meaning to; "&&" and "||" are covered by escaping & and |.
const luceneSpecial = `+-&|!(){}[]^"~*?:\/`

// escapeLucene makes s stand for itself in a Lucene query: every special
// character is backslash-escaped.
func escapeLucene(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 4)
	for _, r := range s {
		if strings.ContainsRune(luceneSpecial, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// maxQueryTerms bounds the work one search may ask for, as in the embedded
// store.
const maxQueryTerms = 32

// luceneTerms splits free text into escaped query terms. A term with no
// letter or digit would analyse to nothing and is left out; AND, OR and NOT
// are lower-cased so that the parser reads them as words, not operators
// (the analyser lower-cases every term anyway). Underscores are spaces, as
// in titles copied from URLs.
func luceneTerms(q string) []string {
	fields := strings.Fields(strings.ReplaceAll(q, "_", " "))
	seen := make(map[string]bool, len(fields))
	var terms []string
	for _, f := range fields {
		if !strings.ContainsFunc(f, isWordRune) {
			continue
		}
		k := strings.ToLower(f)
		if seen[k] {
			continue
		}
		seen[k] = true
		switch f {
		case "AND", "OR", "NOT":
			f = k
		}
		terms = append(terms, escapeLucene(f))
		if len(terms) == maxQueryTerms {
			break
		}
	}
	return terms
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r) }

// luceneQuery is the full-text query for free text: any term, in the title
// (weight 10, as the embedded store's BM25 column weight) or in the text.
// "" when the text has no term.
func luceneQuery(q string) string {
	terms := luceneTerms(q)
	if len(terms) == 0 {
		return ""
	}
	// Lucene weighs a term by how rare it is in each field, and "the" or
	// "of" is rare among titles: with the title boost, "The Trial" and
	// "University of Paris" topped every query that had those words. SQLite's
	// bm25 counts a word's documents over both columns, where a function
	// word is everywhere and weighs nothing; leaving function words out of
	// the title clause keeps the two stores' rankings alike, unless the
	// query has nothing else.
	var titled []string
	for _, t := range terms {
		if !text.IsStopWord(strings.ToLower(t)) {
			titled = append(titled, t)
		}
	}
	if len(titled) == 0 {
		titled = terms // a query of function words only ("It", "The Who")
	}
	group := "(" + strings.Join(terms, " OR ") + ")"
	return "title:(" + strings.Join(titled, " OR ") + ")^10 OR text:" + group
}

// phrase is a Lucene phrase query for s in field.
func phrase(field, s string) string { return field + `:"` + escapeLucene(s) + `"` }

// searchSlack is how many hits beyond the limit are read at first, so
// that equal scores at the cut are ordered by id here rather than by
// Lucene's internal document order; see ranked.
const searchSlack = 10

// scored is a search result before its snippet.
type scored struct {
	id, title, url string
	score          float64
}

// Search ranks documents with Lucene's BM25 over title (boost 10) and text;
// Score is Lucene's score, higher is better. As in the embedded store, a
// document whose title is the query (ignoring case) comes first, then a
// document a redirect of that name leads to, whatever their scores, and
// equal ranks are ordered by id. Those two tiers are found by index lookup
// and kept only when they match the query, which a second full-text query
// filtered to their titles decides, with the same scores.
func (s *Store) Search(ctx context.Context, query string, limit int) ([]kg.SearchHit, error) {
	lq := luceneQuery(query)
	if lq == "" || limit <= 0 {
		return nil, nil
	}
	what := fmt.Sprintf("search %q", query)
	title := kg.UpperFirst(strings.Join(strings.Fields(strings.ReplaceAll(query, "_", " ")), " "))

	tiers, err := s.titleTiers(ctx, what, title)
	if err != nil {
		return nil, err
	}
	var top []scored
	if len(tiers) > 0 {
		var titles []string
		ids := make([]string, 0, len(tiers))
		for id, t := range tiers {
			ids = append(ids, id)
			titles = append(titles, phrase("title", t.title))
		}
		// ^0: the filter must not add to the score, so that a tier's score
		// is the one the plain query gives.
		filtered := "+(" + lq + ") +(" + strings.Join(titles, " OR ") + ")^0"
		if top, err = s.fulltext(ctx, what, filtered, ids, 0); err != nil {
			return nil, err
		}
	}
	rest, err := s.ranked(ctx, what, lq, limit)
	if err != nil {
		return nil, err
	}
	inTop := make(map[string]bool, len(top))
	for _, h := range top {
		inTop[h.id] = true
	}
	rank := func(h scored) int {
		if t, ok := tiers[h.id]; ok && inTop[h.id] {
			return t.tier
		}
		return 2
	}
	for _, h := range rest {
		if !inTop[h.id] {
			top = append(top, h)
		}
	}
	sort.SliceStable(top, func(i, j int) bool {
		a, b := top[i], top[j]
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra < rb
		}
		if a.score != b.score {
			return a.score > b.score
		}
		return a.id < b.id
	})
	if len(top) > limit {
		top = top[:limit]
	}
	return s.withSnippets(ctx, what, query, top)
}

// ranked reads the best hits of a query: at least limit of them, and
// every hit that scores as the limit-th does. Lucene breaks ties by its own
// document order, so a fixed number read past the limit would let the
// order of writes decide which of many equal scores (stub pages, say) make
// the cut, where the contract says the smallest ids.
func (s *Store) ranked(ctx context.Context, what, lucene string, limit int) ([]scored, error) {
	for n := limit + searchSlack; ; n *= 2 {
		hits, err := s.fulltext(ctx, what, lucene, nil, n)
		if err != nil || len(hits) < n || hits[n-1].score < hits[limit-1].score {
			return hits, err
		}
	}
}

// tierDoc is a document that ranks before the others for a query.
type tierDoc struct {
	title string
	tier  int // 0: its title is the query; 1: a redirect named the query leads to it
}

// titleTiers finds the documents named by the query: by title ignoring
// case, and through a redirect alias of exactly that title.
func (s *Store) titleTiers(ctx context.Context, what, title string) (map[string]tierDoc, error) {
	out := map[string]tierDoc{}
	err := s.read(ctx, what, `
		CALL {
			MATCH (d:Document {title_fold: $fold}) RETURN d, 0 AS tier
			UNION
			MATCH (:Alias {title: $title})-[:ALIAS_OF]->(d:Document) RETURN d, 1 AS tier
		}
		RETURN d.id, d.title, min(tier)`, map[string]any{"fold": kg.TitleKey(title), "title": title},
		func() { clear(out) },
		func(r *n4j.Record) error {
			id, _ := r.Values[0].(string)
			t, _ := r.Values[1].(string)
			tier, _ := r.Values[2].(int64)
			out[id] = tierDoc{title: t, tier: int(tier)}
			return nil
		})
	return out, err
}

// fulltext runs a Lucene query on the document index: the best limit hits
// (all when limit is 0), restricted to ids when ids is not nil.
func (s *Store) fulltext(ctx context.Context, what, lucene string, ids []string, limit int) ([]scored, error) {
	params := map[string]any{"index": fulltextIndex, "q": lucene, "ids": ids}
	options := ""
	if limit > 0 {
		options = ", {limit: $limit}"
		params["limit"] = limit
	}
	filter := ""
	if ids != nil {
		filter = "WHERE d.id IN $ids"
	}
	var hits []scored
	err := s.read(ctx, what, `
		CALL db.index.fulltext.queryNodes($index, $q`+options+`) YIELD node AS d, score
		`+filter+`
		RETURN d.id, d.title, d.url, score`, params,
		func() { hits = hits[:0] },
		func(r *n4j.Record) error {
			var h scored
			h.id, _ = r.Values[0].(string)
			h.title, _ = r.Values[1].(string)
			h.url, _ = r.Values[2].(string)
			h.score, _ = r.Values[3].(float64)
			hits = append(hits, h)
			return nil
		})
	return hits, err
}

// withSnippets reads the texts of the hits and cuts a snippet around the
// first query word in each. Neo4j has no highlighter to ask.
func (s *Store) withSnippets(ctx context.Context, what, query string, hits []scored) ([]kg.SearchHit, error) {
	if len(hits) == 0 {
		return nil, nil
	}
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.id
	}
	texts := make(map[string]string, len(hits))
	err := s.read(ctx, what, `
		UNWIND $ids AS id
		MATCH (d:Document {id: id})
		RETURN d.id, d.text`, map[string]any{"ids": ids}, nil,
		func(r *n4j.Record) error {
			id, _ := r.Values[0].(string)
			texts[id], _ = r.Values[1].(string)
			return nil
		})
	if err != nil {
		return nil, err
	}
	words := queryWords(query)
	out := make([]kg.SearchHit, len(hits))
	for i, h := range hits {
		out[i] = kg.SearchHit{DocID: h.id, Title: h.title, URL: h.url, Score: h.score,
			Snippet: snippet(texts[h.id], words)}
	}
	return out, nil
}

// queryWords are the lower-cased words (runs of letters, digits and marks)
// of a query, the units a snippet looks for.
func queryWords(q string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(q, func(r rune) bool { return !isWordRune(r) }) {
		out[strings.ToLower(w)] = true
	}
	return out
}

// Snippet sizes, close to the embedded store's FTS5 snippet(…, 32).
const (
	snippetWords  = 32
	snippetBefore = 8 // words of context before the first match
	snippetChars  = 200
)

// snippet is a window of snippetWords words of text around the first of
// the words, with "…" where text was cut; the lead of the text when no word
// occurs in it.
func snippet(text string, words map[string]bool) string {
	var spans [][2]int
	hit := -1
	start := -1
	complete := true // spans reach the end of text
	for i, r := range text {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			spans = append(spans, [2]int{start, i})
			start = -1
			if hit < 0 && words[strings.ToLower(text[spans[len(spans)-1][0]:i])] {
				hit = len(spans) - 1
			}
			if hit >= 0 && len(spans) >= hit+snippetWords {
				complete = false
				break
			}
		}
	}
	if complete && start >= 0 {
		spans = append(spans, [2]int{start, len(text)})
		if hit < 0 && words[strings.ToLower(text[start:])] {
			hit = len(spans) - 1
		}
	}
	if hit < 0 {
		return kg.LeadSnippet(text, snippetChars)
	}
	lo := max(0, hit-snippetBefore)
	hi := min(len(spans), lo+snippetWords)
	from, to := spans[lo][0], spans[hi-1][1]
	// Punctuation around the first or last word belongs to the snippet.
	if lo == 0 {
		from = 0
	}
	if hi == len(spans) && complete {
		to = len(text)
	}
	out := strings.TrimSpace(text[from:to])
	if strings.TrimSpace(text[:from]) != "" {
		out = "…" + out
	}
	if strings.TrimSpace(text[to:]) != "" {
		out += "…"
	}
	return out
}
