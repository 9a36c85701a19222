package embedded

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
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

// sameSearch checks that the index answers q exactly as FTS5's bm25()
// does: the same hits, in the same order, with bit-equal scores and the
// same snippets. It reports whether the index answered at all.
func sameSearch(t *testing.T, s *Store, q string, limit int) bool {
	t.Helper()
	ctx := context.Background()
	want, err := s.searchFTS(ctx, q, limit)
	if err != nil {
		t.Fatalf("searchFTS(%q): %v", q, err)
	}
	got, err := s.searchIndexed(ctx, q, limit)
	if errors.Is(err, errFallback) {
		return false
	}
	if err != nil {
		t.Fatalf("searchIndexed(%q): %v", q, err)
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
			answered, total := 0, 0
			for i, q := range queriesOf(docs, tc.queries) {
				limit := []int{1, 5, 10, 30}[i%4]
				total++
				if sameSearch(t, s, q, limit) {
					answered++
				}
			}
			t.Logf("%d docs: the index answered %d of %d queries, FTS5 the rest", len(docs), answered, total)
			if answered*100 < total*99 {
				t.Errorf("the index answered only %d of %d queries", answered, total)
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
	for i, q := range c.queries {
		if !sameSearch(t, s, q, []int{10, 3, 50, 1000}[i%4]) {
			t.Errorf("Search(%q) fell back to FTS5", q)
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
		s.tok.tokens(text, nil, func(tok []byte) { got = append(got, string(tok)) })
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
