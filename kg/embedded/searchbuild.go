package embedded

import (
	"bufio"
	"container/heap"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// A build reads the documents in docs.n order, so each run holds the
// postings of a range of documents after those of the runs before it; a
// word's list is its runs' lists one after another, the first delta of
// each made relative to the last document of the one before.

// sorted returns the run's term ids in word order.
func (b *indexBuilder) sorted() []int32 {
	order := make([]int32, len(b.terms))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int { return strings.Compare(b.terms[x], b.terms[y]) })
	return order
}

// spill writes the run held to a file of dir, in word order, and starts
// another. A record is: the word's length and bytes, df, the last
// document, the list's length and bytes (lengths and numbers as uvarints).
func (b *indexBuilder) spill(dir string) error {
	if len(b.terms) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("search index run: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("run-%05d", b.run))
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("search index run: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var head []byte
	for _, id := range b.sorted() {
		head = binary.AppendUvarint(head[:0], uint64(len(b.terms[id])))
		head = append(head, b.terms[id]...)
		head = binary.AppendUvarint(head, uint64(b.df[id]))
		head = binary.AppendUvarint(head, uint64(b.last[id]))
		head = binary.AppendUvarint(head, uint64(len(b.data[id])))
		w.Write(head)
		w.Write(b.data[id])
	}
	err = errors.Join(w.Flush(), f.Close())
	if err != nil {
		return fmt.Errorf("search index run: %w", err)
	}
	runs := append(b.runs, path)
	*b = *newIndexBuilder(b.run + 1)
	b.runs = runs
	return nil
}

// posting is one word's list, whole or of one run.
type posting struct {
	term     string
	df, last int64
	data     []byte
}

// postingWriter inserts the final rows in batches of bounded size.
type postingWriter struct {
	ctx   context.Context
	tx    *sql.Tx
	rows  []posting
	bytes int
}

func (w *postingWriter) add(p posting) error {
	w.rows = append(w.rows, p)
	w.bytes += len(p.data)
	if len(w.rows) >= maxParams/3 || w.bytes >= 16<<20 {
		return w.flush()
	}
	return nil
}

func (w *postingWriter) flush() error {
	_, err := insertRows(w.ctx, w.tx, `INSERT INTO search_postings(term, df, data)`, "", 3, len(w.rows),
		func(i int, a []any) []any { return append(a, w.rows[i].term, w.rows[i].df, w.rows[i].data) })
	if err != nil {
		return fmt.Errorf("write postings: %w", err)
	}
	clear(w.rows)
	w.rows, w.bytes = w.rows[:0], 0
	return nil
}

// write stores every word's list: straight from memory when the build
// needed one run, else by merging the run files with the run held.
func (b *indexBuilder) write(ctx context.Context, tx *sql.Tx, dir string) error {
	out := &postingWriter{ctx: ctx, tx: tx}
	if len(b.runs) == 0 {
		for _, id := range b.sorted() {
			if err := out.add(posting{b.terms[id], b.df[id], b.last[id], b.data[id]}); err != nil {
				return err
			}
		}
		return out.flush()
	}
	if err := b.spill(dir); err != nil {
		return err
	}
	var h runHeap
	for i, path := range b.runs {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("search index run: %w", err)
		}
		defer f.Close()
		r := &runReader{run: i, r: bufio.NewReaderSize(f, 1<<20)}
		if ok, err := r.next(); err != nil {
			return err
		} else if ok {
			h = append(h, r)
		}
	}
	heap.Init(&h)
	for len(h) > 0 {
		// The readers at this word, in run order (the heap's tie-break).
		first := h[0]
		p := posting{term: first.cur.term}
		for len(h) > 0 && h[0].cur.term == p.term {
			r := h[0]
			c := r.cur
			if p.data == nil {
				p.data = c.data
			} else {
				d, k := binary.Uvarint(c.data)
				if k <= 0 || int64(d) <= p.last {
					return fmt.Errorf("search index run %d: bad list of %q", r.run, c.term)
				}
				p.data = binary.AppendUvarint(p.data, d-uint64(p.last))
				p.data = append(p.data, c.data[k:]...)
			}
			p.df += c.df
			p.last = c.last
			if ok, err := r.next(); err != nil {
				return err
			} else if ok {
				heap.Fix(&h, 0)
			} else {
				heap.Pop(&h)
			}
		}
		if err := out.add(p); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return out.flush()
}

// runReader reads one run file record by record.
type runReader struct {
	run int
	r   *bufio.Reader
	cur posting
}

// next reads the next record into cur; false at the end of the file.
func (r *runReader) next() (bool, error) {
	n, err := binary.ReadUvarint(r.r)
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	term := make([]byte, n)
	if err == nil {
		_, err = io.ReadFull(r.r, term)
	}
	var df, last, size uint64
	if err == nil {
		df, err = binary.ReadUvarint(r.r)
	}
	if err == nil {
		last, err = binary.ReadUvarint(r.r)
	}
	if err == nil {
		size, err = binary.ReadUvarint(r.r)
	}
	data := make([]byte, size)
	if err == nil {
		_, err = io.ReadFull(r.r, data)
	}
	if err != nil {
		return false, fmt.Errorf("search index run %d: %w", r.run, err)
	}
	r.cur = posting{string(term), int64(df), int64(last), data}
	return true, nil
}

// runHeap orders run readers by their current word, then by run.
type runHeap []*runReader

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	if c := strings.Compare(h[i].cur.term, h[j].cur.term); c != 0 {
		return c < 0
	}
	return h[i].run < h[j].run
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
