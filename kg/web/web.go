// Package web reads web pages into the document/link model: WARC files
// (1.0, 1.1 and 0.18, plain or gzip), directories of HTML files and JSONL
// files of {"url", "title", "html" | "text", "date"} objects. A page's main
// text is found by go-trafilatura; its links are the <a href> elements of
// that main text, each with its anchor and the sentence it sits in.
//
// A web page is named by its URL (kg.Doc.Name), so links between pages,
// 3xx responses and canonical URLs (both written as kg.Redirects) resolve
// in the store like wiki links and redirects do, and a link to a Wikipedia
// article of an ingested wiki becomes a link to its title.
package web

import (
	"context"
	"errors"
	"fmt"

	"github.com/miroverse/miroverse/internal/minhash"
	"github.com/miroverse/miroverse/kg"
)

// Options steer reading and extraction.
type Options struct {
	// MaxPageBytes bounds a payload; a larger one is skipped (ReasonTooLarge)
	// without being held. 0 means DefaultMaxPageBytes.
	MaxPageBytes int64
	// Workers extract pages in parallel; < 1 means one.
	Workers int
	// WikiHosts are the hosts ("en.wikipedia.org") of the wikis ingested
	// beside the web pages: a link to HOST/wiki/Title on one of them (or
	// its mobile host) names that title, so the mixed graph is connected.
	WikiHosts []string
	// Filters are the quality rules a page must pass to be kept.
	Filters Filters
}

// DefaultMaxPageBytes is the payload bound when Options leave it at zero.
const DefaultMaxPageBytes = 32 << 20

// Page is what one record of an input became: a document with its links
// and redirects, redirects alone (a 3xx response), or nothing, with the
// reason. Redirects are URLs that lead to another (a 3xx response's
// Location, a page's canonical URL), both as kg.URLKeys.
type Page struct {
	// Offset is where the record starts in the input: a byte offset in a
	// WARC file (of its gzip member when compressed), the line number of a
	// JSONL record, 0 for an HTML file.
	Offset int64
	// Type is the WARC record type ("response", "resource", ...), "html" or
	// "jsonl".
	Type      string
	Doc       *DocRecord
	Redirects []kg.Redirect
	// Skip says why the record made no document; "" when Doc is set.
	Skip string
	// Err is set for a bad record (Skip is then its reason): a *RecordError
	// naming the file and the place.
	Err error
	// Notes are defects of a kept record ("invalid_date", "wrapped_uri").
	Notes []string
}

// DocRecord is a page's document and raw links, with what deduplication
// and the quality report need.
type DocRecord struct {
	Doc     kg.Doc
	Links   []kg.RawLink
	Quality Quality
	// Sig is the text's MinHash signature (minhash.Sign), made on the
	// extraction workers for Dedup; NoSig when the text has no words.
	Sig   minhash.Signature
	NoSig bool
}

// Reasons a record makes no document. Filter rejections are "filter:" and
// the rule's name; duplicates are decided later (see Dedup).
const (
	ReasonRevisit       = "revisit"
	ReasonRequest       = "request"
	ReasonMetadata      = "metadata"
	ReasonWarcinfo      = "warcinfo"
	ReasonOtherRecord   = "other_record"
	ReasonRedirect      = "redirect"
	ReasonHTTPStatus    = "http_status"
	ReasonNotHTML       = "not_html"
	ReasonNoURL         = "no_url"
	ReasonTooLarge      = "too_large"
	ReasonBinary        = "binary"
	ReasonUndecodable   = "undecodable"
	ReasonNoMainText    = "no_main_text"
	ReasonBadRecord     = "bad_record"
	ReasonContentLength = "content_length"
	ReasonBadJSON       = "bad_json"
	NoteInvalidDate     = "invalid_date"
	NoteWrappedURI      = "wrapped_uri"
	NoteInvalidUTF8     = "invalid_utf8"
)

// RecordError is a bad record: the file, the place in it and what is wrong.
type RecordError struct {
	File   string
	Offset int64 // byte offset, or line for JSONL
	Line   bool  // Offset is a line number
	Reason string
	Err    error
}

func (e *RecordError) Error() string {
	at := fmt.Sprintf("byte offset %d", e.Offset)
	if e.Line {
		at = fmt.Sprintf("line %d", e.Offset)
	}
	return fmt.Sprintf("%s: %s: %s: %v", e.File, at, e.Reason, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// ErrorReason is the reason of a bad record's error, "" for another error.
func ErrorReason(err error) string {
	var re *RecordError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ""
}

// Read reads the web input at path (a WARC file, an HTML directory or a
// JSONL file, see Detect) and calls fn with each record's Page in input
// order. Extraction runs on opt.Workers goroutines. A bad record is a Page
// with Err set and never stops the read; an input that ends early (a gzip
// member or record cut short) ends the read with an error that wraps
// io.ErrUnexpectedEOF after every record before the break was passed on.
// An error of fn stops the read and is returned.
func Read(ctx context.Context, path string, opt Options, fn func(Page) error) error {
	kind, err := Detect(path)
	if err != nil {
		return err
	}
	x := newExtractor(opt)
	switch kind {
	case KindWARC:
		return readWARC(ctx, path, x, fn)
	case KindHTMLDir:
		return readHTMLDir(ctx, path, x, fn)
	case KindJSONL:
		return readJSONL(ctx, path, x, fn)
	}
	return fmt.Errorf("%s: not a web input", path)
}
