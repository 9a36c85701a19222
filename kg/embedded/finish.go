package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Finish derives what kg.Writer.Finish describes in four steps, each in its
// own transaction (so the WAL stays bounded however large the store) and
// all under the write lock:
//
//  1. titles: the lookup indexes, built once the first time (see
//     lookupIndexes), and every title a link may name, resolved through redirects to
//     a document, rebuilt from docs and redirects with sorts and index
//     probes (cost linear in documents plus redirects) and compared with
//     the last Finish's map. The titles whose resolution changed are
//     recorded for step 2.
//  2. links: the raw links of sources that got new raw links (dirty), or
//     that link to a changed title, are resolved again in chunks of
//     sources, each an UPDATE that probes titles once per row. The first
//     Finish, or one after most titles changed, resolves every source: a
//     "full region" of sources from n onward, whose progress is kept in
//     meta so that an interrupted Finish goes on where it stopped.
//  3. aliases: redirect aliases are the redirect rows of titles; anchor
//     aliases are counted per (document, anchor), rebuilt with one sort
//     after a full region and otherwise adjusted by the changes step 2
//     recorded. Counts are stored for Counts.
//  4. the search index (rebuildSearch), a step of its own.
//
// A step that fails leaves what it did committed and its work list in the
// file, and the next Finish completes it: every step is idempotent, and
// the lists (dirty, finish_targets, alias_delta, meta's finish_full_from
// and anchors_rebuild) are only cleared in the transaction that did their
// work.
func (s *Store) Finish(ctx context.Context) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var p finishPlan
	if err := s.inTx(ctx, "finish: resolve titles", func(tx *sql.Tx) (err error) {
		p, err = s.resolveTitles(ctx, tx)
		return err
	}); err != nil {
		return err
	}
	if err := s.resolveLinks(ctx, p); err != nil {
		return err
	}
	if err := s.inTx(ctx, "finish: derive aliases", func(tx *sql.Tx) error { return s.deriveAliases(ctx, tx) }); err != nil {
		return err
	}
	if s.noSearch {
		return nil
	}
	start := time.Now()
	err := s.inTx(ctx, "finish: rebuild search index", func(tx *sql.Tx) error { return s.rebuildSearch(ctx, tx) })
	if s.trace != nil {
		s.trace("rebuild search index", 0, time.Since(start))
	}
	return err
}

// rebuildSearch brings the search index up to date with docs. It is the
// search engine's step of Finish, kept apart from the graph's: it reads
// only docs and writes only the index. The FTS5 table that versions
// before the index searched goes.
func (s *Store) rebuildSearch(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS fts`); err != nil {
		return fmt.Errorf("rebuild search index: drop the FTS5 table: %w", err)
	}
	if err := s.buildSearchIndex(ctx, tx); err != nil {
		return fmt.Errorf("rebuild search index: %w", err)
	}
	return nil
}

// finishPlan is what step 1 leaves step 2 to do.
type finishPlan struct {
	// fullFrom is the first source of the full region; sources below it
	// are resolved only when dirty. math.MaxInt64 when there is none.
	fullFrom int64
	// maxSrc is the largest source n with raw links.
	maxSrc int64
}

// step is one statement of Finish and what it is for, for error messages.
type step struct{ what, sql string }

func (s *Store) exec(ctx context.Context, tx *sql.Tx, steps []step) error {
	for _, st := range steps {
		start := time.Now()
		res, err := tx.ExecContext(ctx, st.sql)
		if err != nil {
			return fmt.Errorf("%s: %w", st.what, err)
		}
		if s.trace != nil {
			n, _ := res.RowsAffected()
			s.trace(st.what, n, time.Since(start))
		}
	}
	return nil
}

// titleSteps build the new title map in temp.t_titles (and temp.t_src)
// and the set of titles whose resolution differs from the stored one in
// temp.t_changed, then store the new map.
func titleSteps() []step {
	return []step{
		{"drop scratch tables", `DROP TABLE IF EXISTS temp.t_doc`},
		{"drop scratch tables", `DROP TABLE IF EXISTS temp.t_redir`},
		{"drop scratch tables", `DROP TABLE IF EXISTS temp.t_titles`},
		{"drop scratch tables", `DROP TABLE IF EXISTS temp.t_src`},
		{"drop scratch tables", `DROP TABLE IF EXISTS temp.t_changed`},
		{"drop scratch tables", `DROP TABLE IF EXISTS temp.t_finals`},
		// The document a title names: of several (two dumps of one wiki, a
		// page recreated under a new id) the smallest id, so the choice does
		// not depend on ingest order. n is that row's, as SQLite takes bare
		// columns from the row of the one min().
		{"index titles", `CREATE TEMP TABLE t_doc(title TEXT PRIMARY KEY, doc INTEGER NOT NULL, multi INTEGER NOT NULL) WITHOUT ROWID`},
		{"index titles", `INSERT INTO t_doc SELECT title, n, multi FROM
		(SELECT name AS title, n, MIN(id), COUNT(DISTINCT source) > 1 AS multi FROM docs GROUP BY name)`},
		// With several wikis in one store a link prefers its own wiki.
		{"index titles per wiki", `CREATE TEMP TABLE t_src(final TEXT, source TEXT, doc INTEGER NOT NULL,
		PRIMARY KEY(final, source)) WITHOUT ROWID`},
		{"index titles per wiki", `INSERT INTO t_src SELECT name, source, n FROM
		(SELECT name, source, n, MIN(id) FROM docs WHERE name IN (SELECT title FROM t_doc WHERE multi) GROUP BY name, source)`},
		// Redirects are followed for up to three hops, stopping at the first
		// title that is a document.
		{"follow redirects", `CREATE TEMP TABLE t_redir(from_title TEXT PRIMARY KEY, cur TEXT NOT NULL) WITHOUT ROWID`},
		{"follow redirects", `INSERT INTO t_redir SELECT from_title, to_title FROM redirects`},
		{"follow redirects", hopSQL},
		{"follow redirects", hopSQL},
		// Document titles come first and win over redirects of the same name.
		{"resolve titles", `CREATE TEMP TABLE t_titles(title TEXT PRIMARY KEY, doc INTEGER NOT NULL, final TEXT,
		redirect INTEGER NOT NULL, multi INTEGER NOT NULL) WITHOUT ROWID`},
		{"resolve titles", `INSERT INTO t_titles SELECT title, doc, NULL, 0, multi FROM t_doc`},
		{"resolve titles", `INSERT OR IGNORE INTO t_titles
		SELECT r.from_title, d.doc, r.cur, 1, d.multi FROM t_redir r JOIN t_doc d ON d.title = r.cur ORDER BY 1`},
		// What changed: a title added, dropped or resolved otherwise, and the
		// titles that reach a title whose per-wiki documents changed.
		{"compare titles", `CREATE TEMP TABLE t_changed(title TEXT PRIMARY KEY) WITHOUT ROWID`},
		{"compare titles", `INSERT INTO t_changed SELECT n.title FROM t_titles n LEFT JOIN titles o ON o.title = n.title
		WHERE o.title IS NULL OR (o.doc, o.final, o.multi) IS NOT (n.doc, n.final, n.multi)`},
		{"compare titles", `INSERT OR IGNORE INTO t_changed SELECT o.title FROM titles o
		WHERE NOT EXISTS (SELECT 1 FROM t_titles n WHERE n.title = o.title)`},
		{"compare titles", `CREATE TEMP TABLE t_finals(final TEXT PRIMARY KEY) WITHOUT ROWID`},
		{"compare titles", `INSERT OR IGNORE INTO t_finals SELECT n.final FROM t_src n
		WHERE NOT EXISTS (SELECT 1 FROM titles_src o WHERE o.final = n.final AND o.source = n.source AND o.doc = n.doc)`},
		{"compare titles", `INSERT OR IGNORE INTO t_finals SELECT o.final FROM titles_src o
		WHERE NOT EXISTS (SELECT 1 FROM t_src n WHERE n.final = o.final AND n.source = o.source AND n.doc = o.doc)`},
		{"compare titles", `INSERT OR IGNORE INTO t_changed SELECT title FROM t_titles
		WHERE multi AND COALESCE(final, title) IN (SELECT final FROM t_finals)`},
		// Only the changes are written: a Finish after a resumed ingest
		// rewrites nothing.
		{"store titles", `DELETE FROM titles WHERE title IN (SELECT title FROM t_changed)`},
		{"store titles", `INSERT INTO titles SELECT * FROM t_titles WHERE title IN (SELECT title FROM t_changed) ORDER BY title`},
		{"store titles", `DELETE FROM titles_src WHERE final IN (SELECT final FROM t_finals)`},
		{"store titles", `INSERT INTO titles_src SELECT * FROM t_src WHERE final IN (SELECT final FROM t_finals) ORDER BY 1, 2`},
	}
}

// hopSQL moves every unresolved redirect one hop further.
const hopSQL = `UPDATE t_redir SET cur = (SELECT r.to_title FROM redirects r WHERE r.from_title = t_redir.cur)
	WHERE cur NOT IN (SELECT title FROM t_doc) AND cur IN (SELECT from_title FROM redirects)`

// fullShare is the share of titles that must change before Finish
// resolves every raw link instead of finding those that name a changed
// title (a scan of raw_links with a probe per row) and resolving their
// sources: past it, most sources are among them anyway.
const fullShare = 16

// resolveTitles is step 1: it stores the new title map and turns what
// changed into work for step 2.
func (s *Store) resolveTitles(ctx context.Context, tx *sql.Tx) (finishPlan, error) {
	p := finishPlan{fullFrom: math.MaxInt64}
	var had int64
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM titles`).Scan(&had); err != nil {
		return p, fmt.Errorf("count titles: %w", err)
	}
	if err := s.exec(ctx, tx, append(lookupIndexes(), titleSteps()...)); err != nil {
		return p, err
	}
	var changed, total int64
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM t_changed), (SELECT COUNT(*) FROM titles)`).
		Scan(&changed, &total); err != nil {
		return p, fmt.Errorf("count changed titles: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(src), 0) FROM raw_links`).Scan(&p.maxSrc); err != nil {
		return p, fmt.Errorf("find the last source: %w", err)
	}
	from, err := metaInt(ctx, tx, "finish_full_from")
	if err != nil {
		return p, err
	}
	if from != nil {
		p.fullFrom = *from // an interrupted Finish's full region goes on
	}
	switch {
	case changed == 0:
	case had == 0 || changed*fullShare > max(had, total):
		p.fullFrom = 0
		// Every source is resolved again: the targets need not be found.
		if _, err := tx.ExecContext(ctx, `DELETE FROM finish_targets`); err != nil {
			return p, fmt.Errorf("clear changed titles: %w", err)
		}
	default:
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO finish_targets SELECT title FROM t_changed`); err != nil {
			return p, fmt.Errorf("record changed titles: %w", err)
		}
	}
	if p.fullFrom != math.MaxInt64 {
		// The anchors are recounted from all rows once the region is done.
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO meta(key, value) VALUES
			('finish_full_from', ?), ('anchors_rebuild', 1)`, p.fullFrom); err != nil {
			return p, fmt.Errorf("record the full region: %w", err)
		}
	}
	if s.trace != nil {
		s.trace("changed titles", changed, 0)
	}
	return p, s.exec(ctx, tx, []step{
		{"drop scratch tables", `DROP TABLE temp.t_doc`},
		{"drop scratch tables", `DROP TABLE temp.t_redir`},
		{"drop scratch tables", `DROP TABLE temp.t_titles`},
		{"drop scratch tables", `DROP TABLE temp.t_src`},
		{"drop scratch tables", `DROP TABLE temp.t_changed`},
		{"drop scratch tables", `DROP TABLE temp.t_finals`},
	})
}

// metaInt reads an integer from meta, nil when the key is absent.
func metaInt(ctx context.Context, tx *sql.Tx, key string) (*int64, error) {
	var v sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT (SELECT value FROM meta WHERE key = ?)`, key).Scan(&v)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	if !v.Valid {
		return nil, nil
	}
	n, err := strconv.ParseInt(v.String, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return &n, nil
}

// resolveLinks is step 2.
func (s *Store) resolveLinks(ctx context.Context, p finishPlan) error {
	// Sources that link to a changed title become dirty; one scan finds
	// them all, whatever the number of titles.
	err := s.inTx(ctx, "finish: find links to changed titles", func(tx *sql.Tx) error {
		var some int
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM finish_targets)`).Scan(&some); err != nil {
			return err
		}
		if some == 0 {
			return nil
		}
		return s.exec(ctx, tx, []step{
			{"find links to changed titles", `INSERT OR IGNORE INTO dirty SELECT DISTINCT src FROM raw_links
			WHERE ` + targetSQL("raw_links") + ` IN (SELECT title FROM finish_targets)`},
			{"find links to changed titles", `DELETE FROM finish_targets`},
		})
	})
	if err != nil {
		return err
	}
	rebuild, err := s.anchorsRebuild(ctx)
	if err != nil {
		return err
	}
	// The dirty sources below the full region, chunk by chunk in n order.
	for lo := int64(math.MinInt64); ; {
		var hi sql.NullInt64
		err := s.db.QueryRowContext(ctx, `SELECT MAX(n) FROM (SELECT n FROM dirty WHERE n >= ? AND n < ? ORDER BY n LIMIT ?)`,
			lo, p.fullFrom, s.finishChunk).Scan(&hi)
		if err != nil {
			return fmt.Errorf("embedded: finish: read dirty sources: %w", err)
		}
		if !hi.Valid {
			break
		}
		err = s.inTx(ctx, "finish: resolve links", func(tx *sql.Tx) error {
			where := `src IN (SELECT n FROM dirty WHERE n BETWEEN ?1 AND ?2)`
			if err := s.resolveChunk(ctx, tx, where, rebuild, lo, hi.Int64); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `DELETE FROM dirty WHERE n BETWEEN ? AND ?`, lo, hi.Int64)
			return err
		})
		if err != nil {
			return err
		}
		lo = hi.Int64 + 1
	}
	// The full region, chunk by chunk, its start moved on with each.
	for lo := p.fullFrom; lo <= p.maxSrc; lo += int64(s.finishChunk) {
		hi := lo + int64(s.finishChunk) - 1
		err := s.inTx(ctx, "finish: resolve links", func(tx *sql.Tx) error {
			if err := s.resolveChunk(ctx, tx, `src BETWEEN ?1 AND ?2`, rebuild, lo, hi); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM dirty WHERE n BETWEEN ? AND ?`, lo, hi); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'finish_full_from'`, hi+1)
			return err
		})
		if err != nil {
			return err
		}
	}
	if p.fullFrom != math.MaxInt64 {
		return s.inTx(ctx, "finish: close the full region", func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM meta WHERE key = 'finish_full_from'`)
			return err
		})
	}
	return nil
}

// anchorsRebuild reports whether step 3 recounts the anchors from all rows,
// so that step 2 need not record their changes.
func (s *Store) anchorsRebuild(ctx context.Context) (bool, error) {
	var v int
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'anchors_rebuild')`).Scan(&v); err != nil {
		return false, fmt.Errorf("embedded: finish: %w", err)
	}
	return v == 1, nil
}

// resolveSQL sets dst for the rows of raw_links that where selects: the
// target's document (per the source's wiki when several wikis have that
// title), 0 for a self link, negated when the anchor is an alias of it,
// NULL when the target names none.
func resolveSQL(where string) string {
	state := func(d string) string {
		return `CASE WHEN ` + d + ` = raw_links.src THEN 0
			WHEN raw_links.anchor <> '' AND raw_links.anchor <> COALESCE(t.final, t.title) THEN -(` + d + `)
			ELSE ` + d + ` END`
	}
	perSource := `COALESCE((SELECT ts.doc FROM titles_src ts WHERE ts.final = COALESCE(t.final, t.title)
		AND ts.source = (SELECT source FROM docs WHERE n = raw_links.src)), t.doc)`
	return `UPDATE raw_links SET dst = (SELECT CASE WHEN t.multi THEN ` + state(perSource) + ` ELSE ` + state("t.doc") + ` END
		FROM titles t WHERE t.title = ` + targetSQL("raw_links") + `) WHERE ` + where
}

// dedupeSQL drops, of raw links of one source that make the same link
// (one sentence and anchor, two targets that resolve alike), all but the
// one with the smallest target. The key orders rows by (src, anchor,
// sent, target), so the probe stays among the rows of one sentence and
// anchor (targets compared as written: the target 0 stands for the
// anchor); the duplicates
// are found by a read and only they are written, since an UPDATE that
// reads its own table in a subquery first copies every key it visits.
func dedupeSQL(where string) string {
	return `UPDATE raw_links SET dst = 0 WHERE (src, anchor, sent, target) IN (
		SELECT r.src, r.anchor, r.sent, r.target FROM raw_links r WHERE ` + where + ` AND r.dst <> 0 AND EXISTS (
			SELECT 1 FROM raw_links r2 WHERE r2.src = r.src AND r2.anchor = r.anchor AND r2.sent = r.sent
			AND r2.target IS NOT r.target AND (` + targetSQL("r2") + `) < (` + targetSQL("r") + `)
			AND abs(r2.dst) = abs(r.dst)))`
}

// resolveChunk resolves the rows where selects (with ?1, ?2 bound to lo,
// hi) and keeps the link and unresolved counters and, unless the anchors
// are to be recounted, the anchor changes.
func (s *Store) resolveChunk(ctx context.Context, tx *sql.Tx, where string, rebuild bool, lo, hi int64) error {
	count := func() (unresolved, links int64, err error) {
		err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FILTER (WHERE dst IS NULL),
			COUNT(*) FILTER (WHERE dst <> 0 AND dst > -2147483648) FROM raw_links WHERE `+where, lo, hi).
			Scan(&unresolved, &links)
		return unresolved, links, err
	}
	delta := func(d int) error {
		if rebuild {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO alias_delta(doc, alias, d) SELECT -dst, anchor, ?3
			FROM raw_links WHERE `+where+` AND dst < 0 AND dst > -2147483648`, lo, hi, d)
		return err
	}
	start := time.Now()
	u0, l0, err := count()
	if err != nil {
		return fmt.Errorf("count links: %w", err)
	}
	if err := delta(-1); err != nil {
		return fmt.Errorf("record anchors: %w", err)
	}
	res, err := tx.ExecContext(ctx, resolveSQL(where), lo, hi)
	if err != nil {
		return fmt.Errorf("resolve links: %w", err)
	}
	if _, err := tx.ExecContext(ctx, dedupeSQL(where), lo, hi); err != nil {
		return fmt.Errorf("drop duplicate links: %w", err)
	}
	if err := delta(1); err != nil {
		return fmt.Errorf("record anchors: %w", err)
	}
	u1, l1, err := count()
	if err != nil {
		return fmt.Errorf("count links: %w", err)
	}
	if s.trace != nil {
		n, _ := res.RowsAffected()
		s.trace("resolve links", n, time.Since(start))
	}
	if err := addCounter(ctx, tx, "links", l1-l0); err != nil {
		return err
	}
	return addCounter(ctx, tx, "unresolved_resolved", u1-u0)
}

// deriveAliases is step 3.
func (s *Store) deriveAliases(ctx context.Context, tx *sql.Tx) error {
	rebuild, err := metaInt(ctx, tx, "anchors_rebuild")
	if err != nil {
		return err
	}
	var steps []step
	if rebuild != nil {
		steps = []step{
			{"derive aliases", `DELETE FROM anchors`},
			{"derive aliases", `INSERT INTO anchors(doc, alias, n) SELECT -dst, anchor, COUNT(*) FROM raw_links
			WHERE dst < 0 AND dst > -2147483648 GROUP BY -dst, anchor`},
			{"derive aliases", `DELETE FROM alias_delta`},
			{"derive aliases", `DELETE FROM meta WHERE key = 'anchors_rebuild'`},
		}
	} else {
		steps = []step{
			{"derive aliases", `INSERT INTO anchors(doc, alias, n) SELECT doc, alias, SUM(d) FROM alias_delta WHERE true
			GROUP BY doc, alias HAVING SUM(d) <> 0 ON CONFLICT(doc, alias) DO UPDATE SET n = n + excluded.n`},
			{"derive aliases", `DELETE FROM anchors WHERE n <= 0 AND doc IN (SELECT doc FROM alias_delta)`},
			{"derive aliases", `DELETE FROM alias_delta`},
		}
	}
	steps = append(steps,
		// Counting here costs a pass over the aliases and the raw links
		// that wait for their source; Counts then reads three numbers.
		step{"count aliases", `INSERT OR REPLACE INTO meta(key, value) SELECT 'aliases',
			(SELECT COUNT(*) FROM titles WHERE redirect) + (SELECT COUNT(*) FROM anchors)`},
		step{"count unresolved links", `INSERT OR REPLACE INTO meta(key, value) SELECT 'unresolved',
			COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'unresolved_resolved'), 0) +
			(SELECT COUNT(*) FROM raw_pending p WHERE NOT EXISTS (SELECT 1 FROM titles t WHERE t.title = p.target))`},
	)
	return s.exec(ctx, tx, steps)
}
