package embedded

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/kg"
)

// The contract every backend keeps is tested by kgtest (conformance_test.go);
// these are the embedded store's own behaviours.

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

// load writes documents, raw links and redirects and finishes.
func load(t testing.TB, s *Store, docs []kg.Doc, raw []kg.RawLink, redirects []kg.Redirect) {
	t.Helper()
	ctx := context.Background()
	for _, err := range []error{s.PutDocs(ctx, docs), s.PutRawLinks(ctx, raw), s.PutRedirects(ctx, redirects), s.Finish(ctx)} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestSearchFoldsDiacritics: the unicode61 tokenizer's remove_diacritics,
// which the contract leaves to each backend.
func TestSearchFoldsDiacritics(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	load(t, s, []kg.Doc{doc("e:1", "Crème brûlée", "A dessert of custard."), doc("e:2", "Ìbàdàn", "A city.")}, nil, nil)
	for _, tc := range []struct{ query, want string }{
		{"creme brulee", "e:1"},
		{"CRÈME", "e:1"},
		{"Ibadan", "e:2"},
	} {
		hits, err := s.Search(ctx, tc.query, 5)
		if err != nil || len(hits) == 0 || hits[0].DocID != tc.want {
			t.Errorf("Search(%q) = %+v, %v; want %s first", tc.query, hits, err, tc.want)
		}
	}
}

// TestEach: the streams the neo4j-admin export reads, whole and in key
// order.
func TestEach(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	a := doc("g:2", "A", "A text.")
	a.Categories, a.Facts = []string{"C1", "C 2"}, []kg.Fact{{Key: "k", Value: "v"}}
	b := doc("g:1", "B", "B text.")
	load(t, s, []kg.Doc{a, b}, []kg.RawLink{
		{Src: "g:2", Target: "B", Anchor: "bee", Sentence: "s2"},
		{Src: "g:2", Target: "B", Anchor: "bee", Sentence: "s1"},
		{Src: "g:1", Target: "A", Anchor: "A", Sentence: "s"},
	}, []kg.Redirect{{From: "Bee", To: "B"}})
	var docs []kg.Doc
	var links []kg.Link
	var aliases []kg.Alias
	var raw []kg.RawLink
	var redirects []kg.Redirect
	for _, err := range []error{
		s.EachDoc(ctx, func(d kg.Doc) error { docs = append(docs, d); return nil }),
		s.EachLink(ctx, func(l kg.Link) error { links = append(links, l); return nil }),
		s.EachAlias(ctx, func(a kg.Alias) error { aliases = append(aliases, a); return nil }),
		s.EachRawLink(ctx, func(l kg.RawLink) error { raw = append(raw, l); return nil }),
		s.EachRedirect(ctx, func(r kg.Redirect) error { redirects = append(redirects, r); return nil }),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if want := []kg.Doc{b, a}; !reflect.DeepEqual(docs, want) {
		t.Errorf("EachDoc = %+v\nwant %+v", docs, want)
	}
	wantLinks := []kg.Link{
		{Src: "g:1", Dst: "g:2", Anchor: "A", Sentence: "s"},
		{Src: "g:2", Dst: "g:1", Anchor: "bee", Sentence: "s1"},
		{Src: "g:2", Dst: "g:1", Anchor: "bee", Sentence: "s2"},
	}
	if !reflect.DeepEqual(links, wantLinks) {
		t.Errorf("EachLink = %+v\nwant %+v", links, wantLinks)
	}
	wantAliases := []kg.Alias{{DocID: "g:1", Alias: "Bee", Kind: "redirect"}, {DocID: "g:1", Alias: "bee", Kind: "anchor"}}
	if !reflect.DeepEqual(aliases, wantAliases) {
		t.Errorf("EachAlias = %+v\nwant %+v", aliases, wantAliases)
	}
	wantRaw := []kg.RawLink{
		{Src: "g:1", Target: "A", Anchor: "A", Sentence: "s"},
		{Src: "g:2", Target: "B", Anchor: "bee", Sentence: "s1"},
		{Src: "g:2", Target: "B", Anchor: "bee", Sentence: "s2"},
	}
	if !reflect.DeepEqual(raw, wantRaw) {
		t.Errorf("EachRawLink = %+v\nwant %+v", raw, wantRaw)
	}
	if want := []kg.Redirect{{From: "Bee", To: "B"}}; !reflect.DeepEqual(redirects, want) {
		t.Errorf("EachRedirect = %+v\nwant %+v", redirects, want)
	}
	stop := errors.New("stop")
	for name, each := range map[string]func() error{
		"EachDoc":      func() error { return s.EachDoc(ctx, func(kg.Doc) error { return stop }) },
		"EachRawLink":  func() error { return s.EachRawLink(ctx, func(kg.RawLink) error { return stop }) },
		"EachRedirect": func() error { return s.EachRedirect(ctx, func(kg.Redirect) error { return stop }) },
	} {
		if err := each(); !errors.Is(err, stop) {
			t.Errorf("%s returned %v, want the callback's error", name, err)
		}
	}
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kg.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	load(t, s, []kg.Doc{doc("w:1", "A", "Alpha text."), doc("w:2", "B", "Beta text.")},
		[]kg.RawLink{{Src: "w:2", Target: "A", Anchor: "a", Sentence: "s"}}, []kg.Redirect{{From: "X", To: "A"}})
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

// Options.CacheBytes is the page cache of all connections together: the
// writer holds half, the readers share the other half.
func TestOpenWithBoundsTheCache(t *testing.T) {
	ctx := context.Background()
	readers := int64(2 * runtime.GOMAXPROCS(0))
	for _, c := range []struct {
		opt                  Options
		writerKiB, readerKiB int64
	}{
		{Options{}, DefaultCacheBytes / 2 >> 10, DefaultCacheBytes / 2 / readers >> 10},
		{Options{CacheBytes: 16 << 20}, 8 << 10, (8 << 20) / readers >> 10},
		{Options{CacheBytes: 1 << 10}, 256, 256}, // a floor, so that a store still works
	} {
		s, err := OpenWith(ctx, filepath.Join(t.TempDir(), "kg.db"), c.opt)
		if err != nil {
			t.Fatal(err)
		}
		var w, r int64
		if err := s.db.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&w); err != nil {
			t.Fatal(err)
		}
		if err := s.lookup.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&r); err != nil {
			t.Fatal(err)
		}
		if w != -c.writerKiB || r != -c.readerKiB {
			t.Errorf("%+v: cache_size %d (writer) and %d (each reader), want -%d and -%d", c.opt, w, r, c.writerKiB, c.readerKiB)
		}
		if want := cmp.Or(c.opt.IndexBuildBytes, searchRunBudget); int64(s.runBudget) != want {
			t.Errorf("%+v: index build budget %d, want %d", c.opt, s.runBudget, want)
		}
		s.Close()
	}
}

// A staging store (Options.NoSearchIndex) resolves its graph as any other
// but builds no search index, and Search says so rather than finding
// nothing.
func TestNoSearchIndex(t *testing.T) {
	ctx := context.Background()
	for _, noSearch := range []bool{false, true} {
		s, err := OpenWith(ctx, filepath.Join(t.TempDir(), "kg.db"), Options{NoSearchIndex: noSearch})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.PutDocs(ctx, []kg.Doc{doc("1", "Marie Curie", "Marie Curie was a physicist."), doc("2", "Paris", "Paris is a city.")}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutRawLinks(ctx, []kg.RawLink{{Src: "1", Target: "Paris", Anchor: "Paris", Sentence: "She lived in Paris."}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Finish(ctx); err != nil {
			t.Fatal(err)
		}
		if c, err := s.Counts(ctx); err != nil || c.Links != 1 {
			t.Errorf("NoSearchIndex %v: counts %+v, %v; want the link resolved", noSearch, c, err)
		}
		hits, err := s.Search(ctx, "Marie Curie", 3)
		switch {
		case noSearch && err == nil:
			t.Errorf("Search on a store without a search index: %v, want an error", hits)
		case !noSearch && (err != nil || len(hits) == 0 || hits[0].Title != "Marie Curie"):
			t.Errorf("Search: %v, %v", hits, err)
		}
	}
}
