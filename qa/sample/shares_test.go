package sample

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/qa"
)

// starGraph is hub-dominated the way a small wiki is: every leaf links to
// the hub and to the next leaf (a ring, so ways around the hub exist), the
// hub links to a few pages, and those link back to the hub. Uncapped, most
// walks go through the hub and end on its few targets.
func starGraph(leaves, targets int) ([]kg.GraphNode, []kg.Link) {
	var ids []string
	var links []kg.Link
	leaf := func(i int) string { return fmt.Sprintf("leaf%03d", i%leaves) }
	target := func(i int) string { return fmt.Sprintf("target%02d", i%targets) }
	ids = append(ids, "hub")
	for i := range leaves {
		ids = append(ids, leaf(i))
		links = append(links, goodLink(leaf(i), "hub"), goodLink(leaf(i), leaf(i+1)))
	}
	for i := range targets {
		ids = append(ids, target(i))
		links = append(links, goodLink("hub", target(i)), goodLink(target(i), "hub"))
	}
	return nodes(ids...), links
}

// spread counts, over ws, the walks through each document and the walks
// ending on each.
func spread(ws []qa.Walk) (on, answers map[string]int) {
	on, answers = map[string]int{}, map[string]int{}
	for _, w := range ws {
		for _, id := range w.DocIDs {
			on[id]++
		}
		answers[w.DocIDs[len(w.DocIDs)-1]]++
	}
	return on, answers
}

func maxCount(m map[string]int) (string, int) {
	top, n := "", 0
	for k, v := range m {
		if v > n || (v == n && k < top) {
			top, n = k, v
		}
	}
	return top, n
}

func TestSampleShareCaps(t *testing.T) {
	ns, ls := starGraph(80, 4)
	g := mustGraph(t, ns, ls)
	// The same graph handed over in another order.
	rng := rand.New(rand.NewPCG(3, 4))
	ns2, ls2 := slices.Clone(ns), slices.Clone(ls)
	rng.Shuffle(len(ns2), func(i, j int) { ns2[i], ns2[j] = ns2[j], ns2[i] })
	rng.Shuffle(len(ls2), func(i, j int) { ls2[i], ls2[j] = ls2[j], ls2[i] })
	shuffled := mustGraph(t, ns2, ls2)
	const walks = 60
	base := Options{Seed: 9, Walks: walks, MinHops: 2, MaxHops: 3}
	uncapped, _ := mustSample(t, g, base)
	onU, ansU := spread(uncapped)
	if top, n := maxCount(onU); top != "hub" || n < walks/2 {
		t.Fatalf("the star is not hub-dominated uncapped: top node %s on %d of %d walks", top, n, len(uncapped))
	}
	tests := []struct {
		name                    string
		nodeShare, answerShare  float64
		wantNodeCap, wantAnsCap int // 0: not capped
	}{
		{"node cap", 0.1, 0, 6, 0},
		{"answer cap", 0, 0.05, 0, 3},
		{"both", 0.1, 0.05, 6, 3},
		{"loose node cap", 0.5, 0, 30, 0},
		// A cap of every walk never binds: what spreads the answers is the
		// last step's preference for new strata and new documents.
		{"answer preference alone", 0, 1, 0, 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := base
			opt.MaxNodeShare, opt.MaxAnswerShare = tt.nodeShare, tt.answerShare
			ws, st := mustSample(t, g, opt)
			checkWalkInvariants(t, g, mustDefaults(t, withLinks(g, opt)), ws)
			if len(ws) != walks {
				t.Errorf("%d walks, want %d: the ring leaves room for all of them (stats %+v)", len(ws), walks, st)
			}
			on, ans := spread(ws)
			topU, nU := maxCount(onU)
			top, n := maxCount(on)
			t.Logf("uncapped: %s on %d walks, %d distinct answers; capped: %s on %d, %d distinct answers", topU, nU, len(ansU), top, n, len(ans))
			if top, n := maxCount(on); tt.wantNodeCap > 0 && n > tt.wantNodeCap {
				t.Errorf("%s is on %d walks, cap %d", top, n, tt.wantNodeCap)
			}
			if top, n := maxCount(ans); tt.wantAnsCap > 0 && n > tt.wantAnsCap {
				t.Errorf("%d walks end on %s, cap %d", n, top, tt.wantAnsCap)
			}
			if tt.nodeShare <= 0.1 {
				if len(ans) <= len(ansU) {
					t.Errorf("%d distinct answers with the caps, %d without: want more", len(ans), len(ansU))
				}
			}
			again, st2 := mustSample(t, g, opt)
			if !reflect.DeepEqual(ws, again) || !reflect.DeepEqual(st, st2) {
				t.Error("same graph and seed, different walks or stats")
			}
			if other, _ := mustSample(t, shuffled, opt); !reflect.DeepEqual(ws, other) {
				t.Error("the graph handed over in another order gave other walks")
			}
		})
	}
	// Without caps the options behave as before: no refusals counted.
	if _, st := mustSample(t, g, base); len(st.Refused) != 0 || st.Skipped[SkipNodeShare] != 0 {
		t.Errorf("uncapped sample counts refusals: %+v", st)
	}
}

// TestSampleShareCapRefusesSeeds: when the graph is too small for a cap,
// the sample comes up short rather than break it, and says why.
func TestSampleShareCapRefusesSeeds(t *testing.T) {
	// Thirty leaves, each with its own way to the hub (leaf → via → hub)
	// and the hub's one way on (hub → end): every walk of 2 hops ends on
	// hub, every one of 3 on end.
	var ids []string
	var links []kg.Link
	ids = append(ids, "hub", "end")
	links = append(links, goodLink("hub", "end"))
	for i := range 30 {
		leaf, via := fmt.Sprintf("leaf%02d", i), fmt.Sprintf("via%02d", i)
		ids = append(ids, leaf, via)
		links = append(links, goodLink(leaf, via), goodLink(via, "hub"))
	}
	g := mustGraph(t, nodes(ids...), links)
	tests := []struct {
		name      string
		opt       Options
		wantWalks int
		reason    string
	}{
		{"node cap on the hub", Options{Seed: 1, Walks: 20, MinHops: 2, MaxHops: 3, MaxNodeShare: 0.1}, 2, SkipNodeShare},
		{"answer cap on the end", Options{Seed: 1, Walks: 20, MinHops: 3, MaxHops: 3, MaxAnswerShare: 0.1}, 2, SkipAnswerShare},
		{"no cap", Options{Seed: 1, Walks: 20, MinHops: 3, MaxHops: 3}, 20, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, st := mustSample(t, g, tt.opt)
			if len(ws) != tt.wantWalks {
				t.Fatalf("%d walks, want %d (stats %+v)", len(ws), tt.wantWalks, st)
			}
			if tt.reason == "" {
				if len(st.Refused) != 0 {
					t.Errorf("refusals without a cap: %+v", st.Refused)
				}
				return
			}
			if st.Skipped[tt.reason] == 0 || st.Refused[tt.reason] == 0 {
				t.Errorf("seeds refused for %s not counted: %+v", tt.reason, st)
			}
		})
	}
}

func TestShareCap(t *testing.T) {
	for _, tt := range []struct {
		share float64
		walks int
		want  int
	}{
		{0, 100, 0}, {0.1, 200, 20}, {0.1, 30, 3}, {0.05, 60, 3}, {0.1, 61, 7}, {0.001, 10, 1}, {1, 7, 7},
	} {
		if got := ShareCap(tt.share, tt.walks); got != tt.want {
			t.Errorf("ShareCap(%v, %d) = %d, want %d", tt.share, tt.walks, got, tt.want)
		}
	}
}

func mustDefaults(t *testing.T, o Options) Options {
	t.Helper()
	o, err := o.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// BenchmarkSampleShareCaps is BenchmarkSample with the pipeline's default
// caps, to compare what the per-step cap lookups cost.
func BenchmarkSampleShareCaps(b *testing.B) {
	ns, ls := randomGraph(b, 20000, 1)
	g := mustGraph(b, ns, ls)
	opt := Options{Seed: 1, Walks: 5000, HubCap: 25, MaxNodeShare: 0.1, MaxAnswerShare: 0.05}
	for b.Loop() {
		ws, _ := mustSample(b, g, opt)
		b.ReportMetric(float64(len(ws)), "walks/op")
	}
}
