package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/internal/testenv"
	"github.com/miroverse/miroverse/internal/text"
)

// sharedWARCs lists ../shared/data/warc; in CI their absence fails.
func sharedWARCs(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "data", "warc", "*.warc*"))
	if len(files) == 0 {
		testenv.Missing(t, "no WARC files in ../shared/data/warc")
	}
	return files
}

// python is the venv interpreter of `make test`, with warcio and
// trafilatura.
func python(t *testing.T) string {
	t.Helper()
	return testenv.Need(t, "MIROVERSE_PYTHON", "run the tests through `make test` for the warcio and trafilatura checks")
}

func readAll(t *testing.T, path string, opt Options) ([]Page, error) {
	t.Helper()
	var pages []Page
	err := Read(context.Background(), path, opt, func(p Page) error {
		pages = append(pages, p)
		return nil
	})
	return pages, err
}

// TestSharedWARCsMatchWarcio: every record of every shared WARC is one
// Page, the record types are warcio's, and every HTML response ends as a
// document or with a named reason.
func TestSharedWARCsMatchWarcio(t *testing.T) {
	files := sharedWARCs(t)
	out, err := exec.Command(python(t), append([]string{filepath.Join("..", "..", "scripts", "warc_counts.py")}, files...)...).Output()
	if err != nil {
		t.Fatalf("warc_counts.py: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for _, f := range files {
		var want struct {
			Types         map[string]int `json:"types"`
			HTMLResponses int            `json:"html_responses"`
		}
		if err := dec.Decode(&want); err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			pages, err := readAll(t, f, Options{Workers: 2, Filters: DefaultFilters()})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			html, docs := 0, 0
			for _, p := range pages {
				got[p.Type]++
				if (p.Type == "response" || p.Type == "resource") && p.Skip != ReasonNotHTML && p.Skip != ReasonRedirect && p.Skip != ReasonHTTPStatus {
					html++
					if p.Doc == nil && p.Skip == "" {
						t.Errorf("HTML record at %d ended with neither a document nor a reason", p.Offset)
					}
					if p.Doc != nil {
						docs++
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want.Types) {
				t.Errorf("record types %v, warcio %v", got, want.Types)
			}
			if html != want.HTMLResponses {
				t.Errorf("%d HTML responses, warcio %d", html, want.HTMLResponses)
			}
			t.Logf("%d records, %d HTML responses, %d documents before filters", len(pages), html, docs)
		})
	}
}

// TestExtractionAgreesWithTrafilatura measures the token F1 of our main
// text against Python trafilatura's on the HTML responses of the shared
// WARCs, and holds it to a floor set from the measurement (README, Web
// pages).
func TestExtractionAgreesWithTrafilatura(t *testing.T) {
	files := sharedWARCs(t)
	out, err := exec.Command(python(t), append([]string{filepath.Join("..", "..", "scripts", "trafilatura_extract.py")}, files...)...).Output()
	if err != nil {
		t.Fatalf("trafilatura_extract.py: %v", err)
	}
	theirs := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var r struct{ URI, Text string }
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		if r.URI != "" {
			theirs[Canonical(r.URI)] = r.Text
		}
	}
	ours := map[string]string{}
	for _, f := range files {
		pages, err := readAll(t, f, Options{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pages {
			if p.Doc != nil && p.Type == "response" {
				ours[p.Doc.Doc.URL] = p.Doc.Doc.Text
			}
		}
	}
	var sum float64
	n := 0
	for u, want := range theirs {
		if strings.TrimSpace(want) == "" {
			continue // trafilatura found no main text either
		}
		f1 := text.TokenF1(ours[u], want)
		sum += f1
		n++
		if f1 < 0.3 {
			t.Logf("low agreement %.2f on %s", f1, u)
		}
	}
	if n < 30 {
		t.Fatalf("only %d pages to compare", n)
	}
	mean := sum / float64(n)
	t.Logf("token F1 against trafilatura: mean %.3f over %d pages", mean, n)
	if mean < agreementFloor {
		t.Errorf("mean token F1 %.3f is below the floor %.2f", mean, agreementFloor)
	}
}

// agreementFloor is a little under the measured mean (README, Web pages),
// so that a change that makes extraction worse fails.
const agreementFloor = 0.80

// warcRecord is one WARC record in the 1.0 syntax, for bad inputs built
// at test time.
func warcRecord(typ, uri, date, contentType string, block []byte, extra ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "WARC/1.0\r\nWARC-Type: %s\r\nWARC-Record-ID: <urn:uuid:%08x-0000-0000-0000-000000000000>\r\n", typ, len(block)+len(uri))
	if uri != "" {
		fmt.Fprintf(&b, "WARC-Target-URI: %s\r\n", uri)
	}
	fmt.Fprintf(&b, "WARC-Date: %s\r\nContent-Type: %s\r\n", date, contentType)
	for _, h := range extra {
		fmt.Fprintf(&b, "%s\r\n", h)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(block))
	b.Write(block)
	b.WriteString("\r\n\r\n")
	return b.Bytes()
}

func httpResponse(headers string, body []byte) []byte {
	return append([]byte("HTTP/1.1 200 OK\r\n"+headers+"\r\n"), body...)
}

const article = `<html><head><title>Vltava</title></head><body><nav><a href="/">Home</a> <a href="/a">A</a></nav>
<article><h1>The Vltava</h1><p>The Vltava is the longest river of the Czech Republic. It rises in the Šumava mountains and
flows north through Český Krumlov and <a href="https://en.wikipedia.org/wiki/Prague">Prague</a> before it joins the
<a href="/elbe?utm_source=x#top">Elbe</a> at Mělník. Its German name is the Moldau, which is also the title of the best known
part of a cycle of symphonic poems by Bedřich Smetana about his homeland, written in the eighteen seventies.</p></article>
<footer>Contact us</footer></body></html>`

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(t *testing.T, members ...[]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, m := range members {
		zw := gzip.NewWriter(&b)
		zw.Write(m)
		zw.Close()
	}
	return b.Bytes()
}

// TestBadInputs: each defect is named with file and place and counted by
// reason, and the good records around it are kept.
func TestBadInputs(t *testing.T) {
	good := warcRecord("response", "https://river.example/vltava", "2024-01-02T03:04:05Z", "application/http; msgtype=response",
		httpResponse("Content-Type: text/html; charset=utf-8\r\n", []byte(article)))
	var gzBody bytes.Buffer
	zw := gzip.NewWriter(&gzBody)
	zw.Write([]byte(article))
	zw.Close()
	tests := []struct {
		name  string
		file  []byte
		gzip  bool
		opt   Options
		check func(t *testing.T, pages []Page, err error, path string)
	}{
		{"invalid WARC-Date: kept, date empty, noted", bytes.Replace(good, []byte("2024-01-02T03:04:05Z"), []byte("yesterday"), 1), false, Options{},
			func(t *testing.T, pages []Page, err error, _ string) {
				p := onlyDoc(t, pages, err)
				if p.Doc.Doc.Date != "" || !hasNote(p, NoteInvalidDate) {
					t.Errorf("date %q notes %v", p.Doc.Doc.Date, p.Notes)
				}
			}},
		{"WARC-Target-URI in <…>: unwrapped, noted", bytes.Replace(good, []byte("https://river.example/vltava"), []byte("<https://river.example/vltava>"), 1), false, Options{},
			func(t *testing.T, pages []Page, err error, _ string) {
				p := onlyDoc(t, pages, err)
				if p.Doc.Doc.URL != "https://river.example/vltava" || !hasNote(p, NoteWrappedURI) {
					t.Errorf("url %q notes %v", p.Doc.Doc.URL, p.Notes)
				}
			}},
		{"WARC/0.18", bytes.Replace(good, []byte("WARC/1.0"), []byte("WARC/0.18"), 1), false, Options{},
			func(t *testing.T, pages []Page, err error, _ string) { onlyDoc(t, pages, err) }},
		{"payload over max_page_size", good, false, Options{MaxPageBytes: 200},
			func(t *testing.T, pages []Page, err error, _ string) {
				if err != nil || len(pages) != 1 || pages[0].Skip != ReasonTooLarge {
					t.Errorf("pages %+v, err %v; want one too_large", pages, err)
				}
			}},
		{"binary payload", append(slicesClone(good), warcRecord("response", "https://river.example/img", "2024-01-02T03:04:05Z",
			"application/http; msgtype=response", httpResponse("Content-Type: text/html\r\n", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")))...), false, Options{},
			func(t *testing.T, pages []Page, err error, path string) {
				wantReason(t, pages, err, 1, ReasonBinary, path)
			}},
		{"undecodable content encoding", append(slicesClone(good), warcRecord("response", "https://river.example/gz", "2024-01-02T03:04:05Z",
			"application/http; msgtype=response", httpResponse("Content-Type: text/html\r\nContent-Encoding: gzip\r\n", []byte("not gzip at all")))...), false, Options{},
			func(t *testing.T, pages []Page, err error, path string) {
				wantReason(t, pages, err, 1, ReasonUndecodable, path)
			}},
		{"gzip and brotli content encodings are decoded", warcRecord("response", "https://river.example/vltava", "2024-01-02T03:04:05Z",
			"application/http; msgtype=response", httpResponse("Content-Type: text/html\r\nContent-Encoding: gzip\r\n", gzBody.Bytes())), false, Options{},
			func(t *testing.T, pages []Page, err error, _ string) { onlyDoc(t, pages, err) }},
		{"HTML without main text", append(slicesClone(good), warcRecord("response", "https://river.example/empty", "2024-01-02T03:04:05Z",
			"application/http; msgtype=response", httpResponse("Content-Type: text/html\r\n", []byte("<html><body><script>x()</script></body></html>")))...), false, Options{},
			func(t *testing.T, pages []Page, err error, _ string) {
				if err != nil || len(pages) != 2 || pages[0].Doc == nil || pages[1].Skip != ReasonNoMainText {
					t.Errorf("pages %+v, err %v", pages, err)
				}
			}},
		{"Content-Length overruns the file", append(slicesClone(good), bytes.Replace(good, []byte("Content-Length: "), []byte("Content-Length: 9"), 1)...), false, Options{},
			func(t *testing.T, pages []Page, err error, path string) {
				wantReason(t, pages, err, 1, ReasonContentLength, path)
			}},
		{"gzip member cut short", nil, true, Options{},
			func(t *testing.T, pages []Page, err error, path string) {
				wantTruncated(t, pages, err, path, -1)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.file
			name := "bad.warc"
			if tt.gzip {
				whole := gz(t, good, good)
				data = whole[:len(whole)-40] // into the second member
				name = "bad.warc.gz"
			}
			path := writeFile(t, name, data)
			opt := tt.opt
			opt.Workers = 2
			pages, err := readAll(t, path, opt)
			tt.check(t, pages, err, path)
		})
	}
}

func slicesClone(b []byte) []byte { return append([]byte(nil), b...) }

func onlyDoc(t *testing.T, pages []Page, err error) Page {
	t.Helper()
	if err != nil || len(pages) != 1 || pages[0].Doc == nil {
		t.Fatalf("pages %+v, err %v; want one document", pages, err)
	}
	return pages[0]
}

func hasNote(p Page, n string) bool {
	for _, x := range p.Notes {
		if x == n {
			return true
		}
	}
	return false
}

// wantReason: the good page is kept and the bad record at index i is a
// named error of the file and its offset.
func wantReason(t *testing.T, pages []Page, err error, i int, reason, path string) {
	t.Helper()
	if err != nil || len(pages) != i+1 || pages[0].Doc == nil {
		t.Fatalf("pages %+v, err %v", pages, err)
	}
	p := pages[i]
	if p.Skip != reason || p.Err == nil || ErrorReason(p.Err) != reason ||
		!strings.Contains(p.Err.Error(), path) || !strings.Contains(p.Err.Error(), fmt.Sprintf("byte offset %d", p.Offset)) {
		t.Errorf("record %d: skip %q err %v; want %s naming %s at byte offset %d", i, p.Skip, p.Err, reason, path, p.Offset)
	}
}

// wantTruncated: the records before the break are kept, and the error
// wraps io.ErrUnexpectedEOF and names the file (and the offset, when at
// is not -1).
func wantTruncated(t *testing.T, pages []Page, err error, path string, at int64) {
	t.Helper()
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err %v; want a truncation error naming %s", err, path)
	}
	if at >= 0 && !strings.Contains(err.Error(), fmt.Sprintf("byte offset %d", at)) {
		t.Errorf("err %v; want byte offset %d", err, at)
	}
	if len(pages) != 1 || pages[0].Doc == nil {
		t.Errorf("pages %+v; want the record before the break kept", pages)
	}
}
