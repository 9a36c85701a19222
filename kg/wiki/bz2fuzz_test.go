package wiki

import (
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The fuzz targets check our bzip2 decoder against compress/bzip2, which
// shares no code with it. Both follow bzip2 1.0.8, the reference, except
// in a few places, none of which a compressor writes; stdDeparture finds
// them, and FuzzBZ2 compares the decoders only up to the first.

// fuzzMax is how many decoded bytes the fuzz target compares. A few bytes
// of input can stand for hundreds of megabytes of runs, and one such input
// would stall the fuzzer for minutes.
const fuzzMax = 1 << 20

// errFuzzMax ends a read at fuzzMax bytes, as if the decoder had failed
// there: two decoders that agree both end so.
var errFuzzMax = errors.New("fuzzMax bytes decoded")

// readAtMost reads r to its end, to an error, or to fuzzMax bytes.
func readAtMost(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, fuzzMax+1))
	if len(b) > fuzzMax {
		return b[:fuzzMax], errFuzzMax
	}
	return b, err
}

// fuzzDecoder is shared by the readers of fuzz inputs, which a fuzz
// worker runs one at a time: a decoder is 8 MB to allocate and clear.
var fuzzDecoder = sync.OnceValue(newBzDecoder)

// fuzzBzReader is newBzReader on data with the shared decoder.
func fuzzBzReader(data []byte) *bzReader {
	return &bzReader{br: newBitReader(bytes.NewReader(data), 0, make([]byte, 4096)), d: fuzzDecoder()}
}

// stdDeparture walks data with our block decoder and returns where, in
// the decoded text, the first block starts that the two decoders read
// differently by design, and why; -1 when there is none before the walk
// ends (at the end of the input, at an error or past fuzzMax bytes). The
// second and the fourth are ours, the others compress/bzip2's:
//
//   - an incomplete Huffman code (the code lengths leave codes unused):
//     compress/bzip2 assigns codes from the long end and drops tree levels
//     that all codes share, so it reads other codes than bzip2 does;
//   - an over-subscribed Huffman code (more codes than the lengths have
//     room for): ours rejects the block when it reads the lengths, bzip2
//     and compress/bzip2 decode with overlapping codes, each its own way,
//     and unless no group of the block uses the code, the CRC fails;
//   - a run of four equal bytes with a count of zero, followed by the same
//     byte: bzip2 starts a new run there, compress/bzip2 counts the byte
//     into the old run;
//   - a block longer than the header's level allows: compress/bzip2
//     rejects it, as bzip2 does, while ours (whose parallel scanner
//     decodes blocks without their stream header) accepts up to 900,000.
func stdDeparture(data []byte) (int, string) {
	z := fuzzBzReader(data)
	scratch := make([]byte, 64<<10)
	out, level := 0, 0
	for {
		if at := z.br.bitPos()/8 + 3; !z.started && at < int64(len(data)) {
			// A stream header "BZh" and its level follow; step reads them
			// with the first block.
			level = int(data[at]) - '0'
		}
		// Mark the tables, to tell the ones this block builds, even if
		// reading it fails, from those of the block before.
		for i := range z.d.tables {
			z.d.tables[i].maxLen = unbuilt
		}
		err := z.step()
		if err == bzError("over-subscribed Huffman code") {
			return out, "over-subscribed Huffman code"
		}
		if why := codeDeparture(z.d); why != "" {
			return out, why
		}
		if err != nil {
			return -1, ""
		}
		if !z.inBlock {
			continue
		}
		if why := textDeparture(z.rle.in, level); why != "" {
			return out, why
		}
		for !z.rle.done() {
			out += z.rle.fill(scratch)
		}
		if out > fuzzMax {
			return -1, ""
		}
		if ^z.rle.crc != z.blockCRC {
			return -1, ""
		}
		z.combined = combineCRC(z.combined, z.blockCRC)
		z.inBlock = false
	}
}

// unbuilt marks a table that the block being read has not built.
const unbuilt = bzMaxCodeLen + 1

// codeDeparture reports an incomplete code among the tables that the
// block just read (in full or in part) into d built and selects.
func codeDeparture(d *bzDecoder) string {
	for _, s := range d.selectors {
		t := &d.tables[s]
		// Canonical codes fill the code space iff the last code of the
		// longest length is all ones.
		if t.maxLen != unbuilt && t.limit[t.maxLen] != 1<<t.maxLen-1 {
			return "incomplete Huffman code"
		}
	}
	return ""
}

// textDeparture reports what in a block's text before run-length decoding,
// pre, compress/bzip2 reads differently from bzip2.
func textDeparture(pre []byte, level int) string {
	for i := 0; i+5 < len(pre); {
		if pre[i] == pre[i+1] && pre[i] == pre[i+2] && pre[i] == pre[i+3] {
			if pre[i+4] == 0 && pre[i+5] == pre[i] {
				return "zero count followed by the run's byte"
			}
			i += 5
			continue
		}
		i++
	}
	if len(pre) > level*100000 {
		return fmt.Sprintf("block of %d bytes at level %d", len(pre), level)
	}
	return ""
}

// bzSeeds are valid streams: the committed test files, streams of the
// bzip2 command made here from small inputs, and the test encoder's.
func bzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, name := range []string{"single.xml.bz2", "multi.xml.bz2", "runs.bin.bz2"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	xml, err := os.ReadFile("testdata/small.xml")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range seedTexts(xml) {
		cmd := exec.Command("bzip2", "-9", "-c")
		cmd.Stdin = bytes.NewReader(in)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("bzip2: %v", err)
		}
		seeds = append(seeds, out)
		enc, _ := bzEncode(in, bzEncOptions{level: 1, blockSize: 300, tables: 6, streams: 2})
		seeds = append(seeds, enc)
	}
	return seeds
}

// seedTexts are small inputs with what the decoder must get right: runs
// of every length around the run-length limits, all 256 byte values,
// skewed frequencies (long Huffman codes), nothing at all.
func seedTexts(xml []byte) [][]byte {
	var runs []byte
	for n := 1; n <= 260; n += 1 + n/8 {
		runs = append(runs, bytes.Repeat([]byte{byte(n)}, n)...)
	}
	all := make([]byte, 512)
	for i := range all {
		all[i] = byte(i * 7)
	}
	var skew []byte
	for i := range 20 {
		skew = append(skew, bytes.Repeat([]byte{byte('a' + i)}, 1<<i>>8+1)...)
		skew = append(skew, 'x', 'y')
	}
	return [][]byte{xml, runs, all, skew, {}, {'a'}}
}

// FuzzBZ2 feeds arbitrary bytes to our decoder and to compress/bzip2. Up
// to the first block where they part by design (see stdDeparture) they must
// agree:
//
//   - the same bytes out. Both write a block's text before they check its
//     CRC, so a damaged block's text is compared too. But compress/bzip2
//     reads a cut block on with zeros for the missing bits and, when they
//     complete it, writes its text before it reports the cut; there ours
//     must give a prefix of its bytes.
//   - an error from both or from neither;
//   - io.ErrUnexpectedEOF from compress/bzip2 whenever ours finds the input
//     cut. Not the converse: compress/bzip2 reads on before it judges what
//     it read (a selector's unary code to its end, the first two bytes of a
//     header together), so it can run out of input where bzip2 and ours
//     already see bad data.
//
// Where compress/bzip2 accepts the input, the parallel scanner, which
// readers use for dumps without an index, must decode the same bytes
// without error.
func FuzzBZ2(f *testing.F) {
	for _, s := range bzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		std, stdErr := readAtMost(bzip2.NewReader(bytes.NewReader(data)))
		got, err := readAtMost(fuzzBzReader(data))
		if cut, why := stdDeparture(data); cut >= 0 {
			if len(std) < cut || len(got) < cut || !bytes.Equal(std[:cut], got[:cut]) {
				t.Fatalf("before the block where compress/bzip2 departs (%s, at byte %d): ours %d bytes (%v), compress/bzip2 %d bytes (%v), common prefix %d",
					why, cut, len(got), err, len(std), stdErr, commonPrefix(got, std))
			}
			return
		}
		if (err == nil) != (stdErr == nil) {
			t.Fatalf("ours: %v; compress/bzip2: %v", err, stdErr)
		}
		// compress/bzip2 stops a block at the size its level allows, where
		// ours reads on (see stdDeparture) and may run out of input.
		overLevel := stdErr == bzip2.StructuralError("repeats past end of block") ||
			stdErr == bzip2.StructuralError("data exceeds block size")
		if errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(stdErr, io.ErrUnexpectedEOF) && !overLevel {
			t.Fatalf("truncated to ours (%v), not to compress/bzip2 (%v)", err, stdErr)
		}
		want := std
		if errors.Is(stdErr, io.ErrUnexpectedEOF) {
			// compress/bzip2 reads on past the end with zeros for the
			// missing bits, and when they complete the block it writes
			// the block's text before it reports the input cut.
			want = std[:min(len(got), len(std))]
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("ours %d bytes, compress/bzip2 %d, common prefix %d (errors %v; %v)", len(got), len(std), commonPrefix(got, std), err, stdErr)
		}
		if stdErr != nil {
			return
		}
		if par, errs := scanBytes(t, data, 2, nil); len(errs) > 0 || !bytes.Equal(par, std) {
			t.Fatalf("parallel scanner: %d bytes of %d, errors %v", len(par), len(std), errs)
		}
	})
}

// FuzzRoundTripBZ2 compresses arbitrary text with the test encoder, in
// blocks, tables and streams the fuzzer chooses; compress/bzip2 must give
// the text back (else the encoder is wrong), and so must our decoder read
// sequentially, the parallel scanner, and stream units as a multistream
// index plans them.
func FuzzRoundTripBZ2(f *testing.F) {
	xml, err := os.ReadFile("testdata/small.xml")
	if err != nil {
		f.Fatal(err)
	}
	for i, in := range seedTexts(xml) {
		f.Add(in, uint8(9), uint16(40+i*300), uint8(2+i), uint8(1+i%3+4*(i%2)))
	}
	f.Fuzz(func(t *testing.T, text []byte, level uint8, block uint16, tables, streams uint8) {
		o := bzEncOptions{
			level:     1 + int(level)%9,
			blockSize: 5 + int(block)%4000,
			tables:    2 + int(tables)%5,
			streams:   1 + int(streams)%4,
			empty:     int(streams) / 4 % 3,
		}
		comp, offsets := bzEncode(text, o)
		if std, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(comp))); err != nil || !bytes.Equal(std, text) {
			t.Fatalf("%+v: compress/bzip2 reads %d bytes of %d (%v): the test encoder is wrong", o, len(std), len(text), err)
		}
		if got, err := io.ReadAll(fuzzBzReader(comp)); err != nil || !bytes.Equal(got, text) {
			t.Fatalf("%+v: sequential: %d bytes of %d, common prefix %d (%v)", o, len(got), len(text), commonPrefix(got, text), err)
		}
		if got, errs := scanBytes(t, comp, 2, nil); len(errs) > 0 || !bytes.Equal(got, text) {
			t.Fatalf("%+v: parallel scanner: %d bytes of %d, common prefix %d (%v)", o, len(got), len(text), commonPrefix(got, text), errs)
		}
		plan := &bzPlan{}
		for i, off := range offsets {
			end := int64(len(comp))
			if i+1 < len(offsets) {
				end = offsets[i+1]
			}
			plan.units = append(plan.units, bzUnit{start: off, size: end - off, bit: -1, pages: -1})
		}
		if got, errs := scanBytes(t, comp, 2, plan); len(errs) > 0 || !bytes.Equal(got, text) {
			t.Fatalf("%+v: stream units: %d bytes of %d, common prefix %d (%v)", o, len(got), len(text), commonPrefix(got, text), errs)
		}
	})
}
