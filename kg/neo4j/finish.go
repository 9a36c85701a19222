package neo4j

import (
	"context"
	"fmt"

	"github.com/miroverse/miroverse/kg"

	n4j "github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// Finish resolves raw links through redirects into LINKS_TO (self links and
// unresolved targets dropped), derives aliases (redirect titles that reach
// a document, and anchor texts that differ from its title) and records the
// number of unresolved raw links: the embedded store's rules, computed in
// pages so that neither side holds the whole graph.
//
// It is idempotent and safe to interrupt: each source document's links are
// replaced in one transaction (and left alone when already right), aliases
// are MERGEd and stamped with this run's generation, and aliases of older
// runs are deleted only at the end, so a crashed run leaves a superset that
// the next run trims.
func (s *Store) Finish(ctx context.Context) error {
	gen, err := s.nextGeneration(ctx)
	if err != nil {
		return err
	}
	res := &resolver{s: s, cache: map[string]titleInfo{}}
	unresolved, err := s.resolveLinks(ctx, res, gen)
	if err != nil {
		return err
	}
	if err := s.redirectAliases(ctx, res, gen); err != nil {
		return err
	}
	if err := s.dropStaleAliases(ctx, gen); err != nil {
		return err
	}
	return s.write(ctx, "finish: record unresolved links", `
		MERGE (m:Meta {key: 'unresolved'}) SET m.value = $n`, map[string]any{"n": unresolved})
}

// nextGeneration numbers this Finish run.
func (s *Store) nextGeneration(ctx context.Context) (int64, error) {
	var gen int64
	err := s.writeRows(ctx, "finish: next generation", `
		MERGE (m:Meta {key: 'finish_generation'})
		SET m.value = coalesce(m.value, 0) + 1
		RETURN m.value`, nil, nil, func(r *n4j.Record) error {
		gen, _ = r.Values[0].(int64)
		return nil
	})
	if err != nil {
		return 0, err
	}
	if gen <= 0 {
		return 0, fmt.Errorf("neo4j %s: finish: bad generation counter %d", s.uri, gen)
	}
	return gen, nil
}

// resolveLinks walks the raw links in order of source, a page at a time,
// and rewrites each source's LINKS_TO and anchor aliases. A page never
// splits a source, so deduplicating within the page is global. It returns
// the number of raw links whose target reaches no document.
func (s *Store) resolveLinks(ctx context.Context, res *resolver, gen int64) (int64, error) {
	var unresolved int64
	page := s.opt.RelBatch
	after := ""
	for {
		raw, err := s.rawLinkPage(ctx, after, page)
		if err != nil {
			return 0, err
		}
		if len(raw) == 0 {
			return unresolved, nil
		}
		after = raw[len(raw)-1].Src
		n, err := s.resolvePage(ctx, res, gen, raw)
		if err != nil {
			return 0, err
		}
		unresolved += n
	}
}

const rawLinkColumns = `r.src, r.target, r.anchor, r.sentence`

// rawLinkPage reads the raw links of the sources after the given one, about
// n of them, whole sources only.
func (s *Store) rawLinkPage(ctx context.Context, after string, n int) ([]kg.RawLink, error) {
	var raw []kg.RawLink
	start := func() { raw = raw[:0] }
	row := func(r *n4j.Record) error {
		l, err := recordRawLink(r)
		raw = append(raw, l)
		return err
	}
	err := s.read(ctx, "finish: read raw links", `
		MATCH (r:RawLink) WHERE r.src > $after
		RETURN `+rawLinkColumns+` ORDER BY r.src LIMIT $n`, map[string]any{"after": after, "n": n}, start, row)
	if err != nil || len(raw) < n {
		return raw, err
	}
	// The page is full, so its last source may go on: leave that source to
	// the next page, or read all of it when it alone fills the page.
	last := raw[len(raw)-1].Src
	cut := len(raw) - 1
	for cut > 0 && raw[cut-1].Src == last {
		cut--
	}
	if cut > 0 {
		return raw[:cut], nil
	}
	err = s.read(ctx, "finish: read raw links of "+last, `
		MATCH (r:RawLink {src: $src}) RETURN `+rawLinkColumns, map[string]any{"src": last}, start, row)
	return raw, err
}

func recordRawLink(r *n4j.Record) (kg.RawLink, error) {
	var l kg.RawLink
	var ok [4]bool
	l.Src, ok[0] = r.Values[0].(string)
	l.Target, ok[1] = r.Values[1].(string)
	l.Anchor, ok[2] = r.Values[2].(string)
	l.Sentence, ok[3] = r.Values[3].(string)
	if !ok[0] || !ok[1] || !ok[2] || !ok[3] {
		return l, fmt.Errorf("raw link %v: a property is missing or not a string", r.Values)
	}
	return l, nil
}

// linkRow is a resolved link as the write statement takes it.
type linkRow struct{ dst, anchor, sentence string }

// resolvePage resolves one page of raw links and writes the result.
func (s *Store) resolvePage(ctx context.Context, res *resolver, gen int64, raw []kg.RawLink) (int64, error) {
	var srcs, targets []string
	seenSrc, seenTarget := map[string]bool{}, map[string]bool{}
	for _, l := range raw {
		if !seenSrc[l.Src] {
			seenSrc[l.Src] = true
			srcs = append(srcs, l.Src)
		}
		if !seenTarget[l.Target] {
			seenTarget[l.Target] = true
			targets = append(targets, l.Target)
		}
	}
	sources, err := s.docSources(ctx, srcs)
	if err != nil {
		return 0, err
	}
	resolved, err := res.resolve(ctx, targets)
	if err != nil {
		return 0, err
	}

	var unresolved int64
	links := make(map[string][]linkRow, len(srcs))
	seenLink := map[[4]string]bool{}
	var aliases []aliasRow
	seenAlias := map[[2]string]bool{}
	for _, l := range raw {
		t, ok := resolved[l.Target]
		if !ok {
			unresolved++
			continue
		}
		source, isDoc := sources[l.Src]
		if !isDoc {
			continue // no node to hang the link on; see the package comment
		}
		dst := t.pick(source)
		if dst == l.Src {
			continue
		}
		k := [4]string{l.Src, dst, l.Anchor, l.Sentence}
		if seenLink[k] {
			continue
		}
		seenLink[k] = true
		links[l.Src] = append(links[l.Src], linkRow{dst, l.Anchor, l.Sentence})
		// The destination's title is the resolved title, so this is the
		// embedded store's "anchor differs from the title".
		if l.Anchor != "" && l.Anchor != t.final && !seenAlias[[2]string{l.Anchor, dst}] {
			seenAlias[[2]string{l.Anchor, dst}] = true
			aliases = append(aliases, aliasRow{alias: l.Anchor, doc: dst, kind: "anchor"})
		}
	}
	if err := s.writeLinks(ctx, srcs, sources, links); err != nil {
		return 0, err
	}
	if err := s.writeAliases(ctx, gen, aliases); err != nil {
		return 0, err
	}
	return unresolved, nil
}

// docSources maps the given ids that are documents to their source wiki.
func (s *Store) docSources(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	err := chunks(ids, s.opt.NodeBatch, func(b []string) error {
		return s.read(ctx, "finish: read link sources", `
			UNWIND $ids AS id
			MATCH (d:Document {id: id})
			RETURN d.id, d.source`, map[string]any{"ids": b}, nil, func(r *n4j.Record) error {
			id, _ := r.Values[0].(string)
			src, _ := r.Values[1].(string)
			out[id] = src
			return nil
		})
	})
	return out, err
}

// writeLinks replaces the LINKS_TO of the given sources (those that are
// documents) with links, about RelBatch links per transaction and one
// source never split. A source whose links are already exactly these is
// not touched, which keeps a repeated Finish cheap.
func (s *Store) writeLinks(ctx context.Context, srcs []string, sources map[string]string, links map[string][]linkRow) error {
	var batch []map[string]any
	size := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		// The lock node serialises these transactions across clients: two
		// Finish runs that overlap (a retrying ingest and its re-run) would
		// otherwise both read a source's old links, both replace them, and
		// leave both sets. Under the lock the second reads the first's
		// result and finds nothing to do.
		err := s.write(ctx, fmt.Sprintf("finish: write links of %d documents", len(batch)), `
			MERGE (lock:Meta {key: 'links_lock'})
			SET lock.value = coalesce(lock.value, 0) + 1
			WITH lock
			UNWIND $rows AS row
			MATCH (s:Document {id: row.src})
			WITH s, row, [(s)-[o:LINKS_TO]->(d:Document) | [d.id, o.anchor, o.sentence]] AS have
			WHERE size(have) <> size(row.links)
				OR any(l IN row.links WHERE NOT [l.dst, l.anchor, l.sentence] IN have)
			OPTIONAL MATCH (s)-[old:LINKS_TO]->()
			DELETE old
			WITH s, row, count(old) AS deleted
			UNWIND row.links AS l
			MATCH (d:Document {id: l.dst})
			CREATE (s)-[:LINKS_TO {anchor: l.anchor, sentence: l.sentence}]->(d)`,
			map[string]any{"rows": batch})
		batch, size = batch[:0], 0
		return err
	}
	for _, src := range srcs {
		if _, ok := sources[src]; !ok {
			continue
		}
		ls := links[src]
		if size > 0 && size+len(ls) > s.opt.RelBatch {
			if err := flush(); err != nil {
				return err
			}
		}
		rows := make([]map[string]any, len(ls))
		for i, l := range ls {
			rows[i] = map[string]any{"dst": l.dst, "anchor": l.anchor, "sentence": l.sentence}
		}
		batch = append(batch, map[string]any{"src": src, "links": rows})
		size += max(len(ls), 1)
	}
	return flush()
}

// aliasRow is one alias as the write statement takes it.
type aliasRow struct{ alias, doc, kind string }

// writeAliases MERGEs aliases and stamps them with generation gen. A stamp
// never goes down: when an older Finish overlaps a newer one, the newer
// one's cleanup must not lose an alias the older one re-stamped.
func (s *Store) writeAliases(ctx context.Context, gen int64, aliases []aliasRow) error {
	rows := make([]map[string]any, len(aliases))
	for i, a := range aliases {
		row := map[string]any{"key": rowKey(a.alias, a.doc, a.kind), "alias": a.alias, "doc": a.doc, "kind": a.kind}
		if a.kind == "redirect" {
			row["title"] = a.alias // indexed for DocByTitle; see the package comment
		}
		rows[i] = row
	}
	return chunks(rows, s.opt.NodeBatch, func(b []map[string]any) error {
		return s.write(ctx, fmt.Sprintf("finish: write %d aliases", len(b)), `
			UNWIND $rows AS row
			MERGE (a:Alias {key: row.key})
			ON CREATE SET a.alias = row.alias, a.kind = row.kind, a.doc = row.doc, a.title = row.title
			SET a.gen = CASE WHEN coalesce(a.gen, 0) < $gen THEN $gen ELSE a.gen END
			WITH a, row
			MATCH (d:Document {id: row.doc})
			MERGE (a)-[:ALIAS_OF]->(d)`, map[string]any{"rows": b, "gen": gen})
	})
}

// redirectAliases makes every redirect title that reaches a document, and
// is no document's title itself, an alias of that document.
func (s *Store) redirectAliases(ctx context.Context, res *resolver, gen int64) error {
	after := ""
	for {
		var froms []string
		err := s.read(ctx, "finish: read redirects", `
			MATCH (r:Redirect) WHERE r.from > $after
			RETURN r.from ORDER BY r.from LIMIT $n`, map[string]any{"after": after, "n": s.opt.NodeBatch},
			func() { froms = froms[:0] },
			func(r *n4j.Record) error {
				f, _ := r.Values[0].(string)
				froms = append(froms, f)
				return nil
			})
		if err != nil {
			return err
		}
		if len(froms) == 0 {
			return nil
		}
		after = froms[len(froms)-1]
		resolved, err := res.resolve(ctx, froms)
		if err != nil {
			return err
		}
		var aliases []aliasRow
		for _, f := range froms {
			if t, ok := resolved[f]; ok && t.final != f {
				aliases = append(aliases, aliasRow{alias: f, doc: t.smallest(), kind: "redirect"})
			}
		}
		if err := s.writeAliases(ctx, gen, aliases); err != nil {
			return err
		}
	}
}

// dropStaleAliases deletes the aliases an earlier Finish derived and this
// one did not.
func (s *Store) dropStaleAliases(ctx context.Context, gen int64) error {
	for {
		var n int64
		err := s.writeRows(ctx, "finish: drop stale aliases", `
			MATCH (a:Alias) WHERE a.gen < $gen
			WITH a LIMIT $n
			DETACH DELETE a
			RETURN count(*)`, map[string]any{"gen": gen, "n": s.opt.NodeBatch}, nil,
			func(r *n4j.Record) error {
				n, _ = r.Values[0].(int64)
				return nil
			})
		if err != nil {
			return err
		}
		if n < int64(s.opt.NodeBatch) {
			return nil
		}
	}
}

// docRef is a document as title resolution needs it.
type docRef struct{ id, source string }

// titleInfo is what one title is: the documents that have it, and the
// title it redirects to ("" for none).
type titleInfo struct {
	docs     []docRef
	redirect string
}

// resolvedTitle is a title that reaches documents: final is their title.
type resolvedTitle struct {
	final string
	docs  []docRef
}

// pick is the document a link from the given source wiki means: the
// smallest id of that wiki, else the smallest of all, so that the choice
// depends on neither ingest order nor the server's.
func (t resolvedTitle) pick(source string) string {
	best, own := "", ""
	for _, d := range t.docs {
		if best == "" || d.id < best {
			best = d.id
		}
		if d.source == source && (own == "" || d.id < own) {
			own = d.id
		}
	}
	if own != "" {
		return own
	}
	return best
}

// smallest is the smallest id among the documents.
func (t resolvedTitle) smallest() string {
	best := ""
	for _, d := range t.docs {
		if best == "" || d.id < best {
			best = d.id
		}
	}
	return best
}

// resolver maps titles to documents through redirects, caching what it
// learnt about titles across pages: popular targets recur on every page.
type resolver struct {
	s     *Store
	cache map[string]titleInfo
}

// resolverCacheMax bounds the cache (entries); past it the cache restarts.
const resolverCacheMax = 1 << 18

// redirectHops is how many redirects a link may pass through, as in the
// embedded store.
const redirectHops = 3

// resolve returns, for each title that reaches a document, that document's
// title and the documents bearing it. A title that is a document's title
// is itself, even when a redirect of that name exists; otherwise its
// redirect is followed for up to three hops, stopping at the first title
// that is a document's.
func (r *resolver) resolve(ctx context.Context, titles []string) (map[string]resolvedTitle, error) {
	if len(r.cache) > resolverCacheMax {
		r.cache = map[string]titleInfo{}
	}
	if err := r.ensure(ctx, titles); err != nil {
		return nil, err
	}
	out := make(map[string]resolvedTitle, len(titles))
	cur := map[string]string{}
	for _, t := range titles {
		in := r.cache[t]
		switch {
		case len(in.docs) > 0:
			out[t] = resolvedTitle{final: t, docs: in.docs}
		case in.redirect != "":
			cur[t] = in.redirect
		}
	}
	curTitles := func() []string {
		ts := make([]string, 0, len(cur))
		for _, c := range cur {
			ts = append(ts, c)
		}
		return ts
	}
	for hop := 1; hop < redirectHops; hop++ {
		if err := r.ensure(ctx, curTitles()); err != nil {
			return nil, err
		}
		for t, c := range cur {
			if in := r.cache[c]; len(in.docs) == 0 && in.redirect != "" {
				cur[t] = in.redirect
			}
		}
	}
	if err := r.ensure(ctx, curTitles()); err != nil {
		return nil, err
	}
	for t, c := range cur {
		if in := r.cache[c]; len(in.docs) > 0 {
			out[t] = resolvedTitle{final: c, docs: in.docs}
		}
	}
	return out, nil
}

// ensure looks up the titles not yet in the cache.
func (r *resolver) ensure(ctx context.Context, titles []string) error {
	var need []string
	asked := map[string]bool{}
	for _, t := range titles {
		if _, ok := r.cache[t]; !ok && !asked[t] {
			asked[t] = true
			need = append(need, t)
		}
	}
	return chunks(need, r.s.opt.NodeBatch, func(b []string) error {
		found := map[string]titleInfo{}
		err := r.s.read(ctx, "finish: look up titles", `
			UNWIND $titles AS t
			OPTIONAL MATCH (d:Document {title: t})
			WITH t, collect(d {.id, .source}) AS docs
			OPTIONAL MATCH (r:Redirect {from: t})
			RETURN t, docs, r.to`, map[string]any{"titles": b},
			func() { clear(found) },
			func(rec *n4j.Record) error {
				t, _ := rec.Values[0].(string)
				var in titleInfo
				docs, _ := rec.Values[1].([]any)
				for _, d := range docs {
					m, _ := d.(map[string]any)
					id, _ := m["id"].(string)
					src, _ := m["source"].(string)
					in.docs = append(in.docs, docRef{id: id, source: src})
				}
				in.redirect, _ = rec.Values[2].(string)
				found[t] = in
				return nil
			})
		if err != nil {
			return err
		}
		// Every title asked gets an entry, found or not, so that it is not
		// asked again.
		for _, t := range b {
			r.cache[t] = found[t]
		}
		return nil
	})
}
