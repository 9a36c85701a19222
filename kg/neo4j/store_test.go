package neo4j

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miroverse/miroverse/kg"

	n4j "github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

func doc(id, title, text string) kg.Doc {
	source, _, _ := strings.Cut(id, ":")
	return kg.Doc{ID: id, Title: title, URL: "https://en.wikipedia.org/wiki/" + kg.EscapeTitle(title),
		Source: source, Lang: "en", Text: text, Kind: kg.KindArticle}
}

// The contract every backend keeps is tested by kgtest (conformance_test.go);
// these are this store's own behaviours.

// Unit tests: no server needed.

func TestEscapeLucene(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{`a+b-c`, `a\+b\-c`},
		{`&&||!`, `\&\&\|\|\!`},
		{`(){}[]`, `\(\)\{\}\[\]`},
		{`^"~*?:`, `\^\"\~\*\?\:`},
		{`C:\dir/x`, `C\:\\dir\/x`},
		{"Ɔkwan ɛ", "Ɔkwan ɛ"},
	} {
		if got := escapeLucene(tc.in); got != tc.want {
			t.Errorf("escapeLucene(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLuceneQuery(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"  ***  ", ""},
		{"Accra", `title:(Accra)^10 OR text:(Accra)`},
		{"Kwame Nkrumah", `title:(Kwame OR Nkrumah)^10 OR text:(Kwame OR Nkrumah)`},
		{"Kwame_Nkrumah", `title:(Kwame OR Nkrumah)^10 OR text:(Kwame OR Nkrumah)`},
		{"war AND peace", `title:(war OR peace)^10 OR text:(war OR and OR peace)`}, // no function word among title terms
		{"The Trial of the Century", `title:(Trial OR Century)^10 OR text:(The OR Trial OR of OR Century)`},
		{"NOT OR", `title:(not OR or)^10 OR text:(not OR or)`},
		{`title:x "y`, `title:(title\:x OR \"y)^10 OR text:(title\:x OR \"y)`},
		{"a a A", `title:(a)^10 OR text:(a)`},
		{`C++ && (x)`, `title:(C\+\+ OR \(x\))^10 OR text:(C\+\+ OR \(x\))`},
	} {
		if got := luceneQuery(tc.in); got != tc.want {
			t.Errorf("luceneQuery(%q) =\n %q, want\n %q", tc.in, got, tc.want)
		}
	}
	var many strings.Builder
	for i := range 100 {
		fmt.Fprintf(&many, "t%d ", i)
	}
	if n := len(luceneTerms(many.String())); n != maxQueryTerms {
		t.Errorf("%d terms, want %d", n, maxQueryTerms)
	}
}

func TestSnippet(t *testing.T) {
	long := strings.Repeat("filler ", 40) + "Accra is the capital. " + strings.Repeat("more ", 40)
	for _, tc := range []struct {
		name, text, query, want string
	}{
		{"short text, no match", "Short text.", "zzz", "Short text."},
		{"match at start", "Accra is big.", "accra", "Accra is big."},
		{"match in the middle", long, "ACCRA", "…" + strings.Repeat("filler ", 8) + "Accra is the capital. " +
			strings.TrimSpace(strings.Repeat("more ", 20)) + "…"},
		{"lead when nothing matches", strings.Repeat("word ", 60), "zzz", strings.TrimSpace(strings.Repeat("word ", 40)) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := snippet(tc.text, queryWords(tc.query)); got != tc.want {
				t.Errorf("snippet =\n %q, want\n %q", got, tc.want)
			}
		})
	}
}

func TestPick(t *testing.T) {
	rt := resolvedTitle{final: "Paris", docs: []docRef{{"frwiki:9", "frwiki"}, {"enwiki:7", "enwiki"}, {"enwiki:10", "enwiki"}, {"dewiki:1", "dewiki"}}}
	for _, tc := range []struct{ source, want string }{
		{"enwiki", "enwiki:10"}, // smallest id of the own wiki, compared as strings
		{"frwiki", "frwiki:9"},
		{"eswiki", "dewiki:1"}, // no own-wiki document: smallest of all
		{"", "dewiki:1"},
	} {
		if got := rt.pick(tc.source); got != tc.want {
			t.Errorf("pick(%q) = %s, want %s", tc.source, got, tc.want)
		}
	}
	if got := rt.smallest(); got != "dewiki:1" {
		t.Errorf("smallest = %s", got)
	}
}

func TestRowKey(t *testing.T) {
	// Keys are stored: a change of rowKey would make every existing
	// database look empty to MERGE and duplicate its aliases.
	if got, want := rowKey("w:1", "Accra", "the capital", "It is the capital."), "8d3d8623cf0a0fc555499564582ae344"; got != want {
		t.Errorf("rowKey = %s, want %s (the stored key format changed)", got, want)
	}
	for _, tc := range []struct{ a, b []string }{
		{[]string{"ab", "c"}, []string{"a", "bc"}},
		{[]string{"a", ""}, []string{"", "a"}},
		{[]string{"a"}, []string{"a", ""}},
	} {
		if rowKey(tc.a...) == rowKey(tc.b...) {
			t.Errorf("rowKey(%q) == rowKey(%q)", tc.a, tc.b)
		}
	}
}

func TestFailMessages(t *testing.T) {
	s := &Store{uri: "bolt://db:7687", opt: Options{User: "alice", Database: "graph", MaxRetryTime: 2 * time.Second}}
	refused := &n4j.ConnectivityError{Inner: errors.New("dial tcp: connection refused")}
	for _, tc := range []struct {
		name, what string
		err        error
		want       string
	}{
		{"auth", "put docs", &n4j.Neo4jError{Code: "Neo.ClientError.Security.Unauthorized"},
			"neo4j bolt://db:7687: authentication failed for user alice"},
		{"no database", "create schema", &n4j.Neo4jError{Code: "Neo.ClientError.Database.DatabaseNotFound"},
			"neo4j bolt://db:7687: database graph does not exist"},
		{"refused", "", refused, "neo4j bolt://db:7687: cannot connect: dial tcp: connection refused"},
		{"refused after retries", "put docs", &n4j.TransactionExecutionLimit{Cause: "timeout", Errors: []error{refused, refused}},
			"neo4j bolt://db:7687: put docs: cannot connect: dial tcp: connection refused (gave up after retrying for 2s)"},
		{"stopping", "snapshot", &n4j.TransactionExecutionLimit{Errors: []error{
			&n4j.Neo4jError{Code: "Neo.TransientError.General.DatabaseUnavailable"}}},
			"neo4j bolt://db:7687: snapshot: database graph is unavailable (the server is starting or stopping) (gave up after retrying for 2s)"},
		{"other", "counts", errors.New("boom"), "neo4j bolt://db:7687: counts: boom"},
		{"cancelled", "counts", context.Canceled, "neo4j bolt://db:7687: counts: context canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.fail(tc.what, tc.err)
			if err.Error() != tc.want {
				t.Errorf("got  %q\nwant %q", err, tc.want)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("%v does not wrap %v", err, tc.err)
			}
		})
	}
}

// Server tests.

func TestSchemaAfterOpen(t *testing.T) {
	s := openClean(t, serverOptions(t))
	ctx := context.Background()
	got := map[string]string{} // name -> state
	err := s.read(ctx, "test: show indexes", `SHOW INDEXES YIELD name, state, type RETURN name, state, type`, nil,
		func() { clear(got) },
		func(r *n4j.Record) error {
			got[r.Values[0].(string)] = r.Values[1].(string) + " " + r.Values[2].(string)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"document_id", "rawlinks_src", "redirect_from", "alias_key", "meta_key",
		"webpage_url_key", "document_title", "document_name", "document_title_fold", "document_url", "document_url_key",
		"alias_title", "alias_gen"} {
		if !strings.HasPrefix(got[name], "ONLINE RANGE") {
			t.Errorf("index %s: %q, want ONLINE RANGE", name, got[name])
		}
	}
	if got[fulltextIndex] != "ONLINE FULLTEXT" {
		t.Errorf("index %s: %q, want ONLINE FULLTEXT", fulltextIndex, got[fulltextIndex])
	}
	constraints := map[string]string{}
	err = s.read(ctx, "test: show constraints", `SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties
		RETURN name, type + ' ' + labelsOrTypes[0] + '.' + properties[0]`, nil,
		func() { clear(constraints) },
		func(r *n4j.Record) error {
			constraints[r.Values[0].(string)] = r.Values[1].(string)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"document_id": "UNIQUENESS Document.id", "rawlinks_src": "UNIQUENESS RawLinks.src",
		"redirect_from": "UNIQUENESS Redirect.from", "alias_key": "UNIQUENESS Alias.key", "meta_key": "UNIQUENESS Meta.key",
		"webpage_url_key": "UNIQUENESS WebPage.url_key",
	} {
		if constraints[name] != want {
			t.Errorf("constraint %s = %q, want %q", name, constraints[name], want)
		}
	}
	// Opening again finds the schema in place and changes nothing.
	s2, err := Open(ctx, s.opt)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	s2.Close()
}

func TestOpenErrors(t *testing.T) {
	base := serverOptions(t)
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"wrong password", func(o *Options) { o.Password = "not-the-password-4711" }, "authentication failed for user neo4j"},
		{"unknown user", func(o *Options) { o.User = "nobody" }, "authentication failed for user nobody"},
		{"missing database", func(o *Options) { o.Database = "nosuchdb" }, "database nosuchdb does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := base
			tc.edit(&opt)
			s, err := Open(context.Background(), opt)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			t.Log(msg)
			if want := "neo4j " + opt.URI + ": " + tc.want; msg != want {
				t.Errorf("error %q, want %q", msg, want)
			}
			if opt.Password != "" && strings.Contains(msg, opt.Password) {
				t.Errorf("error %q contains the password", msg)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	// A port that was free a moment ago: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	for _, tc := range []struct{ name, uri string }{
		{"closed port", "bolt://" + addr},
		{"bad scheme", "http://" + addr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := Options{URI: tc.uri, Password: "secret-password-123", MaxRetryTime: time.Second}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := Open(ctx, opt)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.Contains(msg, tc.uri) || strings.Contains(msg, opt.Password) {
				t.Errorf("error %q: want the URI and not the password", msg)
			}
			if strings.Count(msg, tc.uri) != 1 {
				t.Errorf("error %q names the URI more than once", msg)
			}
		})
	}
}

func TestOptionsValidation(t *testing.T) {
	if _, err := Open(context.Background(), Options{}); err == nil || !strings.Contains(err.Error(), "no URI") {
		t.Errorf("Open without URI: %v", err)
	}
}

// TestConcurrentOpen opens one database from several clients at once, with
// no schema yet, as the workers of a job do.
func TestConcurrentOpen(t *testing.T) {
	opt := serverOptions(t)
	ctx := context.Background()
	s := openClean(t, opt)
	var names []string
	if err := s.read(ctx, "test: list schema", `SHOW INDEXES YIELD name, owningConstraint
		WHERE name IN $ours AND owningConstraint IS NULL RETURN name`,
		map[string]any{"ours": schemaNames()}, func() { names = names[:0] }, func(r *n4j.Record) error {
			names = append(names, r.Values[0].(string))
			return nil
		}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"document_id", "rawlinks_src", "redirect_from", "alias_key", "meta_key"} {
		if err := s.write(ctx, "test: drop", "DROP CONSTRAINT "+c+" IF EXISTS", nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range names {
		if err := s.write(ctx, "test: drop", "DROP INDEX "+n+" IF EXISTS", nil); err != nil {
			t.Fatal(err)
		}
	}
	const clients = 4
	errs := make(chan error, clients)
	for range clients {
		go func() {
			st, err := Open(ctx, opt)
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// schemaNames are the names of the indexes and constraints Open creates.
func schemaNames() []string {
	return []string{"document_id", "rawlinks_src", "redirect_from", "alias_key", "meta_key", "webpage_url_key",
		"document_title", "document_name", "document_title_fold", "document_url", "document_url_key",
		"alias_title", "alias_gen", fulltextIndex}
}

func TestRawLinkEncoding(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   kg.RawLink
		want string
	}{
		{"plain", kg.RawLink{Src: "w:1", Target: "Accra", Anchor: "the capital", Sentence: "It is the capital."},
			`["Accra","the capital","It is the capital."]`},
		{"empty anchor and sentence", kg.RawLink{Src: "w:1", Target: "A"}, `["A","",""]`},
		// Control characters are escaped, so neo4j-admin's list delimiter
		// (U+001F) and newlines never occur in an element; HTML is not.
		{"control characters", kg.RawLink{Src: "w:1", Target: "A\x1fB", Anchor: "x\ny", Sentence: `<b>"q"</b> & c`},
			`["A\u001fB","x\ny","<b>\"q\"</b> & c"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := encodeRawLink(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("encodeRawLink = %s, %v; want %s", got, err, tc.want)
			}
			back, err := decodeRawLink(tc.in.Src, got)
			if err != nil || back != tc.in {
				t.Errorf("decodeRawLink(%s) = %+v, %v; want %+v", got, back, err, tc.in)
			}
		})
	}
	for _, bad := range []any{int64(1), "[", `{"a":1}`} {
		if _, err := decodeRawLink("w:1", bad); err == nil {
			t.Errorf("decodeRawLink(%#v) accepted", bad)
		}
	}
}

func TestParallelChunks(t *testing.T) {
	for _, tc := range []struct {
		name              string
		items, n, workers int
		want              []int // chunk sizes, in order
	}{
		{"empty", 0, 10, 4, nil},
		{"one small call", 300, 10000, 4, []int{300}},
		{"cut for the workers", 2000, 10000, 4, []int{500, 500, 500, 500}},
		{"not below the minimum", 1200, 10000, 4, []int{500, 500, 200}},
		{"bounded by n", 2500, 1000, 2, []int{1000, 1000, 500}},
		{"one worker", 2500, 1000, 1, []int{1000, 1000, 500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items := make([]int, tc.items)
			for i := range items {
				items[i] = i
			}
			var mu sync.Mutex
			got := map[int]int{} // first item -> size
			err := parallelChunks(context.Background(), tc.workers, items, tc.n, func(_ context.Context, b []int) error {
				mu.Lock()
				defer mu.Unlock()
				got[b[0]] = len(b)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var sizes []int
			for lo := 0; lo < tc.items; lo += got[lo] {
				if got[lo] == 0 {
					t.Fatalf("no chunk starts at %d: %v", lo, got)
				}
				sizes = append(sizes, got[lo])
			}
			if !reflect.DeepEqual(sizes, tc.want) {
				t.Errorf("chunks %v, want %v", sizes, tc.want)
			}
		})
	}
	boom := errors.New("boom")
	err := parallelChunks(context.Background(), 4, make([]int, 4000), 500, func(context.Context, []int) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want %v", err, boom)
	}
}

func webPages() []kg.Doc {
	page := func(id, url, text string) kg.Doc {
		return kg.Doc{ID: id, Title: "Page " + id, URL: url, Source: kg.SourceWeb, Lang: "en", Text: text,
			Kind: kg.KindArticle, Date: "2024-05-01T12:00:00Z", Hash: "sha256:" + id, Origin: "crawl.warc.gz@1"}
	}
	return []kg.Doc{
		page("web:1", "https://physics.example/curie", "A page on the Curies. It mentions Marie Curie."),
		page("web:2", "https://physics.example/radium", "Radium was found in 1898. It mentions the Curie page."),
	}
}

func webLinks() []kg.RawLink {
	return []kg.RawLink{
		{Src: "web:1", Target: "Marie Curie", Anchor: "Marie Curie", Sentence: "It mentions Marie Curie."},
		{Src: "web:2", Target: kg.URLKey("https://physics.example/curie"), Anchor: "the Curie page", Sentence: "It mentions the Curie page."},
	}
}

func countWebPages(t testing.TB, s *Store) int {
	t.Helper()
	n := 0
	err := s.read(context.Background(), "test: count web pages", `MATCH (d:WebPage) RETURN count(d)`, nil,
		func() { n = 0 }, func(r *n4j.Record) error {
			n = int(r.Values[0].(int64))
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWebPagesUniqueByURL: web documents carry the WebPage label, whose URL
// key is unique: a second document of one page's URL is refused by name,
// while wiki documents sharing a URL are left alone.
func TestWebPagesUniqueByURL(t *testing.T) {
	s := openClean(t, serverOptions(t))
	ctx := context.Background()
	putDocs(t, s, append(webPages(), doc("demowiki:1", "Marie Curie", "Marie Curie was a physicist."))...)
	if n := countWebPages(t, s); n != 2 {
		t.Fatalf("%d WebPage nodes, want 2", n)
	}
	// Writing the same pages again is an update, not a violation.
	if err := s.PutDocs(ctx, webPages()); err != nil {
		t.Fatalf("rewriting web pages: %v", err)
	}
	twin := webPages()[0]
	twin.ID = "web:other"
	twin.URL = "https://PHYSICS.example:443/curie#top" // the same URL key
	err := s.PutDocs(ctx, []kg.Doc{twin})
	if err == nil || !strings.Contains(err.Error(), "webpage_url_key") && !strings.Contains(err.Error(), "WebPage") {
		t.Fatalf("a second document of one URL: err = %v, want the WebPage url_key constraint named", err)
	}
	wikiTwin := doc("otherwiki:1", "Marie Curie", "Another dump's copy.")
	if err := s.PutDocs(ctx, []kg.Doc{wikiTwin}); err != nil {
		t.Fatalf("a wiki document sharing a URL: %v", err)
	}
	if n := countWebPages(t, s); n != 2 {
		t.Errorf("%d WebPage nodes, want 2", n)
	}
}
