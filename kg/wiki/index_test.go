package wiki

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// readResult is everything a reader handed out.
type readResult struct {
	pages []Page
	errs  []error // recoverable ones, in order
	final error   // nil after io.EOF
}

func readWith(t *testing.T, path string, opts OpenOptions) (readResult, *Reader) {
	t.Helper()
	r, err := OpenWith(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("OpenWith(%s, %+v): %v", filepath.Base(path), opts, err)
	}
	t.Cleanup(func() { r.Close() })
	var res readResult
	for {
		p, err := r.Next(context.Background())
		switch {
		case errors.Is(err, io.EOF):
			return res, r
		case Recoverable(err):
			res.errs = append(res.errs, err)
		case err != nil:
			res.final = err
			return res, r
		default:
			res.pages = append(res.pages, p)
		}
	}
}

// sharedDump returns the path of the shared dump whose name starts with
// prefix.
func sharedDump(t *testing.T, prefix string) string {
	t.Helper()
	return sharedGlob(t, prefix+"*.xml.bz2")[0]
}

func titles(ps []Page) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Title
	}
	return out
}

// samePages compares what two reads returned, offsets included.
func samePages(t *testing.T, what string, got, want []Page) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d pages, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("%s: page %d: %+v, want %+v", what, i, brief(got[i]), brief(want[i]))
		}
	}
}

// TestSharedDumpReadModes reads every shared dump every way it can be
// read and gets the same pages.
func TestSharedDumpReadModes(t *testing.T) {
	for _, path := range sharedDumps(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want, r := readWith(t, path, OpenOptions{Workers: 1, NoIndex: true})
			if want.final != nil || len(want.errs) > 0 {
				t.Fatalf("sequential read: %v %v", want.errs, want.final)
			}
			st, _ := os.Stat(path)
			if done, total, xml := r.Progress(); done != st.Size() || total != st.Size() || xml == 0 {
				t.Errorf("progress at the end: %d of %d compressed (file %d), %d XML", done, total, st.Size(), xml)
			}
			for _, opts := range []OpenOptions{{}, {NoIndex: true, Workers: 3}, {Workers: 5}} {
				got, _ := readWith(t, path, opts)
				if got.final != nil || len(got.errs) > 0 {
					t.Fatalf("%+v: %v %v", opts, got.errs, got.final)
				}
				samePages(t, fmt.Sprintf("%+v", opts), got.pages, want.pages)
			}
		})
	}
}

// TestShards reads the fatwiki dump in shards through its index: together
// they hold every page once, in order.
func TestShards(t *testing.T) {
	path := sharedDump(t, "fatwiki-")
	sharedIndex(t, path)
	full, _ := readWith(t, path, OpenOptions{})
	st, _ := os.Stat(path)
	for _, n := range []int{1, 2, 3, 7, 40} {
		var all []Page
		var total int64
		for i := range n {
			res, r := readWith(t, path, OpenOptions{Shard: i, Shards: n})
			if res.final != nil || len(res.errs) > 0 {
				t.Fatalf("shard %d of %d: %v %v", i, n, res.errs, res.final)
			}
			if r.SiteInfo().DBName != "fatwiki" {
				t.Errorf("shard %d of %d: site %+v", i, n, r.SiteInfo())
			}
			done, tot, _ := r.Progress()
			if done != tot {
				t.Errorf("shard %d of %d: progress %d of %d at the end", i, n, done, tot)
			}
			total += tot
			all = append(all, res.pages...)
		}
		if !reflect.DeepEqual(titles(all), titles(full.pages)) {
			t.Errorf("%d shards: %d pages, want %d in the same order", n, len(all), len(full.pages))
		}
		// Each shard reads the site header; together they read the file.
		if header := int64(568); total != st.Size()+int64(n-1)*header {
			t.Errorf("%d shards: compressed totals sum to %d, file %d", n, total, st.Size())
		}
	}
}

func TestIndexFor(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		dump, index string // index "" when none should be found
	}{
		{"enwiki-20240920-pages-articles-multistream.xml.bz2", "enwiki-20240920-pages-articles-multistream-index.txt.bz2"},
		{"enwiki-20240920-pages-articles-multistream1.xml-p1p41242.bz2", "enwiki-20240920-pages-articles-multistream-index1.txt-p1p41242.bz2"},
		{"frwiki-20240901-pages-articles-multistream.xml.bz2", "frwiki-20240901-pages-articles-multistream-index.txt"},
		{"dewiki-20240901-pages-articles.xml.bz2", ""},
		{"nlwiki-20240901-pages-articles-multistream.xml.bz2", ""},
	}
	for _, tt := range tests {
		if tt.index != "" {
			if err := os.WriteFile(filepath.Join(dir, tt.index), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got := indexFor(filepath.Join(dir, tt.dump))
		if want := tt.index; want != "" {
			want = filepath.Join(dir, want)
			if got != want {
				t.Errorf("indexFor(%s) = %q, want %q", tt.dump, got, want)
			}
		} else if got != "" {
			t.Errorf("indexFor(%s) = %q, want none", tt.dump, got)
		}
	}
}

// multistreamCopy copies the fatwiki dump and, if withIndex, its index
// into a temporary directory under their Wikimedia names.
func multistreamCopy(t *testing.T, dump []byte, withIndex bool) string {
	t.Helper()
	src := sharedDump(t, "fatwiki-")
	dir := t.TempDir()
	path := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(path, dump, 0o644); err != nil {
		t.Fatal(err)
	}
	if withIndex {
		idx := sharedIndex(t, src)
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(idx)), mustRead(t, idx), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestIndexErrors(t *testing.T) {
	path := sharedDump(t, "fatwiki-")
	dump := mustRead(t, path)
	goodIndex := func(t *testing.T) []byte {
		idx := sharedIndex(t, path)
		return stdBunzip2(t, mustRead(t, idx))
	}
	tests := []struct {
		name  string
		index func(t *testing.T) []byte
		opts  OpenOptions
		want  string
	}{
		{"lines out of order", func(t *testing.T) []byte {
			lines := bytes.SplitAfter(goodIndex(t), []byte("\n"))
			lines[0], lines[len(lines)-2] = lines[len(lines)-2], lines[0]
			return bytes.Join(lines, nil)
		}, OpenOptions{}, "not in file order"},
		{"malformed line", func(t *testing.T) []byte {
			return append([]byte("no offset here\n"), goodIndex(t)...)
		}, OpenOptions{}, "line 1: want offset:page_id:title"},
		{"another dump's index", func(t *testing.T) []byte {
			return []byte("100:1:A\n1000:2:B\n")
		}, OpenOptions{}, "does not match the dump: no bzip2 stream at byte 100"},
		{"empty index", func(t *testing.T) []byte { return nil }, OpenOptions{}, "lists no pages"},
		{"shard out of range", func(t *testing.T) []byte { return goodIndex(t) }, OpenOptions{Shard: 3, Shards: 3}, "shard 3 of 3 does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			dumpPath := filepath.Join(dir, "x-multistream.xml.bz2")
			if err := os.WriteFile(dumpPath, dump, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "x-multistream-index.txt"), tt.index(t), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := OpenWith(context.Background(), dumpPath, tt.opts)
			if err == nil {
				r.Close()
				t.Fatal("OpenWith succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "x-multistream") {
				t.Errorf("error %q, want %q naming the file", err, tt.want)
			}
		})
	}
	// Shards need an index; an index needs a bzip2 dump.
	noIndex := writeFile(t, "y-pages-articles.xml.bz2", dump)
	if _, err := OpenWith(context.Background(), noIndex, OpenOptions{Shard: 1, Shards: 2}); err == nil || !strings.Contains(err.Error(), "needs the multistream index") {
		t.Errorf("shards without an index: %v", err)
	}
	plain := writeFile(t, "z.xml", mustRead(t, "testdata/small.xml"))
	if _, err := OpenWith(context.Background(), plain, OpenOptions{Index: path}); err == nil || !strings.Contains(err.Error(), "index goes with a bzip2") {
		t.Errorf("index for plain XML: %v", err)
	}
}

func TestMemoryBudget(t *testing.T) {
	if _, err := OpenWith(context.Background(), "testdata/small.xml", OpenOptions{MemoryBudget: 64 << 20, MaxPageBytes: 32 << 20}); err == nil ||
		!strings.Contains(err.Error(), "memory budget") {
		t.Errorf("a budget below three max pages: %v", err)
	}
	// The budget caps the workers.
	fixed := int64(3*(1<<20) + 4*pieceSize + scanWindow + 2*unitQueue*pieceSize)
	r, err := OpenWith(context.Background(), "testdata/multi.xml.bz2", OpenOptions{Workers: 8, MaxPageBytes: 1 << 20, MemoryBudget: fixed + 3*bzWorkerBytes})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Workers() != 3 {
		t.Errorf("%d workers, want the 3 the budget allows", r.Workers())
	}
}

// TestIndexBogusOffset gives the index an offset inside a stream, which
// cuts the stream in two units that both fail: the stream's pages are
// lost as StreamErrors, and reading goes on.
func TestIndexBogusOffset(t *testing.T) {
	path := sharedDump(t, "fatwiki-")
	idxPath := sharedIndex(t, path)
	full, _ := readWith(t, path, OpenOptions{})
	idx, err := readIndex(t.Context(), idxPath, 2)
	if err != nil {
		t.Fatal(err)
	}
	const k = 5
	bogus := (idx.offsets[k] + idx.offsets[k+1]) / 2
	var lines bytes.Buffer
	prefix := []byte(fmt.Sprintf("%d:", idx.offsets[k]))
	in := bytes.SplitAfter(stdBunzip2(t, mustRead(t, idxPath)), []byte("\n"))
	for i, l := range in {
		lines.Write(l)
		if bytes.HasPrefix(l, prefix) && !bytes.HasPrefix(in[i+1], prefix) {
			fmt.Fprintf(&lines, "%d:1:Bogus\n", bogus) // after the stream's last page
		}
	}
	dir := t.TempDir()
	dump := filepath.Join(dir, "x-multistream.xml.bz2")
	if err := os.WriteFile(dump, mustRead(t, path), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x-multistream-index.txt"), lines.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	res, _ := readWith(t, dump, OpenOptions{})
	if res.final != nil || len(res.errs) != 2 {
		t.Fatalf("errors %v, final %v; want two StreamErrors", res.errs, res.final)
	}
	for _, e := range res.errs {
		if Reason(e) != ReasonCorruptStream {
			t.Errorf("error %v, want a StreamError", e)
		}
	}
	if len(res.pages) != len(full.pages)-int(idx.pages[k]) {
		t.Errorf("%d pages, want %d", len(res.pages), len(full.pages)-int(idx.pages[k]))
	}
}
