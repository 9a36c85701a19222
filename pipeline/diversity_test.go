package pipeline

import (
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/qa"
)

func TestDiversity(t *testing.T) {
	walk := func(ids ...string) qa.Walk {
		titles := make([]string, len(ids))
		for i, id := range ids {
			titles[i] = "T" + id
		}
		return qa.Walk{DocIDs: ids, Titles: titles}
	}
	item := func(status string, clauses []string, ids ...string) qa.Item {
		w := walk(ids...)
		return qa.Item{Status: status, DocIDs: w.DocIDs, Titles: w.Titles, Clauses: clauses, Answer: w.Titles[len(w.Titles)-1]}
	}
	imported := qa.Item{Status: qa.StatusKept, Answer: "Tr", DocIDs: []string{"p", "p", "q"}, Titles: []string{"Tp", "Tp", "Tq"}}
	tests := []struct {
		name string
		got  *Diversity
		want Diversity
	}{
		{"no walks", walkDiversity(nil), Diversity{}},
		{"walks", walkDiversity([]qa.Walk{walk("a", "h", "x"), walk("b", "h", "y"), walk("c", "h", "x"), walk("d", "e")}),
			Diversity{Items: 4, DistinctAnswers: 3, TopNode: "h", TopNodeTitle: "Th", TopNodeItems: 3, TopNodeShare: 0.75}},
		{"ties go to the smaller id", walkDiversity([]qa.Walk{walk("b", "a"), walk("c", "d")}),
			Diversity{Items: 2, DistinctAnswers: 2, TopNode: "a", TopNodeTitle: "Ta", TopNodeItems: 1, TopNodeShare: 0.5}},
		{"kept questions only, final clauses folded", keptDiversity([]qa.Item{
			item(qa.StatusKept, []string{"born in the city", "What is the name of the river?"}, "a", "r"),
			item(qa.StatusKept, []string{"What is the NAME of the river"}, "b", "r"),
			item(qa.StatusKept, []string{"x", "Which town is it?"}, "c", "t"),
			item(qa.StatusKept, nil, "d", "u"), // no clauses: counts for answers, not clauses
			item(qa.StatusRejected, []string{"Who else?"}, "e", "v"),
		}), Diversity{Items: 4, DistinctAnswers: 3, DistinctFinalClauses: 2, TopNode: "r", TopNodeTitle: "Tr", TopNodeItems: 2, TopNodeShare: 0.5}},
		{"imported: answers by text, a page listed twice counted once", keptDiversity([]qa.Item{
			item(qa.StatusKept, nil, "a", "r"), imported, // both answer "Tr"
		}), Diversity{Items: 2, DistinctAnswers: 1, TopNode: "a", TopNodeTitle: "Ta", TopNodeItems: 1, TopNodeShare: 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(*tt.got, tt.want) {
				t.Errorf("got %+v\nwant %+v", *tt.got, tt.want)
			}
		})
	}
}

func TestGateRates(t *testing.T) {
	st := newStageStats()
	for _, r := range []struct{ status, reason string }{
		{"kept", ""}, {"kept", ""}, {"rejected", "leak:answer"}, {"rejected", "ambiguous"}, {"rejected", "ambiguous"}, {"failed", "writer_error"},
	} {
		st.add(r.status, r.reason)
	}
	want := map[string]float64{"leak:answer": 1.0 / 6, "ambiguous": 2.0 / 6}
	if got := gateRates(st); !maps.Equal(got, want) {
		t.Errorf("gate rates %v, want %v", got, want)
	}
	if got := gateRates(newStageStats()); got != nil {
		t.Errorf("no candidates: %v", got)
	}
	if got, want := RatesLine(want), "ambiguous 33.3%, leak:answer 16.7%"; got != want {
		t.Errorf("RatesLine = %q, want %q", got, want)
	}
}

func TestSummaryShowsSpread(t *testing.T) {
	m := &Manifest{Stages: map[string]*StageStats{
		StageSample: {Kept: 10, Diversity: &Diversity{Items: 10, DistinctAnswers: 7, TopNode: "h", TopNodeTitle: "Hub", TopNodeItems: 1, TopNodeShare: 0.1, NodeCap: 1}},
		StageQA: {In: 10, Kept: 8, Rejected: map[string]int64{"ambiguous": 2}, GateRates: map[string]float64{"ambiguous": 0.2},
			Diversity: &Diversity{Items: 8, DistinctAnswers: 6, DistinctFinalClauses: 5, TopNode: "h", TopNodeItems: 1, TopNodeShare: 0.125}},
	}}
	out := Summary(m, "root")
	for _, want := range []string{
		`walks       10 (7 distinct answers; largest node share 10.0% ("Hub", on 1 of 10, cap 1))`,
		`kept        6 distinct answers, 5 distinct final clauses; largest node share 12.5% ("h", on 1 of 8)`,
		`gate rates  ambiguous 20.0%`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}
