package wiki

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// pageChunks returns the raw <page>…</page> chunks of a dump's UTF-8 text.
func pageChunks(t testing.TB, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	ctx, cancel := context.WithCancel(context.Background())
	raw, err := openSource(ctx, f, filepath.Base(path), st.Size(), 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		raw.close()
	}()
	src := newTextSource(raw)
	var text []byte
	for {
		b, _, err := src.next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		text = append(text, b...)
	}
	var chunks [][]byte
	for {
		i := bytes.Index(text, []byte(pageOpen))
		if i < 0 {
			return chunks
		}
		j := bytes.Index(text[i:], []byte(pageClose))
		if j < 0 {
			return chunks
		}
		chunks = append(chunks, text[i:i+j+len(pageClose)])
		text = text[i+j+len(pageClose):]
	}
}

// TestFastPageMatchesXML decodes every page of the shared dumps both ways.
func TestFastPageMatchesXML(t *testing.T) {
	for _, path := range append(sharedDumps(t), "testdata/small.xml") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			chunks := pageChunks(t, path)
			fast := 0
			for _, c := range chunks {
				want, err := decodePage(c)
				got, ok := fastPage(c)
				if !ok {
					continue
				}
				fast++
				if err != nil {
					t.Fatalf("fast path decoded a page encoding/xml rejects (%v): %.200q", err, c)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("fast %+v\nxml  %+v", brief(got), brief(want))
				}
			}
			// Every page of a real dump should take the fast path.
			if fast != len(chunks) {
				t.Errorf("%d of %d pages took the fast path", fast, len(chunks))
			}
		})
	}
}

func brief(p Page) Page {
	if len(p.Text) > 80 {
		p.Text = p.Text[:80] + "…"
	}
	return p
}

func TestFastPageCases(t *testing.T) {
	wrap := func(inner string) string { return "<page><title>T</title><ns>0</ns><id>7</id>" + inner + "</page>" }
	rev := func(text string) string {
		return wrap("<revision><id>1</id><text xml:space=\"preserve\">" + text + "</text></revision>")
	}
	tests := []struct {
		name     string
		chunk    string
		wantFast bool // the fast path decodes it (else it defers to encoding/xml)
	}{
		{"plain", rev("Hello [[world]]."), true},
		{"entities", rev("a &lt;ref&gt; &amp; &quot;q&quot; &apos;s&apos; &#65;&#x42;&#x4a;&#0066;"), true},
		{"astral char ref", rev("&#x1F600;"), true},
		{"surrogate char ref", rev("&#xD800;"), true},
		{"char ref to a control character", rev("&#1;"), false},
		{"char ref too large", rev("&#x110000;"), false},
		{"char ref upper X", rev("&#X41;"), false},
		{"empty char ref", rev("&#;"), false},
		{"unknown entity", rev("&nbsp;"), false},
		{"entity without semicolon", rev("&amp x"), false},
		{"raw <", rev("a < b"), false},
		{"]]> in text", rev("x]]>y"), false},
		{"]]> in attribute", wrap(`<redirect title="a]]>b" />`), true},
		{"CDATA", rev("<![CDATA[x]]>"), false},
		{"comment", wrap("<!-- c -->"), false},
		{"carriage returns", rev("a\r\nb\rc\r\r\nd&#13;\ne\r&#10;f"), true},
		{"carriage return in attribute", wrap("<redirect title=\"A\r\nB\" />"), true},
		{"carriage return between tags", "<page>\r\n<title>T</title>\r\n<ns>0</ns></page>", true},
		{"self-closing text", wrap(`<revision><text bytes="0" /></revision>`), true},
		{"empty text", rev(""), true},
		{"two revisions, last wins", wrap("<revision><text>one</text></revision><revision><text>two</text></revision>"), true},
		{"redirect with entity", wrap(`<redirect title="A &amp; B" />`), true},
		{"redirect single quotes", wrap(`<redirect title='O&apos;Neil' />`), true},
		{"old redirect", strings.Replace(rev("#REDIRECT [[Target page]]"), "<ns>0</ns>", "<ns>0</ns><redirect/>", 1), true},
		{"prefixed attribute title", wrap(`<redirect x:title="Y" />`), true},
		{"prefixed element", "<page><m:title>T</m:title><ns>0</ns><id>7</id></page>", true},
		{"two colons", "<page><a:b:title>T</a:b:title></page>", false},
		{"child element in title", "<page><title>T<b>x</b></title><ns>0</ns><id>7</id></page>", false},
		{"mismatched end", "<page><title>T</titel><ns>0</ns></page>", false},
		{"bad ns", strings.Replace(wrap(""), "<ns>0</ns>", "<ns>zero</ns>", 1), false},
		{"ns with spaces", strings.Replace(wrap(""), "<ns>0</ns>", "<ns> 14 </ns>", 1), true},
		{"no title", "<page><ns>0</ns><id>5</id></page>", false},
		{"empty title", "<page><title></title><ns>0</ns></page>", false},
		{"not a page", "<pages><title>T</title></pages>", false},
		{"attribute without quotes", wrap(`<redirect title=X />`), false},
		{"attributes without space", wrap(`<redirect a="1"title="X" />`), false},
		{"processing instruction", wrap("<?x y?>"), false},
		{"unicode title", "<page><title>Ɔkɔtɔ Ŋ 日本</title><ns>0</ns><id>1</id></page>", true},
		{"text with tab and newline", rev("a\tb\nc"), true},
		{"id under contributor ignored", wrap("<revision><contributor><id>99</id></contributor><text>x</text></revision>"), true},
		{"nesting as deep as the fast path goes", wrap("<a><b><c><d><e><f><g>x</g></f></e></d></c></b></a>"), true},
		{"deeper nesting", wrap("<a><b><c><d><e><f><g><h>x</h></g></f></e></d></c></b></a>"), false},
		{"trailing bytes", wrap("") + " ", false},
		{"unclosed", "<page><title>T</title>", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := []byte(tt.chunk)
			want, xmlErr := decodePage(c)
			got, ok := fastPage(c)
			if ok != tt.wantFast {
				t.Fatalf("fast path ok = %v, want %v (encoding/xml: %+v, %v)", ok, tt.wantFast, want, xmlErr)
			}
			if ok && (xmlErr != nil || !reflect.DeepEqual(got, want)) {
				t.Fatalf("fast %+v, xml %+v (%v)", got, want, xmlErr)
			}
		})
	}
}

// FuzzFastPage checks that whatever the fast path accepts, encoding/xml
// decodes to the same page.
func FuzzFastPage(f *testing.F) {
	for _, s := range []string{
		"<page><title>T</title><ns>0</ns><id>7</id><revision><text>a &amp; b</text></revision></page>",
		`<page><title>A</title><ns>0</ns><id>1</id><redirect title="B &quot;x&quot;" /><revision><text bytes="3">#R</text></revision></page>`,
		"<page>\n  <title>Ɔ</title>\n  <ns>14</ns>\n  <id>3</id>\n  <revision>\n    <text xml:space=\"preserve\">&#x263A;]]</text>\n  </revision>\n</page>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, c []byte) {
		c, _ = repairText(c)
		got, ok := fastPage(c)
		if !ok {
			return
		}
		want, err := decodePage(c)
		if err != nil {
			t.Fatalf("fast path accepted what encoding/xml rejects (%v): %q", err, c)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fast %+v, xml %+v for %q", got, want, c)
		}
	})
}

func TestRepairText(t *testing.T) {
	tests := []struct {
		in, want string
		n        int
	}{
		{"plain ascii text, long enough to take the word path", "plain ascii text, long enough to take the word path", 0},
		{"tab\tnewline\nreturn\r", "tab\tnewline\nreturn\r", 0},
		{"Ɔkɔtɔ 日本 😀", "Ɔkɔtɔ 日本 😀", 0},
		{"bad \xff byte", "bad \uFFFD byte", 1},
		{"cut \xe6\x97 rune at the end \xe6", "cut \uFFFD\uFFFD rune at the end \uFFFD", 3},
		{"control \x01\x1f chars", "control \uFFFD\uFFFD chars", 2},
		{"nul\x00", "nul\uFFFD", 1},
		{"non-characters \uFFFE\uFFFF and \uFFFD", "non-characters \uFFFD\uFFFD and \uFFFD", 2},
		{"surrogate \xed\xa0\x80", "surrogate \uFFFD\uFFFD\uFFFD", 3},
		{"", "", 0},
	}
	for _, tt := range tests {
		got, n := repairText([]byte(tt.in))
		if string(got) != tt.want || n != tt.n {
			t.Errorf("repairText(%q) = %q, %d; want %q, %d", tt.in, got, n, tt.want, tt.n)
		}
		if !utf8.Valid(got) {
			t.Errorf("repairText(%q) is not valid UTF-8", tt.in)
		}
	}
}

func BenchmarkFastPage(b *testing.B) {
	path := sharedFile(b, enwiki2016)
	chunks := pageChunks(b, path)
	n := 0
	for _, c := range chunks {
		n += len(c)
	}
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(n))
		for range b.N {
			for _, c := range chunks {
				c, _ = repairText(c)
				fastPage(c)
			}
		}
	})
	b.Run("encoding/xml", func(b *testing.B) {
		b.SetBytes(int64(n))
		for range b.N {
			for _, c := range chunks {
				decodePage(c)
			}
		}
	})
}
