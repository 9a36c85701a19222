package wiki

import (
	"bytes"
	"compress/bzip2"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestBzReaderSharedDumps(t *testing.T) {
	files := sharedDumps(t)
	idx, _ := filepath.Glob(filepath.Join(filepath.Dir(files[0]), "*-index.txt.bz2"))
	files = append(files, idx...)
	files = append(files, "testdata/single.xml.bz2", "testdata/multi.xml.bz2")
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			comp := mustRead(t, path)
			want, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(comp)))
			if err != nil {
				t.Fatal(err)
			}
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

func BenchmarkBzReader(b *testing.B) {
	path := os.Getenv("BZFILE")
	if path == "" {
		path = filepath.Join("..", "..", "..", "shared", "data", "wiki", "enwiki-2016-excerpt-206p.xml.bz2")
	}
	comp, err := os.ReadFile(path)
	if err != nil {
		b.Skip(err)
	}
	n, _ := io.Copy(io.Discard, bzip2.NewReader(bytes.NewReader(comp)))
	b.SetBytes(n)
	for range b.N {
		if _, err := io.Copy(io.Discard, newBzReader(bytes.NewReader(comp))); err != nil {
			b.Fatal(err)
		}
	}
}
