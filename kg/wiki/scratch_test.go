package wiki

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"
)

func TestScratchCount(t *testing.T) {
	files, _ := filepath.Glob("/work/shared/data/wiki/*.xml.bz2")
	for _, f := range files {
		t0 := time.Now()
		r, err := Open(f)
		if err != nil {
			t.Fatal(err)
		}
		n, red := 0, 0
		ns := map[int]int{}
		var bytes int
		for {
			p, err := r.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n++
			bytes += len(p.Text)
			if p.Redirect != "" {
				red++
			}
			ns[p.NS]++
		}
		r.Close()
		t.Logf("%s: site=%+v pages=%d red=%d ns=%v text=%d %v", filepath.Base(f), r.SiteInfo().DBName+"/"+r.SiteInfo().Lang+"/"+r.SiteInfo().Base, n, red, ns, bytes, time.Since(t0))
	}
}
