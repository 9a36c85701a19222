package kg

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"
)

func TestBuildGraph(t *testing.T) {
	nodes := []GraphNode{{"c", "Gamma", true}, {"a", "Alpha", true}, {"b", "Beta", false}}
	links := []Link{
		{"a", "b", "Beta", "Alpha knows Beta."},
		{"a", "b", "Another", "Alpha knows Beta."}, // smaller anchor, not in its sentence: the edge is not evident
		{"a", "c", "Gamma", "Alpha and Gamma."},
		{"a", "a", "Alpha", "Alpha is Alpha."}, // self-link
		{"b", "c", "Gamma", "Beta, then Gamma."},
		{"c", "x", "X", "Gamma and X."}, // no such node
		{"c", "a", "", ""},
	}
	g, err := BuildGraph(nodes, links)
	if err != nil {
		t.Fatal(err)
	}
	type edge struct {
		src, dst string
		evident  bool
	}
	var got []edge
	for n := range g.NodeCount() {
		lo, hi := g.Edges(n)
		for e := lo; e < hi; e++ {
			got = append(got, edge{g.ID(n), g.ID(g.Target(e)), g.Evident(e)})
		}
	}
	want := []edge{{"a", "b", false}, {"a", "c", true}, {"b", "c", true}, {"c", "a", false}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("edges = %v, want %v", got, want)
	}
	if g.ID(0) != "a" || g.Title(0) != "Alpha" || !g.Walkable(0) || g.Walkable(1) || g.Title(2) != "Gamma" {
		t.Errorf("nodes not in id order with their titles and walkability")
	}
	for id, want := range map[string]int{"a": 0, "b": 1, "c": 2, "": -1, "bb": -1, "x": -1} {
		if got := g.Index(id); got != want {
			t.Errorf("Index(%q) = %d, want %d", id, got, want)
		}
	}
	if e := g.Edge(0, 2); e < 0 || g.Target(e) != 2 {
		t.Errorf("Edge(a, c) = %d", e)
	}
	if e := g.Edge(1, 0); e != -1 {
		t.Errorf("Edge(b, a) = %d, want -1", e)
	}
	if _, err := BuildGraph([]GraphNode{{"a", "A", true}, {"a", "B", true}}, nil); err == nil {
		t.Error("duplicate node id: no error")
	}
}

// TestGraphBuilderOrder: sources added in any order make the graph that
// adding them in node order does, which is what lets a backend stream
// links in its own key order.
func TestGraphBuilderOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var nodes []GraphNode
	for i := range 300 {
		nodes = append(nodes, GraphNode{fmt.Sprintf("doc:%03d", i), fmt.Sprintf("Title %d", i), i%7 != 0})
	}
	edges := make([][]GraphEdge, len(nodes))
	for s := range edges {
		for range rng.IntN(12) {
			a := fmt.Sprintf("t%d", rng.IntN(5))
			sent := "no anchor here"
			if rng.IntN(3) > 0 {
				sent = "with " + a + " inside"
			}
			edges[s] = append(edges[s], GraphEdge{int32(rng.IntN(len(nodes))), a, sent})
		}
	}
	build := func(order []int) *Graph {
		b, err := NewGraphBuilder(append([]GraphNode(nil), nodes...))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range order {
			if err := b.AddEdges(s, append([]GraphEdge(nil), edges[s]...)); err != nil {
				t.Fatal(err)
			}
		}
		return b.Graph()
	}
	inOrder := make([]int, len(nodes))
	for i := range inOrder {
		inOrder[i] = i
	}
	shuffled := append([]int(nil), inOrder...)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	a, b := build(inOrder), build(shuffled)
	if ok, d := b.Equal(a); !ok {
		t.Errorf("shuffled sources: %s", d)
	}
	if a.EdgeCount() == 0 {
		t.Fatal("no edges")
	}

	bl, _ := NewGraphBuilder(append([]GraphNode(nil), nodes...))
	if err := bl.AddEdges(3, nil); err != nil {
		t.Fatal(err)
	}
	if err := bl.AddEdges(3, nil); err == nil {
		t.Error("a source added twice: no error")
	}
	if err := bl.AddEdges(len(nodes), nil); err == nil {
		t.Error("a source out of range: no error")
	}
}

// TestGraphIsCompact: a graph costs about four bytes and a bit per edge,
// and per node its id and title with a few words, whatever its links'
// evidence held; so enwiki's 6.9M nodes and ~170M edges take about 1 GB.
func TestGraphIsCompact(t *testing.T) {
	const n, deg = 20000, 25
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g := compactTestGraph(t, n, deg)
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	limit := int64(5*g.EdgeCount()) + 64*int64(g.NodeCount())
	if held > limit || g.EdgeCount() < n*deg*9/10 {
		t.Errorf("a graph of %d nodes and %d edges holds %d bytes of heap, want at most %d", g.NodeCount(), g.EdgeCount(), held, limit)
	}
	t.Logf("%d nodes, %d edges: %d bytes held, limit %d", g.NodeCount(), g.EdgeCount(), held, limit)
	runtime.KeepAlive(g)
}

// compactTestGraph builds a graph whose every link has a long sentence,
// none of which should stay in memory.
func compactTestGraph(t *testing.T, n, deg int) *Graph {
	rng := rand.New(rand.NewPCG(3, 4))
	nodes := make([]GraphNode, n)
	for i := range nodes {
		nodes[i] = GraphNode{fmt.Sprintf("genwiki:%d", i), fmt.Sprintf("Article %d", i), true}
	}
	b, err := NewGraphBuilder(nodes)
	if err != nil {
		t.Fatal(err)
	}
	for s := range n {
		es := make([]GraphEdge, deg)
		for k := range es {
			es[k] = GraphEdge{int32(rng.IntN(n)), "sentence", fmt.Sprintf("a long evidence sentence %d of node %d, one of many", k, s)}
		}
		if err := b.AddEdges(s, es); err != nil {
			t.Fatal(err)
		}
	}
	return b.Graph()
}
