package neo4j

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/miroverse/miroverse/internal/testenv"
	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/embedded"
	"github.com/miroverse/miroverse/kg/kgtest"
	"github.com/miroverse/miroverse/kg/wiki"

	n4j "github.com/neo4j/neo4j-go-driver/v5/neo4j"

	_ "modernc.org/sqlite" // to read the embedded store's tables in comparisons
)

// serverOptions are the options of the Neo4j the tests use, from
// NEO4J_URI, NEO4J_USER and NEO4J_PASSWORD. Without NEO4J_URI the test is
// skipped, except in CI, where no Neo4j test may skip.
func serverOptions(t testing.TB) Options {
	t.Helper()
	uri := testenv.Need(t, "NEO4J_URI", "start a server with `eval \"$(scripts/neo4j start)\"` and export NEO4J_URI NEO4J_USER NEO4J_PASSWORD")
	return Options{URI: uri, User: os.Getenv("NEO4J_USER"), Password: os.Getenv("NEO4J_PASSWORD")}
}

// openClean empties the test server's database and opens it. Community
// edition has a single user database, so tests share it and clear it; they
// do not run in parallel. The database is emptied before Open, which would
// refuse a graph of another schema version left by an older build.
func openClean(t testing.TB, opt Options) *Store {
	t.Helper()
	ctx := context.Background()
	drv, err := n4j.NewDriverWithContext(opt.URI, n4j.BasicAuth(cmp.Or(opt.User, DefaultUser), opt.Password, ""))
	if err != nil {
		t.Fatal(err)
	}
	err = wipeDatabase(ctx, drv, cmp.Or(opt.Database, DefaultDatabase))
	drv.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// wipe deletes every node and puts the schema version back.
func (s *Store) wipe(ctx context.Context) error {
	if err := wipeDatabase(ctx, s.driver, s.opt.Database); err != nil {
		return err
	}
	return s.init(ctx)
}

// wipeDatabase deletes every node in batches (a single transaction would
// need the whole graph in memory).
func wipeDatabase(ctx context.Context, drv n4j.DriverWithContext, database string) error {
	sess := drv.NewSession(ctx, n4j.SessionConfig{DatabaseName: database})
	defer sess.Close(ctx)
	// CALL … IN TRANSACTIONS must run in an implicit transaction.
	res, err := sess.Run(ctx, `MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS`, nil)
	if err == nil {
		_, err = res.Consume(ctx)
	}
	if err != nil {
		return fmt.Errorf("wipe test database: %w", err)
	}
	return nil
}

// openEmbedded opens a fresh embedded store and the same file for direct
// reads of its tables.
func openEmbedded(t testing.TB) (*embedded.Store, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kg.db")
	e, err := embedded.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return e, db
}

// putDocs writes documents and finishes.
func putDocs(t testing.TB, w kg.Writer, docs ...kg.Doc) {
	t.Helper()
	ctx := context.Background()
	if err := w.PutDocs(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(ctx); err != nil {
		t.Fatal(err)
	}
}

// loadDump streams a MediaWiki dump into w as the ingest stage does:
// main-namespace articles and redirects, batch pages at a time. after is
// called after every flush with the number of flushes so far; an error from
// it stops the load. It does not call Finish.
func loadDump(ctx context.Context, w kg.Writer, path string, batch int, after func(flushes int) error) (docs []kg.Doc, err error) {
	rd, err := wiki.OpenContext(ctx, path)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	parser := wiki.NewParser(rd.SiteInfo())
	var bd []kg.Doc
	var bl []kg.RawLink
	var br []kg.Redirect
	flushes := 0
	flush := func() error {
		if err := w.PutDocs(ctx, bd); err != nil {
			return err
		}
		if err := w.PutRawLinks(ctx, bl); err != nil {
			return err
		}
		if err := w.PutRedirects(ctx, br); err != nil {
			return err
		}
		bd, bl, br = bd[:0], bl[:0], br[:0]
		flushes++
		if after != nil {
			return after(flushes)
		}
		return nil
	}
	for {
		p, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		switch {
		case p.NS != 0:
			continue
		case p.Redirect != "":
			br = append(br, kg.Redirect{From: wiki.NormalizeTitle(p.Title), To: wiki.NormalizeTitle(p.Redirect)})
		default:
			d, ls := parser.Parse(p)
			bd = append(bd, d)
			bl = append(bl, ls...)
			docs = append(docs, d)
		}
		if len(bd) >= batch || len(bl) >= batch || len(br) >= batch {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	return docs, flush()
}

// fatwikiPath is the shared Fante dump.
func fatwikiPath(t testing.TB) string {
	return kgtest.SharedDump(t, "fatwiki-20240920-pages-articles-multistream.xml.bz2")
}

// demoPath is the demo corpus in the repository.
func demoPath() string {
	return filepath.Join("..", "..", "corpus", "demo", "demowiki-pages-articles.xml")
}

// sortLinks orders links by (src, dst, anchor, sentence).
func sortLinks(ls []kg.Link) {
	sort.Slice(ls, func(i, j int) bool {
		a, b := ls[i], ls[j]
		if a.Src != b.Src {
			return a.Src < b.Src
		}
		if a.Dst != b.Dst {
			return a.Dst < b.Dst
		}
		if a.Anchor != b.Anchor {
			return a.Anchor < b.Anchor
		}
		return a.Sentence < b.Sentence
	})
}

func sortAliases(as []kg.Alias) {
	sort.Slice(as, func(i, j int) bool {
		a, b := as[i], as[j]
		if a.Alias != b.Alias {
			return a.Alias < b.Alias
		}
		if a.DocID != b.DocID {
			return a.DocID < b.DocID
		}
		return a.Kind < b.Kind
	})
}

// embeddedLinks and embeddedAliases read the embedded store's tables whole.
func embeddedLinks(t testing.TB, db *sql.DB) []kg.Link {
	t.Helper()
	rows, err := db.Query(`SELECT src, dst, anchor, sentence FROM links`)
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
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sortLinks(out)
	return out
}

func embeddedAliases(t testing.TB, db *sql.DB) []kg.Alias {
	t.Helper()
	rows, err := db.Query(`SELECT alias, doc_id, kind FROM aliases`)
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
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sortAliases(out)
	return out
}

// neo4jLinks and neo4jAliases read the whole graph's links and aliases.
func neo4jLinks(t testing.TB, s *Store) []kg.Link {
	t.Helper()
	var out []kg.Link
	err := s.read(context.Background(), "test: all links", `
		MATCH (s:Document)-[l:LINKS_TO]->(d:Document) RETURN s.id, d.id, l.anchor, l.sentence`, nil,
		func() { out = out[:0] },
		func(r *n4j.Record) error {
			out = append(out, kg.Link{Src: r.Values[0].(string), Dst: r.Values[1].(string),
				Anchor: r.Values[2].(string), Sentence: r.Values[3].(string)})
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	sortLinks(out)
	return out
}

func neo4jAliases(t testing.TB, s *Store) []kg.Alias {
	t.Helper()
	var out []kg.Alias
	err := s.read(context.Background(), "test: all aliases", `
		MATCH (a:Alias)-[:ALIAS_OF]->(d:Document) RETURN a.alias, d.id, a.kind`, nil,
		func() { out = out[:0] },
		func(r *n4j.Record) error {
			out = append(out, kg.Alias{Alias: r.Values[0].(string), DocID: r.Values[1].(string), Kind: r.Values[2].(string)})
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	sortAliases(out)
	return out
}

// sameGraph compares everything the two stores derived: counts, every link
// and alias, and the snapshot field by field.
func sameGraph(t *testing.T, ctx context.Context, e *embedded.Store, edb *sql.DB, s *Store) {
	t.Helper()
	ec, err := e.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ec != nc {
		t.Errorf("counts: neo4j %+v, embedded %+v", nc, ec)
	}
	el, nl := embeddedLinks(t, edb), neo4jLinks(t, s)
	if !reflect.DeepEqual(el, nl) {
		t.Errorf("links differ: neo4j %d, embedded %d; first difference: %s", len(nl), len(el), firstDiff(nl, el))
	}
	ea, na := embeddedAliases(t, edb), neo4jAliases(t, s)
	if !reflect.DeepEqual(ea, na) {
		t.Errorf("aliases differ: neo4j %d, embedded %d; first difference: %s", len(na), len(ea), firstDiff(na, ea))
	}
	eg, err := e.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ng, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kgtest.SameGraph(t, ng, eg)
	// One Link query per edge is a round trip each: a few thousand
	// spread over the graph show that both stores keep the same evidence.
	kgtest.SameLinks(t, ctx, eg, s, e, max(1, eg.EdgeCount()/2000))
}

// firstDiff describes where two sorted slices first differ.
func firstDiff[T any](got, want []T) string {
	for i := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[i], want[i]) {
			return fmt.Sprintf("at %d: neo4j %+v, embedded %+v", i, got[i], want[i])
		}
	}
	if len(got) > len(want) {
		return fmt.Sprintf("neo4j has more, e.g. %+v", got[len(want)])
	}
	if len(want) > len(got) {
		return fmt.Sprintf("embedded has more, e.g. %+v", want[len(got)])
	}
	return "none"
}

// noDuplicates checks that no key names two nodes and no two LINKS_TO
// carry the same (src, dst, anchor, sentence).
func noDuplicates(t *testing.T, s *Store) {
	t.Helper()
	for _, q := range []string{
		`MATCH (n:Document) WITH n.id AS k, count(*) AS c WHERE c > 1 RETURN count(*)`,
		`MATCH (n:RawLinks) WITH n.src AS k, count(*) AS c WHERE c > 1 RETURN count(*)`,
		`MATCH (n:RawLinks) UNWIND n.links AS l WITH n, l, count(*) AS c WHERE c > 1 RETURN count(*)`,
		`MATCH (n:RawLinks) WHERE n.n <> size(n.links) RETURN count(*)`,
		`MATCH (n:Redirect) WITH n.from AS k, count(*) AS c WHERE c > 1 RETURN count(*)`,
		`MATCH (n:Alias) WITH n.key AS k, count(*) AS c WHERE c > 1 RETURN count(*)`,
		`MATCH (n:Alias) WHERE COUNT { (n)-[:ALIAS_OF]->() } <> 1 RETURN count(*)`,
		`MATCH (s)-[l:LINKS_TO]->(d) WITH s, d, l.anchor AS a, l.sentence AS x, count(*) AS c WHERE c > 1 RETURN count(*)`,
	} {
		var n int64
		if err := s.read(context.Background(), "test: duplicates", q, nil, nil, func(r *n4j.Record) error {
			n = r.Values[0].(int64)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d duplicates: %s", n, q)
		}
	}
}
