package gendump

import (
	"bytes"
	"compress/bzip2"
	"context"
	"encoding/xml"
	"io"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// write generates a dump into a temporary directory.
func write(t *testing.T, articles, seed int64, workers int) Stats {
	t.Helper()
	st, err := Write(context.Background(), Options{Dir: t.TempDir(), Articles: articles, Seed: seed, Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSameSeedSameBytes: the bytes are a function of seed and size only,
// whatever the worker count; another seed or size gives other bytes.
func TestSameSeedSameBytes(t *testing.T) {
	ref := write(t, 450, 7, 1)
	refDump, refIndex := readFile(t, ref.Dump), readFile(t, ref.Index)
	for _, tc := range []struct {
		name     string
		articles int64
		seed     int64
		workers  int
		same     bool
	}{
		{"same seed, 4 workers", 450, 7, 4, true},
		{"same seed, 2 workers", 450, 7, 2, true},
		{"other seed", 450, 8, 2, false},
		{"other size", 451, 7, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := write(t, tc.articles, tc.seed, tc.workers)
			dump, index := readFile(t, st.Dump), readFile(t, st.Index)
			if got := bytes.Equal(dump, refDump) && bytes.Equal(index, refIndex); got != tc.same {
				t.Errorf("dump and index equal to the reference: %v, want %v", got, tc.same)
			}
			if tc.same && (st.XMLBytes != ref.XMLBytes || st.Links != ref.Links) {
				t.Errorf("stats differ: %+v vs %+v", st, ref)
			}
		})
	}
}

// xmlPage is what the tests read of a page, with encoding/xml rather than
// the project's reader, so that the dump is checked against the format
// and not against our own understanding of it.
type xmlPage struct {
	Title    string `xml:"title"`
	NS       int    `xml:"ns"`
	ID       int64  `xml:"id"`
	Redirect *struct {
		Title string `xml:"title,attr"`
	} `xml:"redirect"`
	Text struct {
		Bytes int    `xml:"bytes,attr"`
		SHA1  string `xml:"sha1,attr"`
		Body  string `xml:",chardata"`
	} `xml:"revision>text"`
	SHA1 string `xml:"revision>sha1"`
}

func readPages(t *testing.T, r io.Reader) []xmlPage {
	t.Helper()
	var doc struct {
		Sitename string    `xml:"siteinfo>sitename"`
		Pages    []xmlPage `xml:"page"`
	}
	if err := xml.NewDecoder(r).Decode(&doc); err != nil {
		t.Fatalf("decode XML: %v", err)
	}
	if doc.Sitename == "" {
		t.Fatal("no <siteinfo>")
	}
	return doc.Pages
}

var reLink = regexp.MustCompile(`\[\[([^\[\]|#]+)(?:#[^\[\]|]*)?(?:\|[^\[\]]*)?\]\]`)

// normTitle is MediaWiki's title normalisation for link targets.
func normTitle(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "_", " "))
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// TestDumpShape reads a dump with the standard library and checks what
// the generator promises: the counts it reports, unique titles, redirects
// that resolve to articles in at most three hops, links in MediaWiki's
// forms of which most resolve and some go to redirects or nowhere, a Zipf
// tail of inlinks, and the averages (~25 links and ~3 KB per
// article, 5% of namespace-0 pages redirects).
func TestDumpShape(t *testing.T) {
	const n = 2500
	st := write(t, n, 3, 0)
	f, err := os.Open(st.Dump)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pages := readPages(t, bzip2.NewReader(f))

	if int64(len(pages)) != st.Pages {
		t.Fatalf("%d pages in the XML, stats say %d", len(pages), st.Pages)
	}
	kinds := map[string]int64{}
	titles := map[string]*xmlPage{}
	redirects := map[string]string{}
	for i := range pages {
		p := &pages[i]
		if titles[p.Title] != nil {
			t.Fatalf("title %q twice", p.Title)
		}
		titles[p.Title] = p
		if p.Text.Bytes != len(p.Text.Body) || p.Text.SHA1 != sha1Base36([]byte(p.Text.Body)) || p.SHA1 != p.Text.SHA1 {
			t.Fatalf("%q: bytes=%d sha1=%s for %d bytes (sha1 %s)", p.Title, p.Text.Bytes, p.Text.SHA1, len(p.Text.Body), sha1Base36([]byte(p.Text.Body)))
		}
		if i > 0 && p.ID <= pages[i-1].ID {
			t.Fatalf("page ids not ascending: %d after %d", p.ID, pages[i-1].ID)
		}
		switch {
		case p.NS == 10:
			kinds["template"]++
		case p.NS == 14:
			kinds["category"]++
		case p.NS != 0:
			t.Fatalf("%q: namespace %d", p.Title, p.NS)
		case p.Redirect != nil:
			kinds["redirect"]++
			redirects[p.Title] = p.Redirect.Title
			kw, rest, _ := strings.Cut(p.Text.Body, " ")
			if !strings.EqualFold(kw, "#redirect") || !strings.HasPrefix(rest, "[["+p.Redirect.Title+"]]") {
				t.Fatalf("redirect %q: text %q does not name %q", p.Title, p.Text.Body, p.Redirect.Title)
			}
		case strings.Contains(p.Text.Body, "{{disambiguation}}"):
			kinds["dab"]++
		case strings.HasPrefix(p.Title, "List of "):
			kinds["list"]++
		default:
			kinds["article"]++
		}
	}
	for _, c := range []struct {
		kind string
		want int64
	}{
		{"redirect", st.Redirects}, {"dab", st.Disambiguations}, {"list", st.Lists},
		{"template", st.Templates}, {"category", st.Categories},
		{"article", n - st.Disambiguations - st.Lists},
	} {
		if kinds[c.kind] != c.want {
			t.Errorf("%s pages: %d in the XML, want %d", c.kind, kinds[c.kind], c.want)
		}
	}
	if share := float64(st.Redirects) / float64(n+st.Redirects); share < 0.045 || share > 0.055 {
		t.Errorf("redirects are %.1f%% of namespace-0 pages, want ~5%%", 100*share)
	}

	// Redirects lead to an article (not a redirect, not a dab or list) in
	// at most three hops; some take more than one.
	chains := 0
	for from, to := range redirects {
		hops := 1
		for ; redirects[to] != "" && hops <= 3; hops++ {
			to = redirects[to]
		}
		p := titles[to]
		if hops > 3 || p == nil || p.Redirect != nil || p.NS != 0 {
			t.Fatalf("redirect %q does not reach an article in 3 hops (ends at %q)", from, to)
		}
		if hops > 1 {
			chains++
		}
	}
	if int64(chains) != st.RedirectChains || chains == 0 {
		t.Errorf("%d redirect chains, stats say %d", chains, st.RedirectChains)
	}

	// Links: count targets among ns-0 pages that are not redirects.
	var links, toRedirect, toMissing, wikitext, articles int64
	inlinks := map[string]int{}
	forms := map[string]int{}
	for _, p := range pages {
		if p.NS != 0 || p.Redirect != nil {
			continue
		}
		articles++
		wikitext += int64(len(p.Text.Body))
		for _, m := range reLink.FindAllStringSubmatch(p.Text.Body, -1) {
			target := normTitle(m[1])
			if strings.HasPrefix(target, "File:") || strings.HasPrefix(target, "Category:") {
				continue
			}
			links++
			switch {
			case strings.Contains(m[0], "|"):
				forms["piped"]++
			case strings.Contains(m[1], "_"):
				forms["underscores"]++
			case m[1] != normTitle(m[1]) && strings.TrimSpace(m[1]) == m[1]:
				forms["lower-case first letter"]++
			default:
				forms["plain"]++
			}
			switch q := titles[target]; {
			case q == nil:
				toMissing++
			case q.Redirect != nil:
				toRedirect++
			default:
				inlinks[target]++
			}
		}
	}
	if links != st.Links || toRedirect != st.LinksToRedirects || toMissing != st.LinksToMissing {
		t.Errorf("links %d (to redirects %d, missing %d), stats say %d (%d, %d)", links, toRedirect, toMissing,
			st.Links, st.LinksToRedirects, st.LinksToMissing)
	}
	for _, form := range []string{"piped", "underscores", "lower-case first letter", "plain"} {
		if forms[form] == 0 {
			t.Errorf("no %s links", form)
		}
	}
	if per := float64(links) / float64(articles); per < 20 || per > 30 {
		t.Errorf("%.1f links per article, want ~25", per)
	}
	if per := float64(wikitext) / float64(articles); per < 2500 || per > 3600 {
		t.Errorf("%.0f bytes of wikitext per article, want ~3 KB", per)
	}
	if r := float64(toRedirect) / float64(links); r < 0.05 || r > 0.15 {
		t.Errorf("%.1f%% of links go to redirects", 100*r)
	}
	if r := float64(toMissing) / float64(links); r < 0.02 || r > 0.08 {
		t.Errorf("%.1f%% of links go to missing pages", 100*r)
	}
	// Zipf: the most linked 1% of articles draw far more than 1% of the
	// links, and the most linked one far more than the median.
	counts := make([]int, 0, len(inlinks))
	total := 0
	for _, c := range inlinks {
		counts = append(counts, c)
		total += c
	}
	slices.Sort(counts)
	slices.Reverse(counts)
	top := 0
	for _, c := range counts[:n/100] {
		top += c
	}
	if share := float64(top) / float64(total); share < 0.10 {
		t.Errorf("the top 1%% of articles draw %.1f%% of the inlinks, want a Zipf head (≥ 10%%)", 100*share)
	}
	if counts[0] < 20*counts[len(counts)/2] {
		t.Errorf("most inlinks %d, median %d: no popular articles", counts[0], counts[len(counts)/2])
	}
	for _, want := range []string{"{{Infobox ", "<ref", "[[Category:", "{{convert|", "{{Reflist}}", "== "} {
		found := false
		for _, p := range pages {
			if strings.Contains(p.Text.Body, want) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no page has %q", want)
		}
	}
}

// TestIndexMatchesStreams: every index line names a page of the stream at
// its offset, in order; each listed stream decodes on its own to exactly
// its pages, at most PagesPerStream of them.
func TestIndexMatchesStreams(t *testing.T) {
	st := write(t, 800, 5, 0)
	dump := readFile(t, st.Dump)
	f, err := os.Open(st.Index)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := io.ReadAll(bzip2.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	type line struct {
		off   int64
		id    int64
		title string
	}
	var lines []line
	for _, l := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		parts := strings.SplitN(l, ":", 3)
		off, err1 := strconv.ParseInt(parts[0], 10, 64)
		id, err2 := strconv.ParseInt(parts[1], 10, 64)
		if len(parts) != 3 || err1 != nil || err2 != nil {
			t.Fatalf("index line %q", l)
		}
		lines = append(lines, line{off, id, parts[2]})
	}
	if int64(len(lines)) != st.Pages {
		t.Fatalf("%d index lines for %d pages", len(lines), st.Pages)
	}
	var offsets []int64
	for i, l := range lines {
		if i == 0 || l.off != lines[i-1].off {
			offsets = append(offsets, l.off)
		}
	}
	if len(offsets) != st.Streams-2 { // the header and the closing tag are not listed
		t.Errorf("%d indexed streams, %d streams in all", len(offsets), st.Streams)
	}
	k := 0
	for i, off := range offsets {
		end := int64(len(dump))
		if i+1 < len(offsets) {
			end = offsets[i+1]
		}
		text, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(dump[off:end])))
		if err != nil {
			t.Fatalf("stream at %d: %v", off, err)
		}
		// The last listed stream runs on into the one of </mediawiki>.
		text = bytes.TrimSuffix(text, []byte(footer))
		pages := readPages(t, io.MultiReader(strings.NewReader("<mediawiki><siteinfo><sitename>x</sitename></siteinfo>"),
			bytes.NewReader(text), strings.NewReader("</mediawiki>")))
		if len(pages) > PagesPerStream {
			t.Fatalf("stream at %d holds %d pages", off, len(pages))
		}
		for _, p := range pages {
			if l := lines[k]; l.off != off || l.id != p.ID || l.title != p.Title {
				t.Fatalf("index line %d: %+v, stream at %d has page %d %q", k, l, off, p.ID, p.Title)
			}
			k++
		}
	}
	if k != len(lines) {
		t.Errorf("the streams hold %d pages, the index %d", k, len(lines))
	}
}

// TestTitlesUnique checks the title bijection at a size the shape test
// cannot write quickly: no two pages, red links or topics share a title.
func TestTitlesUnique(t *testing.T) {
	const n = 300_000
	g := newGen(11, n)
	seen := make(map[string]string, n+int(g.redirects)+int(g.missing))
	add := func(title, what string) {
		t.Helper()
		if prev, ok := seen[title]; ok {
			t.Fatalf("%s and %s share the title %q", prev, what, title)
		}
		seen[title] = what
	}
	for i := range int64(n) {
		add(g.articleTitle(i), "article "+strconv.FormatInt(i, 10))
	}
	for j := range g.redirects {
		add(g.redirectTitle(j), "redirect "+strconv.FormatInt(j, 10))
	}
	for m := range g.missing {
		add(g.missingTitle(m), "red link "+strconv.FormatInt(m, 10))
	}
	regions := map[string]bool{}
	for k := range g.topics {
		r := g.region(k)
		if regions[r] {
			t.Fatalf("two topics named %q", r)
		}
		regions[r] = true
	}
}

func TestPermIsBijection(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int64{1, 2, 3, 10, 97, 1000, 4096, 123_457} {
		p := newPerm(n, rng)
		seen := make([]bool, n)
		for x := range n {
			y := p.forward(x)
			if y < 0 || y >= n || seen[y] {
				t.Fatalf("n=%d: forward(%d) = %d, out of range or repeated", n, x, y)
			}
			seen[y] = true
			if back := p.inverse(y); back != x {
				t.Fatalf("n=%d: inverse(forward(%d)) = %d", n, x, back)
			}
		}
	}
}

// TestScatterIsBijection inverts scatter step by step (each step is
// invertible modulo 2^26) and checks the round trip on a sample of the
// space; a bijection is what keeps titles unique.
func TestScatterIsBijection(t *testing.T) {
	const key = 0xDEADBEEF12345
	unshift := func(y uint64, s uint) uint64 { // inverse of y = x ^ x>>s on 26 bits
		x := y
		for range titleBits / s {
			x = y ^ x>>s
		}
		return x & titleMask
	}
	inverseOdd := func(m uint64) uint64 { // m⁻¹ mod 2^26 by Newton's iteration
		inv := m
		for range 5 {
			inv = inv * (2 - m*inv)
		}
		return inv & titleMask
	}
	unscatter := func(y uint64) uint64 {
		x := unshift(y, 11)
		ms := [...]uint64{0x2545F491, 0x9E3779B1, 0x85EBCA77}
		for k := len(ms) - 1; k >= 0; k-- {
			x ^= (key >> 7) & titleMask
			x = (x * inverseOdd(ms[k]|1)) & titleMask
			x = unshift(x, 13)
		}
		return (x ^ key) & titleMask
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for k := range 1 << 20 {
		x := uint64(k)
		if k >= 1<<19 {
			x = rng.Uint64() & titleMask
		}
		y := scatter(x, key)
		if y > titleMask || unscatter(y) != x {
			t.Fatalf("scatter(%d) = %d, inverted to %d", x, y, unscatter(y))
		}
	}
}

func TestRedirectCountMatchesPlan(t *testing.T) {
	for _, n := range []int64{1, 18, 19, 20, 37, 38, 39, 760, 761, 5000} {
		g := newGen(1, n)
		p := &planner{g: g}
		var arts, reds int64
		for e, ok := p.next(); ok; e, ok = p.next() {
			switch e.k {
			case kindArticle:
				if e.idx != arts {
					t.Fatalf("n=%d: article %d out of order", n, e.idx)
				}
				arts++
			case kindRedirect:
				reds++
			}
		}
		if arts != n || reds != g.redirects {
			t.Errorf("n=%d: plan has %d articles and %d redirects, want %d and %d", n, arts, reds, n, g.redirects)
		}
	}
}

func TestBadOptions(t *testing.T) {
	for _, n := range []int64{0, -1, MaxArticles + 1} {
		if _, err := Write(context.Background(), Options{Dir: t.TempDir(), Articles: n}); err == nil {
			t.Errorf("Write with %d articles: no error", n)
		}
	}
}
