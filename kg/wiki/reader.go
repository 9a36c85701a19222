// Package wiki reads MediaWiki XML dumps and turns wikitext into the clean
// text and links of the knowledge graph.
//
// The reader never loads a dump whole: a goroutine decompresses (bzip2,
// multistream bzip2 in parallel, gzip or plain, detected from the content)
// and transcodes UTF-16 to UTF-8, and Next cuts the stream at <page> …
// </page> and decodes each page with its own encoding/xml decoder. Cutting
// first means a malformed page costs only that page: the next call goes on
// with the page after it.
package wiki

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Page is one <page> of a dump, with the text of its last revision.
type Page struct {
	ID    int64
	NS    int
	Title string
	// Redirect is the target title of a redirect page, "" for other pages.
	Redirect string
	Text     string // raw wikitext
	// Offset is the byte offset of <page> in the decompressed UTF-8 XML.
	Offset int64
}

// SiteInfo is the dump's <siteinfo>, with fallbacks for dumps without one.
type SiteInfo struct {
	DBName string // e.g. "enwiki"
	Base   string // URL of the main page, "" when unknown
	Lang   string // from <mediawiki xml:lang>, "en" when absent
	// Namespaces maps namespace keys to their local names ("" for articles).
	Namespaces map[int]string
}

// PageError reports a page that could not be decoded. The reader has
// already moved past it, so the caller may count it and go on.
type PageError struct {
	File   string
	Title  string // "" when not known
	ID     int64  // 0 when not known
	Offset int64  // of <page> in the decompressed XML
	Err    error
}

func (e *PageError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wiki: %s: page", e.File)
	if e.Title != "" {
		fmt.Fprintf(&b, " %q", e.Title)
	}
	if e.ID != 0 {
		fmt.Fprintf(&b, " (id %d)", e.ID)
	}
	fmt.Fprintf(&b, " at offset %d: %v", e.Offset, e.Err)
	return b.String()
}

func (e *PageError) Unwrap() error { return e.Err }

// Limits that keep a corrupt or hostile file from taking all memory.
const (
	maxHeaderBytes = 64 << 20
	maxPageBytes   = 256 << 20
)

const (
	pageOpen     = "<page>"
	pageClose    = "</page>"
	mediawikiEnd = "</mediawiki>"
)

// Reader streams the pages of one dump file. It is not safe for concurrent
// use.
type Reader struct {
	name string
	f    *os.File
	pipe *pipeline

	mem []byte // backing array of buf
	buf []byte // decoded bytes not yet consumed
	off int64  // offset of buf[0] in the decoded stream
	eof bool   // the pipeline has delivered everything
	err error  // sticky: io.EOF or a fatal error
	// sawEnd records that </mediawiki> went by, which tells a complete
	// dump from a truncated one.
	sawEnd bool

	site SiteInfo
}

// Open opens a dump and reads its header. See OpenContext.
func Open(path string) (*Reader, error) {
	return OpenContext(context.Background(), path)
}

// OpenContext opens a dump and reads its header up to the first page, so
// SiteInfo is ready when it returns. Compression and text encoding come
// from the content, not the file name.
func OpenContext(ctx context.Context, path string) (*Reader, error) {
	return open(ctx, path, runtime.GOMAXPROCS(0))
}

// open is OpenContext with a given number of bzip2 decoding workers.
func open(ctx context.Context, path string, workers int) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wiki: open dump: %w", err)
	}
	name := filepath.Base(path)
	pipe, err := startPipeline(f, workers)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("wiki: %s: %w", name, err)
	}
	r := &Reader{name: name, f: f, pipe: pipe}
	if err := r.readHeader(ctx); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// SiteInfo describes the wiki the dump comes from.
func (r *Reader) SiteInfo() SiteInfo { return r.site }

// Close stops decoding and closes the file.
func (r *Reader) Close() error {
	if r.pipe == nil {
		return nil
	}
	err := r.f.Close()
	r.pipe.close()
	r.pipe = nil
	if err != nil {
		return fmt.Errorf("wiki: close %s: %w", r.name, err)
	}
	return nil
}

// Next returns the next page. It returns io.EOF after the last one, a
// *PageError for a page that is malformed (the next call goes on after it),
// and otherwise a fatal error, such as a truncated dump (wrapping
// io.ErrUnexpectedEOF), that every later call repeats.
func (r *Reader) Next(ctx context.Context) (Page, error) {
	if r.err != nil {
		return Page{}, r.err
	}
	if r.pipe == nil {
		return Page{}, fmt.Errorf("wiki: %s: reader closed", r.name)
	}
	found, err := r.seekPage(ctx)
	if err != nil {
		return Page{}, err
	}
	if !found {
		if r.sawEnd {
			r.err = io.EOF
		} else {
			r.err = fmt.Errorf("wiki: %s: dump ends at offset %d without </mediawiki>: %w",
				r.name, r.off, io.ErrUnexpectedEOF)
		}
		return Page{}, r.err
	}
	offset := r.off
	end, err := r.index(ctx, pageClose, len(pageOpen), maxPageBytes)
	if err != nil {
		return Page{}, err
	}
	if end < 0 {
		if len(r.buf) >= maxPageBytes {
			perr := r.pageError(r.buf, offset, fmt.Errorf("page longer than %d bytes", maxPageBytes))
			r.consume(len(pageOpen))
			return Page{}, perr
		}
		p, _ := decodePage(r.buf)
		r.err = fmt.Errorf("wiki: %s: dump truncated in page %s at offset %d: %w",
			r.name, describe(p), offset, io.ErrUnexpectedEOF)
		r.consume(len(r.buf))
		return Page{}, r.err
	}
	// A <page> before </page> means this page was cut short; keep the
	// following one intact.
	if k := bytes.Index(r.buf[len(pageOpen):end], []byte(pageOpen)); k >= 0 {
		cut := len(pageOpen) + k
		perr := r.pageError(r.buf[:cut], offset, errors.New("page not closed before the next <page>"))
		r.consume(cut)
		return Page{}, perr
	}
	chunk := r.buf[:end+len(pageClose)]
	p, err := decodePage(chunk)
	r.consume(len(chunk))
	if err != nil {
		return Page{}, &PageError{File: r.name, Title: p.Title, ID: p.ID, Offset: offset, Err: err}
	}
	p.Offset = offset
	return p, nil
}

func (r *Reader) pageError(chunk []byte, offset int64, err error) *PageError {
	p, _ := decodePage(chunk)
	return &PageError{File: r.name, Title: p.Title, ID: p.ID, Offset: offset, Err: err}
}

func describe(p Page) string {
	switch {
	case p.Title != "" && p.ID != 0:
		return fmt.Sprintf("%q (id %d)", p.Title, p.ID)
	case p.Title != "":
		return strconv.Quote(p.Title)
	case p.ID != 0:
		return fmt.Sprintf("id %d", p.ID)
	}
	return "(untitled)"
}

// seekPage drops everything before the next <page>, noting on the way
// whether </mediawiki> went by. It reports false at the end of the stream.
func (r *Reader) seekPage(ctx context.Context) (bool, error) {
	for {
		k := bytes.Index(r.buf, []byte(pageOpen))
		if k >= 0 {
			r.sawEnd = r.sawEnd || bytes.Contains(r.buf[:k], []byte(mediawikiEnd))
			r.consume(k)
			return true, nil
		}
		r.sawEnd = r.sawEnd || bytes.Contains(r.buf, []byte(mediawikiEnd))
		if r.eof {
			r.consume(len(r.buf))
			return false, nil
		}
		// Keep a tail in which a marker may have begun.
		if keep := len(mediawikiEnd) - 1; len(r.buf) > keep {
			r.consume(len(r.buf) - keep)
		}
		if err := r.fill(ctx); err != nil {
			return false, err
		}
	}
}

// consume drops n bytes from the front of the buffer.
func (r *Reader) consume(n int) {
	r.buf = r.buf[n:]
	r.off += int64(n)
}

// index finds pat in the buffer at or after from, reading more as needed.
// It returns -1 when the stream ends without pat or when limit bytes are
// buffered without it.
func (r *Reader) index(ctx context.Context, pat string, from, limit int) (int, error) {
	searched := from
	for {
		if searched < len(r.buf) {
			if k := bytes.Index(r.buf[searched:], []byte(pat)); k >= 0 {
				return searched + k, nil
			}
			// pat may straddle the next block.
			searched = max(from, len(r.buf)-len(pat)+1)
		}
		if r.eof || len(r.buf) >= limit {
			return -1, nil
		}
		if err := r.fill(ctx); err != nil {
			return -1, err
		}
	}
}

// fill appends the next decoded block to the buffer.
func (r *Reader) fill(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case b, ok := <-r.pipe.blocks:
		if !ok {
			r.eof = true
			return nil
		}
		if b.err != nil {
			r.err = fmt.Errorf("wiki: %s: decode at offset %d: %w", r.name, r.off+int64(len(r.buf)), b.err)
			return r.err
		}
		if cap(r.buf)-len(r.buf) < len(b.data) {
			// Move the unconsumed bytes to the front of the backing
			// array, growing it only when a page outgrows it.
			need := len(r.buf) + len(b.data)
			if cap(r.mem) < need {
				r.mem = make([]byte, 2*need)
			}
			n := copy(r.mem[:cap(r.mem)], r.buf)
			r.buf = r.mem[:n]
		}
		r.buf = append(r.buf, b.data...)
		r.pipe.recycle(b.data)
		return nil
	}
}

// readHeader decodes <mediawiki> and <siteinfo>, everything before the
// first <page>.
func (r *Reader) readHeader(ctx context.Context) error {
	end, err := r.index(ctx, pageOpen, 0, maxHeaderBytes)
	if err != nil {
		return err
	}
	if end < 0 {
		end = len(r.buf)
	}
	site, err := parseHeader(r.buf[:end])
	if err != nil {
		return fmt.Errorf("wiki: %s: %w", r.name, err)
	}
	if site.DBName == "" {
		site.DBName = dbNameFromFile(r.name)
	}
	if site.Lang == "" {
		site.Lang = "en"
	}
	if site.Namespaces == nil {
		site.Namespaces = map[int]string{}
	}
	r.site = site
	return nil
}

// dbNameFromFile guesses the database name the way dump files are named:
// "enwiki-20240920-pages-articles.xml.bz2" -> "enwiki".
func dbNameFromFile(name string) string {
	if i := strings.IndexAny(name, "-."); i > 0 {
		return name[:i]
	}
	return name
}

type xmlSiteInfo struct {
	DBName     string `xml:"dbname"`
	Base       string `xml:"base"`
	Namespaces []struct {
		Key  int    `xml:"key,attr"`
		Name string `xml:",chardata"`
	} `xml:"namespaces>namespace"`
}

func parseHeader(head []byte) (SiteInfo, error) {
	var site SiteInfo
	dec := xml.NewDecoder(bytes.NewReader(head))
	dec.CharsetReader = charsetReader
	root := false
	for {
		tok, err := dec.Token()
		if err != nil {
			// The header stops where the first page starts, so the
			// decoder always ends complaining about unclosed elements.
			if root {
				return site, nil
			}
			if errors.Is(err, io.EOF) {
				return site, errors.New("not a MediaWiki XML export: no <mediawiki> element")
			}
			return site, fmt.Errorf("not a MediaWiki XML export: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "mediawiki":
			root = true
			for _, a := range se.Attr {
				if a.Name.Local == "lang" {
					site.Lang = a.Value
				}
			}
		case "siteinfo":
			var si xmlSiteInfo
			if err := dec.DecodeElement(&si, &se); err != nil {
				return site, fmt.Errorf("decode <siteinfo>: %w", err)
			}
			site.DBName = strings.TrimSpace(si.DBName)
			site.Base = strings.TrimSpace(si.Base)
			site.Namespaces = make(map[int]string, len(si.Namespaces))
			for _, ns := range si.Namespaces {
				site.Namespaces[ns.Key] = strings.TrimSpace(ns.Name)
			}
		default:
			if !root {
				return site, fmt.Errorf("not a MediaWiki XML export: root element <%s>", se.Name.Local)
			}
		}
	}
}

// decodePage decodes one <page>…</page>. On error the fields decoded so far
// are returned with it, for the error message.
func decodePage(chunk []byte) (Page, error) {
	var p Page
	dec := xml.NewDecoder(bytes.NewReader(chunk))
	var (
		path       []string
		collect    bool
		val        []byte
		isRedirect bool
		closed     bool
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if !closed {
				return p, errors.New("page not closed")
			}
			break
		}
		if err != nil {
			return p, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			switch {
			case len(path) == 1 && t.Name.Local != "page":
				return p, fmt.Errorf("expected <page>, found <%s>", t.Name.Local)
			case len(path) == 2 && t.Name.Local == "redirect":
				isRedirect = true
				for _, a := range t.Attr {
					if a.Name.Local == "title" {
						p.Redirect = a.Value
					}
				}
			case len(path) == 2 && (t.Name.Local == "title" || t.Name.Local == "ns" || t.Name.Local == "id"),
				len(path) == 3 && path[1] == "revision" && t.Name.Local == "text":
				collect, val = true, val[:0]
			}
		case xml.CharData:
			if collect {
				val = append(val, t...)
			}
		case xml.EndElement:
			if collect {
				collect = false
				switch {
				case len(path) == 2 && path[1] == "title":
					p.Title = string(val)
				case len(path) == 2 && path[1] == "ns":
					ns, err := strconv.Atoi(strings.TrimSpace(string(val)))
					if err != nil {
						return p, fmt.Errorf("bad <ns> %q", val)
					}
					p.NS = ns
				case len(path) == 2 && path[1] == "id":
					id, err := strconv.ParseInt(strings.TrimSpace(string(val)), 10, 64)
					if err != nil {
						return p, fmt.Errorf("bad <id> %q", val)
					}
					p.ID = id
				case len(path) == 3:
					// Of several revisions (a history dump) the last wins.
					p.Text = string(val)
				}
			}
			path = path[:len(path)-1]
			if len(path) == 0 {
				closed = true
			}
		}
	}
	if p.Title == "" {
		return p, errors.New("page without <title>")
	}
	if isRedirect && p.Redirect == "" {
		// Old export formats mark redirects with an empty <redirect/>.
		p.Redirect = redirectFromText(p.Text)
	}
	return p, nil
}

// redirectFromText reads the target of "#REDIRECT [[Target]]" (or its
// localised keyword: any "#word" opening the text).
func redirectFromText(text string) string {
	t := strings.TrimSpace(text)
	if !strings.HasPrefix(t, "#") {
		return ""
	}
	i := strings.Index(t, "[[")
	if i < 0 || strings.ContainsAny(t[:i], "\n") {
		return ""
	}
	j := strings.Index(t[i:], "]]")
	if j < 0 {
		return ""
	}
	target, _, _ := strings.Cut(t[i+2:i+j], "|")
	return strings.TrimSpace(target)
}
