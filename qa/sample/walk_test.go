package sample

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/kgtest"
	"github.com/miroverse/miroverse/qa"
)

// goodLink is a link whose sentence shows its anchor.
func goodLink(src, dst string) kg.Link {
	a := "about " + dst
	return kg.Link{Src: src, Dst: dst, Anchor: a, Sentence: fmt.Sprintf("%s says something %s here.", src, a)}
}

func nodes(ids ...string) []kg.GraphNode {
	out := make([]kg.GraphNode, len(ids))
	for i, id := range ids {
		out[i] = kg.GraphNode{ID: id, Title: "Title " + id, Walkable: true}
	}
	return out
}

// randomGraph builds n nodes whose out-degrees spread over all four degree
// bands, with a sprinkling of unwalkable nodes and unusable evidence.
func randomGraph(t testing.TB, n int, seed uint64) ([]kg.GraphNode, []kg.Link) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ns := make([]kg.GraphNode, n)
	for i := range ns {
		id := fmt.Sprintf("doc%05d", i)
		ns[i] = kg.GraphNode{ID: id, Title: "Title " + id, Walkable: rng.IntN(20) != 0}
	}
	var links []kg.Link
	for i := range ns {
		var deg int
		switch i % 4 {
		case 0:
			deg = 1 + rng.IntN(2)
		case 1:
			deg = 3 + rng.IntN(3)
		case 2:
			deg = 6 + rng.IntN(5)
		default:
			deg = 11 + rng.IntN(20)
		}
		for range deg {
			dst := ns[rng.IntN(n)].ID
			l := goodLink(ns[i].ID, dst)
			switch rng.IntN(25) {
			case 0:
				l.Sentence = ""
			case 1:
				l.Sentence = "A sentence that lost its anchor."
			}
			links = append(links, l)
		}
	}
	return ns, links
}

// graphLinks holds the evidence of the graphs mustGraph made, which the
// graphs themselves no longer carry, for withLinks to hand to Walks.
var graphLinks sync.Map // *kg.Graph -> kgtest.Links

func mustGraph(t testing.TB, ns []kg.GraphNode, ls []kg.Link) *kg.Graph {
	t.Helper()
	g, err := kg.BuildGraph(slices.Clone(ns), ls)
	if err != nil {
		t.Fatal(err)
	}
	graphLinks.Store(g, kgtest.LinksOf(ls))
	return g
}

// withLinks gives opt the evidence of g's links, unless it has a source.
func withLinks(g *kg.Graph, opt Options) Options {
	if l, ok := graphLinks.Load(g); ok && opt.Links == nil {
		opt.Links = l.(kgtest.Links)
	}
	return opt
}

func mustSample(t testing.TB, g *kg.Graph, opt Options) ([]qa.Walk, Stats) {
	t.Helper()
	ws, st, err := Walks(context.Background(), g, withLinks(g, opt))
	if err != nil {
		t.Fatalf("Walks(%+v): %v", opt, err)
	}
	return ws, st
}

// checkWalkInvariants verifies every property a walk promises against g.
func checkWalkInvariants(t *testing.T, g *kg.Graph, opt Options, ws []qa.Walk) {
	t.Helper()
	ids := map[string]bool{}
	for _, w := range ws {
		if ids[w.ID] {
			t.Errorf("duplicate walk id %s", w.ID)
		}
		ids[w.ID] = true
		if w.ID != qa.WalkID(w.DocIDs) {
			t.Errorf("walk %s: id does not match its path", w.ID)
		}
		if h := len(w.Hops); h < opt.MinHops || h > opt.MaxHops {
			t.Errorf("walk %s: %d hops outside [%d,%d]", w.ID, h, opt.MinHops, opt.MaxHops)
		}
		if len(w.DocIDs) != len(w.Hops)+1 || len(w.Titles) != len(w.DocIDs) || w.SeedDoc != w.DocIDs[0] {
			t.Errorf("walk %s: inconsistent lengths or seed: %+v", w.ID, w)
			continue
		}
		seen := map[string]bool{}
		for i, id := range w.DocIDs {
			if seen[id] {
				t.Errorf("walk %s revisits %s", w.ID, id)
			}
			seen[id] = true
			n := g.Index(id)
			if n < 0 || !g.Walkable(n) || g.Title(n) != w.Titles[i] {
				t.Errorf("walk %s: doc %s missing, unwalkable or mistitled", w.ID, id)
			}
			if i > 0 && opt.HubCap > 0 && g.Degree(n) > opt.HubCap {
				t.Errorf("walk %s steps into hub %s (degree %d)", w.ID, id, g.Degree(n))
			}
		}
		for i, h := range w.Hops {
			if h.From != w.DocIDs[i] || h.To != w.DocIDs[i+1] {
				t.Errorf("walk %s hop %d: %s->%s does not follow the path", w.ID, i, h.From, h.To)
			}
			if h.Anchor == "" || !strings.Contains(h.Sentence, h.Anchor) {
				t.Errorf("walk %s hop %d: sentence %q lacks anchor %q", w.ID, i, h.Sentence, h.Anchor)
			}
			if !hasEdge(g, h) {
				t.Errorf("walk %s hop %d: %s->%s with this evidence is not an edge of the graph", w.ID, i, h.From, h.To)
			}
		}
	}
}

func hasEdge(g *kg.Graph, h qa.Hop) bool {
	s, d := g.Index(h.From), g.Index(h.To)
	if s < 0 || d < 0 || g.Edge(s, d) < 0 || !g.Evident(g.Edge(s, d)) {
		return false
	}
	l, err := withLinks(g, Options{}).Links.Link(context.Background(), h.From, h.To)
	return err == nil && l.Anchor == h.Anchor && l.Sentence == h.Sentence
}

func TestSampleDeterministic(t *testing.T) {
	ns, ls := randomGraph(t, 400, 7)
	g := mustGraph(t, ns, ls)
	opt := Options{Seed: 42, Walks: 50, HubCap: 25}

	a, sa := mustSample(t, g, opt)
	b, sb := mustSample(t, g, opt)
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(sa, sb) {
		t.Fatal("same graph and seed gave different walks or stats")
	}

	// The order in which a backend hands over nodes and links must not matter.
	rng := rand.New(rand.NewPCG(1, 2))
	ns2, ls2 := slices.Clone(ns), slices.Clone(ls)
	rng.Shuffle(len(ns2), func(i, j int) { ns2[i], ns2[j] = ns2[j], ns2[i] })
	rng.Shuffle(len(ls2), func(i, j int) { ls2[i], ls2[j] = ls2[j], ls2[i] })
	if c, _ := mustSample(t, mustGraph(t, ns2, ls2), opt); !reflect.DeepEqual(a, c) {
		t.Fatal("shuffled input order changed the walks")
	}

	// Asking for fewer walks yields a prefix: a seed's walk does not depend
	// on how many others are drawn.
	opt5 := opt
	opt5.Walks = 5
	if p, _ := mustSample(t, g, opt5); !reflect.DeepEqual(p, a[:5]) {
		t.Fatal("Walks=5 is not a prefix of Walks=50")
	}

	opt.Seed = 43
	if d, _ := mustSample(t, g, opt); reflect.DeepEqual(a, d) {
		t.Fatal("different seeds gave identical walks")
	}
}

func TestSampleInvariants(t *testing.T) {
	ns, ls := randomGraph(t, 600, 3)
	g := mustGraph(t, ns, ls)
	tests := []struct {
		name string
		opt  Options
	}{
		{"defaults", Options{Seed: 1, Walks: 80}},
		{"fixed length", Options{Seed: 2, Walks: 80, MinHops: 3, MaxHops: 3}},
		{"hub cap", Options{Seed: 3, Walks: 80, HubCap: 8}},
		{"wide range", Options{Seed: 4, Walks: 80, MinHops: 1, MaxHops: 6}},
		{"one attempt", Options{Seed: 5, Walks: 80, Attempts: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, st := mustSample(t, g, tt.opt)
			opt, _ := tt.opt.withDefaults()
			if len(ws) != opt.Walks {
				t.Fatalf("got %d walks, want %d (stats %+v)", len(ws), opt.Walks, st)
			}
			checkWalkInvariants(t, g, opt, ws)
			hist := 0
			for h, n := range st.HopHistogram {
				if h < opt.MinHops || h > opt.MaxHops {
					t.Errorf("histogram has hop count %d", h)
				}
				hist += n
			}
			skipped := st.Skipped[SkipStuck] + st.Skipped[SkipDuplicate]
			if st.Walks != len(ws) || hist != len(ws) || st.SeedsTried != len(ws)+skipped {
				t.Errorf("stats do not add up: %+v", st)
			}
		})
	}
}

func TestSampleEdgeRules(t *testing.T) {
	ns := nodes("a", "b", "c", "d", "e", "g")
	ns[2].Walkable = false // c
	ls := []kg.Link{
		goodLink("a", "b"),
		goodLink("a", "c"),                      // into an unwalkable node
		{Src: "a", Dst: "d", Anchor: "about d"}, // no sentence
		{Src: "a", Dst: "e", Anchor: "about e", Sentence: "It says nothing of it."}, // anchor not in sentence
		{Src: "a", Dst: "g", Sentence: "No anchor at all."},                         // empty anchor
		goodLink("b", "g"),
		goodLink("c", "g"),
		goodLink("d", "g"),
		goodLink("e", "g"),
	}
	g := mustGraph(t, ns, ls)
	opt := Options{Seed: 9, Walks: 10, MinHops: 1, MaxHops: 2}
	ws, st := mustSample(t, g, opt)
	opt, _ = opt.withDefaults()
	checkWalkInvariants(t, g, opt, ws)
	for _, w := range ws {
		if slices.Contains(w.DocIDs, "c") {
			t.Errorf("walk %v passes through unwalkable c", w.DocIDs)
		}
		if w.SeedDoc == "a" && w.DocIDs[1] != "b" {
			t.Errorf("walk from a took an unusable edge: %v", w.DocIDs)
		}
	}
	// Seeds: a, b, d, e (c is unwalkable, g has no out-edges).
	if st.SeedCandidates != 4 || len(ws) != 4 {
		t.Errorf("got %d candidates and %d walks, want 4 and 4", st.SeedCandidates, len(ws))
	}
}

func TestSampleHubCap(t *testing.T) {
	ids := []string{"a", "b", "c", "hub"}
	var ls []kg.Link
	for i := range 12 {
		leaf := fmt.Sprintf("leaf%02d", i)
		ids = append(ids, leaf)
		ls = append(ls, goodLink("hub", leaf))
	}
	ls = append(ls, goodLink("a", "hub"), goodLink("a", "b"), goodLink("b", "c"), goodLink("b", "hub"))
	g := mustGraph(t, nodes(ids...), ls)
	opt := Options{Seed: 5, Walks: 10, HubCap: 5}
	ws, _ := mustSample(t, g, opt)
	opt, _ = opt.withDefaults()
	checkWalkInvariants(t, g, opt, ws)
	var fromA, fromHub bool
	for _, w := range ws {
		fromA = fromA || w.SeedDoc == "a"
		fromHub = fromHub || w.SeedDoc == "hub"
	}
	if !fromA {
		t.Error("no walk from a: the cap should leave a->b->c")
	}
	if fromHub {
		t.Error("a walk from hub: its leaves have no out-edges, so it should be stuck below 2 hops")
	}
}

func TestSampleStuckAndShortWalks(t *testing.T) {
	tests := []struct {
		name      string
		ids       []string
		links     []kg.Link
		opt       Options
		wantPaths [][]string
		wantStuck int
	}{
		{
			name:      "too short",
			ids:       []string{"a", "b"},
			links:     []kg.Link{goodLink("a", "b")},
			opt:       Options{Seed: 1, Walks: 5},
			wantStuck: 1,
		},
		{
			name:      "stuck at min hops is kept",
			ids:       []string{"a", "b", "c"},
			links:     []kg.Link{goodLink("a", "b"), goodLink("b", "c")},
			opt:       Options{Seed: 1, Walks: 5, MinHops: 2, MaxHops: 4},
			wantPaths: [][]string{{"a", "b", "c"}},
			wantStuck: 1, // b->c has one hop
		},
		{
			name:      "no revisits on a cycle",
			ids:       []string{"a", "b"},
			links:     []kg.Link{goodLink("a", "b"), goodLink("b", "a")},
			opt:       Options{Seed: 1, Walks: 5, MinHops: 1, MaxHops: 3},
			wantPaths: [][]string{{"a", "b"}, {"b", "a"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, st := mustSample(t, mustGraph(t, nodes(tt.ids...), tt.links), tt.opt)
			var got [][]string
			for _, w := range ws {
				got = append(got, w.DocIDs)
			}
			slices.SortFunc(got, func(x, y []string) int { return slices.Compare(x, y) })
			if !reflect.DeepEqual(got, tt.wantPaths) {
				t.Errorf("paths = %v, want %v", got, tt.wantPaths)
			}
			if st.Skipped[SkipStuck] != tt.wantStuck {
				t.Errorf("stuck = %d, want %d", st.Skipped[SkipStuck], tt.wantStuck)
			}
		})
	}
}

func TestSampleStratifiesByDegree(t *testing.T) {
	ns, ls := randomGraph(t, 800, 11)
	g := mustGraph(t, ns, ls)

	order := seedOrder(g, 77)
	seen := map[int]bool{}
	for _, n := range order[:numBands] {
		seen[band(g.Degree(n))] = true
	}
	if len(seen) != numBands {
		t.Errorf("first %d seeds cover bands %v, want all", numBands, seen)
	}

	_, st := mustSample(t, g, Options{Seed: 77, Walks: 20})
	if len(st.WalksByBand) < 3 {
		t.Errorf("walks by band = %v, want at least 3 bands", st.WalksByBand)
	}
	for b, n := range st.WalksByBand {
		if n > 20/2 {
			t.Errorf("band %s has %d of 20 walks", b, n)
		}
	}
}

func TestSampleErrors(t *testing.T) {
	g := mustGraph(t, nodes("a", "b", "c"), []kg.Link{goodLink("a", "b"), goodLink("b", "c")})
	tests := []struct {
		name string
		g    *kg.Graph
		opt  Options
	}{
		{"nil graph", nil, Options{Walks: 1}},
		{"negative walks", g, Options{Walks: -1}},
		{"max below min", g, Options{Walks: 1, MinHops: 3, MaxHops: 2}},
		{"negative min", g, Options{Walks: 1, MinHops: -1}},
		{"negative hub cap", g, Options{Walks: 1, HubCap: -1}},
		{"negative attempts", g, Options{Walks: 1, Attempts: -1}},
		{"negative node share", g, Options{Walks: 1, MaxNodeShare: -0.1}},
		{"node share above 1", g, Options{Walks: 1, MaxNodeShare: 1.5}},
		{"NaN answer share", g, Options{Walks: 1, MaxAnswerShare: math.NaN()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := Walks(context.Background(), tt.g, withLinks(tt.g, tt.opt)); err == nil {
				t.Error("want an error")
			}
		})
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Walks(ctx, g, withLinks(g, Options{Walks: 1})); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v, want context.Canceled", err)
	}

	ws, _, err := Walks(context.Background(), g, withLinks(g, Options{}))
	if err != nil || len(ws) != 0 {
		t.Errorf("zero walks requested: got %d walks, err %v", len(ws), err)
	}
	if _, _, err := Walks(context.Background(), g, Options{Walks: 1}); err == nil || !strings.Contains(err.Error(), "link source") {
		t.Errorf("no link source: err = %v, want one naming it", err)
	}
	broken := kgtest.Links{}
	if _, _, err := Walks(context.Background(), g, Options{Walks: 1, MinHops: 2, Links: broken}); !errors.Is(err, kg.ErrNotFound) {
		t.Errorf("a link source that cannot answer: err = %v, want its ErrNotFound", err)
	}
}

func BenchmarkSample(b *testing.B) {
	ns, ls := randomGraph(b, 20000, 1)
	g := mustGraph(b, ns, ls)
	opt := Options{Seed: 1, Walks: 5000, HubCap: 25}
	for b.Loop() {
		ws, _ := mustSample(b, g, opt)
		b.ReportMetric(float64(len(ws)), "walks/op")
	}
}

// TestSeedKeyIsFNV: seedKey is FNV-64a of the big-endian seed and the id,
// so the seed order of every run stays what it was with hash/fnv.
func TestSeedKeyIsFNV(t *testing.T) {
	for _, tc := range []struct {
		seed int64
		id   string
	}{{0, ""}, {1, "enwiki:12"}, {-7, "démo:Ωmega"}, {1 << 62, "x"}} {
		h := fnv.New64a()
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(tc.seed))
		h.Write(b[:])
		h.Write([]byte(tc.id))
		if got, want := seedKey(tc.seed, tc.id), h.Sum64(); got != want {
			t.Errorf("seedKey(%d, %q) = %x, want %x", tc.seed, tc.id, got, want)
		}
	}
}
