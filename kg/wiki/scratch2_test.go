package wiki

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
)

func TestScratchDump(t *testing.T) {
	f := os.Getenv("DUMPF")
	if f == "" {
		t.Skip()
	}
	r, err := Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ps := NewParser(r.SiteInfo())
	want := os.Getenv("DUMPT")
	out, _ := os.Create("/tmp/dump.txt")
	defer out.Close()
	for {
		p, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.NS != 0 || p.Redirect != "" || (want != "" && p.Title != want) {
			continue
		}
		d, links := ps.Parse(p)
		fmt.Fprintf(out, "=============== %s %s %s %v\n%s\n----links\n", d.ID, d.Title, d.Kind, d.Categories, d.Text)
		for _, l := range links {
			fmt.Fprintf(out, "  %q -> %q | %s\n", l.Anchor, l.Target, l.Sentence)
		}
	}
}
