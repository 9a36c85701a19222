package sample

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/kg"
)

// catSource gives doc i of randomGraph the categories "Group <i%10>", a
// universal "All documents", a singleton "Unique <i>" and, for answer
// types, one kind category by i%5. It counts lookups.
type catSource struct {
	lookups *int
	fail    string // id whose lookup fails
}

var kindCategories = []string{"1900 births", "Cities in Ruritania", "Companies of Ruritania", "Battles of Ruritania", "Things"}

func (c catSource) Doc(_ context.Context, id string) (kg.Doc, error) {
	if c.lookups != nil {
		*c.lookups++
	}
	if id == c.fail {
		return kg.Doc{}, errors.New("disk on fire")
	}
	i, err := strconv.Atoi(strings.TrimPrefix(id, "doc"))
	if err != nil {
		return kg.Doc{}, fmt.Errorf("%q: %w", id, kg.ErrNotFound)
	}
	return kg.Doc{ID: id, Title: "Title " + id, Categories: []string{
		fmt.Sprintf("Group %d", i%10), "All documents", fmt.Sprintf("Unique %d", i), kindCategories[i%5],
	}}, nil
}

func TestStratifiedSeedOrder(t *testing.T) {
	ns, ls := randomGraph(t, 800, 11)
	g := mustGraph(t, ns, ls)
	order, primary, strata, err := stratifiedSeedOrder(context.Background(), g, 77, catSource{}, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != len(seedOrder(g, 77)) {
		t.Fatalf("order has %d seeds, want every candidate (%d)", len(order), len(seedOrder(g, 77)))
	}
	// The kind categories cover a fifth of the pool, the groups a tenth:
	// the kind wins as most common under the quarter rule, the universal
	// category never does.
	for n, p := range primary {
		if !slices.Contains(kindCategories, p) {
			t.Fatalf("primary category of %s = %q", g.ID(n), p)
		}
	}
	if strata > 5*numBands || strata < 5*numBands-2 {
		t.Errorf("%d strata, want about %d (5 kinds x 4 bands)", strata, 5*numBands)
	}
	// One round of the strata comes first: every kind and every band.
	cats, bands := map[string]bool{}, map[int]bool{}
	for _, n := range order[:strata] {
		cats[primary[n]], bands[band(g.Degree(n))] = true, true
	}
	if len(cats) != 5 || len(bands) != numBands {
		t.Errorf("first %d seeds cover categories %v and bands %v", strata, cats, bands)
	}

	// A small pool: only its seeds are looked up, the rest follow.
	lookups := 0
	small, primary, _, err := stratifiedSeedOrder(context.Background(), g, 77, catSource{lookups: &lookups}, 50)
	if err != nil || lookups != 50 || len(primary) != 50 || len(small) != len(order) {
		t.Errorf("pool of 50: %d lookups, %d primaries, %d seeds, %v", lookups, len(primary), len(small), err)
	}
	for _, n := range small[:50] {
		if _, ok := primary[n]; !ok {
			t.Fatal("an unlooked-up seed comes before the pool's")
		}
	}
}

func TestSampleStratifiesByCategory(t *testing.T) {
	ns, ls := randomGraph(t, 800, 11)
	g := mustGraph(t, ns, ls)
	opt := Options{Seed: 77, Walks: 40, MinHops: 2, MaxHops: 4, Docs: catSource{}}
	ws, st := mustSample(t, g, opt)
	checkWalkInvariants(t, g, opt, ws)
	if len(st.WalksByCategory) != 5 || len(st.WalksByBand) != numBands {
		t.Errorf("walks by category %v, by band %v: want all 5 and all %d", st.WalksByCategory, st.WalksByBand, numBands)
	}
	for c, n := range st.WalksByCategory {
		if n > 40/5+2 {
			t.Errorf("category %q has %d of 40 walks", c, n)
		}
	}
	again, st2 := mustSample(t, g, opt)
	if !reflect.DeepEqual(ws, again) || !reflect.DeepEqual(st, st2) {
		t.Error("same seed, different walks")
	}
	opt.Seed = 78
	if other, _ := mustSample(t, g, opt); reflect.DeepEqual(ws, other) {
		t.Error("another seed gave the same walks")
	}
}

func TestSampleMixes(t *testing.T) {
	ns, ls := randomGraph(t, 800, 11)
	g := mustGraph(t, ns, ls)
	tests := []struct {
		name      string
		opt       Options
		wantHops  map[int]int
		wantTypes map[string]int
	}{
		{"hop mix", Options{Seed: 3, Walks: 100, HopMix: map[int]float64{2: 0.5, 3: 0.3, 4: 0.2}},
			map[int]int{2: 50, 3: 30, 4: 20}, nil},
		{"hop mix with a single length", Options{Seed: 3, Walks: 30, HopMix: map[int]float64{3: 1}},
			map[int]int{3: 30}, nil},
		{"answer mix", Options{Seed: 4, Walks: 40, Docs: catSource{},
			AnswerMix: map[string]float64{AnswerPerson: 0.5, AnswerPlace: 0.25, AnswerDate: 0.25}},
			nil, map[string]int{AnswerPerson: 20, AnswerPlace: 10, AnswerDate: 10}},
		{"both", Options{Seed: 5, Walks: 40, Docs: catSource{}, HopMix: map[int]float64{2: 1, 3: 1},
			AnswerMix: map[string]float64{AnswerOrganisation: 1, AnswerOther: 1}},
			map[int]int{2: 20, 3: 20}, map[string]int{AnswerOrganisation: 20, AnswerOther: 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, st := mustSample(t, g, tt.opt)
			if len(ws) != tt.opt.Walks {
				t.Fatalf("%d walks, want %d", len(ws), tt.opt.Walks)
			}
			if tt.wantHops != nil && !maps.Equal(st.HopHistogram, tt.wantHops) {
				t.Errorf("hops = %v, want %v", st.HopHistogram, tt.wantHops)
			}
			if tt.wantTypes != nil && !maps.Equal(st.WalksByAnswerType, tt.wantTypes) {
				t.Errorf("answer types = %v, want %v", st.WalksByAnswerType, tt.wantTypes)
			}
		})
	}
}

func TestSampleMixFillsShortfall(t *testing.T) {
	// Only a fifth of the docs are places and each seed gets one attempt:
	// asking for all places leaves slots that walks of other types fill, so
	// the count still reaches Walks.
	ns, ls := randomGraph(t, 200, 7)
	g := mustGraph(t, ns, ls)
	ws, st := mustSample(t, g, Options{Seed: 1, Walks: 100, Attempts: 1, Docs: catSource{}, AnswerMix: map[string]float64{AnswerPlace: 1}})
	if len(ws) != 100 || st.WalksByAnswerType[AnswerPlace] == 0 || st.WalksByAnswerType[AnswerPlace] == 100 {
		t.Errorf("%d walks, types %v", len(ws), st.WalksByAnswerType)
	}
}

func TestSampleMixErrors(t *testing.T) {
	ns, ls := randomGraph(t, 50, 1)
	g := mustGraph(t, ns, ls)
	tests := []struct {
		name string
		opt  Options
	}{
		{"answer mix without docs", Options{Walks: 1, AnswerMix: map[string]float64{AnswerPerson: 1}}},
		{"unknown answer type", Options{Walks: 1, Docs: catSource{}, AnswerMix: map[string]float64{"vegetable": 1}}},
		{"negative weight", Options{Walks: 1, HopMix: map[int]float64{2: -1, 3: 2}}},
		{"zero weights", Options{Walks: 1, HopMix: map[int]float64{2: 0}}},
		{"zero hops", Options{Walks: 1, HopMix: map[int]float64{0: 1}}},
		{"negative pool", Options{Walks: 1, SeedPool: -1}},
	}
	for _, tt := range tests {
		if _, _, err := Walks(context.Background(), g, withLinks(g, tt.opt)); err == nil {
			t.Errorf("%s: want an error", tt.name)
		}
	}
	if _, _, err := Walks(context.Background(), g, withLinks(g, Options{Walks: 5, Docs: catSource{fail: g.ID(3)}, SeedPool: 1000})); err == nil ||
		!strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("store failure: err = %v", err)
	}
}

func TestAnswerType(t *testing.T) {
	tests := []struct {
		doc  kg.Doc
		want string
	}{
		{kg.Doc{Title: "Marie Curie", Categories: []string{"1867 births", "Polish physicists"}}, AnswerPerson},
		{kg.Doc{Title: "Franz Kafka", Facts: []kg.Fact{{Key: "birth_date", Value: "3 July 1883"}}}, AnswerPerson},
		{kg.Doc{Title: "Warsaw", Categories: []string{"Cities in Poland"}}, AnswerPlace},
		{kg.Doc{Title: "Vistula", Categories: []string{"Rivers of Poland"}}, AnswerPlace},
		{kg.Doc{Title: "Atlantis", Facts: []kg.Fact{{Key: "coordinates", Value: "0 0"}}}, AnswerPlace},
		{kg.Doc{Title: "Skoda", Categories: []string{"Car manufacturers of Czechia"}}, AnswerOrganisation},
		{kg.Doc{Title: "Acme", Facts: []kg.Fact{{Key: "headquarters", Value: "Nowhere"}}}, AnswerOrganisation},
		{kg.Doc{Title: "1867"}, AnswerDate},
		{kg.Doc{Title: "1867 in France"}, AnswerDate},
		{kg.Doc{Title: "Battle of Hastings", Categories: []string{"Battles involving England"}}, AnswerDate},
		{kg.Doc{Title: "Radioactivity", Categories: []string{"Nuclear physics"}}, AnswerOther},
		{kg.Doc{Title: "Statesman", Categories: []string{"Politicians of Bohemia", "Cities in Bohemia"}}, AnswerPerson},
	}
	for _, tt := range tests {
		if got := AnswerType(tt.doc); got != tt.want {
			t.Errorf("AnswerType(%s) = %s, want %s", tt.doc.Title, got, tt.want)
		}
	}
}

func TestQuota(t *testing.T) {
	tests := []struct {
		weights map[string]float64
		n       int
		want    map[string]int
	}{
		{map[string]float64{"a": 0.5, "b": 0.3, "c": 0.2}, 60, map[string]int{"a": 30, "b": 18, "c": 12}},
		{map[string]float64{"a": 1, "b": 1, "c": 1}, 10, map[string]int{"a": 4, "b": 3, "c": 3}},
		{map[string]float64{"a": 2, "b": 0}, 5, map[string]int{"a": 5, "b": 0}},
		{map[string]float64{"a": 1}, 0, map[string]int{"a": 0}},
	}
	for _, tt := range tests {
		q := newQuota(tt.weights, tt.n, func(s string) string { return s })
		if !maps.Equal(q.target, tt.want) {
			t.Errorf("quota(%v, %d) = %v, want %v", tt.weights, tt.n, q.target, tt.want)
		}
	}
	if q := newQuota(map[string]float64(nil), 5, func(s string) string { return s }); q != nil || !q.room("x") {
		t.Error("a nil quota must admit everything")
	}
}
