package web

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/miroverse/miroverse/internal/minhash"
	"github.com/miroverse/miroverse/kg"
)

func TestCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"HTTP://Example.COM", "http://example.com/"},
		{"https://example.com:443/a?b=1#frag", "https://example.com/a?b=1"},
		{"http://example.com:80/a", "http://example.com/a"},
		{"http://example.com:8080/a", "http://example.com:8080/a"},
		{"https://example.com/a?utm_source=x&id=7&UTM_Medium=y&fbclid=z", "https://example.com/a?id=7"},
		{"https://example.com/a?utm_campaign=only", "https://example.com/a"},
		{"https://user:pw@example.com/a", "https://example.com/a"},
		{"  https://example.com/a  ", "https://example.com/a"},
		{"file:///site/a.html?x=1#top", "file:///site/a.html"},
		{"mailto:someone@example.com", ""},
		{"javascript:void(0)", ""},
		{"/relative/path", ""},
		{"ftp://example.com/file", ""},
	}
	for _, tt := range tests {
		if got := Canonical(tt.in); got != tt.want {
			t.Errorf("Canonical(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestResolveRef(t *testing.T) {
	base := "https://example.com/dir/page.html"
	tests := []struct{ ref, want string }{
		{"other.html", "https://example.com/dir/other.html"},
		{"../up.html#s", "https://example.com/up.html"},
		{"//cdn.example.org/x", "https://cdn.example.org/x"},
		{"?utm_source=nav", "https://example.com/dir/page.html"},
		{"mailto:a@example.com", ""},
		{"", ""}, // a link to the page itself is no edge
	}
	for _, tt := range tests {
		if got := resolveRef(base, tt.ref); got != tt.want {
			t.Errorf("resolveRef(%q) = %q, want %q", tt.ref, got, tt.want)
		}
	}
}

func TestCountWords(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"Hello, world!", 2},
		{"one\ttwo\nthree\r\nfour", 4},
		{"naïve café au lait", 4},
		{"it's 3.5 km", 5}, // the apostrophe and the point are punctuation: it s 3 5 km
		{"東京タワー", 5},
		{"Paris est belle — très belle.", 5},
		{"\u00a0spaced\u00a0out\u00a0", 2},
	}
	for _, tt := range tests {
		if got := countWords(tt.in); got != tt.want {
			t.Errorf("countWords(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func candidate(seq int, url, text string) Candidate {
	sig, empty := minhash.Sign(text)
	return Candidate{Seq: seq, URL: url, Hash: fmt.Sprint(len(text), strings.Fields(text)), Sig: sig, Empty: empty}
}

// TestDedup: the first page by URL order is kept whatever the reading
// order, and each later one is named by its reason.
func TestDedup(t *testing.T) {
	article := strings.Repeat("The river rises in the northern hills and flows south past the old mill town. ", 12)
	near := article + "Updated on Tuesday."
	other := strings.Repeat("A completely different page about the history of printing presses in Europe. ", 12)
	cands := []Candidate{
		candidate(0, "https://b.example/copy", article),     // exact copy of a.example's text
		candidate(1, "https://a.example/original", article), // first by URL order: kept
		candidate(2, "https://c.example/near", near),        // near duplicate
		candidate(3, "https://a.example/original#x", other), // the same URL key again
		candidate(4, "https://d.example/other", other),      // different text: kept
	}
	want := map[int]Verdict{
		0: {Seq: 0, Of: 1, Reason: DuplicateExact},
		2: {Seq: 2, Of: 1, Reason: DuplicateNear},
		3: {Seq: 3, Of: 1, Reason: DuplicateURL},
	}
	check := func(name string, cs []Candidate) {
		t.Helper()
		got := map[int]Verdict{}
		for _, v := range Dedup(cs, 0) {
			got[v.Seq] = v
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: Dedup = %v, want %v", name, got, want)
		}
	}
	check("reading order", cands)
	rev := slices.Clone(cands)
	slices.Reverse(rev)
	check("reversed", rev)
	if j := minhash.Jaccard(article, near); j < DefaultNearThreshold {
		t.Fatalf("test texts: near copy has Jaccard %.2f, below the threshold", j)
	}
}

// page is an HTML article long enough for trafilatura to keep, linking to
// the given hrefs inside its main text.
func page(title, head string, hrefs ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html><html><head><title>%s</title>%s</head><body>", title, head)
	b.WriteString(`<nav><a href="/">Home</a> <a href="/about">About</a></nav><main><article>`)
	fmt.Fprintf(&b, "<h1>%s</h1>", title)
	for i := range 4 {
		fmt.Fprintf(&b, "<p>Paragraph %d of %s tells how the harbour town grew from a fishing village into a trading port "+
			"over three centuries, with warehouses along the quay and a customs house near the old bridge.", i+1, title)
		if i < len(hrefs) {
			fmt.Fprintf(&b, ` Its merchants later dealt with <a href="%s">a partner city</a> across the sea.`, hrefs[i])
		}
		b.WriteString("</p>")
	}
	b.WriteString(`</article></main><footer>Copyright notice</footer></body></html>`)
	return b.String()
}

func docsByURL(t *testing.T, pages []Page) map[string]*DocRecord {
	t.Helper()
	out := map[string]*DocRecord{}
	for _, p := range pages {
		if p.Doc != nil {
			out[p.Doc.Doc.URL] = p.Doc
		}
	}
	return out
}

func linkTargets(r *DocRecord) []string {
	var out []string
	for _, l := range r.Links {
		out = append(out, l.Target)
	}
	return out
}

// TestReadHTMLDir: a file's URL is its canonical link, else its <base>,
// else its file:// URL under the directory's own name; relative links
// resolve against <base>, else the page's URL, as a browser resolves them,
// and a file named by its canonical link keeps its file URL as an alias.
func TestReadHTMLDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	files := map[string]string{
		"a.html":     page("Alpha", `<link rel="canonical" href="https://alpha.example/harbour?utm_source=feed">`, "sub/c.htm"),
		"b.htm":      page("Beta", `<base href="https://beta.example/docs/">`, "page2"),
		"sub/c.htm":  page("Gamma", "", "../a.html"),
		"notes.txt":  "not a page",
		"empty.html": "<html><body><nav><a href='/'>x</a></nav></body></html>",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pages, err := readAll(t, dir, Options{Filters: DefaultFilters()})
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 4 {
		t.Fatalf("%d pages, want one per .html/.htm file (4)", len(pages))
	}
	docs := docsByURL(t, pages)
	a, b, c := docs["https://alpha.example/harbour"], docs["https://beta.example/docs/"], docs["file:///site/sub/c.htm"]
	if a == nil || b == nil || c == nil {
		t.Fatalf("documents by URL: %v", keys(docs))
	}
	if got := linkTargets(a); !slices.Equal(got, []string{kg.URLKey("https://alpha.example/sub/c.htm")}) {
		t.Errorf("a.html links to %v, want sub/c.htm resolved against its canonical URL", got)
	}
	if got := linkTargets(b); !slices.Equal(got, []string{kg.URLKey("https://beta.example/docs/page2")}) {
		t.Errorf("b.htm links to %v, want the link resolved against <base>", got)
	}
	if got := linkTargets(c); !slices.Equal(got, []string{kg.URLKey("file:///site/a.html")}) {
		t.Errorf("c.htm links to %v, want a.html's file URL", got)
	}
	// a.html's file URL leads to its canonical URL, so c's link resolves.
	var redirected bool
	for _, p := range pages {
		for _, r := range p.Redirects {
			if r.From == kg.URLKey("file:///site/a.html") && r.To == kg.URLKey("https://alpha.example/harbour") {
				redirected = true
			}
		}
	}
	if !redirected {
		t.Error("no redirect from a.html's file URL to its canonical URL")
	}
	for _, p := range pages {
		if p.Doc != nil && p.Skip == "" && (p.Doc.Doc.Source != kg.SourceWeb || !strings.Contains(p.Doc.Doc.Text, "harbour town")) {
			t.Errorf("%s: source %q, text %.80q", p.Doc.Doc.URL, p.Doc.Doc.Source, p.Doc.Doc.Text)
		}
		if p.Doc != nil && strings.Contains(p.Doc.Doc.Text, "Copyright notice") {
			t.Errorf("%s: the footer is in the main text", p.Doc.Doc.URL)
		}
	}
	if e := docs["file:///site/empty.html"]; e == nil {
		t.Error("empty.html: no page")
	} else if p := pageOf(pages, e); p.Skip != FilterMinWords {
		t.Errorf("empty.html (navigation only) ended %q, want %q", p.Skip, FilterMinWords)
	}
}

func pageOf(pages []Page, r *DocRecord) Page {
	for _, p := range pages {
		if p.Doc == r {
			return p
		}
	}
	return Page{}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestReadJSONL: plain, gzip and zstd JSONL give the same documents; html
// lines are extracted, text lines kept as text, and a bad line is a named
// error with its line number while the lines around it are kept.
func TestReadJSONL(t *testing.T) {
	lines := []string{
		fmt.Sprintf(`{"url":"https://news.example/harbour","html":%q,"date":"2024-03-01T10:00:00Z"}`,
			page("Harbour", "", "https://news.example/bridge")),
		`{"url":"https://notes.example/plain","title":"Plain notes","text":"` +
			strings.Repeat("The ferry leaves the harbour at dawn and returns at dusk every day. ", 8) + `","date":"yesterday"}`,
		`{"url": "https://broken.example/", "html": `,
		``,
		`{"title":"no url","text":"x"}`,
		fmt.Sprintf(`{"url":"https://news.example/bridge","html":%q}`, page("Bridge", "")),
	}
	plain := []byte(strings.Join(lines, "\n") + "\n")
	var gz, zs bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	enc, err := zstd.NewWriter(&zs)
	if err != nil {
		t.Fatal(err)
	}
	enc.Write(plain)
	enc.Close()
	dir := t.TempDir()
	for name, body := range map[string][]byte{"p.jsonl": plain, "p.jsonl.gz": gz.Bytes(), "p.jsonl.zst": zs.Bytes()} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, body, 0o644); err != nil {
				t.Fatal(err)
			}
			pages, err := readAll(t, path, Options{Workers: 2, Filters: DefaultFilters()})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range pages {
				switch {
				case p.Doc != nil:
					got = append(got, fmt.Sprintf("%d doc %s", p.Offset, p.Doc.Doc.URL))
				default:
					got = append(got, fmt.Sprintf("%d %s", p.Offset, p.Skip))
					if p.Err == nil || !strings.Contains(p.Err.Error(), fmt.Sprintf("%s: line %d", path, p.Offset)) {
						t.Errorf("line %d: error %v does not name the file and line", p.Offset, p.Err)
					}
				}
			}
			want := []string{
				"1 doc https://news.example/harbour",
				"2 doc https://notes.example/plain",
				"3 " + ReasonBadJSON,
				"5 " + ReasonNoURL,
				"6 doc https://news.example/bridge",
			}
			if !slices.Equal(got, want) {
				t.Errorf("pages\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			docs := docsByURL(t, pages)
			h, n := docs["https://news.example/harbour"], docs["https://notes.example/plain"]
			if h == nil || n == nil {
				t.Fatal("documents missing")
			}
			if h.Doc.Date == "" || !strings.HasPrefix(h.Doc.Date, "2024-03-01") {
				t.Errorf("html line's date %q, want 2024-03-01…", h.Doc.Date)
			}
			if got := linkTargets(h); !slices.Equal(got, []string{kg.URLKey("https://news.example/bridge")}) {
				t.Errorf("html line's links %v", got)
			}
			if n.Doc.Title != "Plain notes" || len(n.Links) != 0 || !strings.HasPrefix(n.Doc.Text, "The ferry") || n.Doc.Date != "" {
				t.Errorf("text line: title %q, %d links, date %q, text %.40q", n.Doc.Title, len(n.Links), n.Doc.Date, n.Doc.Text)
			}
			var invalid bool
			for _, p := range pages {
				invalid = invalid || slices.Contains(p.Notes, NoteInvalidDate)
			}
			if !invalid {
				t.Error(`"date":"yesterday" not noted as an invalid date`)
			}
			if h.Doc.Lang != "en" {
				t.Errorf("language %q, want en", h.Doc.Lang)
			}
		})
	}
}

// TestWholeFileGzip: a WARC compressed as one gzip member for the whole
// file reads as the same pages as the same records one member each.
func TestWholeFileGzip(t *testing.T) {
	src := filepath.Join("..", "..", "..", "shared", "data", "warc", "commoncrawl-2020-excerpt.warc.gz")
	if _, err := os.Stat(src); err != nil {
		sharedWARCs(t) // fails in CI, skips elsewhere
		t.Fatalf("%s: %v", src, err)
	}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f) // multistream: every member in turn
	if err != nil {
		t.Fatal(err)
	}
	var one bytes.Buffer
	zw := gzip.NewWriter(&one)
	if _, err := io.Copy(zw, zr); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	whole := filepath.Join(t.TempDir(), "whole.warc.gz")
	if err := os.WriteFile(whole, one.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	summary := func(path string) []string {
		pages, err := readAll(t, path, Options{Workers: 2, Filters: DefaultFilters()})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var out []string
		for _, p := range pages {
			s := p.Type + " " + p.Skip
			if p.Doc != nil {
				s += " " + p.Doc.Doc.URL + " " + p.Doc.Doc.Hash
			}
			out = append(out, s)
		}
		return out
	}
	per, all := summary(src), summary(whole)
	if len(per) < 10 || !slices.Equal(per, all) {
		t.Errorf("one member per record: %d pages; one member for the file: %d pages; equal %v", len(per), len(all), slices.Equal(per, all))
	}
}

// TestWholeFileGzipCutShort: a WARC compressed as one member and cut
// short keeps the records before the break and says the input ended early.
func TestWholeFileGzipCutShort(t *testing.T) {
	src := filepath.Join("..", "..", "..", "shared", "data", "warc", "commoncrawl-2020-excerpt.warc.gz")
	if _, err := os.Stat(src); err != nil {
		sharedWARCs(t)
		t.Fatalf("%s: %v", src, err)
	}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var one bytes.Buffer
	zw := gzip.NewWriter(&one)
	if _, err := io.Copy(zw, zr); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	cut := filepath.Join(t.TempDir(), "cut.warc.gz")
	if err := os.WriteFile(cut, one.Bytes()[:one.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	pages, err := readAll(t, cut, Options{Workers: 2, Filters: DefaultFilters()})
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), cut) {
		t.Errorf("err = %v, want an unexpected EOF naming %s", err, cut)
	}
	if len(pages) < 5 {
		t.Errorf("%d pages kept before the break, want the first half's records", len(pages))
	}
}
