package wiki

import (
	"errors"

	"github.com/miroverse/miroverse/kg"
)

// Why a page that was read is no document of the graph.
const (
	SkipNamespace   = "namespace"         // outside the article namespace
	SkipRedirect    = "redirect"          // a redirect: it becomes an alias of its target
	SkipDuplicateID = "duplicate_page_id" // an id an earlier page of the dump has: the first is kept
)

// Pages sorts the pages of one dump, handed over in dump order as ParseAll
// does, into what a graph holds: the documents and links of articles, and
// redirects. It remembers the page ids it has seen in a bitset whose size
// follows the largest id (about 10 MB for English Wikipedia's), not the
// number of pages.
type Pages struct{ seen pageSet }

// Entry is what one page becomes.
type Entry struct {
	// Skip is "" for an article (Doc and Links are set), else why the page
	// is no document: SkipNamespace, SkipDuplicateID, or SkipRedirect with
	// Redirect set.
	Skip     string
	Doc      kg.Doc
	Links    []kg.RawLink
	Redirect kg.Redirect
}

// Sort says what page p, with the document and links ParseAll made of it,
// becomes. The duplicate check comes first, so that a repeated id never
// adds a redirect either.
func (s *Pages) Sort(p Page, doc kg.Doc, links []kg.RawLink) Entry {
	switch {
	case !s.seen.add(p.ID):
		return Entry{Skip: SkipDuplicateID}
	case p.NS != nsMain:
		return Entry{Skip: SkipNamespace}
	case p.Redirect != "":
		return Entry{Skip: SkipRedirect, Redirect: kg.Redirect{From: NormalizeTitle(p.Title), To: NormalizeTitle(p.Redirect)}}
	}
	return Entry{Doc: doc, Links: links}
}

// ErrorReason names the reason of an error ParseAll hands over with a page
// (a *PageError or *StreamError), as counted by ingest.
func ErrorReason(err error) string {
	var pe *PageError
	var se *StreamError
	switch {
	case errors.As(err, &pe) && pe.Reason != "":
		return pe.Reason
	case errors.As(err, &pe):
		return "malformed_page"
	case errors.As(err, &se):
		return ReasonCorruptStream
	}
	return "bad_input"
}

// pageSet is a set of page ids.
type pageSet struct{ bits []uint64 }

// add reports whether id is new.
func (s *pageSet) add(id int64) bool {
	if id < 0 {
		return true
	}
	w := int(id >> 6)
	if w >= len(s.bits) {
		s.bits = append(s.bits, make([]uint64, w+1-len(s.bits)+len(s.bits)/4)...)
	}
	m := uint64(1) << (uint(id) & 63)
	if s.bits[w]&m != 0 {
		return false
	}
	s.bits[w] |= m
	return true
}
