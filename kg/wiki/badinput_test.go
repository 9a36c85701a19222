package wiki

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
)

// The bad inputs of issue 4, each built from the shared dumps: the reader
// names the file and the offset, keeps every good page, and says by its
// errors why the others are missing.

// fatwikiText is the decompressed fatwiki dump and its pages, read clean.
func fatwikiText(t *testing.T) (string, []byte, []Page) {
	t.Helper()
	path := sharedDump(t, "fatwiki-")
	full, _ := readWith(t, path, OpenOptions{})
	if full.final != nil || len(full.errs) > 0 {
		t.Fatalf("clean read: %v %v", full.errs, full.final)
	}
	return path, stdBunzip2(t, mustRead(t, path)), full.pages
}

// isPrefix reports whether got is the start of want, page for page.
func isPrefix(got, want []Page) bool {
	if len(got) > len(want) {
		return false
	}
	for i := range got {
		if got[i].Title != want[i].Title || got[i].Text != want[i].Text {
			return false
		}
	}
	return true
}

func gz(t *testing.T, b []byte) []byte { return gzipped(t, b) }

func xzed(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestBadInputTruncated cuts each kind of input in the middle of a page:
// the pages before the break come out, then an error that wraps
// io.ErrUnexpectedEOF and names the file and an offset.
func TestBadInputTruncated(t *testing.T) {
	path, xmlText, pages := fatwikiText(t)
	dump := mustRead(t, path)
	// A cut in the middle of the text of a page half-way through.
	mid := pages[len(pages)/2]
	xmlCut := int(mid.Offset) + len(mid.Title) + 200
	// Pages in the streams that end before a cut at 60% all come out.
	idx, err := readIndex(t.Context(), sharedIndex(t, path), 2)
	if err != nil {
		t.Fatal(err)
	}
	beforeCut := 0
	for i := 0; i+1 < len(idx.offsets) && idx.offsets[i+1] <= int64(len(dump)*6/10); i++ {
		beforeCut += int(idx.pages[i])
	}
	single := sharedDump(t, "enwiki-2016")
	singleFull, _ := readWith(t, single, OpenOptions{})
	singleDump := mustRead(t, single)
	tests := []struct {
		name     string
		file     string
		data     []byte
		want     []Page
		minPages int // at least this many pages come out
		index    bool
	}{
		{"multistream with index", filepath.Base(path), dump[:len(dump)*6/10], pages, beforeCut, true},
		{"multistream, no index", filepath.Base(path), dump[:len(dump)*6/10], pages, beforeCut, false},
		{"single stream", "enwiki-cut.xml.bz2", singleDump[:len(singleDump)*7/10], singleFull.pages, len(singleFull.pages) / 3, false},
		{"plain XML", "fatwiki-cut.xml", xmlText[:xmlCut], pages, len(pages) / 2, false},
		{"gzip", "fatwiki-cut.xml.gz", gz(t, xmlText)[:len(gz(t, xmlText))*6/10], pages, len(pages) / 3, false},
		{"xz", "fatwiki-cut.xml.xz", xzed(t, xmlText)[:len(xzed(t, xmlText))*6/10], pages, len(pages) / 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p string
			if tt.index || strings.HasPrefix(tt.name, "multistream") {
				p = multistreamCopy(t, tt.data, tt.index)
			} else {
				p = writeFile(t, tt.file, tt.data)
			}
			res, _ := readWith(t, p, OpenOptions{})
			if !errors.Is(res.final, io.ErrUnexpectedEOF) || Reason(res.final) != ReasonTruncated {
				t.Fatalf("final error %v, want one wrapping io.ErrUnexpectedEOF", res.final)
			}
			if msg := res.final.Error(); !strings.Contains(msg, filepath.Base(p)) || !strings.Contains(msg, "offset") {
				t.Errorf("error %q does not name the file and an offset", msg)
			}
			if len(res.errs) > 0 {
				t.Errorf("errors before the end: %v", res.errs)
			}
			if !isPrefix(res.pages, tt.want) || len(res.pages) < tt.minPages {
				t.Errorf("%d pages, want a prefix of at least %d of the %d", len(res.pages), tt.minPages, len(tt.want))
			}
			if tt.name == "plain XML" {
				// Every page that ends before the cut.
				want := 0
				for _, pg := range pages {
					if pg.Offset < mid.Offset {
						want++
					}
				}
				if len(res.pages) != want {
					t.Errorf("%d pages, want the %d before the cut", len(res.pages), want)
				}
				if !strings.Contains(res.final.Error(), fmt.Sprintf("%q", mid.Title)) {
					t.Errorf("error %q does not name the cut page %q", res.final, mid.Title)
				}
			}
		})
	}
}

// TestBadInputCorruptStream damages one stream of the fatwiki multistream
// dump: its pages are lost with a StreamError naming the file and the
// stream's offset, every other stream's pages come out.
func TestBadInputCorruptStream(t *testing.T) {
	path, _, pages := fatwikiText(t)
	idxPath := sharedIndex(t, path)
	idx, err := readIndex(t.Context(), idxPath, 2)
	if err != nil {
		t.Fatal(err)
	}
	const k = 10 // the stream to damage
	off := idx.offsets[k]
	first := 0 // index of the stream's first page among all pages
	for i := range k {
		first += int(idx.pages[i])
	}
	n := int(idx.pages[k])
	want := append(append([]Page(nil), pages[:first]...), pages[first+n:]...)
	dump := mustRead(t, path)
	middle := int(off+idx.offsets[k+1]) / 2
	tests := []struct {
		name  string
		data  []byte
		index bool
		lost  int // StreamError.Lost
	}{
		{"with index, damage inside", flip(dump, middle), true, n},
		{"with index, damaged header", flip(dump, int(off)), true, n},
		{"no index, damage inside", flip(dump, middle), false, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := multistreamCopy(t, tt.data, tt.index)
			res, _ := readWith(t, p, OpenOptions{})
			if res.final != nil {
				t.Fatalf("final error %v, want the end of the dump", res.final)
			}
			if len(res.errs) != 1 {
				t.Fatalf("errors %v, want one StreamError", res.errs)
			}
			var se *StreamError
			if !errors.As(res.errs[0], &se) || Reason(res.errs[0]) != ReasonCorruptStream {
				t.Fatalf("error %v, want a *StreamError", res.errs[0])
			}
			msg := se.Error()
			if se.File != filepath.Base(p) || !strings.Contains(msg, se.File) || se.Lost != tt.lost {
				t.Errorf("%q: file %q, lost %d; want %q, %d", msg, se.File, se.Lost, filepath.Base(p), tt.lost)
			}
			if tt.index && (se.Offset != off || se.Pages != n || !strings.Contains(msg, fmt.Sprintf("stream at byte %d", off))) {
				t.Errorf("%q: offset %d, %d pages; want the stream at byte %d of %d pages", msg, se.Offset, se.Pages, off, n)
			}
			if !tt.index && (se.Offset < off || se.Offset >= idx.offsets[k+1]) {
				t.Errorf("%q: block at byte %d, want one in the stream at %d–%d", msg, se.Offset, off, idx.offsets[k+1])
			}
			if !reflect.DeepEqual(titles(res.pages), titles(want)) {
				t.Errorf("%d pages, want the %d outside the damaged stream", len(res.pages), len(want))
			}
		})
	}
}

// xmlWithPage rewrites the idx-th page of a dump's text with edit.
func xmlWithPage(t *testing.T, xmlText []byte, pages []Page, idx int, edit func(chunk []byte) []byte) []byte {
	t.Helper()
	start := int(pages[idx].Offset)
	end := start + bytes.Index(xmlText[start:], []byte(pageClose)) + len(pageClose)
	var out []byte
	out = append(out, xmlText[:start]...)
	out = append(out, edit(bytes.Clone(xmlText[start:end]))...)
	return append(out, xmlText[end:]...)
}

// TestBadInputMalformedPage breaks the XML of one page: a PageError names
// it and every other page comes out.
func TestBadInputMalformedPage(t *testing.T) {
	_, xmlText, pages := fatwikiText(t)
	const k = 1000
	bad := xmlWithPage(t, xmlText, pages, k, func(c []byte) []byte {
		return bytes.Replace(c, []byte("</ns>"), []byte("</nss>"), 1)
	})
	want := append(append([]Page(nil), pages[:k]...), pages[k+1:]...)
	for _, tt := range []struct {
		file string
		data []byte
	}{
		{"fatwiki-bad.xml", bad},
		{"fatwiki-bad.xml.gz", gz(t, bad)},
	} {
		t.Run(tt.file, func(t *testing.T) {
			res, _ := readWith(t, writeFile(t, tt.file, tt.data), OpenOptions{})
			if res.final != nil || len(res.errs) != 1 {
				t.Fatalf("errors %v, final %v; want one PageError", res.errs, res.final)
			}
			var pe *PageError
			if !errors.As(res.errs[0], &pe) || pe.Reason != ReasonMalformedXML || Reason(pe) != ReasonMalformedXML ||
				pe.Title != pages[k].Title || pe.Offset != pages[k].Offset || pe.File != tt.file {
				t.Errorf("error %v (%+v), want a malformed_xml PageError for %q at offset %d", res.errs[0], pe, pages[k].Title, pages[k].Offset)
			}
			if !reflect.DeepEqual(titles(res.pages), titles(want)) {
				t.Errorf("%d pages, want %d", len(res.pages), len(want))
			}
		})
	}
}

// TestBadInputInvalidUTF8 puts bytes that are not UTF-8, and a control
// character XML forbids, into one page: the page comes out with them
// replaced by U+FFFD and counted; nothing else changes.
func TestBadInputInvalidUTF8(t *testing.T) {
	_, xmlText, pages := fatwikiText(t)
	k := 42
	for pages[k].Text == "" {
		k++
	}
	bad := xmlWithPage(t, xmlText, pages, k, func(c []byte) []byte {
		i := bytes.Index(c, []byte("</text>"))
		return append(c[:i:i], append([]byte(" \xff\xfe bad \x01 \xc3"), c[i:]...)...)
	})
	res, _ := readWith(t, writeFile(t, "fatwiki-utf8.xml.gz", gz(t, bad)), OpenOptions{})
	if res.final != nil || len(res.errs) > 0 {
		t.Fatalf("errors %v, final %v", res.errs, res.final)
	}
	if len(res.pages) != len(pages) {
		t.Fatalf("%d pages, want %d", len(res.pages), len(pages))
	}
	for i, p := range res.pages {
		w := pages[i]
		if i == k {
			if p.Replaced != 4 || p.Text != w.Text+" \uFFFD\uFFFD bad \uFFFD \uFFFD" {
				t.Errorf("repaired page: %d replaced, text ends %q", p.Replaced, p.Text[max(0, len(p.Text)-40):])
			}
			continue
		}
		if p.Replaced != 0 || p.Text != w.Text || p.Title != w.Title {
			t.Fatalf("page %d changed", i)
		}
	}
}

// hugeDump writes the fatwiki text with a page of at least size bytes,
// made by repeating the text of a real page, after its 5th page.
func hugeDump(t *testing.T, name string, size int) (string, []Page, Page) {
	t.Helper()
	_, xmlText, pages := fatwikiText(t)
	src := pages[7] // a real article
	for _, p := range pages {
		if IsArticle(p) && len(p.Text) > len(src.Text) {
			src = p
		}
	}
	var text bytes.Buffer
	text.WriteString(`<page>
    <title>Huge page</title>
    <ns>0</ns>
    <id>999999</id>
    <revision>
      <id>1</id>
      <text xml:space="preserve">`)
	esc := xmlEscape(src.Text)
	for text.Len() < size {
		text.WriteString(esc)
	}
	text.WriteString("</text>\n    </revision>\n  </page>\n  ")
	at := int(pages[5].Offset)
	var out bytes.Buffer
	out.Write(xmlText[:at])
	out.Write(text.Bytes())
	out.Write(xmlText[at:])
	huge := Page{Title: "Huge page", ID: 999999, Offset: int64(at)}
	return writeFile(t, name, out.Bytes()), pages, huge
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// TestBadInputHugePage reads a dump with a 50 MB page: skipped with a
// page_too_large PageError under the default limit, with the reader's
// buffer never growing past the limit; read in full when the limit allows.
func TestBadInputHugePage(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 50 MB page")
	}
	path, pages, huge := hugeDump(t, "fatwiki-huge.xml", 50<<20)
	t.Run("over the limit", func(t *testing.T) {
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		res, r := readWith(t, path, OpenOptions{})
		if res.final != nil || len(res.errs) != 1 {
			t.Fatalf("errors %v, final %v; want one PageError", res.errs, res.final)
		}
		var pe *PageError
		if !errors.As(res.errs[0], &pe) || pe.Reason != ReasonPageTooLarge || pe.Title != huge.Title || pe.Offset != huge.Offset ||
			!strings.Contains(pe.Error(), "fatwiki-huge.xml") || !strings.Contains(pe.Error(), "page too large") {
			t.Errorf("error %v, want page_too_large for %q at offset %d", res.errs[0], huge.Title, huge.Offset)
		}
		if !reflect.DeepEqual(titles(res.pages), titles(pages)) {
			t.Errorf("%d pages, want the %d others", len(res.pages), len(pages))
		}
		if c := cap(r.mem); c > DefaultMaxPageBytes+2*pieceSize {
			t.Errorf("reader buffer grew to %d bytes, past the page limit", c)
		}
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if grown := int64(after.HeapSys) - int64(before.HeapSys); grown > DefaultMemoryBudget {
			t.Errorf("heap grew by %d bytes, more than the budget", grown)
		}
	})
	t.Run("under the limit", func(t *testing.T) {
		res, _ := readWith(t, path, OpenOptions{MaxPageBytes: 64 << 20, MemoryBudget: 512 << 20})
		if res.final != nil || len(res.errs) > 0 {
			t.Fatalf("errors %v, final %v", res.errs, res.final)
		}
		if len(res.pages) != len(pages)+1 {
			t.Fatalf("%d pages, want %d", len(res.pages), len(pages)+1)
		}
		got := res.pages[5]
		if got.Title != huge.Title || len(got.Text) < 40<<20 {
			t.Errorf("page 5: %q with %d bytes of text", got.Title, len(got.Text))
		}
	})
}

// TestBadInputDuplicateIDs repeats a page, id and all: the reader hands
// out both; what to keep is the caller's choice.
func TestBadInputDuplicateIDs(t *testing.T) {
	_, xmlText, pages := fatwikiText(t)
	const k = 300
	dup := xmlWithPage(t, xmlText, pages, k, func(c []byte) []byte {
		return append(append(bytes.Clone(c), "\n  "...), c...)
	})
	res, _ := readWith(t, writeFile(t, "fatwiki-dup.xml", dup), OpenOptions{})
	if res.final != nil || len(res.errs) > 0 {
		t.Fatalf("errors %v, final %v", res.errs, res.final)
	}
	if len(res.pages) != len(pages)+1 || res.pages[k].ID != res.pages[k+1].ID || res.pages[k+1].Title != pages[k].Title ||
		res.pages[k+2].Title != pages[k+1].Title {
		t.Errorf("%d pages; around the duplicate: %q %q %q", len(res.pages), res.pages[k].Title, res.pages[k+1].Title, res.pages[k+2].Title)
	}
}
