package gendump

import (
	"math/rand/v2"
)

// Shape of the graph. The figures are the (a realistic link
// structure: Zipf link targets, ~25 links and ~3 KB of wikitext per
// article, 5% of pages redirects); the rest are judgement calls, named so
// that a reader can see and change them.
const (
	groupSlots    = 20  // pages per group: 19 articles and one redirect, so 5% of ns-0 pages redirect
	categoryEvery = 40  // groups between two Category pages (one per 760 articles)
	topicSize     = 120 // articles per topic: they share categories and link among themselves
	zipfS         = 0.8 // exponent of the popularity law of link targets (see zipfRank)

	dabPerMille  = 3 // disambiguation pages among the articles
	listPerMille = 2 // list pages among the articles

	// Link targets: the rest go to articles, by popularity or within
	// the topic.
	linkToRedirectPct = 10
	linkToMissingPct  = 5
	linkLocalPct      = 40 // of the links to articles
	linkedNamePct     = 65 // of the names in the sentence frames
)

// Page kinds of the plan.
type kind uint8

const (
	kindTemplate kind = iota
	kindCategory
	kindArticle
	kindDab
	kindList
	kindRedirect
)

// Article types: what the lead, the infobox and the categories say.
type atype uint8

const (
	typePerson atype = iota
	typePlace
	typeOrg
	typeEvent
	typeWork
	numTypes
)

// typeWeights share topics among the types (per cent).
var typeWeights = [numTypes]int{30, 30, 14, 12, 14}

// gen is what every page of one dump derives from: the seed, the counts
// and the permutations. It is read-only once made, so stream workers share
// it; each page draws from its own generator seeded by (seed, page), which
// is what makes a page's bytes independent of the worker that writes it.
type gen struct {
	seed     uint64
	titleKey uint64
	v        *vocab

	articles  int64
	redirects int64
	missing   int64 // red-link titles to draw from
	topics    int64

	pop   perm // popularity rank → article
	topic perm // article → topic slot (slot / topicSize is the topic)
}

func newGen(seed uint64, articles int64) *gen {
	rng := rand.New(rand.NewPCG(seed, 0x67656e)) // "gen"
	g := &gen{seed: seed, titleKey: rng.Uint64(), v: newVocab(seed), articles: articles}
	g.redirects = redirectCount(articles)
	g.missing = max(articles/8, 16)
	g.topics = max((articles+topicSize-1)/topicSize, 1)
	g.pop = newPerm(articles, rng)
	g.topic = newPerm(articles, rng)
	return g
}

// redirectCount is the number of redirects the plan lays out for n
// articles: one per full group of 19, and the last group's when its slot
// comes before the articles run out.
func redirectCount(n int64) int64 {
	full, rest := n/(groupSlots-1), n%(groupSlots-1)
	r := full
	if rest > 0 && int64(redirectSlot(full)) <= rest {
		r++
	}
	return r
}

// redirectSlot is where the redirect sits in group grp. It depends on the
// group alone, so that redirectCount needs no seed.
func redirectSlot(grp int64) int {
	return int(mix(uint64(grp), 0x72656469) % groupSlots)
}

// mix is splitmix64 of x and a salt: the hash behind every per-page choice.
func mix(x, salt uint64) uint64 {
	z := x + salt*0x9E3779B97F4A7C15 + 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func (g *gen) hash(i int64, salt uint64) uint64 { return mix(uint64(i)^g.seed*0x100000001B3, salt) }

// rngFor is the generator of one page's content.
func (g *gen) rngFor(k kind, i int64) *rand.Rand {
	return rand.New(rand.NewPCG(g.hash(i, uint64(k)+1), g.seed^uint64(k)<<56))
}

// articleKind tells an article from a disambiguation or list page.
func (g *gen) articleKind(i int64) kind {
	switch h := g.hash(i, 0x6b696e64) % 1000; {
	case h < dabPerMille:
		return kindDab
	case h < dabPerMille+listPerMille:
		return kindList
	}
	return kindArticle
}

// topicOf is the topic of article i.
func (g *gen) topicOf(i int64) int64 { return g.topic.forward(i) / topicSize }

// typeOfTopic is the type shared by the articles of topic t.
func (g *gen) typeOfTopic(t int64) atype {
	h := int(g.hash(t, 0x74797065) % 100)
	for ty, w := range typeWeights {
		if h < w {
			return atype(ty)
		}
		h -= w
	}
	return typeWork
}

func (g *gen) typeOf(i int64) atype { return g.typeOfTopic(g.topicOf(i)) }

// memberOf is an article of topic t, drawn by rng (slots past the last
// article fold back into the topic's first ones).
func (g *gen) memberOf(t int64, rng *rand.Rand) int64 {
	base := t * topicSize
	span := min(int64(topicSize), g.articles-base)
	return g.topic.inverse(base + rng.Int64N(max(span, 1)))
}

// articleOfType draws a popular-ish article of type ty: the topic of a
// Zipf-drawn article, stepped until its type fits.
func (g *gen) articleOfType(ty atype, rng *rand.Rand) int64 {
	for range 16 {
		a := g.popular(rng)
		t := g.topicOf(a)
		if g.typeOfTopic(t) == ty {
			return a
		}
		for k := int64(1); k < 12; k++ {
			if t2 := (t + k) % g.topics; g.typeOfTopic(t2) == ty {
				return g.memberOf(t2, rng)
			}
		}
	}
	return g.popular(rng)
}

// popular draws an article by the popularity law.
func (g *gen) popular(rng *rand.Rand) int64 {
	return g.pop.forward(int64(zipfRank(rng, int(g.articles), zipfS)))
}

// redirectDepth is how many redirect hops redirect j is from its article:
// most are one, some chains of two and three (the store resolves three).
func (g *gen) redirectDepth(j int64) int {
	switch h := g.hash(j, 0x64657074) % 100; {
	case h < 3 && j >= 2:
		return 3
	case h < 12 && j >= 1:
		return 2
	}
	return 1
}

// redirectTarget is what redirect j points at: an article for depth 1,
// else an earlier redirect one hop shorter (earlier, so chains never loop).
func (g *gen) redirectTarget(j int64) (target int64, toRedirect bool) {
	d := g.redirectDepth(j)
	rng := g.rngFor(kindRedirect, j)
	if d == 1 {
		var a int64
		if rng.IntN(2) == 0 {
			a = g.popular(rng)
		} else {
			a = rng.Int64N(g.articles)
		}
		// A redirect to a disambiguation or list page exists on real
		// wikis, but walks could not use it; step to an article.
		for g.articleKind(a) != kindArticle {
			a = (a + 1) % g.articles
		}
		return a, false
	}
	k := int64(mix(uint64(j), g.seed) % uint64(j))
	for k > 0 && g.redirectDepth(k) != d-1 {
		k--
	}
	if g.redirectDepth(k) != d-1 {
		// No shorter chain before j: point at k's article instead.
		a, _ := g.redirectTarget(0)
		return a, false
	}
	return k, true
}
