package wiki

import (
	"bytes"
	"compress/bzip2"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/unicode"
)

// sharedDumps lists the real dumps next to the repository.
func sharedDumps(t *testing.T) []string {
	t.Helper()
	return sharedGlob(t, "*.xml.bz2")
}

// dumpCounts is what a dump holds, counted two independent ways.
type dumpCounts struct {
	Pages, Redirects int
	PerNS            map[int]int
}

var nsElem = regexp.MustCompile(`<ns>(-?\d+)</ns>`)

// rawCounts decompresses the whole dump and counts markers in the raw text,
// sharing no code with Reader.
func rawCounts(t *testing.T, path string) dumpCounts {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := io.ReadAll(bzip2.NewReader(f))
	if err != nil {
		t.Fatalf("bunzip2 %s: %v", path, err)
	}
	switch {
	case bytes.HasPrefix(raw, []byte{0xff, 0xfe}):
		raw, err = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Bytes(raw)
	case bytes.HasPrefix(raw, []byte{0xfe, 0xff}):
		raw, err = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder().Bytes(raw)
	}
	if err != nil {
		t.Fatalf("transcode %s: %v", path, err)
	}
	c := dumpCounts{
		Pages:     bytes.Count(raw, []byte("<page>")),
		Redirects: bytes.Count(raw, []byte("<redirect")),
		PerNS:     map[int]int{},
	}
	for _, m := range nsElem.FindAllSubmatch(raw, -1) {
		ns, _ := strconv.Atoi(string(m[1]))
		c.PerNS[ns]++
	}
	return c
}

// readerCounts counts the same through Reader, and hands every page to fn.
func readerCounts(t *testing.T, path string, fn func(SiteInfo, Page)) dumpCounts {
	t.Helper()
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := dumpCounts{PerNS: map[int]int{}}
	for {
		p, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return c
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		c.Pages++
		c.PerNS[p.NS]++
		if p.Redirect != "" {
			c.Redirects++
		}
		if fn != nil {
			fn(r.SiteInfo(), p)
		}
	}
}

func TestSharedDumpCounts(t *testing.T) {
	known := map[string]dumpCounts{
		"enwiki-2016-excerpt-206p.xml.bz2": {Pages: 206, Redirects: 100, PerNS: map[int]int{0: 205, 4: 1}},
		"fatwiki-20240920-pages-articles-multistream.xml.bz2": {Pages: 3566, Redirects: 256,
			PerNS: map[int]int{0: 1485, 4: 15, 8: 2, 10: 1756, 14: 83, 828: 225}},
		"bgwiki-utf16le-3p.xml.bz2": {Pages: 3, Redirects: 0, PerNS: map[int]int{0: 1, 4: 2}},
	}
	for _, path := range sharedDumps(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			want := rawCounts(t, path)
			got := readerCounts(t, path, nil)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("reader counts %+v, raw counts %+v", got, want)
			}
			if k, ok := known[name]; ok && !reflect.DeepEqual(got, k) {
				t.Errorf("reader counts %+v, known %+v", got, k)
			}
			t.Logf("%d pages, %d redirects, per namespace %v", got.Pages, got.Redirects, got.PerNS)
		})
	}
}

func TestSharedDumpSiteInfo(t *testing.T) {
	want := map[string]SiteInfo{
		"bgwiki-utf16le-3p.xml.bz2":        {DBName: "bgwiki", Lang: "bg"},
		"enwiki-table-markup-5p.xml.bz2":   {DBName: "enwiki", Lang: "en"},
		"enwiki-2016-excerpt-206p.xml.bz2": {DBName: "enwiki", Lang: "en", Base: "https://en.wikipedia.org/wiki/Main_Page"},
		"fatwiki-20240920-pages-articles-multistream.xml.bz2": {DBName: "fatwiki", Lang: "fat",
			Base: "https://fat.wikipedia.org/wiki/Kratafa_Tsitsir"},
	}
	for _, path := range sharedDumps(t) {
		w, ok := want[filepath.Base(path)]
		if !ok {
			continue
		}
		r, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		got := r.SiteInfo()
		r.Close()
		if got.DBName != w.DBName || got.Lang != w.Lang || (w.Base != "" && got.Base != w.Base) {
			t.Errorf("%s: site %+v, want %+v", filepath.Base(path), got, w)
		}
	}
}

// TestSharedDumpParse parses every article of every dump and checks the
// contract of Parse; it reports how much markup is left.
func TestSharedDumpParse(t *testing.T) {
	residue := []string{"{{", "}}", "[[", "]]", "<ref"}
	for _, path := range sharedDumps(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			var parser *Parser
			articles, empty, links := 0, 0, 0
			withResidue := map[string]int{}
			readerCounts(t, path, func(site SiteInfo, p Page) {
				if p.NS != 0 || p.Redirect != "" {
					return
				}
				if parser == nil {
					parser = NewParser(site)
				}
				articles++
				d, ls := parser.Parse(p)
				if strings.TrimSpace(d.Text) == "" {
					empty++
					if strings.HasPrefix(name, "enwiki-2016") {
						t.Errorf("%q: empty text", p.Title)
					}
				}
				for _, r := range residue {
					if strings.Contains(d.Text, r) {
						withResidue[r]++
					}
				}
				for _, l := range ls {
					links++
					if l.Anchor == "" || !strings.Contains(l.Sentence, l.Anchor) || !strings.Contains(d.Text, l.Sentence) {
						t.Errorf("%q: link %+v: anchor not in sentence or sentence not in text", p.Title, l)
					}
					if l.Target == "" || l.Target != NormalizeTitle(l.Target) {
						t.Errorf("%q: link target %q not normalised", p.Title, l.Target)
					}
				}
			})
			t.Logf("%d articles, %d with empty text, %d raw links; pages with residual markup: %v",
				articles, empty, links, withResidue)
			for r, n := range withResidue {
				// A page may quote markup on purpose (<nowiki>, code);
				// more than 2% means the cleaner misses something.
				if n*50 > articles {
					t.Errorf("%q left in %d of %d pages", r, n, articles)
				}
			}
		})
	}
}

// TestSharedDumpCloseEarly closes a multistream dump (decoded in parallel)
// after one page: every decoding goroutine must end.
func TestSharedDumpCloseEarly(t *testing.T) {
	path := sharedFile(t, fatwikiDump)
	before := runtime.NumGoroutine()
	r, err := open(context.Background(), path, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 100 {
			t.Fatalf("%d goroutines before Open, %d after Close", before, runtime.NumGoroutine())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
