package neo4j

import (
	"context"
	"fmt"

	n4j "github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/miroverse/miroverse/kg"
)

// EachDoc calls fn for every document in id order, a page of NodeBatch
// documents per query, so the graph is never held in memory. Like the
// embedded store's, it is for readers of the whole corpus (export-graph).
func (s *Store) EachDoc(ctx context.Context, fn func(kg.Doc) error) error {
	after := ""
	for {
		var page []kg.Doc
		err := s.read(ctx, "read documents", `
			MATCH (d:Document) WHERE d.id > $after
			RETURN `+docReturn+` ORDER BY d.id LIMIT $n`, map[string]any{"after": after, "n": s.opt.NodeBatch},
			func() { page = page[:0] },
			func(r *n4j.Record) error {
				d, err := recordDoc(r)
				if err == nil {
					page = append(page, d)
				}
				return err
			})
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		for _, d := range page {
			if err := fn(d); err != nil {
				return err
			}
		}
		after = page[len(page)-1].ID
	}
}

// EachLink calls fn for every resolved link in (src, dst, anchor,
// sentence) order, reading the links of NodeBatch sources per query.
func (s *Store) EachLink(ctx context.Context, fn func(kg.Link) error) error {
	after := ""
	for {
		var page []kg.Link
		last := ""
		err := s.read(ctx, "read links", `
			MATCH (d:Document) WHERE d.id > $after
			WITH d ORDER BY d.id LIMIT $n
			WITH collect(d) AS ds
			WITH ds, ds[size(ds)-1].id AS last
			UNWIND ds AS d
			OPTIONAL MATCH (d)-[l:LINKS_TO]->(t:Document)
			RETURN last, d.id, t.id, l.anchor, l.sentence
			ORDER BY d.id, t.id, l.anchor, l.sentence`, map[string]any{"after": after, "n": s.opt.NodeBatch},
			func() { page, last = page[:0], "" },
			func(r *n4j.Record) error {
				last, _ = r.Values[0].(string)
				dst, ok := r.Values[2].(string)
				if !ok {
					return nil // a document without links
				}
				l := kg.Link{Dst: dst}
				l.Src, _ = r.Values[1].(string)
				l.Anchor, _ = r.Values[3].(string)
				l.Sentence, _ = r.Values[4].(string)
				page = append(page, l)
				return nil
			})
		if err != nil {
			return fmt.Errorf("neo4j: %w", err)
		}
		if last == "" {
			return nil
		}
		for _, l := range page {
			if err := fn(l); err != nil {
				return err
			}
		}
		after = last
	}
}
