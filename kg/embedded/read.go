package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/miroverse/miroverse/kg"
)

// docColumns are the columns scanDoc reads, in its order.
const docColumns = `id, title, url, source, lang, text, categories, kind, facts`

func scanDoc(row interface{ Scan(...any) error }) (kg.Doc, error) {
	var d kg.Doc
	var cats, facts string
	if err := row.Scan(&d.ID, &d.Title, &d.URL, &d.Source, &d.Lang, &d.Text, &cats, &d.Kind, &facts); err != nil {
		return kg.Doc{}, err
	}
	if err := json.Unmarshal([]byte(cats), &d.Categories); err != nil {
		return kg.Doc{}, fmt.Errorf("categories of %s: %w", d.ID, err)
	}
	if len(d.Categories) == 0 {
		d.Categories = nil
	}
	if err := json.Unmarshal([]byte(facts), &d.Facts); err != nil {
		return kg.Doc{}, fmt.Errorf("facts of %s: %w", d.ID, err)
	}
	if len(d.Facts) == 0 {
		d.Facts = nil // as Parse makes them: nil, never empty
	}
	return d, nil
}

// queryDoc returns the first document the query finds; found is false when
// there is none.
func (s *Store) queryDoc(ctx context.Context, query string, args ...any) (kg.Doc, bool, error) {
	d, err := scanDoc(s.lookup.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return kg.Doc{}, false, nil
	}
	if err != nil {
		return kg.Doc{}, false, err
	}
	return d, true, nil
}

// Doc returns the document with the given id.
func (s *Store) Doc(ctx context.Context, id string) (kg.Doc, error) {
	d, ok, err := s.queryDoc(ctx, `SELECT `+docColumns+` FROM docs WHERE id = ?`, id)
	if err != nil {
		return kg.Doc{}, fmt.Errorf("embedded: doc %q: %w", id, err)
	}
	if !ok {
		return kg.Doc{}, fmt.Errorf("embedded: doc %q: %w", id, kg.ErrNotFound)
	}
	return d, nil
}

// DocByTitle finds a document by its exact title, then by a redirect that
// leads to it, then by its title ignoring case; each first as given and
// then normalised ("foo_bar" -> "Foo bar"). Of several matches the smallest
// id wins.
func (s *Store) DocByTitle(ctx context.Context, title string) (kg.Doc, error) {
	forms := []string{title}
	if n := kg.NormalizeTitle(title); n != title && n != "" {
		forms = append(forms, n)
	}
	lookups := []struct {
		query string
		key   func(string) string
	}{
		{`SELECT ` + docColumns + ` FROM docs WHERE title = ? ORDER BY id LIMIT 1`, nil},
		{`SELECT ` + docColumns + ` FROM docs WHERE id = (
			SELECT doc_id FROM aliases WHERE alias = ? AND kind = 'redirect' ORDER BY doc_id LIMIT 1)`, nil},
		{`SELECT ` + docColumns + ` FROM docs WHERE title_fold = ? ORDER BY id LIMIT 1`, kg.TitleKey},
	}
	for _, l := range lookups {
		for _, f := range forms {
			if l.key != nil {
				f = l.key(f)
			}
			d, ok, err := s.queryDoc(ctx, l.query, f)
			if err != nil {
				return kg.Doc{}, fmt.Errorf("embedded: doc by title %q: %w", title, err)
			}
			if ok {
				return d, nil
			}
		}
	}
	return kg.Doc{}, fmt.Errorf("embedded: doc by title %q: %w", title, kg.ErrNotFound)
}

// DocByURL finds a document by its URL as stored, or spelled otherwise
// (percent-escaped or not, spaces for underscores, http, mobile host, with
// a #fragment).
func (s *Store) DocByURL(ctx context.Context, u string) (kg.Doc, error) {
	for _, q := range []struct{ sql, arg string }{
		{`SELECT ` + docColumns + ` FROM docs WHERE url = ? ORDER BY id LIMIT 1`, u},
		{`SELECT ` + docColumns + ` FROM docs WHERE url_key = ? ORDER BY id LIMIT 1`, kg.URLKey(u)},
	} {
		d, ok, err := s.queryDoc(ctx, q.sql, q.arg)
		if err != nil {
			return kg.Doc{}, fmt.Errorf("embedded: doc by url %q: %w", u, err)
		}
		if ok {
			return d, nil
		}
	}
	return kg.Doc{}, fmt.Errorf("embedded: doc by url %q: %w", u, kg.ErrNotFound)
}

// Aliases lists a document's aliases, redirects first, each kind sorted.
func (s *Store) Aliases(ctx context.Context, docID string) ([]kg.Alias, error) {
	rows, err := s.lookup.QueryContext(ctx,
		`SELECT alias, kind FROM aliases WHERE doc_id = ? ORDER BY kind DESC, alias`, docID)
	if err != nil {
		return nil, fmt.Errorf("embedded: aliases of %q: %w", docID, err)
	}
	defer rows.Close()
	var out []kg.Alias
	for rows.Next() {
		a := kg.Alias{DocID: docID}
		if err := rows.Scan(&a.Alias, &a.Kind); err != nil {
			return nil, fmt.Errorf("embedded: aliases of %q: %w", docID, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("embedded: aliases of %q: %w", docID, err)
	}
	return out, nil
}

// maxQueryTerms bounds the work one search may ask for.
const maxQueryTerms = 32

// ftsQuery turns free text into an FTS5 query that cannot be a syntax
// error: the words (runs of letters, digits and marks, as FTS5's unicode61
// tokenizer cuts them) each quoted as a string, joined with OR so that a
// document matching only some words is still found, ranked lower.
func ftsQuery(q string) string {
	words := strings.FieldsFunc(q, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsMark(r)
	})
	seen := make(map[string]bool, len(words))
	terms := make([]string, 0, len(words))
	for _, w := range words {
		k := strings.ToLower(w)
		if seen[k] {
			continue
		}
		seen[k] = true
		terms = append(terms, `"`+w+`"`)
		if len(terms) == maxQueryTerms {
			break
		}
	}
	return strings.Join(terms, " OR ")
}

// snippetChars is the length of a snippet built without a match in the text.
const snippetChars = 200

// Search ranks documents by BM25 over title (weight 10) and text (weight
// 1); Score is -bm25, higher is better. Among the matches, documents whose
// title is the query (ignoring case) come first and then those a redirect
// of that name leads to, whatever their score: BM25 alone may prefer
// "Cecilia Abena Dapaah" for the query "Cecilia Dapaah" when that page says
// the name more often, and someone who types a title means that page.
// Equal ranks are ordered by id, so results are deterministic. The index is
// built by Finish.
func (s *Store) Search(ctx context.Context, query string, limit int) ([]kg.SearchHit, error) {
	hits, err := s.searchIndexed(ctx, query, limit)
	if errors.Is(err, errNoIndex) {
		// A store last finished by a version without the index: its FTS5
		// table, when it has one, serves until the next Finish.
		var fts int
		if err := s.lookup.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE name = 'fts'`).Scan(&fts); err != nil {
			return nil, fmt.Errorf("embedded: search %q: %w", query, err)
		}
		if fts == 0 {
			return nil, nil
		}
		return s.searchFTS(ctx, query, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded: search %q: %w", query, err)
	}
	return hits, nil
}

// searchFTS is Search as versions before the search index made it, by
// FTS5 alone: bm25() over every document that matches a word. It serves
// stores they finished, and is what the tests compare the index with.
func (s *Store) searchFTS(ctx context.Context, query string, limit int) ([]kg.SearchHit, error) {
	match := ftsQuery(query)
	if match == "" || limit <= 0 {
		return nil, nil
	}
	// The query as a title: spacing tidied, nothing dropped (NormalizeTitle
	// would read "C#" as "C").
	title := kg.UpperFirst(strings.Join(strings.Fields(strings.ReplaceAll(query, "_", " ")), " "))
	// Ranking first and snippets after: snippet() and reading d.text cost
	// most of a search when done for every match of the OR query, and only
	// the top `limit` need them.
	rows, err := s.lookup.QueryContext(ctx, `
		WITH top AS MATERIALIZED (
			SELECT fts.rowid AS n, d.id AS id, bm25(fts, 10.0, 1.0) AS rank,
				CASE WHEN d.title_fold = ?2 THEN 0
					WHEN d.id IN (SELECT doc_id FROM aliases WHERE alias = ?3 AND kind = 'redirect') THEN 1
					ELSE 2 END AS tier
			FROM fts JOIN docs d ON d.n = fts.rowid
			WHERE fts MATCH ?1
			ORDER BY tier, rank, d.id
			LIMIT ?4)
		SELECT top.id, d.title, d.url, snippet(fts, 1, '', '', '…', 32), top.rank, d.text, top.tier
		FROM fts CROSS JOIN top ON top.n = fts.rowid CROSS JOIN docs d ON d.n = top.n
		WHERE fts MATCH ?1
		ORDER BY top.tier, top.rank, top.id`, match, kg.TitleKey(title), title, limit)
	if err != nil {
		return nil, fmt.Errorf("embedded: search %q: %w", query, err)
	}
	defer rows.Close()
	var hits []kg.SearchHit
	for rows.Next() {
		var h kg.SearchHit
		var rank float64
		var text string
		var tier int
		if err := rows.Scan(&h.DocID, &h.Title, &h.URL, &h.Snippet, &rank, &text, &tier); err != nil {
			return nil, fmt.Errorf("embedded: search %q: %w", query, err)
		}
		h.Score = -rank
		if strings.TrimSpace(h.Snippet) == "" {
			h.Snippet = kg.LeadSnippet(text, snippetChars)
		}
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("embedded: search %q: %w", query, err)
	}
	return hits, nil
}

// Snapshot reads documents and links into a kg.Graph, in one read
// transaction so the two agree.
func (s *Store) Snapshot(ctx context.Context) (*kg.Graph, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("embedded: snapshot: %w", err)
	}
	defer tx.Rollback()
	nodes, err := snapshotNodes(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("embedded: snapshot: %w", err)
	}
	links, err := snapshotLinks(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("embedded: snapshot: %w", err)
	}
	g, err := kg.BuildGraph(nodes, links)
	if err != nil {
		return nil, fmt.Errorf("embedded: snapshot: %w", err)
	}
	return g, nil
}

func snapshotNodes(ctx context.Context, tx *sql.Tx) ([]kg.GraphNode, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, title, kind FROM docs ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read docs: %w", err)
	}
	defer rows.Close()
	var nodes []kg.GraphNode
	for rows.Next() {
		var n kg.GraphNode
		var kind string
		if err := rows.Scan(&n.ID, &n.Title, &kind); err != nil {
			return nil, fmt.Errorf("read docs: %w", err)
		}
		n.Walkable = kg.Doc{Kind: kind}.Walkable()
		nodes = append(nodes, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read docs: %w", err)
	}
	return nodes, nil
}

// snapshotLinks reads the first link of each (src, dst) pair in key order,
// which is the one BuildGraph keeps as evidence; the others would only
// cost memory.
func snapshotLinks(ctx context.Context, tx *sql.Tx) ([]kg.Link, error) {
	rows, err := tx.QueryContext(ctx, `SELECT src, dst, anchor, sentence FROM links ORDER BY src, dst, anchor, sentence`)
	if err != nil {
		return nil, fmt.Errorf("read links: %w", err)
	}
	defer rows.Close()
	var links []kg.Link
	var src, dst, anchor, sentence sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&src, &dst, &anchor, &sentence); err != nil {
			return nil, fmt.Errorf("read links: %w", err)
		}
		if n := len(links); n > 0 && links[n-1].Src == string(src) && links[n-1].Dst == string(dst) {
			continue
		}
		l := kg.Link{Src: string(src), Dst: string(dst), Anchor: string(anchor), Sentence: string(sentence)}
		if n := len(links); n > 0 && links[n-1].Src == l.Src {
			l.Src = links[n-1].Src // share one string per source
		}
		links = append(links, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read links: %w", err)
	}
	return links, nil
}

// Counts counts the rows of each table. Unresolved is the number of raw
// links whose target reached no document at the last Finish (0 before the
// first).
func (s *Store) Counts(ctx context.Context) (kg.Counts, error) {
	var c kg.Counts
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM docs),
		(SELECT COUNT(*) FROM links),
		(SELECT COUNT(*) FROM aliases),
		(SELECT COUNT(*) FROM raw_links),
		COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'unresolved'), 0)`).
		Scan(&c.Docs, &c.Links, &c.Aliases, &c.RawLinks, &c.Unresolved)
	if err != nil {
		return kg.Counts{}, fmt.Errorf("embedded: counts: %w", err)
	}
	return c, nil
}
