package kg

import (
	"fmt"
	"slices"
	"strings"
)

// Graph is an immutable compressed-sparse-row snapshot of the link graph,
// holding only what walks need: per node its id, title and whether walks
// may pass through it, per edge its target and one bit telling whether its
// evidence is usable (Evident). The evidence itself stays in the store
// (Reader.Link), so a graph of enwiki's size fits in memory: ids and titles
// are packed into one byte string each, edges cost four bytes and a bit.
//
// Nodes are sorted by doc id and each node's edges by target, so a walk
// drawn from a seed is the same whichever backend produced the snapshot.
type Graph struct {
	ids, titles packed
	walkable    []bool
	// offsets has NodeCount()+1 entries; the edges of node i are
	// targets[offsets[i]:offsets[i+1]].
	offsets []int32
	targets []int32
	evident []uint64 // bit e set: edge e's evidence is usable
}

// packed is a list of strings kept as one string and the offsets of its
// items: two words per item less than []string, and one allocation.
type packed struct {
	data string
	ends []uint32 // item i is data[ends[i-1]:ends[i]]
}

func (p *packed) at(i int) string {
	lo := uint32(0)
	if i > 0 {
		lo = p.ends[i-1]
	}
	return p.data[lo:p.ends[i]]
}

func pack(items []string) (packed, error) {
	var b strings.Builder
	ends := make([]uint32, len(items))
	for i, s := range items {
		if b.Len()+len(s) > 1<<32-1 {
			return packed{}, fmt.Errorf("pack %d strings: more than 4 GiB", len(items))
		}
		b.WriteString(s)
		ends[i] = uint32(b.Len())
	}
	return packed{data: b.String(), ends: ends}, nil
}

// NodeCount is the number of documents.
func (g *Graph) NodeCount() int { return len(g.walkable) }

// EdgeCount is the number of distinct (src, dst) pairs.
func (g *Graph) EdgeCount() int { return len(g.targets) }

// ID is node i's doc id.
func (g *Graph) ID(i int) string { return g.ids.at(i) }

// Title is node i's title.
func (g *Graph) Title(i int) string { return g.titles.at(i) }

// Walkable reports whether walks may pass through node i (Doc.Walkable).
func (g *Graph) Walkable(i int) bool { return g.walkable[i] }

// Index returns the node index of a doc id, or -1.
func (g *Graph) Index(id string) int {
	lo, hi := 0, g.NodeCount()
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if g.ID(m) < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < g.NodeCount() && g.ID(lo) == id {
		return lo
	}
	return -1
}

// Edges returns the half-open range of node i's edges.
func (g *Graph) Edges(i int) (lo, hi int) { return int(g.offsets[i]), int(g.offsets[i+1]) }

// Degree is node i's out-degree.
func (g *Graph) Degree(i int) int { return int(g.offsets[i+1] - g.offsets[i]) }

// Target is the node edge e leads to.
func (g *Graph) Target(e int) int { return int(g.targets[e]) }

// Evident reports whether edge e's evidence (Reader.Link) is usable: its
// sentence literally shows its non-empty anchor (see Evident).
func (g *Graph) Evident(e int) bool { return g.evident[e>>6]&(1<<(e&63)) != 0 }

// Edge finds the edge src→dst, or -1. Each node's targets are sorted, so
// it is a binary search.
func (g *Graph) Edge(src, dst int) int {
	lo, hi := g.Edges(src)
	i, ok := slices.BinarySearch(g.targets[lo:hi], int32(dst))
	if !ok {
		return -1
	}
	return lo + i
}

// Evident reports whether a link's evidence can carry a hop of a question:
// the sentence literally holds the non-empty anchor, so a question writer
// shown the sentence sees the link.
func Evident(anchor, sentence string) bool {
	return anchor != "" && sentence != "" && strings.Contains(sentence, anchor)
}

// GraphNode is one document as a snapshot builder sees it.
type GraphNode struct {
	ID       string
	Title    string
	Walkable bool
}

// GraphEdge is one link of a source as GraphBuilder.AddEdges sees it: the
// destination's node index and the link's evidence.
type GraphEdge struct {
	Dst              int32
	Anchor, Sentence string
}

// GraphBuilder makes a Graph from its nodes and then their links, source
// by source, so that a backend streaming links never holds more than one
// source's evidence. Sources may come in any order, each at most once.
type GraphBuilder struct {
	g    *Graph
	runs []edgeRun // where each source's edges went, in arrival order
	seen []bool    // sources added
}

// edgeRun is one source's edges in the arrival-order arrays.
type edgeRun struct{ src, lo, hi int32 }

// NewGraphBuilder sorts nodes by id (reordering the slice) and starts a
// graph of them; a repeated id is an error.
func NewGraphBuilder(nodes []GraphNode) (*GraphBuilder, error) {
	slices.SortFunc(nodes, func(a, b GraphNode) int { return strings.Compare(a.ID, b.ID) })
	ids := make([]string, len(nodes))
	titles := make([]string, len(nodes))
	g := &Graph{walkable: make([]bool, len(nodes))}
	for i, n := range nodes {
		if i > 0 && nodes[i-1].ID == n.ID {
			return nil, fmt.Errorf("build graph: duplicate node id %q", n.ID)
		}
		ids[i], titles[i], g.walkable[i] = n.ID, n.Title, n.Walkable
	}
	var err error
	if g.ids, err = pack(ids); err != nil {
		return nil, fmt.Errorf("build graph: ids: %w", err)
	}
	if g.titles, err = pack(titles); err != nil {
		return nil, fmt.Errorf("build graph: titles: %w", err)
	}
	return &GraphBuilder{g: g, seen: make([]bool, len(nodes))}, nil
}

// Index returns the node index of a doc id, or -1.
func (b *GraphBuilder) Index(id string) int { return b.g.Index(id) }

// AddEdges adds the links of node src, reordering edges. Of several to one
// destination the smallest (Anchor, Sentence) decides whether the edge is
// Evident; self-links and destinations out of range are dropped.
func (b *GraphBuilder) AddEdges(src int, edges []GraphEdge) error {
	g := b.g
	if src < 0 || src >= g.NodeCount() || b.seen[src] {
		return fmt.Errorf("build graph: edges of node %d added twice or out of range", src)
	}
	b.seen[src] = true
	slices.SortFunc(edges, func(x, y GraphEdge) int {
		if x.Dst != y.Dst {
			return int(x.Dst - y.Dst)
		}
		if c := strings.Compare(x.Anchor, y.Anchor); c != 0 {
			return c
		}
		return strings.Compare(x.Sentence, y.Sentence)
	})
	lo := len(g.targets)
	for k, e := range edges {
		if int(e.Dst) == src || e.Dst < 0 || int(e.Dst) >= g.NodeCount() || (k > 0 && edges[k-1].Dst == e.Dst) {
			continue
		}
		if len(g.targets) >= 1<<31-1 {
			return fmt.Errorf("build graph: more than %d edges", 1<<31-1)
		}
		n := len(g.targets)
		g.targets = append(g.targets, e.Dst)
		setBit(&g.evident, n, Evident(e.Anchor, e.Sentence))
	}
	if len(g.targets) > lo {
		b.runs = append(b.runs, edgeRun{int32(src), int32(lo), int32(len(g.targets))})
	}
	return nil
}

func setBit(bits *[]uint64, i int, v bool) {
	if i>>6 >= len(*bits) {
		*bits = append(*bits, 0)
	}
	if v {
		(*bits)[i>>6] |= 1 << (i & 63)
	}
}

// Graph ends the building, putting the edges in node order; the builder
// may not be used after it.
func (b *GraphBuilder) Graph() *Graph {
	g := b.g
	b.g = nil
	if !slices.IsSortedFunc(b.runs, func(x, y edgeRun) int { return int(x.src - y.src) }) {
		slices.SortFunc(b.runs, func(x, y edgeRun) int { return int(x.src - y.src) })
		targets := make([]int32, 0, len(g.targets))
		var evident []uint64
		for _, r := range b.runs {
			for e := r.lo; e < r.hi; e++ {
				setBit(&evident, len(targets), g.Evident(int(e)))
				targets = append(targets, g.targets[e])
			}
		}
		g.targets, g.evident = targets, evident
	}
	g.offsets = make([]int32, g.NodeCount()+1)
	for _, r := range b.runs {
		g.offsets[r.src+1] = r.hi - r.lo
	}
	for i := 1; i < len(g.offsets); i++ {
		g.offsets[i] += g.offsets[i-1]
	}
	g.targets = slices.Clip(g.targets)
	g.evident = slices.Clip(g.evident)
	return g
}

// BuildGraph makes a snapshot from nodes and links in any order. Links whose
// ends are not among nodes, and self-links, are dropped; of several links
// between the same pair the smallest (anchor, sentence) is the evidence.
func BuildGraph(nodes []GraphNode, links []Link) (*Graph, error) {
	b, err := NewGraphBuilder(nodes)
	if err != nil {
		return nil, err
	}
	bySrc := make([][]GraphEdge, len(nodes))
	for _, l := range links {
		s, d := b.Index(l.Src), b.Index(l.Dst)
		if s < 0 || d < 0 {
			continue
		}
		bySrc[s] = append(bySrc[s], GraphEdge{int32(d), l.Anchor, l.Sentence})
	}
	for s, es := range bySrc {
		if err := b.AddEdges(s, es); err != nil {
			return nil, err
		}
	}
	return b.Graph(), nil
}

// Equal reports whether two graphs hold the same nodes and edges, and
// otherwise names the first difference.
func (g *Graph) Equal(o *Graph) (bool, string) {
	if g.NodeCount() != o.NodeCount() || g.EdgeCount() != o.EdgeCount() {
		return false, fmt.Sprintf("%d nodes and %d edges, want %d and %d", g.NodeCount(), g.EdgeCount(), o.NodeCount(), o.EdgeCount())
	}
	for i := range g.NodeCount() {
		if g.ID(i) != o.ID(i) || g.Title(i) != o.Title(i) || g.walkable[i] != o.walkable[i] || g.Degree(i) != o.Degree(i) {
			return false, fmt.Sprintf("node %d is %q %q walkable=%v degree %d, want %q %q walkable=%v degree %d",
				i, g.ID(i), g.Title(i), g.walkable[i], g.Degree(i), o.ID(i), o.Title(i), o.walkable[i], o.Degree(i))
		}
	}
	for e := range g.EdgeCount() {
		if g.targets[e] != o.targets[e] || g.Evident(e) != o.Evident(e) {
			return false, fmt.Sprintf("edge %d leads to %q evident=%v, want %q evident=%v",
				e, g.ID(g.Target(e)), g.Evident(e), o.ID(o.Target(e)), o.Evident(e))
		}
	}
	return true, ""
}
