package neo4j

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/miroverse/miroverse/kg"
)

// PutDocs inserts or replaces documents by id, NodeBatch per transaction.
// Of two documents with one id in the same call the later wins, as in the
// embedded store.
func (s *Store) PutDocs(ctx context.Context, docs []kg.Doc) error {
	if len(docs) == 0 {
		return nil
	}
	for i, d := range docs {
		if d.ID == "" || d.Title == "" {
			return fmt.Errorf("neo4j: put docs: doc %d (%q, %q): empty id or title", i, d.ID, d.Title)
		}
	}
	last := make(map[string]int, len(docs))
	for i, d := range docs {
		last[d.ID] = i
	}
	rows := make([]map[string]any, 0, len(last))
	for i, d := range docs {
		if last[d.ID] != i {
			continue
		}
		cats := d.Categories
		if cats == nil {
			cats = []string{}
		}
		facts, err := marshalFacts(d.Facts)
		if err != nil {
			return fmt.Errorf("neo4j: put docs: facts of %s: %w", d.ID, err)
		}
		rows = append(rows, map[string]any{
			"id": d.ID, "title": d.Title, "title_fold": kg.TitleKey(d.Title), "url": d.URL, "url_key": kg.URLKey(d.URL),
			"source": d.Source, "lang": d.Lang, "text": d.Text, "categories": cats, "kind": d.Kind, "facts": facts,
		})
	}
	return chunks(rows, s.opt.NodeBatch, func(b []map[string]any) error {
		return s.write(ctx, fmt.Sprintf("put %d docs", len(b)), `
			UNWIND $rows AS row
			MERGE (d:Document {id: row.id})
			SET d.title = row.title, d.title_fold = row.title_fold, d.url = row.url, d.url_key = row.url_key,
				d.source = row.source, d.lang = row.lang, d.text = row.text, d.categories = row.categories,
				d.kind = row.kind, d.facts = row.facts`, map[string]any{"rows": b})
	})
}

// marshalFacts is the facts property: the JSON of the facts as the
// embedded store keeps them, an array of {"key", "value"} objects ("[]" for
// none). A string rather than a list of maps, which Neo4j cannot store as
// a property, or two parallel lists, which a reader could misalign.
func marshalFacts(facts []kg.Fact) (string, error) {
	if len(facts) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(facts)
	return string(b), err
}

// unmarshalFacts reads the facts property; a document without one (written
// before facts existed) has none.
func unmarshalFacts(v any) ([]kg.Fact, error) {
	if v == nil {
		return nil, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("facts property is %T, not a string", v)
	}
	var facts []kg.Fact
	if s != "" {
		if err := json.Unmarshal([]byte(s), &facts); err != nil {
			return nil, fmt.Errorf("facts property: %w", err)
		}
	}
	if len(facts) == 0 {
		return nil, nil
	}
	return facts, nil
}

// PutRawLinks inserts links, RelBatch per transaction; a link already
// present is left as it is.
func (s *Store) PutRawLinks(ctx context.Context, links []kg.RawLink) error {
	if len(links) == 0 {
		return nil
	}
	for i, l := range links {
		if l.Src == "" || l.Target == "" {
			return fmt.Errorf("neo4j: put raw links: link %d (%q -> %q): empty src or target", i, l.Src, l.Target)
		}
	}
	// Duplicates are dropped here: a page often links one target twice in
	// one sentence, and each row costs a MERGE on the server.
	seen := make(map[string]bool, len(links))
	rows := make([]map[string]any, 0, len(links))
	for _, l := range links {
		key := rowKey(l.Src, l.Target, l.Anchor, l.Sentence)
		if seen[key] {
			continue
		}
		seen[key] = true
		rows = append(rows, map[string]any{
			"key": key, "src": l.Src, "target": l.Target, "anchor": l.Anchor, "sentence": l.Sentence,
		})
	}
	return chunks(rows, s.opt.RelBatch, func(b []map[string]any) error {
		return s.write(ctx, fmt.Sprintf("put %d raw links", len(b)), `
			UNWIND $rows AS row
			MERGE (r:RawLink {key: row.key})
			ON CREATE SET r.src = row.src, r.target = row.target, r.anchor = row.anchor, r.sentence = row.sentence`,
			map[string]any{"rows": b})
	})
}

// PutRedirects inserts or replaces redirects by source title, NodeBatch per
// transaction; of two with one source title in the same call the later
// wins.
func (s *Store) PutRedirects(ctx context.Context, redirects []kg.Redirect) error {
	if len(redirects) == 0 {
		return nil
	}
	for i, r := range redirects {
		if r.From == "" || r.To == "" {
			return fmt.Errorf("neo4j: put redirects: redirect %d (%q -> %q): empty title", i, r.From, r.To)
		}
	}
	last := make(map[string]int, len(redirects))
	for i, r := range redirects {
		last[r.From] = i
	}
	rows := make([]map[string]any, 0, len(last))
	for i, r := range redirects {
		if last[r.From] == i {
			rows = append(rows, map[string]any{"from": r.From, "to": r.To})
		}
	}
	return chunks(rows, s.opt.NodeBatch, func(b []map[string]any) error {
		return s.write(ctx, fmt.Sprintf("put %d redirects", len(b)), `
			UNWIND $rows AS row
			MERGE (r:Redirect {from: row.from})
			SET r.to = row.to`, map[string]any{"rows": b})
	})
}
