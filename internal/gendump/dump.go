// Package gendump writes synthetic MediaWiki dumps for benchmarks and
// scale tests: a pages-articles multistream file (bzip2 streams of 100
// pages, as Wikimedia ships them) with its offset:id:title index, whose
// graph has a realistic shape — link targets by a Zipf law, ~25 links and
// ~3 KB of wikitext per article, 5% redirects (some in chains), red
// links, infoboxes, references, templates, categories, disambiguation and
// list pages. Titles and text come from a vocabulary made from the seed.
//
// The output is a pure function of (seed, articles): every page is drawn
// from its own generator, streams are compressed in parallel and written in
// order, so the bytes do not depend on the worker count. Memory does not
// grow with the number of articles: titles are computed from indices
// (titles.go), never stored, and only a bounded number of streams is in
// flight.
package gendump

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/dsnet/compress/bzip2"

	"github.com/miroverse/miroverse/internal/atomicfile"
)

// Version is the generator's format version: it changes whenever the same
// seed and size would give other bytes, so caches keyed by it stay right.
const Version = 1

// PagesPerStream is the number of pages in each bzip2 stream, as in
// Wikimedia's multistream dumps.
const PagesPerStream = 100

// Options say what to write.
type Options struct {
	Dir      string // output directory (created)
	Name     string // file name prefix; "" means DefaultName(Articles, Seed)
	Articles int64  // articles in namespace 0, disambiguation and list pages included
	Seed     int64
	// Workers compress streams in parallel; 0 means one per core. The
	// bytes written do not depend on it.
	Workers int
	// Progress, when set, is called from one goroutine after each stream
	// is written with the pages written so far and the total.
	Progress func(pages, total int64)
}

// DefaultName is the file name prefix for a size and seed.
func DefaultName(articles, seed int64) string {
	return fmt.Sprintf("%s-a%d-s%d", dbName, articles, seed)
}

// Stats describe a written dump. They are also written next to it as
// NAME.json, last, so a dump with its JSON is complete.
type Stats struct {
	Version  int   `json:"version"`
	Seed     int64 `json:"seed"`
	Articles int64 `json:"articles"`

	Pages           int64 `json:"pages"`
	Redirects       int64 `json:"redirects"`
	RedirectChains  int64 `json:"redirect_chains"` // redirects to a redirect
	Disambiguations int64 `json:"disambiguations"`
	Lists           int64 `json:"lists"`
	Templates       int64 `json:"templates"`
	Categories      int64 `json:"categories"`

	// Links are the wikilinks written in namespace-0 pages that are not
	// redirects, to articles, redirects and missing pages alike (File and
	// Category links and {{Main}} hatnotes are not counted). Ingest keeps
	// fewer: links in infoboxes become facts, and a page's repeats of
	// one (target, anchor, sentence) count once.
	Links            int64 `json:"links"`
	LinksToRedirects int64 `json:"links_to_redirects"`
	LinksToMissing   int64 `json:"links_to_missing"`

	WikitextBytes int64 `json:"wikitext_bytes"`
	XMLBytes      int64 `json:"xml_bytes"`
	Bz2Bytes      int64 `json:"bz2_bytes"`
	IndexBytes    int64 `json:"index_bytes"`
	Streams       int   `json:"streams"`

	Dump    string  `json:"dump"`
	Index   string  `json:"index"`
	Seconds float64 `json:"seconds"`
}

// Paths are the files of a dump with that prefix in dir.
func Paths(dir, name string) (dump, index, stats string) {
	p := filepath.Join(dir, name+"-pages-articles-multistream")
	return p + ".xml.bz2", p + "-index.txt.bz2", filepath.Join(dir, name+".json")
}

// ReadStats reads the NAME.json of a complete dump.
func ReadStats(path string) (Stats, error) {
	var st Stats
	b, err := os.ReadFile(path)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// entry is one page of the plan: its kind, its index among pages of that
// kind, and its page id.
type entry struct {
	k   kind
	idx int64
	id  int64
}

func (e entry) ns() int {
	switch e.k {
	case kindTemplate:
		return 10
	case kindCategory:
		return 14
	}
	return 0
}

// planner lays the pages out in page-id order: the templates, then groups
// of 19 articles and one redirect, a Category page every categoryEvery
// groups. It is sequential and cheap (no text), so one goroutine runs it.
type planner struct {
	g          *gen
	tmpl       int
	art, cat   int64
	grp        int64
	slot       int
	catPending bool
	id         int64
	done       bool
}

func (p *planner) next() (entry, bool) {
	if p.done {
		return entry{}, false
	}
	p.id++
	if h := mix(uint64(p.id), p.g.seed); h%8 == 0 {
		p.id += int64(h >> 8 % 20) // deleted pages leave gaps in the ids
	}
	if p.tmpl < len(templates) {
		p.tmpl++
		return entry{k: kindTemplate, idx: int64(p.tmpl - 1), id: p.id}, true
	}
	for {
		if p.catPending {
			p.catPending = false
			p.cat++
			return entry{k: kindCategory, idx: p.cat - 1, id: p.id}, true
		}
		if p.slot == groupSlots {
			p.slot = 0
			p.grp++
			if p.grp%categoryEvery == 0 {
				p.catPending = true
				continue
			}
		}
		if p.slot == 0 && p.art >= p.g.articles {
			p.done = true
			return entry{}, false
		}
		s := p.slot
		p.slot++
		if s == redirectSlot(p.grp) {
			return entry{k: kindRedirect, idx: p.grp, id: p.id}, true
		}
		if p.art >= p.g.articles {
			p.done = true
			return entry{}, false
		}
		p.art++
		return entry{k: kindArticle, idx: p.art - 1, id: p.id}, true
	}
}

// countPages runs the plan without text to learn the total.
func countPages(g *gen) int64 {
	p := &planner{g: g}
	var n int64
	for _, ok := p.next(); ok; _, ok = p.next() {
		n++
	}
	return n
}

// stream is one bzip2 stream of the dump, before and after compression.
type stream struct {
	seq     int
	entries []entry
	bz      []byte
	lines   []byte // "id:title\n" of each page, the offset is the writer's
	st      Stats  // counts of this stream's pages
	err     error
}

// Write writes the dump that opt describes and returns its stats.
func Write(ctx context.Context, opt Options) (Stats, error) {
	start := time.Now()
	if opt.Articles < 1 || opt.Articles > MaxArticles {
		return Stats{}, fmt.Errorf("gendump: articles = %d, want 1 to %d", opt.Articles, MaxArticles)
	}
	if opt.Name == "" {
		opt.Name = DefaultName(opt.Articles, opt.Seed)
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return Stats{}, err
	}
	dumpPath, indexPath, statsPath := Paths(opt.Dir, opt.Name)
	// A stale JSON would vouch for the half-written files below.
	if err := os.Remove(statsPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return Stats{}, err
	}
	g := newGen(uint64(opt.Seed), opt.Articles)
	total := countPages(g)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	dumpTmp, indexTmp := dumpPath+".part", indexPath+".part"
	dump, err := os.Create(dumpTmp)
	if err != nil {
		return Stats{}, err
	}
	defer os.Remove(dumpTmp)
	defer dump.Close()
	idx, err := newIndexWriter(indexTmp)
	if err != nil {
		return Stats{}, err
	}
	defer os.Remove(indexTmp)
	defer idx.abort()

	st := Stats{Version: Version, Seed: opt.Seed, Articles: opt.Articles, Dump: dumpPath, Index: indexPath}
	out := bufio.NewWriterSize(dump, 1<<20)
	var off int64
	put := func(xml, bz []byte) error {
		st.XMLBytes += int64(len(xml))
		st.Bz2Bytes += int64(len(bz))
		st.Streams++
		off += int64(len(bz))
		_, err := out.Write(bz)
		return err
	}
	// The site header and the closing tag are streams of their own, as in
	// Wikimedia's files; the index lists only the streams of pages.
	comp := newCompressor()
	hdr := header()
	bz, err := comp.compress(nil, hdr)
	if err != nil {
		return Stats{}, err
	}
	if err := put(hdr, bz); err != nil {
		return Stats{}, err
	}

	// Streams in flight are bounded, so memory is too: the planner waits
	// for a slot, workers build and compress, the loop below writes in
	// order and frees the slot.
	inflight := 2 * workers
	slots := make(chan struct{}, inflight)
	jobs := make(chan *stream)
	done := make(chan *stream, inflight)
	var wg sync.WaitGroup
	go func() {
		defer close(jobs)
		p := &planner{g: g}
		for seq := 0; ; seq++ {
			s := &stream{seq: seq}
			for len(s.entries) < PagesPerStream {
				e, ok := p.next()
				if !ok {
					break
				}
				s.entries = append(s.entries, e)
			}
			if len(s.entries) == 0 {
				return
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- s:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newCompressor()
			for s := range jobs {
				g.build(s, c)
				done <- s
			}
		}()
	}
	go func() {
		wg.Wait()
		close(done)
	}()

	pending := map[int]*stream{}
	next := 0
	var pages int64
	for s := range done {
		if s.err != nil {
			cancel(s.err)
			continue
		}
		pending[s.seq] = s
		for {
			s, ok := pending[next]
			if !ok || ctx.Err() != nil {
				break
			}
			delete(pending, next)
			next++
			if err := idx.add(off, s.lines); err != nil {
				cancel(err)
				break
			}
			if err := put(nil, s.bz); err != nil {
				cancel(err)
				break
			}
			st.XMLBytes += s.st.XMLBytes
			st.add(s.st)
			pages += int64(len(s.entries))
			<-slots
			if opt.Progress != nil {
				opt.Progress(pages, total)
			}
		}
	}
	if err := context.Cause(ctx); err != nil {
		return Stats{}, err
	}
	bz, err = comp.compress(nil, []byte(footer))
	if err != nil {
		return Stats{}, err
	}
	if err := put([]byte(footer), bz); err != nil {
		return Stats{}, err
	}
	st.Pages = pages
	if err := out.Flush(); err != nil {
		return Stats{}, err
	}
	if err := dump.Close(); err != nil {
		return Stats{}, err
	}
	if st.IndexBytes, err = idx.close(); err != nil {
		return Stats{}, err
	}
	if err := os.Rename(dumpTmp, dumpPath); err != nil {
		return Stats{}, err
	}
	if err := os.Rename(indexTmp, indexPath); err != nil {
		return Stats{}, err
	}
	st.Seconds = time.Since(start).Seconds()
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return Stats{}, err
	}
	return st, atomicfile.WriteFile(statsPath, append(b, '\n'))
}

func (s *Stats) add(o Stats) {
	s.Redirects += o.Redirects
	s.RedirectChains += o.RedirectChains
	s.Disambiguations += o.Disambiguations
	s.Lists += o.Lists
	s.Templates += o.Templates
	s.Categories += o.Categories
	s.Links += o.Links
	s.LinksToRedirects += o.LinksToRedirects
	s.LinksToMissing += o.LinksToMissing
	s.WikitextBytes += o.WikitextBytes
}

// build makes a stream's XML and compresses it.
func (g *gen) build(s *stream, c *compressor) {
	xml := make([]byte, 0, PagesPerStream*5000)
	var lines []byte
	for _, e := range s.entries {
		var title, redirect string
		var text []byte
		rng := g.rngFor(e.k, e.idx)
		switch e.k {
		case kindTemplate:
			t := templates[e.idx]
			title, text = "Template:"+t.name, []byte(t.text)
			s.st.Templates++
		case kindCategory:
			text, title = g.category(e.idx, rng)
			s.st.Categories++
		case kindRedirect:
			title = g.redirectTitle(e.idx)
			text, redirect = g.redirect(e.idx, rng)
			s.st.Redirects++
			if _, toRedirect := g.redirectTarget(e.idx); toRedirect {
				s.st.RedirectChains++
			}
		default:
			title = g.articleTitle(e.idx)
			var ls linkStats
			switch g.articleKind(e.idx) {
			case kindDab:
				text, ls = g.dab(e.idx, rng)
				s.st.Disambiguations++
			case kindList:
				text, ls = g.list(e.idx, rng)
				s.st.Lists++
			default:
				text, ls = g.article(e.idx, rng)
			}
			s.st.Links += ls.Links
			s.st.LinksToRedirects += ls.ToRedirects
			s.st.LinksToMissing += ls.ToMissing
		}
		s.st.WikitextBytes += int64(len(text))
		xml = g.pageXML(xml, e, title, redirect, text)
		lines = fmt.Appendf(lines, "%d:%s\n", e.id, title)
	}
	s.lines = lines
	s.st.XMLBytes = int64(len(xml))
	s.bz, s.err = c.compress(nil, xml)
}

// compressor is one worker's bzip2 writer, reused stream after stream.
type compressor struct {
	buf bytes.Buffer
	w   *bzip2.Writer
}

func newCompressor() *compressor { return &compressor{} }

// compress returns src as one complete bzip2 stream (level 9: 900 kB
// blocks, so a stream of 100 pages is one block, as bzip2 -9 writes it).
func (c *compressor) compress(dst, src []byte) ([]byte, error) {
	c.buf.Reset()
	if c.w == nil {
		w, err := bzip2.NewWriter(&c.buf, &bzip2.WriterConfig{Level: 9})
		if err != nil {
			return nil, err
		}
		c.w = w
	} else if err := c.w.Reset(&c.buf); err != nil {
		return nil, err
	}
	if _, err := c.w.Write(src); err != nil {
		return nil, err
	}
	if err := c.w.Close(); err != nil {
		return nil, err
	}
	return append(dst, c.buf.Bytes()...), nil
}

// indexWriter writes the offset:id:title index as one bzip2 stream, on a
// goroutine of its own so that it overlaps with the streams' compression.
type indexWriter struct {
	f     *os.File
	bw    *bufio.Writer
	w     *bzip2.Writer
	count *countWriter
	lines chan []byte
	errc  chan error
	buf   []byte
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func newIndexWriter(path string) (*indexWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	iw := &indexWriter{f: f, bw: bufio.NewWriterSize(f, 1<<20), lines: make(chan []byte, 4), errc: make(chan error, 1)}
	iw.count = &countWriter{w: iw.bw}
	if iw.w, err = bzip2.NewWriter(iw.count, &bzip2.WriterConfig{Level: 9}); err != nil {
		f.Close()
		return nil, err
	}
	go func() {
		var err error
		for b := range iw.lines {
			if err == nil {
				_, err = iw.w.Write(b)
			}
		}
		iw.errc <- err
	}()
	return iw, nil
}

// add queues the lines of the stream at offset off.
func (iw *indexWriter) add(off int64, lines []byte) error {
	prefix := fmt.Appendf(nil, "%d:", off)
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n')
		iw.buf = append(iw.buf, prefix...)
		iw.buf = append(iw.buf, lines[:i+1]...)
		lines = lines[i+1:]
	}
	if len(iw.buf) >= 256<<10 {
		iw.lines <- iw.buf
		iw.buf = nil
	}
	return nil
}

func (iw *indexWriter) close() (int64, error) {
	if len(iw.buf) > 0 {
		iw.lines <- iw.buf
		iw.buf = nil
	}
	close(iw.lines)
	iw.lines = nil
	err := <-iw.errc
	if err == nil {
		err = iw.w.Close()
	}
	if err == nil {
		err = iw.bw.Flush()
	}
	if cerr := iw.f.Close(); err == nil {
		err = cerr
	}
	return iw.count.n, err
}

// abort stops the goroutine of an index that will not be closed.
func (iw *indexWriter) abort() {
	if iw.lines != nil {
		close(iw.lines)
		iw.lines = nil
		<-iw.errc
		iw.f.Close()
	}
}
