package wiki

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
)

func BenchmarkTmpPlain(b *testing.B) {
	path := os.Getenv("TMPXML")
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	ctx := context.Background()
	parse := os.Getenv("TMPPARSE") != ""
	for range b.N {
		r, err := open(ctx, path, 1)
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
