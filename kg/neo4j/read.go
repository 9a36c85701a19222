package neo4j

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/miroverse/miroverse/kg"

	n4j "github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// docReturn is the RETURN list recordDoc reads, for a document bound to d.
const docReturn = `d.id, d.title, d.url, d.source, d.lang, d.text, d.categories, d.kind, d.facts, d.date, d.hash, d.origin`

func recordDoc(r *n4j.Record) (kg.Doc, error) {
	v := r.Values
	if len(v) < 12 {
		return kg.Doc{}, fmt.Errorf("document record has %d values, want 12", len(v))
	}
	var d kg.Doc
	var ok [7]bool
	d.ID, ok[0] = v[0].(string)
	d.Title, ok[1] = v[1].(string)
	d.URL, ok[2] = v[2].(string)
	d.Source, ok[3] = v[3].(string)
	d.Lang, ok[4] = v[4].(string)
	d.Text, ok[5] = v[5].(string)
	d.Kind, ok[6] = v[7].(string)
	for _, o := range ok {
		if !o {
			return kg.Doc{}, fmt.Errorf("document %v: a property is missing or not a string", v[0])
		}
	}
	if cats, _ := v[6].([]any); len(cats) > 0 {
		d.Categories = make([]string, 0, len(cats))
		for _, c := range cats {
			s, ok := c.(string)
			if !ok {
				return kg.Doc{}, fmt.Errorf("document %s: category %v is not a string", d.ID, c)
			}
			d.Categories = append(d.Categories, s)
		}
	}
	facts, err := unmarshalFacts(v[8])
	if err != nil {
		return kg.Doc{}, fmt.Errorf("document %s: %w", d.ID, err)
	}
	d.Facts = facts
	// Absent on documents without them: a property Neo4j was given as ""
	// by neo4j-admin is no property at all.
	d.Date, _ = v[9].(string)
	d.Hash, _ = v[10].(string)
	d.Origin, _ = v[11].(string)
	return d, nil
}

// queryDoc returns the first document the statement finds; found is false
// when there is none.
func (s *Store) queryDoc(ctx context.Context, what, cypher string, params map[string]any) (kg.Doc, bool, error) {
	var d kg.Doc
	found := false
	err := s.read(ctx, what, cypher, params, func() { found = false }, func(r *n4j.Record) error {
		if found {
			return nil
		}
		var err error
		d, err = recordDoc(r)
		found = err == nil
		return err
	})
	if err != nil {
		return kg.Doc{}, false, err
	}
	return d, found, nil
}

// Doc returns the document with the given id.
func (s *Store) Doc(ctx context.Context, id string) (kg.Doc, error) {
	what := fmt.Sprintf("doc %q", id)
	d, ok, err := s.queryDoc(ctx, what, `MATCH (d:Document {id: $id}) RETURN `+docReturn, map[string]any{"id": id})
	if err != nil {
		return kg.Doc{}, err
	}
	if !ok {
		return kg.Doc{}, fmt.Errorf("neo4j %s: %s: %w", s.uri, what, kg.ErrNotFound)
	}
	return d, nil
}

// DocByTitle finds a document by its exact title, then by a redirect that
// leads to it, then by its title ignoring case; each first as given and
// then normalised ("foo_bar" -> "Foo bar"). Of several matches the smallest
// id wins. These are the embedded store's rules.
func (s *Store) DocByTitle(ctx context.Context, title string) (kg.Doc, error) {
	what := fmt.Sprintf("doc by title %q", title)
	forms := []string{title}
	if n := kg.NormalizeTitle(title); n != title && n != "" {
		forms = append(forms, n)
	}
	lookups := []struct {
		cypher string
		key    func(string) string
	}{
		{`MATCH (d:Document {title: $key}) RETURN ` + docReturn + ` ORDER BY d.id LIMIT 1`, nil},
		{`MATCH (:Alias {title: $key})-[:ALIAS_OF]->(d:Document) RETURN ` + docReturn + ` ORDER BY d.id LIMIT 1`, nil},
		{`MATCH (d:Document {title_fold: $key}) RETURN ` + docReturn + ` ORDER BY d.id LIMIT 1`, kg.TitleKey},
	}
	for _, l := range lookups {
		for _, f := range forms {
			if l.key != nil {
				f = l.key(f)
			}
			d, ok, err := s.queryDoc(ctx, what, l.cypher, map[string]any{"key": f})
			if err != nil {
				return kg.Doc{}, err
			}
			if ok {
				return d, nil
			}
		}
	}
	return kg.Doc{}, fmt.Errorf("neo4j %s: %s: %w", s.uri, what, kg.ErrNotFound)
}

// DocByURL finds a document by its URL as stored, or spelled otherwise
// (percent-escaped or not, spaces for underscores, http, mobile host, with
// a #fragment), else by a web redirect from that URL.
func (s *Store) DocByURL(ctx context.Context, u string) (kg.Doc, error) {
	what := fmt.Sprintf("doc by url %q", u)
	for _, q := range []struct{ cypher, arg string }{
		{`MATCH (d:Document {url: $key}) RETURN ` + docReturn + ` ORDER BY d.id LIMIT 1`, u},
		{`MATCH (d:Document {url_key: $key}) RETURN ` + docReturn + ` ORDER BY d.id LIMIT 1`, kg.URLKey(u)},
		// A web URL that redirects is a redirect alias named by its URL key.
		{`MATCH (:Alias {title: $key})-[:ALIAS_OF]->(d:Document) RETURN ` + docReturn + ` ORDER BY d.id LIMIT 1`, kg.URLKey(u)},
	} {
		d, ok, err := s.queryDoc(ctx, what, q.cypher, map[string]any{"key": q.arg})
		if err != nil {
			return kg.Doc{}, err
		}
		if ok {
			return d, nil
		}
	}
	return kg.Doc{}, fmt.Errorf("neo4j %s: %s: %w", s.uri, what, kg.ErrNotFound)
}

// Aliases lists a document's aliases, redirects first, each kind sorted.
// The sorting happens here: Cypher orders strings by UTF-16 code units,
// Go and SQLite by bytes, and the two backends must list alike.
func (s *Store) Aliases(ctx context.Context, docID string) ([]kg.Alias, error) {
	var out []kg.Alias
	err := s.read(ctx, fmt.Sprintf("aliases of %q", docID), `
		MATCH (a:Alias)-[:ALIAS_OF]->(:Document {id: $id})
		RETURN a.alias, a.kind`, map[string]any{"id": docID},
		func() { out = out[:0] },
		func(r *n4j.Record) error {
			a := kg.Alias{DocID: docID}
			a.Alias, _ = r.Values[0].(string)
			a.Kind, _ = r.Values[1].(string)
			out = append(out, a)
			return nil
		})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind > out[j].Kind
		}
		return out[i].Alias < out[j].Alias
	})
	return out, nil
}

// snapshotPage is the number of documents (with their links) read per
// query by Snapshot: big enough to amortise a round trip, small enough
// that one page of a hub-heavy wiki stays a few MB.
const snapshotPage = 1000

// Snapshot reads documents and then their links into a kg.Graph, a page
// of documents at a time in id order, so that only one page's evidence is
// held apart from the graph. Neo4j reads are not snapshot-isolated, so run
// it when no ingest is writing.
func (s *Store) Snapshot(ctx context.Context) (*kg.Graph, error) {
	var nodes []kg.GraphNode
	after := ""
	for {
		var page []kg.GraphNode
		err := s.read(ctx, "snapshot", `
			MATCH (s:Document) WHERE s.id > $after
			WITH s ORDER BY s.id LIMIT $n
			RETURN s.id, s.title, s.kind`,
			map[string]any{"after": after, "n": snapshotPage * 10},
			func() { page = page[:0] },
			func(r *n4j.Record) error {
				var n kg.GraphNode
				var ok bool
				if n.ID, ok = r.Values[0].(string); !ok {
					return fmt.Errorf("snapshot: document without an id: %v", r.Values[0])
				}
				n.Title, _ = r.Values[1].(string)
				kind, _ := r.Values[2].(string)
				n.Walkable = kg.Doc{Kind: kind}.Walkable()
				page = append(page, n)
				return nil
			})
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			break
		}
		after = page[len(page)-1].ID
		nodes = append(nodes, page...)
	}
	b, err := kg.NewGraphBuilder(nodes)
	if err != nil {
		return nil, fmt.Errorf("neo4j %s: snapshot: %w", s.uri, err)
	}
	for lo := 0; lo < len(nodes); lo += snapshotPage {
		hi := min(lo+snapshotPage, len(nodes))
		// A page is added to the builder only once read whole: a read that
		// is retried delivers its records again.
		type group struct {
			src   int
			edges []kg.GraphEdge
		}
		var page []group
		err := s.read(ctx, "snapshot links", `
			MATCH (s:Document) WHERE s.id >= $lo AND s.id <= $hi
			WITH s ORDER BY s.id
			RETURN s.id, [(s)-[l:LINKS_TO]->(d:Document) | [d.id, l.anchor, l.sentence]]`,
			map[string]any{"lo": nodes[lo].ID, "hi": nodes[hi-1].ID},
			func() { page = page[:0] },
			func(r *n4j.Record) error {
				id, _ := r.Values[0].(string)
				src := b.Index(id)
				if src < 0 {
					return fmt.Errorf("snapshot: document %q appeared while reading", id)
				}
				raw, _ := r.Values[1].([]any)
				es := make([]kg.GraphEdge, 0, len(raw))
				for _, x := range raw {
					v, _ := x.([]any)
					if len(v) != 3 {
						return fmt.Errorf("snapshot: bad link of %s: %v", id, x)
					}
					dst, _ := v[0].(string)
					d := b.Index(dst)
					if d < 0 {
						continue
					}
					e := kg.GraphEdge{Dst: int32(d)}
					e.Anchor, _ = v[1].(string)
					e.Sentence, _ = v[2].(string)
					es = append(es, e)
				}
				page = append(page, group{src, es})
				return nil
			})
		if err != nil {
			return nil, err
		}
		for _, g := range page {
			if err := b.AddEdges(g.src, g.edges); err != nil {
				return nil, fmt.Errorf("neo4j %s: snapshot: %w", s.uri, err)
			}
		}
	}
	return b.Graph(), nil
}

// Link returns the evidence of the edge src→dst: of the links between them
// the smallest (anchor, sentence). Cypher's string order is by code point,
// which for UTF-8 is the byte order the snapshot uses.
func (s *Store) Link(ctx context.Context, src, dst string) (kg.Link, error) {
	l := kg.Link{Src: src, Dst: dst}
	found := false
	err := s.read(ctx, "link", `
		MATCH (:Document {id: $src})-[l:LINKS_TO]->(:Document {id: $dst})
		WHERE $src <> $dst
		RETURN l.anchor, l.sentence ORDER BY l.anchor, l.sentence LIMIT 1`,
		map[string]any{"src": src, "dst": dst}, nil,
		func(r *n4j.Record) error {
			l.Anchor, _ = r.Values[0].(string)
			l.Sentence, _ = r.Values[1].(string)
			found = true
			return nil
		})
	if err != nil {
		return kg.Link{}, err
	}
	if !found {
		return kg.Link{}, fmt.Errorf("neo4j %s: link %q -> %q: %w", s.uri, src, dst, kg.ErrNotFound)
	}
	return l, nil
}

// Counts counts documents, links, aliases and raw links; Unresolved is the
// number of raw links whose target reached no document at the last Finish
// (0 before the first). Counting a label or relationship type is answered
// from Neo4j's count store, without a scan; raw links are the sum of their
// sources' counts, one small property per document.
func (s *Store) Counts(ctx context.Context) (kg.Counts, error) {
	var c kg.Counts
	found := false
	err := s.read(ctx, "counts", `
		CALL { MATCH (d:Document) RETURN count(d) AS docs }
		CALL { MATCH ()-[l:LINKS_TO]->() RETURN count(l) AS links }
		CALL { MATCH (a:Alias) RETURN count(a) AS aliases }
		CALL { MATCH (r:RawLinks) RETURN coalesce(sum(r.n), 0) AS raw }
		OPTIONAL MATCH (m:Meta {key: 'unresolved'})
		RETURN docs, links, aliases, raw, coalesce(m.value, 0)`, nil, nil,
		func(r *n4j.Record) error {
			vals := []*int64{&c.Docs, &c.Links, &c.Aliases, &c.RawLinks, &c.Unresolved}
			for i, p := range vals {
				v, ok := r.Values[i].(int64)
				if !ok {
					return fmt.Errorf("count %d is %T, not an integer", i, r.Values[i])
				}
				*p = v
			}
			found = true
			return nil
		})
	if err != nil {
		return kg.Counts{}, err
	}
	if !found {
		return kg.Counts{}, errors.New("neo4j " + s.uri + ": counts: no result")
	}
	return c, nil
}
