package web

import (
	"cmp"
	"slices"

	"github.com/miroverse/miroverse/internal/minhash"
	"github.com/miroverse/miroverse/kg"
)

// Duplicate reasons, as counted.
const (
	DuplicateURL   = "duplicate:url"
	DuplicateExact = "duplicate:exact"
	DuplicateNear  = "duplicate:near"
)

// DefaultNearThreshold is the shingle Jaccard estimate at which two pages
// are near duplicates: the same article under two URLs with a changed
// date line or share bar, not two articles of one template.
const DefaultNearThreshold = 0.8

// Candidate is a kept page as deduplication sees it.
type Candidate struct {
	Seq  int // the page's place in reading order
	URL  string
	Hash string
	// Sig is minhash.Sign of the text; Empty when it has no words.
	Sig   minhash.Signature
	Empty bool
}

// Verdict says that the page at Seq duplicates the page at Of.
type Verdict struct {
	Seq    int
	Of     int
	Reason string
}

// Dedup decides duplicates among pages, the first by URL order kept: a
// later capture of the same URL (duplicate:url), the same text
// (duplicate:exact, by content hash) or a text whose MinHash estimate with
// a kept one reaches threshold (duplicate:near; the index is the one the
// question gate uses). The answer depends on the set of candidates only,
// not their order; ties of one URL keep the first read.
func Dedup(cands []Candidate, threshold float64) []Verdict {
	if threshold <= 0 {
		threshold = DefaultNearThreshold
	}
	order := slices.Clone(cands)
	slices.SortStableFunc(order, func(a, b Candidate) int {
		return cmp.Or(cmp.Compare(kg.URLKey(a.URL), kg.URLKey(b.URL)), cmp.Compare(a.Seq, b.Seq))
	})
	byURL := map[string]int{}
	byHash := map[string]int{}
	near := minhash.New(threshold)
	seqOf := map[string]int{}
	var out []Verdict
	for _, c := range order {
		key := kg.URLKey(c.URL)
		if of, ok := byURL[key]; ok {
			out = append(out, Verdict{c.Seq, of, DuplicateURL})
			continue
		}
		byURL[key] = c.Seq
		if of, ok := byHash[c.Hash]; ok {
			out = append(out, Verdict{c.Seq, of, DuplicateExact})
			continue
		}
		byHash[c.Hash] = c.Seq
		if c.Empty {
			continue
		}
		if dup, _, ok := near.CheckAddSigned(key, c.Sig); ok {
			out = append(out, Verdict{c.Seq, seqOf[dup], DuplicateNear})
			continue
		}
		seqOf[key] = c.Seq
	}
	slices.SortFunc(out, func(a, b Verdict) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}
