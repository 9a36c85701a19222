package wiki

import (
	"container/heap"
	"slices"
)

// A minimal bzip2 encoder, for the round-trip fuzz target: no dependency
// has a bzip2 encoder and a fuzz target cannot run the bzip2 command. It
// writes what bzip2 1.0.8 writes (maximal runs of at most 255 bytes,
// complete Huffman codes), so that compress/bzip2 reads it as bzip2 does;
// block size, table count and stream count are the caller's, so that a
// fuzz input reaches shapes real files rarely have (one-byte blocks, six
// tables over a few symbols, many streams). Its CRC is computed bit by bit,
// sharing nothing with the decoder's table-driven one.

// bzEncOptions shape the output.
type bzEncOptions struct {
	level     int // header digit, 1 to 9
	blockSize int // bytes of run-length coded text per block, at least 5
	tables    int // Huffman tables per block, 2 to 6
	streams   int // the data is cut into this many concatenated streams
	empty     int // empty streams (bzip2 of nothing) written before them
}

// bzEncode compresses data. It returns the compressed bytes and the byte
// offset of each stream in them.
func bzEncode(data []byte, o bzEncOptions) ([]byte, []int64) {
	w := &bitWriter{}
	var offsets []int64
	per := (len(data) + o.streams - 1) / max(o.streams, 1)
	for s := -o.empty; s < o.streams; s++ {
		part := data[min(max(s, 0)*per, len(data)):min(max(s+1, 0)*per, len(data))]
		offsets = append(offsets, int64(len(w.buf)))
		w.write(8, 'B')
		w.write(8, 'Z')
		w.write(8, 'h')
		w.write(8, uint64('0'+o.level))
		comb := uint32(0)
		for _, blk := range bzEncRuns(part, o.blockSize) {
			crc := bitCRC(blk.text)
			comb = comb<<1 | comb>>31 ^ crc
			w.write(48, bzBlockMagic)
			w.write(32, uint64(crc))
			bzEncBlock(w, blk.rle, o.tables)
		}
		w.write(48, bzEOSMagic)
		w.write(32, uint64(comb))
		w.align()
	}
	return w.buf, offsets
}

// bzEncRun is one block: its text, and the text run-length coded.
type bzEncRun struct{ text, rle []byte }

// bzEncRuns run-length codes data as bzip2 does (a run of 4 to 255 equal
// bytes is four of them and a count of the rest) and cuts the result into
// blocks of at most size bytes, never inside a run.
func bzEncRuns(data []byte, size int) []bzEncRun {
	var out []bzEncRun
	var cur bzEncRun
	for i := 0; i < len(data); {
		j := i + 1
		for j < len(data) && j-i < 255 && data[j] == data[i] {
			j++
		}
		code := data[i:min(j, i+4)]
		if j-i >= 4 {
			code = append(slices.Clone(code), byte(j-i-4))
		}
		if len(cur.rle) > 0 && len(cur.rle)+len(code) > size {
			out = append(out, cur)
			cur = bzEncRun{}
		}
		cur.text = append(cur.text, data[i:j]...)
		cur.rle = append(cur.rle, code...)
		i = j
	}
	if len(cur.rle) > 0 {
		out = append(out, cur)
	}
	return out
}

// bzEncBlock writes a block after its CRC: BWT, move-to-front, zero runs,
// Huffman codes.
func bzEncBlock(w *bitWriter, b []byte, nTables int) {
	n := len(b)
	rot := bwtRotations(b)
	last := make([]byte, n)
	origPtr := 0
	for k, i := range rot {
		last[k] = b[(i+n-1)%n]
		if i == 0 {
			origPtr = k
		}
	}
	bzEncLast(w, last, origPtr, nTables)
}

// bzEncLast writes a block from its BWT: the last column and the row of
// the text. Tests give it columns no text has.
func bzEncLast(w *bitWriter, last []byte, origPtr, nTables int) {
	w.write(1, 0) // not randomised
	w.write(24, uint64(origPtr))

	var inUse [256]bool
	for _, c := range last {
		inUse[c] = true
	}
	var ranges uint64
	for r := range 16 {
		if slices.Contains(inUse[r*16:r*16+16], true) {
			ranges |= 0x8000 >> r
		}
	}
	w.write(16, ranges)
	var alphabet []byte
	for r := range 16 {
		if ranges&(0x8000>>r) == 0 {
			continue
		}
		var m uint64
		for j := range 16 {
			if inUse[r*16+j] {
				m |= 0x8000 >> j
				alphabet = append(alphabet, byte(r*16+j))
			}
		}
		w.write(16, m)
	}

	// Move-to-front, with runs of zeros as RUNA/RUNB digits in bijective
	// base 2, then the end-of-block symbol.
	eob := uint16(len(alphabet) + 1)
	var syms []uint16
	zeros := 0
	flush := func() {
		for z := zeros - 1; zeros > 0; z = (z - 2) / 2 {
			syms = append(syms, uint16(z&1))
			if z < 2 {
				break
			}
		}
		zeros = 0
	}
	mtf := slices.Clone(alphabet)
	for _, c := range last {
		k := slices.Index(mtf, c)
		if k == 0 {
			zeros++
			continue
		}
		flush()
		copy(mtf[1:k+1], mtf[:k])
		mtf[0] = c
		syms = append(syms, uint16(k+1))
	}
	flush()
	syms = append(syms, eob)

	// Groups of 50 symbols take the tables in turn; each table's lengths
	// come from the frequencies in its groups.
	alphaSize := int(eob) + 1
	nGroups := (len(syms) + bzGroupSize - 1) / bzGroupSize
	freq := make([][]int, nTables)
	for t := range freq {
		freq[t] = make([]int, alphaSize)
	}
	for i, s := range syms {
		freq[i/bzGroupSize%nTables][s]++
	}
	lengths := make([][]uint8, nTables)
	for t := range lengths {
		lengths[t] = huffLengths(freq[t], bzMaxCodeLen)
	}
	w.write(3, uint64(nTables))
	w.write(15, uint64(nGroups))
	order := make([]int, nTables) // move-to-front list of tables
	for t := range order {
		order[t] = t
	}
	for g := range nGroups {
		t := g % nTables
		k := slices.Index(order, t)
		for range k {
			w.write(1, 1)
		}
		w.write(1, 0)
		copy(order[1:k+1], order[:k])
		order[0] = t
	}
	codes := make([][]uint32, nTables)
	for t, ls := range lengths {
		cur := int(ls[0])
		w.write(5, uint64(cur))
		for _, l := range ls {
			for ; cur < int(l); cur++ {
				w.write(2, 0b10)
			}
			for ; cur > int(l); cur-- {
				w.write(2, 0b11)
			}
			w.write(1, 0)
		}
		codes[t] = canonicalCodes(ls)
	}
	for i, s := range syms {
		t := i / bzGroupSize % nTables
		w.write(uint(lengths[t][s]), uint64(codes[t][s]))
	}
}

// bwtRotations sorts the rotations of b by prefix doubling and returns
// their start offsets in order.
func bwtRotations(b []byte) []int {
	n := len(b)
	rot := make([]int, n)
	rank := make([]int, n)
	for i := range rot {
		rot[i], rank[i] = i, int(b[i])
	}
	next := make([]int, n)
	for k := 1; ; k *= 2 {
		key := func(i int) [2]int { return [2]int{rank[i], rank[(i+k)%n]} }
		slices.SortStableFunc(rot, func(x, y int) int {
			a, b := key(x), key(y)
			if a[0] != b[0] {
				return a[0] - b[0]
			}
			return a[1] - b[1]
		})
		next[rot[0]] = 0
		for j := 1; j < n; j++ {
			next[rot[j]] = next[rot[j-1]]
			if key(rot[j]) != key(rot[j-1]) {
				next[rot[j]]++
			}
		}
		copy(rank, next)
		if rank[rot[n-1]] == n-1 || k >= n {
			return rot
		}
	}
}

// huffLengths returns Huffman code lengths, none longer than maxLen, for
// every symbol (unused ones too, as bzip2 needs), by halving the
// frequencies until the code fits, as bzip2 does.
func huffLengths(freq []int, maxLen int) []uint8 {
	f := make([]int, len(freq))
	for i, c := range freq {
		f[i] = c + 1
	}
	for {
		ls := huffmanTree(f)
		if slices.Max(ls) <= uint8(maxLen) {
			return ls
		}
		for i := range f {
			f[i] = f[i]/2 + 1
		}
	}
}

type huffNode struct {
	weight int
	leaves []int
}

type huffHeap []huffNode

func (h huffHeap) Len() int           { return len(h) }
func (h huffHeap) Less(i, j int) bool { return h[i].weight < h[j].weight }
func (h huffHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *huffHeap) Push(x any)        { *h = append(*h, x.(huffNode)) }
func (h *huffHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// huffmanTree returns the depth of each symbol in a Huffman tree of the
// weights: a complete code.
func huffmanTree(weights []int) []uint8 {
	h := &huffHeap{}
	for i, w := range weights {
		*h = append(*h, huffNode{weight: w, leaves: []int{i}})
	}
	heap.Init(h)
	ls := make([]uint8, len(weights))
	for h.Len() > 1 {
		a, b := heap.Pop(h).(huffNode), heap.Pop(h).(huffNode)
		for _, l := range a.leaves {
			ls[l]++
		}
		for _, l := range b.leaves {
			ls[l]++
		}
		heap.Push(h, huffNode{weight: a.weight + b.weight, leaves: append(a.leaves, b.leaves...)})
	}
	return ls
}

// canonicalCodes assigns codes as bzip2 does: by length, then by symbol.
func canonicalCodes(lengths []uint8) []uint32 {
	codes := make([]uint32, len(lengths))
	code := uint32(0)
	for l := uint8(1); l <= bzMaxCodeLen; l++ {
		for s, sl := range lengths {
			if sl == l {
				codes[s] = code
				code++
			}
		}
		code <<= 1
	}
	return codes
}

// bitCRC is bzip2's CRC-32 of p, a bit at a time.
func bitCRC(p []byte) uint32 {
	crc := ^uint32(0)
	for _, b := range p {
		crc ^= uint32(b) << 24
		for range 8 {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04c11db7
			} else {
				crc <<= 1
			}
		}
	}
	return ^crc
}

// bitWriter writes bits MSB first.
type bitWriter struct {
	buf  []byte
	acc  uint64
	nacc uint
}

func (w *bitWriter) write(n uint, v uint64) {
	for i := int(n) - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | v>>uint(i)&1
		w.nacc++
		if w.nacc == 8 {
			w.buf = append(w.buf, byte(w.acc))
			w.acc, w.nacc = 0, 0
		}
	}
}

func (w *bitWriter) align() {
	if w.nacc > 0 {
		w.write(8-w.nacc, 0)
	}
}
