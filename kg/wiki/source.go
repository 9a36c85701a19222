package wiki

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// source is decompressed text in order. next returns the next run of
// bytes, tagged with the unit (compressed stream or block) it came from;
// a *StreamError means bytes were lost before the next run and may be
// followed by more; io.EOF ends the input; any other error is fatal.
// A run's buffer goes back through recycle once consumed.
type source interface {
	next(ctx context.Context) (data []byte, unit int, err error)
	recycle([]byte)
	// progress is the compressed bytes consumed and the total to read.
	progress() (done, total int64)
	// close waits for the goroutines once the context they run in is
	// cancelled.
	close()
}

type compression int

const (
	compPlain compression = iota
	compBzip2
	compGzip
	compXZ
)

func (c compression) String() string {
	return [...]string{"plain", "bzip2", "gzip", "xz"}[c]
}

// sniff tells the compression from the first bytes of a file: names lie
// (a ".bz2" may be plain XML).
func sniff(magic []byte) (compression, error) {
	switch {
	case len(magic) >= 4 && string(magic[:3]) == "BZh" && magic[3] >= '1' && magic[3] <= '9':
		return compBzip2, nil
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		return compGzip, nil
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return compXZ, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return 0, errors.New("zstd compression is not supported: decompress with `zstd -d` or recompress with bzip2")
	}
	return compPlain, nil
}

// sniffFile reads the first bytes of f.
func sniffFile(f *os.File) (compression, error) {
	var magic [6]byte
	n, err := f.ReadAt(magic[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("sniff compression: %w", err)
	}
	return sniff(magic[:n])
}

// seqSource decodes a stream that only decodes in order (gzip, xz, plain)
// in a goroutine of its own, so decompression overlaps with parsing.
type seqSource struct {
	ctx    context.Context
	wg     sync.WaitGroup
	pieces chan piece
	pool   chan []byte
	read   atomic.Int64 // compressed bytes read from the file
	used   atomic.Int64 // of those, the ones behind text handed out
	size   int64
	done   bool
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func newSeqSource(ctx context.Context, f *os.File, size int64, comp compression) (*seqSource, error) {
	s := &seqSource{
		ctx:    ctx,
		pieces: make(chan piece, unitQueue),
		pool:   make(chan []byte, unitQueue+2),
		size:   size,
	}
	in := countingReader{r: io.NewSectionReader(f, 0, size), n: &s.read}
	var r io.Reader
	switch comp {
	case compGzip:
		zr, err := gzip.NewReader(in)
		if err != nil {
			return nil, fmt.Errorf("gzip header: %w", err)
		}
		r = zr
	case compXZ:
		zr, err := xz.NewReader(in)
		if err != nil {
			return nil, fmt.Errorf("xz header: %w", err)
		}
		r = zr
	default:
		r = in
	}
	s.wg.Add(1)
	go s.produce(r)
	return s, nil
}

func (s *seqSource) produce(r io.Reader) {
	defer s.wg.Done()
	defer close(s.pieces)
	for {
		var buf []byte
		select {
		case buf = <-s.pool:
		default:
			buf = make([]byte, pieceSize)
		}
		n := 0
		var err error
		for n < len(buf) && err == nil {
			var m int
			m, err = r.Read(buf[n:])
			n += m
		}
		if n > 0 {
			select {
			case s.pieces <- piece{data: buf[:n], pos: s.read.Load()}:
			case <-s.ctx.Done():
				return
			}
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			// A decompressor that fails once it has read the whole file
			// ran out of input: the file was cut short.
			switch {
			case errors.Is(err, io.ErrUnexpectedEOF):
				err = fmt.Errorf("compressed data truncated at byte %d: %w", s.read.Load(), err)
			case s.read.Load() >= s.size:
				err = fmt.Errorf("compressed data truncated at byte %d: %v: %w", s.read.Load(), err, io.ErrUnexpectedEOF)
			default:
				err = fmt.Errorf("decompress at byte %d: %w", s.read.Load(), err)
			}
			select {
			case s.pieces <- piece{err: err}:
			case <-s.ctx.Done():
			}
			return
		}
	}
}

func (s *seqSource) next(ctx context.Context) ([]byte, int, error) {
	if s.done {
		return nil, 0, io.EOF
	}
	select {
	case p, ok := <-s.pieces:
		if !ok {
			s.done = true
			if err := s.ctx.Err(); err != nil {
				return nil, 0, err
			}
			s.used.Store(s.size)
			return nil, 0, io.EOF
		}
		if p.err != nil {
			s.done = true
			return nil, 0, p.err
		}
		s.used.Store(p.pos)
		return p.data, 0, nil
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
}

func (s *seqSource) recycle(b []byte) {
	if cap(b) != pieceSize {
		return
	}
	select {
	case s.pool <- b[:pieceSize]:
	default:
	}
}

func (s *seqSource) progress() (int64, int64) { return s.used.Load(), s.size }

func (s *seqSource) close() {
	go func() {
		for range s.pieces {
		}
	}()
	s.wg.Wait()
}

// textSource turns a source's bytes into UTF-8: a UTF-8 BOM is dropped, a
// UTF-16 stream (with a BOM, or '<' as its first code unit) is transcoded,
// and so is a legacy charset named in the XML declaration.
type textSource struct {
	src source
	dec transform.Transformer // nil for UTF-8
	// mark is <page> in the source encoding: after lost bytes a UTF-16
	// stream may be off by a byte, so decoding resumes at the next one.
	mark    []byte
	resync  bool
	started bool
	head    []byte // bytes read while sniffing, not yet handed out
	headU   int
	pending error  // what ended sniffing, to hand out after head
	left    []byte // source bytes the transcoder has not consumed
}

func newTextSource(src source) *textSource { return &textSource{src: src} }

// start reads enough to tell the text encoding.
func (t *textSource) start(ctx context.Context) error {
	for len(t.head) < 256 {
		b, u, err := t.src.next(ctx)
		if err != nil {
			if isCtxErr(err) {
				return err
			}
			var se *StreamError
			if errors.As(err, &se) && len(t.head) == 0 {
				// Nothing to sniff yet: the error can go out first.
				t.pending = err
				break
			}
			t.pending = err
			break
		}
		t.head = append(t.head, b...)
		t.headU = u
		t.src.recycle(b)
	}
	t.started = true
	head := t.head
	var enc encoding.Encoding
	switch {
	case bytes.HasPrefix(head, []byte{0xef, 0xbb, 0xbf}):
		t.head = head[3:]
		return nil
	case bytes.HasPrefix(head, []byte{0xff, 0xfe}), bytes.HasPrefix(head, []byte{'<', 0}):
		enc = unicode.UTF16(unicode.LittleEndian, unicode.UseBOM)
		t.mark = pageMarks[1]
	case bytes.HasPrefix(head, []byte{0xfe, 0xff}), bytes.HasPrefix(head, []byte{0, '<'}):
		enc = unicode.UTF16(unicode.BigEndian, unicode.UseBOM)
		t.mark = pageMarks[2]
	default:
		label := declaredEncoding(head)
		if label == "" || isUnicodeLabel(label) {
			return nil
		}
		e, err := htmlindex.Get(label)
		if err != nil {
			return fmt.Errorf("XML declaration names encoding %q: %w", label, err)
		}
		enc = e
	}
	t.dec = enc.NewDecoder()
	return nil
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (t *textSource) next(ctx context.Context) ([]byte, int, error) {
	if !t.started {
		if err := t.start(ctx); err != nil {
			return nil, 0, err
		}
	}
	for {
		var b []byte
		var u int
		var err error
		own := false // b is not a buffer of the source's
		switch {
		case len(t.head) > 0:
			b, u, own = t.head, t.headU, true
			t.head = nil
		case t.pending != nil:
			err, t.pending = t.pending, nil
		default:
			b, u, err = t.src.next(ctx)
		}
		if err != nil {
			var se *StreamError
			if errors.As(err, &se) && t.dec != nil {
				t.dec.Reset()
				t.left = t.left[:0]
				t.resync = t.mark != nil
			}
			if errors.Is(err, io.EOF) && len(t.left) > 0 {
				t.left = t.left[:0]
				return nil, u, fmt.Errorf("text ends inside a character: %w", io.ErrUnexpectedEOF)
			}
			return nil, u, err
		}
		if t.dec == nil {
			return b, u, nil
		}
		out, err := t.transcode(b)
		if !own {
			t.src.recycle(b)
		}
		if err != nil {
			return nil, u, err
		}
		if len(out) > 0 {
			return out, u, nil
		}
	}
}

// transcode decodes src to UTF-8, keeping an incomplete character for the
// next call.
func (t *textSource) transcode(src []byte) ([]byte, error) {
	if t.resync {
		in := append(t.left, src...)
		k := bytes.Index(in, t.mark)
		if k < 0 {
			// Keep a tail where the mark may begin.
			t.left = append(t.left[:0], in[max(0, len(in)-len(t.mark)+1):]...)
			return nil, nil
		}
		t.resync = false
		t.left = t.left[:0]
		src = in[k:]
	}
	in := src
	if len(t.left) > 0 {
		in = append(t.left, src...)
	}
	out := make([]byte, 0, len(in)*3/2+16)
	for {
		dst := out[len(out):cap(out)]
		nDst, nSrc, err := t.dec.Transform(dst, in, false)
		out = out[:len(out)+nDst]
		in = in[nSrc:]
		switch {
		case errors.Is(err, transform.ErrShortDst):
			out = append(out, make([]byte, len(in)*2+16)...)[:len(out)]
		case errors.Is(err, transform.ErrShortSrc), err == nil:
			t.left = append(t.left[:0], in...)
			return out, nil
		default:
			return nil, fmt.Errorf("transcode: %w", err)
		}
	}
}

func (t *textSource) recycle(b []byte) {
	if t.dec == nil {
		t.src.recycle(b)
	}
}

// declaredEncoding returns the encoding named by an XML declaration at the
// start of head, or "".
func declaredEncoding(head []byte) string {
	if !bytes.HasPrefix(head, []byte("<?xml")) {
		return ""
	}
	decl := head
	if end := bytes.Index(head, []byte("?>")); end >= 0 {
		decl = head[:end]
	}
	_, rest, ok := bytes.Cut(decl, []byte("encoding"))
	if !ok {
		return ""
	}
	rest = bytes.TrimLeft(rest, " \t\r\n")
	if len(rest) == 0 || rest[0] != '=' {
		return ""
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) == 0 || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	val, _, ok := bytes.Cut(rest[1:], rest[:1])
	if !ok {
		return ""
	}
	return string(val)
}

func isUnicodeLabel(label string) bool {
	l := strings.ToLower(label)
	return strings.HasPrefix(l, "utf-8") || strings.HasPrefix(l, "utf8") ||
		strings.HasPrefix(l, "utf-16") || strings.HasPrefix(l, "utf16") ||
		l == "unicode" || l == "ucs-2"
}

// charsetReader lets the XML decoder accept a declaration that names the
// encoding the stream had before textSource transcoded it.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	if isUnicodeLabel(label) {
		return input, nil
	}
	if _, err := htmlindex.Get(label); err == nil {
		return input, nil // already decoded by textSource
	}
	return nil, fmt.Errorf("unsupported encoding %q", label)
}
