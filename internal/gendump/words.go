package gendump

import (
	"math/rand/v2"
	"strings"
)

// Sizes of the two word lists. nameWords is a power of two because a
// title's core is a pair of name words drawn by a bijection of the 26-bit
// title space (see titles.go): 8192² titles, of which every fourth is an
// article, so up to 16.7M articles, well above the English Wikipedia's 6.9M.
const (
	nameBits    = 13
	nameWords   = 1 << nameBits
	commonWords = 6000
)

// vocab is the word lists of one seed: capitalised pseudo-words for names
// (titles, people, places) and lower-case ones for the nouns and
// adjectives of running text. They are made from syllables, so no text is
// copied and every seed gives a different language of its own; the English
// function words and verbs of the sentence frames stay English, so that
// sentence splitting, leads ("X is a …") and categories read as a real
// wiki's.
type vocab struct {
	names  []string // capitalised, distinct case-insensitively
	common []string // lower case, distinct from every name
}

var (
	onsets = []string{"b", "br", "c", "ch", "d", "dr", "f", "fl", "g", "gr", "h", "j", "k", "kr", "l", "m",
		"n", "p", "pr", "qu", "r", "s", "sh", "sk", "st", "t", "th", "tr", "v", "w", "z", "", ""}
	nuclei = []string{"a", "e", "i", "o", "u", "a", "e", "o", "ai", "ea", "ou", "ie", "y"}
	codas  = []string{"", "", "", "n", "r", "l", "s", "m", "nd", "rk", "st", "th", "x", "ng", "v", "lt"}
)

// reserved are words a pseudo-word must not be: the English words of the
// frames and title shapes, so that a generated word never reads as one.
var reserved = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an the of in on at by for to and or is was are were be been has had have
		it its his her their he she they who which that this from with as after before during river lake mount
		company university club party battle treaty election album film species list category template file
		born died may refer see also references external links history early life career geography climate
		economy culture notes sources name names new old north south east west city town station`) {
		m[w] = true
	}
	return m
}()

func newVocab(seed uint64) *vocab {
	rng := rand.New(rand.NewPCG(seed, 0x766f636162)) // "vocab"
	seen := map[string]bool{}
	word := func(minSyl, maxSyl int) string {
		for {
			var b strings.Builder
			n := minSyl + rng.IntN(maxSyl-minSyl+1)
			for i := range n {
				b.WriteString(onsets[rng.IntN(len(onsets))])
				b.WriteString(nuclei[rng.IntN(len(nuclei))])
				if i == n-1 || rng.IntN(6) == 0 {
					b.WriteString(codas[rng.IntN(len(codas))])
				}
			}
			w := b.String()
			if len(w) < 3 || len(w) > 10 || seen[w] || reserved[w] {
				continue
			}
			seen[w] = true
			return w
		}
	}
	v := &vocab{names: make([]string, nameWords), common: make([]string, commonWords)}
	for i := range v.names {
		w := word(2, 2)
		if rng.IntN(4) == 0 {
			w = word(2, 3)
		}
		v.names[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	for i := range v.common {
		v.common[i] = word(1, 2)
	}
	return v
}

// commonWord draws a word of running text, Zipf-like: a few words are
// everywhere, most are rare, as in real text (and as BM25 expects). The
// exponent is below 1 because these are the content words only; the
// English frames supply the function words that top a real text's list.
func (v *vocab) commonWord(rng *rand.Rand) string {
	return v.common[zipfRank(rng, len(v.common), 0.7)]
}

// name draws any name word uniformly.
func (v *vocab) name(rng *rand.Rand) string { return v.names[rng.IntN(len(v.names))] }
