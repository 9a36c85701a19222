package embedded_test

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/embedded"
	"github.com/miroverse/miroverse/kg/kgtest"
	"github.com/miroverse/miroverse/kg/wiki"
)

const fatwiki = "fatwiki-20240920-pages-articles-multistream.xml.bz2"

// fatwikiPath is the shared Fante dump.
func fatwikiPath(t *testing.T) string { return kgtest.SharedDump(t, fatwiki) }

// ingest loads a dump the way the ingest stage does: articles and
// redirects of the main namespace, in batches.
func ingest(t *testing.T, ctx context.Context, s *embedded.Store, path string) (articles []kg.Doc, redirects []kg.Redirect) {
	t.Helper()
	r, err := wiki.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	parser := wiki.NewParser(r.SiteInfo())
	const batch = 10000
	var docs []kg.Doc
	var raw []kg.RawLink
	var reds []kg.Redirect
	flush := func(force bool) {
		if len(docs) >= batch || force {
			if err := s.PutDocs(ctx, docs); err != nil {
				t.Fatal(err)
			}
			docs = docs[:0]
		}
		if len(raw) >= batch || force {
			if err := s.PutRawLinks(ctx, raw); err != nil {
				t.Fatal(err)
			}
			raw = raw[:0]
		}
		if len(reds) >= batch || force {
			if err := s.PutRedirects(ctx, reds); err != nil {
				t.Fatal(err)
			}
			reds = reds[:0]
		}
	}
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
			redirects = append(redirects, red)
		} else if p.Redirect == "" {
			d, ls := parser.Parse(p)
			docs = append(docs, d)
			raw = append(raw, ls...)
			articles = append(articles, d)
		}
		flush(false)
	}
	flush(true)
	if err := s.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	return articles, redirects
}

func TestFatwikiEndToEnd(t *testing.T) {
	path := fatwikiPath(t)
	ctx := context.Background()
	s, err := embedded.Open(ctx, filepath.Join(t.TempDir(), "fat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	articles, redirects := ingest(t, ctx, s, path)

	c, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("counts %+v, %d redirects in the dump's main namespace", c, len(redirects))
	if c.Docs != int64(len(articles)) || c.Docs != 1466 {
		t.Errorf("docs %d, want %d ns-0 non-redirect pages (1466)", c.Docs, len(articles))
	}

	// Every redirect whose target is an article is an alias of it.
	titles := map[string]string{}
	for _, d := range articles {
		titles[d.Title] = d.ID
	}
	resolved := 0
	for _, r := range redirects {
		id, ok := titles[r.To]
		if !ok {
			continue
		}
		resolved++
		al, err := s.Aliases(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, a := range al {
			found = found || (a.Alias == r.From && a.Kind == "redirect")
		}
		if !found {
			t.Errorf("redirect %q -> %q is not an alias of %s: %+v", r.From, r.To, id, al)
		}
		if d, err := s.DocByTitle(ctx, r.From); err != nil || d.ID != id {
			t.Errorf("DocByTitle(%q) = %v, %v; want %s", r.From, d.ID, err, id)
		}
	}
	if resolved == 0 {
		t.Error("no redirect of the dump reaches an article")
	}

	g, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("snapshot: %d nodes, %d edges", g.NodeCount(), g.EdgeCount())
	if g.EdgeCount() == 0 || g.NodeCount() != len(articles) {
		t.Errorf("snapshot %d nodes %d edges", g.NodeCount(), g.EdgeCount())
	}

	// Searching an article's exact title finds it first, for an even
	// sample of 50 titles.
	sort.Slice(articles, func(i, j int) bool { return articles[i].ID < articles[j].ID })
	const sample = 50
	hit := 0
	for i := range sample {
		d := articles[i*len(articles)/sample]
		hits, err := s.Search(ctx, d.Title, 5)
		if err != nil {
			t.Fatalf("Search(%q): %v", d.Title, err)
		}
		if len(hits) > 0 && hits[0].DocID == d.ID {
			hit++
		} else {
			var got []string
			for _, h := range hits {
				got = append(got, h.Title)
			}
			t.Logf("Search(%q) ranks %q", d.Title, got)
		}
		if got, err := s.DocByURL(ctx, d.URL); err != nil || got.ID != d.ID {
			t.Errorf("DocByURL(%q) = %v, %v", d.URL, got.ID, err)
		}
	}
	t.Logf("exact-title search: %d/%d first", hit, sample)
	if hit*100 < 95*sample {
		t.Errorf("exact-title hit rate %d/%d below 95%%", hit, sample)
	}

	// Loading the same dump again changes nothing.
	ingest(t, ctx, s, path)
	if c2, _ := s.Counts(ctx); c2 != c {
		t.Errorf("counts after a second ingest %+v, first %+v", c2, c)
	}
}

// TestDumpFactsRoundTrip ingests the 2016 English excerpt, whose articles
// carry infobox facts, and reads every document back whole.
func TestDumpFactsRoundTrip(t *testing.T) {
	path := kgtest.SharedDump(t, "enwiki-2016-excerpt-206p.xml.bz2")
	ctx := context.Background()
	s, err := embedded.Open(ctx, filepath.Join(t.TempDir(), "en.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	articles, _ := ingest(t, ctx, s, path)
	facts := 0
	for _, want := range articles {
		facts += len(want.Facts)
		got, err := s.Doc(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Doc(%s) differs from the parsed document; facts %d read, %d written", want.ID, len(got.Facts), len(want.Facts))
		}
	}
	if facts == 0 {
		t.Fatal("no facts in the dump's articles")
	}
	t.Logf("%d articles, %d facts read back", len(articles), facts)
}
