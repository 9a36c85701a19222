package wiki

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// blockSize is the unit the decoding goroutine hands to Next: large enough
// that channel traffic is negligible next to parsing, small enough that the
// first page arrives quickly.
const blockSize = 1 << 20

// block is one piece of the decoded stream, or the error that ended it.
type block struct {
	data []byte
	err  error
}

// pipeline decodes a dump file in goroutines of its own, so decompression
// overlaps with XML parsing and Next can give up waiting when its context
// ends.
type pipeline struct {
	blocks chan block
	free   chan []byte
	stop   chan struct{}
	wg     sync.WaitGroup
}

// startPipeline sniffs compression and text encoding from the content of r
// (names lie: a ".bz2" may be plain XML) and starts decoding. workers > 1
// decodes multistream bzip2 in parallel.
func startPipeline(r io.Reader, workers int) (*pipeline, error) {
	p := &pipeline{
		blocks: make(chan block, 8),
		free:   make(chan []byte, 10),
		stop:   make(chan struct{}),
	}
	br := bufio.NewReaderSize(r, 1<<20)
	magic, err := br.Peek(6)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("sniff compression: %w", err)
	}
	var raw io.Reader
	switch {
	case len(magic) >= 4 && string(magic[:3]) == "BZh" && magic[3] >= '1' && magic[3] <= '9':
		raw = newBzip2Reader(br, workers, p.stop, &p.wg)
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip header: %w", err)
		}
		raw = zr
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return nil, errors.New("xz compression is not supported: decompress with `xz -d` or recompress with bzip2")
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return nil, errors.New("zstd compression is not supported: decompress with `zstd -d` or recompress with bzip2")
	default:
		raw = br
	}
	p.wg.Add(1)
	go p.produce(raw)
	return p, nil
}

// produce runs in its own goroutine: it detects the text encoding of the
// decompressed stream and sends UTF-8 blocks until the end or until stop.
func (p *pipeline) produce(raw io.Reader) {
	defer p.wg.Done()
	defer close(p.blocks)
	src, err := utf8Stream(raw)
	if err != nil {
		p.send(block{err: err})
		return
	}
	for {
		var buf []byte
		select {
		case buf = <-p.free:
		default:
			buf = make([]byte, blockSize)
		}
		n := 0
		var err error
		for n < len(buf) && err == nil {
			var m int
			m, err = src.Read(buf[n:])
			n += m
		}
		if n > 0 && !p.send(block{data: buf[:n]}) {
			return
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			p.send(block{err: err})
			return
		}
	}
}

func (p *pipeline) send(b block) bool {
	select {
	case p.blocks <- b:
		return true
	case <-p.stop:
		return false
	}
}

// recycle hands a consumed block buffer back to the producer.
func (p *pipeline) recycle(buf []byte) {
	if cap(buf) != blockSize {
		return
	}
	select {
	case p.free <- buf[:blockSize]:
	default:
	}
}

// close stops the goroutines; the caller closes the file afterwards or
// before (a read of a closed file just ends the producer sooner).
func (p *pipeline) close() {
	close(p.stop)
	// Drain so a producer blocked on a full channel sees stop promptly.
	go func() {
		for range p.blocks {
		}
	}()
	p.wg.Wait()
}

// utf8Stream returns raw as UTF-8: a UTF-16 stream (BOM, or '<' as its first
// code unit) is transcoded, a UTF-8 BOM dropped, and a legacy charset named
// in the XML declaration decoded.
func utf8Stream(raw io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(raw, 1<<16)
	head, err := br.Peek(256)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read head: %w", err)
	}
	var enc encoding.Encoding
	switch {
	case bytes.HasPrefix(head, []byte{0xef, 0xbb, 0xbf}):
		if _, err := br.Discard(3); err != nil {
			return nil, fmt.Errorf("skip BOM: %w", err)
		}
		return br, nil
	case bytes.HasPrefix(head, []byte{0xff, 0xfe}), bytes.HasPrefix(head, []byte{'<', 0}):
		enc = unicode.UTF16(unicode.LittleEndian, unicode.UseBOM)
	case bytes.HasPrefix(head, []byte{0xfe, 0xff}), bytes.HasPrefix(head, []byte{0, '<'}):
		enc = unicode.UTF16(unicode.BigEndian, unicode.UseBOM)
	default:
		label := declaredEncoding(head)
		if label == "" || isUnicodeLabel(label) {
			return br, nil
		}
		e, err := htmlindex.Get(label)
		if err != nil {
			return nil, fmt.Errorf("XML declaration names encoding %q: %w", label, err)
		}
		enc = e
	}
	return transform.NewReader(br, enc.NewDecoder()), nil
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
// encoding the stream had before utf8Stream transcoded it.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	if isUnicodeLabel(label) {
		return input, nil
	}
	if _, err := htmlindex.Get(label); err == nil {
		return input, nil // already decoded by utf8Stream
	}
	return nil, fmt.Errorf("unsupported encoding %q", label)
}

// bz2BlockMagic follows "BZh" and the level digit at the start of a bzip2
// stream whose first block follows: the 48-bit block magic (digits of pi).
// A multistream dump concatenates such streams, each byte-aligned.
const bz2BlockMagic = "\x31\x41\x59\x26\x53\x59"

// newBzip2Reader decodes bzip2. Go's compress/bzip2 reads concatenated
// streams on its own; when the file holds several streams in its first
// megabytes (a multistream dump) and there are workers to spare, the streams
// are decoded in parallel and reassembled in order.
func newBzip2Reader(br *bufio.Reader, workers int, stop <-chan struct{}, wg *sync.WaitGroup) io.Reader {
	if workers < 2 {
		return bzip2.NewReader(br)
	}
	head, _ := br.Peek(1 << 20)
	if len(head) < 8<<10 || nextStream(head, 4) < 0 {
		return bzip2.NewReader(br)
	}
	return newParallelBzip2(br, workers, segmentTarget, stop, wg)
}

// nextStream returns the index of the first stream header in b at or after
// from, or -1.
func nextStream(b []byte, from int) int {
	for i := from; i+10 <= len(b); {
		k := bytes.Index(b[i:], []byte("BZh"))
		if k < 0 {
			return -1
		}
		j := i + k
		if j+10 > len(b) {
			return -1
		}
		if b[j+3] >= '1' && b[j+3] <= '9' && string(b[j+4:j+10]) == bz2BlockMagic {
			return j
		}
		i = j + 1
	}
	return -1
}

var errStopped = errors.New("reader closed")

// segResult is the decoded text of one run of streams.
type segResult struct {
	data []byte
	err  error
}

// parallelBzip2 is an io.Reader over the in-order results of workers that
// each decode a run of whole bzip2 streams.
type parallelBzip2 struct {
	futures chan chan segResult
	cur     []byte
	err     error
}

// segmentTarget is the compressed size of work handed to one worker; a
// Wikipedia multistream dump puts 100 pages (~200 KB compressed) in a stream.
// Segments are cut at the first stream start past target bytes.
const segmentTarget = 512 << 10

func newParallelBzip2(src io.Reader, workers, target int, stop <-chan struct{}, wg *sync.WaitGroup) *parallelBzip2 {
	p := &parallelBzip2{futures: make(chan chan segResult, 2*workers)}
	type job struct {
		seg []byte
		out chan segResult
	}
	jobs := make(chan job)
	wg.Add(1 + workers)
	for range workers {
		go func() {
			defer wg.Done()
			for j := range jobs {
				data, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(j.seg)))
				j.out <- segResult{data: data, err: err}
			}
		}()
	}
	go func() {
		defer wg.Done()
		defer close(jobs)
		defer close(p.futures)
		var buf []byte
		eof := false
		for {
			// Cut at the first stream start after segmentTarget bytes, or
			// take the rest at the end of the file.
			cut := -1
			for cut < 0 {
				if len(buf) > target {
					cut = nextStream(buf, target)
				}
				if cut >= 0 {
					break
				}
				if eof {
					cut = len(buf)
					break
				}
				chunk := make([]byte, 4<<20)
				n, err := io.ReadFull(src, chunk)
				buf = append(buf, chunk[:n]...)
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					eof = true
				} else if err != nil {
					out := make(chan segResult, 1)
					out <- segResult{err: err}
					select {
					case p.futures <- out:
					case <-stop:
					}
					return
				}
			}
			if cut == 0 {
				return
			}
			seg := buf[:cut:cut]
			buf = append([]byte(nil), buf[cut:]...)
			out := make(chan segResult, 1)
			select {
			case p.futures <- out:
			case <-stop:
				return
			}
			select {
			case jobs <- job{seg: seg, out: out}:
			case <-stop:
				// The reader may already wait on this future.
				out <- segResult{err: errStopped}
				return
			}
		}
	}()
	return p
}

func (p *parallelBzip2) Read(b []byte) (int, error) {
	for len(p.cur) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		fut, ok := <-p.futures
		if !ok {
			p.err = io.EOF
			continue
		}
		res := <-fut
		p.cur = res.data
		if res.err != nil {
			p.err = res.err
		}
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}
