package wiki

import (
	"bytes"
	"compress/bzip2"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// stdBunzip2 decodes with compress/bzip2, which shares no code with ours.
func stdBunzip2(t testing.TB, comp []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(comp)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// bzFiles are the bzip2 files the decoder is checked on: the shared dumps
// and index, and test files with runs of every length (run-length coding
// edge cases) and with level-1 blocks (several blocks, not byte-aligned).
func bzFiles(t *testing.T) []string {
	files := []string{"testdata/single.xml.bz2", "testdata/multi.xml.bz2", "testdata/runs.bin.bz2", blocksFile(t)}
	return append(files, sharedGlob(t, "*.bz2")...)
}

func TestBzReader(t *testing.T) {
	for _, path := range bzFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			comp := mustRead(t, path)
			want := stdBunzip2(t, comp)
			got, err := io.ReadAll(newBzReader(bytes.NewReader(comp)))
			if err != nil {
				t.Fatalf("after %d bytes: %v", len(got), err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes, want %d", len(got), len(want))
			}
		})
	}
}

func TestBzReaderErrors(t *testing.T) {
	comp := mustRead(t, blocksFile(t))
	tests := []struct {
		name string
		data []byte
		want func(error) bool
	}{
		{"cut in a block", comp[:len(comp)/2], func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"cut in the trailer", comp[:len(comp)-3], func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"flipped byte", flip(comp, len(comp)/3), func(err error) bool { var e bzError; return errors.As(err, &e) }},
		{"bad header", append([]byte("BZh0"), comp[4:]...), func(err error) bool { var e bzError; return errors.As(err, &e) }},
		{"cut in the header", []byte("BZ"), func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		// Too short for a header, and not the start of one: no bzip2
		// stream, not a cut one.
		{"shorter than a header", []byte("00"), func(err error) bool { var e bzError; return errors.As(err, &e) }},
		{"stream, then a byte", append(bytes.Clone(comp), 'x'), func(err error) bool { var e bzError; return errors.As(err, &e) }},
		{"stream, then a cut one", append(bytes.Clone(comp), 'B'), func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := io.ReadAll(newBzReader(bytes.NewReader(tt.data)))
			if !tt.want(err) {
				t.Errorf("got %v", err)
			}
		})
	}
}

func flip(b []byte, at int) []byte {
	b = bytes.Clone(b)
	for i := at; i < at+4 && i < len(b); i++ {
		b[i] ^= 0x5a
	}
	return b
}

// bruteMagics finds the block magic at every bit offset the slow way.
func bruteMagics(buf []byte, limit int) [][2]int {
	var got [][2]int
	for i := 0; i < limit; i++ {
		for s := uint(0); s < 8; s++ {
			var v uint64
			ok := true
			for k := uint(0); k < 48; k++ {
				bit := uint(i)*8 + s + k
				if int(bit/8) >= len(buf) {
					ok = false
					break
				}
				v = v<<1 | uint64(buf[bit/8]>>(7-bit%8)&1)
			}
			if ok && v == bzBlockMagic {
				got = append(got, [2]int{i, int(s)})
			}
		}
	}
	return got
}

func TestScanBlockMagics(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		buf := make([]byte, 64+rnd.IntN(64))
		for i := range buf {
			buf[i] = byte(rnd.IntN(256))
		}
		// Plant magics at random bit offsets, some overlapping.
		for range 1 + rnd.IntN(4) {
			bit := rnd.IntN(len(buf)*8 - 48)
			for k := range 48 {
				b := uint(bit + k)
				if bzBlockMagic>>(47-k)&1 != 0 {
					buf[b/8] |= 0x80 >> (b % 8)
				} else {
					buf[b/8] &^= 0x80 >> (b % 8)
				}
			}
		}
		limit := len(buf) - rnd.IntN(8)
		var got [][2]int
		scanBlockMagics(buf, limit, func(i int, s uint) bool {
			got = append(got, [2]int{i, int(s)})
			return true
		})
		if want := bruteMagics(buf, limit); !equalPairs(got, want) {
			t.Fatalf("round %d: got %v, want %v", round, got, want)
		}
	}
}

func equalPairs(a, b [][2]int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// scanText decodes a bzip2 file in scan mode through a bzSource.
func scanText(t *testing.T, path string, workers int, tune bzTune) ([]byte, []error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	ctx, cancel := context.WithCancel(context.Background())
	src := newBzSource(ctx, f, filepath.Base(path), st.Size(), workers, nil, tune)
	defer func() {
		cancel()
		src.close()
	}()
	out, errs := drain(src)
	var se *StreamError
	if len(errs) == 0 || errors.As(errs[len(errs)-1], &se) { // drained to the end

		if done, total := src.progress(); done != total || total != st.Size() {
			t.Errorf("progress at the end: %d of %d, file %d", done, total, st.Size())
		}
	}
	return out, errs
}

// scanBytes decodes data as a dump file in scan mode (blocks found by
// their magic, decoded in parallel): the path real single-stream dumps take.
func scanBytes(t *testing.T, data []byte, workers int, plan *bzPlan) ([]byte, []error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.bz2")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	src := newBzSource(ctx, f, "f.bz2", int64(len(data)), workers, plan, bzTune{})
	defer func() {
		cancel()
		src.close()
	}()
	return drain(src)
}

func TestBzSourceScan(t *testing.T) {
	for _, path := range bzFiles(t) {
		want := stdBunzip2(t, mustRead(t, path))
		for _, tc := range []struct {
			workers, window int
		}{{1, 0}, {2, 0}, {4, 4096}, {3, 64}} {
			got, errs := scanText(t, path, tc.workers, bzTune{window: tc.window})
			if len(errs) > 0 || !bytes.Equal(got, want) {
				t.Errorf("%s, %d workers, window %d: %d bytes of %d, errors %v",
					filepath.Base(path), tc.workers, tc.window, len(got), len(want), errs)
			}
		}
	}
}

// TestBzSourceChanceMagic plants, next to every true block start, chance
// matches of the magic inside the compressed data (which real files have
// about once per 35 TB): the reader must skip them.
func TestBzSourceChanceMagic(t *testing.T) {
	for _, path := range []string{blocksFile(t), "testdata/multi.xml.bz2"} {
		want := stdBunzip2(t, mustRead(t, path))
		tune := bzTune{find: func(buf []byte, limit int, fn func(int, uint) bool) {
			scanBlockMagics(buf, limit, func(i int, s uint) bool {
				if !fn(i, s) {
					return false
				}
				// Fake ones 100 and 101 bytes in, at odd shifts.
				for _, k := range []int{100, 101} {
					if i+k < limit && !fn(i+k, (s+3)%8) {
						return false
					}
				}
				return true
			})
		}}
		got, errs := scanText(t, path, 3, tune)
		if len(errs) > 0 || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes of %d, errors %v", path, len(got), len(want), errs)
		}
	}
}

// TestBzSourceCorruptBlock damages one block of a single stream: its text
// is lost with a StreamError naming the block's offset, and the blocks
// after it are decoded.
func TestBzSourceCorruptBlock(t *testing.T) {
	comp := mustRead(t, blocksFile(t))
	want := stdBunzip2(t, comp)
	// Block starts, from a clean scan.
	var starts []int64
	scanBlockMagics(comp, len(comp), func(i int, s uint) bool {
		starts = append(starts, int64(i)*8+int64(s))
		return true
	})
	if len(starts) < 3 {
		t.Fatalf("want a file of 3 blocks or more, found %d", len(starts))
	}
	// Damage the middle of the second block.
	mid := (starts[1] + starts[2]) / 16
	path := writeFile(t, "damaged.xml.bz2", flip(comp, int(mid)))
	got, errs := scanText(t, path, 2, bzTune{})
	if len(errs) != 1 {
		t.Fatalf("errors %v, want one StreamError", errs)
	}
	var se *StreamError
	if !errors.As(errs[0], &se) || se.Offset != starts[1]/8 || se.Bit != starts[1]%8 || !se.Block {
		t.Fatalf("error %v, want a StreamError for the block at bit %d", errs[0], starts[1])
	}
	// The text is the original with one stretch missing.
	pre := commonPrefix(got, want)
	suf := commonPrefix(reverse(got), reverse(want))
	if pre+suf < len(got) || len(got) >= len(want) || pre == 0 || suf == 0 {
		t.Errorf("got %d bytes of %d: common prefix %d, suffix %d", len(got), len(want), pre, suf)
	}
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func reverse(b []byte) []byte {
	r := make([]byte, len(b))
	for i, c := range b {
		r[len(b)-1-i] = c
	}
	return r
}

func BenchmarkBzReader(b *testing.B) {
	path := os.Getenv("BZFILE")
	if path == "" {
		path = sharedFile(b, enwiki2016)
	}
	comp, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(stdBunzip2(b, comp))))
	for range b.N {
		if _, err := io.Copy(io.Discard, newBzReader(bytes.NewReader(comp))); err != nil {
			b.Fatal(err)
		}
	}
}

// blocksFile is a single bzip2 stream of several level-1 blocks (block
// boundaries not byte-aligned), made by the bzip2 command from the start of
// the shared fatwiki dump's XML: real wiki text, never committed here.
func blocksFile(t *testing.T) string {
	t.Helper()
	f, err := os.Open(sharedFile(t, fatwikiDump))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	xml, err := io.ReadAll(io.LimitReader(bzip2.NewReader(f), 420_000))
	if err != nil {
		t.Fatal(err)
	}
	// A complete dump: whole pages, then the closing tag.
	end := bytes.LastIndex(xml, []byte("</page>"))
	xml = append(xml[:end+len("</page>")], "\n</mediawiki>\n"...)
	cmd := exec.Command("bzip2", "-1", "-c")
	cmd.Stdin = bytes.NewReader(xml)
	comp, err := cmd.Output()
	if err != nil {
		t.Fatalf("bzip2 -1: %v", err)
	}
	path := filepath.Join(t.TempDir(), "blocks.xml.bz2")
	if err := os.WriteFile(path, comp, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBzSourceEmptyStreams reads files with empty streams (what bzip2
// writes for no input) before, between and after the others, which the
// scanner once took for a truncated file, having no block where it looked
// for the first one.
func TestBzSourceEmptyStreams(t *testing.T) {
	enc := func(text string, streams, empty int) []byte {
		b, _ := bzEncode([]byte(text), bzEncOptions{level: 9, blockSize: 100, tables: 2, streams: streams, empty: empty})
		return b
	}
	emptyStream := enc("", 1, 0)
	tests := []struct {
		name    string
		data    []byte
		want    string
		wantErr bool
	}{
		{"one empty stream", emptyStream, "", false},
		{"three empty streams", enc("", 1, 2), "", false},
		{"empty streams first", enc("some text, twice: some text", 1, 2), "some text, twice: some text", false},
		{"empty stream last", enc("x", 2, 0), "x", false},
		{"empty and between", append(enc("ab", 2, 1), enc("cd", 1, 1)...), "abcd", false},
		{"garbage after an empty stream", append(bytes.Clone(emptyStream), "not bzip2"...), "", false},
		// The blocks after a damaged header still come out, as they do
		// after a stream with blocks.
		{"damaged header after an empty stream", append(append(bytes.Clone(emptyStream), "BZh0"...), enc("abc", 1, 0)[4:]...), "abc", false},
		{"empty stream with a CRC", append(bytes.Clone(emptyStream[:len(emptyStream)-1]), 1), "", true},
		{"no stream", []byte("not bzip2 at all"), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, workers := range []int{1, 3} {
				got, errs := scanBytes(t, tt.data, workers, nil)
				if (len(errs) > 0) != tt.wantErr || string(got) != tt.want {
					t.Errorf("%d workers: %q, errors %v; want %q, error %v", workers, got, errs, tt.want, tt.wantErr)
				}
			}
		})
	}
}

// TestBzReaderBWTCycles decodes blocks whose last column is no text's: the
// vector of the inverse BWT has several cycles, and the text is what
// bzip2 makes of it, walking forward from origPtr n times round its cycle.
// Our walk from both ends gave other bytes unless the cycle length divides
// n (a periodic text, which real blocks can be).
func TestBzReaderBWTCycles(t *testing.T) {
	tests := []struct {
		last    string
		origPtr int
		want    string // bzip2 1.0.8's text
	}{
		{"aba", 1, "aba"},     // cycles {0} and {1 2}: 2 does not divide 3
		{"aba", 0, "aaa"},     // origPtr on the fixed point
		{"abab", 0, "aaaa"},   // cycles of 1, 1 and 2 steps: all divide 4
		{"babab", 2, "baabb"}, // a 4-cycle and a fixed point: 4 does not divide 5
		{"bbaa", 1, "abab"},   // one 2-cycle twice: the periodic text "abab"
		{"cab", 0, "abc"},     // a real BWT: one cycle
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s@%d", tt.last, tt.origPtr), func(t *testing.T) {
			w := &bitWriter{}
			w.write(32, 0x425a6839) // BZh9
			w.write(48, bzBlockMagic)
			w.write(32, uint64(bitCRC([]byte(tt.want))))
			bzEncLast(w, []byte(tt.last), tt.origPtr, 2)
			w.write(48, bzEOSMagic)
			w.write(32, uint64(bitCRC([]byte(tt.want))))
			w.align()
			std, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(w.buf)))
			if err != nil || string(std) != tt.want {
				t.Fatalf("compress/bzip2: %q, %v; the test expects %q", std, err, tt.want)
			}
			got, err := io.ReadAll(newBzReader(bytes.NewReader(w.buf)))
			if err != nil || string(got) != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
