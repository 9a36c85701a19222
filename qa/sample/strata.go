package sample

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/miroverse/miroverse/kg"
)

// DocSource is what Walks needs from the store to stratify seeds by
// category and to classify answers. *embedded.Store and *neo4j.Store
// satisfy it.
type DocSource interface {
	Doc(ctx context.Context, id string) (kg.Doc, error)
}

// MetaSource is a DocSource that can also read a document without its
// Text, which is all that stratifying and AnswerType look at. Walks uses
// DocMeta when Docs has it: a store's Doc reads the text off disk, and a
// large sample looks up hundreds of thousands of documents.
type MetaSource interface {
	DocSource
	// DocMeta is Doc with an empty Text.
	DocMeta(ctx context.Context, id string) (kg.Doc, error)
}

// docMeta reads what Walks needs of a document, through DocMeta when docs
// has it.
func docMeta(ctx context.Context, docs DocSource, id string) (kg.Doc, error) {
	if m, ok := docs.(MetaSource); ok {
		return m.DocMeta(ctx, id)
	}
	return docs.Doc(ctx, id)
}

// Answer types: the kind of entity a walk's last document is, classified by
// AnswerType.
const (
	AnswerPerson       = "person"
	AnswerPlace        = "place"
	AnswerOrganisation = "organisation"
	AnswerDate         = "date" // a year, a dated event (battles, elections, "1867 in France")
	AnswerOther        = "other"
)

// AnswerTypes lists the answer types in the order AnswerType tries them.
func AnswerTypes() []string {
	return []string{AnswerPerson, AnswerPlace, AnswerOrganisation, AnswerDate, AnswerOther}
}

// Category and infobox words of each answer type; a whole word of a
// category (lower case, plural as written) or an infobox key decides.
var (
	personWords = []string{"births", "deaths", "people", "alumni", "players", "politicians", "actors", "actresses",
		"writers", "musicians", "singers", "painters", "scientists", "physicists", "chemists", "mathematicians",
		"philosophers", "poets", "novelists", "composers", "monarchs", "emperors", "kings", "queens", "saints"}
	placeWords = []string{"cities", "city", "towns", "villages", "countries", "capitals", "municipalities", "communes",
		"regions", "provinces", "counties", "districts", "islands", "rivers", "mountains", "lakes", "suburbs",
		"neighbourhoods", "neighborhoods", "settlements", "boroughs", "ports", "populated", "states", "territories"}
	orgWords = []string{"companies", "organizations", "organisations", "clubs", "universities", "colleges", "schools",
		"parties", "bands", "groups", "teams", "agencies", "brands", "manufacturers", "newspapers", "publishers"}
	dateWords = []string{"years", "events", "battles", "wars", "elections", "treaties", "disasters", "festivals"}

	personKeys = []string{"birth_date", "birth_place", "death_date", "death_place", "spouse"}
	placeKeys  = []string{"coordinates", "population_total", "population", "area_km2", "elevation_m", "elevation"}
	orgKeys    = []string{"founder", "founders", "headquarters", "industry", "num_employees", "key_people"}
)

// reDateTitle matches titles that are dates: "1867", "44 BC", "March 1867",
// "1867 in France", "2008 Summer Olympics".
var reDateTitle = regexp.MustCompile(`^(?:\d{1,4}(?: BC| AD)?|(?:January|February|March|April|May|June|July|August|September|October|November|December) \d{3,4}|\d{3,4} (?:in|Summer|Winter) .+)$`)

// AnswerType classifies d: person, then place, organisation, date, else
// other. Categories are looked at before infobox keys, and person first
// because a biography's infobox names places too. It is a coarse rule on
// purpose: it only steers the sample's mix.
func AnswerType(d kg.Doc) string {
	words := map[string]bool{}
	for _, c := range d.Categories {
		for _, w := range strings.FieldsFunc(strings.ToLower(c), func(r rune) bool { return r == ' ' || r == '_' || r == '-' || r == ',' }) {
			words[w] = true
		}
	}
	keys := map[string]bool{}
	for _, f := range d.Facts {
		keys[f.Key] = true
	}
	has := func(set map[string]bool, ws []string) bool {
		return slices.ContainsFunc(ws, func(w string) bool { return set[w] })
	}
	switch {
	case has(words, personWords) || has(keys, personKeys):
		return AnswerPerson
	case has(words, placeWords) || has(keys, placeKeys):
		return AnswerPlace
	case has(words, orgWords) || has(keys, orgKeys):
		return AnswerOrganisation
	case reDateTitle.MatchString(strings.TrimSpace(d.Title)) || has(words, dateWords):
		return AnswerDate
	}
	return AnswerOther
}

// stratum is a seed's (primary category, degree band).
type stratum struct {
	category string
	band     int
}

// stratifiedSeedOrder orders the seed candidates so that consecutive seeds
// come from different (category, degree band) strata. The first pool
// candidates in hash order are looked up; each gets its primary category,
// the one of its categories most common in the pool (ties by name) among
// those on at most a quarter of it, which groups documents into broad
// strata rather than one stratum per page or one for all.
// Strata take turns, in an order fixed by a hash of (seed, stratum), each
// yielding its members in hash order. Candidates beyond the pool follow in
// the degree-band order of seedOrder, so a small pool never starves Walks.
// It also returns each looked-up seed's primary category.
func stratifiedSeedOrder(ctx context.Context, g *kg.Graph, seed int64, docs DocSource, pool int) ([]int, map[int]string, int, error) {
	all := seedOrder(g, seed)
	// Keys are hashed once per candidate, not inside the comparison, which
	// would hash O(N log N) times.
	type keyed struct {
		node int
		key  uint64
	}
	ks := make([]keyed, len(all))
	for i, n := range all {
		ks[i] = keyed{n, seedKey(seed, g.ID(n))}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return cmp.Or(cmp.Compare(a.key, b.key), a.node-b.node) })
	byHash := make([]int, min(pool, len(ks)))
	for i := range byHash {
		byHash[i] = ks[i].node
	}
	cats := make(map[int][]string, len(byHash))
	freq := map[string]int{}
	for _, n := range byHash {
		d, err := docMeta(ctx, docs, g.ID(n))
		if err != nil {
			return nil, nil, 0, fmt.Errorf("stratify seeds: load %q: %w", g.ID(n), err)
		}
		cats[n] = d.Categories
		for _, c := range d.Categories {
			freq[c]++
		}
	}
	// A category on more than a quarter of the pool ("Living people") would
	// put most seeds in one stratum, so it counts only when a doc has
	// nothing narrower.
	broad := func(c string) bool { return freq[c]*4 > len(byHash) }
	better := func(c, p string) bool {
		if broad(c) != broad(p) {
			return !broad(c)
		}
		if broad(c) { // both broad: the narrower one
			return freq[c] < freq[p] || (freq[c] == freq[p] && c < p)
		}
		return freq[c] > freq[p] || (freq[c] == freq[p] && c < p)
	}
	primary := make(map[int]string, len(byHash))
	members := map[stratum][]int{}
	for _, n := range byHash {
		p := ""
		for _, c := range cats[n] {
			if p == "" || better(c, p) {
				p = c
			}
		}
		primary[n] = p
		s := stratum{p, band(g.Degree(n))}
		members[s] = append(members[s], n) // already in hash order
	}
	strata := make([]stratum, 0, len(members))
	for s := range members {
		strata = append(strata, s)
	}
	key := func(s stratum) uint64 { return seedKey(seed, fmt.Sprintf("stratum\x00%s\x00%d", s.category, s.band)) }
	slices.SortFunc(strata, func(a, b stratum) int {
		return cmp.Or(cmp.Compare(key(a), key(b)), cmp.Compare(a.category, b.category), a.band-b.band)
	})
	// Round k takes the k-th member of each stratum that has one; a
	// stratum leaves the turns once it is spent, so the rounds cost what
	// they yield even with thousands of strata of very unequal sizes.
	turns := make([][]int, len(strata))
	for i, s := range strata {
		turns[i] = members[s]
	}
	out := make([]int, 0, len(all))
	for k := 0; len(turns) > 0; k++ {
		live := turns[:0]
		for _, m := range turns {
			out = append(out, m[k])
			if k+1 < len(m) {
				live = append(live, m)
			}
		}
		turns = live
	}
	for _, n := range all {
		if _, ok := primary[n]; !ok {
			out = append(out, n)
		}
	}
	return out, primary, len(strata), nil
}

// quota shares n walks among labels by weight, by largest remainder (ties
// by label), so the shares add up to n exactly. A nil quota admits all.
type quota struct {
	target, have map[string]int
}

func newQuota[K cmp.Ordered](weights map[K]float64, n int, label func(K) string) *quota {
	if len(weights) == 0 {
		return nil
	}
	q := &quota{target: map[string]int{}, have: map[string]int{}}
	// Keys in order: float sums depend on the order of their terms, and map
	// order would let the last bit of total move a share between runs.
	keys := slices.Sorted(maps.Keys(weights))
	total := 0.0
	for _, k := range keys {
		total += weights[k]
	}
	type rem struct {
		label string
		frac  float64
	}
	var rems []rem
	left := n
	for _, k := range keys {
		exact := float64(n) * weights[k] / total
		q.target[label(k)] = int(math.Floor(exact))
		left -= q.target[label(k)]
		rems = append(rems, rem{label(k), exact - math.Floor(exact)})
	}
	slices.SortFunc(rems, func(a, b rem) int { return cmp.Or(cmp.Compare(b.frac, a.frac), cmp.Compare(a.label, b.label)) })
	for i := 0; left > 0 && len(rems) > 0; i, left = (i+1)%len(rems), left-1 {
		q.target[rems[i].label]++
	}
	return q
}

func (q *quota) room(label string) bool { return q == nil || q.have[label] < q.target[label] }

func (q *quota) add(label string) {
	if q != nil {
		q.have[label]++
	}
}

// hopLabel is a hop count as a quota label.
func hopLabel(h int) string { return fmt.Sprintf("%d", h) }

// drawHops draws a hop count from the weights of mix (keys sorted, so map
// order does not matter).
func drawHops(r interface{ Float64() float64 }, mix map[int]float64) int {
	keys := slices.Sorted(maps.Keys(mix))
	total := 0.0
	for _, k := range keys {
		total += mix[k]
	}
	x := r.Float64() * total
	for _, k := range keys {
		if x < mix[k] {
			return k
		}
		x -= mix[k]
	}
	return keys[len(keys)-1]
}

// CheckMix validates a hop mix and an answer-type mix as Options
// would, so that a config can be refused before any work starts.
func CheckMix(hops map[int]float64, answers map[string]float64) error {
	if len(hops) > 0 {
		if err := checkWeights(hops); err != nil {
			return fmt.Errorf("hop mix: %w", err)
		}
		for h := range hops {
			if h < 1 {
				return fmt.Errorf("hop mix: hop count %d, want >= 1", h)
			}
		}
	}
	if len(answers) > 0 {
		if err := checkWeights(answers); err != nil {
			return fmt.Errorf("answer mix: %w", err)
		}
		for t := range answers {
			if !slices.Contains(AnswerTypes(), t) {
				return fmt.Errorf("answer mix: unknown answer type %q, want one of %s", t, strings.Join(AnswerTypes(), ", "))
			}
		}
	}
	return nil
}
