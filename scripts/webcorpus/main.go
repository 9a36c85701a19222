// Command webcorpus packs the demo web corpus (corpus/web/site.txt) into a
// WARC file of request and response records, one gzip member each, as a
// crawler writes them, with a 301 redirect, a revisit record and a second
// capture of a page under another URL. The output depends on site.txt
// alone (record IDs and dates are derived from it), so the committed file
// can be checked against a fresh run.
//
//	go run ./scripts/webcorpus [-in corpus/web/site.txt] [-out corpus/web/demoweb.warc.gz]
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"flag"
	"fmt"
	"html"
	"log"
	"os"
	"regexp"
	"strings"
	"time"

	gowarc "github.com/nlnwa/gowarc/v3"
)

type page struct {
	url, date, title string
	nav              []string
	body             []string
	redirectFrom     []string
	revisit          bool
	copies           [][2]string // url, date
}

func main() {
	in := flag.String("in", "corpus/web/site.txt", "site description")
	out := flag.String("out", "corpus/web/demoweb.warc.gz", "WARC file to write")
	flag.Parse()
	pages, err := parse(*in)
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	w := writer{out: &buf}
	for _, p := range pages {
		w.page(p, p.url, p.date, "")
		for _, from := range p.redirectFrom {
			w.redirect(from, p.url, p.date)
		}
		for _, c := range p.copies {
			w.page(p, c[0], c[1], "Printed from the Prague Walks archive.")
		}
		if p.revisit {
			w.revisit(p)
		}
	}
	if w.err != nil {
		log.Fatal(w.err)
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d pages, %d records, %d bytes\n", *out, len(pages), w.records, buf.Len())
}

func parse(path string) ([]page, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var pages []page
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "## "):
		case strings.HasPrefix(line, "=== "):
			parts := strings.Split(strings.TrimPrefix(line, "=== "), " | ")
			if len(parts) != 3 {
				return nil, fmt.Errorf("%s:%d: want \"=== URL | date | title\"", path, n)
			}
			pages = append(pages, page{url: parts[0], date: parts[1], title: parts[2]})
		case len(pages) == 0:
			return nil, fmt.Errorf("%s:%d: text before the first page", path, n)
		default:
			p := &pages[len(pages)-1]
			switch {
			case strings.HasPrefix(line, "nav: "):
				p.nav = strings.Split(strings.TrimPrefix(line, "nav: "), " | ")
			case strings.HasPrefix(line, "redirect: "):
				p.redirectFrom = append(p.redirectFrom, strings.TrimPrefix(line, "redirect: "))
			case line == "revisit":
				p.revisit = true
			case strings.HasPrefix(line, "copy: "):
				u, d, _ := strings.Cut(strings.TrimPrefix(line, "copy: "), " | ")
				p.copies = append(p.copies, [2]string{u, d})
			default:
				p.body = append(p.body, line)
			}
		}
	}
	return pages, sc.Err()
}

var linkRE = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+(?:\([^)]*\))?)\)`)

// inline renders a paragraph's links as <a> elements.
func inline(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range linkRE.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(html.EscapeString(s[last:m[0]]))
		text, href := s[m[2]:m[3]], s[m[4]:m[5]]
		if t, ok := strings.CutPrefix(href, "wiki:"); ok {
			href = "https://en.wikipedia.org/wiki/" + t
		}
		fmt.Fprintf(&b, `<a href="%s">%s</a>`, html.EscapeString(href), html.EscapeString(text))
		last = m[1]
	}
	b.WriteString(html.EscapeString(s[last:]))
	return b.String()
}

// render is the page as its site serves it: the article inside a header
// with the site's menu, a sidebar and a footer, the boilerplate that
// extraction must leave out.
func render(p page, footer string) []byte {
	var b strings.Builder
	site := p.url[:strings.Index(p.url[8:], "/")+9]
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n", html.EscapeString(p.title))
	fmt.Fprintf(&b, "<link rel=\"canonical\" href=\"%s\">\n</head>\n<body>\n<header><nav><ul>\n", html.EscapeString(p.url))
	for i, item := range p.nav {
		href := site
		if i > 0 {
			href = site + "#" + strings.ToLower(strings.ReplaceAll(item, " ", "-"))
		}
		fmt.Fprintf(&b, "<li><a href=\"%s\">%s</a></li>\n", html.EscapeString(href), html.EscapeString(item))
	}
	b.WriteString("</ul></nav></header>\n<main><article>\n")
	fmt.Fprintf(&b, "<h1>%s</h1>\n", html.EscapeString(p.title))
	for _, para := range p.body {
		if h, ok := strings.CutPrefix(para, "## "); ok {
			fmt.Fprintf(&b, "<h2>%s</h2>\n", html.EscapeString(h))
			continue
		}
		fmt.Fprintf(&b, "<p>%s</p>\n", inline(para))
	}
	b.WriteString("</article></main>\n<aside><h3>Share</h3><ul><li><a href=\"#\">Print</a></li><li><a href=\"#\">Email</a></li></ul></aside>\n")
	if footer == "" {
		footer = "All texts may be reused with attribution."
	}
	fmt.Fprintf(&b, "<footer><p>%s</p><p><a href=\"%s\">Home</a> · Contact · Privacy</p></footer>\n</body>\n</html>\n", footer, site)
	return []byte(b.String())
}

type writer struct {
	out     *bytes.Buffer
	records int
	err     error
}

// id is a record ID derived from what the record is, so runs agree.
func id(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	h := fmt.Sprintf("%x", sum[:16])
	return fmt.Sprintf("<urn:uuid:%s-%s-%s-%s-%s>", h[:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

func (w *writer) record(t gowarc.RecordType, uri, date, contentType, recID string, block []byte, extra ...[2]string) {
	if w.err != nil {
		return
	}
	ts, err := time.Parse(time.RFC3339, date)
	if err != nil {
		w.err = fmt.Errorf("%s: date %q: %w", uri, date, err)
		return
	}
	rb := gowarc.NewRecordBuilder(t, gowarc.WithVersion(gowarc.V1_1), gowarc.WithRecordIdFunc(func() (string, error) { return recID, nil }))
	rb.AddWarcHeader(gowarc.WarcTargetURI, uri)
	rb.AddWarcHeaderTime(gowarc.WarcDate, ts)
	rb.AddWarcHeader(gowarc.ContentType, contentType)
	for _, h := range extra {
		rb.AddWarcHeader(h[0], h[1])
	}
	if _, err := rb.Write(block); err != nil {
		w.err = err
		return
	}
	rec, _, err := rb.Build()
	if err != nil {
		w.err = fmt.Errorf("%s: %w", uri, err)
		return
	}
	defer rec.Close()
	zw, _ := gzip.NewWriterLevel(w.out, gzip.BestCompression)
	if _, _, err := gowarc.NewMarshaler().Marshal(zw, rec, 0); err != nil {
		w.err = err
		return
	}
	w.err = zw.Close()
	w.records++
}

func (w *writer) request(uri, date string) {
	host := strings.SplitN(strings.SplitN(uri, "://", 2)[1], "/", 2)[0]
	path := "/" + strings.SplitN(strings.SplitN(uri, "://", 2)[1], "/", 2)[1]
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: miroverse-webcorpus/1\r\nAccept: text/html\r\n\r\n", path, host)
	w.record(gowarc.Request, uri, date, "application/http; msgtype=request", id("request", uri, date), []byte(req))
}

func (w *writer) page(p page, uri, date, footer string) {
	w.request(uri, date)
	body := render(p, footer)
	resp := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n\r\n", len(body))
	w.record(gowarc.Response, uri, date, "application/http; msgtype=response", id("response", uri, date), append([]byte(resp), body...))
}

func (w *writer) redirect(from, to, date string) {
	w.request(from, date)
	resp := fmt.Sprintf("HTTP/1.1 301 Moved Permanently\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n", to)
	w.record(gowarc.Response, from, date, "application/http; msgtype=response", id("response", from, date), []byte(resp))
}

// revisit is a capture a day later whose payload was unchanged.
func (w *writer) revisit(p page) {
	ts, _ := time.Parse(time.RFC3339, p.date)
	date := ts.Add(24 * time.Hour).Format(time.RFC3339)
	w.request(p.url, date)
	resp := "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
	w.record(gowarc.Revisit, p.url, date, "application/http; msgtype=response", id("revisit", p.url, date), []byte(resp),
		[2]string{gowarc.WarcProfile, gowarc.ProfileIdenticalPayloadDigestV1_1},
		[2]string{gowarc.WarcRefersTo, id("response", p.url, p.date)},
		[2]string{gowarc.WarcRefersToTargetURI, p.url},
		[2]string{gowarc.WarcRefersToDate, p.date})
}
