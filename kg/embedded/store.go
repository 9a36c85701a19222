// Package embedded is the one-machine knowledge-graph store: an SQLite file
// (pure Go, modernc.org/sqlite) holding documents, raw links, redirects and
// what Finish derives from them, and a search index of its own ranked by
// BM25.
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
// The layout is made for a full Wikipedia (~7M documents, ~170M links) on
// one machine, so that every cost is linear in the input, ingest appends
// to its tables instead of writing all over them, and nothing
// proportional to the input is held in Go memory:
//
//   - A document's key inside the file is its rowid n, given in ingest
//     order. Raw links are keyed by (src n, anchor, sentence, target), so a
//     dump's links are appended at the right edge of their B-tree, and a
//     raw link written again is found and dropped next to where it would go.
//   - A link's sentence is a substring of its source's text: raw_links.sent
//     holds the offset and length of its first occurrence there, packed in
//     one integer, instead of the sentence; only a sentence the text does
//     not hold is kept as text. When a document's text changes, its links'
//     sentences are re-encoded against the new text, so a raw link keeps
//     its key and every sentence is held once. A target equal to the anchor
//     (most links) is held as 0.
//   - Resolution is stored in raw_links.dst, next to the raw link it
//     resolves (see dstNew): there is no second copy of the links. links
//     and aliases are views over the stored tables, with the columns they
//     have always had, for readers of the file.
//   - A raw link whose source is no document yet waits in raw_pending, with
//     its source id and sentence as text, until that document is written.
//   - The title and URL lookup indexes are built by the first Finish, by a
//     sort, rather than a random page at a time during ingest
//     (lookupIndexes).
//
// Writes are idempotent upserts batched in transactions. Finish resolves
// titles into a map (titles), then resolves only the raw links whose
// source is new or whose target's resolution changed, in bounded
// transactions; see Finish. The search index is rebuilt by a step of its
// own (rebuildSearch).
package embedded

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	// stmts holds lookup's prepared point reads by their SQL: parsing a
	// query costs more than running it, and the sampler and the tools
	// run the same few a million times.
	stmts sync.Map // string -> *sql.Stmt
	path  string
	wmu   sync.Mutex // held by every write transaction, and by Finish throughout
	// finishChunk is how many documents' links one Finish transaction
	// resolves; tests lower it to cross chunk boundaries on small inputs.
	finishChunk int
	// trace, when set (by tests and benchmarks), is told what Finish did.
	trace func(step string, rows int64, took time.Duration)
	// tok cuts text into the fts table's words for the search index;
	// search holds that index's per-document arrays as of its last build.
	tok       *tokenizer
	search    atomic.Pointer[searchIndex]
	searchMu  sync.Mutex // held while search is loaded
	runBudget int        // Options.IndexBuildBytes
	noSearch  bool       // Options.NoSearchIndex
}

var _ kg.Store = (*Store)(nil)

// schemaVersion changes when the tables change shape; Open refuses a file
// written with another one rather than misreading it. 2: docs.facts. 3:
// integer document keys, sentences by reference, resolution in raw_links.
// 4: docs.name (what links name: kg.Doc.Name), date, hash, origin.
const schemaVersion = "4"

// The states of raw_links.dst, as the last Finish left them:
//
//	n      a link to document n whose anchor is no alias;
//	-n     a link to document n whose anchor is an "anchor" alias of it, so
//	       that Finish derives aliases from the rows alone;
//	0      a target that resolves but makes no link: a self link, or the
//	       duplicate of a link another raw link of the source makes;
//	NULL   a target that reaches no document;
//	dstNew not resolved by any Finish yet (the SQL spells it -2147483648).
//
// dstNew is written as a four-byte integer, the widest a resolved state
// takes while n < 2^31, so resolving a row never grows it and never splits
// its page.
const dstNew = -1 << 31

// sentLenBits is how much of a packed sentence reference is its length.
const sentLenBits = 16

// schema creates the tables; every statement is idempotent.
func schema() []string {
	return append([]string{
		// Counters (raw_links, links, aliases, unresolved) and the state of
		// an unfinished Finish, beside the schema version.
		`CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
		// n is the rowid the FTS index and every other table refer to; an
		// upsert keeps it, so references stay valid for documents that are
		// rewritten. text comes last so that reading the other columns
		// never reads through it.
		`CREATE TABLE IF NOT EXISTS docs(
		n          INTEGER PRIMARY KEY,
		id         TEXT NOT NULL UNIQUE,
		title      TEXT NOT NULL,
		title_fold TEXT NOT NULL,
		url        TEXT NOT NULL,
		url_key    TEXT NOT NULL,
		name       TEXT NOT NULL,
		source     TEXT NOT NULL,
		lang       TEXT NOT NULL,
		kind       TEXT NOT NULL,
		categories TEXT NOT NULL,
		facts      TEXT NOT NULL,
		date       TEXT NOT NULL,
		hash       TEXT NOT NULL,
		origin     TEXT NOT NULL,
		text       TEXT NOT NULL)`,
		// n -> id without reading the rows, which hold the text: links name
		// their ends by n.
		`CREATE INDEX IF NOT EXISTS docs_n_id ON docs(n, id)`,
		// sent and target have no declared type, so that no affinity turns
		// a sentence that reads as a number into one, or the target 0 (the
		// anchor itself, as in [[Paris]]: more than half of all links) into
		// the text "0".
		`CREATE TABLE IF NOT EXISTS raw_links(
		src    INTEGER NOT NULL,
		anchor TEXT NOT NULL,
		sent   NOT NULL,
		target NOT NULL,
		dst    INTEGER,
		PRIMARY KEY(src, anchor, sent, target)) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS raw_pending(
		src TEXT NOT NULL, anchor TEXT NOT NULL, sentence TEXT NOT NULL, target TEXT NOT NULL,
		PRIMARY KEY(src, anchor, sentence, target)) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS redirects(
		from_title TEXT PRIMARY KEY, to_title TEXT NOT NULL) WITHOUT ROWID`,
		// Every title a link may name, as the last Finish resolved it: doc
		// is the smallest id with the reached title (final, NULL when it is
		// title itself); multi is set when documents of several sources
		// have that title, so that titles_src decides per source. The
		// redirect rows are the "redirect" aliases.
		`CREATE TABLE IF NOT EXISTS titles(
		title    TEXT PRIMARY KEY,
		doc      INTEGER NOT NULL,
		final    TEXT,
		redirect INTEGER NOT NULL,
		multi    INTEGER NOT NULL) WITHOUT ROWID`,
		`CREATE INDEX IF NOT EXISTS titles_redirect ON titles(doc, title) WHERE redirect`,
		`CREATE TABLE IF NOT EXISTS titles_src(
		final TEXT NOT NULL, source TEXT NOT NULL, doc INTEGER NOT NULL,
		PRIMARY KEY(final, source)) WITHOUT ROWID`,
		// "anchor" aliases with the number of links that carry each, so that
		// Finish can add and remove links without recounting all of them.
		`CREATE TABLE IF NOT EXISTS anchors(
		doc INTEGER NOT NULL, alias TEXT NOT NULL, n INTEGER NOT NULL,
		PRIMARY KEY(doc, alias)) WITHOUT ROWID`,
		// Finish's work list: sources with raw links it has not resolved
		// (or whose source wiki changed), targets whose resolution changed,
		// and the alias counts still to apply.
		`CREATE TABLE IF NOT EXISTS dirty(n INTEGER PRIMARY KEY)`,
		`CREATE TABLE IF NOT EXISTS finish_targets(title TEXT PRIMARY KEY) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS alias_delta(doc INTEGER NOT NULL, alias TEXT NOT NULL, d INTEGER NOT NULL)`,
		// The derived records in the shape of the model, for readers of the
		// file (and the search query, which looks up redirect aliases).
		`CREATE VIEW IF NOT EXISTS links(src, dst, anchor, sentence) AS
		SELECT s.id, d.id, r.anchor, ` + sentenceSQL("r.sent", "s.text") + `
		FROM raw_links r JOIN docs s ON s.n = r.src JOIN docs d ON d.n = abs(r.dst)
		WHERE r.dst <> 0 AND r.dst > -2147483648`,
		`CREATE VIEW IF NOT EXISTS aliases(alias, doc_id, kind) AS
		SELECT t.title, d.id, 'redirect' FROM titles t JOIN docs d ON d.n = t.doc WHERE t.redirect
		UNION ALL
		SELECT a.alias, d.id, 'anchor' FROM anchors a JOIN docs d ON d.n = a.doc`,
	}, searchSchema()...)
}

// lookupIndexes are the indexes of the title and URL lookups, which Finish
// creates (see Finish) rather than the schema: a title or URL is in no
// order of ingest, so every document written would dirty a page of each at
// a random place, and a commit of a few hundred documents would write
// hundreds of pages to the WAL for a few hundred KB of rows. Built by
// sorting once the documents are in, and kept up to date from then on,
// they cost a fraction of that; until then the lookups read the table.
//
// An exact title or URL is looked up through its folded form, which it
// implies, so each needs one index, not two. The title index also covers
// what Finish's title map and Snapshot's nodes read, so that neither reads
// the rows, which hold the text.
func lookupIndexes() []step {
	return []step{
		{"index documents", `CREATE INDEX IF NOT EXISTS docs_title_fold ON docs(title_fold, title, source, id, kind)`},
		{"index documents", `CREATE INDEX IF NOT EXISTS docs_url_key ON docs(url_key)`},
		{"index documents", `CREATE INDEX IF NOT EXISTS docs_name ON docs(name, source, id)`},
	}
}

// sentenceSQL decodes a sentence reference in SQL: the bytes of text it
// names (substr counts bytes in a blob, characters in a text), or the
// sentence itself when it is kept as text.
func sentenceSQL(sent, text string) string {
	return fmt.Sprintf(`CASE WHEN typeof(%[1]s) = 'integer' THEN CAST(substr(CAST(%[2]s AS BLOB), (%[1]s >> %[3]d) + 1, %[1]s & %[4]d) AS TEXT) ELSE %[1]s END`,
		sent, text, sentLenBits, 1<<sentLenBits-1)
}

// sentRef is what raw_links.sent holds for a sentence of text: its first
// occurrence as offset<<16 | length, or the sentence when text has none
// (or it is too long to pack). The first occurrence makes the reference
// canonical: one sentence string, one key.
func sentRef(text, sentence string) any {
	if len(sentence) < 1<<sentLenBits {
		if i := strings.Index(text, sentence); i >= 0 {
			return int64(i)<<sentLenBits | int64(len(sentence))
		}
	}
	return sentence
}

// targetRef is what raw_links.target holds: 0 when the target is the
// anchor, else the target.
func targetRef(anchor, target string) any {
	if target == anchor {
		return int64(0)
	}
	return target
}

// targetSQL is the target of the raw_links row r in SQL.
func targetSQL(r string) string {
	return fmt.Sprintf(`CASE WHEN typeof(%[1]s.target) = 'integer' THEN %[1]s.anchor ELSE %[1]s.target END`, r)
}

// compareSQLite orders two column values as SQLite's BINARY collation
// does for the types raw_links holds: integers before text, text by bytes.
func compareSQLite(a, b any) int {
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, y)
		}
		return -1
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
		return 1
	}
	return 0
}

// sentText is the sentence a reference names in text.
func sentText(text string, ref any) (string, error) {
	switch r := ref.(type) {
	case int64:
		off, n := r>>sentLenBits, r&(1<<sentLenBits-1)
		if off < 0 || off+n > int64(len(text)) {
			return "", fmt.Errorf("sentence reference %d:%d outside a text of %d bytes", off, n, len(text))
		}
		return text[off : off+n], nil
	case string:
		return r, nil
	case []byte:
		return string(r), nil
	}
	return "", fmt.Errorf("sentence reference of type %T", ref)
}

// Options bounds what a Store holds in memory. Zero values take the
// defaults.
type Options struct {
	// CacheBytes is the page cache of all its connections together,
	// shared evenly between the writer and the readers (default 128 MiB).
	CacheBytes int64
	// IndexBuildBytes bounds the postings Finish holds while it builds the
	// search index; past it they spill to files (default 96 MiB).
	IndexBuildBytes int64
	// NoSearchIndex leaves the search index out of Finish: a store that
	// only stages a graph for another backend, which indexes the text
	// itself, would build it for nothing. Search on such a store fails.
	NoSearchIndex bool
}

// DefaultCacheBytes is Options.CacheBytes when it is zero.
const DefaultCacheBytes = 128 << 20

// Open opens or creates the store at path with the default Options.
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith opens or creates the store at path.
func OpenWith(ctx context.Context, path string, opt Options) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("embedded: open %q: path must be non-empty and free of '?' and '#'", path)
	}
	// WAL (set when the file is made, and kept by it) lets readers run
	// beside the writer; NORMAL sync is durable enough in WAL mode (a power
	// cut may lose the last commits, never corrupt); immediate transactions
	// take the write lock up front so two writers never deadlock upgrading
	// a read lock. Finish's sorts spill to temporary files, not to memory,
	// and the WAL is cut back after a large Finish.
	if err := setPageSize(ctx, path); err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(60000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "temp_store(FILE)")
	if opt.CacheBytes <= 0 {
		opt.CacheBytes = DefaultCacheBytes
	}
	if opt.IndexBuildBytes <= 0 {
		opt.IndexBuildBytes = searchRunBudget
	}
	readers := 2 * runtime.GOMAXPROCS(0)
	// SQLite's cache_size is per connection, negative for KiB.
	writerKiB := max(opt.CacheBytes/2>>10, 256)
	readerKiB := max(opt.CacheBytes/2/int64(readers)>>10, 256)
	q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", writerKiB))
	q.Add("_pragma", "journal_size_limit(67108864)")
	q.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	s := &Store{db: db, path: path, finishChunk: 8192, tok: newTokenizer(), runBudget: int(opt.IndexBuildBytes), noSearch: opt.NoSearchIndex}
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	lq := url.Values{}
	lq.Add("_pragma", "busy_timeout(60000)")
	lq.Add("_pragma", "query_only(1)")
	lq.Add("_pragma", fmt.Sprintf("cache_size(-%d)", readerKiB))
	lookup, err := sql.Open("sqlite", path+"?"+lq.Encode())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("embedded: open %s for lookups: %w", path, err)
	}
	lookup.SetMaxOpenConns(readers)
	lookup.SetMaxIdleConns(readers)
	s.lookup = lookup
	return s, nil
}

// pageSize is the page size of new files. A page holds several documents
// of a few KB each where a 4 KiB page holds one and leaves the rest empty
// (a fifth of the file at 3 KB per document); 32 KiB leaves about 5%
// empty. Writes append to their tables (see lookupIndexes), so a larger
// page does not write more to the WAL.
const pageSize = 32768

// setPageSize gives a new file its page size. It takes a connection of its
// own because the page size must be set before WAL mode is, and the
// driver applies a DSN's journal_mode before its other pragmas. An
// existing file is left alone, so that one Open refuses stays as it was.
func setPageSize(ctx context.Context, path string) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		return nil
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(60000)")
	if err != nil {
		return err
	}
	defer db.Close()
	for _, p := range []string{fmt.Sprintf("PRAGMA page_size = %d", pageSize), "PRAGMA journal_mode = WAL"} {
		if _, err := db.ExecContext(ctx, p); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

func (s *Store) init(ctx context.Context) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	// The version is read before anything is created: a file of another
	// version must be refused as it is, not half-migrated.
	var hasMeta int
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta')`).
		Scan(&hasMeta); err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	if hasMeta == 1 {
		var v string
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&v)
		switch {
		case err == nil && v != schemaVersion:
			return fmt.Errorf("schema version %s, this build reads %s (ingest again into a new output root)", v, schemaVersion)
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read schema version: %w", err)
		}
	}
	for _, stmt := range schema() {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', ?)`, schemaVersion); err != nil {
		return fmt.Errorf("write schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit schema: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	var serr error
	s.stmts.Range(func(_, v any) bool {
		serr = errors.Join(serr, v.(*sql.Stmt).Close())
		return true
	})
	lerr := errors.Join(serr, s.lookup.Close())
	if err := errors.Join(s.db.Close(), lerr, s.tok.close()); err != nil {
		return fmt.Errorf("embedded: close %s: %w", s.path, err)
	}
	return nil
}

// prepared returns lookup's prepared statement of query, preparing it
// the first time. Two callers may both prepare it; one statement is kept
// and the other closed.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.lookup.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// write runs fn in one immediate transaction, holding the write lock.
func (s *Store) write(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.inTx(ctx, what, fn)
}

// inTx runs fn in one immediate transaction; the caller holds wmu.
func (s *Store) inTx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
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

// maxParams keeps a multi-row statement under SQLite's bound on parameters
// while sending few statements: with one statement per row most of the
// time goes to database/sql, not to SQLite.
const maxParams = 999

// insertRows inserts n rows of cols values each with multi-row statements
// "head VALUES (?,…),(?,…) tail". row appends row i's values to dst. It
// returns how many rows each statement changed, in order, so that callers
// learn which groups of rows held something new.
func insertRows(ctx context.Context, tx *sql.Tx, head, tail string, cols, n int, row func(i int, dst []any) []any) ([]int64, error) {
	return insertGroups(ctx, tx, head, "("+strings.Repeat("?,", cols-1)+"?)", tail, cols, n, row)
}

// insertGroups is insertRows with each row's VALUES group written out, so
// that a value common to all rows is a literal rather than a parameter.
func insertGroups(ctx context.Context, tx *sql.Tx, head, group, tail string, cols, n int, row func(i int, dst []any) []any) ([]int64, error) {
	per := maxParams / cols
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	var changed []int64
	args := make([]any, 0, per*cols)
	for lo := 0; lo < n; lo += per {
		hi := min(n, lo+per)
		args = args[:0]
		for i := lo; i < hi; i++ {
			args = row(i, args)
		}
		var err error
		var res sql.Result
		if hi-lo == per {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, insertSQL(head, group, tail, per)); err != nil {
					return nil, fmt.Errorf("prepare: %w", err)
				}
			}
			res, err = full.ExecContext(ctx, args...)
		} else {
			res, err = tx.ExecContext(ctx, insertSQL(head, group, tail, hi-lo), args...)
		}
		if err != nil {
			return nil, fmt.Errorf("rows %d-%d: %w", lo, hi-1, err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("rows %d-%d: %w", lo, hi-1, err)
		}
		changed = append(changed, k)
	}
	return changed, nil
}

// insertPer is how many rows of cols values insertRows sends per statement.
func insertPer(cols int) int { return maxParams / cols }

func insertSQL(head, group, tail string, rows int) string {
	var b strings.Builder
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

// addCounter adds d to an integer in meta.
func addCounter(ctx context.Context, tx *sql.Tx, key string, d int64) error {
	if d == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES(?1, ?2)
		ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + ?2`, key, d)
	if err != nil {
		return fmt.Errorf("count %s: %w", key, err)
	}
	return nil
}

// srcDoc is what the write path needs of a document that raw links name
// as their source.
type srcDoc struct {
	n            int64
	source, text string
}

// docsByID reads the documents with the given ids, in batches of the
// parameter bound.
func docsByID(ctx context.Context, tx *sql.Tx, ids []string) (map[string]srcDoc, error) {
	out := make(map[string]srcDoc, len(ids))
	args := make([]any, 0, maxParams)
	for lo := 0; lo < len(ids); lo += maxParams {
		hi := min(len(ids), lo+maxParams)
		args = args[:0]
		for _, id := range ids[lo:hi] {
			args = append(args, id)
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, n, source, text FROM docs WHERE id IN (`+
			strings.Repeat("?,", hi-lo-1)+`?)`, args...)
		if err != nil {
			return nil, fmt.Errorf("read documents: %w", err)
		}
		for rows.Next() {
			var id string
			var d srcDoc
			if err := rows.Scan(&id, &d.n, &d.source, &d.text); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read documents: %w", err)
			}
			out[id] = d
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read documents: %w", err)
		}
	}
	return out, nil
}

// PutDocs inserts or replaces documents by id. A document rewritten with
// another text gets its raw links' sentences re-encoded against it; one
// rewritten into another wiki has its links resolved again by Finish; a
// new one takes over the raw links that waited for it.
func (s *Store) PutDocs(ctx context.Context, docs []kg.Doc) error {
	if len(docs) == 0 {
		return nil
	}
	for i, d := range docs {
		if d.ID == "" || d.Title == "" {
			return fmt.Errorf("embedded: put docs: doc %d (%q, %q): empty id or title", i, d.ID, d.Title)
		}
	}
	// Within one call the later of two records with one id wins.
	docs = lastByID(docs)
	cats := make([]string, len(docs))
	facts := make([]string, len(docs))
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
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
		old, err := docsByID(ctx, tx, ids)
		if err != nil {
			return err
		}
		// A document written again unchanged is not rewritten: resuming an
		// ingest then costs reads, not a second copy of the file in the WAL.
		_, err = insertRows(ctx, tx,
			`INSERT INTO docs(id, title, title_fold, url, url_key, name, source, lang, kind, categories, facts,
				date, hash, origin, text)`,
			`ON CONFLICT(id) DO UPDATE SET title = excluded.title, title_fold = excluded.title_fold,
				url = excluded.url, url_key = excluded.url_key, name = excluded.name, source = excluded.source,
				lang = excluded.lang, kind = excluded.kind, categories = excluded.categories,
				facts = excluded.facts, date = excluded.date, hash = excluded.hash, origin = excluded.origin,
				text = excluded.text
			WHERE (docs.title, docs.url, docs.source, docs.lang, docs.kind, docs.categories, docs.facts,
					docs.date, docs.hash, docs.origin, docs.text)
				IS NOT (excluded.title, excluded.url, excluded.source, excluded.lang, excluded.kind,
					excluded.categories, excluded.facts, excluded.date, excluded.hash, excluded.origin, excluded.text)`,
			15, len(docs), func(i int, a []any) []any {
				d := docs[i]
				return append(a, d.ID, d.Title, kg.TitleKey(d.Title), d.URL, kg.URLKey(d.URL), d.Name(), d.Source, d.Lang,
					d.Kind, cats[i], facts[i], d.Date, d.Hash, d.Origin, d.Text)
			})
		if err != nil {
			return err
		}
		var fresh []string
		for _, d := range docs {
			o, ok := old[d.ID]
			switch {
			case !ok:
				fresh = append(fresh, d.ID)
			case o.text != d.Text:
				if err := reencode(ctx, tx, o.n, o.text, d.Text); err != nil {
					return fmt.Errorf("re-encode the sentences of %s: %w", d.ID, err)
				}
			}
			if ok && o.source != d.Source {
				// Which document a link means may depend on its source's wiki.
				if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO dirty(n) VALUES(?)`, o.n); err != nil {
					return fmt.Errorf("mark %s for Finish: %w", d.ID, err)
				}
			}
		}
		return adoptPending(ctx, tx, fresh)
	})
}

// lastByID keeps, of documents with one id, the last, in the order of the
// first.
func lastByID(docs []kg.Doc) []kg.Doc {
	last := make(map[string]int, len(docs))
	for i, d := range docs {
		last[d.ID] = i
	}
	if len(last) == len(docs) {
		return docs
	}
	out := make([]kg.Doc, 0, len(last))
	for _, d := range docs {
		if j := last[d.ID]; j >= 0 {
			out = append(out, docs[j])
			last[d.ID] = -1
		}
	}
	return out
}

// rawRow is one row of raw_links.
type rawRow struct {
	anchor string
	sent   any
	target any
	dst    any
}

// reencode rewrites the sentence references of document n's raw links
// from its old text to its new one, keeping each row's resolution.
func reencode(ctx context.Context, tx *sql.Tx, n int64, oldText, newText string) error {
	rows, err := tx.QueryContext(ctx, `SELECT anchor, sent, target, dst FROM raw_links WHERE src = ?`, n)
	if err != nil {
		return err
	}
	var olds, news []rawRow
	for rows.Next() {
		var r rawRow
		if err := rows.Scan(&r.anchor, &r.sent, &r.target, &r.dst); err != nil {
			rows.Close()
			return err
		}
		for _, v := range []*any{&r.sent, &r.target} {
			if b, ok := (*v).([]byte); ok { // comparable, as sentRef's values are
				*v = string(b)
			}
		}
		sentence, err := sentText(oldText, r.sent)
		if err != nil {
			rows.Close()
			return err
		}
		nr := r
		nr.sent = sentRef(newText, sentence)
		if nr.sent != r.sent {
			olds, news = append(olds, r), append(news, nr)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// All the old keys go before any new one is written: a new key may be
	// another row's old one.
	for _, r := range olds {
		if _, err := tx.ExecContext(ctx, `DELETE FROM raw_links WHERE src = ? AND anchor = ? AND sent = ? AND target = ?`,
			n, r.anchor, r.sent, r.target); err != nil {
			return err
		}
	}
	_, err = insertRows(ctx, tx, `INSERT INTO raw_links(src, anchor, sent, target, dst)`, ``, 5, len(news),
		func(i int, a []any) []any {
			r := news[i]
			return append(a, n, r.anchor, r.sent, r.target, r.dst)
		})
	return err
}

// adoptPending moves the raw links that waited for the given new documents
// into raw_links, for Finish to resolve.
func adoptPending(ctx context.Context, tx *sql.Tx, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	var some int
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM raw_pending)`).Scan(&some); err != nil {
		return fmt.Errorf("look for waiting links: %w", err)
	}
	if some == 0 {
		return nil
	}
	for lo := 0; lo < len(ids); lo += maxParams {
		part := ids[lo:min(len(ids), lo+maxParams)]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		in := `(` + strings.Repeat("?,", len(part)-1) + `?)`
		rows, err := tx.QueryContext(ctx, `SELECT p.anchor, p.sentence, p.target, d.n, d.text
			FROM raw_pending p JOIN docs d ON d.id = p.src WHERE p.src IN `+in, args...)
		if err != nil {
			return fmt.Errorf("read waiting links: %w", err)
		}
		type adopted struct {
			rawRow
			n int64
		}
		var moved []adopted
		srcs := map[int64]bool{}
		for rows.Next() {
			var a adopted
			var sentence, target, text string
			if err := rows.Scan(&a.anchor, &sentence, &target, &a.n, &text); err != nil {
				rows.Close()
				return fmt.Errorf("read waiting links: %w", err)
			}
			a.sent, a.target, a.dst = sentRef(text, sentence), targetRef(a.anchor, target), int64(dstNew)
			moved = append(moved, a)
			srcs[a.n] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read waiting links: %w", err)
		}
		if len(moved) == 0 {
			continue
		}
		if _, err := insertRows(ctx, tx, `INSERT INTO raw_links(src, anchor, sent, target, dst)`, `ON CONFLICT DO NOTHING`,
			5, len(moved), func(i int, a []any) []any {
				m := moved[i]
				return append(a, m.n, m.anchor, m.sent, m.target, m.dst)
			}); err != nil {
			return fmt.Errorf("adopt waiting links: %w", err)
		}
		if err := markDirty(ctx, tx, slices.Sorted(maps.Keys(srcs))); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM raw_pending WHERE src IN `+in, args...); err != nil {
			return fmt.Errorf("drop adopted links: %w", err)
		}
	}
	return nil
}

// markDirty tells Finish that these sources have raw links to resolve.
func markDirty(ctx context.Context, tx *sql.Tx, ns []int64) error {
	if len(ns) == 0 {
		return nil
	}
	_, err := insertRows(ctx, tx, `INSERT INTO dirty(n)`, `ON CONFLICT DO NOTHING`, 1, len(ns),
		func(i int, a []any) []any { return append(a, ns[i]) })
	if err != nil {
		return fmt.Errorf("mark sources for Finish: %w", err)
	}
	return nil
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

// PutRawLinks inserts links; a link already present is left as it is. A
// link whose source is a document is stored by reference to it; one
// whose source is none yet waits in raw_pending.
func (s *Store) PutRawLinks(ctx context.Context, links []kg.RawLink) error {
	if len(links) == 0 {
		return nil
	}
	var ids []string
	seen := map[string]bool{}
	for i, l := range links {
		if l.Src == "" || l.Target == "" {
			return fmt.Errorf("embedded: put raw links: link %d (%q -> %q): empty src or target", i, l.Src, l.Target)
		}
		if !seen[l.Src] {
			seen[l.Src] = true
			ids = append(ids, l.Src)
		}
	}
	return s.write(ctx, fmt.Sprintf("put %d raw links", len(links)), func(tx *sql.Tx) error {
		srcs, err := docsByID(ctx, tx, ids)
		if err != nil {
			return err
		}
		type row struct {
			n      int64
			anchor string
			sent   any
			target any
		}
		var known []row
		var waiting []kg.RawLink
		for _, l := range links {
			d, ok := srcs[l.Src]
			if !ok {
				waiting = append(waiting, l)
				continue
			}
			known = append(known, row{d.n, l.Anchor, sentRef(d.text, l.Sentence), targetRef(l.Anchor, l.Target)})
		}
		// In key order the rows of a dump's batch go to the right edge of
		// the B-tree, which SQLite then fills; in the parser's order they
		// land inside the last pages and split them half empty.
		slices.SortFunc(known, func(a, b row) int {
			if a.n != b.n {
				return cmp.Compare(a.n, b.n)
			}
			if c := strings.Compare(a.anchor, b.anchor); c != 0 {
				return c
			}
			if c := compareSQLite(a.sent, b.sent); c != 0 {
				return c
			}
			return compareSQLite(a.target, b.target)
		})
		changed, err := insertGroups(ctx, tx, `INSERT INTO raw_links(src, anchor, sent, target, dst)`,
			`(?,?,?,?,-2147483648)`, `ON CONFLICT DO NOTHING`, 4, len(known), func(i int, a []any) []any {
				r := known[i]
				return append(a, r.n, r.anchor, r.sent, r.target)
			})
		if err != nil {
			return err
		}
		// Only a statement that added rows makes its sources dirty, so that
		// writing a dump again leaves Finish nothing to do.
		var added int64
		var dirty []int64
		per := insertPer(4)
		for k, c := range changed {
			added += c
			if c == 0 {
				continue
			}
			for _, r := range known[k*per : min(len(known), (k+1)*per)] {
				if len(dirty) == 0 || dirty[len(dirty)-1] != r.n {
					dirty = append(dirty, r.n)
				}
			}
		}
		if err := markDirty(ctx, tx, dirty); err != nil {
			return err
		}
		changed, err = insertRows(ctx, tx, `INSERT INTO raw_pending(src, anchor, sentence, target)`, `ON CONFLICT DO NOTHING`,
			4, len(waiting), func(i int, a []any) []any {
				l := waiting[i]
				return append(a, l.Src, l.Anchor, l.Sentence, l.Target)
			})
		if err != nil {
			return err
		}
		for _, c := range changed {
			added += c
		}
		return addCounter(ctx, tx, "raw_links", added)
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
		_, err := insertRows(ctx, tx, `INSERT INTO redirects(from_title, to_title)`,
			`ON CONFLICT(from_title) DO UPDATE SET to_title = excluded.to_title WHERE to_title <> excluded.to_title`,
			2, len(redirects), func(i int, a []any) []any {
				return append(a, redirects[i].From, redirects[i].To)
			})
		return err
	})
}
