package embedded

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/kgtest"
)

// These tests hold the file's own layout (sentences by reference, links
// waiting for their source, Finish in chunks, incremental Finish) to the
// contract by comparison: whatever path the records take, the store must
// answer as one that was given the final records at once and finished
// once.

// dump is everything a store answers about its derived data, for
// comparing two stores.
type dump struct {
	counts  kg.Counts
	graph   *kg.Graph
	links   []kg.Link
	aliases []kg.Alias
	docs    []kg.Doc
	// view* are the compatibility views, which must agree with the rest.
	viewLinks   []kg.Link
	viewAliases []kg.Alias
}

func dumpStore(t *testing.T, s *Store) dump {
	t.Helper()
	ctx := context.Background()
	var d dump
	var err error
	if d.counts, err = s.Counts(ctx); err != nil {
		t.Fatal(err)
	}
	if d.graph, err = s.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		s.EachLink(ctx, func(l kg.Link) error { d.links = append(d.links, l); return nil }),
		s.EachAlias(ctx, func(a kg.Alias) error { d.aliases = append(d.aliases, a); return nil }),
		s.EachDoc(ctx, func(doc kg.Doc) error { d.docs = append(d.docs, doc); return nil }),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT src, dst, anchor, sentence FROM links ORDER BY src, dst, anchor, sentence`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var l kg.Link
		if err := rows.Scan(&l.Src, &l.Dst, &l.Anchor, &l.Sentence); err != nil {
			t.Fatal(err)
		}
		d.viewLinks = append(d.viewLinks, l)
	}
	rows.Close()
	rows, err = s.db.QueryContext(ctx, `SELECT doc_id, alias, kind FROM aliases ORDER BY doc_id, alias, kind`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a kg.Alias
		if err := rows.Scan(&a.DocID, &a.Alias, &a.Kind); err != nil {
			t.Fatal(err)
		}
		d.viewAliases = append(d.viewAliases, a)
	}
	rows.Close()
	return d
}

// sameDump reports where two stores' answers differ.
func sameDump(t *testing.T, got, want dump) {
	t.Helper()
	if got.counts != want.counts {
		t.Errorf("Counts = %+v, want %+v", got.counts, want.counts)
	}
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"EachLink", got.links, want.links},
		{"EachAlias", got.aliases, want.aliases},
		{"EachDoc", got.docs, want.docs},
		{"links view", got.viewLinks, got.links},
		{"aliases view", got.viewAliases, got.aliases},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			g, w := reflect.ValueOf(f.got), reflect.ValueOf(f.want)
			i := 0
			for i < min(g.Len(), w.Len()) && reflect.DeepEqual(g.Index(i).Interface(), w.Index(i).Interface()) {
				i++
			}
			var gi, wi any
			if i < g.Len() {
				gi = g.Index(i).Interface()
			}
			if i < w.Len() {
				wi = w.Index(i).Interface()
			}
			t.Errorf("%s: %d entries, want %d; first difference at %d: %+v, want %+v", f.name, g.Len(), w.Len(), i, gi, wi)
		}
	}
	if !reflect.DeepEqual(got.graph, want.graph) {
		t.Errorf("Snapshot differs: %d nodes %d edges, want %d nodes %d edges",
			got.graph.NodeCount(), got.graph.EdgeCount(), want.graph.NodeCount(), want.graph.EdgeCount())
	}
}

// TestSentences: every sentence comes back as written, whether the
// source's text holds it (once, twice, as a number, empty) or not, written
// before or after its document, and after the document's text changes.
func TestSentences(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("word ", 1<<14) // over the 64 KiB a reference packs
	text := "Alpha is here. 1999. Alpha is here. " + long + "End."
	src := doc("s:1", "Source", text)
	links := []kg.RawLink{
		{Src: "s:1", Target: "Alpha", Anchor: "Alpha", Sentence: "Alpha is here."}, // twice in the text
		{Src: "s:1", Target: "Alpha", Anchor: "1999", Sentence: "1999."},           // reads as a number
		{Src: "s:1", Target: "Alpha", Anchor: "none", Sentence: "Not in the text."},
		{Src: "s:1", Target: "Alpha", Anchor: "empty", Sentence: ""},
		{Src: "s:1", Target: "Alpha", Anchor: "long", Sentence: long},
		{Src: "s:1", Target: "Alpha", Anchor: "", Sentence: "End."},
	}
	alpha := doc("s:2", "Alpha", "Alpha text.")
	rewritten := src
	rewritten.Text = "Now the text is other. End. Alpha is here."
	for _, tc := range []struct {
		name   string
		rounds [][]any // each round: docs and links written in order, then Finish
	}{
		{"links after their document", [][]any{{[]kg.Doc{src, alpha}, links}}},
		{"links before their document", [][]any{{links, []kg.Doc{src, alpha}}}},
		{"links before, document in a later round", [][]any{{links, []kg.Doc{alpha}}, {[]kg.Doc{src}}}},
		{"text rewritten after Finish", [][]any{{[]kg.Doc{src, alpha}, links}, {[]kg.Doc{rewritten}}}},
		{"text rewritten, links written again", [][]any{{[]kg.Doc{src, alpha}, links}, {[]kg.Doc{rewritten}, links}}},
		{"text rewritten twice", [][]any{{[]kg.Doc{src, alpha}, links}, {[]kg.Doc{rewritten}}, {[]kg.Doc{src}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTemp(t)
			for _, round := range tc.rounds {
				for _, w := range round {
					switch w := w.(type) {
					case []kg.Doc:
						must(t, s.PutDocs(ctx, w))
					case []kg.RawLink:
						must(t, s.PutRawLinks(ctx, w))
					}
				}
				must(t, s.Finish(ctx))
			}
			var got []kg.Link
			must(t, s.EachLink(ctx, func(l kg.Link) error { got = append(got, l); return nil }))
			var want []kg.Link
			for _, l := range links {
				want = append(want, kg.Link{Src: l.Src, Dst: "s:2", Anchor: l.Anchor, Sentence: l.Sentence})
			}
			slices.SortFunc(want, func(a, b kg.Link) int {
				if c := strings.Compare(a.Anchor, b.Anchor); c != 0 {
					return c
				}
				return strings.Compare(a.Sentence, b.Sentence)
			})
			if !reflect.DeepEqual(got, want) {
				t.Errorf("links:\n%v\nwant\n%v", short(got), short(want))
			}
			if c, err := s.Counts(ctx); err != nil || c.RawLinks != int64(len(links)) || c.Links != int64(len(links)) {
				t.Errorf("Counts = %+v, %v; want %d raw links and links", c, err, len(links))
			}
			checkCounters(t, s)
		})
	}
}

func short(ls []kg.Link) string {
	var b strings.Builder
	for _, l := range ls {
		s := l.Sentence
		if len(s) > 20 {
			s = s[:20] + "…"
		}
		fmt.Fprintf(&b, "  %s->%s %q %q\n", l.Src, l.Dst, l.Anchor, s)
	}
	return b.String()
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// checkCounters compares the counters Counts reads with the rows.
func checkCounters(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	c, err := s.Counts(ctx)
	must(t, err)
	var raw, links int64
	must(t, s.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM raw_links) + (SELECT COUNT(*) FROM raw_pending),
		(SELECT COUNT(*) FROM links)`).Scan(&raw, &links))
	if c.RawLinks != raw {
		t.Errorf("Counts.RawLinks = %d, the tables hold %d", c.RawLinks, raw)
	}
	if c.Links != links {
		t.Errorf("Counts.Links = %d, the links view holds %d", c.Links, links)
	}
}

// TestOldSchemaRefused: a file of the previous layout (schema version 2)
// is refused with both versions named, and left as it was.
func TestOldSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kg.db")
	db, err := sql.Open("sqlite", path)
	must(t, err)
	for _, stmt := range []string{
		`CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
		`INSERT INTO meta VALUES('schema_version', '2')`,
		`CREATE TABLE docs(n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title TEXT NOT NULL, title_fold TEXT NOT NULL,
			url TEXT NOT NULL, url_key TEXT NOT NULL, source TEXT NOT NULL, lang TEXT NOT NULL, text TEXT NOT NULL,
			categories TEXT NOT NULL, kind TEXT NOT NULL, facts TEXT NOT NULL)`,
		`CREATE TABLE raw_links(src TEXT NOT NULL, target TEXT NOT NULL, anchor TEXT NOT NULL, sentence TEXT NOT NULL,
			PRIMARY KEY(src, target, anchor, sentence)) WITHOUT ROWID`,
		`CREATE TABLE links(src TEXT NOT NULL, dst TEXT NOT NULL, anchor TEXT NOT NULL, sentence TEXT NOT NULL,
			PRIMARY KEY(src, dst, anchor, sentence)) WITHOUT ROWID`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	before, err := os.ReadFile(path)
	must(t, err)
	_, err = Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "schema version 2, this build reads "+schemaVersion) {
		t.Fatalf("Open of a version 2 file: %v", err)
	}
	after, err := os.ReadFile(path)
	must(t, err)
	if !slices.Equal(before, after) {
		t.Error("Open of a refused file changed it")
	}
}

// TestFinishPaths: one corpus reaches its final records along different
// paths (all at once, in rounds with a Finish after each, with one
// document's Finish work split into chunks of one source, with Finish
// interrupted after each of its transactions and run again), and every
// path ends where one Finish over the final records ends. The rounds
// change what resolved before: retitled documents, retargeted and new
// redirects, rewritten texts, a second wiki with clashing titles, links
// written before their sources.
func TestFinishPaths(t *testing.T) {
	rounds := finishRounds(600)
	final := openTemp(t)
	for _, r := range rounds {
		r.write(t, final)
	}
	must(t, final.Finish(context.Background()))
	want := dumpStore(t, final)
	if want.counts.Links == 0 || want.counts.Aliases == 0 || want.counts.Unresolved == 0 {
		t.Fatalf("the corpus derives too little to test: %+v", want.counts)
	}
	for _, tc := range []struct {
		name  string
		chunk int
		// interrupt cancels Finish at its k-th transaction when > 0.
		interrupt bool
	}{
		{"a Finish after each round", 8192, false},
		{"chunks of one source", 1, false},
		{"chunks of 7 sources", 7, false},
		{"interrupted at every step", 5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTemp(t)
			s.finishChunk = tc.chunk
			var incremental []int64
			for _, r := range rounds {
				r.write(t, s)
				if tc.interrupt {
					interruptedFinish(t, s)
				}
				var resolved int64
				s.trace = func(step string, rows int64, _ time.Duration) {
					if step == "resolve links" {
						resolved += rows
					}
				}
				must(t, s.Finish(context.Background()))
				s.trace = nil
				incremental = append(incremental, resolved)
				checkCounters(t, s)
			}
			// The last two rounds touch a few sources: Finish must resolve
			// their sources' rows (a few hundred), not all of them.
			if !tc.interrupt && (incremental[3] > want.counts.RawLinks/10 || incremental[4] > 100) {
				t.Errorf("rows resolved per Finish: %v of %d", incremental, want.counts.RawLinks)
			}
			sameDump(t, dumpStore(t, s), want)
			// Finish again changes nothing, and neither does writing the
			// last two rounds again (their records are the final ones, as
			// an ingest resumed after its end writes) and finishing: that
			// Finish has no link to resolve.
			must(t, s.Finish(context.Background()))
			sameDump(t, dumpStore(t, s), want)
			rounds[len(rounds)-2].write(t, s)
			rounds[len(rounds)-1].write(t, s)
			var resolved int64
			s.trace = func(step string, rows int64, _ time.Duration) {
				if step == "resolve links" {
					resolved += rows
				}
			}
			must(t, s.Finish(context.Background()))
			s.trace = nil
			if resolved != 0 {
				t.Errorf("Finish after writing the same records again resolved %d rows", resolved)
			}
			sameDump(t, dumpStore(t, s), want)
		})
	}
}

// interruptedFinish runs Finish with its context cancelled after the k-th
// transaction, for k = 1, 2, … until one runs to the end.
func interruptedFinish(t *testing.T, s *Store) {
	t.Helper()
	for k := 1; ; k++ {
		ctx, cancel := context.WithCancel(context.Background())
		seen := 0
		s.trace = func(step string, _ int64, _ time.Duration) {
			if step == "resolve links" || step == "resolve titles" || step == "derive aliases" {
				seen++
				if seen == k {
					cancel()
				}
			}
		}
		err := s.Finish(ctx)
		cancel()
		s.trace = nil
		if err == nil {
			return
		}
		// The cancelled context rolls the transaction back, and Commit
		// reports either the cancellation or the rollback.
		if !errors.Is(err, context.Canceled) && !errors.Is(err, sql.ErrTxDone) {
			t.Fatalf("interrupted Finish: %v", err)
		}
	}
}

// round is one ingest round of finishRounds.
type round struct {
	docs      []kg.Doc
	links     []kg.RawLink
	redirects []kg.Redirect
	// linksFirst writes the links before the documents.
	linksFirst bool
}

func (r round) write(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	if r.linksFirst {
		must(t, s.PutRawLinks(ctx, r.links))
	}
	must(t, s.PutDocs(ctx, r.docs))
	if !r.linksFirst {
		must(t, s.PutRawLinks(ctx, r.links))
	}
	must(t, s.PutRedirects(ctx, r.redirects))
}

// finishRounds is a generated corpus of n articles in three rounds, each
// changing what the one before resolved.
func finishRounds(n int) []round {
	syn := newSynth(n, 7)
	syn.batch = n * 100 // one batch: the rounds are cut here
	var docs []kg.Doc
	var links []kg.RawLink
	var reds []kg.Redirect
	syn.each(func(d []kg.Doc, l []kg.RawLink, r []kg.Redirect) error {
		docs, links, reds = append(docs, d...), append(links, l...), append(reds, r...)
		return nil
	})
	half := len(docs) / 2
	var first, second []kg.RawLink
	for _, l := range links {
		if l.Src < docs[half].ID {
			first = append(first, l)
		} else {
			second = append(second, l)
		}
	}
	// Round 3: every 10th article retitled to a title others link to, every
	// 7th rewritten with its sentences moved, a second wiki with copies of
	// some titles (so ties go by wiki, then by id), redirects retargeted.
	var changed []kg.Doc
	for i, d := range docs {
		switch {
		case i%10 == 3:
			d.Title = docs[(i*31)%len(docs)].Title
			changed = append(changed, d)
		case i%7 == 2:
			d.Text = "A new first sentence. " + d.Text
			changed = append(changed, d)
		}
	}
	var frwiki []kg.Doc
	var frLinks []kg.RawLink
	for i := 0; i < len(docs); i += 13 {
		d := docs[i]
		d.ID, d.Source = fmt.Sprintf("frwiki:%d", i), "frwiki"
		d.Text = "Voir " + docs[(i+1)%len(docs)].Title + "."
		frwiki = append(frwiki, d)
		frLinks = append(frLinks, kg.RawLink{Src: d.ID, Target: docs[(i+1)%len(docs)].Title, Anchor: "voir", Sentence: d.Text},
			kg.RawLink{Src: d.ID, Target: d.Title, Anchor: "soi", Sentence: d.Text})
	}
	var retarget []kg.Redirect
	for i, r := range reds {
		if i%3 == 0 {
			retarget = append(retarget, kg.Redirect{From: r.From, To: docs[(i*17)%len(docs)].Title})
		}
	}
	retarget = append(retarget, kg.Redirect{From: "Missing " + docs[5].Title, To: docs[6].Title})
	// Chains of one to five redirects onto a redirect (beyond three hops a
	// chain reaches nothing), a loop, and a redirect from a document's title
	// (the document shadows it).
	for i := 0; i+5 < len(reds); i += 40 {
		for k := 1; k <= 5; k++ {
			retarget = append(retarget, kg.Redirect{From: fmt.Sprintf("Chain %d %d", i, k), To: fmt.Sprintf("Chain %d %d", i, k-1)})
		}
		retarget = append(retarget, kg.Redirect{From: fmt.Sprintf("Chain %d 0", i), To: reds[i].From})
	}
	retarget = append(retarget, kg.Redirect{From: "Loop a", To: "Loop b"}, kg.Redirect{From: "Loop b", To: "Loop a"},
		kg.Redirect{From: docs[8].Title, To: docs[9].Title})
	for i := 0; i+5 < len(reds); i += 40 {
		for k := 0; k <= 5; k++ {
			frLinks = append(frLinks, kg.RawLink{Src: frwiki[0].ID, Target: fmt.Sprintf("Chain %d %d", i, k),
				Anchor: fmt.Sprintf("chain %d", k), Sentence: frwiki[0].Text})
		}
	}
	frLinks = append(frLinks, kg.RawLink{Src: frwiki[0].ID, Target: "Loop a", Anchor: "loop", Sentence: frwiki[0].Text},
		kg.RawLink{Src: frwiki[0].ID, Target: docs[8].Title, Anchor: "shadow", Sentence: frwiki[0].Text})
	// Round 4 changes little, so that Finish resolves only what it touches:
	// two retitles (one onto a title of the other wiki), a redirect, a
	// document moved to the other wiki, a rewritten text, new links of old
	// sources. Round 5 only adds links.
	small := []kg.Doc{docs[20], docs[41], docs[62], docs[83]}
	small[0].Title = "Renamed " + small[0].Title
	small[1].Title = frwiki[2].Title
	small[2].ID, small[2].Source = docs[62].ID, "frwiki"
	small[3].Text = docs[83].Text + " Appended."
	more := []kg.RawLink{
		{Src: docs[1].ID, Target: small[0].Title, Anchor: "renamed", Sentence: "A sentence of its own."},
		{Src: docs[2].ID, Target: frwiki[2].Title, Anchor: frwiki[2].Title, Sentence: "Another."},
		{Src: docs[62].ID, Target: frwiki[3].Title, Anchor: "moved", Sentence: "Moved."},
	}
	last := []kg.RawLink{
		{Src: docs[3].ID, Target: docs[4].Title, Anchor: "late", Sentence: "Late."},
		{Src: docs[3].ID, Target: "Missing " + docs[5].Title, Anchor: "late", Sentence: "Late."}, // the same link
		{Src: "nowhere:1", Target: docs[4].Title, Anchor: "x", Sentence: "Waits."},
	}
	return []round{
		{docs: docs[:half], links: first, redirects: reds[:len(reds)/2]},
		{docs: docs[half:], links: second, redirects: reds[len(reds)/2:], linksFirst: true},
		{docs: slices.Concat(changed, frwiki), links: frLinks, redirects: retarget, linksFirst: true},
		{docs: small, links: more, redirects: []kg.Redirect{{From: "Late redirect", To: small[0].Title}}},
		{links: last},
	}
}

// TestConformanceOneSourcePerChunk runs the contract's suite with Finish
// resolving one source per transaction, so that every fixture crosses
// chunk boundaries.
func TestConformanceOneSourcePerChunk(t *testing.T) {
	kgtest.TestStore(t, func(t *testing.T) kg.Store {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "kg.db"))
		if err != nil {
			t.Fatal(err)
		}
		s.finishChunk = 1
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
		return s
	})
}

// TestDstNewSpelling: the SQL spells dstNew out.
func TestDstNewSpelling(t *testing.T) {
	if got := fmt.Sprint(dstNew); got != "-2147483648" {
		t.Errorf("dstNew is %s, the SQL says -2147483648", got)
	}
}

// TestDuplicateLinks: raw links that resolve to one link make one,
// whether their targets are written as the anchor (stored as 0) or not,
// and whichever of them comes first in the key.
func TestDuplicateLinks(t *testing.T) {
	ctx := context.Background()
	const sentence = "Accra is the capital."
	raw := func(target, anchor string) kg.RawLink {
		return kg.RawLink{Src: "d:1", Target: target, Anchor: anchor, Sentence: sentence}
	}
	for _, tc := range []struct {
		name  string
		links []kg.RawLink
		want  []kg.Link
		// aliases: the two redirects, and the anchor when it is not the title.
		aliases int64
	}{
		{"target as anchor, and a redirect", []kg.RawLink{raw("Accra", "Accra"), raw("Capital", "Accra")},
			[]kg.Link{{Src: "d:1", Dst: "d:2", Anchor: "Accra", Sentence: sentence}}, 2},
		{"a redirect as anchor, and the title", []kg.RawLink{raw("Capital", "Capital"), raw("Accra", "Capital")},
			[]kg.Link{{Src: "d:1", Dst: "d:2", Anchor: "Capital", Sentence: sentence}}, 3},
		{"three targets, one self", []kg.RawLink{raw("Zz", "x"), raw("Capital", "x"), raw("Accra", "x"), raw("Ghana", "x")},
			[]kg.Link{{Src: "d:1", Dst: "d:2", Anchor: "x", Sentence: sentence}}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTemp(t)
			load(t, s, []kg.Doc{doc("d:1", "Ghana", sentence), doc("d:2", "Accra", "Accra text.")}, tc.links,
				[]kg.Redirect{{From: "Capital", To: "Accra"}, {From: "Zz", To: "Capital"}})
			var got []kg.Link
			must(t, s.EachLink(ctx, func(l kg.Link) error { got = append(got, l); return nil }))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("links %+v, want %+v", got, tc.want)
			}
			c, err := s.Counts(ctx)
			must(t, err)
			if want := (kg.Counts{Docs: 2, Links: 1, Aliases: tc.aliases, RawLinks: int64(len(tc.links))}); c != want {
				t.Errorf("Counts = %+v, want %+v", c, want)
			}
			checkCounters(t, s)
		})
	}
}

// TestResolutionAtScale holds Finish to the contract's rules computed
// here, independently of SQL, on the generated corpus of TestFinishPaths
// with its ties (one title in two wikis, titles taken over by retitled
// documents, redirect chains): every link, alias and count.
func TestResolutionAtScale(t *testing.T) {
	rounds := finishRounds(2000)
	s := openTemp(t)
	docs := map[string]kg.Doc{}
	raws := map[kg.RawLink]bool{}
	redirects := map[string]string{}
	for _, r := range rounds {
		r.write(t, s)
		must(t, s.Finish(context.Background()))
		for _, d := range r.docs {
			docs[d.ID] = d
		}
		for _, l := range r.links {
			raws[l] = true
		}
		for _, rd := range r.redirects {
			redirects[rd.From] = rd.To
		}
	}
	want := resolveByTheRules(docs, raws, redirects)
	got := dumpStore(t, s)
	if got.counts != want.counts {
		t.Errorf("Counts = %+v, the rules give %+v", got.counts, want.counts)
	}
	if !reflect.DeepEqual(got.links, want.links) {
		t.Errorf("links differ from the rules': %d, want %d", len(got.links), len(want.links))
		for i := range min(len(got.links), len(want.links)) {
			if got.links[i] != want.links[i] {
				t.Errorf("first difference at %d: %+v, want %+v", i, got.links[i], want.links[i])
				break
			}
		}
	}
	if !reflect.DeepEqual(got.aliases, want.aliases) {
		t.Errorf("aliases differ from the rules': %d, want %d", len(got.aliases), len(want.aliases))
	}
	var multi int
	for _, l := range got.links {
		if strings.HasPrefix(l.Src, "frwiki:") {
			multi++
		}
	}
	if multi == 0 {
		t.Error("no link of the second wiki: the ties by wiki are not exercised")
	}
}

// rulesResult is what kg.Writer.Finish says the records derive.
type rulesResult struct {
	counts  kg.Counts
	links   []kg.Link
	aliases []kg.Alias
}

// resolveByTheRules derives links, aliases and counts from the records
// held, rule by rule as kg.Writer.Finish states them.
func resolveByTheRules(docs map[string]kg.Doc, raws map[kg.RawLink]bool, redirects map[string]string) rulesResult {
	byTitle := map[string][]kg.Doc{}
	for _, d := range docs {
		byTitle[d.Title] = append(byTitle[d.Title], d)
	}
	for _, ds := range byTitle {
		slices.SortFunc(ds, func(a, b kg.Doc) int { return strings.Compare(a.ID, b.ID) })
	}
	// reach is the document title a target reaches: itself when it is one,
	// else through at most three redirects, stopping at the first title
	// that is a document's.
	reach := func(target string) (string, bool) {
		t := target
		for hop := 0; ; hop++ {
			if len(byTitle[t]) > 0 {
				return t, true
			}
			next, ok := redirects[t]
			if !ok || hop == 3 {
				return "", false
			}
			t = next
		}
	}
	// mean is the document a title means for a link from source: the
	// smallest id of the link's own wiki, else the smallest of all.
	mean := func(title, source string) kg.Doc {
		for _, d := range byTitle[title] {
			if d.Source == source {
				return d
			}
		}
		return byTitle[title][0]
	}
	var r rulesResult
	linkSet := map[kg.Link]bool{}
	anchorSet := map[kg.Alias]bool{}
	for l := range raws {
		final, ok := reach(l.Target)
		if !ok {
			r.counts.Unresolved++
			continue
		}
		src, ok := docs[l.Src]
		if !ok {
			continue
		}
		dst := mean(final, src.Source)
		if dst.ID == src.ID {
			continue
		}
		linkSet[kg.Link{Src: src.ID, Dst: dst.ID, Anchor: l.Anchor, Sentence: l.Sentence}] = true
		if l.Anchor != "" && l.Anchor != dst.Title {
			anchorSet[kg.Alias{DocID: dst.ID, Alias: l.Anchor, Kind: "anchor"}] = true
		}
	}
	for from := range redirects {
		if len(byTitle[from]) > 0 {
			continue
		}
		if final, ok := reach(from); ok {
			anchorSet[kg.Alias{DocID: byTitle[final][0].ID, Alias: from, Kind: "redirect"}] = true
		}
	}
	for l := range linkSet {
		r.links = append(r.links, l)
	}
	slices.SortFunc(r.links, func(a, b kg.Link) int {
		return cmp.Or(strings.Compare(a.Src, b.Src), strings.Compare(a.Dst, b.Dst),
			strings.Compare(a.Anchor, b.Anchor), strings.Compare(a.Sentence, b.Sentence))
	})
	for a := range anchorSet {
		r.aliases = append(r.aliases, a)
	}
	slices.SortFunc(r.aliases, func(a, b kg.Alias) int {
		return cmp.Or(strings.Compare(a.DocID, b.DocID), strings.Compare(a.Alias, b.Alias), strings.Compare(a.Kind, b.Kind))
	})
	r.counts = kg.Counts{Docs: int64(len(docs)), Links: int64(len(r.links)), Aliases: int64(len(r.aliases)),
		RawLinks: int64(len(raws)), Unresolved: r.counts.Unresolved}
	return r
}
