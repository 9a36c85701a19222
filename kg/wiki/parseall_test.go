package wiki

import (
	"context"
	"errors"
	"io"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/miroverse/miroverse/kg"
)

type parsed struct {
	page  Page
	doc   kg.Doc
	links []kg.RawLink
	err   error
}

func parseAll(t *testing.T, path string, workers int) ([]parsed, error) {
	t.Helper()
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []parsed
	err = ParseAll(context.Background(), r, workers, func(p Page, d kg.Doc, ls []kg.RawLink, err error) error {
		out = append(out, parsed{p, d, ls, err})
		return nil
	})
	return out, err
}

// TestParseAllOrder parses in parallel and gets what Next and Parse give
// one page at a time.
func TestParseAllOrder(t *testing.T) {
	for _, path := range []string{sharedDump(t, "fatwiki-"), sharedDump(t, "enwiki-2016")} {
		r, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		ps := NewParser(r.SiteInfo())
		var want []parsed
		for {
			p, err := r.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			x := parsed{page: p}
			if IsArticle(p) {
				x.doc, x.links = ps.Parse(p)
			}
			want = append(want, x)
		}
		r.Close()
		for _, workers := range []int{1, 3} {
			got, err := parseAll(t, path, workers)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s, %d workers: %d results differ from %d sequential ones", path, workers, len(got), len(want))
			}
		}
	}
}

func TestParseAllBadInput(t *testing.T) {
	_, xmlText, pages := fatwikiText(t)
	bad := xmlWithPage(t, xmlText, pages, 10, func(c []byte) []byte {
		return []byte("<page><title>Broken</title><ns>zero</ns></page>")
	})
	got, err := parseAll(t, writeFile(t, "bad.xml", bad[:len(bad)-5000]), 2)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ParseAll: %v, want the truncation", err)
	}
	var pe *PageError
	if len(got) < 100 || !errors.As(got[10].err, &pe) || got[10].page.Title != "" || got[11].page.Title != pages[11].Title {
		t.Errorf("%d results; 10th: %+v", len(got), got[min(10, len(got)-1)].err)
	}
}

func TestParseAllStops(t *testing.T) {
	path := sharedDump(t, "fatwiki-")
	before := runtime.NumGoroutine()
	stop := errors.New("enough")
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = ParseAll(context.Background(), r, 3, func(Page, kg.Doc, []kg.RawLink, error) error {
		n++
		if n == 50 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 50 {
		t.Errorf("ParseAll: %v after %d pages, want the callback's error after 50", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err = ParseAll(ctx, r, 2, func(Page, kg.Doc, []kg.RawLink, error) error {
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("ParseAll with a cancelled context: %v", err)
	}
	r.Close()
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 100 {
			t.Fatalf("%d goroutines before, %d after", before, runtime.NumGoroutine())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
