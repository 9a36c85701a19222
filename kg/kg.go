// Package kg holds the knowledge-graph model every stage reads: documents,
// the hyperlinks between them and the aliases that name them, together with
// the Store interface its backends implement.
package kg

import (
	"context"
	"errors"
)

// Doc is one article of the corpus. Its ID is stable across runs: it is
// derived from the source (dump name) and the page id, never from ingest order.
type Doc struct {
	ID         string
	Title      string
	URL        string
	Source     string // e.g. "enwiki", "demowiki": the dump's database name
	Lang       string
	Text       string   // clean, markdown-ish text
	Categories []string // without the "Category:" prefix
	// Kind is "article", "disambiguation" or "list". Only articles are walkable.
	Kind string
	// Facts are the parameters of the page's infoboxes (and taxoboxes) in
	// source order, one per key: the structured statements questions are
	// built from. Nil when the page has none.
	Facts []Fact
}

// Fact is one infobox parameter: Key is the parameter name lower-cased
// with spaces and underscores as one "_" ("birth_date"), Value its clean
// text (links as their text, lines joined with "; "). The JSON form is the
// one the stores keep: {"key": …, "value": …}.
type Fact struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Walkable reports whether random walks may pass through d.
func (d Doc) Walkable() bool { return d.Kind == "" || d.Kind == KindArticle }

// Document kinds.
const (
	KindArticle        = "article"
	KindDisambiguation = "disambiguation"
	KindList           = "list"
)

// RawLink is a hyperlink as the reader sees it: its target is still a title,
// which may be a redirect or name no document at all.
type RawLink struct {
	Src      string // doc id
	Target   string // normalised title (first letter upper-cased, fragment dropped)
	Anchor   string
	Sentence string // the sentence of Src's clean text that holds the anchor
}

// Link is a RawLink whose target was resolved (through redirects) to a document.
type Link struct {
	Src      string
	Dst      string
	Anchor   string
	Sentence string
}

// Redirect maps a redirect page's title to its target title.
type Redirect struct {
	From string
	To   string
}

// Alias is another name of a document: a redirect title or an anchor text.
type Alias struct {
	DocID string
	Alias string
	Kind  string // "redirect" or "anchor"
}

// SearchHit is one result of a full-text query over titles and text.
type SearchHit struct {
	DocID   string
	Title   string
	URL     string
	Snippet string
	Score   float64 // higher is better
}

// Counts summarises a store's content.
type Counts struct {
	Docs     int64
	Links    int64
	Aliases  int64
	RawLinks int64
	// Unresolved counts raw links whose target names no document.
	Unresolved int64
}

// ErrNotFound is returned when a document lookup finds nothing.
var ErrNotFound = errors.New("not found")

// Writer receives ingested records. Writes are idempotent by key, so
// ingesting the same input twice leaves the same store.
type Writer interface {
	PutDocs(ctx context.Context, docs []Doc) error
	PutRawLinks(ctx context.Context, links []RawLink) error
	PutRedirects(ctx context.Context, redirects []Redirect) error
	// Finish resolves raw links and redirects into links and aliases, and
	// builds the search index. It may be called again after more writes.
	Finish(ctx context.Context) error
}

// Reader serves the later stages.
type Reader interface {
	Doc(ctx context.Context, id string) (Doc, error)
	// DocByTitle finds a document by its title or any alias of it.
	DocByTitle(ctx context.Context, title string) (Doc, error)
	DocByURL(ctx context.Context, url string) (Doc, error)
	Aliases(ctx context.Context, docID string) ([]Alias, error)
	Search(ctx context.Context, query string, limit int) ([]SearchHit, error)
	// Snapshot reads the whole link graph into memory for walks.
	Snapshot(ctx context.Context) (*Graph, error)
	Counts(ctx context.Context) (Counts, error)
}

// Store is a knowledge-graph backend.
type Store interface {
	Writer
	Reader
	Close() error
}
