package gates

import "github.com/miroverse/miroverse/internal/minhash"

// DefaultDedupThreshold is the Jaccard estimate at and above which two
// questions count as near duplicates when the config leaves it at zero.
// Character 5-gram Jaccard of 0.6 still separates two questions about
// different entities of the same template, while catching rewordings
// that only move a clause or change punctuation.
const DefaultDedupThreshold = 0.6

// Dedup is an index of kept questions (see package minhash for the
// signature). It is not safe for concurrent use: feed it in one
// deterministic order (by item id) so the same set of candidates always
// keeps the same ones.
type Dedup struct{ *minhash.Index }

// NewDedup returns an empty index; threshold ≤ 0 means DefaultDedupThreshold.
func NewDedup(threshold float64) *Dedup {
	if threshold <= 0 {
		threshold = DefaultDedupThreshold
	}
	return &Dedup{minhash.New(threshold)}
}

// Jaccard estimates the shingle Jaccard similarity of two questions, for
// tests and for tuning the threshold.
func Jaccard(a, b string) float64 { return minhash.Jaccard(a, b) }
