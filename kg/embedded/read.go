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
const docColumns = `id, title, url, source, lang, text, categories, kind, facts, date, hash, origin`

func scanDoc(row interface{ Scan(...any) error }) (kg.Doc, error) {
	var d kg.Doc
	var cats, facts string
	if err := row.Scan(&d.ID, &d.Title, &d.URL, &d.Source, &d.Lang, &d.Text, &cats, &d.Kind, &facts, &d.Date, &d.Hash, &d.Origin); err != nil {
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
	st, err := s.prepared(ctx, query)
	if err != nil {
		return kg.Doc{}, false, err
	}
	d, err := scanDoc(st.QueryRowContext(ctx, args...))
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

// DocMeta returns the document with the given id without its text, which
// it does not read.
func (s *Store) DocMeta(ctx context.Context, id string) (kg.Doc, error) {
	d, ok, err := s.queryDoc(ctx, `SELECT `+strings.Replace(docColumns, "text", "'' AS text", 1)+` FROM docs WHERE id = ?`, id)
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
// a #fragment), else by a web redirect from that URL. A URL as written has the key of its other spellings, so
// one index finds both, the exact spelling first.
func (s *Store) DocByURL(ctx context.Context, u string) (kg.Doc, error) {
	d, ok, err := s.queryDoc(ctx, `SELECT `+docColumns+` FROM docs WHERE url_key = ?1 ORDER BY url <> ?2, id LIMIT 1`,
		kg.URLKey(u), u)
	if err == nil && !ok {
		// A web URL that redirects (3xx, canonical link, duplicate capture)
		// is a redirect alias named by its URL key.
		d, ok, err = s.queryDoc(ctx, `SELECT `+docColumns+` FROM docs WHERE n = (SELECT doc FROM titles WHERE title = ? AND redirect)`,
			kg.URLKey(u))
	}
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
	if s.noSearch {
		return nil, fmt.Errorf("embedded %s: search %q: the store was opened without a search index (Options.NoSearchIndex)", s.path, query)
	}
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
// reads the table once in file order, and sorted by id here; the links
// then come in one pass in source-rowid order (snapshotEdges), which the
// builder puts in the graph's order.
func (s *Store) Snapshot(ctx context.Context) (*kg.Graph, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("embedded: snapshot: %w", err)
	}
	defer tx.Rollback()
	b, index, err := snapshotNodes(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("embedded: snapshot: %w", err)
	}
	if err := snapshotEdges(ctx, tx, b, index); err != nil {
		return nil, fmt.Errorf("embedded: snapshot: %w", err)
	}
	return b.Graph(), nil
}

// snapshotNodes reads every document: a builder of the graph's nodes in
// id order and the node index of each rowid (-1 for none).
func snapshotNodes(ctx context.Context, tx *sql.Tx) (*kg.GraphBuilder, []int32, error) {
	rows, err := tx.QueryContext(ctx, `SELECT n, id, title, kind FROM docs`)
	if err != nil {
		return nil, nil, fmt.Errorf("read docs: %w", err)
	}
	defer rows.Close()
	type node struct {
		kg.GraphNode
		n int64
	}
	var read []node
	var maxN int64
	for rows.Next() {
		var d node
		var kind string
		if err := rows.Scan(&d.n, &d.ID, &d.Title, &kind); err != nil {
			return nil, nil, fmt.Errorf("read docs: %w", err)
		}
		d.Walkable = kg.Doc{Kind: kind}.Walkable()
		read = append(read, d)
		maxN = max(maxN, d.n)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read docs: %w", err)
	}
	slices.SortFunc(read, func(a, b node) int { return strings.Compare(a.ID, b.ID) })
	nodes := make([]kg.GraphNode, len(read))
	index := make([]int32, maxN+1)
	for i := range index {
		index[i] = -1
	}
	for i, d := range read {
		nodes[i] = d.GraphNode
		index[d.n] = int32(i)
	}
	// nodes are in id order already, so the builder keeps their indexes.
	b, err := kg.NewGraphBuilder(nodes)
	if err != nil {
		return nil, nil, err
	}
	return b, index, nil
}

// snapshotEdges adds the graph's edges in one pass over raw_links in
// source order, beside one over the documents' text in the same order for
// the sentences that raw_links holds as references into it; so it reads
// each table once, sequentially, and holds one source's evidence at a
// time.
func snapshotEdges(ctx context.Context, tx *sql.Tx, b *kg.GraphBuilder, index []int32) error {
	links, err := tx.QueryContext(ctx, `SELECT src, abs(dst), anchor, sent FROM raw_links
		WHERE dst <> 0 AND dst > -2147483648 ORDER BY src`)
	if err != nil {
		return fmt.Errorf("read links: %w", err)
	}
	defer links.Close()
	texts, err := tx.QueryContext(ctx, `SELECT n, text FROM docs ORDER BY n`)
	if err != nil {
		return fmt.Errorf("read texts: %w", err)
	}
	defer texts.Close()
	var (
		textN   int64 = -1
		text    string
		group   []kg.GraphEdge
		groupN  int64 = -1
		flushed       = func() error {
			if groupN < 0 || len(group) == 0 {
				return nil
			}
			return b.AddEdges(int(index[groupN]), group)
		}
	)
	// textOf returns document n's text, advancing the texts cursor.
	textOf := func(n int64) (string, error) {
		for textN < n {
			if !texts.Next() {
				if err := texts.Err(); err != nil {
					return "", fmt.Errorf("read texts: %w", err)
				}
				return "", fmt.Errorf("read texts: document %d has links but no row", n)
			}
			if err := texts.Scan(&textN, &text); err != nil {
				return "", fmt.Errorf("read texts: %w", err)
			}
		}
		if textN != n {
			return "", fmt.Errorf("read texts: document %d has links but no row", n)
		}
		return text, nil
	}
	for links.Next() {
		var src, dst int64
		var anchor string
		var sent any
		if err := links.Scan(&src, &dst, &anchor, &sent); err != nil {
			return fmt.Errorf("read links: %w", err)
		}
		if src != groupN {
			if err := flushed(); err != nil {
				return err
			}
			group, groupN = group[:0], src
		}
		if src >= int64(len(index)) || index[src] < 0 || dst >= int64(len(index)) || index[dst] < 0 {
			continue
		}
		e := kg.GraphEdge{Dst: index[dst], Anchor: anchor}
		switch v := sent.(type) {
		case int64:
			t, err := textOf(src)
			if err != nil {
				return err
			}
			off, n := v>>sentLenBits, v&(1<<sentLenBits-1)
			if off < 0 || off+n > int64(len(t)) {
				return fmt.Errorf("read links: sentence %d+%d of document %d lies outside its text of %d bytes", off, n, src, len(t))
			}
			e.Sentence = t[off : off+n]
		case string:
			e.Sentence = v
		case []byte:
			e.Sentence = string(v)
		default:
			return fmt.Errorf("read links: sentence of document %d is a %T", src, sent)
		}
		group = append(group, e)
	}
	if err := links.Err(); err != nil {
		return fmt.Errorf("read links: %w", err)
	}
	return flushed()
}

// linkSQL reads the evidence of one edge, by the ids of its ends.
var linkSQL = `SELECT r.anchor, ` + sentenceSQL("r.sent", "s.text") + ` AS sentence
	FROM docs s JOIN raw_links r ON r.src = s.n JOIN docs d ON d.n = abs(r.dst)
	WHERE s.id = ?1 AND d.id = ?2 AND d.n <> s.n AND r.dst <> 0 AND r.dst > -2147483648
	ORDER BY r.anchor, sentence LIMIT 1`

// Link returns the evidence of the edge src→dst: of the links between
// them the smallest (anchor, sentence), byte-wise as the snapshot orders
// them.
func (s *Store) Link(ctx context.Context, src, dst string) (kg.Link, error) {
	l := kg.Link{Src: src, Dst: dst}
	st, err := s.prepared(ctx, linkSQL)
	if err == nil {
		err = st.QueryRowContext(ctx, src, dst).Scan(&l.Anchor, &l.Sentence)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return kg.Link{}, fmt.Errorf("embedded: link %q -> %q: %w", src, dst, kg.ErrNotFound)
	case err != nil:
		return kg.Link{}, fmt.Errorf("embedded: link %q -> %q: %w", src, dst, err)
	}
	return l, nil
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
