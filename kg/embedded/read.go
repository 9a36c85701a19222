package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
// id wins. An exact title implies its folded one, so both steps go
// through the one index on title_fold.
func (s *Store) DocByTitle(ctx context.Context, title string) (kg.Doc, error) {
	forms := []string{title}
	if n := kg.NormalizeTitle(title); n != title && n != "" {
		forms = append(forms, n)
	}
	lookups := []struct {
		query string
		args  func(string) []any
	}{
		{`SELECT ` + docColumns + ` FROM docs WHERE title_fold = ?1 AND title = ?2 ORDER BY id LIMIT 1`,
			func(f string) []any { return []any{kg.TitleKey(f), f} }},
		{`SELECT ` + docColumns + ` FROM docs WHERE n = (SELECT doc FROM titles WHERE title = ? AND redirect)`,
			func(f string) []any { return []any{f} }},
		{`SELECT ` + docColumns + ` FROM docs WHERE title_fold = ? ORDER BY id LIMIT 1`,
			func(f string) []any { return []any{kg.TitleKey(f)} }},
	}
	for _, l := range lookups {
		for _, f := range forms {
			d, ok, err := s.queryDoc(ctx, l.query, l.args(f)...)
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
// a #fragment). A URL as written has the key of its other spellings, so
// one index finds both, the exact spelling first.
func (s *Store) DocByURL(ctx context.Context, u string) (kg.Doc, error) {
	d, ok, err := s.queryDoc(ctx, `SELECT `+docColumns+` FROM docs WHERE url_key = ?1 ORDER BY url <> ?2, id LIMIT 1`,
		kg.URLKey(u), u)
	if err != nil {
		return kg.Doc{}, fmt.Errorf("embedded: doc by url %q: %w", u, err)
	}
	if !ok {
		return kg.Doc{}, fmt.Errorf("embedded: doc by url %q: %w", u, kg.ErrNotFound)
	}
	return d, nil
}

// Aliases lists a document's aliases, redirects first, each kind sorted.
func (s *Store) Aliases(ctx context.Context, docID string) ([]kg.Alias, error) {
	rows, err := s.lookup.QueryContext(ctx, `WITH d(n) AS (SELECT n FROM docs WHERE id = ?)
		SELECT alias, kind FROM (
			SELECT title AS alias, 'redirect' AS kind, 0 AS k FROM titles WHERE doc = (SELECT n FROM d) AND redirect
			UNION ALL
			SELECT alias, 'anchor', 1 FROM anchors WHERE doc = (SELECT n FROM d))
		ORDER BY k, alias`, docID)
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
// transaction so the two agree. Nodes are read in rowid order, which
// reads the table once in file order, and sorted by id here; each node's
// links are then read by its key, so the edges come in the graph's order
// and only one node's raw links are held apart from the graph.
func (s *Store) Snapshot(ctx context.Context) (*kg.Graph, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("embedded: snapshot: %w", err)
	}
	defer tx.Rollback()
	g, ns, index, err := snapshotNodes(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("embedded: snapshot: %w", err)
	}
	if err := snapshotEdges(ctx, tx, g, ns, index); err != nil {
		return nil, fmt.Errorf("embedded: snapshot: %w", err)
	}
	return g, nil
}

// snapshotNodes reads every document: the graph's nodes in id order, the
// rowid of each, and the node index of each rowid (-1 for none).
func snapshotNodes(ctx context.Context, tx *sql.Tx) (*kg.Graph, []int64, []int32, error) {
	rows, err := tx.QueryContext(ctx, `SELECT n, id, title, kind FROM docs`)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read docs: %w", err)
	}
	defer rows.Close()
	type node struct {
		n         int64
		id, title string
		walkable  bool
	}
	var nodes []node
	var maxN int64
	for rows.Next() {
		var d node
		var kind string
		if err := rows.Scan(&d.n, &d.id, &d.title, &kind); err != nil {
			return nil, nil, nil, fmt.Errorf("read docs: %w", err)
		}
		d.walkable = kg.Doc{Kind: kind}.Walkable()
		nodes = append(nodes, d)
		maxN = max(maxN, d.n)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("read docs: %w", err)
	}
	slices.SortFunc(nodes, func(a, b node) int { return strings.Compare(a.id, b.id) })
	g := &kg.Graph{
		IDs:      make([]string, len(nodes)),
		Titles:   make([]string, len(nodes)),
		Walkable: make([]bool, len(nodes)),
		Offsets:  make([]int32, len(nodes)+1),
	}
	ns := make([]int64, len(nodes))
	index := make([]int32, maxN+1)
	for i := range index {
		index[i] = -1
	}
	for i, d := range nodes {
		g.IDs[i], g.Titles[i], g.Walkable[i], ns[i] = d.id, d.title, d.walkable, d.n
		index[d.n] = int32(i)
	}
	return g, ns, index, nil
}

// linkRowsSQL reads one source's links: destination, anchor, sentence.
const linkRowsSQL = `SELECT abs(r.dst), r.anchor, ` + "%s" + ` FROM raw_links r JOIN docs s ON s.n = r.src
	WHERE r.src = ? AND r.dst <> 0 AND r.dst > -2147483648`

// snapshotEdges fills the graph's edges: per node, one edge per linked
// document, with the smallest (anchor, sentence) as evidence, as
// kg.BuildGraph keeps them.
func snapshotEdges(ctx context.Context, tx *sql.Tx, g *kg.Graph, ns []int64, index []int32) error {
	stmt, err := tx.PrepareContext(ctx, fmt.Sprintf(linkRowsSQL, sentenceSQL("r.sent", "s.text")))
	if err != nil {
		return fmt.Errorf("read links: %w", err)
	}
	defer stmt.Close()
	type edge struct {
		dst              int32
		anchor, sentence string
	}
	var group []edge
	for i, n := range ns {
		group = group[:0]
		rows, err := stmt.QueryContext(ctx, n)
		if err != nil {
			return fmt.Errorf("read links: %w", err)
		}
		for rows.Next() {
			var dst int64
			var e edge
			if err := rows.Scan(&dst, &e.anchor, &e.sentence); err != nil {
				rows.Close()
				return fmt.Errorf("read links: %w", err)
			}
			if dst < int64(len(index)) && index[dst] >= 0 {
				e.dst = index[dst]
				group = append(group, e)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read links: %w", err)
		}
		slices.SortFunc(group, func(a, b edge) int {
			if a.dst != b.dst {
				return int(a.dst - b.dst)
			}
			if c := strings.Compare(a.anchor, b.anchor); c != 0 {
				return c
			}
			return strings.Compare(a.sentence, b.sentence)
		})
		for k, e := range group {
			if k > 0 && group[k-1].dst == e.dst {
				continue
			}
			g.Targets = append(g.Targets, e.dst)
			g.Anchors = append(g.Anchors, e.anchor)
			g.Sentences = append(g.Sentences, e.sentence)
		}
		g.Offsets[i+1] = int32(len(g.Targets))
	}
	return nil
}

// Counts reads the counters that writes and Finish keep, and counts the
// documents. Unresolved is the number of raw links whose target reached no
// document at the last Finish (0 before the first).
func (s *Store) Counts(ctx context.Context) (kg.Counts, error) {
	var c kg.Counts
	counter := func(key string) string {
		return `COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = '` + key + `'), 0)`
	}
	err := s.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM docs), `+counter("links")+`, `+
		counter("aliases")+`, `+counter("raw_links")+`, `+counter("unresolved")).
		Scan(&c.Docs, &c.Links, &c.Aliases, &c.RawLinks, &c.Unresolved)
	if err != nil {
		return kg.Counts{}, fmt.Errorf("embedded: counts: %w", err)
	}
	return c, nil
}
