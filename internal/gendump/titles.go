package gendump

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"strconv"
)

// Every title is a function of (seed, space, index), so a page's links can
// name any other page without a table of titles: memory stays flat in the
// number of articles. The title space is 26 bits; index i of space s is
// the point 4i+s, which a seeded bijection scatters over the space; the
// point's two 13-bit halves pick two name words. Distinct points give
// distinct word pairs, and every title shape below keeps both words, so no
// two titles collide, and no title of one space is one of another.
const (
	spaceArticle  = 0 // articles, disambiguation and list pages
	spaceRedirect = 1 // redirect pages
	spaceMissing  = 2 // pages that do not exist (red links)
	spaceOther    = 3 // topics: the places that name categories; disambiguation cores

	titleBits = 2 * nameBits
	titleMask = 1<<titleBits - 1
)

// MaxArticles is the most articles a dump can hold: the article quarter of
// the title space.
const MaxArticles = 1 << (titleBits - 2)

// scatter is a bijection of the 26-bit title space (xor-shifts and odd
// multipliers, each invertible modulo 2^26), keyed by the seed.
func scatter(x, key uint64) uint64 {
	x = (x ^ key) & titleMask
	for _, m := range [...]uint64{0x2545F491, 0x9E3779B1, 0x85EBCA77} {
		x ^= x >> 13
		x = (x * (m | 1)) & titleMask
		x ^= (key >> 7) & titleMask
	}
	return x ^ x>>11
}

// core returns the two name words of index i of a space.
func (g *gen) core(space int, i int64) (string, string) {
	p := scatter(uint64(i)<<2|uint64(space), g.titleKey)
	return g.v.names[p>>nameBits], g.v.names[p&(nameWords-1)]
}

// perm is a permutation of [0, n): x → (a·x + b) mod n with a coprime to n.
// It spreads ranks (popularity, topic slots) over article indices so that
// neither follows the page order.
type perm struct {
	n, a, b, inv uint64
}

func newPerm(n int64, rng *rand.Rand) perm {
	if n <= 1 {
		return perm{n: 1, a: 1, inv: 1}
	}
	p := perm{n: uint64(n)}
	a := uint64(float64(n)*0.6180339887) | 1
	for gcd(a, p.n) != 1 {
		a++
	}
	p.a = a % p.n
	if p.a == 0 {
		p.a = 1
	}
	p.b = rng.Uint64N(p.n)
	p.inv = modInverse(p.a, p.n)
	return p
}

func (p perm) forward(x int64) int64 { return int64(mulAddMod(p.a, uint64(x), p.b, p.n)) }

func (p perm) inverse(y int64) int64 {
	return int64(mulAddMod(p.inv, (uint64(y)+p.n-p.b)%p.n, 0, p.n))
}

func mulAddMod(a, x, b, n uint64) uint64 {
	hi, lo := bits.Mul64(a, x)
	lo, carry := bits.Add64(lo, b, 0)
	hi += carry
	_, r := bits.Div64(hi%n, lo, n)
	return r
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// modInverse is a⁻¹ mod n for a coprime to n (extended Euclid).
func modInverse(a, n uint64) uint64 {
	t, newT := int64(0), int64(1)
	r, newR := int64(n), int64(a)
	for newR != 0 {
		q := r / newR
		t, newT = newT, t-q*newT
		r, newR = newR, r-q*newR
	}
	if t < 0 {
		t += int64(n)
	}
	return uint64(t)
}

// zipfRank draws a rank in [0, n) with P(rank r) ∝ (r+1)^-s, from the
// continuous law's inverse CDF (no table, so no memory per n). s < 1 keeps
// the most popular article's share of all links near a per cent at a
// million articles, as on the English Wikipedia, where s = 1 would give it
// seven.
func zipfRank(rng *rand.Rand, n int, s float64) int {
	if n <= 1 {
		return 0
	}
	u := rng.Float64()
	var x float64
	if s == 1 {
		x = math.Pow(float64(n), u)
	} else {
		e := 1 - s
		x = math.Pow(u*(math.Pow(float64(n), e)-1)+1, 1/e)
	}
	r := int(x) - 1
	return min(max(r, 0), n-1)
}

// escapeTitle is a title as a link or URL path writes it: spaces as
// underscores (the form some editors type).
func underscored(t string) string {
	b := []byte(t)
	for i, c := range b {
		if c == ' ' {
			b[i] = '_'
		}
	}
	return string(b)
}

func itoa(n int) string { return strconv.Itoa(n) }
