package embedded

import (
	"container/heap"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/miroverse/miroverse/kg"
)

// The search index. FTS5, which searched before it, finds every document
// that has a word of the query, and its bm25() then reads, for every
// phrase of the query, the whole list of the documents that hold it (to
// count them) before scoring each match on the SQL virtual machine: both
// cost the corpus for a common word, and its doclists carry every word's
// positions. The store keeps its own index instead, built by Finish:
//
//   - search_postings: per word, the documents that hold it, in docs.n
//     order, each with the word's count in the title and in the text (no
//     positions), as varint deltas in a blob;
//   - search_docs: per document (by n) its length in words, title and text,
//     and the rank of its id among all ids (for ties);
//   - meta: the number of documents and words at the build, and a build id.
//
// A search reads the lists of its words and scores them in Go with FTS5's
// own bm25 formula (k1 1.2, b 0.75, weights 10 and 1, IDF floored at 1e-6,
// SQLite's ln), so its hits, their order and their scores are those bm25()
// gave, at a cost that follows the lists read: a few ns a posting. The
// snippets of the hits are cut by snippet()'s rules (snippet.go), from the
// text of the hit as it is now. The words are those of FTS5's unicode61
// tokenizer, which tokenize.go asks about every code point it meets; a
// query word that it cuts in pieces (Devanagari at each vowel sign) is
// searched as its pieces, where FTS5 read a phrase of them.
//
// Why not FTS5 with early termination: it has none to offer. bm25() counts
// every phrase's documents on each query (xQueryPhrase walks the whole
// doclist), ORDER BY rank LIMIT k still scores every match, no auxiliary
// function gives a row's word counts without bm25(), and fts5vocab counts
// documents by walking doclists too. What is left (dropping common words,
// AND before OR, a title pre-pass) changes which documents match, and the
// positions in FTS5's doclists make its index 2.5 times this one (50 MB
// and 20 MB for 20k generated articles of 3 KB). Why not bleve (Apache-2.0, served here): its top-N
// collector also scores every match of a disjunction, and it would keep a
// second store in files of its own beside the SQLite file, outside its
// transactions. Exact scoring does read the whole list of a word that most
// documents hold (N postings, ~2.5 bytes and ~3 ns each); block maxima
// with MaxScore would let a search skip most of it, if that ever matters.

// searchSchema creates the search index tables; every statement is
// idempotent.
func searchSchema() []string {
	return []string{
		postingsTable,
		`CREATE TABLE IF NOT EXISTS search_docs(part INTEGER PRIMARY KEY, data BLOB NOT NULL)`,
	}
}

// postingsTable holds one row per word, written in word order by each
// build (so its pages and its index's fill up in order).
const postingsTable = `CREATE TABLE IF NOT EXISTS search_postings(
		term TEXT NOT NULL PRIMARY KEY, df INTEGER NOT NULL, data BLOB NOT NULL)`

// BM25 parameters, those of FTS5's bm25() and of the weights Search gives
// it. They are variables so that the arithmetic happens in float64, as in
// SQLite, and not in Go's exact constant arithmetic.
var (
	bm25K1          = 1.2
	bm25B           = 0.75
	bm25TitleWeight = 10
)

// docsPerPart is the number of documents of one search_docs row.
const docsPerPart = 1 << 16

// searchRunBudget bounds the postings held in memory while the index is
// built; past it they are written as one run. Tests make it small.
const searchRunBudget = 96 << 20

// searchMeta keys.
const (
	metaSearchBuild  = "search_build"
	metaSearchDocs   = "search_docs"
	metaSearchTokens = "search_tokens"
	metaSearchRuns   = "search_runs" // how many runs the build wrote
)

// indexBuilder accumulates the postings of one run.
type indexBuilder struct {
	dict  map[string]int32
	terms []string
	data  [][]byte
	last  []int64
	df    []int64
	bytes int
	run   int
	// per document
	doc         map[string]int32 // its words' ids
	title, text []int32          // counts by term id
	touched     []int32
	runs        []string // files of the runs written
}

func newIndexBuilder(run int) *indexBuilder {
	return &indexBuilder{dict: map[string]int32{}, doc: map[string]int32{}, run: run}
}

func (b *indexBuilder) id(tok []byte) int32 {
	if id, ok := b.dict[string(tok)]; ok {
		return id
	}
	id := int32(len(b.terms))
	t := string(tok)
	b.dict[t] = id
	b.terms = append(b.terms, t)
	b.data = append(b.data, nil)
	b.last = append(b.last, 0)
	b.df = append(b.df, 0)
	b.title = append(b.title, 0)
	b.text = append(b.text, 0)
	b.bytes += len(t) + 96
	return id
}

// add appends document n's postings; its words were counted into title
// and text.
func (b *indexBuilder) add(n int64) {
	for _, id := range b.touched {
		tt, tx := b.title[id], b.text[id]
		d := b.data[id]
		before := cap(d)
		d = binary.AppendUvarint(d, uint64(n-b.last[id]))
		v := uint64(tx) << 1
		if tt > 0 {
			v |= 1
		}
		d = binary.AppendUvarint(d, v)
		if tt > 0 {
			d = binary.AppendUvarint(d, uint64(tt))
		}
		b.bytes += cap(d) - before
		b.data[id] = d
		b.last[id] = n
		b.df[id]++
		b.title[id], b.text[id] = 0, 0
	}
	b.touched = b.touched[:0]
	clear(b.doc)
}

// buildSearchIndex rebuilds the search index from the docs table, in
// Finish's transaction. Its cost is one pass over the documents and one
// over their ids; its memory is searchRunBudget plus eight bytes a
// document, and runs past the budget are merged from files in one more
// pass.
func (s *Store) buildSearchIndex(ctx context.Context, tx *sql.Tx) error {
	for _, stmt := range []string{`DROP TABLE IF EXISTS search_postings`, postingsTable, `DELETE FROM search_docs`} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	var maxN int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(n), 0) FROM docs`).Scan(&maxN); err != nil {
		return fmt.Errorf("count docs: %w", err)
	}
	lens := make([]uint32, maxN+1)
	ranks := make([]uint32, maxN+1)
	if err := idRanks(ctx, tx, ranks); err != nil {
		return err
	}
	// Runs past the memory budget go to files beside the store, removed
	// when the build ends (and, left by a crash, when the next begins).
	dir, base := filepath.Split(s.path)
	dir = filepath.Join(dir, "."+base+".search")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := newIndexBuilder(0)
	var docs, tokens int64
	var buf []byte
	const batch = 2000
	type row struct {
		n           int64
		title, text string
	}
	rowsBuf := make([]row, 0, batch)
	for after := int64(0); ; {
		rows, err := tx.QueryContext(ctx, `SELECT n, title, text FROM docs WHERE n > ? ORDER BY n LIMIT ?`, after, batch)
		if err != nil {
			return fmt.Errorf("read docs: %w", err)
		}
		rowsBuf = rowsBuf[:0]
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.n, &r.title, &r.text); err != nil {
				rows.Close()
				return fmt.Errorf("read docs: %w", err)
			}
			rowsBuf = append(rowsBuf, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read docs: %w", err)
		}
		if len(rowsBuf) == 0 {
			break
		}
		after = rowsBuf[len(rowsBuf)-1].n
		for _, r := range rowsBuf {
			if err := s.tok.learn(ctx, r.title, r.text); err != nil {
				return err
			}
			var length uint32
			for col, text := range []string{r.title, r.text} {
				buf = s.tok.tokens(text, buf, func(tok []byte, _, _ int) {
					length++
					// A document's own words first: a small map that stays
					// in cache, in front of the run's dictionary.
					id, ok := b.doc[string(tok)]
					if !ok {
						id = b.id(tok)
						b.doc[b.terms[id]] = id
						b.touched = append(b.touched, id)
					}
					if col == 0 {
						b.title[id]++
					} else {
						b.text[id]++
					}
				})
			}
			b.add(r.n)
			lens[r.n] = length
			docs++
			tokens += int64(length)
			if b.bytes > s.runBudget {
				if err := b.spill(dir); err != nil {
					return err
				}
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	runs := int64(len(b.runs)) + 1
	if err := b.write(ctx, tx, dir); err != nil {
		return err
	}
	part := make([]byte, 0, 8*docsPerPart)
	for lo := int64(0); lo <= maxN; lo += docsPerPart {
		part = part[:0]
		for n := lo; n < min(lo+docsPerPart, maxN+1); n++ {
			part = binary.LittleEndian.AppendUint32(part, lens[n])
			part = binary.LittleEndian.AppendUint32(part, ranks[n])
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO search_docs(part, data) VALUES (?, ?)`, lo/docsPerPart, part); err != nil {
			return fmt.Errorf("write doc lengths: %w", err)
		}
	}
	for k, v := range map[string]int64{metaSearchDocs: docs, metaSearchTokens: tokens, metaSearchRuns: runs} {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)`, k, strconv.FormatInt(v, 10)); err != nil {
			return err
		}
	}
	// A new build id tells every reader to reload search_docs.
	_, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES (?, '1')
		ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)`, metaSearchBuild)
	return err
}

// idRanks sets ranks[n] to the place of document n's id in byte order.
func idRanks(ctx context.Context, tx *sql.Tx, ranks []uint32) error {
	rows, err := tx.QueryContext(ctx, `SELECT n FROM docs ORDER BY id`)
	if err != nil {
		return fmt.Errorf("rank ids: %w", err)
	}
	defer rows.Close()
	var i uint32
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return fmt.Errorf("rank ids: %w", err)
		}
		if n >= 0 && n < int64(len(ranks)) {
			ranks[n] = i
		}
		i++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("rank ids: %w", err)
	}
	return nil
}

// searchIndex is what a search needs in memory, as of one build: per
// document bm25's length term k1 × (1 − b + b × length / average length),
// computed as bm25() does, and the rank of its id; the number of
// documents.
type searchIndex struct {
	build string
	norm  []float64
	ranks []uint32
	docs  int64
	pool  sync.Pool // *accumulator
}

// accumulator holds the scores of one search.
type accumulator struct {
	score   []float64
	touched []int32
}

// querier is what a search reads through: the read transaction it runs
// in.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// loadSearchIndex returns the index of the build q sees, reading it when
// Finish has built another since the last search; nil when no Finish has
// built one. Searches run in one read transaction, so that the postings
// they read are of the build whose arrays they use.
func (s *Store) loadSearchIndex(ctx context.Context, tx querier) (*searchIndex, error) {
	var build string
	err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, metaSearchBuild).Scan(&build)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if idx := s.search.Load(); idx != nil && idx.build == build {
		return idx, nil
	}
	s.searchMu.Lock()
	defer s.searchMu.Unlock()
	if idx := s.search.Load(); idx != nil && idx.build == build {
		return idx, nil
	}
	idx := &searchIndex{}
	var tokens int64
	var lens []uint32
	err = tx.QueryRowContext(ctx, `SELECT
		(SELECT value FROM meta WHERE key = ?), (SELECT value FROM meta WHERE key = ?), (SELECT value FROM meta WHERE key = ?)`,
		metaSearchBuild, metaSearchDocs, metaSearchTokens).Scan(&idx.build, &idx.docs, &tokens)
	if err != nil {
		return nil, fmt.Errorf("read search index totals: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT data FROM search_docs ORDER BY part`)
	if err != nil {
		return nil, fmt.Errorf("read doc lengths: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("read doc lengths: %w", err)
		}
		for i := 0; i+8 <= len(data); i += 8 {
			lens = append(lens, binary.LittleEndian.Uint32(data[i:]))
			idx.ranks = append(idx.ranks, binary.LittleEndian.Uint32(data[i+4:]))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read doc lengths: %w", err)
	}
	var avgdl float64
	if idx.docs > 0 {
		avgdl = float64(tokens) / float64(idx.docs)
	}
	k1, b := bm25K1, bm25B
	idx.norm = make([]float64, len(lens))
	for n, l := range lens {
		idx.norm[n] = float64(k1 * (1 - b + float64(b*float64(l))/avgdl))
	}
	idx.pool.New = func() any { return &accumulator{score: make([]float64, len(idx.norm))} }
	s.search.Store(idx)
	return idx, nil
}

// queryWords are the words of free text as ftsQuery quotes them: runs of
// letters, digits and marks, the first of each spelling ignoring case, at
// most maxQueryTerms.
func queryWords(q string) []string {
	words := strings.FieldsFunc(q, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsMark(r)
	})
	seen := make(map[string]bool, len(words))
	out := make([]string, 0, len(words))
	for _, w := range words {
		k := strings.ToLower(w)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, w)
		if len(out) == maxQueryTerms {
			break
		}
	}
	return out
}

// ranked is a matching document and its order key.
type ranked struct {
	n     int32
	tier  int8
	score float64
	rank  uint32
}

// before is the order of Search: tier, then score (higher first), then id.
func (a ranked) before(b ranked) bool {
	if a.tier != b.tier {
		return a.tier < b.tier
	}
	if a.score != b.score {
		return a.score > b.score
	}
	return a.rank < b.rank
}

// worstFirst is a heap of the best hits so far, the worst on top.
type worstFirst []ranked

func (h worstFirst) Len() int           { return len(h) }
func (h worstFirst) Less(i, j int) bool { return h[j].before(h[i]) }
func (h worstFirst) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *worstFirst) Push(x any)        { *h = append(*h, x.(ranked)) }
func (h *worstFirst) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// errNoIndex says that no Finish has built the search index.
var errNoIndex = errors.New("no search index")

// searchIndexed is Search over the store's index; errNoIndex when it has
// none.
func (s *Store) searchIndexed(ctx context.Context, query string, limit int) ([]kg.SearchHit, error) {
	words := queryWords(query)
	if len(words) == 0 || limit <= 0 {
		return nil, nil
	}
	tx, err := s.lookup.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	idx, err := s.loadSearchIndex(ctx, tx)
	if err != nil {
		return nil, err
	}
	if idx == nil {
		return nil, errNoIndex
	}
	if err := s.tok.learn(ctx, words...); err != nil {
		return nil, err
	}
	// The terms are the words' tokens in order. A word is one token but
	// where the tokenizer cuts a run of letters and marks (at a vowel sign
	// of an Indic script, say); each piece then counts as a word.
	var terms []string
	var buf []byte
	for _, w := range words {
		buf = s.tok.tokens(w, buf, func(tok []byte, _, _ int) {
			if len(terms) < maxQueryTerms {
				terms = append(terms, string(tok))
			}
		})
	}
	if len(terms) == 0 {
		return nil, nil
	}
	acc := idx.pool.Get().(*accumulator)
	defer func() {
		for _, n := range acc.touched {
			acc.score[n] = 0
		}
		acc.touched = acc.touched[:0]
		idx.pool.Put(acc)
	}()
	for _, t := range terms {
		if err := s.scoreTerm(ctx, tx, idx, acc, t); err != nil {
			return nil, err
		}
	}
	if len(acc.touched) == 0 {
		return nil, nil
	}
	tiers, err := s.titleTiers(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	h := make(worstFirst, 0, min(limit, len(acc.touched)))
	for _, n := range acc.touched {
		r := ranked{n: n, tier: 2, score: acc.score[n], rank: idx.ranks[n]}
		if t, ok := tiers[int64(n)]; ok {
			r.tier = t
		}
		if len(h) < limit {
			heap.Push(&h, r)
		} else if r.before(h[0]) {
			h[0] = r
			heap.Fix(&h, 0)
		}
	}
	slices.SortFunc(h, func(a, b ranked) int {
		if a.before(b) {
			return -1
		}
		return 1
	})
	return s.hits(ctx, tx, terms, h)
}

// scoreTerm adds one phrase's bm25 term to the score of every document
// that holds it, exactly as FTS5's bm25() computes it.
func (s *Store) scoreTerm(ctx context.Context, tx querier, idx *searchIndex, acc *accumulator, term string) error {
	// The IDF by SQLite's ln(), which is the C library's log() that bm25()
	// calls and may differ from math.Log in the last bit; the arithmetic
	// around it is bm25()'s. Reading df leaves the blobs unread.
	var df int64
	var idf float64
	err := tx.QueryRowContext(ctx, `SELECT total, ln((CAST(?1 - total AS REAL) + 0.5) / (CAST(total AS REAL) + 0.5))
		FROM (SELECT COALESCE(SUM(df), 0) AS total FROM search_postings WHERE term = ?2)`, idx.docs, term).Scan(&df, &idf)
	if err != nil {
		return err
	}
	if df == 0 {
		return nil
	}
	if idf <= 0 {
		idf = 1e-6
	}
	rows, err := tx.QueryContext(ctx, `SELECT data FROM search_postings WHERE term = ? ORDER BY rowid`, term)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var data sql.RawBytes // decoded before the next row, so never copied
		if err := rows.Scan(&data); err != nil {
			return err
		}
		if err := idx.score(acc, term, idf, data); err != nil {
			return err
		}
	}
	return rows.Err()
}

// score adds the bm25 term of one posting list to the documents it names.
func (idx *searchIndex) score(acc *accumulator, term string, idf float64, data []byte) error {
	k1p1 := bm25K1 + 1
	wt := float64(bm25TitleWeight)
	var n int64
	for i := 0; i < len(data); {
		d, k := binary.Uvarint(data[i:])
		if k <= 0 {
			return fmt.Errorf("search index: bad posting list of %q", term)
		}
		i += k
		v, k := binary.Uvarint(data[i:])
		if k <= 0 {
			return fmt.Errorf("search index: bad posting list of %q", term)
		}
		i += k
		var tt uint64
		if v&1 != 0 {
			if tt, k = binary.Uvarint(data[i:]); k <= 0 {
				return fmt.Errorf("search index: bad posting list of %q", term)
			}
			i += k
		}
		n += int64(d)
		if n >= int64(len(idx.norm)) {
			return fmt.Errorf("search index: posting of %q past the documents", term)
		}
		f := float64(tt)*wt + float64(v>>1)
		c := float64(idf * (float64(f*k1p1) / (f + idx.norm[n])))
		if acc.score[n] == 0 {
			acc.touched = append(acc.touched, int32(n))
		}
		acc.score[n] += c
	}
	return nil
}

// titleTiers maps the documents named by the query to their tier: 0 when
// the title is the query ignoring case, 1 when a redirect of that name
// leads to it.
func (s *Store) titleTiers(ctx context.Context, tx querier, query string) (map[int64]int8, error) {
	title := kg.UpperFirst(strings.Join(strings.Fields(strings.ReplaceAll(query, "_", " ")), " "))
	rows, err := tx.QueryContext(ctx, `
		SELECT n, 0 FROM docs WHERE title_fold = ?1
		UNION ALL
		SELECT n, 1 FROM docs WHERE id IN (SELECT doc_id FROM aliases WHERE alias = ?2 AND kind = 'redirect')`,
		kg.TitleKey(title), title)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]int8{}
	for rows.Next() {
		var n int64
		var t int8
		if err := rows.Scan(&n, &t); err != nil {
			return nil, err
		}
		if old, ok := out[n]; !ok || t < old {
			out[n] = t
		}
	}
	return out, rows.Err()
}

// hits reads the ranked documents and cuts their snippets.
func (s *Store) hits(ctx context.Context, tx querier, terms []string, top []ranked) ([]kg.SearchHit, error) {
	ns := make([]int64, len(top))
	for i, r := range top {
		ns[i] = int64(r.n)
	}
	list, err := json.Marshal(ns)
	if err != nil {
		return nil, err
	}
	type hit struct {
		kg.SearchHit
		text string
	}
	byN := make(map[int64]*hit, len(top))
	rows, err := tx.QueryContext(ctx, `
		SELECT t.value, d.id, d.title, d.url, d.text FROM json_each(?1) t CROSS JOIN docs d ON d.n = t.value`, string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var n int64
		h := &hit{}
		if err := rows.Scan(&n, &h.DocID, &h.Title, &h.URL, &h.text); err != nil {
			return nil, err
		}
		byN[n] = h
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]kg.SearchHit, 0, len(top))
	var buf []byte
	for _, r := range top {
		h := byN[int64(r.n)]
		if h == nil {
			continue // gone since the build
		}
		h.Score = r.score
		if err := s.tok.learn(ctx, h.text); err != nil {
			return nil, err
		}
		h.Snippet, buf = s.tok.snippet(h.text, terms, buf)
		if strings.TrimSpace(h.Snippet) == "" {
			h.Snippet = kg.LeadSnippet(h.text, snippetChars)
		}
		out = append(out, h.SearchHit)
	}
	return out, nil
}
