package wiki

import (
	"context"
	"errors"
	"io"
	"runtime"
	"sync"

	"github.com/miroverse/miroverse/kg"
)

// IsArticle reports whether Parse applies to p: namespace 0, not a
// redirect.
func IsArticle(p Page) bool { return p.NS == nsMain && p.Redirect == "" }

// ParseAll reads every page of r and hands each to fn in the order of the
// dump, with the document and links Parser.Parse makes of it when it is an
// article (see IsArticle; for other pages doc.ID is ""). Parsing runs on
// workers goroutines (GOMAXPROCS when workers < 1), next to r's own
// decoding; fn runs on the calling goroutine, one page at a time.
//
// A *PageError or *StreamError comes to fn as err, with a zero Page, and
// reading goes on. A non-nil return from fn stops ParseAll, which returns
// it. Otherwise ParseAll returns nil after the last page, or r's final
// error (one wrapping io.ErrUnexpectedEOF for a truncated dump) after the
// pages before it.
//
// At most 4×workers pages are in flight between reading and fn, which
// bounds its memory beyond the reader's budget by that many pages.
func ParseAll(ctx context.Context, r *Reader, workers int, fn func(p Page, doc kg.Doc, links []kg.RawLink, err error) error) error {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	parser := NewParser(r.SiteInfo())

	type item struct {
		page  Page
		err   error
		doc   kg.Doc
		links []kg.RawLink
		done  chan struct{} // closed once parsed; nil for pages not parsed
	}
	order := make(chan *item, 4*workers)
	work := make(chan *item, 4*workers)
	var wg sync.WaitGroup
	wg.Add(1 + workers)
	go func() {
		defer wg.Done()
		defer close(order)
		defer close(work)
		for {
			p, err := r.Next(ctx)
			if errors.Is(err, io.EOF) {
				return
			}
			it := &item{page: p, err: err}
			if err == nil && IsArticle(p) {
				it.done = make(chan struct{})
			}
			select {
			case order <- it:
			case <-ctx.Done():
				return
			}
			if it.done != nil {
				select {
				case work <- it:
				case <-ctx.Done():
					return
				}
			}
			if err != nil && !Recoverable(err) || isCtxErr(err) {
				return
			}
		}
	}()
	for range workers {
		go func() {
			defer wg.Done()
			for it := range work {
				it.doc, it.links = parser.Parse(it.page)
				close(it.done)
			}
		}()
	}
	defer func() {
		// Stop the reading goroutine, which may wait to hand over a page.
		cancel()
		wg.Wait()
	}()
	for it := range order {
		if it.done != nil {
			select {
			case <-it.done:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if it.err != nil && (!Recoverable(it.err) || isCtxErr(it.err)) {
			return it.err
		}
		if err := fn(it.page, it.doc, it.links, it.err); err != nil {
			return err
		}
	}
	return ctx.Err()
}
