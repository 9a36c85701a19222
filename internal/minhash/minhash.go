// Package minhash finds near-duplicate texts: MinHash signatures of
// character shingles with an LSH index. The question gate and the web
// reader's page deduplication share it, so that "near duplicate" means one
// thing in the whole pipeline.
package minhash

import (
	"encoding/binary"
	"hash/fnv"
	"slices"
	"unicode/utf8"

	"github.com/miroverse/miroverse/internal/text"
)

// The MinHash layout. Shingles are character 5-grams of the normalized text
// (NFKC, lowercase, every non-letter/digit run as one space): unlike word
// 3-grams they survive a moved clause or a changed word with most shingles
// intact, and texts are short enough that their count stays small.
//
// 128 hash functions split into 64 LSH bands of 2 rows: two texts of
// Jaccard J share a band with probability 1-(1-J²)^64, above 0.99 for
// J ≥ 0.3, so every threshold a config would use is found; band collisions
// are then confirmed on the full signature. Lookups cost a few map probes
// instead of a scan, which keeps 10^5–10^6 texts cheap.
const (
	mhShingle  = 5
	mhHashes   = 128
	mhBandRows = 2
	mhBands    = mhHashes / mhBandRows
)

// Index is an index of kept texts. It is not safe for concurrent use:
// feed it in one deterministic order so that the same set of texts always
// keeps the same ones.
type Index struct {
	threshold float64
	ids       []string
	sigs      [][mhHashes]uint64
	bands     [mhBands]map[uint64][]int32
}

// New returns an empty index that reports Jaccard estimates at and above
// threshold as duplicates.
func New(threshold float64) *Index {
	d := &Index{threshold: threshold}
	for i := range d.bands {
		d.bands[i] = map[uint64][]int32{}
	}
	return d
}

// Threshold is the Jaccard estimate at which Check reports a duplicate.
func (d *Index) Threshold() float64 { return d.threshold }

// Len is the number of indexed texts.
func (d *Index) Len() int { return len(d.ids) }

// Check returns the id of the earliest-added text whose Jaccard
// estimate with text reaches the threshold, and that estimate.
func (d *Index) Check(text string) (dupOf string, jaccard float64, ok bool) {
	sig, empty := signature(text)
	if empty {
		return "", 0, false
	}
	return d.find(&sig)
}

// find returns the earliest-added text whose estimate with sig reaches
// the threshold.
func (d *Index) find(sig *Signature) (dupOf string, jaccard float64, ok bool) {
	return d.findFunc(sig, nil)
}

// CheckSignedFunc is CheckSigned restricted to the texts accept approves
// (given their id and estimate): a caller with a second test of its own
// gets the earliest text that passes both, not merely the earliest similar
// one.
func (d *Index) CheckSignedFunc(sig Signature, accept func(id string, jaccard float64) bool) (dupOf string, jaccard float64, ok bool) {
	return d.findFunc(&sig, accept)
}

func (d *Index) findFunc(sig *Signature, accept func(string, float64) bool) (dupOf string, jaccard float64, ok bool) {
	best := int32(-1)
	seen := map[int32]bool{}
	for b := range mhBands {
		for _, i := range d.bands[b][bandKey(sig, b)] {
			if seen[i] {
				continue
			}
			seen[i] = true
			j := estimate(sig, &d.sigs[i])
			if j >= d.threshold && (best < 0 || i < best) && (accept == nil || accept(d.ids[i], j)) {
				best, jaccard = i, j
			}
		}
	}
	if best < 0 {
		return "", 0, false
	}
	return d.ids[best], jaccard, true
}

// Add indexes text under id. Texts without a letter or digit are
// not indexed: they cannot be compared.
func (d *Index) Add(id, text string) {
	sig, empty := signature(text)
	if empty {
		return
	}
	d.add(id, &sig)
}

func (d *Index) add(id string, sig *Signature) {
	i := int32(len(d.ids))
	d.ids = append(d.ids, id)
	d.sigs = append(d.sigs, *sig)
	for b := range mhBands {
		k := bandKey(sig, b)
		d.bands[b][k] = append(d.bands[b][k], i)
	}
}

// Sign is text's signature for CheckAddSigned; empty is true for a text
// without a letter or digit, which cannot be compared. Computing it is
// the costly part, so callers may do it in parallel.
func Sign(text string) (sig Signature, empty bool) { return signature(text) }

// CheckSigned is Check for a text signed by Sign.
func (d *Index) CheckSigned(sig Signature) (dupOf string, jaccard float64, ok bool) {
	return d.find(&sig)
}

// AddSigned is Add for a text signed by Sign.
func (d *Index) AddSigned(id string, sig Signature) { d.add(id, &sig) }

// CheckAddSigned is CheckAdd for a text signed by Sign.
func (d *Index) CheckAddSigned(id string, sig Signature) (dupOf string, jaccard float64, ok bool) {
	if dupOf, jaccard, ok = d.find(&sig); ok {
		return dupOf, jaccard, true
	}
	d.add(id, &sig)
	return "", 0, false
}

// CheckAdd checks text and, when it is no duplicate, adds it.
func (d *Index) CheckAdd(id, text string) (dupOf string, jaccard float64, ok bool) {
	if dupOf, jaccard, ok = d.Check(text); ok {
		return dupOf, jaccard, true
	}
	d.Add(id, text)
	return "", 0, false
}

// Jaccard estimates the shingle Jaccard similarity of two texts.
func Jaccard(a, b string) float64 {
	sa, ea := signature(a)
	sb, eb := signature(b)
	if ea || eb {
		return 0
	}
	return estimate(&sa, &sb)
}

// Signature is a text's MinHash signature; Index keeps one per text.
type Signature = [mhHashes]uint64

// signature is the MinHash signature of s's shingles. The i-th hash of a
// shingle is splitmix64 of its FNV-64a hash xor a fixed per-i seed: the
// seeds are constants, so signatures are the same in every process.
func signature(s string) (sig [mhHashes]uint64, empty bool) {
	t := text.FoldText(s)
	if t == "" {
		return sig, true
	}
	for i := range sig {
		sig[i] = ^uint64(0)
	}
	r := []rune(t)
	n := len(r) - mhShingle + 1
	if n < 1 {
		n = 1 // a text shorter than one shingle is its own single shingle
	}
	// A shingle that recurs changes no minimum: each distinct one is
	// hashed 128 times once.
	bases := make([]uint64, 0, n)
	var buf [mhShingle * utf8.UTFMax]byte
	for p := range n {
		b := buf[:0]
		for _, c := range r[p:min(p+mhShingle, len(r))] {
			b = utf8.AppendRune(b, c)
		}
		bases = append(bases, fnv64a(b))
	}
	slices.Sort(bases)
	bases = slices.Compact(bases)
	var seeds [mhHashes]uint64
	for i := range seeds {
		seeds[i] = hashSeed(i)
	}
	for _, base := range bases {
		for i := range sig {
			if v := splitmix64(base ^ seeds[i]); v < sig[i] {
				sig[i] = v
			}
		}
	}
	return sig, false
}

// fnv64a is hash/fnv's FNV-64a of b, without its allocation.
func fnv64a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

func hashSeed(i int) uint64 { return splitmix64(0x6d69726f76657273 + uint64(i)) } // "miroverse"

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func bandKey(sig *[mhHashes]uint64, band int) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for _, v := range sig[band*mhBandRows : (band+1)*mhBandRows] {
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	return h.Sum64()
}

func estimate(a, b *[mhHashes]uint64) float64 {
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	return float64(same) / mhHashes
}
