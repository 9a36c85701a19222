package wiki

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// Parallel bzip2 decoding. The file is cut into units that decode
// independently: with a multistream index, runs of whole streams at the
// offsets it lists; without one, single blocks, found by searching the
// file for the 48-bit block magic at every bit offset (blocks are not
// byte-aligned). Workers decode units concurrently; the reader takes their
// output in file order.
//
// Memory: each unit has its own queue of at most unitQueue pieces of
// pieceSize bytes, and at most workers+2 units are handed out at a time
// (the one being read included), so decoded text waiting in memory is
// bounded whatever the file holds (see bzWorkerBytes). A worker that runs
// ahead blocks on its unit's full queue; units are handed to workers in
// file order, so the unit being read always has a worker of its own, and
// this cannot deadlock.

const (
	pieceSize  = 256 << 10 // bytes of decoded text handed over at a time
	unitQueue  = 8         // pieces a unit may have waiting: 2 MiB, a text block and then some
	scanWindow = 1 << 20   // bytes the block scanner reads at a time
	inputBuf   = 256 << 10 // compressed bytes a worker reads at a time
)

// bzWorkerBytes is the memory one decoding worker may hold: its decoder,
// its input buffer, the pieces of a block it holds until the block's CRC
// is checked (two queues' worth), and the full queue of its unit: 14.7 MB.
// Units handed out ahead of the workers add at most two more queues.
const bzWorkerBytes = bzDecoderBytes + inputBuf + 3*unitQueue*pieceSize

// bzNextEOF marks, as the next expected block, the end of the input.
const bzNextEOF = -2

// piece is a run of decoded text, or the error that ended a unit.
type piece struct {
	data []byte
	err  error
	pos  int64 // sequential sources: compressed bytes read when the piece was cut
}

// bzUnit is one piece of work for a decoding worker.
type bzUnit struct {
	seq   int
	start int64 // byte offset in the file
	size  int64 // compressed bytes the unit stands for, for progress
	// bit is the bit offset of the block magic of a single-block unit, -1
	// for a unit of whole streams (ending at start+size).
	bit int64
	// headerOnly: keep only the text before the first <page>. A shard
	// other than the first reads the site header from a stream that also
	// holds pages of the first shard.
	headerOnly bool
	pages      int // pages in the unit's streams per the index, -1 unknown
	out        chan piece
	end        bzUnitEnd // set by the worker before it closes out
}

// bzUnitEnd is what a worker found after a single-block unit.
type bzUnitEnd struct {
	at        int64 // bit offset where the block ended
	next      int64 // bit offset where the next block must start, bzNextEOF, or -1 unknown
	lost      bool  // what follows the block is neither a block nor the end of the stream
	blockCRC  uint32
	streamEnd bool   // the stream ended after the block
	streamCRC uint32 // its combined CRC, when streamEnd
}

// bzSource decodes a bzip2 file with workers and hands the text out in
// order.
type bzSource struct {
	f     *os.File
	name  string
	size  int64
	total int64 // compressed bytes this reader covers (a shard covers part)

	ctx     context.Context
	wg      sync.WaitGroup
	futures chan *bzUnit
	pool    chan []byte

	scan     bool // units are scanned blocks, not indexed streams
	tune     bzTune
	cur      *bzUnit
	expect   int64  // scan mode: bit offset of the next block, bzNextEOF, or -1
	comb     uint32 // scan mode: combined CRC of the current stream so far
	combOK   bool   // comb covers every block of the stream
	done     atomic.Int64
	finished bool
}

// bzTune changes how blocks are found, for tests; the zero value is what
// the reader uses.
type bzTune struct {
	window int // bytes scanned at a time, scanWindow when 0
	// find replaces scanBlockMagics, to inject chance matches.
	find func(buf []byte, limit int, fn func(i int, shift uint) bool)
}

// bzPlan is the list of units of an indexed file, or nil to scan.
type bzPlan struct {
	units []bzUnit
}

func newBzSource(ctx context.Context, f *os.File, name string, size int64, workers int, plan *bzPlan, tune bzTune) *bzSource {
	workers = max(workers, 1)
	if tune.window <= 0 {
		tune.window = scanWindow
	}
	if tune.find == nil {
		tune.find = scanBlockMagics
	}
	s := &bzSource{
		f: f, name: name, size: size, total: size, ctx: ctx,
		futures: make(chan *bzUnit, workers+1),
		pool:    make(chan []byte, (workers+2)*unitQueue*2),
		combOK:  true,
		tune:    tune,
	}
	if plan == nil {
		s.expect = bzFirstBlock(f, size)
	}
	jobs := make(chan *bzUnit)
	s.wg.Add(1 + workers)
	for range workers {
		go s.worker(jobs)
	}
	if plan != nil {
		s.total = 0
		for _, u := range plan.units {
			s.total += u.size
		}
		go s.dispatchPlan(plan.units, jobs)
	} else {
		s.scan = true
		go s.dispatchScan(jobs)
	}
	return s
}

// bzFirstBlock returns the bit offset where the first block of a file must
// start, for the scanner to tell it from chance matches of the magic. That
// is right after the first stream header, unless empty streams (bzip2 of
// nothing, 14 bytes each) come first; a file of empty streams alone holds
// no block, and bzNextEOF says so. When the start of the file is not well
// formed it returns 32, after one header, and the units report the damage;
// -1 (anywhere) when an empty stream is followed by something else.
func bzFirstBlock(f io.ReaderAt, size int64) int64 {
	const afterHeader = 32
	br := newBitReader(io.NewSectionReader(f, 0, size), 0, make([]byte, 4096))
	for first := true; ; first = false {
		if _, err := bzStreamHeader(br); err != nil {
			if first || br.err != nil {
				return afterHeader
			}
			// Bytes after a stream that are not one: trailing garbage,
			// or a damaged header with blocks after it. As in
			// decodeBlockUnit, the next block may start anywhere.
			return -1
		}
		pos := br.bitPos()
		switch br.read(48) {
		case bzBlockMagic:
			return pos
		case bzEOSMagic:
			// The combined CRC of no blocks is 0.
			if br.read(32) != 0 || br.overrun() {
				return afterHeader
			}
			br.alignByte()
			if br.atEOF() {
				if br.err != nil {
					return afterHeader
				}
				return bzNextEOF
			}
		default:
			return afterHeader
		}
	}
}

// hand queues u for reading and for a worker, in that order, so the reader
// sees units in file order.
func (s *bzSource) hand(u *bzUnit, jobs chan<- *bzUnit) bool {
	u.out = make(chan piece, unitQueue)
	select {
	case s.futures <- u:
	case <-s.ctx.Done():
		return false
	}
	select {
	case jobs <- u:
		return true
	case <-s.ctx.Done():
		// The reader may be waiting on this unit.
		close(u.out)
		return false
	}
}

func (s *bzSource) dispatchPlan(units []bzUnit, jobs chan<- *bzUnit) {
	defer s.wg.Done()
	defer close(jobs)
	defer close(s.futures)
	for i := range units {
		u := units[i]
		u.seq = i
		if !s.hand(&u, jobs) {
			return
		}
	}
}

// dispatchScan finds the blocks of the file and hands each out as a unit.
// A unit is handed out when the next block is found, which gives its size.
func (s *bzSource) dispatchScan(jobs chan<- *bzUnit) {
	defer s.wg.Done()
	defer close(jobs)
	defer close(s.futures)
	buf := make([]byte, s.tune.window+8)
	var pending *bzUnit
	seq := 0
	emit := func(bit int64) bool {
		if pending != nil {
			pending.size = bit/8 - pending.start
			if !s.hand(pending, jobs) {
				return false
			}
		}
		start := bit / 8
		if seq == 0 {
			start = 0 // the first unit stands for the file header too
		}
		pending = &bzUnit{seq: seq, start: start, bit: bit, pages: -1}
		seq++
		return true
	}
	carry := 0 // bytes kept from the previous window, where a magic may begin
	for off := int64(0); ; {
		n, err := s.f.ReadAt(buf[carry:], off)
		n += carry
		base := off - int64(carry)
		last := err != nil
		limit := n
		if !last {
			limit = max(n-7, 0) // a magic starting here may run into the next window
		}
		ok := true
		s.tune.find(buf[:n], limit, func(i int, shift uint) bool {
			ok = emit((base+int64(i))*8 + int64(shift))
			return ok
		})
		if !ok {
			return
		}
		if last {
			if err != nil && !errors.Is(err, io.EOF) {
				// Hand out what was found, then the error in a unit of
				// its own.
				if pending != nil && !s.hand(pending, jobs) {
					return
				}
				u := &bzUnit{seq: seq, start: base, bit: -1, pages: -1, out: make(chan piece, 1)}
				u.out <- piece{err: err}
				close(u.out)
				select {
				case s.futures <- u:
				case <-s.ctx.Done():
				}
				return
			}
			break
		}
		carry = copy(buf, buf[limit:n])
		off = base + int64(n)
	}
	if pending != nil {
		pending.size = s.size - pending.start
		s.hand(pending, jobs)
	}
}

// bzMagicPatterns holds, for each bit shift of the block magic within a
// byte, the bytes it fully covers and the masks of the partial bytes
// around them.
type bzMagicPattern struct {
	mid        []byte // fully covered bytes, starting at byte 1 (byte 0 if shift 0)
	head, hmsk byte   // byte 0: bits of the magic and which bits they are
	tail, tmsk byte   // the byte after mid
}

var bzMagicPatterns = func() (ps [8]bzMagicPattern) {
	for s := uint(0); s < 8; s++ {
		// The magic shifted right by s bits in a 56-bit window.
		w := uint64(bzBlockMagic) << (8 - s)
		var b [7]byte
		for i := range b {
			b[i] = byte(w >> (48 - 8*uint(i)))
		}
		if s == 0 {
			ps[s] = bzMagicPattern{mid: b[:6]}
			continue
		}
		ps[s] = bzMagicPattern{
			mid:  bytes.Clone(b[1:6]),
			head: b[0], hmsk: byte(0xff >> s),
			tail: b[6], tmsk: byte(0xff << (8 - s)),
		}
	}
	return ps
}()

// scanBlockMagics calls fn, in order of position, for every block magic
// that starts in buf[:limit], at byte i and bit shift (0 = the byte's top
// bit). buf must extend 7 bytes past limit unless limit == len(buf).
func scanBlockMagics(buf []byte, limit int, fn func(i int, shift uint) bool) {
	// One search per shift, merged in position order.
	var next [8]int
	find := func(s uint, from int) int {
		p := &bzMagicPatterns[s]
		for from < limit {
			j := from
			if s > 0 {
				j++ // mid starts at the byte after the head
			}
			k := bytes.Index(buf[j:], p.mid)
			if k < 0 {
				return -1
			}
			i := j + k
			if s > 0 {
				i-- // back to the head byte
			}
			if i >= limit {
				return -1
			}
			if s == 0 || (buf[i]&p.hmsk == p.head&p.hmsk && i+6 < len(buf) && buf[i+6]&p.tmsk == p.tail&p.tmsk) {
				return i
			}
			from = i + 1
		}
		return -1
	}
	for s := range next {
		next[s] = find(uint(s), 0)
	}
	for {
		best := -1
		for s := range next {
			if next[s] >= 0 && (best < 0 || next[s] < next[best] || (next[s] == next[best] && s < best)) {
				best = s
			}
		}
		if best < 0 {
			return
		}
		if !fn(next[best], uint(best)) {
			return
		}
		next[best] = find(uint(best), next[best]+1)
	}
}

func (s *bzSource) getBuf() []byte {
	select {
	case b := <-s.pool:
		return b[:pieceSize]
	default:
		return make([]byte, pieceSize)
	}
}

func (s *bzSource) recycle(b []byte) {
	if cap(b) != pieceSize {
		return
	}
	select {
	case s.pool <- b[:pieceSize]:
	default:
	}
}

func (s *bzSource) worker(jobs <-chan *bzUnit) {
	defer s.wg.Done()
	d := newBzDecoder()
	in := make([]byte, inputBuf)
	for u := range jobs {
		w := &unitWriter{s: s, u: u}
		var err error
		if u.bit >= 0 {
			err = s.decodeBlockUnit(d, in, w)
		} else {
			err = s.decodeStreamUnit(d, in, w)
		}
		if errors.Is(err, errHeaderDone) {
			err = nil
		}
		if err != nil && s.ctx.Err() == nil {
			w.send(piece{err: err})
		}
		close(u.out)
	}
}

var errHeaderDone = errors.New("header read")

// decodeStreamUnit decodes the whole streams of an indexed unit.
func (s *bzSource) decodeStreamUnit(d *bzDecoder, in []byte, w *unitWriter) error {
	u := w.u
	br := newBitReader(io.NewSectionReader(s.f, u.start, u.size), u.start, in)
	for {
		if _, err := bzStreamHeader(br); err != nil {
			return err
		}
		comb := uint32(0)
		for {
			magic := br.read(48)
			if magic == bzEOSMagic {
				break
			}
			if magic != bzBlockMagic {
				return br.inputErr(bzError(fmt.Sprintf("bad block magic %012x at byte %d", magic, br.bitPos()/8-6)))
			}
			crc, err := w.block(d, br)
			if err != nil {
				return err
			}
			comb = combineCRC(comb, crc)
		}
		want := uint32(br.read(32))
		if br.overrun() {
			return br.inputErr(io.ErrUnexpectedEOF)
		}
		if want != comb {
			return bzError(fmt.Sprintf("stream CRC %08x, computed %08x", want, comb))
		}
		br.alignByte()
		if br.atEOF() {
			return br.inputErr(nil)
		}
	}
}

// decodeBlockUnit decodes the one block of a scanned unit and looks at what
// follows it, so the reader can tell true block starts from chance matches
// of the magic inside compressed data.
func (s *bzSource) decodeBlockUnit(d *bzDecoder, in []byte, w *unitWriter) error {
	u := w.u
	byteOff := u.bit / 8
	br := newBitReader(io.NewSectionReader(s.f, byteOff, s.size-byteOff), byteOff, in)
	br.read(uint(u.bit % 8))
	if magic := br.read(48); magic != bzBlockMagic {
		return br.inputErr(bzError("no block magic"))
	}
	crc, err := w.block(d, br)
	if err != nil {
		return err
	}
	u.end = bzUnitEnd{at: br.bitPos(), next: -1, blockCRC: crc}
	// What follows: the next block, or the end of the stream, then
	// possibly more streams (empty ones too).
	for first := true; ; first = false {
		pos := br.bitPos()
		magic := br.read(48)
		switch {
		case magic == bzBlockMagic:
			u.end.next = pos
			return nil
		case magic == bzEOSMagic:
			scrc := uint32(br.read(32))
			if first {
				u.end.streamEnd, u.end.streamCRC = true, scrc
			}
			br.alignByte()
			if br.atEOF() {
				if br.err == nil && !br.overrun() {
					u.end.next = bzNextEOF
				}
				return nil
			}
			if _, err := bzStreamHeader(br); err != nil {
				// Bytes after a stream that are not one: bzip2 ignores
				// such trailing garbage, and so do we.
				return nil
			}
		default:
			u.end.lost = first && !br.overrun()
			return nil
		}
	}
}

// unitWriter hands a unit's text to its queue.
type unitWriter struct {
	s    *bzSource
	u    *bzUnit
	held [][]byte // a block's pieces, kept until its CRC is checked
	// carry holds the end of the previous piece of a headerOnly unit, where
	// a <page> may begin.
	carry []byte
}

func (w *unitWriter) send(p piece) bool {
	select {
	case w.u.out <- p:
		return true
	case <-w.s.ctx.Done():
		return false
	}
}

// block decodes the block at br and sends its text once its CRC checks.
// A block whose text does not fit in twice a queue (a long run of one
// byte) is run-length decoded twice: once for the CRC, once to send.
func (w *unitWriter) block(d *bzDecoder, br *bitReader) (uint32, error) {
	blk, err := d.readBlock(br)
	if err != nil {
		return 0, err
	}
	rle := newRLE(blk.pre)
	for !rle.done() && len(w.held) < 2*unitQueue {
		b := w.s.getBuf()
		w.held = append(w.held, b[:rle.fill(b)])
	}
	spilled := !rle.done()
	if spilled {
		var scratch [16 << 10]byte
		for !rle.done() {
			rle.fill(scratch[:])
		}
	}
	if crc := ^rle.crc; crc != blk.crc {
		for _, b := range w.held {
			w.s.recycle(b)
		}
		w.held = w.held[:0]
		return 0, bzError(fmt.Sprintf("block CRC %08x, computed %08x", blk.crc, crc))
	}
	held := 0
	for _, b := range w.held {
		held += len(b)
		if err := w.emit(b); err != nil {
			w.held = w.held[:0]
			return 0, err
		}
	}
	w.held = w.held[:0]
	if spilled {
		again := newRLE(blk.pre)
		for !again.done() {
			b := w.s.getBuf()
			n := again.fill(b)
			if held > 0 {
				k := min(held, n)
				held -= k
				n = copy(b, b[k:n])
			}
			if err := w.emit(b[:n]); err != nil {
				return 0, err
			}
		}
	}
	return blk.crc, nil
}

// emit sends a piece, or for a headerOnly unit the text up to the first
// <page> and then errHeaderDone.
func (w *unitWriter) emit(b []byte) error {
	if w.u.headerOnly {
		if cut := headerCut(w.carry, b); cut >= 0 {
			b = b[:cut]
			if len(b) > 0 && !w.send(piece{data: b}) {
				return w.s.ctx.Err()
			}
			return errHeaderDone
		}
		w.carry = append(w.carry[:0], b[max(0, len(b)-16):]...)
	}
	if len(b) == 0 {
		w.s.recycle(b)
		return nil
	}
	if !w.send(piece{data: b}) {
		return w.s.ctx.Err()
	}
	return nil
}

// pageMarks are <page> in UTF-8 and in both UTF-16 byte orders.
var pageMarks = [][]byte{
	[]byte(pageOpen),
	[]byte("<\x00p\x00a\x00g\x00e\x00>\x00"),
	[]byte("\x00<\x00p\x00a\x00g\x00e\x00>"),
}

// headerCut returns where in b the first <page> starts, 0 if one began in
// the carried tail of the previous piece, or -1.
func headerCut(carry, b []byte) int {
	joined := append(append(make([]byte, 0, len(carry)+len(b)), carry...), b...)
	best := -1
	for _, m := range pageMarks {
		if k := bytes.Index(joined, m); k >= 0 && (best < 0 || k < best) {
			best = k
		}
	}
	if best < 0 {
		return -1
	}
	return max(0, best-len(carry))
}

// next returns the next run of text; see source.
func (s *bzSource) next(ctx context.Context) (data []byte, unit int, err error) {
	for {
		if s.finished {
			return nil, 0, io.EOF
		}
		if s.cur == nil {
			var u *bzUnit
			var ok bool
			select {
			case u, ok = <-s.futures:
			case <-ctx.Done():
				return nil, 0, ctx.Err()
			}
			if !ok {
				s.finished = true
				if err := s.ctx.Err(); err != nil {
					return nil, 0, err
				}
				if s.scan && s.expect >= 0 {
					return nil, 0, fmt.Errorf("bzip2 data truncated: it ends at byte %d inside a stream: %w", s.size, io.ErrUnexpectedEOF)
				}
				s.done.Store(s.total)
				return nil, 0, io.EOF
			}
			if u.bit >= 0 && s.expect != -1 && u.bit != s.expect {
				if s.expect == bzNextEOF || u.bit < s.expect {
					// A chance match of the magic inside a block.
					s.drain(u)
					s.done.Add(u.size)
					continue
				}
				// Bits between the end of the last block and this one
				// decoded as nothing: a block whose magic was damaged.
				gap := &StreamError{File: s.name, Offset: s.expect / 8, Bit: s.expect % 8, Pages: -1, Block: true,
					Err: fmt.Errorf("no block where one should start (next block at byte %d)", u.bit/8)}
				s.expect = -1
				s.combOK = false
				s.cur = u
				return nil, u.seq, gap
			}
			s.cur = u
		}
		u := s.cur
		var p piece
		var ok bool
		select {
		case p, ok = <-u.out:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
		if ok && p.err == nil {
			return p.data, u.seq, nil
		}
		// The unit ended, well or not.
		s.cur = nil
		s.done.Add(u.size)
		if !ok {
			if err := s.ctx.Err(); err != nil {
				return nil, 0, err
			}
			if err := s.unitEnded(u); err != nil {
				return nil, u.seq, err
			}
			continue
		}
		s.drain(u)
		return nil, u.seq, s.unitFailed(u, p.err)
	}
}

// unitEnded checks the CRCs of a stream across scanned blocks and sets
// where the next block must be.
func (s *bzSource) unitEnded(u *bzUnit) error {
	if u.bit < 0 {
		return nil
	}
	e := u.end
	s.comb = combineCRC(s.comb, e.blockCRC)
	s.expect = e.next
	if e.streamEnd {
		ok := s.combOK
		comb := s.comb
		s.comb, s.combOK = 0, true
		if ok && comb != e.streamCRC {
			return &StreamError{File: s.name, Offset: u.bit / 8, Bit: u.bit % 8, Pages: -1, Block: true,
				Err: fmt.Errorf("stream CRC %08x, computed %08x: a block of the stream was lost", e.streamCRC, comb)}
		}
	}
	if e.lost {
		s.combOK = false
		return &StreamError{File: s.name, Offset: e.at / 8, Bit: e.at % 8, Pages: -1, Block: true,
			Err: errors.New("neither a block nor the end of the stream follows the block before")}
	}
	return nil
}

// unitFailed turns a unit's error into a lost stream, or, when the file
// ends inside it, a truncated input.
func (s *bzSource) unitFailed(u *bzUnit, err error) error {
	s.expect = -1
	s.combOK = false
	last := u.start+u.size >= s.size
	if errors.Is(err, io.ErrUnexpectedEOF) && last {
		s.finished = true
		return fmt.Errorf("bzip2 data truncated in the %s at byte %d: %w", unitKind(u), unitOffset(u), io.ErrUnexpectedEOF)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		// More of the file follows: the stream is shorter than its blocks
		// say, which is damage, not the end of the input.
		err = bzError("compressed data ends inside a block")
	}
	var bz bzError
	if !errors.As(err, &bz) {
		// A read error of the file: nothing after it can be trusted.
		s.finished = true
		return fmt.Errorf("read at byte %d: %w", unitOffset(u), err)
	}
	bit := int64(0)
	if u.bit >= 0 {
		bit = u.bit % 8
	}
	return &StreamError{File: s.name, Offset: unitOffset(u), Bit: bit, Pages: u.pages, Block: u.bit >= 0, Err: err}
}

func unitOffset(u *bzUnit) int64 {
	if u.bit >= 0 {
		return u.bit / 8
	}
	return u.start
}

func unitKind(u *bzUnit) string {
	if u.bit >= 0 {
		return "block"
	}
	return "stream"
}

// drain discards what a unit's worker still sends.
func (s *bzSource) drain(u *bzUnit) {
	for {
		select {
		case p, ok := <-u.out:
			if !ok {
				return
			}
			s.recycle(p.data)
		case <-s.ctx.Done():
			return
		}
	}
}

func (s *bzSource) progress() (int64, int64) { return s.done.Load(), s.total }

// close waits for the goroutines, which the caller stopped by cancelling
// the source's context.
func (s *bzSource) close() {
	go func() {
		for u := range s.futures {
			for range u.out {
			}
		}
	}()
	s.wg.Wait()
}
