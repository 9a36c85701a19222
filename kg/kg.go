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
	// Date is when the page was fetched (a web page's WARC-Date), RFC 3339
	// in UTC; empty when unknown.
	Date string
	// Hash identifies the text: "sha256:" and the hex digest of Text, for
	// web pages (deduplication keys on it); empty for wiki articles.
	Hash string
	// Origin is where the record was read: the input file's base name and
	// the byte offset of the record in it ("crawl.warc.gz@1234"), or a file
	// name for HTML files and "file.jsonl:LINE" for JSONL.
	Origin string
}

// SourceWeb is the Source of every web page. Web pages are named by their
// URL, not their title: see Name.
const SourceWeb = "web"

// Name is what a raw link's Target must be to mean d: a wiki article's
// title, a web page's URLKey. Page titles on the web are neither unique
// nor chosen to be linked by ("Home", "About us"), so they take no part in
// resolution; a web page is reached by its URL, the 3xx and canonical URLs
// that redirect to it, or not at all.
func (d Doc) Name() string {
	if d.Source == SourceWeb {
		return URLKey(d.URL)
	}
	return d.Title
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
	Src string // doc id
	// Target is the Name of the document meant, or a redirect's From:
	// a normalised title (first letter upper-cased, fragment dropped), or
	// for a link to a web page its URLKey.
	Target   string
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

// Redirect maps a redirect page's title to its target title, or for the
// web a URL (a 3xx response, a page's other URL than its canonical one)
// to the URL it leads to, both as URLKeys.
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

// Counts summarises a store's content; each record is counted once by its
// key.
type Counts struct {
	Docs     int64
	Links    int64 // by (Src, Dst, Anchor, Sentence)
	Aliases  int64 // by (DocID, Alias, Kind)
	RawLinks int64
	// Unresolved counts raw links whose target names no document.
	Unresolved int64
}

// ErrNotFound is the error, wrapped, of a lookup (Doc, DocByTitle,
// DocByURL) that finds no document; test for it with errors.Is. Any other
// error means the store could not answer.
var ErrNotFound = errors.New("not found")

// Writer receives ingested records.
//
// Writes are idempotent by key: a document's key is its ID, a raw link's
// all four of its fields, a redirect's From. A record written again
// replaces the one with its key (documents, redirects) or is dropped (raw
// links); within one call the later of two records with one key wins. So
// ingesting the same input twice, or again after an interruption, leaves
// the same store, and the order of the records and of the calls matters
// only between records with one key.
//
// A call with an invalid record (a document without ID or Title, a raw
// link without Src or Target, a redirect without From or To) fails before
// it writes anything. A call that fails otherwise may have written some of
// its records; writing them again is safe. A call without records does
// nothing.
//
// A write shows at once in what reads the records themselves: Doc,
// DocByURL, DocByTitle by a document's own title, Counts.Docs,
// Counts.RawLinks and the nodes of Snapshot. Links and aliases, and with
// them the edges of Snapshot, lookups through redirects and the other
// Counts, stay as the last Finish left them. The search index is current
// after Finish; a backend may index sooner.
type Writer interface {
	// PutDocs writes documents, replacing any with the same ID.
	PutDocs(ctx context.Context, docs []Doc) error
	// PutRawLinks writes raw links; one already held is left as it is.
	PutRawLinks(ctx context.Context, links []RawLink) error
	// PutRedirects writes redirects, replacing any with the same From.
	PutRedirects(ctx context.Context, redirects []Redirect) error
	// Finish derives links and aliases from the records held and rebuilds
	// the search index:
	//
	//   - A raw link becomes a link when its Src is a document and its
	//     Target names one: a document's Name (its title, or a web page's
	//     URLKey), or a redirect that reaches one in at most three hops,
	//     stopping at the first name that is a document's (so a document
	//     shadows a redirect of its name). Of several documents with that
	//     name it means the smallest ID among those of the link's own
	//     Source, else the smallest of all.
	//   - Self links are dropped, and raw links that resolve to one (Src,
	//     Dst, Anchor, Sentence) make one link.
	//   - A redirect title that reaches a document and is no document's
	//     name is a "redirect" alias of the smallest ID with the reached
	//     name; a link's non-empty Anchor that differs from its
	//     destination's name is an "anchor" alias of the destination.
	//   - Counts.Unresolved becomes the number of raw links whose Target
	//     reaches no document, whatever their Src.
	//
	// The result depends only on the records held: Finish again without
	// writes changes nothing, and Finish after more writes leaves what one
	// Finish over all the records would, dropping links and aliases that no
	// longer hold. A Finish that fails or is interrupted may leave the
	// derived data partly old and partly new; the next Finish completes it.
	Finish(ctx context.Context) error
}

// Reader serves the later stages. Its answers follow from the records held
// and the last Finish alone, so every backend gives the same ones, in the
// same order, ties included; the exceptions, all of Search, are named
// there.
type Reader interface {
	// Doc returns the document with the given ID as last written, with nil
	// Categories and Facts when it has none, or ErrNotFound.
	Doc(ctx context.Context, id string) (Doc, error)
	// DocByTitle finds a document by, in turn, its exact title, a redirect
	// alias of it, and its title ignoring case; each step with the title
	// as given and then normalised by NormalizeTitle ("foo_bar" is "Foo
	// bar"). The first step that matches decides, and of several documents
	// it matches the smallest ID. ErrNotFound when none does.
	DocByTitle(ctx context.Context, title string) (Doc, error)
	// DocByURL finds a document by its URL as written, else by the same
	// URL spelled otherwise (percent-escaped or not, spaces for
	// underscores, http, the mobile host, a #fragment; see CanonicalURL),
	// else by a redirect from the URL's URLKey (a web page's 3xx, canonical
	// or duplicate URL), as links resolve. Of several documents the
	// smallest ID. ErrNotFound when none.
	DocByURL(ctx context.Context, url string) (Doc, error)
	// Aliases lists a document's aliases, kind "redirect" first and then
	// "anchor", each kind sorted by Alias byte-wise. An ID without aliases,
	// or no document's, has none: an empty list and no error.
	Aliases(ctx context.Context, docID string) ([]Alias, error)
	// Search returns at most limit documents that match a word of query in
	// their title or text, best first: a document whose title is the query
	// (case, spacing and underscores aside), then documents a redirect of
	// that name leads to, then the rest; within each by Score, higher
	// first, and equal scores by DocID. The title steps only reorder
	// matches, they add no document. The query is free text: no character
	// is syntax and no query is an error; one without words, or a limit
	// below 1, finds nothing. A hit carries the document's Title and URL
	// and a Snippet of its text, around a query word when the text has
	// one. Documents written since the last Finish may be found or not,
	// by their new text or their old.
	//
	// Scores are the backend's BM25 with the title weighted ten times the
	// text, so their values, and the order of unequal ones, may differ
	// between backends; so may what a word is (the embedded store's words
	// are those of SQLite's unicode61 tokenizer with diacritics folded, and
	// a query word it cuts in pieces, as at a Devanagari vowel sign, counts
	// as each piece; Neo4j's analyser does not fold).
	Search(ctx context.Context, query string, limit int) ([]SearchHit, error)
	// Snapshot reads the whole link graph into memory for walks: what
	// BuildGraph makes of every document (Walkable as Doc.Walkable says)
	// and every link, so one edge per linked pair, Evident by the smallest
	// (Anchor, Sentence) of its links, which Link returns. It is
	// consistent only while nothing writes.
	Snapshot(ctx context.Context) (*Graph, error)
	// Link returns the evidence of Snapshot's edge src→dst: of the links
	// from src to dst, the one with the smallest (Anchor, Sentence),
	// byte-wise. ErrNotFound when there is none.
	Link(ctx context.Context, src, dst string) (Link, error)
	// Counts counts what the store holds: Docs and RawLinks the records
	// written, Links, Aliases and Unresolved what the last Finish derived
	// (0 before the first).
	Counts(ctx context.Context) (Counts, error)
}

// Store is a knowledge-graph backend. All its methods may be called
// concurrently, writes included: concurrent writes are all kept,
// concurrent Finish calls end as one Finish does, and writes made while
// Finish runs are resolved by it or by the next Finish. A read concurrent
// with a write may see part of it. A method that has to reach the store
// fails, when its context is done, with an error that wraps the context's.
type Store interface {
	Writer
	Reader
	// Close releases the store; no method may be called after it.
	Close() error
}
