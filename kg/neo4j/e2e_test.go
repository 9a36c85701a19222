package neo4j

import (
	"context"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/miroverse/miroverse/internal/testenv"
	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/embedded"
)

// ingestBatch is the number of pages per flush in the corpus tests, the
// order of the ingest stage's default.
const ingestBatch = 2000

// loadModes are the two ways a graph gets into Neo4j: batched
// transactions (the store's writes and Finish) and a bulk import of what
// the embedded store resolved. Both must end in the embedded store's graph.
var loadModes = []string{"transactional", "bulk"}

// localAdmin is the test server's installation for a bulk import. A server
// that this machine cannot import into skips the bulk cases, except in CI.
func localAdmin(t *testing.T, s *Store) *Admin {
	t.Helper()
	a, err := s.LocalAdmin(context.Background(), "")
	if err != nil {
		testenv.Missing(t, "bulk import needs the server's installation here (start it with scripts/neo4j): %v", err)
	}
	return a
}

// bulkLoad imports a finished embedded store into s.
func bulkLoad(t *testing.T, ctx context.Context, s *Store, e *embedded.Store) {
	t.Helper()
	a := localAdmin(t, s)
	exp, err := WriteAdminImport(ctx, e, t.TempDir(), AdminOptions{Stamp: "test"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s.Import(ctx, a, exp)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bulk import of %d documents and %d links: %+v", exp.Documents, exp.Links, rep)
}

// TestCorporaMatchEmbedded loads real dumps into both backends, in each
// load mode, and compares everything they derive, and what the later
// stages ask of them.
func TestCorporaMatchEmbedded(t *testing.T) {
	opt := serverOptions(t)
	for _, tc := range []struct {
		name string
		path func(testing.TB) string
	}{
		{"demo", func(testing.TB) string { return demoPath() }},
		{"fatwiki", fatwikiPath},
	} {
		for _, mode := range loadModes {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				path := tc.path(t)
				ctx := context.Background()
				s := openClean(t, opt)
				e, edb := openEmbedded(t)

				start := time.Now()
				articles, err := loadDump(ctx, e, path, ingestBatch, nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := e.Finish(ctx); err != nil {
					t.Fatal(err)
				}
				t.Logf("embedded: loaded and finished in %v", time.Since(start).Round(time.Millisecond))

				start = time.Now()
				switch mode {
				case "transactional":
					if _, err := loadDump(ctx, s, path, ingestBatch, nil); err != nil {
						t.Fatal(err)
					}
					loaded := time.Since(start)
					if err := s.Finish(ctx); err != nil {
						t.Fatal(err)
					}
					t.Logf("neo4j: loaded in %v, finished in %v", loaded.Round(time.Millisecond),
						(time.Since(start) - loaded).Round(time.Millisecond))
				case "bulk":
					bulkLoad(t, ctx, s, e)
				}
				c, _ := s.Counts(ctx)
				t.Logf("neo4j %s in %v: %+v", mode, time.Since(start).Round(time.Millisecond), c)
				if c.Docs != int64(len(articles)) || c.Links == 0 {
					t.Fatalf("neo4j counts %+v for %d articles", c, len(articles))
				}

				sameGraph(t, ctx, e, edb, s)
				sameLookups(t, ctx, e, s, articles)
				noDuplicates(t, s)

				// The same dump again, in transactions over either graph,
				// changes nothing: a bulk-loaded graph takes further writes
				// and Finish as one loaded in transactions does.
				if _, err := loadDump(ctx, s, path, ingestBatch, nil); err != nil {
					t.Fatal(err)
				}
				if err := s.Finish(ctx); err != nil {
					t.Fatal(err)
				}
				if c2, _ := s.Counts(ctx); c2 != c {
					t.Errorf("counts after a second ingest %+v, first %+v", c2, c)
				}
				noDuplicates(t, s)
				sameGraph(t, ctx, e, edb, s)
			})
		}
	}
}

// searchSample is how many titles are searched in the corpus tests.
const searchSample = 50

// sameLookups compares per-document aliases for every document, title and
// URL lookups, and the top search result for an even sample of titles.
func sameLookups(t *testing.T, ctx context.Context, e, s kg.Reader, articles []kg.Doc) {
	t.Helper()
	sorted := append([]kg.Doc(nil), articles...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	for _, d := range sorted {
		ea, err := e.Aliases(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		na, err := s.Aliases(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ea, na) {
			t.Errorf("Aliases(%s): neo4j %+v, embedded %+v", d.ID, na, ea)
		}
		for _, a := range na {
			if a.Kind != "redirect" {
				continue
			}
			ed, eerr := e.DocByTitle(ctx, a.Alias)
			nd, nerr := s.DocByTitle(ctx, a.Alias)
			if eerr != nil || nerr != nil || ed.ID != nd.ID {
				t.Errorf("DocByTitle(%q): neo4j %s %v, embedded %s %v", a.Alias, nd.ID, nerr, ed.ID, eerr)
			}
		}
	}
	n := min(searchSample, len(sorted))
	same, exact := 0, 0
	for i := range n {
		d := sorted[i*len(sorted)/n]
		nd, err := s.Doc(ctx, d.ID)
		if err != nil || !reflect.DeepEqual(nd, mustDoc(t, ctx, e, d.ID)) {
			t.Errorf("Doc(%s) differs: %+v, %v", d.ID, nd, err)
		}
		if got, err := s.DocByURL(ctx, d.URL); err != nil || got.ID != d.ID {
			t.Errorf("DocByURL(%q) = %s, %v", d.URL, got.ID, err)
		}
		eh, err := e.Search(ctx, d.Title, 5)
		if err != nil {
			t.Fatal(err)
		}
		nh, err := s.Search(ctx, d.Title, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(nh) > 0 && nh[0].DocID == d.ID {
			exact++
		}
		if len(nh) > 0 && len(eh) > 0 && nh[0].DocID == eh[0].DocID {
			same++
		} else {
			t.Errorf("Search(%q): neo4j %v, embedded %v", d.Title, hitIDs(nh), hitIDs(eh))
		}
	}
	t.Logf("search on %d titles: same top document %d, the titled document first %d", n, same, exact)
}

func mustDoc(t *testing.T, ctx context.Context, r kg.Reader, id string) kg.Doc {
	t.Helper()
	d, err := r.Doc(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func hitIDs(hits []kg.SearchHit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.DocID
	}
	return out
}

// TestConcurrentFinish runs Finish from two clients at once, as happens
// when a retrying ingest and its re-run overlap: the graph must still be
// the one a single Finish makes.
func TestConcurrentFinish(t *testing.T) {
	opt := serverOptions(t)
	path := fatwikiPath(t)
	ctx := context.Background()
	opt.NodeBatch, opt.RelBatch = 100, 50 // many transactions to interleave
	s := openClean(t, opt)
	e, edb := openEmbedded(t)
	for _, w := range []kg.Writer{e, s} {
		if _, err := loadDump(ctx, w, path, ingestBatch, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	other, err := Open(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for round := range 2 {
		errs := make(chan error, 2)
		for _, st := range []*Store{s, other} {
			go func() { errs <- st.Finish(ctx) }()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		sameGraph(t, ctx, e, edb, s)
		noDuplicates(t, s)
	}
}
