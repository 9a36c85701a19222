package wiki

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// A bzip2 decoder of our own. compress/bzip2 decodes about 2.5 times more
// slowly than the C bzip2, which made the decompressor, not parsing, the
// bound of an ingest. This one decodes one block at a time from any bit
// offset, so blocks of a single-stream file can be decoded in parallel, and
// it is faster per block: Huffman codes are read through a lookup table
// instead of a bit-by-bit tree walk, the inverse BWT walks the block from
// both ends at once (two independent chains of cache misses instead of
// one), and the CRC is computed eight bytes at a time.

const (
	bzBlockMagic  = 0x314159265359 // π: starts every block
	bzEOSMagic    = 0x177245385090 // √π: ends every stream
	bzMaxBlock    = 900000         // symbols of a level-9 block, the largest
	bzMaxCodeLen  = 20
	bzMaxGroups   = 6
	bzMaxAlpha    = 258
	bzGroupSize   = 50
	bzMaxSelector = 18002 // bzip2 1.0.8 keeps at most this many, ignoring the rest
	// bzFastBits is the width of the Huffman lookup table: codes up to
	// this long (nearly all symbols) are decoded with one lookup.
	bzFastBits = 10
)

// bzError is a bzip2 stream that is not well formed.
type bzError string

func (e bzError) Error() string { return "bzip2 data invalid: " + string(e) }

// bitReader reads bits MSB first, as bzip2 writes them, from a byte
// source refilled in large reads.
type bitReader struct {
	src  io.Reader
	buf  []byte
	pos  int   // next byte of buf to load into bits
	end  int   // bytes of buf that hold data
	base int64 // input offset of buf[0], in bytes
	bits uint64
	n    uint // valid bits at the top of bits
	// pad counts zero bytes loaded past the end of the input, so that a
	// decoder reading beyond it can be told apart from one that did not.
	pad int
	err error // of src, other than io.EOF
	eof bool
}

func newBitReader(src io.Reader, base int64, buf []byte) *bitReader {
	return &bitReader{src: src, buf: buf, base: base}
}

// bitPos is the offset of the next unread bit in the input.
func (br *bitReader) bitPos() int64 {
	return (br.base+int64(br.pos)+int64(br.pad))*8 - int64(br.n)
}

// overrun reports whether more bits were read than the input holds.
func (br *bitReader) overrun() bool { return br.overread() > 0 }

// overread is how many of the bits read lay past the end of the input.
func (br *bitReader) overread() uint {
	if uint(br.pad)*8 > br.n {
		return uint(br.pad)*8 - br.n
	}
	return 0
}

// refill makes at least 57 bits available, padding with zeros at the end
// of the input (see pad).
func (br *bitReader) refill() {
	if br.end-br.pos >= 8 {
		v := binary.BigEndian.Uint64(br.buf[br.pos:])
		br.bits |= v >> br.n
		br.pos += int(63-br.n) >> 3
		br.n |= 56
		return
	}
	br.refillSlow()
}

func (br *bitReader) refillSlow() {
	for br.n <= 56 {
		if br.pos == br.end && !br.eof {
			br.fetch()
			if br.end-br.pos >= 8 {
				br.refill()
				return
			}
		}
		var b byte
		if br.pos < br.end {
			b = br.buf[br.pos]
			br.pos++
		} else {
			br.pad++
		}
		br.bits |= uint64(b) << (56 - br.n)
		br.n += 8
	}
}

// fetch moves the unread bytes to the front of buf and reads more.
func (br *bitReader) fetch() {
	k := copy(br.buf, br.buf[br.pos:br.end])
	br.base += int64(br.pos)
	br.pos, br.end = 0, k
	for br.end < len(br.buf) && !br.eof {
		m, err := br.src.Read(br.buf[br.end:])
		br.end += m
		if err != nil {
			br.eof = true
			if !errors.Is(err, io.EOF) {
				br.err = err
			}
		}
		if m > 0 && br.end >= 8 {
			break
		}
	}
}

// read returns the next k ≤ 32 bits.
func (br *bitReader) read(k uint) uint64 {
	if br.n < k {
		br.refill()
	}
	v := br.bits >> (64 - k)
	br.bits <<= k
	br.n -= k
	return v
}

// alignByte drops the bits up to the next byte boundary.
func (br *bitReader) alignByte() { br.read(br.n % 8) }

// atEOF reports whether the input ends at the current (byte-aligned) bit.
func (br *bitReader) atEOF() bool {
	if int(br.n/8) > br.pad || br.pos < br.end {
		return false
	}
	if !br.eof {
		br.fetch()
	}
	return br.pos == br.end
}

// inputErr is the error to report when a block cannot be read: the
// source's own error, io.ErrUnexpectedEOF when the input ran out, or err.
func (br *bitReader) inputErr(err error) error {
	if br.err != nil {
		return br.err
	}
	if br.overrun() {
		return io.ErrUnexpectedEOF
	}
	return err
}

// huffTable decodes one of a block's Huffman codes. fast holds, for every
// bzFastBits-bit prefix, symbol<<5 | code length; length 0 marks a prefix
// of a longer code, decoded canonically from limit, base and perm.
type huffTable struct {
	fast   [1 << bzFastBits]uint16
	minLen uint
	maxLen uint
	limit  [bzMaxCodeLen + 2]int32 // largest code of each length, -1 if none
	base   [bzMaxCodeLen + 2]int32 // perm index of the first code of each length, minus that code
	perm   [bzMaxAlpha]uint16      // symbols sorted by code length
}

// build sets up the table for the code lengths of alphaSize symbols, as
// bzip2 assigns them: canonically, by length then symbol.
func (t *huffTable) build(lengths []uint8) error {
	var count [bzMaxCodeLen + 2]int32
	t.minLen, t.maxLen = bzMaxCodeLen, 0
	for _, l := range lengths {
		count[l]++
		t.minLen = min(t.minLen, uint(l))
		t.maxLen = max(t.maxLen, uint(l))
	}
	// Kraft: an over-full code cannot be decoded unambiguously.
	left := int64(1)
	for l := 1; l <= bzMaxCodeLen; l++ {
		left = left<<1 - int64(count[l])
		if left < 0 {
			return bzError("over-subscribed Huffman code")
		}
	}
	var next [bzMaxCodeLen + 2]int32 // next perm index per length
	code := int32(0)
	idx := int32(0)
	for l := 1; l <= bzMaxCodeLen+1; l++ {
		next[l] = idx
		if count[l] == 0 {
			t.limit[l] = -1
		} else {
			t.limit[l] = code + count[l] - 1
		}
		t.base[l] = idx - code
		idx += count[l]
		code = (code + count[l]) << 1
	}
	for s, l := range lengths {
		t.perm[next[l]] = uint16(s)
		next[l]++
	}
	clear(t.fast[:])
	code = 0
	k := 0
	for l := uint(1); l <= t.maxLen; l++ {
		for ; k < len(lengths) && uint(lengths[t.perm[k]]) == l; k++ {
			if l <= bzFastBits {
				lo := code << (bzFastBits - l)
				hi := (code + 1) << (bzFastBits - l)
				e := t.perm[k]<<5 | uint16(l)
				for i := lo; i < hi; i++ {
					t.fast[i] = e
				}
			}
			code++
		}
		code <<= 1
	}
	return nil
}

// slow decodes a code longer than bzFastBits from the top of bits; it
// returns the symbol and its length, or length 0 for an invalid code.
func (t *huffTable) slow(bits uint64) (uint16, uint) {
	for l := uint(bzFastBits + 1); l <= t.maxLen; l++ {
		c := int32(bits >> (64 - l))
		if c <= t.limit[l] {
			return t.perm[t.base[l]+c], l
		}
	}
	return 0, 0
}

// bzDecoder holds the state of decoding one block at a time; one per
// goroutine, reused across blocks so decoding allocates nothing in steady
// state.
type bzDecoder struct {
	tt        []uint32 // the block as bytes, then the inverse BWT vector
	lfb       []uint32 // LF mapping above each byte, for the backward half of the walk
	pre       []byte   // the block after the inverse BWT, before run-length decoding
	selectors []uint8
	tables    [bzMaxGroups]huffTable
	lengths   [bzMaxAlpha]uint8
}

// bzDecoderBytes is what a bzDecoder holds in memory once it decoded a
// full-size block: tt, lf and pre.
const bzDecoderBytes = bzMaxBlock*(4+4+1) + bzMaxSelector

func newBzDecoder() *bzDecoder {
	return &bzDecoder{
		tt:        make([]uint32, bzMaxBlock),
		lfb:       make([]uint32, bzMaxBlock),
		pre:       make([]byte, bzMaxBlock),
		selectors: make([]uint8, 0, bzMaxSelector),
	}
}

// bzBlock is a block decoded up to the output: pre holds its bytes before
// run-length decoding.
type bzBlock struct {
	crc uint32 // as stored in the block header
	pre []byte
}

// readBlock decodes the block whose magic was just read from br, up to
// the bytes before run-length decoding. On return br stands at the end of
// the block.
func (d *bzDecoder) readBlock(br *bitReader) (bzBlock, error) {
	blk, err := d.readBlockBits(br)
	if err == nil && br.overrun() {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return blk, br.inputErr(err)
	}
	return blk, nil
}

func (d *bzDecoder) readBlockBits(br *bitReader) (bzBlock, error) {
	var blk bzBlock
	blk.crc = uint32(br.read(32))
	if br.read(1) != 0 {
		return blk, bzError("randomised block (bzip2 0.9.0 and older) not supported")
	}
	origPtr := int(br.read(24))

	// The byte values in use: 16 ranges of 16.
	var alphabet [256]byte
	nInUse := 0
	used := br.read(16)
	for i := range 16 {
		if used&(0x8000>>i) == 0 {
			continue
		}
		m := br.read(16)
		for j := range 16 {
			if m&(0x8000>>j) != 0 {
				alphabet[nInUse] = byte(i*16 + j)
				nInUse++
			}
		}
	}
	if nInUse == 0 {
		return blk, bzError("no symbols in use")
	}
	alphaSize := nInUse + 2
	nGroups := int(br.read(3))
	if nGroups < 2 || nGroups > bzMaxGroups {
		return blk, bzError("bad number of Huffman tables")
	}
	nSelectors := int(br.read(15))
	if nSelectors == 0 {
		return blk, bzError("no selectors")
	}
	// Selectors are sent move-to-front coded, each as a unary number.
	var mtfGroups [bzMaxGroups]uint8
	for i := range mtfGroups {
		mtfGroups[i] = uint8(i)
	}
	d.selectors = d.selectors[:0]
	for i := 0; i < nSelectors; i++ {
		j := 0
		for br.read(1) != 0 {
			j++
			if j >= nGroups {
				return blk, bzError("bad selector")
			}
		}
		v := mtfGroups[j]
		copy(mtfGroups[1:j+1], mtfGroups[:j])
		mtfGroups[0] = v
		if i < bzMaxSelector {
			d.selectors = append(d.selectors, v)
		}
		if br.overrun() {
			return blk, io.ErrUnexpectedEOF
		}
	}
	// Code lengths, delta coded.
	for g := range nGroups {
		l := int(br.read(5))
		for s := range alphaSize {
			for {
				if l < 1 || l > bzMaxCodeLen {
					return blk, bzError("bad code length")
				}
				if br.n < 2 {
					br.refill()
				}
				if br.bits>>63 == 0 {
					br.read(1)
					break
				}
				if (br.bits>>62)&1 == 0 {
					l++
				} else {
					l--
				}
				br.read(2)
			}
			d.lengths[s] = uint8(l)
		}
		if err := d.tables[g].build(d.lengths[:alphaSize]); err != nil {
			return blk, err
		}
		if br.overrun() {
			return blk, io.ErrUnexpectedEOF
		}
	}

	n, err := d.readSymbols(br, alphabet, alphaSize)
	if err != nil {
		return blk, err
	}
	if origPtr >= n {
		return blk, bzError("origin pointer past the end of the block")
	}
	blk.pre = d.inverseBWT(n, origPtr)
	return blk, nil
}

// readSymbols decodes the Huffman coded, move-to-front coded, zero-run
// coded symbols of a block into tt (one byte value per entry) and returns
// their number.
func (d *bzDecoder) readSymbols(br *bitReader, alphabet [256]byte, alphaSize int) (int, error) {
	var mtf [256]byte = alphabet
	eob := uint16(alphaSize - 1)
	tt := d.tt[:bzMaxBlock]
	var counts [256]int
	n := 0
	run, runBit := 0, 0

	// The bit buffer lives in locals for the hot loop.
	bits, nb := br.bits, br.n
	sel := 0
	left := 0
	var t *huffTable
	for {
		if left == 0 {
			if sel >= len(d.selectors) {
				br.bits, br.n = bits, nb
				return 0, bzError("ran out of selectors")
			}
			t = &d.tables[d.selectors[sel]]
			sel++
			left = bzGroupSize
		}
		left--
		if nb < bzMaxCodeLen {
			br.bits, br.n = bits, nb
			br.refill()
			bits, nb = br.bits, br.n
			if br.pad > 8 {
				return 0, io.ErrUnexpectedEOF
			}
		}
		e := t.fast[bits>>(64-bzFastBits)]
		sym, l := e>>5, uint(e&31)
		if l == 0 {
			sym, l = t.slow(bits)
			if l == 0 {
				br.bits, br.n = bits, nb
				return 0, bzError("invalid Huffman code")
			}
		}
		bits <<= l
		nb -= l
		if sym <= 1 {
			// RUNA and RUNB: a run length in bijective base 2.
			run += (int(sym) + 1) << runBit
			runBit++
			if run > bzMaxBlock {
				br.bits, br.n = bits, nb
				return 0, bzError("run longer than a block")
			}
			continue
		}
		if run > 0 {
			if n+run > len(tt) {
				br.bits, br.n = bits, nb
				return 0, bzError("block longer than 900,000 bytes")
			}
			b := mtf[0]
			counts[b] += run
			v := uint32(b)
			seg := tt[n : n+run]
			for i := range seg {
				seg[i] = v
			}
			n += run
			run, runBit = 0, 0
		}
		if sym == eob {
			break
		}
		if sym >= eob {
			br.bits, br.n = bits, nb
			return 0, bzError("symbol out of range")
		}
		if n >= len(tt) {
			br.bits, br.n = bits, nb
			return 0, bzError("block longer than 900,000 bytes")
		}
		pos := uint(sym - 1)
		var b byte
		if pos < 8 {
			// Most moves are short: shift the first bytes as one word.
			w := binary.LittleEndian.Uint64(mtf[:8])
			b = byte(w >> (8 * pos))
			mask := uint64(1)<<(8*(pos+1)) - 1 // all ones for pos 7
			w = w&^mask | (w<<8)&mask | uint64(b)
			binary.LittleEndian.PutUint64(mtf[:8], w)
		} else {
			b = mtf[pos&255]
			copy(mtf[1:pos+1], mtf[:pos])
			mtf[0] = b
		}
		counts[b]++
		tt[n] = uint32(b)
		n++
	}
	br.bits, br.n = bits, nb

	// tt[i] gets, above its byte, the index of the entry that follows it
	// in the text (the T vector); lfb[i] gets the index of the entry
	// before it (the LF mapping) above the same byte.
	var cf [256]int
	sum := 0
	for b, c := range counts {
		cf[b] = sum
		sum += c
	}
	lfb := d.lfb[:n]
	for i := range lfb {
		b := tt[i] & 0xff
		j := cf[b]
		tt[j] |= uint32(i) << 8
		lfb[i] = uint32(j)<<8 | b
		cf[b]++
	}
	return n, nil
}

// inverseBWT writes the n bytes of the block in text order into pre.
// Each step of the walk is a load whose address depends on the one before,
// a cache miss in a 3.6 MB table; walking forward from the start (through
// tt) and backward from the end (through lfb) at the same time keeps two
// misses in flight, which measured 1.4 times faster than one walk.
func (d *bzDecoder) inverseBWT(n, origPtr int) []byte {
	tt, lfb := d.tt[:n], d.lfb[:n]
	pre := d.pre[:n]
	half := n / 2
	// Forward: text[0] is the byte at row tt[origPtr]>>8. Backward: the
	// last byte of the text is the last column of row origPtr.
	f := tt[origPtr] >> 8
	bk := uint32(origPtr)
	i, j := 0, n-1
	for ; i < half; i, j = i+1, j-1 {
		v := tt[f]
		pre[i] = byte(v)
		f = v >> 8
		w := lfb[bk]
		pre[j] = byte(w)
		bk = w >> 8
	}
	for ; i <= j; i++ {
		v := tt[f]
		pre[i] = byte(v)
		f = v >> 8
	}
	// The halves join only if the walk from origPtr comes back to it after
	// n steps. A damaged block can make the vector a permutation whose
	// cycle through origPtr is shorter and does not divide n; bzip2 then
	// walks forward only, round that cycle, and the block's CRC decides.
	// So must we, for the same text: then the forward step from where the
	// backward walk stopped is where the forward walk stopped.
	if f != tt[bk]>>8 {
		f = tt[origPtr] >> 8
		for i := range pre {
			v := tt[f]
			pre[i] = byte(v)
			f = v >> 8
		}
	}
	return pre
}

// rleState carries the run-length decoding of a block across output
// buffers.
type rleState struct {
	in      []byte // rest of the block before run-length decoding
	last    int    // previous byte, -1 at the start
	same    int    // how many times in a row last came, up to 4
	pending int    // copies of last still to write
	crc     uint32
}

func newRLE(pre []byte) rleState { return rleState{in: pre, last: -1, crc: ^uint32(0)} }

// done reports whether the whole block was written.
func (s *rleState) done() bool { return len(s.in) == 0 && s.pending == 0 }

// fill writes decoded bytes into out and returns how many; it stops when
// out is full or the block is done. After four equal bytes the next byte
// of the input is a count of further copies.
func (s *rleState) fill(out []byte) int {
	w := 0
	for w < len(out) {
		if s.pending > 0 {
			k := min(s.pending, len(out)-w)
			b := byte(s.last)
			for i := range out[w : w+k] {
				out[w+i] = b
			}
			w += k
			s.pending -= k
			if s.pending == 0 {
				s.last, s.same = -1, 0
			}
			continue
		}
		if len(s.in) == 0 {
			break
		}
		// Copy bytes until four equal ones in a row.
		in := s.in
		lim := min(len(in), len(out)-w)
		last, same := s.last, s.same
		k := 0
		four := false
		for k < lim {
			b := in[k]
			if int(b) == last {
				same++
			} else {
				last, same = int(b), 1
			}
			out[w+k] = b
			k++
			if same == 4 {
				four = true
				break
			}
		}
		w += k
		s.in = in[k:]
		s.last, s.same = last, same
		if four {
			// A count of further copies follows; then a new run starts.
			s.same = 0
			if len(s.in) == 0 {
				s.last = -1 // bzip2 never ends a block so; take it as 0
				break
			}
			s.pending = int(s.in[0])
			s.in = s.in[1:]
			if s.pending == 0 {
				s.last = -1
			}
		}
	}
	s.crc = bzCRCUpdate(s.crc, out[:w])
	return w
}

// bzCRCTable is slicing-by-8 for bzip2's CRC-32 (polynomial 0x04c11db7,
// MSB first).
var bzCRCTable = func() (t [8][256]uint32) {
	for i := range 256 {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04c11db7
			} else {
				c <<= 1
			}
		}
		t[0][i] = c
	}
	for i := range 256 {
		for k := 1; k < 8; k++ {
			t[k][i] = t[k-1][i]<<8 ^ t[0][t[k-1][i]>>24]
		}
	}
	return t
}()

func bzCRCUpdate(crc uint32, p []byte) uint32 {
	t := &bzCRCTable
	for len(p) >= 8 {
		crc ^= binary.BigEndian.Uint32(p)
		crc = t[7][crc>>24] ^ t[6][crc>>16&0xff] ^ t[5][crc>>8&0xff] ^ t[4][crc&0xff] ^
			t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]]
		p = p[8:]
	}
	for _, b := range p {
		crc = crc<<8 ^ t[0][byte(crc>>24)^b]
	}
	return crc
}

// combineCRC folds a block CRC into a stream's combined CRC.
func combineCRC(stream, block uint32) uint32 { return bits.RotateLeft32(stream, 1) ^ block }

// bzStreamHeader reads "BZh" and the level digit; it returns the level.
func bzStreamHeader(br *bitReader) (int, error) {
	h := br.read(32)
	if h>>8 != 0x425a68 || byte(h) < '1' || byte(h) > '9' {
		// An input that ends inside the header is cut short only if the
		// bytes it has can start one ("00" is no bzip2 stream at all), as
		// bzip2, reading the header a byte at a time, tells them apart.
		var err error = bzError(fmt.Sprintf("no stream header (found %08x)", h))
		if past := br.overread(); past > 0 {
			k := min(32-min(past, 32), 24) // bits of "BZh" in the input
			if h>>(32-k) == 0x425a68>>(24-k) {
				err = io.ErrUnexpectedEOF
			}
		}
		if br.err != nil {
			return 0, br.err
		}
		return 0, err
	}
	return int(byte(h) - '0'), nil
}

// bzReader is an io.Reader over concatenated bzip2 streams decoded one
// block after another: for small files (the index) and for tests.
type bzReader struct {
	br       *bitReader
	d        *bzDecoder
	rle      rleState
	inBlock  bool
	blockCRC uint32
	combined uint32
	started  bool // a stream header was read
	err      error
}

func newBzReader(r io.Reader) *bzReader {
	return &bzReader{br: newBitReader(r, 0, make([]byte, 256<<10)), d: newBzDecoder()}
}

func (z *bzReader) Read(p []byte) (int, error) {
	for z.err == nil {
		if z.inBlock {
			if !z.rle.done() {
				if len(p) == 0 {
					return 0, nil
				}
				return z.rle.fill(p), nil
			}
			if got := ^z.rle.crc; got != z.blockCRC {
				z.err = bzError(fmt.Sprintf("block CRC %08x, computed %08x", z.blockCRC, got))
				break
			}
			z.combined = combineCRC(z.combined, z.blockCRC)
			z.inBlock = false
		}
		z.err = z.step()
	}
	return 0, z.err
}

// step reads a stream header, a block or the end of a stream.
func (z *bzReader) step() error {
	br := z.br
	if !z.started {
		if _, err := bzStreamHeader(br); err != nil {
			return err
		}
		z.started, z.combined = true, 0
	}
	switch magic := br.read(48); magic {
	case bzBlockMagic:
		blk, err := z.d.readBlock(br)
		if err != nil {
			return err
		}
		z.rle, z.blockCRC, z.inBlock = newRLE(blk.pre), blk.crc, true
		return nil
	case bzEOSMagic:
		want := uint32(br.read(32))
		if br.overrun() {
			return br.inputErr(io.ErrUnexpectedEOF)
		}
		if want != z.combined {
			return bzError(fmt.Sprintf("stream CRC %08x, computed %08x", want, z.combined))
		}
		br.alignByte()
		if br.atEOF() {
			return io.EOF
		}
		z.started = false
		return nil
	default:
		return br.inputErr(bzError(fmt.Sprintf("bad block magic %012x", magic)))
	}
}
