// Package sample draws the random walks that questions are written from.
// Which walks a run gets decides what its questions are about, so the draw
// is a pure function of the graph, the options and the run seed (never of
// worker count or the order a backend returned the graph in), and seeds
// are taken in turns across categories and degree bands so that neither a
// graph's many leaves, its few hubs nor one broad category fill the sample.
package sample

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/qa"
)

// Options controls Walks. Zero values take the documented defaults.
type Options struct {
	Seed  int64
	Walks int // how many walks to produce at most
	// MinHops and MaxHops bound each walk's hop count (defaults 2 and 4).
	MinHops, MaxHops int
	// HubCap forbids stepping into nodes whose out-degree exceeds it, so
	// walks do not funnel through "United States"-like hubs; 0 means no cap.
	// Seeds themselves are not capped.
	HubCap int
	// Attempts is how many walks are tried from one seed doc before it is
	// given up (default 8).
	Attempts int
	// Docs, when set, stratifies seeds by primary category as well as
	// degree band (stratifiedSeedOrder) and classifies each walk's answer
	// (AnswerType). Nil keeps the degree-band order alone.
	Docs DocSource
	// SeedPool is how many seed candidates, in hash order, are looked up in
	// Docs for their categories (default max(20*Walks, 2000)); it bounds the
	// lookups on a large graph.
	SeedPool int
	// HopMix maps a hop count to its weight, e.g. {2: 0.5, 3: 0.3, 4: 0.2}.
	// When set it replaces the uniform draw in [MinHops, MaxHops]: each
	// attempt draws its length from the weights, and the walks are shared
	// among hop counts by the weights (largest remainder) as far as the
	// graph allows.
	HopMix map[int]float64
	// AnswerMix maps answer types (AnswerTypes) to weights and shares the
	// walks among them the same way; it needs Docs.
	AnswerMix map[string]float64
	// MaxNodeShare caps how many walks one document may be on, as seed,
	// bridge or answer: at most ceil(MaxNodeShare × Walks). On a small,
	// hub-dominated wiki most walks otherwise funnel through one or two
	// pages (fatwiki: 141 of 200 through one party), which HubCap cannot
	// stop because those hubs have a low out-degree. A walk never steps
	// into a document at its cap and a seed at its cap is passed over, so
	// the sampler tries other paths rather than dropping the seed; 0 means
	// no cap. With a cap, a seed's walk depends on the walks accepted
	// before it (still one sequential pass, so still deterministic), and
	// the walks of a smaller Walks are no prefix of a larger one's, the
	// cap growing with Walks.
	MaxNodeShare float64
	// MaxAnswerShare caps how many walks may end on one document, at most
	// ceil(MaxAnswerShare × Walks), and makes the last step prefer
	// answers from (category, degree band) strata no accepted walk ends in
	// yet, then documents no walk ends on yet; 0 means neither.
	MaxAnswerShare float64
	// Links gives each hop of an accepted walk its evidence; the graph
	// holds only whether an edge has usable evidence (kg.Graph.Evident).
	// Required.
	Links LinkSource
}

// LinkSource tells the evidence of a graph's edge, as kg.Reader.Link does.
type LinkSource interface {
	// Link returns the evidence of the edge src→dst.
	Link(ctx context.Context, src, dst string) (kg.Link, error)
}

// Skip reasons counted in Stats.Skipped.
const (
	SkipStuck     = "stuck"     // every attempt ended before MinHops
	SkipDuplicate = "duplicate" // the walk's path was already produced
	// SkipQuota: every walk found from the seed had a hop count or answer
	// type whose share was full, and the remaining slots were filled
	// without it.
	SkipQuota = "quota_full"
	// SkipNodeShare: the seed was already on its share of walks
	// (Options.MaxNodeShare), or every attempt from it ended short
	// because the only ways on led into documents at their share.
	SkipNodeShare = "node_share"
	// SkipAnswerShare: the seed's attempts failed on documents already
	// ending their share of walks (Options.MaxAnswerShare).
	SkipAnswerShare = "answer_share"
)

// Degree bands used to stratify seed docs by out-degree.
const (
	BandLow  = "1-2"
	BandMid  = "3-5"
	BandHigh = "6-10"
	BandHub  = ">10"
)

const numBands = 4

// bandName is the label of band index b (see band).
func bandName(b int) string {
	switch b {
	case 0:
		return BandLow
	case 1:
		return BandMid
	case 2:
		return BandHigh
	}
	return BandHub
}

// Stats describes one Walks call for the manifest.
type Stats struct {
	SeedCandidates int            // walkable nodes with out-degree >= 1
	SeedsTried     int            // seed docs a walk was attempted from
	Attempts       int            // walk attempts over all seeds
	Walks          int            // walks returned
	Skipped        map[string]int // seeds given up, by reason (SkipStuck, SkipDuplicate, …)
	// Refused counts walk attempts turned down by the share caps, by
	// reason: the attempt ended short of MinHops after a cap took
	// candidates from one of its steps, or it ended on an answer at its
	// share. Steps merely steered away from capped documents, in walks
	// that went on, are not counted.
	Refused      map[string]int
	HopHistogram map[int]int    // walks by hop count
	WalksByBand  map[string]int // walks by the seed's degree band
	// Filled only with Options.Docs:
	Strata            int            // (category, band) strata among the looked-up seeds
	WalksByCategory   map[string]int // walks by the seed's primary category ("" when it has none or was not looked up)
	WalksByAnswerType map[string]int // walks by AnswerType of the last doc
}

// Walks draws walks from g. The result depends only on g and opt: seed docs
// are visited in an order fixed by a hash of (opt.Seed, doc id), and each
// seed's walk uses a PRNG seeded from the same pair, so neither map order,
// worker count nor the order in which a backend returned the graph matters.
// Walks stops early with ctx's error when ctx is done.
func Walks(ctx context.Context, g *kg.Graph, opt Options) ([]qa.Walk, Stats, error) {
	stats := Stats{
		Skipped:      map[string]int{},
		Refused:      map[string]int{},
		HopHistogram: map[int]int{},
		WalksByBand:  map[string]int{},
	}
	if g == nil {
		return nil, stats, errors.New("sample walks: nil graph")
	}
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, stats, fmt.Errorf("sample walks: %w", err)
	}
	var (
		seeds   []int
		primary map[int]string
	)
	if opt.Docs != nil {
		stats.WalksByCategory, stats.WalksByAnswerType = map[string]int{}, map[string]int{}
		seeds, primary, stats.Strata, err = stratifiedSeedOrder(ctx, g, opt.Seed, opt.Docs, opt.SeedPool)
		if err != nil {
			return nil, stats, fmt.Errorf("sample walks: %w", err)
		}
	} else {
		seeds = seedOrder(g, opt.Seed)
	}
	stats.SeedCandidates = len(seeds)

	var (
		walks = make([]qa.Walk, 0, min(opt.Walks, len(seeds)))
		// Paths start at their seed, so distinct seeds cannot collide today;
		// the set keeps ID uniqueness an invariant of Walks rather than an
		// accident of how seeds are chosen.
		seen  = map[string]bool{}
		caps  = newShares(opt)
		s     = stepper{g: g, hubCap: opt.HubCap, caps: caps}
		hopQ  = newQuota(opt.HopMix, opt.Walks, hopLabel)
		typeQ = newQuota(opt.AnswerMix, opt.Walks, func(t string) string { return t })
		types = map[int]string{}
		// spare holds, per seed in order, a walk refused only because its
		// share was full; they fill what the shares leave empty.
		spare [][]int
	)
	stratumOf := func(n int) stratum { return answerStratum(g, primary, n) }
	answerType := func(n int) (string, error) {
		if opt.Docs == nil {
			return "", nil
		}
		if t, ok := types[n]; ok {
			return t, nil
		}
		d, err := docMeta(ctx, opt.Docs, g.ID(n))
		if err != nil {
			return "", fmt.Errorf("sample walks: classify %q: %w", g.ID(n), err)
		}
		types[n] = AnswerType(d)
		return types[n], nil
	}
	accept := func(path []int) (bool, error) {
		w, err := s.toWalk(ctx, opt.Links, path)
		if err != nil {
			return false, err
		}
		if seen[w.ID] {
			stats.Skipped[SkipDuplicate]++
			return false, nil
		}
		t, err := answerType(path[len(path)-1])
		if err != nil {
			return false, err
		}
		seen[w.ID] = true
		walks = append(walks, w)
		caps.add(path, answerStratum(g, primary, path[len(path)-1]))
		hopQ.add(hopLabel(len(w.Hops)))
		typeQ.add(t)
		stats.HopHistogram[len(w.Hops)]++
		stats.WalksByBand[bandName(band(g.Degree(path[0])))]++
		if opt.Docs != nil {
			stats.WalksByCategory[primary[path[0]]]++
			stats.WalksByAnswerType[t]++
		}
		return true, nil
	}
	for _, seed := range seeds {
		if len(walks) >= opt.Walks {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, stats, fmt.Errorf("sample walks: %w", err)
		}
		if caps.full(seed) {
			stats.Skipped[SkipNodeShare]++
			continue
		}
		stats.SeedsTried++
		rng := rand.New(walkSource(opt.Seed, g.ID(seed)))
		var path, refused []int
		capReason := "" // why the last attempt the caps cut short failed
		for range opt.Attempts {
			stats.Attempts++
			h := opt.MinHops + rng.IntN(opt.MaxHops-opt.MinHops+1)
			if len(opt.HopMix) > 0 {
				h = drawHops(rng, opt.HopMix)
			}
			p := s.walk(rng, seed, h, stratumOf)
			if len(p)-1 < opt.MinHops {
				if s.blocked != "" {
					stats.Refused[s.blocked]++
					capReason = s.blocked
				}
				continue
			}
			// A walk that got stuck before its last step may end on a
			// capped answer: the last step's filter never saw it.
			if reason := caps.over(p); reason != "" {
				stats.Refused[reason]++
				capReason = reason
				continue
			}
			fits := hopQ.room(hopLabel(len(p) - 1))
			if fits && typeQ != nil {
				t, err := answerType(p[len(p)-1])
				if err != nil {
					return nil, stats, err
				}
				fits = typeQ.room(t)
			}
			if fits {
				path = p
				break
			}
			if refused == nil {
				refused = p
			}
		}
		switch {
		case path != nil:
			if _, err := accept(path); err != nil {
				return nil, stats, err
			}
		case refused != nil:
			spare = append(spare, refused)
		case capReason != "":
			stats.Skipped[capReason]++
		default:
			stats.Skipped[SkipStuck]++
		}
	}
	for i, p := range spare {
		if len(walks) >= opt.Walks {
			stats.Skipped[SkipQuota] += len(spare) - i
			break
		}
		// The walks accepted since p was set aside may have filled the
		// share of one of its documents.
		if reason := caps.over(p); reason != "" {
			stats.Refused[reason]++
			stats.Skipped[reason]++
			continue
		}
		if _, err := accept(p); err != nil {
			return nil, stats, err
		}
	}
	stats.Walks = len(walks)
	return walks, stats, nil
}

// DefaultSeedPool is Options.SeedPool when it is zero.
func DefaultSeedPool(walks int) int { return max(20*walks, 2000) }

func (o Options) withDefaults() (Options, error) {
	if o.MinHops == 0 {
		o.MinHops = 2
	}
	if o.MaxHops == 0 {
		o.MaxHops = max(4, o.MinHops)
	}
	if o.Attempts == 0 {
		o.Attempts = 8
	}
	if o.SeedPool == 0 {
		o.SeedPool = DefaultSeedPool(o.Walks)
	}
	if err := CheckMix(o.HopMix, o.AnswerMix); err != nil {
		return o, err
	}
	if len(o.HopMix) > 0 {
		keys := slices.Sorted(maps.Keys(o.HopMix))
		o.MinHops, o.MaxHops = keys[0], keys[len(keys)-1]
	}
	if o.Links == nil {
		return o, errors.New("no link source for the walks' evidence")
	}
	if len(o.AnswerMix) > 0 && o.Docs == nil {
		return o, errors.New("answer mix needs a document source")
	}
	switch {
	case o.Walks < 0:
		return o, fmt.Errorf("walks = %d, want >= 0", o.Walks)
	case o.MinHops < 1:
		return o, fmt.Errorf("min hops = %d, want >= 1", o.MinHops)
	case o.MaxHops < o.MinHops:
		return o, fmt.Errorf("max hops = %d is below min hops = %d", o.MaxHops, o.MinHops)
	case o.HubCap < 0:
		return o, fmt.Errorf("hub cap = %d, want >= 0", o.HubCap)
	case o.Attempts < 1:
		return o, fmt.Errorf("attempts = %d, want >= 1", o.Attempts)
	case o.SeedPool < 0:
		return o, fmt.Errorf("seed pool = %d, want >= 0", o.SeedPool)
	case !(o.MaxNodeShare >= 0 && o.MaxNodeShare <= 1):
		return o, fmt.Errorf("max node share = %v, want a fraction between 0 and 1", o.MaxNodeShare)
	case !(o.MaxAnswerShare >= 0 && o.MaxAnswerShare <= 1):
		return o, fmt.Errorf("max answer share = %v, want a fraction between 0 and 1", o.MaxAnswerShare)
	}
	return o, nil
}

// checkWeights accepts weights that are finite, not negative and not all
// zero.
func checkWeights[K comparable](m map[K]float64) error {
	total := 0.0
	for k, w := range m {
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("weight of %v is %v, want a finite number >= 0", k, w)
		}
		total += w
	}
	if total <= 0 {
		return errors.New("weights add up to 0")
	}
	return nil
}

// band maps an out-degree >= 1 to its band index.
func band(degree int) int {
	switch {
	case degree <= 2:
		return 0
	case degree <= 5:
		return 1
	case degree <= 10:
		return 2
	}
	return 3
}

// seedOrder returns the seed candidates (walkable, out-degree >= 1) in the
// order they are tried: each degree band sorted by hash, then the bands
// interleaved round-robin. Without the interleave a graph's many low-degree
// leaves or its few hubs would dominate the first walks, depending only on
// which is more numerous.
func seedOrder(g *kg.Graph, seed int64) []int {
	type cand struct {
		node int
		key  uint64
	}
	var bands [numBands][]cand
	for i := range g.NodeCount() {
		if !g.Walkable(i) || g.Degree(i) < 1 {
			continue
		}
		b := band(g.Degree(i))
		bands[b] = append(bands[b], cand{i, seedKey(seed, g.ID(i))})
	}
	total := 0
	for b := range bands {
		// Ties on the 64-bit key are vanishingly rare, but breaking them by
		// node index (ids are sorted) keeps the order total and stable.
		slices.SortFunc(bands[b], func(x, y cand) int {
			if x.key != y.key {
				if x.key < y.key {
					return -1
				}
				return 1
			}
			return x.node - y.node
		})
		total += len(bands[b])
	}
	out := make([]int, 0, total)
	for k := 0; len(out) < total; k++ {
		for b := range bands {
			if k < len(bands[b]) {
				out = append(out, bands[b][k].node)
			}
		}
	}
	return out
}

// seedKey orders seed candidates: FNV-64a of the run seed (big-endian)
// and the doc id. It is written out rather than through hash/fnv because
// it runs for every node of the graph and hash/fnv allocates a hasher and
// the id's bytes per call; the values are hash/fnv's (TestSeedKeyIsFNV).
func seedKey(seed int64, id string) uint64 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for k := 56; k >= 0; k -= 8 {
		h ^= uint64(seed) >> k & 0xff
		h *= prime64
	}
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= prime64
	}
	return h
}

// walkSource is the PRNG of the walks from one seed doc. It is derived from
// (run seed, doc id) alone so that a seed doc's walk does not change when
// other seeds are added, removed or tried in another order.
func walkSource(seed int64, id string) *rand.PCG {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seed))
	h.Write([]byte("miroverse/qa/walk\x00")) // the domain of every walk ever drawn: a new one would change them all
	h.Write(b[:])
	h.Write([]byte(id))
	sum := h.Sum(nil)
	return rand.NewPCG(binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:16]))
}

// stepper holds what one Walks call needs to extend walks, including a
// scratch buffer reused across steps.
type stepper struct {
	g      *kg.Graph
	hubCap int
	caps   *shares // nil: no share caps
	cands  []int
	// blocked is set by walk to the cap (SkipNodeShare, SkipAnswerShare)
	// that last took a candidate from a step; "" when none did.
	blocked string
}

// walk tries to take h hops from start and returns the node path, which is
// shorter than h+1 nodes when the walk got stuck. Documents at their share
// (Options.MaxNodeShare) are not stepped into, nor, on the last step,
// answers at theirs; stratumOf names an answer's stratum for the last
// step's preference.
func (s *stepper) walk(rng *rand.Rand, start, h int, stratumOf func(int) stratum) []int {
	path := make([]int, 1, h+1)
	path[0] = start
	s.blocked = ""
	for len(path) <= h {
		cur := path[len(path)-1]
		last := len(path) == h
		lo, hi := s.g.Edges(cur)
		s.cands = s.cands[:0]
		for e := lo; e < hi; e++ {
			dst := s.g.Target(e)
			if !s.usable(e) || slices.Contains(path, dst) {
				continue
			}
			if s.caps.full(dst) {
				s.blocked = SkipNodeShare
				continue
			}
			if last && s.caps.answerFull(dst) {
				s.blocked = SkipAnswerShare
				continue
			}
			s.cands = append(s.cands, e)
		}
		if len(s.cands) == 0 {
			break
		}
		pick := s.cands // prefer's result aliases its own buffers: never s.cands' next use
		if last {
			pick = s.caps.prefer(s.g, s.cands, stratumOf)
		}
		e := pick[rng.IntN(len(pick))]
		path = append(path, s.g.Target(e))
	}
	return path
}

// usable reports whether edge e may be walked, ignoring revisits. An edge
// without a sentence that literally shows its anchor gives the question
// writer nothing to build a hop on, so it is not walked.
func (s *stepper) usable(e int) bool {
	dst := s.g.Target(e)
	if !s.g.Walkable(dst) {
		return false
	}
	if s.hubCap > 0 && s.g.Degree(dst) > s.hubCap {
		return false
	}
	return s.g.Evident(e)
}

// toWalk converts a node path into a qa.Walk, reading each hop's evidence
// from links.
func (s *stepper) toWalk(ctx context.Context, links LinkSource, path []int) (qa.Walk, error) {
	w := qa.Walk{
		SeedDoc: s.g.ID(path[0]),
		DocIDs:  make([]string, len(path)),
		Titles:  make([]string, len(path)),
		Hops:    make([]qa.Hop, len(path)-1),
	}
	for i, n := range path {
		w.DocIDs[i], w.Titles[i] = s.g.ID(n), s.g.Title(n)
	}
	for i := range w.Hops {
		l, err := links.Link(ctx, w.DocIDs[i], w.DocIDs[i+1])
		if err != nil {
			return qa.Walk{}, fmt.Errorf("sample walks: evidence of a hop: %w", err)
		}
		w.Hops[i] = qa.Hop{From: w.DocIDs[i], To: w.DocIDs[i+1], Anchor: l.Anchor, Sentence: l.Sentence}
	}
	w.ID = qa.WalkID(w.DocIDs)
	return w, nil
}
