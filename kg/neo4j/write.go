package neo4j

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/miroverse/miroverse/kg"
)

// PutDocs inserts or replaces documents by id, NodeBatch per transaction
// and Workers transactions at a time. Of two documents with one id in the
// same call the later wins, as in the embedded store.
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
			"name": d.Name(), "source": d.Source, "lang": d.Lang, "text": d.Text, "categories": cats, "kind": d.Kind,
			"facts": facts, "date": d.Date, "hash": d.Hash, "origin": d.Origin,
		})
	}
	sortRows(rows, "id")
	return parallelChunks(ctx, s.opt.Workers, rows, s.opt.NodeBatch, func(ctx context.Context, b []map[string]any) error {
		return s.write(ctx, fmt.Sprintf("put %d docs", len(b)), `
			UNWIND $rows AS row
			MERGE (d:Document {id: row.id})
			SET d.title = row.title, d.title_fold = row.title_fold, d.url = row.url, d.url_key = row.url_key,
				d.source = row.source, d.lang = row.lang, d.text = row.text, d.categories = row.categories,
				d.kind = row.kind, d.facts = row.facts, d.name = row.name, d.date = row.date, d.hash = row.hash,
				d.origin = row.origin
			FOREACH (_ IN CASE WHEN row.source = $web THEN [1] ELSE [] END | SET d:WebPage)`,
			map[string]any{"rows": b, "web": kg.SourceWeb})
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

// PutRawLinks adds links to the RawLinks node of their source, RelBatch
// links per transaction and Workers transactions at a time; a link already
// held is left as it is.
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
	// one sentence, and the server compares each new link with its
	// source's list.
	bySrc := map[string][]string{}
	seen := make(map[string]bool, len(links))
	for _, l := range links {
		enc, err := encodeRawLink(l)
		if err != nil {
			return fmt.Errorf("neo4j: put raw links: link of %s to %q: %w", l.Src, l.Target, err)
		}
		if k := l.Src + "\x00" + enc; !seen[k] {
			seen[k] = true
			bySrc[l.Src] = append(bySrc[l.Src], enc)
		}
	}
	// One row per source, so that the transactions of one call never
	// share a node; a chunk holds about RelBatch links.
	rows := make([]map[string]any, 0, len(bySrc))
	for src, ls := range bySrc {
		rows = append(rows, map[string]any{"src": src, "links": ls})
	}
	sortRows(rows, "src")
	perRow := max(1, s.opt.RelBatch*len(rows)/len(seen))
	return parallelChunks(ctx, s.opt.Workers, rows, perRow, func(ctx context.Context, b []map[string]any) error {
		// The no-op SET takes the node's write lock before its list is
		// read, so that two clients adding to one source cannot both
		// append to the list they read and lose each other's links.
		return s.write(ctx, fmt.Sprintf("put raw links of %d documents", len(b)), `
			UNWIND $rows AS row
			MERGE (r:RawLinks {src: row.src})
			SET r._lock = true REMOVE r._lock
			WITH r, row, coalesce(r.links, []) AS have
			WITH r, have, [l IN row.links WHERE NOT l IN have] AS add
			WHERE size(add) > 0
			SET r.links = have + add, r.n = size(have) + size(add)`,
			map[string]any{"rows": b})
	})
}

// encodeRawLink is a raw link as its source's RawLinks node lists it: the
// JSON array [target, anchor, sentence], without HTML escaping. Equal
// links encode alike, so the list is deduplicated by comparing strings.
func encodeRawLink(l kg.RawLink) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode([3]string{l.Target, l.Anchor, l.Sentence}); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// decodeRawLink reads one element of a RawLinks list.
func decodeRawLink(src string, v any) (kg.RawLink, error) {
	s, ok := v.(string)
	if !ok {
		return kg.RawLink{}, fmt.Errorf("raw link of %s is %T, not a string", src, v)
	}
	var f [3]string
	if err := json.Unmarshal([]byte(s), &f); err != nil {
		return kg.RawLink{}, fmt.Errorf("raw link of %s: %w", src, err)
	}
	return kg.RawLink{Src: src, Target: f[0], Anchor: f[1], Sentence: f[2]}, nil
}

// PutRedirects inserts or replaces redirects by source title, NodeBatch per
// transaction and Workers at a time; of two with one source title in the
// same call the later wins.
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
	sortRows(rows, "from")
	return parallelChunks(ctx, s.opt.Workers, rows, s.opt.NodeBatch, func(ctx context.Context, b []map[string]any) error {
		return s.write(ctx, fmt.Sprintf("put %d redirects", len(b)), `
			UNWIND $rows AS row
			MERGE (r:Redirect {from: row.from})
			SET r.to = row.to`, map[string]any{"rows": b})
	})
}

// sortRows orders rows by a string key. The keys of one call are distinct,
// so its concurrent transactions never touch one node; sorted, two calls
// that do share keys (two clients loading one dump) take their locks in
// the same order, which cannot deadlock.
func sortRows(rows []map[string]any, key string) {
	slices.SortFunc(rows, func(a, b map[string]any) int { return strings.Compare(a[key].(string), b[key].(string)) })
}
