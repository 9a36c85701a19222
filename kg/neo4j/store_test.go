package neo4j

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
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

func link(src, target, anchor string) kg.RawLink {
	return kg.RawLink{Src: src, Target: target, Anchor: anchor, Sentence: "It mentions " + anchor + "."}
}

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
		{"war AND peace", `title:(war OR and OR peace)^10 OR text:(war OR and OR peace)`},
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
	// database look empty to MERGE and duplicate its raw links and aliases.
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
	for _, name := range []string{"document_id", "rawlink_key", "redirect_from", "alias_key", "meta_key",
		"document_title", "document_title_fold", "document_url", "document_url_key", "rawlink_src",
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
		"document_id": "UNIQUENESS Document.id", "rawlink_key": "UNIQUENESS RawLink.key",
		"redirect_from": "UNIQUENESS Redirect.from", "alias_key": "UNIQUENESS Alias.key", "meta_key": "UNIQUENESS Meta.key",
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

// fixtures load in stages; after each stage both stores must agree.
var fixtures = []struct {
	name   string
	stages []fixture
}{
	{
		// C links to titles reached in 0-4 redirect hops, through a loop, to
		// nothing, to a redirect shadowed by a document, and to itself.
		name: "redirects",
		stages: []fixture{{
			docs: []kg.Doc{doc("w:1", "A", "Alpha text."), doc("w:2", "B", "Beta text."), doc("w:3", "C", "Gamma text.")},
			redirects: []kg.Redirect{
				{From: "X", To: "A"}, {From: "Y", To: "X"}, {From: "Z", To: "Y"}, {From: "W", To: "Z"},
				{From: "L1", To: "L2"}, {From: "L2", To: "L1"}, {From: "R", To: "Missing"}, {From: "B", To: "A"},
			},
			raw: []kg.RawLink{
				link("w:3", "A", "A"), link("w:3", "X", "x one"), link("w:3", "Y", "y two"), link("w:3", "Z", "z three"),
				link("w:3", "W", "w four"), link("w:3", "L1", "loop"), link("w:3", "R", "dangling"),
				link("w:3", "Missing", "missing"), link("w:3", "B", "B"), link("w:3", "C", "self"),
			},
		}},
	},
	{
		// Two wikis share titles; a link prefers its own wiki, then the
		// smallest id; duplicate titles within a wiki mean the smallest id.
		name: "wikis and duplicate titles",
		stages: []fixture{{
			docs: []kg.Doc{
				doc("enwiki:20", "Paris", "Paris, France."), doc("enwiki:100", "Paris", "Paris again."),
				doc("frwiki:5", "Paris", "Paris, capitale."), doc("enwiki:3", "London", "London links Paris."),
				doc("frwiki:8", "Londres", "Londres et Paris."), doc("dewiki:1", "Berlin", "Berlin und Paris."),
			},
			raw: []kg.RawLink{
				link("enwiki:3", "Paris", "Paris"), link("frwiki:8", "Paris", "Paris"), link("dewiki:1", "Paris", "Paris"),
				link("frwiki:8", "Lutetia", "Lutèce"), link("enwiki:20", "Paris", "itself"),
			},
			redirects: []kg.Redirect{{From: "Lutetia", To: "Paris"}},
		}},
	},
	{
		// Anchors: equal to the title (no alias), empty, shared by two
		// sources (one alias), and two targets resolving to one link.
		name: "anchors and duplicate links",
		stages: []fixture{{
			docs: []kg.Doc{doc("w:1", "Accra", "Accra text."), doc("w:2", "Ghana", "Ghana text."), doc("w:3", "Kumasi", "Kumasi text.")},
			raw: []kg.RawLink{
				link("w:2", "Accra", "Accra"), link("w:2", "Accra", ""), link("w:2", "Accra", "the capital"),
				link("w:3", "Accra", "the capital"), link("w:3", "Capital of Ghana", "the capital"),
				{Src: "w:3", Target: "Accra", Anchor: "x", Sentence: "Same sentence."},
				{Src: "w:3", Target: "Capital of Ghana", Anchor: "x", Sentence: "Same sentence."},
			},
			redirects: []kg.Redirect{{From: "Capital of Ghana", To: "Accra"}},
		}},
	},
	{
		// A second round changes what resolved before: a redirect is
		// retargeted, a new document shadows a redirect, a new redirect
		// resolves a dangling link. Finish must drop what no longer holds.
		name: "incremental",
		stages: []fixture{
			{
				docs: []kg.Doc{doc("w:1", "A", "A text."), doc("w:2", "B", "B text."), doc("w:3", "C", "C text.")},
				raw: []kg.RawLink{
					link("w:3", "R", "via r"), link("w:3", "S", "via s"), link("w:3", "T", "via t"),
					link("w:1", "B", "bee"),
				},
				redirects: []kg.Redirect{{From: "R", To: "A"}, {From: "S", To: "A"}},
			},
			{
				docs:      []kg.Doc{doc("w:4", "S", "S is now an article.")},
				redirects: []kg.Redirect{{From: "R", To: "B"}, {From: "T", To: "C"}},
				raw:       []kg.RawLink{link("w:4", "A", "a from s")},
			},
		},
	},
}

func TestFixturesMatchEmbedded(t *testing.T) {
	opt := serverOptions(t)
	for _, tc := range fixtures {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openClean(t, opt)
			e, edb := openEmbedded(t)
			for i, st := range tc.stages {
				st.load(t, e)
				st.load(t, s)
				t.Run(fmt.Sprintf("stage %d", i), func(t *testing.T) { sameGraph(t, ctx, e, edb, s) })
			}
			// Lookups agree too.
			g, err := e.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range g.IDs {
				ea, _ := e.Aliases(ctx, id)
				na, err := s.Aliases(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(ea, na) {
					t.Errorf("Aliases(%s): neo4j %+v, embedded %+v", id, na, ea)
				}
			}
		})
	}
}

func TestLookups(t *testing.T) {
	opt := serverOptions(t)
	ctx := context.Background()
	s := openClean(t, opt)
	e, _ := openEmbedded(t)
	f := fixture{
		docs: []kg.Doc{
			doc("w:1", "New York City", "The city."), doc("w:2", "Ghana", "A country."),
			{ID: "w:3", Title: "Ìbàdàn", URL: "http://en.m.wikipedia.org/wiki/%C3%8Cb%C3%A0d%C3%A0n", Source: "w", Text: "City.",
				Categories: []string{"Cities", "Nigeria"}, Kind: kg.KindArticle},
		},
		redirects: []kg.Redirect{{From: "NYC", To: "New York City"}},
	}
	f.load(t, e)
	f.load(t, s)
	for _, tc := range []struct {
		name string
		call func(kg.Reader) (kg.Doc, error)
	}{
		{"Doc", func(r kg.Reader) (kg.Doc, error) { return r.Doc(ctx, "w:3") }},
		{"Doc missing", func(r kg.Reader) (kg.Doc, error) { return r.Doc(ctx, "w:404") }},
		{"title", func(r kg.Reader) (kg.Doc, error) { return r.DocByTitle(ctx, "Ghana") }},
		{"title normalised", func(r kg.Reader) (kg.Doc, error) { return r.DocByTitle(ctx, "new_York_City") }},
		{"title via redirect", func(r kg.Reader) (kg.Doc, error) { return r.DocByTitle(ctx, "NYC") }},
		{"title ignoring case", func(r kg.Reader) (kg.Doc, error) { return r.DocByTitle(ctx, "ìBÀDÀN") }},
		{"title missing", func(r kg.Reader) (kg.Doc, error) { return r.DocByTitle(ctx, "Atlantis") }},
		{"url as stored", func(r kg.Reader) (kg.Doc, error) {
			return r.DocByURL(ctx, "https://en.wikipedia.org/wiki/Ghana")
		}},
		{"url respelled", func(r kg.Reader) (kg.Doc, error) { return r.DocByURL(ctx, "https://en.wikipedia.org/wiki/Ìbàdàn#x") }},
		{"url missing", func(r kg.Reader) (kg.Doc, error) { return r.DocByURL(ctx, "https://example.org/") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, werr := tc.call(e)
			got, gerr := tc.call(s)
			if !reflect.DeepEqual(got, want) || errors.Is(gerr, kg.ErrNotFound) != errors.Is(werr, kg.ErrNotFound) ||
				(gerr == nil) != (werr == nil) {
				t.Errorf("neo4j %+v, %v; embedded %+v, %v", got, gerr, want, werr)
			}
		})
	}
}

func TestIdempotentIngest(t *testing.T) {
	opt := serverOptions(t)
	ctx := context.Background()
	s := openClean(t, opt)
	f := fixtures[0].stages[0]
	f.raw = append(f.raw, f.raw...) // duplicates within one call too
	f.load(t, s)
	first, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	g1, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.load(t, s)
	if err := s.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	second, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Errorf("counts after a second ingest %+v, first %+v", second, first)
	}
	g2, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sameSnapshot(t, g2, g1)
	noDuplicates(t, s)
}

// noDuplicates checks that no key names two nodes and no two LINKS_TO
// carry the same (src, dst, anchor, sentence).
func noDuplicates(t *testing.T, s *Store) {
	t.Helper()
	for _, q := range []string{
		`MATCH (n:Document) WITH n.id AS k, count(*) AS c WHERE c > 1 RETURN count(*)`,
		`MATCH (n:RawLink) WITH n.key AS k, count(*) AS c WHERE c > 1 RETURN count(*)`,
		`MATCH (n:Redirect) WITH n.from AS k, count(*) AS c WHERE c > 1 RETURN count(*)`,
		`MATCH (n:Alias) WITH n.key AS k, count(*) AS c WHERE c > 1 RETURN count(*)`,
		`MATCH (n:Alias) WHERE COUNT { (n)-[:ALIAS_OF]->() } <> 1 RETURN count(*)`,
		`MATCH (s)-[l:LINKS_TO]->(d) WITH s, d, l.anchor AS a, l.sentence AS x, count(*) AS c WHERE c > 1 RETURN count(*)`,
	} {
		var n int64
		if err := s.read(context.Background(), "test: duplicates", q, nil, nil, func(r *n4j.Record) error {
			n = r.Values[0].(int64)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d duplicates: %s", n, q)
		}
	}
}

func TestSearch(t *testing.T) {
	opt := serverOptions(t)
	ctx := context.Background()
	s := openClean(t, opt)
	f := fixture{
		docs: []kg.Doc{
			doc("w:1", "Cecilia Abena Dapaah", "Cecilia Abena Dapaah is a politician. Cecilia Dapaah, Cecilia Dapaah, Cecilia Dapaah."),
			doc("w:2", "Cecilia Dapaah", "A short page."),
			doc("w:3", "New York City", "The largest city of the United States, also called NYC."),
			doc("w:4", "C++", "A programming language."),
			doc("w:5", "It", "A novel by Stephen King."),
			doc("w:6", "Mention", "NYC, NYC, NYC: someone said it thrice."),
			doc("w:7", "!!!", "A band; bang, bang."), doc("w:8", "Bang", "Bang bang bang."),
		},
		redirects: []kg.Redirect{{From: "NYC", To: "New York City"}, {From: "Big Apple", To: "New York City"},
			{From: "Band", To: "!!!"}},
	}
	f.load(t, s)
	e, _ := openEmbedded(t)
	f.load(t, e)
	for _, tc := range []struct {
		query, wantFirst string
	}{
		{"Cecilia Dapaah", "w:2"}, // the exact title beats a page that says the words more often
		{"cecilia_dapaah", "w:2"},
		{"New York City", "w:3"},
		{"NYC", "w:3"},  // through the redirect, ahead of the page that says "NYC" more often
		{"york", "w:3"}, // one word of a title
		{"C++", "w:4"},
		{"It", "w:5"}, // a stop word in English analysers
		{"stephen KING novel", "w:5"},
		{"Band", "w:7"}, // a redirect to a title without words
		{"bang", "w:8"},
	} {
		hits, err := s.Search(ctx, tc.query, 5)
		if err != nil {
			t.Fatalf("Search(%q): %v", tc.query, err)
		}
		if len(hits) == 0 || hits[0].DocID != tc.wantFirst {
			t.Errorf("Search(%q) = %+v, want %s first", tc.query, hits, tc.wantFirst)
			continue
		}
		for i := 1; i < len(hits); i++ {
			if hits[i].Score > hits[i-1].Score && i > 1 {
				t.Errorf("Search(%q): scores out of order: %+v", tc.query, hits)
			}
		}
		if hits[0].Title == "" || hits[0].URL == "" || hits[0].Snippet == "" {
			t.Errorf("Search(%q): incomplete hit %+v", tc.query, hits[0])
		}
		if eh, err := e.Search(ctx, tc.query, 5); err != nil || len(eh) == 0 || eh[0].DocID != hits[0].DocID {
			t.Errorf("Search(%q): neo4j ranks %s first, embedded %+v (%v)", tc.query, hits[0].DocID, eh, err)
		}
	}
	// "Big Apple" leads to a page that says neither word: like the
	// embedded store, no match means no hit, redirect or not.
	if hits, err := s.Search(ctx, "Big Apple", 5); err != nil || len(hits) != 0 {
		t.Errorf("Search(Big Apple) = %+v, %v; want no hit", hits, err)
	}
	if hits, err := s.Search(ctx, "Cecilia", 1); err != nil || len(hits) != 1 {
		t.Errorf("limit 1: %d hits, %v", len(hits), err)
	}
}

func TestHostileQueries(t *testing.T) {
	opt := serverOptions(t)
	ctx := context.Background()
	s := openClean(t, opt)
	fixture{docs: []kg.Doc{doc("w:1", "Title: a (b) [c]", "Text with AND, OR, NOT and a/b\\c.")}}.load(t, s)
	for _, q := range []string{
		`title:*`, `*`, `?`, `*:*`, `"unbalanced`, `(a`, `a)`, `[a TO z]`, `{a TO z}`, `a AND`, `OR`, `NOT`,
		`NOT a`, `a && b || !c`, `a^999`, `a~2`, `a~`, `/regex.*/`, `\`, `\\`, `a\`, `+-`, `-a`, `+a`,
		`title:(a) OR text:(b)`, `id:w\:1`, `a:b:c`, `&&`, `||`, `!`, `^`, `~`, `Title: a (b) [c]`,
		strings.Repeat("(", 500), strings.Repeat("a ", 5000), "\x00\x01", "ɛ ɔ Ɔkwan", `"a" "b`,
	} {
		if _, err := s.Search(ctx, q, 5); err != nil {
			t.Errorf("Search(%q): %v", q, err)
		}
	}
	hits, err := s.Search(ctx, `Title: a (b) [c]`, 5)
	if err != nil || len(hits) == 0 || hits[0].DocID != "w:1" {
		t.Errorf("Search of a title full of syntax = %+v, %v", hits, err)
	}
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
	for _, c := range []string{"document_id", "rawlink_key", "redirect_from", "alias_key", "meta_key"} {
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
	return []string{"document_id", "rawlink_key", "redirect_from", "alias_key", "meta_key",
		"document_title", "document_title_fold", "document_url", "document_url_key", "rawlink_src",
		"alias_title", "alias_gen", fulltextIndex}
}

// TestLinkFromUnknownSource pins the documented difference from the
// embedded store: a raw link whose source is no document makes no LINKS_TO
// (nothing to hang it on) but still counts as resolved or not.
func TestLinkFromUnknownSource(t *testing.T) {
	opt := serverOptions(t)
	ctx := context.Background()
	s := openClean(t, opt)
	fixture{
		docs: []kg.Doc{doc("w:1", "A", "A text.")},
		raw:  []kg.RawLink{link("w:404", "A", "to a"), link("w:404", "Nowhere", "lost")},
	}.load(t, s)
	c, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (kg.Counts{Docs: 1, Links: 0, Aliases: 0, RawLinks: 2, Unresolved: 1}); c != want {
		t.Errorf("counts %+v, want %+v", c, want)
	}
	// Once the source exists, Finish links it.
	fixture{docs: []kg.Doc{doc("w:404", "Late", "Late text.")}}.load(t, s)
	if c, _ = s.Counts(ctx); c.Links != 1 || c.Aliases != 1 {
		t.Errorf("after the source arrived: %+v, want 1 link and its anchor alias", c)
	}
}
