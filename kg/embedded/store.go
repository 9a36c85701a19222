// Package embedded is the one-machine knowledge-graph store: an SQLite file
// (pure Go, modernc.org/sqlite) holding documents, raw and resolved links,
// redirects and aliases, and a search index of its own ranked by BM25.
//
// The search index replaces FTS5, which ranked every document holding a
// word of the query and so cost the corpus for common words (30 ms a call
// at 10k articles, 1.6 s at 500k). It holds per word the documents and the
// word's counts in title and text, built in one pass by Finish, and a
// search scores the lists of its words in Go with the formula of FTS5's
// bm25(): the same hits, order, scores and snippets as before, for a cost
// that follows those lists (search.go says why not FTS5 tricks or bleve).
// The index never reads docs.text after Finish but for the snippets of the
// hits it returns, so the text may be stored compressed.
//
// Writes are idempotent upserts batched in transactions; Finish derives the
// resolved tables from the raw ones from scratch, so it can run any number
// of times and always leaves the same rows.
package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/miroverse/miroverse/kg"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is a kg.Store in one SQLite file. It is safe for concurrent use;
// writes from one process are serialised so they never wait on each other
// inside SQLite.
type Store struct {
	db *sql.DB
	// lookup serves the point reads of the tools (Search, Doc*, Aliases),
	// which hundreds of rollouts make at once. Its pool is bounded: an
	// unbounded one opens a connection per caller, each with its own page
	// cache and prepared schema, which costs megabytes per rollout in
	// flight and CPU to reopen. db stays unbounded because EachDoc and
	// EachLink hold a connection while their callbacks may query again.
	lookup *sql.DB
	path   string
	wmu    sync.Mutex // held by every write transaction
	// tok cuts text into the fts table's words for the search index;
	// search holds that index's per-document arrays as of its last build.
	tok       *tokenizer
	search    atomic.Pointer[searchIndex]
	searchMu  sync.Mutex // held while search is loaded
	runBudget int        // searchRunBudget but in tests
}

var _ kg.Store = (*Store)(nil)

// schemaVersion changes when the tables change shape; Open refuses a file
// written with another one rather than misreading it. 2: docs.facts.
const schemaVersion = "2"

// schema creates the tables; every statement is idempotent.
func schema() []string {
	return append([]string{
		`CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
		// n is the rowid the FTS index refers to; an upsert keeps it, so the
		// index stays valid for documents that are rewritten.
		`CREATE TABLE IF NOT EXISTS docs(
		n          INTEGER PRIMARY KEY,
		id         TEXT NOT NULL UNIQUE,
		title      TEXT NOT NULL,
		title_fold TEXT NOT NULL,
		url        TEXT NOT NULL,
		url_key    TEXT NOT NULL,
		source     TEXT NOT NULL,
		lang       TEXT NOT NULL,
		text       TEXT NOT NULL,
		categories TEXT NOT NULL,
		kind       TEXT NOT NULL,
		facts      TEXT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS docs_title ON docs(title)`,
		`CREATE INDEX IF NOT EXISTS docs_title_fold ON docs(title_fold)`,
		`CREATE INDEX IF NOT EXISTS docs_url ON docs(url)`,
		`CREATE INDEX IF NOT EXISTS docs_url_key ON docs(url_key)`,
		`CREATE TABLE IF NOT EXISTS raw_links(
		src TEXT NOT NULL, target TEXT NOT NULL, anchor TEXT NOT NULL, sentence TEXT NOT NULL,
		PRIMARY KEY(src, target, anchor, sentence)) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS redirects(
		from_title TEXT PRIMARY KEY, to_title TEXT NOT NULL) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS links(
		src TEXT NOT NULL, dst TEXT NOT NULL, anchor TEXT NOT NULL, sentence TEXT NOT NULL,
		PRIMARY KEY(src, dst, anchor, sentence)) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS aliases(
		alias TEXT NOT NULL, doc_id TEXT NOT NULL, kind TEXT NOT NULL,
		PRIMARY KEY(alias, doc_id, kind)) WITHOUT ROWID`,
		`CREATE INDEX IF NOT EXISTS aliases_doc ON aliases(doc_id)`,
	}, searchSchema()...)
}

// Open opens or creates the store at path.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("embedded: open %q: path must be non-empty and free of '?' and '#'", path)
	}
	// WAL lets readers run beside the writer; NORMAL sync is durable
	// enough in WAL mode (a power cut may lose the last commits, never
	// corrupt); immediate transactions take the write lock up front so
	// two writers never deadlock upgrading a read lock.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(60000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "cache_size(-65536)")
	q.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	s := &Store{db: db, path: path, tok: newTokenizer(), runBudget: searchRunBudget}
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	lq := url.Values{}
	lq.Add("_pragma", "busy_timeout(60000)")
	lq.Add("_pragma", "query_only(1)")
	lq.Add("_pragma", "cache_size(-16384)")
	lookup, err := sql.Open("sqlite", path+"?"+lq.Encode())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("embedded: open %s for lookups: %w", path, err)
	}
	n := 2 * runtime.GOMAXPROCS(0)
	lookup.SetMaxOpenConns(n)
	lookup.SetMaxIdleConns(n)
	s.lookup = lookup
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	for _, stmt := range schema() {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
	}
	var v string
	err = tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES('schema_version', ?)`, schemaVersion); err != nil {
			return fmt.Errorf("write schema version: %w", err)
		}
	case err != nil:
		return fmt.Errorf("read schema version: %w", err)
	case v != schemaVersion:
		return fmt.Errorf("schema version %s, this build reads %s (ingest again into a new output root)", v, schemaVersion)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit schema: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	lerr := s.lookup.Close()
	if err := errors.Join(s.db.Close(), lerr, s.tok.close()); err != nil {
		return fmt.Errorf("embedded: close %s: %w", s.path, err)
	}
	return nil
}

// write runs fn in one immediate transaction, holding the write lock.
func (s *Store) write(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("embedded: %s: begin: %w", what, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return fmt.Errorf("embedded: %s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("embedded: %s: commit: %w", what, err)
	}
	return nil
}

// maxParams keeps a multi-row INSERT under SQLite's bound on parameters
// while sending few statements: with one statement per row most of the
// time goes to database/sql, not to SQLite.
const maxParams = 999

// insertRows inserts n rows of cols values each with multi-row statements
// "head VALUES (?,…),(?,…) tail". row appends row i's values to dst.
func insertRows(ctx context.Context, tx *sql.Tx, head, tail string, cols, n int, row func(i int, dst []any) []any) error {
	per := maxParams / cols
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, per*cols)
	for lo := 0; lo < n; lo += per {
		hi := min(n, lo+per)
		args = args[:0]
		for i := lo; i < hi; i++ {
			args = row(i, args)
		}
		var err error
		if hi-lo == per {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, insertSQL(head, tail, cols, per)); err != nil {
					return fmt.Errorf("prepare: %w", err)
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, insertSQL(head, tail, cols, hi-lo), args...)
		}
		if err != nil {
			return fmt.Errorf("rows %d-%d: %w", lo, hi-1, err)
		}
	}
	return nil
}

func insertSQL(head, tail string, cols, rows int) string {
	var b strings.Builder
	group := "(" + strings.Repeat("?,", cols-1) + "?)"
	b.Grow(len(head) + len(tail) + rows*(len(group)+1) + 8)
	b.WriteString(head)
	b.WriteString(" VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(group)
	}
	b.WriteByte(' ')
	b.WriteString(tail)
	return b.String()
}

// PutDocs inserts or replaces documents by id.
func (s *Store) PutDocs(ctx context.Context, docs []kg.Doc) error {
	if len(docs) == 0 {
		return nil
	}
	cats := make([]string, len(docs))
	facts := make([]string, len(docs))
	for i, d := range docs {
		if d.ID == "" || d.Title == "" {
			return fmt.Errorf("embedded: put docs: doc %d (%q, %q): empty id or title", i, d.ID, d.Title)
		}
		c := d.Categories
		if c == nil {
			c = []string{}
		}
		b, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("embedded: put docs: categories of %s: %w", d.ID, err)
		}
		cats[i] = string(b)
		if facts[i], err = marshalFacts(d.Facts); err != nil {
			return fmt.Errorf("embedded: put docs: facts of %s: %w", d.ID, err)
		}
	}
	return s.write(ctx, fmt.Sprintf("put %d docs", len(docs)), func(tx *sql.Tx) error {
		return insertRows(ctx, tx,
			`INSERT INTO docs(id, title, title_fold, url, url_key, source, lang, text, categories, kind, facts)`,
			`ON CONFLICT(id) DO UPDATE SET title = excluded.title, title_fold = excluded.title_fold,
				url = excluded.url, url_key = excluded.url_key, source = excluded.source,
				lang = excluded.lang, text = excluded.text, categories = excluded.categories,
				kind = excluded.kind, facts = excluded.facts`,
			11, len(docs), func(i int, a []any) []any {
				d := docs[i]
				return append(a, d.ID, d.Title, kg.TitleKey(d.Title), d.URL, kg.URLKey(d.URL), d.Source, d.Lang,
					d.Text, cats[i], d.Kind, facts[i])
			})
	})
}

// marshalFacts is the JSON of the facts column: an array of {"key",
// "value"} objects, [] for none, so that the column is always an array.
func marshalFacts(facts []kg.Fact) (string, error) {
	if len(facts) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(facts)
	return string(b), err
}

// PutRawLinks inserts links; a link already present is left as it is.
func (s *Store) PutRawLinks(ctx context.Context, links []kg.RawLink) error {
	if len(links) == 0 {
		return nil
	}
	for i, l := range links {
		if l.Src == "" || l.Target == "" {
			return fmt.Errorf("embedded: put raw links: link %d (%q -> %q): empty src or target", i, l.Src, l.Target)
		}
	}
	return s.write(ctx, fmt.Sprintf("put %d raw links", len(links)), func(tx *sql.Tx) error {
		return insertRows(ctx, tx, `INSERT INTO raw_links(src, target, anchor, sentence)`, `ON CONFLICT DO NOTHING`,
			4, len(links), func(i int, a []any) []any {
				l := links[i]
				return append(a, l.Src, l.Target, l.Anchor, l.Sentence)
			})
	})
}

// PutRedirects inserts or replaces redirects by source title.
func (s *Store) PutRedirects(ctx context.Context, redirects []kg.Redirect) error {
	if len(redirects) == 0 {
		return nil
	}
	for i, r := range redirects {
		if r.From == "" || r.To == "" {
			return fmt.Errorf("embedded: put redirects: redirect %d (%q -> %q): empty title", i, r.From, r.To)
		}
	}
	return s.write(ctx, fmt.Sprintf("put %d redirects", len(redirects)), func(tx *sql.Tx) error {
		return insertRows(ctx, tx, `INSERT INTO redirects(from_title, to_title)`,
			`ON CONFLICT(from_title) DO UPDATE SET to_title = excluded.to_title`,
			2, len(redirects), func(i int, a []any) []any {
				return append(a, redirects[i].From, redirects[i].To)
			})
	})
}
