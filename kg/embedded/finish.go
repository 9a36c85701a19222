package embedded

import (
	"context"
	"database/sql"
	"fmt"
)

// step is one statement of Finish and what it is for, for error messages.
type step struct{ what, sql string }

// finishSteps derive links, aliases and the search index from docs,
// raw_links and redirects. Each run rebuilds them from scratch in one
// transaction, so Finish is idempotent and a crash leaves the last result.
func finishSteps() []step {
	return []step{
		{"drop scratch tables", `DROP TABLE IF EXISTS temp.t_doc`},
		{"drop scratch tables", `DROP TABLE IF EXISTS temp.t_src`},
		{"drop scratch tables", `DROP TABLE IF EXISTS temp.t_redir`},
		{"drop scratch tables", `DROP TABLE IF EXISTS temp.t_final`},
		// The document a title names: of several (two dumps of one wiki, a
		// page recreated under a new id) the smallest id, so the choice does
		// not depend on ingest order.
		{"index titles", `CREATE TEMP TABLE t_doc(title TEXT PRIMARY KEY, doc_id TEXT NOT NULL) WITHOUT ROWID`},
		{"index titles", `INSERT INTO t_doc SELECT title, MIN(id) FROM docs GROUP BY title`},
		// With several wikis in one store a link prefers its own wiki.
		{"index titles", `CREATE TEMP TABLE t_src(source TEXT, title TEXT, doc_id TEXT NOT NULL,
		PRIMARY KEY(source, title)) WITHOUT ROWID`},
		{"index titles", `INSERT INTO t_src SELECT source, title, MIN(id) FROM docs GROUP BY source, title`},
		// Redirects are followed for up to three hops, stopping at the first
		// title that is a document.
		{"follow redirects", `CREATE TEMP TABLE t_redir(from_title TEXT PRIMARY KEY, cur TEXT NOT NULL) WITHOUT ROWID`},
		{"follow redirects", `INSERT INTO t_redir SELECT from_title, to_title FROM redirects`},
		{"follow redirects", hopSQL},
		{"follow redirects", hopSQL},
		// Every title a link may name, mapped to the title of a document.
		// Document titles come first and win over redirects of the same name.
		{"resolve titles", `CREATE TEMP TABLE t_final(title TEXT PRIMARY KEY, final TEXT NOT NULL) WITHOUT ROWID`},
		{"resolve titles", `INSERT INTO t_final SELECT title, title FROM t_doc`},
		{"resolve titles", `INSERT OR IGNORE INTO t_final
		SELECT from_title, cur FROM t_redir WHERE cur IN (SELECT title FROM t_doc)`},
		// A link needs a document at both ends: one from a source not yet
		// written waits for it, as a Neo4j relationship must.
		{"resolve links", `DELETE FROM links`},
		{"resolve links", `INSERT OR IGNORE INTO links(src, dst, anchor, sentence)
		SELECT r.src, COALESCE(ts.doc_id, td.doc_id), r.anchor, r.sentence
		FROM raw_links r
		JOIN t_final f ON f.title = r.target
		JOIN t_doc td ON td.title = f.final
		JOIN docs s ON s.id = r.src
		LEFT JOIN t_src ts ON ts.source = s.source AND ts.title = f.final
		WHERE COALESCE(ts.doc_id, td.doc_id) <> r.src`},
		{"derive aliases", `DELETE FROM aliases`},
		{"derive aliases", `INSERT OR IGNORE INTO aliases(alias, doc_id, kind)
		SELECT f.title, td.doc_id, 'redirect' FROM t_final f JOIN t_doc td ON td.title = f.final
		WHERE f.title <> f.final`},
		{"derive aliases", `INSERT OR IGNORE INTO aliases(alias, doc_id, kind)
		SELECT DISTINCT l.anchor, l.dst, 'anchor' FROM links l JOIN docs d ON d.id = l.dst
		WHERE l.anchor <> d.title AND l.anchor <> ''`},
		// Counting here, where the title map exists, costs one pass; Counts
		// would need two index lookups per raw link.
		{"count unresolved links", `INSERT OR REPLACE INTO meta(key, value)
		SELECT 'unresolved', COUNT(*) FROM raw_links r
		WHERE NOT EXISTS (SELECT 1 FROM t_final f WHERE f.title = r.target)`},
		// The search index is built after these steps (buildSearchIndex);
		// the FTS5 table that earlier versions searched goes.
		{"rebuild search index", `DROP TABLE IF EXISTS fts`},
		{"drop scratch tables", `DROP TABLE temp.t_doc`},
		{"drop scratch tables", `DROP TABLE temp.t_src`},
		{"drop scratch tables", `DROP TABLE temp.t_redir`},
		{"drop scratch tables", `DROP TABLE temp.t_final`},
	}
}

// hopSQL moves every unresolved redirect one hop further.
const hopSQL = `UPDATE t_redir SET cur = (SELECT r.to_title FROM redirects r WHERE r.from_title = t_redir.cur)
	WHERE cur NOT IN (SELECT title FROM t_doc) AND cur IN (SELECT from_title FROM redirects)`

// Finish resolves raw links through redirects into links (self links,
// unresolved targets and sources that are no document dropped), derives
// aliases (redirect titles that reach a document, and anchor texts that
// differ from the title) and rebuilds the search index.
func (s *Store) Finish(ctx context.Context) error {
	return s.write(ctx, "finish", func(tx *sql.Tx) error {
		for _, st := range finishSteps() {
			if _, err := tx.ExecContext(ctx, st.sql); err != nil {
				return fmt.Errorf("%s: %w", st.what, err)
			}
		}
		if err := s.buildSearchIndex(ctx, tx); err != nil {
			return fmt.Errorf("rebuild search index: %w", err)
		}
		return nil
	})
}
