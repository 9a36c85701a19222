package wiki

import (
	"compress/bzip2"
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"testing"
)

func benchDump(b *testing.B) (string, int64) {
	b.Helper()
	path := sharedFile(b, fatwikiDump)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	n, err := io.Copy(io.Discard, bzip2.NewReader(f))
	if err != nil {
		b.Fatal(err)
	}
	return path, n
}

// BenchmarkDecompress is the floor: plain sequential bzip2 decoding.
func BenchmarkDecompress(b *testing.B) {
	path, n := benchDump(b)
	b.SetBytes(n)
	for range b.N {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, bzip2.NewReader(f)); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

func benchRead(b *testing.B, workers int, parse bool) {
	path, n := benchDump(b)
	b.SetBytes(n)
	ctx := context.Background()
	for range b.N {
		r, err := open(ctx, path, workers)
		if err != nil {
			b.Fatal(err)
		}
		ps := NewParser(r.SiteInfo())
		for {
			p, err := r.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if parse && p.NS == 0 && p.Redirect == "" {
				ps.Parse(p)
			}
		}
		r.Close()
	}
}

func BenchmarkReadSequential(b *testing.B) { benchRead(b, 1, false) }
func BenchmarkReadParallel(b *testing.B)   { benchRead(b, runtime.GOMAXPROCS(0), false) }
func BenchmarkReadAndParse(b *testing.B)   { benchRead(b, runtime.GOMAXPROCS(0), true) }
