package embedded

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/miroverse/miroverse/kg"
)

// synth is a generated corpus with the shape the scale goals are stated
// for: ~3 KB of text and ~25 links per article, link targets drawn from a
// Zipf law over the articles (so a few are linked from everywhere and most
// rarely), 5% redirect pages, and some targets that name no page. It is
// deterministic per seed and streams: nothing proportional to the corpus
// is held, so a benchmark's peak RSS is the store's.
type synth struct {
	n     int // articles
	seed  uint64
	words []string
	// batch is how many records one write carries, as graph.batch_size.
	batch int
}

func newSynth(n int, seed uint64) *synth {
	r := rand.New(rand.NewPCG(seed, 1))
	syll := []string{"ka", "ri", "to", "men", "sa", "lo", "vi", "du", "ne", "gra", "pol", "tan", "be", "si",
		"mo", "ra", "el", "un", "ko", "ther", "ia", "os", "an", "dre", "fi", "lu", "zo", "wen", "ha", "qu"}
	seen := map[string]bool{}
	var words []string
	for len(words) < 8000 {
		var b strings.Builder
		for range 1 + r.IntN(3) {
			b.WriteString(syll[r.IntN(len(syll))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	return &synth{n: n, seed: seed, words: words, batch: 5000}
}

func (s *synth) id(i int) string { return fmt.Sprintf("enwiki:%d", 10+i) }

// title of article i: two words, unique for i below len(words)², in an
// order unrelated to i, as titles are to page ids.
func (s *synth) title(i int) string {
	v := len(s.words)
	a := i % v
	b := (i/v + a*7919) % v
	return kg.UpperFirst(s.words[a]) + " " + s.words[b]
}

// perm scatters popularity over the ids: the most linked article is not
// the first one written.
func (s *synth) perm(i int) int { return int((uint64(i)*2654435761 + 12345) % uint64(s.n)) }

func (s *synth) redirectTitle(i int) string { return s.title(i) + " (" + s.words[i%97] + ")" }

// each calls put with the corpus in write batches, as the ingest stage
// writes a dump: pages in order, every 20th a redirect.
func (s *synth) each(put func(docs []kg.Doc, links []kg.RawLink, redirects []kg.Redirect) error) error {
	r := rand.New(rand.NewPCG(s.seed, 2))
	zipf := rand.NewZipf(r, 1.1, 1, uint64(s.n-1))
	wzipf := rand.NewZipf(r, 1.05, 2, uint64(len(s.words)-1))
	var docs []kg.Doc
	var links []kg.RawLink
	var reds []kg.Redirect
	flush := func() error {
		err := put(docs, links, reds)
		docs, links, reds = nil, nil, nil
		return err
	}
	target := func() string {
		t := s.perm(int(zipf.Uint64()))
		switch x := r.IntN(100); {
		case x < 6:
			return s.redirectTitle(t - t%20)
		case x < 10:
			return "Missing " + s.title(t)
		}
		return s.title(t)
	}
	for i := range s.n {
		if i%20 == 0 {
			reds = append(reds, kg.Redirect{From: s.redirectTitle(i), To: s.title(s.perm(int(zipf.Uint64())))})
		}
		var text strings.Builder
		var ls []kg.RawLink
		seen := map[[3]string]bool{}
		for text.Len() < 3000 {
			var sen strings.Builder
			type span struct{ target, anchor string }
			var spans []span
			nw := 8 + r.IntN(14)
			for w := range nw {
				if w > 0 {
					sen.WriteByte(' ')
				}
				if r.IntN(100) < 6 {
					t := target()
					a := t
					switch x := r.IntN(10); {
					case x < 2:
						a = strings.ToLower(t)
					case x < 4:
						a = s.words[wzipf.Uint64()] + " " + s.words[wzipf.Uint64()]
					}
					sen.WriteString(a)
					spans = append(spans, span{t, a})
					continue
				}
				word := s.words[wzipf.Uint64()]
				if w == 0 {
					word = kg.UpperFirst(word)
				}
				sen.WriteString(word)
			}
			sen.WriteByte('.')
			if text.Len() > 0 {
				text.WriteByte(' ')
			}
			text.WriteString(sen.String())
			for _, sp := range spans {
				k := [3]string{sp.target, sp.anchor, sen.String()}
				if !seen[k] {
					seen[k] = true
					ls = append(ls, kg.RawLink{Src: s.id(i), Target: sp.target, Anchor: sp.anchor, Sentence: sen.String()})
				}
			}
		}
		d := kg.Doc{ID: s.id(i), Title: s.title(i), URL: "https://en.wikipedia.org/wiki/" + kg.EscapeTitle(s.title(i)),
			Source: "enwiki", Lang: "en", Text: text.String(), Kind: kg.KindArticle,
			Categories: []string{kg.UpperFirst(s.words[i%500]) + " people", "Year " + fmt.Sprint(1900+i%120)}}
		if i%3 == 0 {
			d.Facts = []kg.Fact{{Key: "born", Value: fmt.Sprint(1900 + i%120)}, {Key: "place", Value: s.title(s.perm(i))}}
		}
		docs = append(docs, d)
		links = append(links, ls...)
		if len(docs) >= s.batch || len(links) >= s.batch || len(reds) >= s.batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
