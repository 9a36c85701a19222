// Package kgtest checks that a knowledge-graph backend keeps the contract
// written on kg.Writer, kg.Reader and kg.Store. Like testing/fstest for
// file systems, it is one suite that every backend runs from its own
// tests, so that the rules are asserted once and the backends cannot drift
// apart.
package kgtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/miroverse/miroverse/internal/testenv"
	"github.com/miroverse/miroverse/kg"
)

// TestStore asserts every clause of the kg.Store contract, one subtest
// each, on a small corpus. open must return a new, empty store and close it
// when its test ends (t.Cleanup). The suite stops using a store before it
// opens the next one and runs no subtest in parallel, so stores of one
// backend may share a database that open empties.
func TestStore(t *testing.T, open func(t *testing.T) kg.Store) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, open opener)
	}{
		{"Finish", testFinish},
		{"DerivedDataWaitsForFinish", testDerivedWaits},
		{"PutDocsRoundTrip", testRoundTrip},
		{"PutDocsReplaces", testDocsReplace},
		{"PutRedirectsReplaces", testRedirectsReplace},
		{"InvalidRecords", testInvalid},
		{"EmptyCalls", testEmpty},
		{"DocByTitle", testDocByTitle},
		{"DocByURL", testDocByURL},
		{"SearchRanking", testSearchRanking},
		{"SearchTies", testSearchTies},
		{"SearchFreeText", testSearchFreeText},
		{"SearchAfterRewrite", testSearchRewrite},
		{"ConcurrentUse", testConcurrent},
		{"CancelledContext", testCancelled},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, open) })
	}
}

type opener = func(t *testing.T) kg.Store

// records are what one round of ingest writes before a Finish.
type records struct {
	docs      []kg.Doc
	raw       []kg.RawLink
	redirects []kg.Redirect
}

// write writes the records in ingest's order: documents, links, redirects.
func (r records) write(t *testing.T, ctx context.Context, w kg.Writer) {
	t.Helper()
	must(t, w.PutDocs(ctx, r.docs))
	must(t, w.PutRawLinks(ctx, r.raw))
	must(t, w.PutRedirects(ctx, r.redirects))
}

// writeReversed writes the records the other way round, each kind in
// reverse order and links before their documents.
func (r records) writeReversed(t *testing.T, ctx context.Context, w kg.Writer) {
	t.Helper()
	must(t, w.PutRedirects(ctx, reversed(r.redirects)))
	must(t, w.PutRawLinks(ctx, reversed(r.raw)))
	must(t, w.PutDocs(ctx, reversed(r.docs)))
}

// doubled has every record twice in its call.
func (r records) doubled() records {
	return records{docs: slices.Concat(r.docs, r.docs), raw: slices.Concat(r.raw, r.raw),
		redirects: slices.Concat(r.redirects, r.redirects)}
}

func reversed[T any](s []T) []T {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// derived is what a Finish must leave, as a Reader sees it.
type derived struct {
	counts kg.Counts
	// edges are the links the snapshot keeps: per linked pair, the one
	// with the smallest (anchor, sentence).
	edges []kg.Link
	// aliases are each document's, in the order Aliases lists them; a
	// document not here has none.
	aliases map[string][]kg.Alias
	// titles maps a DocByTitle argument to the ID it finds, "" for
	// ErrNotFound.
	titles map[string]string
}

// round is one ingest round and what Finish must derive after it.
type round struct {
	records
	want derived
}

// doc is an article of wiki src (the ID's prefix) at its usual URL.
func doc(id, title, text string) kg.Doc {
	src, _, _ := strings.Cut(id, ":")
	return kg.Doc{ID: id, Title: title, URL: "https://en.wikipedia.org/wiki/" + kg.EscapeTitle(title),
		Source: src, Lang: "en", Text: text, Kind: kg.KindArticle}
}

// webDoc is a web page, with the provenance a web reader records.
func webDoc(id, title, url, text string) kg.Doc {
	return kg.Doc{ID: id, Title: title, URL: url, Source: kg.SourceWeb, Lang: "en", Text: text, Kind: kg.KindArticle,
		Date: "2024-05-01T12:00:00Z", Hash: "sha256:" + id, Origin: "crawl.warc.gz@" + id}
}

func sentence(anchor string) string { return "It mentions " + anchor + "." }

// mention is a raw link whose sentence names its anchor.
func mention(src, target, anchor string) kg.RawLink {
	return kg.RawLink{Src: src, Target: target, Anchor: anchor, Sentence: sentence(anchor)}
}

// edge is a resolved mention.
func edge(src, dst, anchor string) kg.Link {
	return kg.Link{Src: src, Dst: dst, Anchor: anchor, Sentence: sentence(anchor)}
}

// aliases of one document and kind.
func aliases(docID, kind string, names ...string) []kg.Alias {
	out := make([]kg.Alias, len(names))
	for i, n := range names {
		out[i] = kg.Alias{DocID: docID, Alias: n, Kind: kind}
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// load writes rounds with a Finish after each.
func load(t *testing.T, ctx context.Context, s kg.Store, rounds ...records) {
	t.Helper()
	for _, r := range rounds {
		r.write(t, ctx, s)
		must(t, s.Finish(ctx))
	}
}

// held is the documents the rounds leave, the last written of each ID.
func held(rounds []round) map[string]kg.Doc {
	out := map[string]kg.Doc{}
	for _, r := range rounds {
		for _, d := range r.docs {
			out[d.ID] = d
		}
	}
	return out
}

// check compares what s answers with what the rounds so far must leave.
func check(t *testing.T, ctx context.Context, s kg.Reader, docs map[string]kg.Doc, want derived) {
	t.Helper()
	if c, err := s.Counts(ctx); err != nil || c != want.counts {
		t.Errorf("Counts = %+v, %v; want %+v", c, err, want.counts)
	}
	nodes := make([]kg.GraphNode, 0, len(docs))
	for _, d := range docs {
		nodes = append(nodes, kg.GraphNode{ID: d.ID, Title: d.Title, Walkable: d.Walkable()})
	}
	wantGraph, err := kg.BuildGraph(nodes, want.edges)
	must(t, err)
	g, err := s.Snapshot(ctx)
	must(t, err)
	SameGraph(t, g, wantGraph)
	SameLinks(t, ctx, g, s, LinksOf(want.edges), 1)
	for _, id := range sortedKeys(docs) {
		if _, err := s.Link(ctx, id, id); !errors.Is(err, kg.ErrNotFound) {
			t.Errorf("Link(%s, %s) = %v, want ErrNotFound", id, id, err)
		}
	}
	for _, id := range sortedKeys(docs) {
		got, err := s.Aliases(ctx, id)
		if err != nil || !slices.Equal(got, want.aliases[id]) {
			t.Errorf("Aliases(%s) = %+v, %v;\nwant %+v", id, got, err, want.aliases[id])
		}
		if d, err := s.Doc(ctx, id); err != nil || !reflect.DeepEqual(d, docs[id]) {
			t.Errorf("Doc(%s) = %+v, %v;\nwant %+v", id, d, err, docs[id])
		}
	}
	for _, title := range sortedKeys(want.titles) {
		wantTitle(t, ctx, s, title, want.titles[title])
	}
}

// wantTitle checks DocByTitle(title): the document id, or ErrNotFound for "".
func wantTitle(t *testing.T, ctx context.Context, s kg.Reader, title, id string) {
	t.Helper()
	d, err := s.DocByTitle(ctx, title)
	switch {
	case id == "" && !errors.Is(err, kg.ErrNotFound):
		t.Errorf("DocByTitle(%q) = %s, %v; want ErrNotFound", title, d.ID, err)
	case id != "" && (err != nil || d.ID != id):
		t.Errorf("DocByTitle(%q) = %s, %v; want %s", title, d.ID, err, id)
	}
}

// SameGraph reports where two snapshots first differ, so that a failure
// on a dump-sized graph names the place instead of printing the graph.
// Backend tests use it to hold a snapshot to another backend's or to a
// fixture's; SameLinks compares the evidence the graphs leave in stores.
func SameGraph(t testing.TB, got, want *kg.Graph) {
	t.Helper()
	if ok, d := got.Equal(want); !ok {
		t.Errorf("Snapshot: %s", d)
	}
}

// Linker answers Reader.Link.
type Linker interface {
	Link(ctx context.Context, src, dst string) (kg.Link, error)
}

// SameLinks checks that got and want give the same evidence for every
// every-th edge of g (every edge for 1), and that each is Evident as g
// says.
func SameLinks(t testing.TB, ctx context.Context, g *kg.Graph, got, want Linker, every int) {
	t.Helper()
	bad := 0
	for n := range g.NodeCount() {
		lo, hi := g.Edges(n)
		for e := lo; e < hi; e++ {
			if e%every != 0 {
				continue
			}
			src, dst := g.ID(n), g.ID(g.Target(e))
			a, errA := got.Link(ctx, src, dst)
			b, errB := want.Link(ctx, src, dst)
			if errA != nil || errB != nil || a != b || kg.Evident(a.Anchor, a.Sentence) != g.Evident(e) {
				t.Errorf("Link(%s, %s) = %+v, %v; want %+v, %v (snapshot: evident=%v)", src, dst, a, errA, b, errB, g.Evident(e))
				if bad++; bad == 5 {
					t.Fatalf("Link: giving up after %d differences", bad)
				}
			}
		}
	}
}

// Links is the evidence of a list of links as Reader.Link gives it: for
// each (src, dst) the smallest (Anchor, Sentence), self-links aside.
type Links map[[2]string]kg.Link

// LinksOf indexes links.
func LinksOf(links []kg.Link) Links {
	m := Links{}
	for _, l := range links {
		if l.Src == l.Dst {
			continue
		}
		k := [2]string{l.Src, l.Dst}
		if o, ok := m[k]; !ok || l.Anchor < o.Anchor || (l.Anchor == o.Anchor && l.Sentence < o.Sentence) {
			m[k] = l
		}
	}
	return m
}

// Link returns the evidence of src→dst, or kg.ErrNotFound.
func (m Links) Link(_ context.Context, src, dst string) (kg.Link, error) {
	if l, ok := m[[2]string{src, dst}]; ok {
		return l, nil
	}
	return kg.Link{}, fmt.Errorf("link %q -> %q: %w", src, dst, kg.ErrNotFound)
}

// SharedDump returns the path of a real dump in the data kept next to the
// repository (shared/data/wiki, seen from a package two levels down). It
// is not ours to commit, so a developer without it gets a skip that names
// it; under CI=true nothing may silently skip, and the test fails.
func SharedDump(t testing.TB, name string) string {
	t.Helper()
	path := filepath.Join("..", "..", "..", "shared", "data", "wiki", name)
	if _, err := os.Stat(path); err != nil {
		testenv.Missing(t, "shared dump %s: %v", path, err)
	}
	return path
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// loading is one way of writing the rounds of a fixture. each is true when
// it runs a Finish after every round, so that every round's result can be
// checked, not only the last.
type loading struct {
	name string
	each bool
	load func(t *testing.T, ctx context.Context, s kg.Store, rounds []round, after func(i int))
}

// loads are the ways that the contract says must all derive the same:
// Finish depends on the records held, not on how often or in which order
// they came, nor on earlier Finishes.
func loads() []loading {
	return []loading{
		{"a Finish after each round", true, func(t *testing.T, ctx context.Context, s kg.Store, rounds []round, after func(int)) {
			for i, r := range rounds {
				r.write(t, ctx, s)
				must(t, s.Finish(ctx))
				after(i)
			}
		}},
		{"each round twice, Finish twice", true, func(t *testing.T, ctx context.Context, s kg.Store, rounds []round, after func(int)) {
			for i, r := range rounds {
				r.write(t, ctx, s)
				r.write(t, ctx, s)
				must(t, s.Finish(ctx))
				before := searchAll(t, ctx, s, r.docs)
				must(t, s.Finish(ctx))
				if again := searchAll(t, ctx, s, r.docs); !reflect.DeepEqual(again, before) {
					t.Errorf("a second Finish changed search results:\n%+v\nto\n%+v", before, again)
				}
				after(i)
			}
		}},
		{"every record twice in its call", true, func(t *testing.T, ctx context.Context, s kg.Store, rounds []round, after func(int)) {
			for i, r := range rounds {
				r.doubled().write(t, ctx, s)
				must(t, s.Finish(ctx))
				after(i)
			}
		}},
		{"writes in reverse order", true, func(t *testing.T, ctx context.Context, s kg.Store, rounds []round, after func(int)) {
			for i, r := range rounds {
				r.writeReversed(t, ctx, s)
				must(t, s.Finish(ctx))
				after(i)
			}
		}},
		{"two Finishes at once", true, func(t *testing.T, ctx context.Context, s kg.Store, rounds []round, after func(int)) {
			for i, r := range rounds {
				r.write(t, ctx, s)
				errs := make(chan error, 2)
				for range 2 {
					go func() { errs <- s.Finish(ctx) }()
				}
				must(t, errors.Join(<-errs, <-errs))
				after(i)
			}
		}},
		{"one Finish at the end", false, func(t *testing.T, ctx context.Context, s kg.Store, rounds []round, after func(int)) {
			for _, r := range rounds {
				r.write(t, ctx, s)
			}
			must(t, s.Finish(ctx))
			after(len(rounds) - 1)
		}},
	}
}

// searchAll searches the title of each document.
func searchAll(t *testing.T, ctx context.Context, s kg.Reader, docs []kg.Doc) [][]kg.SearchHit {
	t.Helper()
	var out [][]kg.SearchHit
	for _, d := range docs {
		hits, err := s.Search(ctx, d.Title, 10)
		must(t, err)
		out = append(out, hits)
	}
	return out
}

// testFinish: the resolution rules of Finish, its idempotence and its
// independence of write order, on fixtures of one or more rounds.
func testFinish(t *testing.T, open opener) {
	for _, f := range finishFixtures() {
		for _, l := range loads() {
			t.Run(f.name+"/"+l.name, func(t *testing.T) {
				ctx := context.Background()
				s := open(t)
				l.load(t, ctx, s, f.rounds, func(i int) {
					if !l.each && i != len(f.rounds)-1 {
						return
					}
					check(t, ctx, s, held(f.rounds[:i+1]), f.rounds[i].want)
				})
			})
		}
	}
}

// testDerivedWaits: writes show at once in what reads the records; links,
// aliases and what depends on them only after Finish.
func testDerivedWaits(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	first := records{
		docs:      []kg.Doc{doc("a:1", "A", "A text."), doc("a:2", "B", "B text.")},
		raw:       []kg.RawLink{mention("a:1", "B", "bee")},
		redirects: []kg.Redirect{{From: "Bee", To: "B"}},
	}
	second := records{
		docs:      []kg.Doc{doc("a:3", "C", "C text.")},
		raw:       []kg.RawLink{mention("a:3", "A", "ay"), mention("a:3", "Nowhere", "lost")},
		redirects: []kg.Redirect{{From: "Cee", To: "C"}},
	}
	steps := []struct {
		name  string
		write func()
		rs    []round // the records held so far
		want  derived
	}{
		{"before the first Finish", func() { first.write(t, ctx, s) },
			[]round{{records: first}},
			derived{counts: kg.Counts{Docs: 2, RawLinks: 1}, titles: map[string]string{"A": "a:1", "B": "a:2", "Bee": ""}}},
		{"after it", func() { must(t, s.Finish(ctx)) },
			[]round{{records: first}},
			derived{counts: kg.Counts{Docs: 2, Links: 1, Aliases: 2, RawLinks: 1},
				edges: []kg.Link{edge("a:1", "a:2", "bee")},
				aliases: map[string][]kg.Alias{"a:2": append(aliases("a:2", "redirect", "Bee"),
					aliases("a:2", "anchor", "bee")...)},
				titles: map[string]string{"Bee": "a:2"}}},
		{"more writes before the next Finish", func() { second.write(t, ctx, s) },
			[]round{{records: first}, {records: second}},
			derived{counts: kg.Counts{Docs: 3, Links: 1, Aliases: 2, RawLinks: 3},
				edges: []kg.Link{edge("a:1", "a:2", "bee")},
				aliases: map[string][]kg.Alias{"a:2": append(aliases("a:2", "redirect", "Bee"),
					aliases("a:2", "anchor", "bee")...)},
				titles: map[string]string{"C": "a:3", "Cee": ""}}},
		{"after the next Finish", func() { must(t, s.Finish(ctx)) },
			[]round{{records: first}, {records: second}},
			derived{counts: kg.Counts{Docs: 3, Links: 2, Aliases: 4, RawLinks: 3, Unresolved: 1},
				edges: []kg.Link{edge("a:1", "a:2", "bee"), edge("a:3", "a:1", "ay")},
				aliases: map[string][]kg.Alias{
					"a:1": aliases("a:1", "anchor", "ay"),
					"a:2": append(aliases("a:2", "redirect", "Bee"), aliases("a:2", "anchor", "bee")...),
					"a:3": aliases("a:3", "redirect", "Cee"),
				},
				titles: map[string]string{"C": "a:3", "Cee": "a:3"}}},
	}
	for _, st := range steps {
		st.write()
		t.Run(st.name, func(t *testing.T) {
			docs := held(st.rs)
			check(t, ctx, s, docs, st.want)
			for _, d := range docs {
				if got, err := s.DocByURL(ctx, d.URL); err != nil || got.ID != d.ID {
					t.Errorf("DocByURL(%q) = %s, %v; want %s", d.URL, got.ID, err, d.ID)
				}
			}
		})
	}
}

// testRoundTrip: a document reads back as written through every lookup,
// before and after Finish; no categories or facts read as nil.
func testRoundTrip(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	full := kg.Doc{ID: "r:1", Title: "Marie Curie", URL: "https://x.example/wiki/Marie_Curie", Source: "xwiki",
		Lang: "xx", Text: "## Life\nMarie Curie was a physicist.\n\nÜ ✓ 𝐀", Categories: []string{"Physicists", "C 2", "ü"},
		Kind: kg.KindList, Facts: []kg.Fact{{Key: "birth_date", Value: "7 November 1867"},
			{Key: "spouse", Value: `Pierre "P." Curie; ü ✓`}, {Key: "looks_like_json", Value: `[{"key":"x"}]`}},
		Date: "1867-11-07T00:00:00Z", Hash: "sha256:00ff", Origin: "x.warc.gz@1234"}
	bare := kg.Doc{ID: "r:2", Title: "Bare", URL: "https://x.example/wiki/Bare", Categories: []string{}, Facts: []kg.Fact{}}
	must(t, s.PutDocs(ctx, []kg.Doc{full, bare}))
	bare.Categories, bare.Facts = nil, nil
	for _, when := range []string{"before Finish", "after Finish"} {
		if when == "after Finish" {
			must(t, s.Finish(ctx))
		}
		for _, want := range []kg.Doc{full, bare} {
			for _, read := range []struct {
				name string
				call func() (kg.Doc, error)
			}{
				{"Doc", func() (kg.Doc, error) { return s.Doc(ctx, want.ID) }},
				{"DocByTitle", func() (kg.Doc, error) { return s.DocByTitle(ctx, want.Title) }},
				{"DocByURL", func() (kg.Doc, error) { return s.DocByURL(ctx, want.URL) }},
			} {
				if got, err := read.call(); err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("%s: %s(%s) = %+v, %v;\nwant %+v", when, read.name, want.ID, got, err, want)
				}
			}
		}
	}
}

// testDocsReplace: a document written again replaces the old one whole,
// within one call the later wins, and lookups by the old title and URL
// stop finding it.
func testDocsReplace(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	old := doc("p:1", "Old title", "Old text.")
	old.Facts = []kg.Fact{{Key: "k", Value: "v"}}
	old.Categories = []string{"Old"}
	mid := doc("p:1", "Middle title", "Middle text.")
	now := doc("p:1", "New title", "New text.")
	now.Kind, now.Lang = kg.KindDisambiguation, "de"
	must(t, s.PutDocs(ctx, []kg.Doc{old}))
	must(t, s.PutDocs(ctx, []kg.Doc{mid, now}))
	must(t, s.Finish(ctx))
	check(t, ctx, s, map[string]kg.Doc{now.ID: now}, derived{counts: kg.Counts{Docs: 1},
		titles: map[string]string{"New title": "p:1", "Old title": "", "Middle title": ""}})
	for _, u := range []string{old.URL, mid.URL} {
		if d, err := s.DocByURL(ctx, u); !errors.Is(err, kg.ErrNotFound) {
			t.Errorf("DocByURL(%q) after a rewrite = %s, %v; want ErrNotFound", u, d.ID, err)
		}
	}
}

// testRedirectsReplace: a redirect written again replaces the old one by
// From, and within one call the later wins.
func testRedirectsReplace(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	docs := []kg.Doc{doc("d:1", "A", "A."), doc("d:2", "B", "B."), doc("d:3", "C", "C.")}
	load(t, ctx, s, records{docs: docs, redirects: []kg.Redirect{{From: "R", To: "A"}, {From: "Q", To: "A"}}},
		records{redirects: []kg.Redirect{{From: "R", To: "B"}, {From: "R", To: "C"}}})
	check(t, ctx, s, held([]round{{records: records{docs: docs}}}), derived{
		counts: kg.Counts{Docs: 3, Aliases: 2},
		aliases: map[string][]kg.Alias{
			"d:1": aliases("d:1", "redirect", "Q"),
			"d:3": aliases("d:3", "redirect", "R"),
		},
		titles: map[string]string{"R": "d:3", "Q": "d:1"},
	})
}

// testInvalid: a call with an invalid record fails and writes nothing of
// the call, not even its valid records.
func testInvalid(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	good := doc("v:1", "Valid", "Valid text.")
	goodLink := mention("v:1", "Valid", "valid")
	goodRedirect := kg.Redirect{From: "Valid redirect", To: "Valid"}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"doc without ID", func() error { return s.PutDocs(ctx, []kg.Doc{good, {Title: "No ID"}}) }},
		{"doc without title", func() error { return s.PutDocs(ctx, []kg.Doc{good, {ID: "v:2"}}) }},
		{"link without Src", func() error { return s.PutRawLinks(ctx, []kg.RawLink{goodLink, {Target: "Valid"}}) }},
		{"link without Target", func() error { return s.PutRawLinks(ctx, []kg.RawLink{goodLink, {Src: "v:1"}}) }},
		{"redirect without From", func() error {
			return s.PutRedirects(ctx, []kg.Redirect{goodRedirect, {To: "Valid"}})
		}},
		{"redirect without To", func() error {
			return s.PutRedirects(ctx, []kg.Redirect{goodRedirect, {From: "Other"}})
		}},
	} {
		if err := tc.call(); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if c, err := s.Counts(ctx); err != nil || c != (kg.Counts{}) {
		t.Errorf("Counts after rejected calls = %+v, %v; want none", c, err)
	}
	if d, err := s.Doc(ctx, good.ID); !errors.Is(err, kg.ErrNotFound) {
		t.Errorf("Doc(%s) of a rejected call = %+v, %v; want ErrNotFound", good.ID, d, err)
	}
	// The redirect shows only once its target exists and Finish ran.
	load(t, ctx, s, records{docs: []kg.Doc{doc("v:9", "Valid", "Now valid.")}})
	wantTitle(t, ctx, s, goodRedirect.From, "")
}

// testEmpty: calls without records, and Finish of an empty store, do
// nothing and fail not.
func testEmpty(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	for _, err := range []error{
		s.PutDocs(ctx, nil), s.PutDocs(ctx, []kg.Doc{}),
		s.PutRawLinks(ctx, nil), s.PutRawLinks(ctx, []kg.RawLink{}),
		s.PutRedirects(ctx, nil), s.PutRedirects(ctx, []kg.Redirect{}),
		s.Finish(ctx), s.Finish(ctx),
	} {
		if err != nil {
			t.Errorf("empty call: %v", err)
		}
	}
	check(t, ctx, s, nil, derived{titles: map[string]string{"": "", "Anything": ""}})
	if hits, err := s.Search(ctx, "anything", 5); err != nil || len(hits) != 0 {
		t.Errorf("Search in an empty store = %+v, %v", hits, err)
	}
	for _, id := range []string{"", "nothing:1"} {
		if d, err := s.Doc(ctx, id); !errors.Is(err, kg.ErrNotFound) {
			t.Errorf("Doc(%q) = %+v, %v; want ErrNotFound", id, d, err)
		}
		if d, err := s.DocByURL(ctx, id); !errors.Is(err, kg.ErrNotFound) {
			t.Errorf("DocByURL(%q) = %+v, %v; want ErrNotFound", id, d, err)
		}
		if as, err := s.Aliases(ctx, id); err != nil || len(as) != 0 {
			t.Errorf("Aliases(%q) = %+v, %v; want none", id, as, err)
		}
	}
}

// testDocByTitle: the order of the title lookups and their tie-break.
func testDocByTitle(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	load(t, ctx, s, records{
		docs: []kg.Doc{
			doc("t:1", "Foo", "x"), doc("t:2", "Bar", "x"),
			doc("i:1", "iPod", "x"), doc("i:2", "IPod", "x"),
			doc("z:2", "Abc", "x"), doc("z:1", "ABC", "x"),
			doc("n:1", "New York City", "x"), doc("n:2", "Ìbàdàn", "x"),
			doc("m:2", "Twice", "x"), doc("m:10", "Twice", "x"),
		},
		redirects: []kg.Redirect{{From: "FOO", To: "Bar"}, {From: "NYC", To: "New York City"}},
	})
	for _, tc := range []struct{ title, want string }{
		{"Foo", "t:1"},
		{"FOO", "t:2"},  // a redirect before a title ignoring case
		{"foo", "t:1"},  // normalised "Foo"
		{"iPod", "i:1"}, // as given before normalised
		{"IPod", "i:2"},
		{"ipod", "i:1"}, // ignoring case: both match, the smallest ID
		{"abC", "z:1"},
		{"Twice", "m:10"}, // one title twice: the smallest ID, as strings
		{"new_york_city", "n:1"},
		{"New_York_City#History", "n:1"},
		{"NYC", "n:1"},
		{"nYC", "n:1"}, // normalised "NYC", a redirect
		{"ìBÀDÀN", "n:2"},
		{"Atlantis", ""},
		{"", ""},
	} {
		wantTitle(t, ctx, s, tc.title, tc.want)
	}
}

// testDocByURL: a URL is found as written first, then however spelled;
// ties go to the smallest ID.
func testDocByURL(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	copyDoc := doc("u:7", "Albert Einstein (copy)", "x")
	copyDoc.URL = "https://en.wikipedia.org/wiki/Albert%20Einstein"
	mobile := doc("u:6", "Ìbàdàn", "x")
	mobile.URL = "http://en.m.wikipedia.org/wiki/%C3%8Cb%C3%A0d%C3%A0n"
	same9, same10 := doc("u:9", "Same", "x"), doc("u:10", "Same", "x")
	load(t, ctx, s, records{docs: []kg.Doc{
		doc("u:1", "Albert Einstein", "x"), doc("u:2", "Café de Flore", "x"), doc("u:3", "AC/DC", "x"),
		doc("u:4", "100% (song)", "x"), doc("u:5", "What?", "x"), mobile, copyDoc, same9, same10,
		webDoc("web:1", "Paris guide", "https://travel.example/paris", "x"),
	}, redirects: []kg.Redirect{{From: kg.URLKey("http://old.example/p"), To: kg.URLKey("https://travel.example/paris")}}})
	for _, tc := range []struct{ url, want string }{
		{"https://en.wikipedia.org/wiki/Albert_Einstein", "u:1"},
		{"https://en.wikipedia.org/wiki/Albert Einstein", "u:1"},
		{"https://en.wikipedia.org/wiki/Albert%20Einstein", "u:7"}, // as written, before respelled
		{"http://en.wikipedia.org/wiki/Albert_Einstein#Life", "u:1"},
		{"https://en.m.wikipedia.org/wiki/Albert_Einstein", "u:1"},
		{"https://EN.wikipedia.org/wiki/Albert%20Einstein", "u:1"},
		{"https://en.wikipedia.org/wiki/Caf%C3%A9_de_Flore", "u:2"},
		{"https://en.wikipedia.org/wiki/Café_de_Flore", "u:2"},
		{"https://en.wikipedia.org/wiki/AC%2FDC", "u:3"},
		{"https://en.wikipedia.org/wiki/100%25_(song)", "u:4"},
		{"https://en.wikipedia.org/wiki/100%_(song)", "u:4"},
		{"https://en.wikipedia.org/wiki/What%3F", "u:5"},
		{"https://en.wikipedia.org/wiki/Ìbàdàn#x", "u:6"},
		{mobile.URL, "u:6"},
		{"https://en.wikipedia.org/wiki/Same", "u:10"},
		{"https://travel.example/paris#map", "web:1"},
		{"http://old.example/p", "web:1"}, // a web redirect (3xx, canonical) reaches its page
		{"http://old.example/q", ""},
		{"https://en.wikipedia.org/wiki/Albert_Einstein2", ""},
		{"https://de.wikipedia.org/wiki/Albert_Einstein", ""},
		{"not a url", ""},
		{"", ""},
	} {
		d, err := s.DocByURL(ctx, tc.url)
		switch {
		case tc.want == "" && !errors.Is(err, kg.ErrNotFound):
			t.Errorf("DocByURL(%q) = %s, %v; want ErrNotFound", tc.url, d.ID, err)
		case tc.want != "" && (err != nil || d.ID != tc.want):
			t.Errorf("DocByURL(%q) = %s, %v; want %s", tc.url, d.ID, err, tc.want)
		}
	}
}

// searchCorpus mixes the cases of ranking: exact titles against pages that
// say the words more often, redirects, titles without words, stop words.
func searchCorpus() records {
	return records{
		docs: []kg.Doc{
			doc("s:01", "Cecilia Abena Dapaah", "Cecilia Abena Dapaah is a politician. Cecilia Dapaah, Cecilia Dapaah, Cecilia Dapaah."),
			doc("s:02", "Cecilia Dapaah", "A short page."),
			doc("s:03", "New York City", "The largest city of the United States, also called NYC."),
			doc("s:04", "C++", "A programming language."),
			doc("s:05", "It", "A novel by Stephen King."),
			doc("s:06", "Mention", "NYC, NYC, NYC: someone said it thrice."),
			doc("s:07", "!!!", "A band; bang, bang."),
			doc("s:08", "Bang", "Bang bang bang."),
			doc("s:09", "History of France", strings.Repeat("Paris was the capital. The kings of France lived in Paris. ", 20)),
			doc("s:10", "Paris", "Paris, once Lutetia, is the capital and largest city of France."),
			doc("s:11", "Paris Hilton", "Paris Hilton is a media personality from New York."),
			doc("s:12", "Paris, Texas", "Paris is a city in Texas, named after Paris in France."),
			doc("s:13", "Roman Gaul", strings.Repeat("Lutetia was a Roman town. ", 5)),
			doc("s:14", "Custard", "A dessert of custard with caramelised sugar."),
		},
		redirects: []kg.Redirect{{From: "NYC", To: "New York City"}, {From: "Big Apple", To: "New York City"},
			{From: "Band", To: "!!!"}, {From: "Lutetia", To: "Paris"}},
	}
}

// testSearchRanking: titled documents first, then redirect targets, then
// by score, ties by ID; only matching documents.
func testSearchRanking(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	corpus := searchCorpus()
	load(t, ctx, s, corpus)
	docs := held([]round{{records: corpus}})
	for _, tc := range []struct {
		query string
		first []string // the leading hits, in order
		tiers int      // how many of them rank by title or redirect, not by score
	}{
		{"Cecilia Dapaah", []string{"s:02", "s:01"}, 1}, // the title beats a page that says the words more often
		{"cecilia_dapaah", []string{"s:02", "s:01"}, 1},
		{"New York City", []string{"s:03"}, 1},
		{"NYC", []string{"s:03", "s:06"}, 1}, // through the redirect, ahead of the page that says "NYC" more often
		{"york", []string{"s:03"}, 0},
		{"C++", []string{"s:04"}, 1},
		{"It", []string{"s:05"}, 1}, // a stop word in English analysers
		{"stephen KING novel", []string{"s:05"}, 0},
		{"Band", []string{"s:07"}, 1}, // a redirect to a title without words
		{"bang", []string{"s:08"}, 1},
		{"Paris", []string{"s:10"}, 1},
		{"paris hilton", []string{"s:11"}, 1},
		{"Paris, Texas", []string{"s:12"}, 1},
		{"History of France", []string{"s:09"}, 1},
		{"Lutetia", []string{"s:10", "s:13"}, 1}, // a redirect's target before a better score
		{"custard", []string{"s:14"}, 1},
		{"Big Apple", nil, 0}, // the redirect's target says neither word: no hit
		{"zzz", nil, 0},
	} {
		hits, err := s.Search(ctx, tc.query, 10)
		if err != nil {
			t.Errorf("Search(%q): %v", tc.query, err)
			continue
		}
		ids := hitIDs(hits)
		if len(ids) < len(tc.first) || !slices.Equal(ids[:len(tc.first)], tc.first) || (tc.first == nil && len(ids) > 0) {
			t.Errorf("Search(%q) = %v, want it to start with %v", tc.query, ids, tc.first)
		}
		checkOrder(t, tc.query, hits, tc.tiers)
		checkHits(t, tc.query, hits, docs)
	}
}

// checkOrder checks that the hits after the first tiers go by score, ties
// by ID.
func checkOrder(t *testing.T, query string, hits []kg.SearchHit, tiers int) {
	t.Helper()
	for i := tiers + 1; i < len(hits); i++ {
		a, b := hits[i-1], hits[i]
		if a.Score < b.Score || (a.Score == b.Score && a.DocID > b.DocID) {
			t.Errorf("Search(%q): %s (%g) before %s (%g)", query, a.DocID, a.Score, b.DocID, b.Score)
		}
	}
}

// checkHits checks that every hit is a matching document with its title,
// URL and a snippet, around a query word when the text has one.
func checkHits(t *testing.T, query string, hits []kg.SearchHit, docs map[string]kg.Doc) {
	t.Helper()
	seen := map[string]bool{}
	for _, h := range hits {
		d, ok := docs[h.DocID]
		switch {
		case !ok:
			t.Errorf("Search(%q): hit %s is no document", query, h.DocID)
			continue
		case seen[h.DocID]:
			t.Errorf("Search(%q): %s twice", query, h.DocID)
		case h.Title != d.Title || h.URL != d.URL:
			t.Errorf("Search(%q): hit %+v, document %q at %q", query, h, d.Title, d.URL)
		case h.Snippet == "":
			t.Errorf("Search(%q): no snippet for %s", query, h.DocID)
		}
		seen[h.DocID] = true
		text, title := words(d.Text), words(d.Title)
		snippet := strings.ToLower(h.Snippet)
		matched, inText, inSnippet := false, false, false
		for w := range words(query) {
			matched = matched || text[w] || title[w]
			inText = inText || text[w]
			inSnippet = inSnippet || text[w] && strings.Contains(snippet, w)
		}
		if !matched {
			t.Errorf("Search(%q): %s has none of the words", query, h.DocID)
		}
		if inText && !inSnippet {
			t.Errorf("Search(%q): snippet %q of %s has no query word", query, h.Snippet, h.DocID)
		}
	}
}

// words are the lower-cased runs of letters and digits of s.
func words(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	}) {
		out[w] = true
	}
	return out
}

func hitIDs(hits []kg.SearchHit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.DocID
	}
	return out
}

// testSearchTies: documents that score alike come in ID order, whatever
// order they were written in and wherever the limit cuts.
func testSearchTies(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	const n = 25
	var twins []kg.Doc
	var want []string
	for i := range n {
		id := fmt.Sprintf("t:%02d", i)
		want = append(want, id)
		// Titles of one length, so that they weigh alike too.
		twins = append(twins, doc(id, fmt.Sprintf("Twin %c", 'A'+i), "identical twin text"))
	}
	load(t, ctx, s, records{docs: reversed(twins)})
	for _, limit := range []int{1, 3, 10, n, n + 5} {
		hits, err := s.Search(ctx, "identical twin", limit)
		if got := hitIDs(hits); err != nil || !slices.Equal(got, want[:min(limit, n)]) {
			t.Errorf("Search limit %d = %v, %v; want %v", limit, got, err, want[:min(limit, n)])
		}
		for _, h := range hits {
			if h.Score != hits[0].Score {
				t.Errorf("twins score apart: %+v", hits)
				break
			}
		}
	}
	for _, limit := range []int{0, -1} {
		if hits, err := s.Search(ctx, "identical twin", limit); err != nil || len(hits) != 0 {
			t.Errorf("Search limit %d = %v, %v; want nothing", limit, hitIDs(hits), err)
		}
	}
}

// testSearchFreeText: no query is syntax or an error; one with a word of
// the corpus finds, one without words finds nothing.
func testSearchFreeText(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	load(t, ctx, s, records{docs: []kg.Doc{
		doc("q:1", "Foo", "foo and bar and baz are placeholders"),
		doc("q:2", "Near", "NEAR is an FTS5 keyword; so are AND, OR and NOT."),
		doc("q:3", "Title: a (b) [c]", "Text with a/b\\c."),
	}})
	// found is 1 for a query that must find something, -1 for one that
	// must find nothing, 0 where backends may differ on what a word is
	// ("a'b" is one word to Lucene, two to FTS5).
	for _, tc := range []struct {
		query string
		found int
	}{
		{`"foo" OR (bar* -baz:`, 1}, {`AND`, 1}, {`OR`, 1}, {`NOT`, 1}, {`NEAR(foo bar, 2)`, 1},
		{`{foo bar}`, 1}, {`foo + bar - baz`, 1}, {`foo"`, 1}, {`^foo`, 1}, {`Title: a (b) [c]`, 1},
		{`title:*`, 1}, {`a && b || !c`, 1},
		{`"`, -1}, {`*`, -1}, {`?`, -1}, {`()`, -1}, {``, -1}, {`   `, -1}, {`zzz`, -1}, {`日本語`, -1},
		{`\`, -1}, {`\\`, -1}, {`&&`, -1}, {`||`, -1}, {`!`, -1}, {`^`, -1}, {`~`, -1}, {`+-`, -1},
		{"\x00\x01", -1}, {`*:*`, -1}, {`[x TO z]`, -1}, {`/regex.*/`, -1}, {`zzz~2`, -1}, {`zzz^999`, -1},
		{`ɛ ɔ Ɔkwan`, -1}, {strings.Repeat("(", 500), -1}, {strings.Repeat("x ", 1000), -1},
		{`title:foo`, 0}, {`a'b`, 0}, {`id:q\:1`, 0}, {`a:b:c`, 0},
	} {
		hits, err := s.Search(ctx, tc.query, 5)
		switch {
		case err != nil:
			t.Errorf("Search(%q): %v", tc.query, err)
		case tc.found > 0 && len(hits) == 0:
			t.Errorf("Search(%q) found nothing", tc.query)
		case tc.found < 0 && len(hits) > 0:
			t.Errorf("Search(%q) = %v, want nothing", tc.query, hitIDs(hits))
		}
	}
	if hits, err := s.Search(ctx, `Title: a (b) [c]`, 5); err != nil || len(hits) == 0 || hits[0].DocID != "q:3" {
		t.Errorf("Search of a title full of syntax = %v, %v; want q:3 first", hitIDs(hits), err)
	}
}

// testSearchRewrite: after Finish the index follows rewritten documents.
func testSearchRewrite(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	load(t, ctx, s, records{docs: []kg.Doc{doc("w:1", "Alpha", "Alpha speaks of lions."), doc("w:2", "Beta", "Beta text.")}},
		records{docs: []kg.Doc{doc("w:1", "Alpha", "Alpha now speaks of zebras."), doc("w:2", "Gamma", "Gamma text.")}})
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"zebras", []string{"w:1"}},
		{"lions", nil},
		{"Gamma", []string{"w:2"}},
		{"Beta", nil},
	} {
		hits, err := s.Search(ctx, tc.query, 5)
		if got := hitIDs(hits); err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Search(%q) after a rewrite = %v, %v; want %v", tc.query, got, err, tc.want)
		}
	}
}

// testConcurrent: writes, reads and Finish from many goroutines at once;
// nothing is lost and nothing fails.
func testConcurrent(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	const workers, per = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers*8)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			report := func(err error) {
				if err != nil {
					errs <- err
				}
			}
			// A ring: each document links to the next of its worker.
			var docs []kg.Doc
			var raw []kg.RawLink
			for i := range per {
				docs = append(docs, doc(fmt.Sprintf("c:%d-%02d", w, i), fmt.Sprintf("Ring %d %d", w, i), "ring text"))
				raw = append(raw, mention(docs[i].ID, fmt.Sprintf("Ring %d %d", w, (i+1)%per), "next"))
			}
			report(s.PutDocs(ctx, docs))
			report(s.PutRawLinks(ctx, raw))
			if w%4 == 0 {
				report(s.Finish(ctx))
			}
			_, err := s.Search(ctx, "ring", 3)
			report(err)
			_, err = s.Doc(ctx, docs[0].ID)
			report(err)
			_, err = s.Snapshot(ctx)
			report(err)
			_, err = s.Counts(ctx)
			report(err)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	must(t, s.Finish(ctx))
	const n = workers * per
	if c, err := s.Counts(ctx); err != nil || c != (kg.Counts{Docs: n, Links: n, Aliases: n, RawLinks: n}) {
		t.Errorf("Counts = %+v, %v; want %d of each but unresolved", c, err, n)
	}
	g, err := s.Snapshot(ctx)
	must(t, err)
	if g.NodeCount() != n || g.EdgeCount() != n {
		t.Errorf("Snapshot of %d nodes and %d edges, want %d of each", g.NodeCount(), g.EdgeCount(), n)
	}
}

// testCancelled: a method that has to reach the store fails when its
// context is done, with an error that says so.
func testCancelled(t *testing.T, open opener) {
	s := open(t)
	load(t, context.Background(), s, records{docs: []kg.Doc{doc("x:1", "Alpha", "Alpha text.")}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"PutDocs", func() error { return s.PutDocs(ctx, []kg.Doc{doc("x:2", "Beta", "Beta.")}) }},
		{"PutRawLinks", func() error { return s.PutRawLinks(ctx, []kg.RawLink{mention("x:1", "Beta", "b")}) }},
		{"PutRedirects", func() error { return s.PutRedirects(ctx, []kg.Redirect{{From: "B", To: "Beta"}}) }},
		{"Finish", func() error { return s.Finish(ctx) }},
		{"Doc", func() error { _, err := s.Doc(ctx, "x:1"); return err }},
		{"DocByTitle", func() error { _, err := s.DocByTitle(ctx, "Alpha"); return err }},
		{"DocByURL", func() error { _, err := s.DocByURL(ctx, "https://en.wikipedia.org/wiki/Alpha"); return err }},
		{"Aliases", func() error { _, err := s.Aliases(ctx, "x:1"); return err }},
		{"Search", func() error { _, err := s.Search(ctx, "alpha", 5); return err }},
		{"Snapshot", func() error { _, err := s.Snapshot(ctx); return err }},
		{"Counts", func() error { _, err := s.Counts(ctx); return err }},
	} {
		if err := tc.call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v; want an error wrapping context.Canceled", tc.name, err)
		}
	}
}
