package neo4j

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/miroverse/miroverse/kg"

	n4j "github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"golang.org/x/sync/errgroup"
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
//
// Each pass runs Workers transactions at once, grouped so that two of them
// never write one node's relationships: links by source document (a page
// of raw links never splits a source), anchor aliases by destination
// document, redirect aliases by redirect title. Runs of several clients
// are serialised by a lock held for the whole run (lockFinish).
func (s *Store) Finish(ctx context.Context) error {
	lock, err := s.lockFinish(ctx)
	if err != nil {
		return err
	}
	err = s.finish(ctx)
	return errors.Join(err, lock.release(ctx, err == nil))
}

func (s *Store) finish(ctx context.Context) error {
	gen, err := s.nextGeneration(ctx)
	if err != nil {
		return err
	}
	res := &resolver{s: s, cache: map[string]titleInfo{}}
	unresolved, err := s.resolveLinks(ctx, res)
	if err != nil {
		return err
	}
	if err := s.anchorAliases(ctx, gen); err != nil {
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

// finishLock is a transaction, open for the whole of one Finish, that holds
// the write lock of the Meta node links_lock. Finish runs of two clients
// that overlap (a retrying ingest and its re-run) would otherwise both read
// a source's old links, both replace them, and leave both sets; behind the
// lock the second finds the first's result and nothing to do. One lock for
// the run, rather than one per write, lets the run's own workers write
// side by side. A client that dies releases it: the server rolls back the
// transaction of a closed connection.
type finishLock struct {
	sess n4j.SessionWithContext
	tx   n4j.ExplicitTransaction
}

// lockFinish waits until no other Finish holds the lock, and takes it.
func (s *Store) lockFinish(ctx context.Context) (*finishLock, error) {
	// The node must exist, committed, for two runs to lock the same one.
	if err := s.write(ctx, "finish: create the lock node", `MERGE (:Meta {key: 'links_lock'})`, nil); err != nil {
		return nil, err
	}
	if s.beforeQuery != nil {
		s.beforeQuery("finish: take the lock")
	}
	sess := s.driver.NewSession(ctx, n4j.SessionConfig{DatabaseName: s.opt.Database, AccessMode: n4j.AccessModeWrite})
	tx, err := sess.BeginTransaction(ctx)
	if err == nil {
		var res n4j.ResultWithContext
		res, err = tx.Run(ctx, `MATCH (m:Meta {key: 'links_lock'}) SET m.value = coalesce(m.value, 0) + 1`, nil)
		if err == nil {
			_, err = res.Consume(ctx)
		}
		if err != nil {
			tx.Close(context.WithoutCancel(ctx))
		}
	}
	if err != nil {
		sess.Close(context.WithoutCancel(ctx))
		return nil, s.fail("finish: take the lock", err)
	}
	return &finishLock{sess: sess, tx: tx}, nil
}

// release ends the lock's transaction: committed after a complete run (the
// node counts the runs), rolled back otherwise. A lock that was lost on
// the way (the server restarted, a timeout ended the transaction) makes a
// complete run an error, since another run may have overlapped it; the
// next Finish repairs whatever that left.
func (l *finishLock) release(ctx context.Context, complete bool) error {
	ctx = context.WithoutCancel(ctx)
	defer l.sess.Close(ctx)
	if !complete {
		l.tx.Rollback(ctx)
		return nil
	}
	if err := l.tx.Commit(ctx); err != nil {
		return fmt.Errorf("neo4j: finish: the lock against concurrent runs was lost during the run: %w", err)
	}
	return nil
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

// inParallel runs work on every page next reads: next runs on one
// goroutine, reading ahead while up to workers pages are worked on. next
// returns false after the last page. The first error stops both and is
// returned.
func inParallel[P any](ctx context.Context, workers int, next func(context.Context) (P, bool, error), work func(context.Context, P) error) error {
	g, gctx := errgroup.WithContext(ctx)
	pages := make(chan P, workers)
	g.Go(func() error {
		defer close(pages)
		for {
			p, ok, err := next(gctx)
			if err != nil || !ok {
				return err
			}
			select {
			case pages <- p:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
	})
	for range workers {
		g.Go(func() error {
			for p := range pages {
				if err := work(gctx, p); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// resolveLinks walks the raw links in order of source, a page at a time,
// and rewrites each source's LINKS_TO. A page holds whole sources, so
// deduplicating within the page is global, and pages written at once
// never share a source. It returns the number of raw links whose target
// reaches no document.
func (s *Store) resolveLinks(ctx context.Context, res *resolver) (int64, error) {
	var unresolved atomic.Int64
	after := ""
	// Sources per page, so that a page holds about RelBatch links; the
	// guess of 25 links a page (Wikipedia's mean) is corrected by each
	// page read.
	sources := max(1, s.opt.RelBatch/25)
	next := func(ctx context.Context) ([]kg.RawLink, bool, error) {
		raw, n, last, err := s.rawLinkPage(ctx, after, sources)
		if err != nil || n == 0 {
			return nil, false, err
		}
		after = last
		if len(raw) > 0 {
			sources = min(max(1, s.opt.RelBatch*n/len(raw)), 100000)
		}
		return raw, true, nil
	}
	err := inParallel(ctx, s.opt.Workers, next, func(ctx context.Context, raw []kg.RawLink) error {
		n, err := s.resolvePage(ctx, res, raw)
		unresolved.Add(n)
		return err
	})
	return unresolved.Load(), err
}

// rawLinkPage reads the raw links of up to n sources after the given one,
// in order of source, and returns them with the number of sources read and
// the last of them.
func (s *Store) rawLinkPage(ctx context.Context, after string, n int) (raw []kg.RawLink, sources int, last string, err error) {
	err = s.read(ctx, "finish: read raw links", `
		MATCH (r:RawLinks) WHERE r.src > $after
		RETURN r.src, r.links ORDER BY r.src LIMIT $n`, map[string]any{"after": after, "n": n},
		func() { raw, sources, last = raw[:0], 0, "" },
		func(r *n4j.Record) error {
			src, ok := r.Values[0].(string)
			list, ok2 := r.Values[1].([]any)
			if !ok || !ok2 {
				return fmt.Errorf("raw links %v: not a source and a list", r.Values)
			}
			sources, last = sources+1, src
			for _, v := range list {
				l, err := decodeRawLink(src, v)
				if err != nil {
					return err
				}
				raw = append(raw, l)
			}
			return nil
		})
	return raw, sources, last, err
}

// linkRow is a resolved link as the write statement takes it.
type linkRow struct{ dst, anchor, sentence string }

// resolvePage resolves one page of raw links and writes the result.
func (s *Store) resolvePage(ctx context.Context, res *resolver, raw []kg.RawLink) (int64, error) {
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
	}
	return unresolved, s.writeLinks(ctx, srcs, sources, links)
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
		// No lock is taken here: the run's lock keeps other Finish runs
		// out, and the transactions of this run's other pages have other
		// sources. They can still share a destination, whose lock a new
		// relationship takes at commit; a deadlock between two of them is
		// a transient error, which the driver retries.
		err := s.write(ctx, fmt.Sprintf("finish: write links of %d documents", len(batch)), `
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
	sortRows(rows, "key")
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

// anchorAliases makes every non-empty anchor of a link that differs from
// its destination's title an alias of the destination. It reads the links
// into each document, a page of documents at a time, after all links are
// written: grouped by destination, the aliases of pages written at once
// never share a node, while grouped by source (as links are) every page
// would MERGE the same popular anchors.
func (s *Store) anchorAliases(ctx context.Context, gen int64) error {
	after := ""
	next := func(ctx context.Context) ([]aliasRow, bool, error) {
		var rows []aliasRow
		last := ""
		err := s.read(ctx, "finish: read anchors", `
			MATCH (d:Document) WHERE d.id > $after
			WITH d ORDER BY d.id LIMIT $n
			RETURN d.id, COLLECT {
				MATCH (:Document)-[l:LINKS_TO]->(d) WHERE l.anchor <> '' AND l.anchor <> d.name
				RETURN DISTINCT l.anchor
			}`, map[string]any{"after": after, "n": s.opt.NodeBatch},
			func() { rows, last = rows[:0], "" },
			func(r *n4j.Record) error {
				id, ok := r.Values[0].(string)
				anchors, ok2 := r.Values[1].([]any)
				if !ok || !ok2 {
					return fmt.Errorf("anchors %v: not an id and a list", r.Values)
				}
				last = id
				for _, a := range anchors {
					if a, ok := a.(string); ok {
						rows = append(rows, aliasRow{alias: a, doc: id, kind: "anchor"})
					}
				}
				return nil
			})
		if err != nil || last == "" {
			return nil, false, err
		}
		after = last
		return rows, true, nil
	}
	return inParallel(ctx, s.opt.Workers, next, func(ctx context.Context, rows []aliasRow) error {
		return s.writeAliases(ctx, gen, rows)
	})
}

// redirectAliases makes every redirect title that reaches a document, and
// is no document's title itself, an alias of that document.
func (s *Store) redirectAliases(ctx context.Context, res *resolver, gen int64) error {
	after := ""
	next := func(ctx context.Context) ([]string, bool, error) {
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
		if err != nil || len(froms) == 0 {
			return nil, false, err
		}
		after = froms[len(froms)-1]
		return froms, true, nil
	}
	return inParallel(ctx, s.opt.Workers, next, func(ctx context.Context, froms []string) error {
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
		return s.writeAliases(ctx, gen, aliases)
	})
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
// Finish's workers share one.
type resolver struct {
	s     *Store
	mu    sync.Mutex
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
	// known holds what this call learnt, so that another worker restarting
	// the cache meanwhile cannot take an entry from under it.
	known := map[string]titleInfo{}
	learn := func(ts []string) error {
		found, err := r.lookup(ctx, ts)
		maps.Copy(known, found)
		return err
	}
	if err := learn(titles); err != nil {
		return nil, err
	}
	out := make(map[string]resolvedTitle, len(titles))
	cur := map[string]string{}
	for _, t := range titles {
		in := known[t]
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
		if err := learn(curTitles()); err != nil {
			return nil, err
		}
		for t, c := range cur {
			if in := known[c]; len(in.docs) == 0 && in.redirect != "" {
				cur[t] = in.redirect
			}
		}
	}
	if err := learn(curTitles()); err != nil {
		return nil, err
	}
	for t, c := range cur {
		if in := known[c]; len(in.docs) > 0 {
			out[t] = resolvedTitle{final: c, docs: in.docs}
		}
	}
	return out, nil
}

// lookup returns what each title is, from the cache or else the store.
func (r *resolver) lookup(ctx context.Context, titles []string) (map[string]titleInfo, error) {
	out := make(map[string]titleInfo, len(titles))
	var need []string
	r.mu.Lock()
	for _, t := range titles {
		if in, ok := r.cache[t]; ok {
			out[t] = in
		} else if _, asked := out[t]; !asked {
			out[t] = titleInfo{}
			need = append(need, t)
		}
	}
	r.mu.Unlock()
	return out, chunks(need, r.s.opt.NodeBatch, func(b []string) error {
		found := map[string]titleInfo{}
		err := r.s.read(ctx, "finish: look up titles", `
			UNWIND $titles AS t
			OPTIONAL MATCH (d:Document {name: t})
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
		r.mu.Lock()
		defer r.mu.Unlock()
		if len(r.cache) > resolverCacheMax {
			r.cache = map[string]titleInfo{}
		}
		for _, t := range b {
			out[t] = found[t]
			r.cache[t] = found[t]
		}
		return nil
	})
}
