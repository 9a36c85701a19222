package main

import (
	"fmt"
	"math/rand"
	"strings"

	"github.com/miroverse/miroverse/kg"
)

// genGraph makes a deterministic wiki-shaped graph of n articles for the
// load benchmarks, as the records ingest hands a store: about linksPer raw
// links per article with Zipf-distributed targets (a few pages are linked
// from everywhere, most from a handful), 5% redirects, a tenth of the links
// through a redirect and a few to titles no page has. The same seed gives
// the same records, so every loader of a run, and every run, gets one graph.
func genGraph(n, linksPer int, seed int64) graph {
	rng := rand.New(rand.NewSource(seed))
	titles := make([]string, n)
	for i := range titles {
		titles[i] = fmt.Sprintf("%s %s %d", capital(word(rng)), word(rng), i)
	}
	// Popularity is a random permutation, so popular pages are spread over
	// the id range as on a real wiki rather than being the first ids.
	rank := rng.Perm(n)
	zipf := rand.NewZipf(rng, 1.1, 4, uint64(n-1))
	var g graph
	nred := n / 20
	for i := range nred {
		g.redirects = append(g.redirects, kg.Redirect{From: fmt.Sprintf("Also %s", titles[rank[i%n]]), To: titles[rank[i%n]]})
	}
	for i := range n {
		id := fmt.Sprintf("genwiki:%d", i+1)
		var text strings.Builder
		var links []kg.RawLink
		for range linksPer {
			var target, anchor string
			switch r := rng.Intn(100); {
			case r < 10 && nred > 0:
				red := g.redirects[rng.Intn(nred)]
				target, anchor = red.From, red.From
			case r < 13:
				target = fmt.Sprintf("Missing %s %d", word(rng), rng.Intn(n))
				anchor = target
			default:
				target = titles[rank[int(zipf.Uint64())]]
				anchor = target
				if rng.Intn(4) == 0 {
					anchor = word(rng) + " " + word(rng)
				}
			}
			sentence := sentenceWith(rng, anchor)
			text.WriteString(sentence)
			text.WriteString(" ")
			links = append(links, kg.RawLink{Src: id, Target: target, Anchor: anchor, Sentence: sentence})
		}
		// Filler sentences without links bring the text to about 3 KB.
		for text.Len() < 3000 {
			text.WriteString(sentenceWith(rng, word(rng)))
			if rng.Intn(6) == 0 {
				text.WriteString("\n\n")
			} else {
				text.WriteString(" ")
			}
		}
		g.docs = append(g.docs, kg.Doc{
			ID: id, Title: titles[i], URL: "https://gen.example/wiki/" + kg.EscapeTitle(titles[i]),
			Source: "genwiki", Lang: "en", Text: strings.TrimSpace(text.String()),
			Categories: []string{"Category " + word(rng)}, Kind: kg.KindArticle,
		})
		g.links = append(g.links, links...)
	}
	return g
}

var vocabulary = strings.Fields(`river city music history science language people war art king
	island mountain church school film album family river station football novel bridge garden
	empire battle poet painter county village temple harbour railway theatre forest desert`)

func word(rng *rand.Rand) string { return vocabulary[rng.Intn(len(vocabulary))] }

func capital(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// sentenceWith is a sentence of about 100 characters holding s.
func sentenceWith(rng *rand.Rand, s string) string {
	var b strings.Builder
	b.WriteString("The")
	for range 3 + rng.Intn(5) {
		b.WriteString(" " + word(rng))
	}
	b.WriteString(" of " + s)
	for range 3 + rng.Intn(5) {
		b.WriteString(" " + word(rng))
	}
	b.WriteString(".")
	return b.String()
}
