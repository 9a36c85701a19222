package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miroverse/miroverse/kg"
)

// The search benchmark runs on a generated corpus: words of a generated
// vocabulary drawn from a Zipf distribution, ~3 KB of text per document,
// titles of one to four words that the texts of other documents mention
// (as links would), and a fixed set of queries: titles, and titles with one
// or two more words. Everything is a function of the size, so runs compare.
//
//	go test ./kg/embedded -run '^$' -bench BenchmarkSearch -benchtime 400x
//
// runs the default size (20k documents). MIROVERSE_SEARCH_BENCH_SIZES
// (e.g. "20000,100000,300000") picks others and MIROVERSE_SEARCH_BENCH_DIR
// keeps the generated stores between runs (a 300k store takes minutes to
// build and ~2 GB of disk); MIROVERSE_SEARCH_BENCH_FTS5=off leaves out the
// FTS5 reference.

// synthVocab is the number of distinct words of the generated language.
func synthVocab(n int) int { return 50_000 + n/2 }

// synthWord is the i-th word of the vocabulary, most frequent first: its
// digits in base 20 spelled with syllables, so every word is distinct.
func synthWord(i int) string {
	const syl = "ba be bi bo bu da de di do du ka ke ki ko ku la le li lo lu"
	parts := strings.Fields(syl)
	var b strings.Builder
	for {
		b.WriteString(parts[i%len(parts)])
		i /= len(parts)
		if i == 0 {
			break
		}
		i--
	}
	return b.String()
}

// synthCorpus makes n documents. Title words come from the vocabulary
// without its 200 most common words, with a common joining word ("of the")
// in one title in five, as "History of France" has; texts name their title
// first, then mention the titles of other documents, popular ones more.
type synthCorpus struct {
	docs    []kg.Doc
	queries []string
	// want[i] is the document queries[i] was made from.
	want []string
}

func makeSynthCorpus(n, nq int) synthCorpus {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	vocab := synthVocab(n)
	words := make([]string, vocab)
	for i := range words {
		words[i] = synthWord(i)
	}
	textZipf := rand.NewZipf(r, 1.07, 2, uint64(vocab-1))
	titleZipf := rand.NewZipf(r, 1.01, 50, uint64(vocab-201))
	docZipf := rand.NewZipf(r, 1.1, 10, uint64(n-1))
	titles := make([]string, n)
	for i := range titles {
		k := 1 + r.IntN(4)
		var t []string
		for j := range k {
			if j > 0 && r.IntN(5) == 0 {
				t = append(t, words[r.IntN(5)])
			}
			t = append(t, words[200+int(titleZipf.Uint64())])
		}
		t[0] = kg.UpperFirst(t[0])
		titles[i] = strings.Join(t, " ")
	}
	c := synthCorpus{docs: make([]kg.Doc, n)}
	var b strings.Builder
	for i := range c.docs {
		b.Reset()
		b.WriteString(titles[i])
		b.WriteString(" is")
		for sentence := 0; b.Len() < 3000; sentence++ {
			for w := range 8 + r.IntN(16) {
				b.WriteByte(' ')
				if w == 3 && r.IntN(2) == 0 {
					b.WriteString(titles[docZipf.Uint64()])
					continue
				}
				b.WriteString(words[textZipf.Uint64()])
			}
			b.WriteString(".")
		}
		id := fmt.Sprintf("syn:%07d", i)
		c.docs[i] = kg.Doc{ID: id, Title: titles[i], URL: "https://syn.example/wiki/" + kg.EscapeTitle(titles[i]),
			Source: "synwiki", Lang: "en", Text: b.String(), Kind: kg.KindArticle}
	}
	for q := range nq {
		d := c.docs[r.IntN(n)]
		query := d.Title
		switch q % 4 {
		case 1: // a title and a common word
			query += " " + words[textZipf.Uint64()]
		case 2: // a title and two words, one of the vocabulary's head
			query += " " + words[r.IntN(20)] + " " + words[textZipf.Uint64()]
		case 3: // lower case, as typed
			query = strings.ToLower(query)
		}
		c.queries = append(c.queries, query)
		c.want = append(c.want, d.ID)
	}
	return c
}

// benchSizes are the corpus sizes of the search benchmark.
func benchSizes(tb testing.TB) []int {
	env := os.Getenv("MIROVERSE_SEARCH_BENCH_SIZES")
	if env == "" {
		return []int{20_000}
	}
	var out []int
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 100 {
			tb.Fatalf("MIROVERSE_SEARCH_BENCH_SIZES: %q is no size of at least 100", f)
		}
		out = append(out, n)
	}
	return out
}

// benchFTS5 reports whether the benchmark also runs the FTS5 reference,
// which MIROVERSE_SEARCH_BENCH_FTS5=off leaves out (at 1M documents it
// costs seconds a call and minutes to index).
func benchFTS5() bool { return os.Getenv("MIROVERSE_SEARCH_BENCH_FTS5") != "off" }

// synthStore opens a store holding the generated corpus of n documents,
// finished, building it when MIROVERSE_SEARCH_BENCH_DIR has none.
func synthStore(tb testing.TB, n int, corpus func() synthCorpus) *Store {
	tb.Helper()
	ctx := context.Background()
	dir := os.Getenv("MIROVERSE_SEARCH_BENCH_DIR")
	keep := dir != ""
	if !keep {
		dir = tb.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("synth-%d.db", n))
	done := path + ".done"
	if _, err := os.Stat(done); err != nil || !keep {
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			os.Remove(p)
		}
		s, err := Open(ctx, path)
		if err != nil {
			tb.Fatal(err)
		}
		c := corpus()
		start := time.Now()
		for lo := 0; lo < len(c.docs); lo += 5000 {
			if err := s.PutDocs(ctx, c.docs[lo:min(lo+5000, len(c.docs))]); err != nil {
				tb.Fatal(err)
			}
		}
		put := time.Since(start)
		if err := s.Finish(ctx); err != nil {
			tb.Fatal(err)
		}
		tb.Logf("built %d docs: put %v, finish %v", n, put.Round(time.Millisecond), (time.Since(start) - put).Round(time.Millisecond))
		if err := s.Close(); err != nil {
			tb.Fatal(err)
		}
		if keep {
			if err := os.WriteFile(done, nil, 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
	s, err := Open(ctx, path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	// A store kept from before the search index existed gets one.
	if idx, err := s.loadSearchIndex(ctx, s.lookup); err != nil {
		tb.Fatal(err)
	} else if idx == nil {
		start := time.Now()
		if err := s.write(ctx, "index", func(tx *sql.Tx) error { return s.buildSearchIndex(ctx, tx) }); err != nil {
			tb.Fatal(err)
		}
		tb.Logf("indexed %d docs in %v", n, time.Since(start).Round(time.Millisecond))
	}
	// The reference: FTS5 as the store searched before its index.
	if !benchFTS5() {
		return s
	}
	var fts int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM sqlite_schema WHERE name = 'fts'`).Scan(&fts); err != nil {
		tb.Fatal(err)
	}
	if fts == 0 {
		start := time.Now()
		addFTS(tb, s)
		tb.Logf("FTS5 index of %d docs in %v", n, time.Since(start).Round(time.Millisecond))
	}
	return s
}

// BenchmarkSearch times one Search call per iteration over the generated
// queries, side by side: "fts5" is FTS5's exhaustive bm25() ranking, the
// store's search before the index of its own. Besides ns/op it reports
// the p50 and p99 latency of a call and, over the calls made, how often the
// document a query was made from is in the top 10 ("title@10", a share)
// and how much of the top 10 equals fts5's ("same@10").
func BenchmarkSearch(b *testing.B) {
	for _, n := range benchSizes(b) {
		c := makeSynthCorpus(n, 2000)
		s := synthStore(b, n, func() synthCorpus { return c })
		ctx := context.Background()
		impls := []struct {
			name   string
			search func(ctx context.Context, q string, limit int) ([]kg.SearchHit, error)
		}{
			{"fts5", s.searchFTS},
			{"index", s.Search},
		}
		if !benchFTS5() {
			impls = impls[1:]
		}
		ref := map[int][]string{} // fts5's top 10 of query i
		for _, impl := range impls {
			b.Run(fmt.Sprintf("N=%d/%s", n, impl.name), func(b *testing.B) {
				lat := make([]time.Duration, 0, b.N)
				found, same, compared := 0, 0, 0
				for i := 0; b.Loop(); i++ {
					q := i % len(c.queries)
					start := time.Now()
					hits, err := impl.search(ctx, c.queries[q], 10)
					lat = append(lat, time.Since(start))
					if err != nil {
						b.Fatal(err)
					}
					ids := make([]string, len(hits))
					for j, h := range hits {
						ids[j] = h.DocID
					}
					if slices.Contains(ids, c.want[q]) {
						found++
					}
					if impl.name == "fts5" {
						ref[q] = ids
					} else if want, ok := ref[q]; ok {
						compared++
						if slices.Equal(ids, want) {
							same++
						}
					}
				}
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(found)/float64(len(lat)), "title@10")
				if compared > 0 {
					b.ReportMetric(float64(same)/float64(compared), "same@10")
				}
			})
		}
	}
}

// BenchmarkSearchIndexBuild rebuilds the search index of the generated
// store once per iteration, as Finish does, and reports documents a second.
func BenchmarkSearchIndexBuild(b *testing.B) {
	for _, n := range benchSizes(b) {
		s := synthStore(b, n, func() synthCorpus { return makeSynthCorpus(n, 0) })
		ctx := context.Background()
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for b.Loop() {
				if err := s.write(ctx, "index", func(tx *sql.Tx) error { return s.buildSearchIndex(ctx, tx) }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}
