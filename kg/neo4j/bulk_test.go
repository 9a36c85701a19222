package neo4j

import (
	"context"
	"testing"
)

// TestImportMatchesEmbedded: a graph resolved by the embedded store and
// imported with the server's neo4j-admin is the graph a transactional load
// makes.
func TestImportMatchesEmbedded(t *testing.T) {
	srv := newServer(t)
	opt := srv.start()
	ctx := context.Background()
	s := openClean(t, opt)
	e, edb := openEmbedded(t)
	if _, err := loadDump(ctx, e, demoPath(), ingestBatch, nil); err != nil {
		t.Fatal(err)
	}
	// Web pages beside the dump, one linking to a wiki article: they go
	// to a file of their own, imported with the WebPage label.
	web := webPages()
	if err := e.PutDocs(ctx, web); err != nil {
		t.Fatal(err)
	}
	if err := e.PutRawLinks(ctx, webLinks()); err != nil {
		t.Fatal(err)
	}
	if err := e.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := s.LocalAdmin(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	exp, err := WriteAdminImport(ctx, e, t.TempDir(), AdminOptions{Stamp: "test-stamp"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s.Import(ctx, a, exp)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("import: %+v", rep)
	sameGraph(t, ctx, e, edb, s)
	if n := countWebPages(t, s); n != len(web) {
		t.Errorf("%d WebPage nodes after the import, want %d", n, len(web))
	}
}
