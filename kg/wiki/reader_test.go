package wiki

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/unicode"
)

// readAll reads every page, failing the test on any error.
func readAll(t *testing.T, path string) (SiteInfo, []Page) {
	t.Helper()
	r, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()
	var pages []Page
	for {
		p, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		pages = append(pages, p)
	}
	return r.SiteInfo(), pages
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func utf16(t *testing.T, b []byte, e unicode.Endianness) []byte {
	t.Helper()
	out, err := unicode.UTF16(e, unicode.UseBOM).NewEncoder().Bytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pageOffsets are where "<page>" starts in UTF-8 XML.
func pageOffsets(xml []byte) []int64 {
	var offs []int64
	for i := 0; ; {
		k := bytes.Index(xml[i:], []byte("<page>"))
		if k < 0 {
			return offs
		}
		offs = append(offs, int64(i+k))
		i += k + 1
	}
}

func TestReaderFormats(t *testing.T) {
	small := mustRead(t, "testdata/small.xml")
	withDecl := append([]byte(`<?xml version="1.0" encoding="UTF-16"?>`+"\n"), small...)
	tests := []struct {
		name string
		file string // file name, which must not matter
		data []byte
		utf8 []byte // the decoded XML, for offsets
	}{
		{"plain", "dump.xml", small, small},
		{"gzip", "dump.xml.gz", gzipped(t, small), small},
		{"bzip2", "dump.xml.bz2", mustRead(t, "testdata/single.xml.bz2"), small},
		{"bzip2 multistream", "dump.xml.bz2", mustRead(t, "testdata/multi.xml.bz2"), small},
		{"misnamed plain", "dump.xml.bz2", small, small},
		{"misnamed bzip2", "dump.xml", mustRead(t, "testdata/single.xml.bz2"), small},
		{"utf-8 BOM", "dump.xml", append([]byte("\xef\xbb\xbf"), small...), small},
		{"utf-16le BOM", "dump.xml", utf16(t, small, unicode.LittleEndian), small},
		{"utf-16be BOM", "dump.xml", utf16(t, small, unicode.BigEndian), small},
		{"utf-16 with declaration", "dump.xml", utf16(t, withDecl, unicode.LittleEndian), withDecl},
		{"gzip utf-16", "dump.xml.gz", gzipped(t, utf16(t, small, unicode.LittleEndian)), small},
		{"xz", "dump.xml.xz", xzed(t, small), small},
		{"misnamed xz", "dump.xml", xzed(t, small), small},
		{"xz utf-16be", "dump.xml.xz", xzed(t, utf16(t, small, unicode.BigEndian)), small},
	}
	wantTitles := []string{"Alpha", "Beta", "Kategorie:Letters", "Gamma"}
	// The multistream file with an index next to it, as Wikimedia names them.
	idxDir := t.TempDir()
	multi := mustRead(t, "testdata/multi.xml.bz2")
	if err := os.WriteFile(filepath.Join(idxDir, "dump-multistream.xml.bz2"), multi, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(idxDir, "dump-multistream-index.txt"), indexOf(t, multi), 0o644); err != nil {
		t.Fatal(err)
	}
	tests = append(tests, struct {
		name string
		file string
		data []byte
		utf8 []byte
	}{"bzip2 multistream with index", filepath.Join(idxDir, "dump-multistream.xml.bz2"), nil, small})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.file
			if tt.data != nil {
				path = writeFile(t, tt.file, tt.data)
			}
			site, pages := readAll(t, path)
			if site.DBName != "testwiki" || site.Lang != "de" || site.Base != "https://de.wikipedia.org/wiki/Hauptseite" ||
				site.Namespaces[14] != "Kategorie" || site.Namespaces[0] != "" {
				t.Errorf("site = %+v", site)
			}
			var titles []string
			var offs []int64
			for _, p := range pages {
				titles = append(titles, p.Title)
				offs = append(offs, p.Offset)
			}
			if !reflect.DeepEqual(titles, wantTitles) {
				t.Fatalf("titles = %q, want %q", titles, wantTitles)
			}
			if want := pageOffsets(tt.utf8); !reflect.DeepEqual(offs, want) {
				t.Errorf("offsets = %v, want %v", offs, want)
			}
			a, b, cat, g := pages[0], pages[1], pages[2], pages[3]
			if a.ID != 1 || a.NS != 0 || a.Redirect != "" || !strings.Contains(a.Text, "[[Beta]] & [[Gamma|g]].") {
				t.Errorf("Alpha = %+v", a)
			}
			if b.Redirect != "Alpha" || b.ID != 2 {
				t.Errorf("Beta = %+v", b)
			}
			if cat.NS != 14 {
				t.Errorf("category ns = %d", cat.NS)
			}
			if g.Text != "Gamma is a letter." || g.ID != 4 {
				t.Errorf("Gamma (last revision wins) = %+v", g)
			}
		})
	}
}

// indexOf writes the multistream index of a bzip2 file: the offset of
// each stream that holds pages, once per page.
func indexOf(t *testing.T, comp []byte) []byte {
	t.Helper()
	var starts []int
	for i := 0; i+10 <= len(comp); i++ {
		if string(comp[i:i+3]) == "BZh" && string(comp[i+4:i+10]) == "\x31\x41\x59\x26\x53\x59" {
			starts = append(starts, i)
		}
	}
	var idx bytes.Buffer
	for k, s := range starts {
		end := len(comp)
		if k+1 < len(starts) {
			end = starts[k+1]
		}
		text := stdBunzip2(t, comp[s:end])
		for i := range bytes.Count(text, []byte(pageOpen)) {
			fmt.Fprintf(&idx, "%d:%d:page %d\n", s, i, i)
		}
	}
	if idx.Len() == 0 {
		t.Fatal("no stream with pages")
	}
	return idx.Bytes()
}

// TestReaderBlocks reads a single stream of several level-1 blocks, in
// parallel by block, and gets what compress/bzip2 decodes.
func TestReaderBlocks(t *testing.T) {
	blocks := blocksFile(t)
	text := stdBunzip2(t, mustRead(t, blocks))
	want := bytes.Count(text, []byte(pageOpen))
	for _, workers := range []int{1, 2, 4} {
		res, r := readWith(t, blocks, OpenOptions{Workers: workers})
		if res.final != nil || len(res.errs) > 0 || len(res.pages) != want {
			t.Errorf("%d workers: %d pages of %d, %v %v", workers, len(res.pages), want, res.errs, res.final)
		}
		if _, _, xml := r.Progress(); xml != int64(len(text)) {
			t.Errorf("%d workers: %d bytes of XML, want %d", workers, xml, len(text))
		}
	}
}

func page(title, id, text string) string {
	return "<page><title>" + title + "</title><ns>0</ns><id>" + id + "</id><revision><text>" + text + "</text></revision></page>\n"
}

func TestReaderBadInput(t *testing.T) {
	const head = `<mediawiki xml:lang="en"><siteinfo><dbname>x</dbname></siteinfo>` + "\n"
	type step struct {
		title   string // want a page with this title, or
		pageErr string // a *PageError whose message has this, or
		fatal   string // a fatal error whose message has this
	}
	tests := []struct {
		name  string
		xml   string
		steps []step
		// wantUnexpectedEOF: the fatal error wraps io.ErrUnexpectedEOF.
		wantUnexpectedEOF bool
	}{
		{"malformed page is skipped",
			head + page("A", "1", "ok") + page("Bad", "2", "a < b") + page("C", "3", "ok") + "</mediawiki>",
			[]step{{title: "A"}, {pageErr: `page "Bad" (id 2) at offset`}, {title: "C"}}, false},
		{"page without end",
			head + page("A", "1", "ok") + "<page><title>Cut</title><ns>0</ns><id>9</id><revision><text>x\n" +
				page("C", "3", "ok") + "</mediawiki>",
			[]step{{title: "A"}, {pageErr: `page "Cut" (id 9) at offset 151: page not closed before the next <page>`}, {title: "C"}}, false},
		{"bad ns",
			head + strings.Replace(page("A", "1", "x"), "<ns>0</ns>", "<ns>zero</ns>", 1) + page("B", "2", "x") + "</mediawiki>",
			[]step{{pageErr: `bad <ns> "zero"`}, {title: "B"}}, false},
		{"no title",
			head + "<page><ns>0</ns><id>5</id></page>" + page("B", "2", "x") + "</mediawiki>",
			[]step{{pageErr: "(id 5) at offset 65: page without <title>"}, {title: "B"}}, false},
		{"truncated mid-page",
			head + page("A", "1", "ok") + "<page><title>Cut</title><ns>0</ns><id>9</id><revision><text>some te",
			[]step{{title: "A"}, {fatal: `dump truncated in page "Cut" (id 9) at offset 151`}}, true},
		{"truncated between pages",
			head + page("A", "1", "ok"),
			[]step{{title: "A"}, {fatal: "dump ends at offset 151 without </mediawiki>"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "bad.xml", []byte(tt.xml))
			r, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			ctx := context.Background()
			for i, s := range tt.steps {
				p, err := r.Next(ctx)
				switch {
				case s.title != "":
					if err != nil || p.Title != s.title {
						t.Fatalf("step %d: got %q, %v; want page %q", i, p.Title, err, s.title)
					}
				case s.pageErr != "":
					var pe *PageError
					if !errors.As(err, &pe) || !strings.Contains(err.Error(), s.pageErr) || pe.File != "bad.xml" {
						t.Fatalf("step %d: got %v; want *PageError with %q", i, err, s.pageErr)
					}
				case s.fatal != "":
					var pe *PageError
					if err == nil || errors.As(err, &pe) || !strings.Contains(err.Error(), s.fatal) || !strings.Contains(err.Error(), "bad.xml") {
						t.Fatalf("step %d: got %v; want fatal error with %q", i, err, s.fatal)
					}
					if tt.wantUnexpectedEOF && !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Errorf("step %d: %v does not wrap io.ErrUnexpectedEOF", i, err)
					}
					if _, again := r.Next(ctx); again != err {
						t.Errorf("fatal error not sticky: then %v", again)
					}
					return
				}
			}
			if _, err := r.Next(ctx); !errors.Is(err, io.EOF) {
				t.Errorf("after last step: %v, want io.EOF", err)
			}
		})
	}
}

func TestReaderTruncatedBzip2(t *testing.T) {
	b := mustRead(t, "testdata/single.xml.bz2")
	r, err := Open(writeFile(t, "cut.xml.bz2", b[:len(b)-20]))
	if err == nil {
		defer r.Close()
		for err == nil {
			_, err = r.Next(context.Background())
		}
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "cut.xml.bz2") {
		t.Fatalf("got %v, want an error naming the file and wrapping io.ErrUnexpectedEOF", err)
	}
}

func TestReaderNoSiteInfo(t *testing.T) {
	tests := []struct {
		file, xml, wantDB, wantLang string
	}{
		{"enwiki-2017-5p.xml", `<mediawiki xml:lang="sv">` + page("A", "1", "x") + "</mediawiki>", "enwiki", "sv"},
		{"frwiki.xml", "<mediawiki>" + page("A", "1", "x") + "</mediawiki>", "frwiki", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			site, pages := readAll(t, writeFile(t, tt.file, []byte(tt.xml)))
			if site.DBName != tt.wantDB || site.Lang != tt.wantLang || site.Namespaces == nil || len(pages) != 1 {
				t.Errorf("site = %+v, %d pages", site, len(pages))
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"not xml", "hello world, no markup here", "not a MediaWiki XML export"},
		{"other xml", "<html><body>x</body></html>", "root element <html>"},
		{"broken xz", "\xfd7zXZ\x00rest", "xz header"},
		{"zstd", "\x28\xb5\x2f\xfdrest", "zstd compression is not supported"},
		{"empty", "", "not a MediaWiki XML export"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Open(writeFile(t, "x.xml", []byte(tt.data)))
			if err == nil {
				r.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "x.xml") {
				t.Errorf("error %q, want %q naming the file", err, tt.want)
			}
		})
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.xml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestReaderContext(t *testing.T) {
	r, err := Open("testdata/single.xml.bz2")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// The header is buffered, so the first page may still come; a read
	// that has to wait must give up.
	for i := 0; i < 10; i++ {
		if _, err = r.Next(ctx); err != nil {
			break
		}
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	// Giving up is not fatal: with a live context the reader goes on.
	if _, err := r.Next(context.Background()); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("after cancel: %v", err)
	}
}

// sourceText decodes a whole file through openSource and returns the text
// and the errors on the way (the last one final).
func sourceText(t *testing.T, path string, workers int, plan *bzPlan) ([]byte, []error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	ctx, cancel := context.WithCancel(context.Background())
	src, err := openSource(ctx, f, filepath.Base(path), st.Size(), workers, plan)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	defer func() {
		cancel()
		src.close()
	}()
	return drain(src)
}

// drain reads a source to its end, going on after lost streams, and returns
// the text and the errors it met; a non-stream error ends it.
func drain(src source) ([]byte, []error) {
	var out []byte
	var errs []error
	for {
		b, _, err := src.next(context.Background())
		if errors.Is(err, io.EOF) {
			return out, errs
		}
		if err != nil {
			errs = append(errs, err)
			var se *StreamError
			if !errors.As(err, &se) {
				return out, errs
			}
			continue
		}
		out = append(out, b...)
		src.recycle(b)
	}
}

func TestParallelBzip2(t *testing.T) {
	small := mustRead(t, "testdata/small.xml")
	for _, file := range []string{"testdata/multi.xml.bz2", "testdata/single.xml.bz2"} {
		for _, workers := range []int{1, 2, 3, 8} {
			got, errs := sourceText(t, file, workers, nil)
			if len(errs) > 0 || !bytes.Equal(got, small) {
				t.Errorf("%s, %d workers: %d bytes, %v", file, workers, len(got), errs)
			}
		}
	}
	// A corrupt block is an error, not silence.
	bad := mustRead(t, "testdata/single.xml.bz2")
	bad[len(bad)/2] ^= 0xff
	if _, errs := sourceText(t, writeFile(t, "bad.xml.bz2", bad), 2, nil); len(errs) == 0 {
		t.Error("corrupt input decoded without error")
	}
}

func TestReaderCloseEarly(t *testing.T) {
	// Closing before the end must not leak or block the decoding goroutines.
	r, err := Open("testdata/multi.xml.bz2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(context.Background()); err == nil {
		t.Error("Next after Close succeeded")
	}
}

func TestReaderLegacyCharset(t *testing.T) {
	xml := "<?xml version=\"1.0\" encoding='ISO-8859-1'?>\n<mediawiki>" +
		"<page><title>Caf\xe9</title><ns>0</ns><id>1</id><revision><text>cr\xe8me</text></revision></page></mediawiki>"
	_, pages := readAll(t, writeFile(t, "latin1.xml", []byte(xml)))
	if len(pages) != 1 || pages[0].Title != "Café" || pages[0].Text != "crème" {
		t.Errorf("pages = %+v", pages)
	}
}

func TestDeclaredEncoding(t *testing.T) {
	tests := []struct{ head, want string }{
		{`<?xml version="1.0" encoding="UTF-8"?><a/>`, "UTF-8"},
		{`<?xml version='1.0' encoding = 'iso-8859-1' ?>`, "iso-8859-1"},
		{`<?xml version="1.0"?><mediawiki encoding="x">`, ""},
		{`<mediawiki>`, ""},
		{`<?xml encoding="unterminated`, ""},
	}
	for _, tt := range tests {
		if got := declaredEncoding([]byte(tt.head)); got != tt.want {
			t.Errorf("declaredEncoding(%q) = %q, want %q", tt.head, got, tt.want)
		}
	}
}
