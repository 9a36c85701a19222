// Command bench runs miroverse's side-by-side benchmarks and prints one
// table: each row measures our path and a peer on the same input in the same
// run, and states the ratio against the goal. Run it through `make bench`,
// which provides a Neo4j.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/miroverse/miroverse/kg"
	kgneo4j "github.com/miroverse/miroverse/kg/neo4j"
	"github.com/miroverse/miroverse/kg/wiki"
)

// row is one line of the table.
type row struct {
	name, ours, peer string
	ratio, goal      float64
}

func main() {
	dump := flag.String("dump", defaultDump(), "wiki dump the graph benchmarks load")
	flag.Parse()
	ctx := context.Background()
	var rows []row
	r, err := benchNeo4jLoad(ctx, *dump)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: neo4j load:", err)
		os.Exit(1)
	}
	rows = append(rows, r)
	print(os.Stdout, rows)
}

func defaultDump() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "data", "wiki", "fatwiki-20240920-pages-articles-multistream.xml.bz2")
}

func print(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\tours\tpeer\tratio\tgoal\tmet")
	for _, r := range rows {
		met := "yes"
		if r.ratio < r.goal {
			met = "NO"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f×\t≥ %.0f×\t%s\n", r.name, r.ours, r.peer, r.ratio, r.goal, met)
	}
	tw.Flush()
}

// graph is a dump read into memory once, so both loaders get the same input.
type graph struct {
	docs      []kg.Doc
	links     []kg.RawLink
	redirects []kg.Redirect
}

func readDump(ctx context.Context, path string) (graph, error) {
	var g graph
	rd, err := wiki.OpenContext(ctx, path)
	if err != nil {
		return g, err
	}
	defer rd.Close()
	ps := wiki.NewParser(rd.SiteInfo())
	for {
		p, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			return g, nil
		}
		var pe *wiki.PageError
		if errors.As(err, &pe) {
			continue
		}
		if err != nil {
			return g, err
		}
		if red, ok := wiki.RedirectOf(p); ok {
			g.redirects = append(g.redirects, red)
			continue
		}
		if p.NS != 0 {
			continue
		}
		d, ls := ps.Parse(p)
		g.docs = append(g.docs, d)
		g.links = append(g.links, ls...)
	}
}

func neo4jOptions() (kgneo4j.Options, error) {
	uri := os.Getenv("NEO4J_URI")
	if uri == "" {
		return kgneo4j.Options{}, errors.New("NEO4J_URI is not set (run through `make bench`)")
	}
	user := os.Getenv("NEO4J_USER")
	if user == "" {
		user = "neo4j"
	}
	return kgneo4j.Options{URI: uri, Database: "neo4j", User: user, Password: os.Getenv("NEO4J_PASSWORD")}, nil
}

// benchNeo4jLoad loads the same graph twice into an empty database: with the
// store's batched UNWIND loader, and with a naive loader that MERGEs one node
// or one relationship per transaction. Both end with the same documents and
// LINKS_TO relationships.
func benchNeo4jLoad(ctx context.Context, dump string) (row, error) {
	g, err := readDump(ctx, dump)
	if err != nil {
		return row{}, err
	}
	opt, err := neo4jOptions()
	if err != nil {
		return row{}, err
	}
	drv, err := neo4j.NewDriverWithContext(opt.URI, neo4j.BasicAuth(opt.User, opt.Password, ""))
	if err != nil {
		return row{}, err
	}
	defer drv.Close(ctx)
	if err := wipe(ctx, drv); err != nil {
		return row{}, err
	}

	st, err := kgneo4j.Open(ctx, opt)
	if err != nil {
		return row{}, err
	}
	start := time.Now()
	if err := st.PutDocs(ctx, g.docs); err != nil {
		return row{}, err
	}
	if err := st.PutRedirects(ctx, g.redirects); err != nil {
		return row{}, err
	}
	if err := st.PutRawLinks(ctx, g.links); err != nil {
		return row{}, err
	}
	if err := st.Finish(ctx); err != nil {
		return row{}, err
	}
	ours := time.Since(start)
	c, err := st.Counts(ctx)
	st.Close()
	if err != nil {
		return row{}, err
	}
	resolved, err := readLinks(ctx, drv)
	if err != nil {
		return row{}, err
	}
	if int64(len(resolved)) != c.Links {
		return row{}, fmt.Errorf("read %d links back, store counts %d", len(resolved), c.Links)
	}

	if err := wipe(ctx, drv); err != nil {
		return row{}, err
	}
	start = time.Now()
	if err := naiveLoad(ctx, drv, g.docs, resolved); err != nil {
		return row{}, err
	}
	naive := time.Since(start)
	n, err := countRels(ctx, drv)
	if err != nil {
		return row{}, err
	}
	if n != c.Links {
		return row{}, fmt.Errorf("naive loader wrote %d relationships, want %d", n, c.Links)
	}
	if err := wipe(ctx, drv); err != nil {
		return row{}, err
	}
	oursRate := float64(c.Links) / ours.Seconds()
	naiveRate := float64(c.Links) / naive.Seconds()
	return row{
		name:  fmt.Sprintf("neo4j load, %s docs + %s rels (%s)", humanize.Comma(int64(len(g.docs))), humanize.Comma(c.Links), filepath.Base(dump)),
		ours:  fmt.Sprintf("%s rels/s (%s)", humanize.Comma(int64(oursRate)), ours.Round(time.Millisecond)),
		peer:  fmt.Sprintf("%s rels/s (%s, MERGE per row per tx)", humanize.Comma(int64(naiveRate)), naive.Round(time.Millisecond)),
		ratio: oursRate / naiveRate,
		goal:  10,
	}, nil
}

func wipe(ctx context.Context, drv neo4j.DriverWithContext) error {
	// CALL … IN TRANSACTIONS needs an implicit (auto-commit) transaction.
	sess := drv.NewSession(ctx, neo4j.SessionConfig{DatabaseName: "neo4j"})
	defer sess.Close(ctx)
	res, err := sess.Run(ctx, "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS", nil)
	if err == nil {
		_, err = res.Consume(ctx)
	}
	if err != nil {
		return fmt.Errorf("empty database: %w", err)
	}
	return nil
}

func readLinks(ctx context.Context, drv neo4j.DriverWithContext) ([]kg.Link, error) {
	res, err := neo4j.ExecuteQuery(ctx, drv,
		"MATCH (a:Document)-[r:LINKS_TO]->(b:Document) RETURN a.id AS src, b.id AS dst, r.anchor AS anchor, r.sentence AS sentence",
		nil, neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase("neo4j"), neo4j.ExecuteQueryWithReadersRouting())
	if err != nil {
		return nil, fmt.Errorf("read links: %w", err)
	}
	out := make([]kg.Link, 0, len(res.Records))
	for _, rec := range res.Records {
		m := rec.AsMap()
		out = append(out, kg.Link{Src: m["src"].(string), Dst: m["dst"].(string), Anchor: m["anchor"].(string), Sentence: m["sentence"].(string)})
	}
	return out, nil
}

func countRels(ctx context.Context, drv neo4j.DriverWithContext) (int64, error) {
	res, err := neo4j.ExecuteQuery(ctx, drv, "MATCH ()-[r:LINKS_TO]->() RETURN count(r) AS n", nil,
		neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase("neo4j"))
	if err != nil {
		return 0, fmt.Errorf("count relationships: %w", err)
	}
	return res.Records[0].AsMap()["n"].(int64), nil
}

// naiveLoad is the peer: what a first attempt looks like, one MERGE and one
// transaction per node and per relationship.
func naiveLoad(ctx context.Context, drv neo4j.DriverWithContext, docs []kg.Doc, links []kg.Link) error {
	db := neo4j.ExecuteQueryWithDatabase("neo4j")
	for _, d := range docs {
		_, err := neo4j.ExecuteQuery(ctx, drv,
			"MERGE (d:Document {id: $id}) SET d.title = $title, d.url = $url, d.source = $source, d.lang = $lang, d.text = $text, d.categories = $categories, d.kind = $kind",
			map[string]any{"id": d.ID, "title": d.Title, "url": d.URL, "source": d.Source, "lang": d.Lang, "text": d.Text, "categories": d.Categories, "kind": d.Kind},
			neo4j.EagerResultTransformer, db)
		if err != nil {
			return fmt.Errorf("naive node %s: %w", d.ID, err)
		}
	}
	for _, l := range links {
		_, err := neo4j.ExecuteQuery(ctx, drv,
			"MATCH (a:Document {id: $src}), (b:Document {id: $dst}) MERGE (a)-[:LINKS_TO {anchor: $anchor, sentence: $sentence}]->(b)",
			map[string]any{"src": l.Src, "dst": l.Dst, "anchor": l.Anchor, "sentence": l.Sentence},
			neo4j.EagerResultTransformer, db)
		if err != nil {
			return fmt.Errorf("naive link %s->%s: %w", l.Src, l.Dst, err)
		}
	}
	return nil
}
