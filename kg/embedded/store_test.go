package embedded

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/miroverse/miroverse/kg"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "kg.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func doc(id, title, text string) kg.Doc {
	return kg.Doc{ID: id, Title: title, URL: "https://en.wikipedia.org/wiki/" + kg.EscapeTitle(title),
		Source: "enwiki", Lang: "en", Text: text, Kind: kg.KindArticle}
}

type fixture struct {
	docs      []kg.Doc
	raw       []kg.RawLink
	redirects []kg.Redirect
}

func (f fixture) load(t testing.TB, s *Store) {
	t.Helper()
	ctx := context.Background()
	if err := s.PutDocs(ctx, f.docs); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRawLinks(ctx, f.raw); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRedirects(ctx, f.redirects); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx); err != nil {
		t.Fatal(err)
	}
}

// redirectFixture: C links to titles reached in 0-4 redirect hops, through
// a loop, to nothing, to a redirect shadowed by a document, and to itself.
func redirectFixture() fixture {
	rl := func(target, anchor string) kg.RawLink {
		return kg.RawLink{Src: "w:3", Target: target, Anchor: anchor, Sentence: "C mentions " + anchor + "."}
	}
	return fixture{
		docs: []kg.Doc{doc("w:1", "A", "Alpha text."), doc("w:2", "B", "Beta text."), doc("w:3", "C", "Gamma text.")},
		redirects: []kg.Redirect{
			{From: "X", To: "A"}, {From: "Y", To: "X"}, {From: "Z", To: "Y"}, {From: "W", To: "Z"},
			{From: "L1", To: "L2"}, {From: "L2", To: "L1"}, {From: "R", To: "Missing"}, {From: "B", To: "A"},
		},
		raw: []kg.RawLink{
			rl("A", "A"), rl("X", "x one"), rl("Y", "y two"), rl("Z", "z three"), rl("W", "w four"),
			rl("L1", "loop"), rl("R", "dangling"), rl("Missing", "missing"), rl("B", "B"), rl("C", "self"),
		},
	}
}

func links(t *testing.T, s *Store) []kg.Link {
	t.Helper()
	rows, err := s.db.Query(`SELECT src, dst, anchor, sentence FROM links ORDER BY src, dst, anchor, sentence`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []kg.Link
	for rows.Next() {
		var l kg.Link
		if err := rows.Scan(&l.Src, &l.Dst, &l.Anchor, &l.Sentence); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

func allAliases(t *testing.T, s *Store) []kg.Alias {
	t.Helper()
	rows, err := s.db.Query(`SELECT alias, doc_id, kind FROM aliases ORDER BY alias, doc_id, kind`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []kg.Alias
	for rows.Next() {
		var a kg.Alias
		if err := rows.Scan(&a.Alias, &a.DocID, &a.Kind); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func TestRedirectResolution(t *testing.T) {
	s := openTemp(t)
	redirectFixture().load(t, s)
	ctx := context.Background()

	var got []string
	for _, l := range links(t, s) {
		got = append(got, l.Anchor+"->"+l.Dst)
	}
	want := []string{"A->w:1", "x one->w:1", "y two->w:1", "z three->w:1", "B->w:2"}
	if !reflect.DeepEqual(sorted(got), sorted(want)) {
		t.Errorf("links %q, want %q", got, want)
	}

	c, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (kg.Counts{Docs: 3, Links: 5, RawLinks: 10, Aliases: 6, Unresolved: 4}); c != want {
		t.Errorf("counts %+v, want %+v", c, want)
	}

	tests := []struct {
		title, want string
	}{
		{"A", "w:1"}, {"X", "w:1"}, {"Y", "w:1"}, {"Z", "w:1"}, {"W", ""}, {"L1", ""}, {"R", ""},
		{"B", "w:2"}, // a document wins over a redirect of the same name
		{"b", "w:2"}, {"x", "w:1"}, {"c", "w:3"}, {"Nothing", ""},
	}
	for _, tt := range tests {
		d, err := s.DocByTitle(ctx, tt.title)
		switch {
		case tt.want == "" && !errors.Is(err, kg.ErrNotFound):
			t.Errorf("DocByTitle(%q) = %v, %v; want ErrNotFound", tt.title, d.ID, err)
		case tt.want != "" && (err != nil || d.ID != tt.want):
			t.Errorf("DocByTitle(%q) = %v, %v; want %s", tt.title, d.ID, err, tt.want)
		}
	}

	al, err := s.Aliases(ctx, "w:1")
	if err != nil {
		t.Fatal(err)
	}
	wantAl := []kg.Alias{
		{DocID: "w:1", Alias: "X", Kind: "redirect"}, {DocID: "w:1", Alias: "Y", Kind: "redirect"},
		{DocID: "w:1", Alias: "Z", Kind: "redirect"},
		{DocID: "w:1", Alias: "x one", Kind: "anchor"}, {DocID: "w:1", Alias: "y two", Kind: "anchor"},
		{DocID: "w:1", Alias: "z three", Kind: "anchor"},
	}
	if !reflect.DeepEqual(al, wantAl) {
		t.Errorf("aliases %+v\nwant %+v", al, wantAl)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestIdempotentIngest(t *testing.T) {
	ctx := context.Background()
	once, twice := openTemp(t), openTemp(t)
	f := redirectFixture()
	f.load(t, once)
	f.load(t, twice)
	f.load(t, twice)
	// Rewrite a document with new text: the search index must follow.
	changed := f.docs[0]
	changed.Text = "Alpha now speaks of zebras."
	for _, s := range []*Store{once, twice} {
		if err := s.PutDocs(ctx, []kg.Doc{changed}); err != nil {
			t.Fatal(err)
		}
		if err := s.Finish(ctx); err != nil {
			t.Fatal(err)
		}
	}
	c1, _ := once.Counts(ctx)
	c2, _ := twice.Counts(ctx)
	if c1 != c2 {
		t.Errorf("counts after one ingest %+v, after two %+v", c1, c2)
	}
	if !reflect.DeepEqual(links(t, once), links(t, twice)) || !reflect.DeepEqual(allAliases(t, once), allAliases(t, twice)) {
		t.Error("links or aliases differ between one and two ingests")
	}
	hits, err := twice.Search(ctx, "zebras", 5)
	if err != nil || len(hits) != 1 || hits[0].DocID != "w:1" {
		t.Errorf("search after rewrite: %+v, %v", hits, err)
	}
	d, err := twice.Doc(ctx, "w:1")
	if err != nil || d.Text != changed.Text {
		t.Errorf("Doc after rewrite: %+v, %v", d, err)
	}
}

func TestFinishTwice(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	redirectFixture().load(t, s)
	c1, _ := s.Counts(ctx)
	l1, a1 := links(t, s), allAliases(t, s)
	h1, err := s.Search(ctx, "text", 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	c2, _ := s.Counts(ctx)
	h2, err := s.Search(ctx, "text", 10)
	if err != nil {
		t.Fatal(err)
	}
	if c1 != c2 || !reflect.DeepEqual(l1, links(t, s)) || !reflect.DeepEqual(a1, allAliases(t, s)) || !reflect.DeepEqual(h1, h2) {
		t.Errorf("second Finish changed the store: %+v -> %+v", c1, c2)
	}
}

func TestSearchRanking(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	fixture{docs: []kg.Doc{
		doc("e:1", "History of France", strings.Repeat("Paris was the capital. The kings of France lived in Paris. ", 20)),
		doc("e:2", "Paris", "Paris, once Lutetia, is the capital and largest city of France."),
		doc("e:3", "Paris Hilton", "Paris Hilton is a media personality from New York."),
		doc("e:4", "Paris, Texas", "Paris is a city in Texas, named after Paris in France."),
		doc("e:5", "Twin A", "identical twin text"),
		doc("e:6", "Twin B", "identical twin text"),
		doc("e:7", "Crème brûlée", "A dessert of custard with caramelised sugar."),
		doc("e:8", "Roman Gaul", strings.Repeat("Lutetia was a Roman town. ", 5)),
	}, redirects: []kg.Redirect{{From: "Lutetia", To: "Paris"}},
	}.load(t, s)
	tests := []struct {
		query string
		first []string // the expected leading hits, in order
	}{
		{"Paris", []string{"e:2"}},
		{"paris hilton", []string{"e:3"}},
		{"Paris, Texas", []string{"e:4"}},
		{"History of France", []string{"e:1"}},
		{"identical twin", []string{"e:5", "e:6"}}, // equal scores: by id
		{"creme brulee", []string{"e:7"}},          // diacritics folded
		{"custard", []string{"e:7"}},
		{"Lutetia", []string{"e:2", "e:8"}}, // a redirect's target before a better BM25 score
		{"paris", []string{"e:2"}},          // exact title ignoring case
	}
	for _, tt := range tests {
		hits, err := s.Search(ctx, tt.query, 10)
		if err != nil {
			t.Fatalf("Search(%q): %v", tt.query, err)
		}
		var ids []string
		for i, h := range hits {
			ids = append(ids, h.DocID)
			// After the exact-title hit, by score.
			if i > 1 && h.Score > hits[i-1].Score {
				t.Errorf("Search(%q): scores not descending: %+v", tt.query, hits)
			}
			if h.Snippet == "" || h.Title == "" || h.URL == "" {
				t.Errorf("Search(%q): incomplete hit %+v", tt.query, h)
			}
		}
		if len(ids) < len(tt.first) || !reflect.DeepEqual(ids[:len(tt.first)], tt.first) {
			t.Errorf("Search(%q) = %v, want it to start with %v", tt.query, ids, tt.first)
		}
	}
	if hits, _ := s.Search(ctx, "Paris", 2); len(hits) != 2 {
		t.Errorf("limit 2 gave %d hits", len(hits))
	}
}

func TestSearchEscaping(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	fixture{docs: []kg.Doc{
		doc("q:1", "Foo", "foo and bar and baz are placeholders"),
		doc("q:2", "Near", "NEAR is an FTS5 keyword; so are AND, OR and NOT."),
	}}.load(t, s)
	tests := []struct {
		query    string
		wantHits bool
	}{
		{`"foo" OR (bar* -baz:`, true},
		{`AND`, true},
		{`OR`, true},
		{`NOT`, true},
		{`NEAR(foo bar, 2)`, true},
		{`title:foo`, true},
		{`^foo`, true},
		{`foo"`, true},
		{`"`, false},
		{`*`, false},
		{`()`, false},
		{``, false},
		{`   `, false},
		{`a'b`, false},
		{`{foo bar}`, true},
		{`foo + bar - baz`, true},
		{`zzz`, false},
		{`日本語`, false},
		{strings.Repeat("x ", 1000), false},
	}
	for _, tt := range tests {
		hits, err := s.Search(ctx, tt.query, 5)
		if err != nil {
			t.Errorf("Search(%q): %v", tt.query, err)
			continue
		}
		if (len(hits) > 0) != tt.wantHits {
			t.Errorf("Search(%q) = %d hits, want hits: %v", tt.query, len(hits), tt.wantHits)
		}
	}
}

func TestDocByURL(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	fixture{docs: []kg.Doc{
		doc("u:1", "Albert Einstein", "x"),
		doc("u:2", "Café de Flore", "x"),
		doc("u:3", "AC/DC", "x"),
		doc("u:4", "100% (song)", "x"),
		doc("u:5", "What?", "x"),
	}}.load(t, s)
	tests := []struct{ url, want string }{
		{"https://en.wikipedia.org/wiki/Albert_Einstein", "u:1"},
		{"https://en.wikipedia.org/wiki/Albert Einstein", "u:1"},
		{"http://en.wikipedia.org/wiki/Albert_Einstein#Life", "u:1"},
		{"https://en.m.wikipedia.org/wiki/Albert_Einstein", "u:1"},
		{"https://EN.wikipedia.org/wiki/Albert%20Einstein", "u:1"},
		{"https://en.wikipedia.org/wiki/Caf%C3%A9_de_Flore", "u:2"},
		{"https://en.wikipedia.org/wiki/Café_de_Flore", "u:2"},
		{"https://en.wikipedia.org/wiki/AC%2FDC", "u:3"},
		{"https://en.wikipedia.org/wiki/100%25_(song)", "u:4"},
		{"https://en.wikipedia.org/wiki/100%_(song)", "u:4"},
		{"https://en.wikipedia.org/wiki/What%3F", "u:5"},
		{"https://en.wikipedia.org/wiki/Albert_Einstein2", ""},
		{"https://de.wikipedia.org/wiki/Albert_Einstein", ""},
	}
	for _, tt := range tests {
		d, err := s.DocByURL(ctx, tt.url)
		switch {
		case tt.want == "" && !errors.Is(err, kg.ErrNotFound):
			t.Errorf("DocByURL(%q) = %v, %v; want ErrNotFound", tt.url, d.ID, err)
		case tt.want != "" && (err != nil || d.ID != tt.want):
			t.Errorf("DocByURL(%q) = %v, %v; want %s", tt.url, d.ID, err, tt.want)
		}
	}
}

func TestDocRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	in := kg.Doc{ID: "r:1", Title: "T", URL: "https://x/wiki/T", Source: "xwiki", Lang: "xx",
		Text: "## Head\nBody.", Categories: []string{"C1", "C 2"}, Kind: kg.KindList,
		Facts: []kg.Fact{{Key: "birth_date", Value: "7 November 1867"}, {Key: "spouse", Value: `Pierre "P." Curie; ü ✓`},
			{Key: "empty_looking", Value: "[]"}}}
	fixture{docs: []kg.Doc{in, doc("r:2", "No cats", "")}}.load(t, s)
	reads := map[string]func() (kg.Doc, error){
		"Doc":        func() (kg.Doc, error) { return s.Doc(ctx, "r:1") },
		"DocByTitle": func() (kg.Doc, error) { return s.DocByTitle(ctx, "t") },
		"DocByURL":   func() (kg.Doc, error) { return s.DocByURL(ctx, "https://x/wiki/T") },
		"EachDoc": func() (kg.Doc, error) {
			var got kg.Doc
			err := s.EachDoc(ctx, func(d kg.Doc) error {
				if d.ID == "r:1" {
					got = d
				}
				return nil
			})
			return got, err
		},
	}
	for name, read := range reads {
		if out, err := read(); err != nil || !reflect.DeepEqual(in, out) {
			t.Errorf("%s = %+v, %v; want %+v", name, out, err, in)
		}
	}
	if d, err := s.Doc(ctx, "r:2"); err != nil || d.Categories != nil || d.Facts != nil {
		t.Errorf("Doc without categories and facts = %+v, %v", d, err)
	}
	// Writing the document again without facts removes them.
	in.Facts = nil
	if err := s.PutDocs(ctx, []kg.Doc{in}); err != nil {
		t.Fatal(err)
	}
	if d, err := s.Doc(ctx, "r:1"); err != nil || d.Facts != nil {
		t.Errorf("facts after a rewrite without them: %+v, %v", d.Facts, err)
	}
	if _, err := s.Doc(ctx, "r:404"); !errors.Is(err, kg.ErrNotFound) {
		t.Errorf("missing doc: %v", err)
	}
	for _, bad := range []error{
		s.PutDocs(ctx, []kg.Doc{{Title: "no id"}}),
		s.PutRawLinks(ctx, []kg.RawLink{{Src: "r:1"}}),
		s.PutRedirects(ctx, []kg.Redirect{{From: "x"}}),
	} {
		if bad == nil {
			t.Error("invalid record accepted")
		}
	}
}

func TestSnapshot(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	dis := doc("g:4", "D (disambiguation)", "")
	dis.Kind = kg.KindDisambiguation
	fixture{
		docs: []kg.Doc{doc("g:1", "A", ""), doc("g:2", "B", ""), doc("g:3", "C", ""), dis},
		raw: []kg.RawLink{
			{Src: "g:1", Target: "B", Anchor: "zeta", Sentence: "s2"},
			{Src: "g:1", Target: "B", Anchor: "beta", Sentence: "s9"},
			{Src: "g:1", Target: "B", Anchor: "beta", Sentence: "s1"},
			{Src: "g:1", Target: "C", Anchor: "C", Sentence: "s"},
			{Src: "g:2", Target: "A", Anchor: "A", Sentence: "s"},
			{Src: "g:4", Target: "A", Anchor: "A", Sentence: "s"},
		},
	}.load(t, s)
	g, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g.NodeCount() != 4 || g.EdgeCount() != 4 {
		t.Fatalf("nodes %d edges %d", g.NodeCount(), g.EdgeCount())
	}
	i := g.Index("g:1")
	lo, hi := g.Edges(i)
	if hi-lo != 2 || g.IDs[g.Targets[lo]] != "g:2" || g.Anchors[lo] != "beta" || g.Sentences[lo] != "s1" {
		t.Errorf("edges of g:1: %v %v %v", g.Targets[lo:hi], g.Anchors[lo:hi], g.Sentences[lo:hi])
	}
	if !g.Walkable[i] || g.Walkable[g.Index("g:4")] {
		t.Errorf("walkable = %v", g.Walkable)
	}
	// The snapshot equals BuildGraph over every link.
	all, err := kg.BuildGraph([]kg.GraphNode{
		{ID: "g:1", Title: "A", Walkable: true}, {ID: "g:2", Title: "B", Walkable: true},
		{ID: "g:3", Title: "C", Walkable: true}, {ID: "g:4", Title: "D (disambiguation)"},
	}, links(t, s))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, all) {
		t.Errorf("snapshot %+v\nBuildGraph %+v", g, all)
	}
}

func TestConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var docs []kg.Doc
			var raw []kg.RawLink
			for i := range 200 {
				id := fmt.Sprintf("c:%d", w*1000+i)
				docs = append(docs, doc(id, "T"+id, "text"))
				raw = append(raw, kg.RawLink{Src: id, Target: fmt.Sprintf("Tc:%d", w*1000+(i+1)%200), Anchor: "a", Sentence: "s"})
			}
			if err := s.PutDocs(ctx, docs); err != nil {
				errs <- err
			}
			if err := s.PutRawLinks(ctx, raw); err != nil {
				errs <- err
			}
			if _, err := s.Search(ctx, "text", 3); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := s.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	c, _ := s.Counts(ctx)
	if c.Docs != 1600 || c.Links != 1600 || c.Unresolved != 0 {
		t.Errorf("counts %+v", c)
	}
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kg.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	redirectFixture().load(t, s)
	c1, _ := s.Counts(ctx)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c2, _ := s.Counts(ctx); c1 != c2 {
		t.Errorf("counts before close %+v, after reopen %+v", c1, c2)
	}
	if hits, err := s.Search(ctx, "alpha", 1); err != nil || len(hits) != 1 {
		t.Errorf("search after reopen: %v %v", hits, err)
	}
	if _, err := Open(ctx, filepath.Join(t.TempDir(), "a?b.db")); err == nil {
		t.Error("path with '?' accepted")
	}
}

// TestSchemaVersion: a file written with another schema version is
// refused, with both versions in the message, rather than misread.
func TestSchemaVersion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kg.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE meta SET value = '1' WHERE key = 'schema_version'`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "schema version 1, this build reads "+schemaVersion) {
		t.Errorf("Open of a version 1 file: %v", err)
	}
}

func TestFTSQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		{`foo bar`, `"foo" OR "bar"`},
		{`"foo" OR (bar* -baz:`, `"foo" OR "OR" OR "bar" OR "baz"`},
		{`Foo foo FOO`, `"Foo"`},
		{`don't`, `"don" OR "t"`},
		{`crème`, `"crème"`},
		{`?!`, ``},
	}
	for _, tt := range tests {
		if got := ftsQuery(tt.in); got != tt.want {
			t.Errorf("ftsQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// BenchmarkPutRawLinks measures the insert rate of link rows (the design
// measured ~550k rows/s on its machine).
func BenchmarkPutRawLinks(b *testing.B) {
	ctx := context.Background()
	s := openTemp(b)
	const batch = 10000
	n := 0
	b.ResetTimer()
	for range b.N {
		links := make([]kg.RawLink, batch)
		for i := range links {
			links[i] = kg.RawLink{Src: fmt.Sprintf("b:%d", n/20), Target: fmt.Sprintf("Target %d", n),
				Anchor: "anchor text", Sentence: "A sentence of ordinary length that holds the anchor text somewhere."}
			n++
		}
		if err := s.PutRawLinks(ctx, links); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}
