package embedded

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/kgtest"
	"github.com/miroverse/miroverse/kg/wiki"
)

// loadDump writes a dump's articles and redirects of the main namespace and
// finishes.
func loadDump(t *testing.T, s *Store, name string) []kg.Doc {
	t.Helper()
	ctx := context.Background()
	r, err := wiki.Open(kgtest.SharedDump(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	parser := wiki.NewParser(r.SiteInfo())
	var docs []kg.Doc
	var raw []kg.RawLink
	var reds []kg.Redirect
	for {
		p, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.NS != 0 {
			continue
		}
		if red, ok := wiki.RedirectOf(p); ok {
			reds = append(reds, red)
		} else if p.Redirect == "" {
			d, ls := parser.Parse(p)
			docs = append(docs, d)
			raw = append(raw, ls...)
		}
	}
	load(t, s, docs, raw, reds)
	return docs
}

// addFTS gives a finished store the FTS5 table that versions before the
// search index searched, which searchFTS reads.
func addFTS(t testing.TB, s *Store) {
	t.Helper()
	for _, stmt := range []string{
		`CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
		title, text, content='docs', content_rowid='n', tokenize='` + ftsTokenize + `')`,
		`INSERT INTO fts(fts) VALUES('rebuild')`,
	} {
		if _, err := s.db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
}

// oneTokenWords reports whether FTS5 reads every word of q as one token,
// so that its phrases are the index's terms.
func oneTokenWords(t *testing.T, s *Store, q string) bool {
	words := queryWords(q)
	if err := s.tok.learn(context.Background(), words...); err != nil {
		t.Fatal(err)
	}
	for _, w := range words {
		k := 0
		s.tok.tokens(w, nil, func([]byte, int, int) { k++ })
		if k != 1 {
			return false
		}
	}
	return true
}

// sameSearch checks that the index answers q exactly as FTS5's bm25() and
// snippet() do: the same hits, in the same order, with bit-equal scores and
// the same snippets. It reports whether the two could be compared: not
// when a word of q is several tokens, which FTS5 reads as a phrase.
func sameSearch(t *testing.T, s *Store, q string, limit int) bool {
	t.Helper()
	if !oneTokenWords(t, s, q) {
		return false
	}
	ctx := context.Background()
	want, err := s.searchFTS(ctx, q, limit)
	if err != nil {
		t.Fatalf("searchFTS(%q): %v", q, err)
	}
	got, err := s.Search(ctx, q, limit)
	if err != nil {
		t.Fatalf("Search(%q): %v", q, err)
	}
	if len(got) == 0 && len(want) == 0 {
		return true
	}
	if !reflect.DeepEqual(got, want) {
		n := min(len(got), len(want))
		for i := range n {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("Search(%q, %d): hit %d is %+v, FTS5 has %+v", q, limit, i, got[i], want[i])
				return true
			}
		}
		t.Errorf("Search(%q, %d): %d hits, FTS5 has %d", q, limit, len(got), len(want))
	}
	return true
}

// queriesOf are the titles of docs and, from their texts, single words,
// pairs of words and three words with a title, drawn with a fixed seed.
func queriesOf(docs []kg.Doc, n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	var out []string
	for _, d := range docs {
		out = append(out, d.Title)
	}
	for range n {
		d := docs[r.IntN(len(docs))]
		w := strings.Fields(d.Text)
		if len(w) == 0 {
			continue
		}
		pick := func() string { return w[r.IntN(len(w))] }
		switch r.IntN(3) {
		case 0:
			out = append(out, pick())
		case 1:
			out = append(out, pick()+" "+pick())
		default:
			out = append(out, docs[r.IntN(len(docs))].Title+" "+pick()+" "+pick())
		}
	}
	return out
}

// TestSearchIndexMatchesFTS: on real dumps (Fante, with its own letters,
// and English), every title and a sample of words from the texts get from
// the index exactly what FTS5's bm25() gives, at several limits.
func TestSearchIndexMatchesFTS(t *testing.T) {
	for _, tc := range []struct {
		dump    string
		queries int
	}{
		{"fatwiki-20240920-pages-articles-multistream.xml.bz2", 600},
		{"enwiki-2016-excerpt-206p.xml.bz2", 150},
	} {
		t.Run(tc.dump, func(t *testing.T) {
			s := openTemp(t)
			docs := loadDump(t, s, tc.dump)
			addFTS(t, s)
			answered, total := 0, 0
			for i, q := range queriesOf(docs, tc.queries) {
				limit := []int{1, 5, 10, 30}[i%4]
				total++
				if sameSearch(t, s, q, limit) {
					answered++
				}
			}
			t.Logf("%d docs: %d of %d queries compared", len(docs), answered, total)
			if answered*100 < total*99 {
				t.Errorf("only %d of %d queries compared", answered, total)
			}
		})
	}
}

// TestSearchIndexSynthetic: the same on the benchmark's generated corpus,
// whose queries hold the most common words.
func TestSearchIndexSynthetic(t *testing.T) {
	c := makeSynthCorpus(2000, 200)
	s := openTemp(t)
	load(t, s, c.docs, nil, nil)
	addFTS(t, s)
	for i, q := range c.queries {
		if !sameSearch(t, s, q, []int{10, 3, 50, 1000}[i%4]) {
			t.Errorf("Search(%q) not compared", q)
		}
	}
}

// TestTokenizerMatchesFTS: the index's tokenizer gives the words and word
// counts that FTS5's does, on texts of many scripts and on every code point
// of the Basic Multilingual Plane and a sample beyond, each between two
// letters and alone.
func TestTokenizerMatchesFTS(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	texts := []string{
		"Crème brûlée, Ìbàdàn and ɔkwan Ɔkwan ɛ Ɛ; e\u0301t\u0301e\u0301 NAÏVE naïve",
		"Ελληνικά άλφα ΆΛΦΑ; Русский йод ЙОД ёлка; Türkçe İstanbul ıı",
		"नमस्ते दुनिया; ภาษาไทย; 日本語のテキスト; 한국어 텍스트; العربية; עברית",
		"C++ R&D <x> foo_bar a'b 3.14 1,000 x\u00a0y \u2028 end",
		"ǅemal ǈ ﬁ ß ẞ Æsir Œuvre ŉ ǰ ΐ ﬀ Ⅻ ① ¹ ½",
	}
	var b strings.Builder
	for r := rune(0x80); r < 0x30000; r++ {
		if r >= 0x10000 && r%7 != 0 || r >= 0xD800 && r < 0xE000 {
			continue
		}
		b.WriteString(" a")
		b.WriteRune(r)
		b.WriteString("b ")
		b.WriteRune(r)
		if b.Len() > 1<<16 {
			texts = append(texts, b.String())
			b.Reset()
		}
	}
	texts = append(texts, b.String())
	conn, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, stmt := range []string{
		`CREATE VIRTUAL TABLE temp.tk USING fts5(x, tokenize='` + ftsTokenize + `')`,
		`CREATE VIRTUAL TABLE temp.tkv USING fts5vocab(temp, tk, instance)`,
	} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	for i, text := range texts {
		if _, err := conn.ExecContext(ctx, `INSERT INTO temp.tk(rowid, x) VALUES (?, ?)`, i, text); err != nil {
			t.Fatal(err)
		}
	}
	want := make([][]string, len(texts))
	rows, err := conn.QueryContext(ctx, `SELECT doc, term FROM temp.tkv ORDER BY doc, "offset"`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var doc int
		var term string
		if err := rows.Scan(&doc, &term); err != nil {
			t.Fatal(err)
		}
		want[doc] = append(want[doc], term)
	}
	rows.Close()
	for i, text := range texts {
		if err := s.tok.learn(ctx, text); err != nil {
			t.Fatal(err)
		}
		var got []string
		s.tok.tokens(text, nil, func(tok []byte, _, _ int) { got = append(got, string(tok)) })
		if !reflect.DeepEqual(got, want[i]) {
			for j := range min(len(got), len(want[i])) {
				if got[j] != want[i][j] {
					t.Errorf("text %d: token %d is %q (%U), FTS5 has %q (%U)", i, j, got[j], []rune(got[j]), want[i][j], []rune(want[i][j]))
					break
				}
			}
			if len(got) != len(want[i]) {
				t.Errorf("text %d: %d tokens, FTS5 has %d", i, len(got), len(want[i]))
			}
		}
	}
	for i, text := range texts {
		if !utf8.ValidString(text) {
			t.Fatalf("test text %d is not UTF-8", i)
		}
	}
}

// TestSearchIndexFoldedTwice: two words that fold to one token are two
// phrases to FTS5, each scored and each in the snippet's count; so here.
func TestSearchIndexFoldedTwice(t *testing.T) {
	s := openTemp(t)
	load(t, s, []kg.Doc{doc("f:1", "Crème brûlée", "A creme of custard. Crème again."), doc("f:2", "Creme", "creme"),
		doc("f:3", "Other", "no cream here but CRÈME once")}, nil, nil)
	addFTS(t, s)
	for _, q := range []string{"Crème creme", "creme CRÈME crème", "brulee brûlée creme"} {
		if !sameSearch(t, s, q, 10) {
			t.Errorf("Search(%q) not compared", q)
		}
	}
}

// TestSearchIndexRuns: an index built in many runs (a tiny memory budget)
// answers as one built in one.
func TestSearchIndexRuns(t *testing.T) {
	c := makeSynthCorpus(600, 120)
	s := openTemp(t)
	s.runBudget = 4 << 10
	load(t, s, c.docs, nil, nil)
	addFTS(t, s)
	var runs int
	if err := s.db.QueryRow(`SELECT value FROM meta WHERE key = ?`, metaSearchRuns).Scan(&runs); err != nil || runs < 10 {
		t.Fatalf("%d runs, %v; want many", runs, err)
	}
	for i, q := range c.queries {
		sameSearch(t, s, q, []int{10, 100}[i%2])
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(s.path), "."+filepath.Base(s.path)+".search")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the runs' directory is still there: %v", err)
	}
}

// TestSnippetMatchesFTS: snippets cut by the index's rules are FTS5's, on
// texts that put the words at the start, the end, across sentences, twice,
// and not at all.
func TestSnippetMatchesFTS(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	words := strings.Fields("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu")
	r := rand.New(rand.NewPCG(3, 4))
	var texts []string
	for i := range 400 {
		var b strings.Builder
		for j := range r.IntN(120) {
			if j > 0 {
				b.WriteString([]string{" ", " ", " ", ". ", ": ", ", ", "\n\n", ".", " - ", "  "}[r.IntN(10)])
			}
			b.WriteString(words[r.IntN(len(words))])
			if r.IntN(9) == 0 {
				b.WriteString("ñ")
			}
		}
		if i%3 == 0 {
			b.WriteString([]string{".", " …", "\n", ""}[r.IntN(4)])
		}
		texts = append(texts, b.String())
	}
	texts = append(texts, "", "   ", "...", "alpha", "Alpha. Beta: gamma alpha alpha.")
	conn, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE VIRTUAL TABLE temp.sn USING fts5(title, text, tokenize='`+ftsTokenize+`')`); err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		if _, err := conn.ExecContext(ctx, `INSERT INTO temp.sn(rowid, title, text) VALUES (?, 'alpha', ?)`, i, text); err != nil {
			t.Fatal(err)
		}
	}
	queries := []string{"alpha", "alpha beta", "kappa mu gamma", "ALPHA alpha", "zetañ eta", "iota lambda mu kappa theta", "omega alpha"}
	compared := 0
	for _, q := range queries {
		terms := queryWords(q)
		if err := s.tok.learn(ctx, terms...); err != nil {
			t.Fatal(err)
		}
		for i := range terms {
			s.tok.tokens(terms[i], nil, func(tok []byte, _, _ int) { terms[i] = string(tok) })
		}
		for i, text := range texts {
			var want string
			err := conn.QueryRowContext(ctx, `SELECT snippet(sn, 1, '', '', '…', 32) FROM temp.sn WHERE sn MATCH ? AND rowid = ?`,
				ftsQuery(q), i).Scan(&want)
			if errors.Is(err, sql.ErrNoRows) {
				continue // no word of q: never a hit
			}
			if err != nil {
				t.Fatalf("%q in text %d: %v", q, i, err)
			}
			if err := s.tok.learn(ctx, text); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.tok.snippet(text, terms, nil); got != want {
				t.Errorf("snippet of %q in %q:\n got %q\nwant %q", q, text, got, want)
			}
			compared++
		}
	}
	t.Logf("%d snippets compared", compared)
}

// TestSearchSplitWord: a query word that the tokenizer cuts in pieces
// finds documents by each piece, as two words would.
func TestSearchSplitWord(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	// U+093F (a Devanagari vowel sign) is no letter to unicode61.
	load(t, s, []kg.Doc{doc("h:1", "नमस्ते", "पहला text"), doc("h:2", "Other", "hindi दुनि word"), doc("h:3", "Third", "nothing")}, nil, nil)
	hits, err := s.Search(ctx, "दुनिया", 5)
	if err != nil || len(hits) != 1 || hits[0].DocID != "h:2" {
		t.Errorf("Search = %+v, %v; want h:2 by its first piece", hits, err)
	}
}

// TestSearchBeforeIndex: a store finished by a version without the index
// is searched through its FTS5 table until the next Finish, which drops
// it; a store never finished finds nothing.
func TestSearchBeforeIndex(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	if err := s.PutDocs(ctx, []kg.Doc{doc("o:1", "Old", "an old store")}); err != nil {
		t.Fatal(err)
	}
	if hits, err := s.Search(ctx, "old", 5); err != nil || len(hits) != 0 {
		t.Errorf("Search before any Finish = %+v, %v", hits, err)
	}
	addFTS(t, s)
	if hits, err := s.Search(ctx, "old", 5); err != nil || len(hits) != 1 {
		t.Errorf("Search of an FTS5 store = %+v, %v", hits, err)
	}
	if err := s.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	var fts int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM sqlite_schema WHERE name LIKE 'fts%'`).Scan(&fts); err != nil || fts != 0 {
		t.Errorf("%d FTS5 tables after Finish, %v", fts, err)
	}
	if hits, err := s.Search(ctx, "old", 5); err != nil || len(hits) != 1 || hits[0].Snippet != "an old store" {
		t.Errorf("Search after Finish = %+v, %v", hits, err)
	}
}
