package wiki

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// streamIndex is what the reader keeps of a multistream index
// (…-multistream-index.txt.bz2, lines "offset:page_id:title"): where each
// stream of pages starts in the dump and how many pages it holds. Twelve
// bytes per stream: 3 MB for the English Wikipedia's ~240,000 streams.
type streamIndex struct {
	path    string
	offsets []int64 // ascending
	pages   []int32
}

// indexFor returns the index that goes with a multistream dump by
// Wikimedia's naming, "" when there is none on disk:
//
//	enwiki-20240920-pages-articles-multistream.xml.bz2
//	enwiki-20240920-pages-articles-multistream-index.txt.bz2
//	enwiki-20240920-pages-articles-multistream1.xml-p1p41242.bz2
//	enwiki-20240920-pages-articles-multistream-index1.txt-p1p41242.bz2
func indexFor(dump string) string {
	dir, name := filepath.Split(dump)
	i := strings.LastIndex(name, "-multistream")
	if i < 0 {
		return ""
	}
	rest := name[i+len("-multistream"):]
	j := strings.Index(rest, ".xml")
	if j < 0 || strings.HasPrefix(rest, "-index") {
		return ""
	}
	base := name[:i] + "-multistream-index" + rest[:j] + ".txt" + rest[j+len(".xml"):]
	candidates := []string{base}
	if trimmed, ok := strings.CutSuffix(base, ".bz2"); ok {
		candidates = append(candidates, trimmed) // an index someone decompressed
	}
	for _, c := range candidates {
		if st, err := os.Stat(filepath.Join(dir, c)); err == nil && st.Mode().IsRegular() {
			return filepath.Join(dir, c)
		}
	}
	return ""
}

// readIndex reads a multistream index (bzip2 compressed or not), keeping
// the distinct offsets and the number of lines of each.
func readIndex(ctx context.Context, path string, workers int) (*streamIndex, error) {
	name := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open index: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", name, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	src, err := openSource(ctx, f, name, st.Size(), workers, nil)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", name, err)
	}
	defer func() {
		cancel()
		src.close()
	}()
	idx := &streamIndex{path: path}
	var line []byte // a line cut by the end of a piece
	lineNo := 0
	var off int64 // bytes of text before the current piece, for errors
	add := func(l []byte) error {
		lineNo++
		l = bytes.TrimRight(l, "\r")
		if len(l) == 0 {
			return nil
		}
		digits, _, ok := bytes.Cut(l, []byte(":"))
		v, err := strconv.ParseInt(string(digits), 10, 64)
		if !ok || err != nil || v < 0 {
			return fmt.Errorf("index %s: line %d: want offset:page_id:title, found %q", name, lineNo, truncateBytes(l, 80))
		}
		n := len(idx.offsets)
		switch {
		case n > 0 && v == idx.offsets[n-1]:
			idx.pages[n-1]++
		case n > 0 && v < idx.offsets[n-1]:
			return fmt.Errorf("index %s: line %d: offset %d comes after %d: not in file order", name, lineNo, v, idx.offsets[n-1])
		default:
			idx.offsets = append(idx.offsets, v)
			idx.pages = append(idx.pages, 1)
		}
		return nil
	}
	for {
		b, _, err := src.next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("index %s: at byte %d of its text: %w", name, off, err)
		}
		off += int64(len(b))
		rest := b
		for {
			k := bytes.IndexByte(rest, '\n')
			if k < 0 {
				line = append(line, rest...)
				if len(line) > 1<<20 {
					return nil, fmt.Errorf("index %s: line %d longer than 1 MiB", name, lineNo+1)
				}
				break
			}
			l := rest[:k]
			if len(line) > 0 {
				line = append(line, l...)
				l = line
			}
			if err := add(l); err != nil {
				return nil, err
			}
			line = line[:0]
			rest = rest[k+1:]
		}
		src.recycle(b)
	}
	if len(line) > 0 {
		if err := add(line); err != nil {
			return nil, err
		}
	}
	if len(idx.offsets) == 0 {
		return nil, fmt.Errorf("index %s lists no pages", name)
	}
	return idx, nil
}

func truncateBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// check looks at the dump where the index says streams start: an index of
// another dump would have the reader decode garbage. It probes the first,
// the last and some in between, and fails when most of them hold no
// stream; one damaged stream is the reader's business, not a mismatch.
func (idx *streamIndex) check(f *os.File, size int64) error {
	isStream := func(off int64) (bool, error) {
		if off >= size {
			return true, nil // the dump is cut short; reading will say so
		}
		var b [4]byte
		n, err := f.ReadAt(b[:], off)
		if err != nil && !errors.Is(err, io.EOF) {
			return false, err
		}
		return n == 4 && string(b[:3]) == "BZh" && b[3] >= '1' && b[3] <= '9', nil
	}
	n := len(idx.offsets)
	probes := min(n, 17)
	var bad []int64
	last := -1
	for k := range probes {
		i := 0
		if probes > 1 {
			i = (n - 1) * k / (probes - 1)
		}
		if i == last {
			continue
		}
		last = i
		ok, err := isStream(idx.offsets[i])
		if err != nil {
			return err
		}
		if !ok {
			bad = append(bad, idx.offsets[i])
		}
	}
	if 2*len(bad) > probes {
		return fmt.Errorf("index %s does not match the dump: no bzip2 stream at byte %d", filepath.Base(idx.path), bad[0])
	}
	return nil
}

// plan lays out the units of shard of shards: each a stream of pages from
// the index, the last running to the end of the file (the closing
// </mediawiki> has a stream of its own after the last pages). The text
// before the first listed stream (the site header) comes first, and for
// a shard other than the first only up to the first <page>. Streams are
// shared out by count, in file order: shard i gets streams
// [i·n/shards, (i+1)·n/shards).
func (idx *streamIndex) plan(size int64, shard, shards int) *bzPlan {
	n := len(idx.offsets)
	lo, hi := shard*n/shards, (shard+1)*n/shards
	end := func(i int) int64 { // end of stream i
		if i+1 < n {
			return idx.offsets[i+1]
		}
		return max(size, idx.offsets[i])
	}
	p := &bzPlan{}
	switch first := idx.offsets[0]; {
	case first > 0:
		p.units = append(p.units, bzUnit{start: 0, size: first, bit: -1, pages: 0, headerOnly: shard > 0})
	case shard > 0:
		p.units = append(p.units, bzUnit{start: 0, size: end(0), bit: -1, pages: 0, headerOnly: true})
	}
	for i := lo; i < hi; i++ {
		p.units = append(p.units, bzUnit{start: idx.offsets[i], size: end(i) - idx.offsets[i], bit: -1, pages: int(idx.pages[i])})
	}
	return p
}
