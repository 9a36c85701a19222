// Package neo4j is the knowledge-graph store for data clusters: a Neo4j 5
// database reached over Bolt with neo4j-go-driver/v5. It keeps the same
// documents, links and aliases as kg/embedded and answers the same
// questions, so either backend can serve the later stages.
//
// # Schema
//
//	(:Document {id, title, title_fold, url, url_key, name, source, lang, text, categories, kind, facts,
//	            date, hash, origin})
//	(:Document:WebPage {…})   a document of source "web"
//	(:Document)-[:LINKS_TO {anchor, sentence}]->(:Document)
//	(:RawLinks {src, links, n})
//	(:Redirect {from, to})
//	(:Alias    {key, alias, kind, doc, gen, title})-[:ALIAS_OF]->(:Document)
//	(:Meta     {key, value})
//
// Document holds kg.Doc; title_fold (lower-cased title) and url_key (the
// canonical URL) are the keys of case-insensitive title and URL lookups,
// computed here rather than in Cypher so that they equal the embedded
// store's. categories is a list of strings. facts is a JSON string, the
// document's infobox facts as [{"key": …, "value": …}] ("[]" for none), the
// embedded store's column as it is; a Document written before facts
// existed has no such property and reads as having none, which is why
// adding it left the schema version alone: such a graph is not misread,
// and ingesting again fills it in.
//
// LINKS_TO is a resolved link: one relationship per distinct (src, dst,
// anchor, sentence), never a self link. RawLinks holds the links of one
// source document as ingested, their targets still titles: links is a list
// of JSON arrays [target, anchor, sentence], one per distinct raw link, n
// its length. Raw links stay after resolution, as in the embedded store, so
// that Finish can run again after more input. One node per source rather
// than per raw link because a node is what a write pays for: a page's 25
// raw links cost one node and one index entry instead of 25 nodes and 50
// entries, which made raw links most of a load's time (schema version 1
// had a RawLink node each). JSON elements are never empty and never hold a
// raw control character, so neo4j-admin's list columns carry them exactly.
// Redirect maps a redirect page's title to its target title.
//
// Alias is another name of a document, kind "redirect" (a redirect title
// that reaches the document) or "anchor" (an anchor text of a link to it
// that differs from its title). Aliases are nodes rather than a list
// property so that Neo4j Browser shows them and a title lookup can use an
// index: title is set on redirect aliases only, because anchors are
// unbounded text and Neo4j refuses to index a value beyond a few kB. gen is
// the Finish run that last derived the alias; older ones are removed.
//
// Meta holds the schema version, the Finish generation counter, the number
// of unresolved raw links at the last Finish, and the lock node of Finish's
// link writes.
//
// Keys of Alias are hashes of their identifying fields (see rowKey), again
// so that no unbounded string is indexed. Constraints: UNIQUE Document.id,
// RawLinks.src, Redirect.from, Alias.key, Meta.key, WebPage.url_key; range
// indexes on Document.title, name, title_fold, url, url_key, Alias.title
// and Alias.gen; the
// FULLTEXT index document_fulltext on
// Document title and text (analyzer standard-no-stop-words). Open creates
// them all, and waits until they are online, before any write.
//
// # Writes and resolution
//
// Writes are UNWIND batches in managed transactions (neo4j.ExecuteQuery with
// an explicit database and write routing), which the driver retries on
// transient errors, Workers of them at once. Nodes are MERGEd on their key,
// so loading the same input twice leaves the same graph. Finish mirrors
// kg/embedded: raw links are
// resolved through up to three redirect hops, a title naming several
// documents means the smallest id (of the source's own wiki first), self
// links and unresolved targets are dropped. It pages through raw links by
// source and rewrites one source's LINKS_TO in one transaction, so an
// interrupted Finish leaves every document either resolved or as it was, and
// running it again completes the graph. A Finish holds the lock node Meta
// links_lock for its whole run, so that the runs of two clients that
// overlap — a retrying ingest and its re-run — cannot both replace a
// document's links, while one run's transactions go side by side: links
// grouped by source, aliases by destination, so that no two of them write
// one node's relationships.
//
// A graph can also be loaded in bulk (Import): the embedded store resolves
// it, WriteAdminImport writes it as neo4j-admin files, and the server's own
// neo4j-admin imports them into the stopped database; the result is this
// schema, node for node.
//
// # Search
//
// Search asks the full-text index with every whitespace-separated word of
// the query, Lucene-escaped, ORed, in the title (boost 10) or the text, and
// ranks as the embedded store does: a document titled as the query (case
// aside), then one a redirect of that name leads to, then the rest by
// score, ties by id. Scores are Lucene's BM25, not FTS5's, so beyond the
// first hits the two backends may order differently; the analyser folds
// case but, unlike the embedded store's tokenizer, not diacritics
// ("Ìbàdàn" is not found by "Ibadan"). Snippets are cut here around the
// first query word, since Neo4j has no highlighter.
//
// # Differences
//
// Both stores keep the kg.Store contract; this one uses the room it
// leaves: Search scores and words are Lucene's (above); a write of more
// than a batch commits in several transactions, so a call that fails may
// have written part of its records; the full-text index follows writes at
// once rather than at Finish; and Snapshot is not isolated from concurrent
// writes.
package neo4j

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/miroverse/miroverse/internal/redact"
	"github.com/miroverse/miroverse/kg"

	n4j "github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j/config"
	"golang.org/x/sync/errgroup"
)

// Options configure a connection. Only URI is required.
type Options struct {
	URI      string // e.g. bolt://127.0.0.1:7687 or neo4j://host:7687
	Database string // default "neo4j"
	User     string // default "neo4j"
	Password string
	// NodeBatch is the number of nodes written per transaction (default 5000).
	NodeBatch int
	// RelBatch is the number of links written per transaction, and of raw
	// links read per page by Finish (default 10000).
	RelBatch int
	// Workers is the number of write transactions a call runs at once
	// (default 4): the chunks of one Put call, the pages of Finish. Each
	// worker holds one Bolt connection.
	Workers int
	// MaxRetryTime bounds the driver's retries of a transaction that failed
	// with a transient error or a lost connection (default 30s).
	MaxRetryTime time.Duration
}

// Defaults of Options.
const (
	DefaultDatabase     = "neo4j"
	DefaultUser         = "neo4j"
	DefaultNodeBatch    = 5000
	DefaultRelBatch     = 10000
	DefaultWorkers      = 4
	DefaultMaxRetryTime = 30 * time.Second
)

// Store is a kg.Store in a Neo4j database. It is safe for concurrent use,
// also by several processes: overlapping Finish runs end with the graph one
// run makes. Writes made while Finish runs are resolved by the next Finish.
type Store struct {
	driver n4j.DriverWithContext
	uri    string // for messages: without user info
	opt    Options
	// bookmarks orders this client's statements causally (each reads what
	// the ones before it wrote), as ExecuteQuery's default manager would.
	// It is the store's own so that Import can drop it: bookmarks name
	// transactions of the database as it was, and an imported database
	// starts a new history, in which the server would wait for them
	// forever.
	bmu       sync.Mutex
	bookmarks n4j.BookmarkManager
	// beforeQuery, when set, is called before every statement with what
	// the statement is for. The fault test stops the server from it at a
	// chosen point inside Finish, which no timer could hit reliably.
	beforeQuery func(what string)
}

var _ kg.Store = (*Store)(nil)

// schemaVersion changes when the graph changes shape; Open refuses a
// database written with another one rather than misreading it.
// 2: raw links grouped per source (RawLinks) instead of a RawLink node each.
// 3: Document.name (what links name: kg.Doc.Name), date, hash, origin;
// web pages labelled WebPage, their url_key unique.
const schemaVersion = "3"

// fulltextIndex is the name of the full-text index Search queries.
const fulltextIndex = "document_fulltext"

// schema lists the constraints and indexes; every statement is idempotent.
// Schema statements cannot share a transaction with writes, so each runs on
// its own.
func schema() []string {
	return []string{
		`CREATE CONSTRAINT document_id IF NOT EXISTS FOR (d:Document) REQUIRE d.id IS UNIQUE`,
		`CREATE CONSTRAINT rawlinks_src IF NOT EXISTS FOR (r:RawLinks) REQUIRE r.src IS UNIQUE`,
		`CREATE CONSTRAINT redirect_from IF NOT EXISTS FOR (r:Redirect) REQUIRE r.from IS UNIQUE`,
		`CREATE CONSTRAINT alias_key IF NOT EXISTS FOR (a:Alias) REQUIRE a.key IS UNIQUE`,
		`CREATE CONSTRAINT meta_key IF NOT EXISTS FOR (m:Meta) REQUIRE m.key IS UNIQUE`,
		// A web page is its URL: two documents of one URL key would be one
		// page stored twice. (Wiki documents may share a URL across two
		// dumps of a wiki, so the rule holds for web pages only.)
		`CREATE CONSTRAINT webpage_url_key IF NOT EXISTS FOR (d:WebPage) REQUIRE d.url_key IS UNIQUE`,
		`CREATE INDEX document_title IF NOT EXISTS FOR (d:Document) ON (d.title)`,
		`CREATE INDEX document_name IF NOT EXISTS FOR (d:Document) ON (d.name)`,
		`CREATE INDEX document_title_fold IF NOT EXISTS FOR (d:Document) ON (d.title_fold)`,
		`CREATE INDEX document_url IF NOT EXISTS FOR (d:Document) ON (d.url)`,
		`CREATE INDEX document_url_key IF NOT EXISTS FOR (d:Document) ON (d.url_key)`,
		`CREATE INDEX alias_title IF NOT EXISTS FOR (a:Alias) ON (a.title)`,
		`CREATE INDEX alias_gen IF NOT EXISTS FOR (a:Alias) ON (a.gen)`,
		// No stop words: a title such as "It" or "The Who" must stay
		// searchable, as it is in the embedded store's FTS5 index.
		"CREATE FULLTEXT INDEX " + fulltextIndex + ` IF NOT EXISTS FOR (d:Document) ON EACH [d.title, d.text]
		OPTIONS {indexConfig: {` + "`fulltext.analyzer`" + `: 'standard-no-stop-words'}}`,
	}
}

// indexWait bounds how long Open waits for new indexes to come online.
const indexWait = 5 * time.Minute

// Open connects to the database, checks that it can log in, and creates
// the schema. Errors name the URI and never the password.
func Open(ctx context.Context, opt Options) (*Store, error) {
	if opt.URI == "" {
		return nil, errors.New("neo4j: no URI given (a bolt:// or neo4j:// address, e.g. from NEO4J_URI)")
	}
	shown := redactedURI(opt.URI)
	opt = withDefaults(opt)
	drv, err := n4j.NewDriverWithContext(opt.URI, n4j.BasicAuth(opt.User, opt.Password, ""), func(c *config.Config) {
		c.MaxTransactionRetryTime = opt.MaxRetryTime
		c.SocketConnectTimeout = 10 * time.Second
		c.UserAgent = "miroverse"
	})
	if err != nil {
		// The driver's message may quote the URI as given; say only ours.
		return nil, fmt.Errorf("neo4j %s: invalid URI (want bolt://host:port or neo4j://host:port)", shown)
	}
	s := &Store{driver: drv, uri: shown, opt: opt, bookmarks: n4j.NewBookmarkManager(n4j.BookmarkManagerConfig{})}
	if err := drv.VerifyConnectivity(ctx); err != nil {
		drv.Close(context.WithoutCancel(ctx))
		return nil, s.fail("", err)
	}
	if err := s.init(ctx); err != nil {
		drv.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return s, nil
}

// withDefaults fills in the options left zero.
func withDefaults(opt Options) Options {
	if opt.Database == "" {
		opt.Database = DefaultDatabase
	}
	if opt.User == "" {
		opt.User = DefaultUser
	}
	if opt.NodeBatch <= 0 {
		opt.NodeBatch = DefaultNodeBatch
	}
	if opt.RelBatch <= 0 {
		opt.RelBatch = DefaultRelBatch
	}
	if opt.Workers <= 0 {
		opt.Workers = DefaultWorkers
	}
	if opt.MaxRetryTime <= 0 {
		opt.MaxRetryTime = DefaultMaxRetryTime
	}
	return opt
}

// redactedURI is the URI as messages show it: without user info or query.
func redactedURI(uri string) string { return redact.URL(uri) }

// init creates the schema, waits for it and checks the schema version.
func (s *Store) init(ctx context.Context) error {
	for _, stmt := range schema() {
		if err := s.write(ctx, "create schema", stmt, nil); err != nil {
			return err
		}
	}
	// A MERGE before the uniqueness index is online would scan every node.
	if _, err := s.query(ctx, "wait for indexes", `CALL db.awaitIndexes($seconds)`,
		map[string]any{"seconds": int64(indexWait / time.Second)}, n4j.Read, nil, nil); err != nil {
		return err
	}
	var version string
	err := s.writeRows(ctx, "check schema version", `
		MERGE (m:Meta {key: 'schema_version'})
		ON CREATE SET m.value = $version
		RETURN m.value`, map[string]any{"version": schemaVersion},
		func() { version = "" },
		func(r *n4j.Record) error {
			version, _ = r.Values[0].(string)
			return nil
		})
	if err != nil {
		return err
	}
	if version != schemaVersion {
		return fmt.Errorf("neo4j %s: database %s has miroverse schema version %q, this build reads %q: "+
			"empty it (MATCH (n) DETACH DELETE n) and ingest again", s.uri, s.opt.Database, version, schemaVersion)
	}
	return nil
}

// Close closes the driver and its connections.
func (s *Store) Close() error {
	if err := s.driver.Close(context.Background()); err != nil {
		return fmt.Errorf("neo4j %s: close: %w", s.uri, err)
	}
	return nil
}

// query runs one statement in a managed transaction, which the driver
// retries on transient errors. start is called before every attempt, so
// that state built by row from an abandoned attempt can be reset; row is
// called for every record. Both may be nil.
func (s *Store) query(ctx context.Context, what, cypher string, params map[string]any, mode n4j.RoutingControl,
	start func(), row func(*n4j.Record) error) (n4j.ResultSummary, error) {
	if s.beforeQuery != nil {
		s.beforeQuery(what)
	}
	routing := n4j.ExecuteQueryWithReadersRouting()
	if mode == n4j.Write {
		routing = n4j.ExecuteQueryWithWritersRouting()
	}
	res, err := n4j.ExecuteQuery(ctx, s.driver, cypher, params,
		func() n4j.ResultTransformer[n4j.ResultSummary] {
			if start != nil {
				start()
			}
			return &rowSink{row: row}
		},
		n4j.ExecuteQueryWithDatabase(s.opt.Database), routing, n4j.ExecuteQueryWithBookmarkManager(s.bookmarkManager()))
	if err != nil {
		return nil, s.fail(what, err)
	}
	return res, nil
}

// bookmarkManager is the store's current bookmark manager.
func (s *Store) bookmarkManager() n4j.BookmarkManager {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	return s.bookmarks
}

// forgetBookmarks starts a new causal chain, after the database was
// replaced.
func (s *Store) forgetBookmarks() {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	s.bookmarks = n4j.NewBookmarkManager(n4j.BookmarkManagerConfig{})
}

// write runs a statement that returns nothing of interest.
func (s *Store) write(ctx context.Context, what, cypher string, params map[string]any) error {
	_, err := s.query(ctx, what, cypher, params, n4j.Write, nil, nil)
	return err
}

// writeRows runs a writing statement and reads its records.
func (s *Store) writeRows(ctx context.Context, what, cypher string, params map[string]any,
	start func(), row func(*n4j.Record) error) error {
	_, err := s.query(ctx, what, cypher, params, n4j.Write, start, row)
	return err
}

// read runs a read-only statement.
func (s *Store) read(ctx context.Context, what, cypher string, params map[string]any,
	start func(), row func(*n4j.Record) error) error {
	_, err := s.query(ctx, what, cypher, params, n4j.Read, start, row)
	return err
}

// rowSink streams records to a callback instead of keeping them, which
// matters for snapshots of millions of links.
type rowSink struct {
	row func(*n4j.Record) error
}

func (r *rowSink) Accept(rec *n4j.Record) error {
	if r.row == nil {
		return nil
	}
	return r.row(rec)
}

func (r *rowSink) Complete(_ []string, summary n4j.ResultSummary) (n4j.ResultSummary, error) {
	return summary, nil
}

// fail turns a driver error into one message naming the URI and what was
// being done. Failures to log in, find the database or reach the server
// get a plain sentence, because the driver's own text for them is long
// and, after retries, buried in a TransactionExecutionLimit. Login and
// database errors omit the operation: they are about the configuration,
// whatever was tried.
func (s *Store) fail(what string, err error) error {
	prefix := "neo4j " + s.uri
	if what != "" {
		prefix += ": " + what
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	cause, retried := err, ""
	var limit *n4j.TransactionExecutionLimit
	if errors.As(err, &limit) && len(limit.Errors) > 0 {
		cause = limit.Errors[len(limit.Errors)-1]
		retried = fmt.Sprintf(" (gave up after retrying for %v)", s.opt.MaxRetryTime)
	}
	var ne *n4j.Neo4jError
	var ce *n4j.ConnectivityError
	var msg string
	switch {
	case errors.As(cause, &ne) && ne.Code == "Neo.ClientError.Security.Unauthorized":
		return &Error{URI: s.uri, Msg: "authentication failed for user " + s.opt.User, Err: err}
	case errors.As(cause, &ne) && ne.Code == "Neo.ClientError.Database.DatabaseNotFound":
		return &Error{URI: s.uri, Msg: "database " + s.opt.Database + " does not exist", Err: err}
	case errors.As(cause, &ne) && ne.Code == "Neo.TransientError.General.DatabaseUnavailable":
		msg = "database " + s.opt.Database + " is unavailable (the server is starting or stopping)"
	case errors.As(cause, &ce):
		msg = "cannot connect"
		if ce.Inner != nil {
			msg += ": " + ce.Inner.Error()
		}
	default:
		return fmt.Errorf("%s: %w", prefix, err)
	}
	if what != "" {
		msg = what + ": " + msg
	}
	return &Error{URI: s.uri, Msg: msg + retried, Err: err}
}

// Error is a failure to reach or log in to the server, with a message a
// user can act on. Err is the driver's error.
type Error struct {
	URI string
	Msg string
	Err error
}

func (e *Error) Error() string { return "neo4j " + e.URI + ": " + e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// rowKey identifies a node by fields that may be long (sentences, anchor
// texts): the first 128 bits of a SHA-256 over the length-prefixed fields,
// so that no field's content can imitate a boundary between fields.
func rowKey(fields ...string) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, f := range fields {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// chunks calls fn with consecutive slices of at most n of items.
func chunks[T any](items []T, n int, fn func([]T) error) error {
	for lo := 0; lo < len(items); lo += n {
		if err := fn(items[lo:min(len(items), lo+n)]); err != nil {
			return err
		}
	}
	return nil
}

// minParallelChunk is the smallest chunk parallelChunks cuts a call into:
// below it a transaction's fixed cost (a round trip, a commit) outweighs
// what a second worker saves.
const minParallelChunk = 500

// parallelChunks calls fn with consecutive slices of items, up to workers
// at a time, and returns the first error; the calls still running then see
// their context cancelled. A slice holds at most n items, and fewer when
// that gives every worker one: an ingest flush is often a single batch,
// which would otherwise keep one worker busy and the server's other cores
// idle. The caller makes the slices independent (distinct keys), so that
// concurrent transactions do not wait on each other's locks.
func parallelChunks[T any](ctx context.Context, workers int, items []T, n int, fn func(context.Context, []T) error) error {
	if len(items) == 0 {
		return nil
	}
	size := min(n, max((len(items)+workers-1)/workers, minParallelChunk))
	if size >= len(items) || workers <= 1 {
		return chunks(items, size, func(b []T) error { return fn(ctx, b) })
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for lo := 0; lo < len(items); lo += size {
		b := items[lo:min(len(items), lo+size)]
		g.Go(func() error { return fn(gctx, b) })
	}
	return g.Wait()
}
