// Package wiki reads MediaWiki XML dumps and turns wikitext into the clean
// text and links of the knowledge graph.
//
// # Reading a dump
//
// OpenWith opens a dump of any kind, told from its content rather than its
// name: bzip2 (multistream with its index, multistream without one, or a
// single stream), gzip, xz or plain XML, in UTF-8, UTF-16 with a BOM, or a
// legacy charset its XML declaration names. Goroutines decompress while
// Next cuts the text at <page> … </page> and decodes one page at a time,
// so a malformed page costs only that page.
//
// bzip2 is decoded by this package's own decoder, in parallel:
//   - with the index Wikimedia publishes next to a multistream dump
//     (found by name, or OpenOptions.Index), stream by stream at the
//     offsets it lists; the same offsets give shard i of n its slice of
//     the streams (OpenOptions.Shard, Shards), so a cluster job reads only
//     its part;
//   - without an index, block by block: blocks are found by their 48-bit
//     magic at any bit offset, which works for single-stream files and
//     multistream ones alike.
//
// Either way the text comes out in file order.
//
// # Memory
//
// Memory is bounded by OpenOptions.MemoryBudget (DefaultMemoryBudget), not
// by the size of the dump. The reader holds at most: three times
// MaxPageBytes for the page being cut and decoded (its raw XML, a repaired
// copy, its text), 2 MiB of buffers, and for bzip2, per decoding worker,
// its decoder (8.1 MB: the block, its inverse BWT tables), a 256 KiB input
// buffer and 6 MiB of decoded text in queues (14.7 MB in all), plus 4 MiB
// of queue for the units read next. With the defaults (256 MiB, pages up
// to 32 MiB) that is 96 MiB for pages and room for 11 workers; the number
// of workers is cut to what the budget allows, and OpenWith fails when not
// even one fits. An index costs 12 bytes
// per stream listed (3 MB for the English Wikipedia). gzip and plain input
// need 2 MiB of queue; xz, its dictionary (8 MiB at the default level, 64
// MiB at -9). Go's garbage collector adds its headroom (GOGC) on top of
// the pages the caller keeps.
//
// # Bad input
//
// Next never panics on bad input and never drops a good page. What it
// cannot read comes back as errors the caller can count with Reason:
//   - *PageError: one page was skipped (malformed XML, or longer than
//     MaxPageBytes); the next call goes on after it;
//   - *StreamError: a bzip2 stream (indexed) or block (unindexed) is
//     corrupt; its pages are lost, and the next call goes on with the next
//     stream or block;
//   - an error wrapping io.ErrUnexpectedEOF: the input ended early
//     (truncated), after every page before the break was delivered (with
//     bzip2, every page before the cut block: a partial block cannot be
//     decoded); it is final, as are read errors.
//
// Invalid UTF-8 and characters XML forbids are not errors: they are
// replaced with U+FFFD and counted in Page.Replaced, so one stray byte
// does not cost a whole article. Duplicate page ids are delivered as they
// come; telling them apart is the caller's business.
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
	"sync/atomic"
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
	// After a lost stream it counts only the text actually decoded.
	Offset int64
	// Replaced counts the invalid UTF-8 sequences and the characters XML
	// forbids that were replaced with U+FFFD in the page's XML.
	Replaced int
}

// SiteInfo is the dump's <siteinfo>, with fallbacks for dumps without one.
type SiteInfo struct {
	DBName string // e.g. "enwiki"
	Base   string // URL of the main page, "" when unknown
	Lang   string // from <mediawiki xml:lang>, "en" when absent
	// Namespaces maps namespace keys to their local names ("" for articles).
	Namespaces map[int]string
}

// Reasons a page or a stretch of the input was not delivered, for
// counting (see Reason).
const (
	ReasonMalformedXML  = "malformed_xml"  // *PageError: the page's XML is not well formed or lacks its title
	ReasonPageTooLarge  = "page_too_large" // *PageError: longer than OpenOptions.MaxPageBytes
	ReasonCorruptStream = "corrupt_stream" // *StreamError: a bzip2 stream or block failed to decode
	ReasonTruncated     = "truncated"      // the input ended early
	// ReasonInvalidUTF8 is not an error: pages with Replaced > 0 were
	// repaired, not skipped. The constant is for counting them alike.
	ReasonInvalidUTF8 = "invalid_utf8"
)

// PageError reports a page that could not be decoded. The reader has
// already moved past it, so the caller may count it and go on.
type PageError struct {
	File   string
	Title  string // "" when not known
	ID     int64  // 0 when not known
	Offset int64  // of <page> in the decompressed XML
	Reason string // ReasonMalformedXML or ReasonPageTooLarge
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

// StreamError reports compressed data that could not be decoded: with an
// index, one stream of (usually 100) pages; without, one block. Its pages
// are lost; the reader goes on with the next stream or block.
type StreamError struct {
	File string
	// Offset is the byte offset, in the compressed file, of the lost
	// stream or block; a block starts at bit Bit (0–7) of that byte.
	Offset int64
	Bit    int64
	Block  bool // a block found by scanning, not a stream of the index
	// Pages is how many pages the index lists in the stream, -1 without
	// an index; Lost how many of them were not delivered (pages of the
	// stream before the damage may have been), -1 when unknown.
	Pages, Lost int
	// Title is the page the damage cut short, when its start was read.
	Title string
	Err   error
}

func (e *StreamError) Error() string {
	var b strings.Builder
	if e.Block {
		fmt.Fprintf(&b, "wiki: %s: bzip2 block at byte %d", e.File, e.Offset)
		if e.Bit != 0 {
			fmt.Fprintf(&b, " (bit %d)", e.Bit)
		}
	} else {
		fmt.Fprintf(&b, "wiki: %s: bzip2 stream at byte %d", e.File, e.Offset)
	}
	switch {
	case e.Lost >= 0:
		fmt.Fprintf(&b, " lost, with %d of its %d pages", e.Lost, e.Pages)
	default:
		b.WriteString(" lost, with the pages in it")
	}
	if e.Title != "" {
		fmt.Fprintf(&b, " (from %q on)", e.Title)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *StreamError) Unwrap() error { return e.Err }

// Reason names why err kept pages from the caller, for counting: one of
// the Reason constants, or "" for io.EOF, nil and errors that are not
// about the input (a cancelled context, a closed reader).
func Reason(err error) string {
	var pe *PageError
	var se *StreamError
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return ""
	case errors.As(err, &pe):
		return pe.Reason
	case errors.As(err, &se):
		return ReasonCorruptStream
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ReasonTruncated
	}
	return ""
}

// Recoverable reports whether Next may be called again after err to read
// on: true for a *PageError and a *StreamError, and for the context
// errors of a Next call that gave up waiting.
func Recoverable(err error) bool {
	var pe *PageError
	var se *StreamError
	return errors.As(err, &pe) || errors.As(err, &se) || isCtxErr(err)
}

// Defaults of OpenOptions.
const (
	DefaultMemoryBudget = 256 << 20
	// DefaultMaxPageBytes is far above any page of a Wikipedia: articles
	// are capped at 2 MiB of wikitext, which XML escaping can at most
	// triple.
	DefaultMaxPageBytes = 32 << 20
)

// Limits that keep a corrupt or hostile file from taking all memory.
const maxHeaderBytes = 64 << 20

// OpenOptions tune OpenWith; the zero value reads the whole dump with its
// index when one is found, on GOMAXPROCS workers, within
// DefaultMemoryBudget.
type OpenOptions struct {
	// Index is the multistream index of a bzip2 dump. "" looks for it
	// next to the dump under Wikimedia's name (X-multistream.xml.bz2 →
	// X-multistream-index.txt.bz2).
	Index string
	// NoIndex reads a bzip2 dump by scanning for its blocks even when an
	// index is there.
	NoIndex bool
	// Shard and Shards read only shard Shard (0-based) of Shards: a
	// contiguous slice of the index's streams, 1/Shards of them. Needs an
	// index. Shards 0 or 1 reads everything.
	Shard, Shards int
	// Workers decoding bzip2 in parallel; 0 means GOMAXPROCS. The memory
	// budget may allow fewer.
	Workers int
	// MemoryBudget bounds the bytes the reader holds; 0 means
	// DefaultMemoryBudget. See the package documentation.
	MemoryBudget int64
	// MaxPageBytes is the longest <page> (raw XML) the reader buffers; a
	// longer one is skipped with a *PageError. 0 means
	// DefaultMaxPageBytes.
	MaxPageBytes int64
}

const (
	pageOpen     = "<page>"
	pageClose    = "</page>"
	mediawikiEnd = "</mediawiki>"
)

// Reader streams the pages of one dump file. Next is not safe for
// concurrent use; Progress is.
type Reader struct {
	name   string
	f      *os.File
	cancel context.CancelFunc
	raw    source
	src    *textSource

	maxPage   int
	expectEnd bool // the input ends with </mediawiki> (not a shard before the last)
	workers   int

	mem []byte // backing array of buf
	buf []byte // decoded bytes not yet consumed
	off int64  // offset of buf[0] in the decoded stream
	eof bool   // the source has delivered everything
	err error  // sticky: io.EOF or a fatal error
	gap *StreamError
	// sawEnd records that </mediawiki> went by, which tells a complete
	// dump from a truncated one.
	sawEnd bool
	xmlOff atomic.Int64

	// units marks where the text of each unit (stream or block) starts
	// in the decoded text, to count the pages a lost stream took along.
	units     []unitMark
	unitPages map[int]int // pages seen per unit seq with an index count
	indexed   bool

	site SiteInfo
}

type unitMark struct {
	off int64
	seq int
}

// Open opens a dump and reads its header. See OpenWith.
func Open(path string) (*Reader, error) {
	return OpenWith(context.Background(), path, OpenOptions{})
}

// OpenContext opens a dump with the default options. See OpenWith.
func OpenContext(ctx context.Context, path string) (*Reader, error) {
	return OpenWith(ctx, path, OpenOptions{})
}

// open is OpenWith with a given number of bzip2 decoding workers.
func open(ctx context.Context, path string, workers int) (*Reader, error) {
	return OpenWith(ctx, path, OpenOptions{Workers: workers})
}

// MinMemoryBudget is the smallest OpenOptions.MemoryBudget that pages of up
// to maxPage bytes (0: DefaultMaxPageBytes) leave room to decode in: three
// pages in flight, one bzip2 worker and the queues between.
func MinMemoryBudget(maxPage int64) int64 {
	if maxPage <= 0 {
		maxPage = DefaultMaxPageBytes
	}
	maxPage = max(maxPage, 1<<10)
	return 3*maxPage + 4*pieceSize + scanWindow + bzWorkerBytes + 2*unitQueue*pieceSize
}

// OpenWith opens a dump and reads its header up to the first page, so
// SiteInfo is ready when it returns. Compression and text encoding come
// from the content, not the file name. The decoding goroutines run until
// Close or until ctx ends.
func OpenWith(ctx context.Context, path string, opts OpenOptions) (*Reader, error) {
	name := filepath.Base(path)
	budget := opts.MemoryBudget
	if budget <= 0 {
		budget = DefaultMemoryBudget
	}
	maxPage := opts.MaxPageBytes
	if maxPage <= 0 {
		maxPage = DefaultMaxPageBytes
	}
	maxPage = max(maxPage, 1<<10)
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	shards := max(opts.Shards, 1)
	if opts.Shard < 0 || opts.Shard >= shards {
		return nil, fmt.Errorf("wiki: %s: shard %d of %d does not exist", name, opts.Shard, shards)
	}
	// What the budget leaves for decoding once the page is provided for.
	fixed := 3*maxPage + 4*pieceSize + scanWindow
	if need := MinMemoryBudget(maxPage); budget < need {
		return nil, fmt.Errorf("wiki: %s: memory budget of %d bytes is too small for pages of up to %d bytes: it needs at least %d",
			name, budget, maxPage, need)
	}
	workers = min(workers, int((budget-fixed-2*unitQueue*pieceSize)/bzWorkerBytes))

	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wiki: open dump: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("wiki: %s: %w", name, err)
	}
	comp, err := sniffFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("wiki: %s: %w", name, err)
	}
	var plan *bzPlan
	indexPath := opts.Index
	if comp == compBzip2 && indexPath == "" && !opts.NoIndex {
		indexPath = indexFor(path)
	}
	switch {
	case opts.NoIndex:
		indexPath = ""
	case indexPath != "" && comp != compBzip2:
		f.Close()
		return nil, fmt.Errorf("wiki: %s: an index goes with a bzip2 multistream dump, this one is %s", name, comp)
	}
	if indexPath != "" {
		idx, err := readIndex(ctx, indexPath, workers)
		if err == nil {
			err = idx.check(f, st.Size())
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("wiki: %s: %w", name, err)
		}
		plan = idx.plan(st.Size(), opts.Shard, shards)
	} else if shards > 1 {
		f.Close()
		return nil, fmt.Errorf("wiki: %s: reading shard %d of %d needs the multistream index (none found next to the dump; set OpenOptions.Index)",
			name, opts.Shard, shards)
	}
	rctx, cancel := context.WithCancel(ctx)
	raw, err := openSource(rctx, f, name, st.Size(), workers, plan)
	if err != nil {
		cancel()
		f.Close()
		return nil, fmt.Errorf("wiki: %s: %w", name, err)
	}
	r := &Reader{
		name: name, f: f, cancel: cancel, raw: raw, src: newTextSource(raw),
		maxPage:   int(maxPage),
		expectEnd: opts.Shard == shards-1,
		workers:   workers,
		indexed:   plan != nil,
		unitPages: map[int]int{},
	}
	if err := r.readHeader(ctx); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// openSource starts decompressing f by its content.
func openSource(ctx context.Context, f *os.File, name string, size int64, workers int, plan *bzPlan) (source, error) {
	comp, err := sniffFile(f)
	if err != nil {
		return nil, err
	}
	if comp == compBzip2 {
		return newBzSource(ctx, f, name, size, workers, plan, bzTune{}), nil
	}
	return newSeqSource(ctx, f, size, comp)
}

// SiteInfo describes the wiki the dump comes from.
func (r *Reader) SiteInfo() SiteInfo { return r.site }

// Workers is the number of goroutines decoding bzip2, after the memory
// budget.
func (r *Reader) Workers() int { return r.workers }

// Progress reports the compressed bytes consumed so far and the total to
// read (the file, or a shard's part of it), and the bytes of XML handed
// out, for rates and an ETA. It may be called from any goroutine.
func (r *Reader) Progress() (compressedRead, compressedTotal, xmlBytes int64) {
	done, total := r.raw.progress()
	return done, total, r.xmlOff.Load()
}

// Close stops decoding and closes the file.
func (r *Reader) Close() error {
	if r.raw == nil {
		return nil
	}
	r.cancel()
	r.raw.close()
	r.raw = nil
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("wiki: close %s: %w", r.name, err)
	}
	return nil
}

// errGap unwinds to Next when the source reports lost bytes.
var errGap = errors.New("bytes lost")

// Next returns the next page. It returns io.EOF after the last one; a
// *PageError for a page it skipped and a *StreamError for compressed data
// it could not decode, after which the next call goes on; the context's
// error when ctx ends first (the reader stays usable); and otherwise a
// fatal error, such as a truncated dump (wrapping io.ErrUnexpectedEOF),
// that every later call repeats.
func (r *Reader) Next(ctx context.Context) (Page, error) {
	if r.err != nil {
		return Page{}, r.err
	}
	if r.raw == nil {
		return Page{}, fmt.Errorf("wiki: %s: reader closed", r.name)
	}
	found, err := r.seekPage(ctx)
	if errors.Is(err, errGap) {
		return Page{}, r.takeGap(false)
	}
	if err != nil {
		return Page{}, err
	}
	if !found {
		if r.sawEnd || !r.expectEnd {
			r.err = io.EOF
		} else {
			r.err = fmt.Errorf("wiki: %s: dump ends at offset %d without </mediawiki>: %w",
				r.name, r.off, io.ErrUnexpectedEOF)
		}
		return Page{}, r.err
	}
	offset := r.off
	end, err := r.index(ctx, pageClose, len(pageOpen), r.maxPage)
	if errors.Is(err, errGap) {
		return Page{}, r.takeGap(true)
	}
	if err != nil {
		return Page{}, err
	}
	r.countPage(offset)
	if end < 0 {
		if len(r.buf) >= r.maxPage {
			// Skip it: the next call drops the rest up to the next <page>
			// without buffering it.
			perr := r.pageError(r.buf, offset, ReasonPageTooLarge,
				fmt.Errorf("page too large: longer than %d bytes (OpenOptions.MaxPageBytes)", r.maxPage))
			r.consume(len(pageOpen))
			return Page{}, perr
		}
		r.err = fmt.Errorf("wiki: %s: dump truncated in page %s at offset %d: %w",
			r.name, describe(partialPage(r.buf)), offset, io.ErrUnexpectedEOF)
		r.consume(len(r.buf))
		return Page{}, r.err
	}
	// A <page> before </page> means this page was cut short; keep the
	// following one intact.
	if k := bytes.Index(r.buf[len(pageOpen):end], []byte(pageOpen)); k >= 0 {
		cut := len(pageOpen) + k
		perr := r.pageError(r.buf[:cut], offset, ReasonMalformedXML, errors.New("page not closed before the next <page>"))
		r.consume(cut)
		return Page{}, perr
	}
	chunk := r.buf[:end+len(pageClose)]
	p, err := decodeChunk(chunk)
	r.consume(len(chunk))
	if err != nil {
		return Page{}, &PageError{File: r.name, Title: p.Title, ID: p.ID, Offset: offset, Reason: ReasonMalformedXML, Err: err}
	}
	p.Offset = offset
	return p, nil
}

// decodeChunk decodes the XML of one page: repaired, then by the fast
// path, or by encoding/xml when the fast path declines.
func decodeChunk(chunk []byte) (Page, error) {
	chunk, replaced := repairText(chunk)
	p, ok := fastPage(chunk)
	if !ok {
		var err error
		p, err = decodePage(chunk)
		if err != nil {
			return p, err
		}
	}
	p.Replaced = replaced
	return p, nil
}

func (r *Reader) pageError(chunk []byte, offset int64, reason string, err error) *PageError {
	p := partialPage(chunk)
	return &PageError{File: r.name, Title: p.Title, ID: p.ID, Offset: offset, Reason: reason, Err: err}
}

// partialPage decodes what it can of the start of a page, for messages.
func partialPage(chunk []byte) Page {
	chunk, _ = repairText(chunk[:min(len(chunk), 64<<10)])
	p, _ := decodePage(chunk)
	return p
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

// takeGap returns the StreamError the source reported, after dropping the
// text buffered before it: the start of a page the damage cut (inPage), or
// text between pages.
func (r *Reader) takeGap(inPage bool) error {
	se := r.gap
	r.gap = nil
	if inPage {
		se.Title = partialPage(r.buf).Title
	}
	if se.Pages >= 0 && r.indexed {
		se.Lost = max(0, se.Pages-r.unitPages[r.gapUnit()])
	} else {
		se.Lost = -1
	}
	r.consume(len(r.buf))
	return se
}

// gapUnit is the unit whose text came last, the one the damage hit.
func (r *Reader) gapUnit() int {
	if len(r.units) == 0 {
		return -1
	}
	return r.units[len(r.units)-1].seq
}

// countPage credits a page to the unit whose text holds its start.
func (r *Reader) countPage(offset int64) {
	if !r.indexed {
		return
	}
	for i := len(r.units) - 1; i >= 0; i-- {
		if r.units[i].off <= offset {
			r.unitPages[r.units[i].seq]++
			// Units before this one are done with.
			if i > 0 {
				for _, u := range r.units[:i] {
					delete(r.unitPages, u.seq)
				}
				r.units = append(r.units[:0], r.units[i:]...)
			}
			return
		}
	}
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
	r.xmlOff.Store(r.off)
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
			// pat may straddle the next piece.
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

// fill appends the next piece of text to the buffer.
func (r *Reader) fill(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, unit, err := r.src.next(ctx)
	if err != nil {
		var se *StreamError
		switch {
		case errors.As(err, &se):
			r.gap = se
			r.markUnit(unit)
			return errGap
		case errors.Is(err, io.EOF):
			r.eof = true
			return nil
		case isCtxErr(err) && ctx.Err() != nil:
			return err
		}
		r.err = fmt.Errorf("wiki: %s: decode at offset %d: %w", r.name, r.off+int64(len(r.buf)), err)
		return r.err
	}
	r.markUnit(unit)
	if cap(r.buf)-len(r.buf) < len(b) {
		// Move the unconsumed bytes to the front of the backing array,
		// growing it only when a page outgrows it, and never past what a
		// page may take.
		need := len(r.buf) + len(b)
		if cap(r.mem) < need {
			r.mem = make([]byte, max(need, min(2*need, r.maxPage+2*pieceSize)))
		}
		n := copy(r.mem[:cap(r.mem)], r.buf)
		r.buf = r.mem[:n]
	}
	r.buf = append(r.buf, b...)
	r.src.recycle(b)
	return nil
}

// markUnit notes where the text of a new unit starts.
func (r *Reader) markUnit(unit int) {
	if !r.indexed || len(r.units) > 0 && r.units[len(r.units)-1].seq == unit {
		return
	}
	r.units = append(r.units, unitMark{off: r.off + int64(len(r.buf)), seq: unit})
}

// readHeader decodes <mediawiki> and <siteinfo>, everything before the
// first <page>.
func (r *Reader) readHeader(ctx context.Context) error {
	end, err := r.index(ctx, pageOpen, 0, maxHeaderBytes)
	if errors.Is(err, errGap) {
		// Without <siteinfo> titles and namespaces would be read wrong.
		return fmt.Errorf("wiki: %s: the site header is unreadable: %w", r.name, r.gap)
	}
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
