package kg

import (
	"fmt"
	"sort"
)

// Graph is an immutable compressed-sparse-row snapshot of the link graph.
// Nodes are sorted by doc id and each node's edges by target id, so a walk
// drawn from a seed is the same whichever backend produced the snapshot.
type Graph struct {
	IDs      []string
	Titles   []string
	Walkable []bool
	// Offsets has len(IDs)+1 entries; the edges of node i are
	// Targets[Offsets[i]:Offsets[i+1]].
	Offsets []int32
	Targets []int32
	// Evidence of each edge, parallel to Targets: the first link (by anchor,
	// then sentence) between the two documents.
	Anchors   []string
	Sentences []string
}

// NodeCount is the number of documents.
func (g *Graph) NodeCount() int { return len(g.IDs) }

// EdgeCount is the number of distinct (src, dst) pairs.
func (g *Graph) EdgeCount() int { return len(g.Targets) }

// Index returns the node index of a doc id, or -1.
func (g *Graph) Index(id string) int {
	i := sort.SearchStrings(g.IDs, id)
	if i < len(g.IDs) && g.IDs[i] == id {
		return i
	}
	return -1
}

// Edges returns the half-open range of node i's edges in Targets.
func (g *Graph) Edges(i int) (lo, hi int) { return int(g.Offsets[i]), int(g.Offsets[i+1]) }

// Degree is node i's out-degree.
func (g *Graph) Degree(i int) int { return int(g.Offsets[i+1] - g.Offsets[i]) }

// GraphNode is one document as a snapshot builder sees it.
type GraphNode struct {
	ID       string
	Title    string
	Walkable bool
}

// BuildGraph makes a snapshot from nodes and links in any order. Links whose
// ends are not among nodes, and self-links, are dropped; of several links
// between the same pair the smallest (anchor, sentence) is kept as evidence.
func BuildGraph(nodes []GraphNode, links []Link) (*Graph, error) {
	sort.Slice(nodes, func(a, b int) bool { return nodes[a].ID < nodes[b].ID })
	g := &Graph{
		IDs:      make([]string, len(nodes)),
		Titles:   make([]string, len(nodes)),
		Walkable: make([]bool, len(nodes)),
		Offsets:  make([]int32, len(nodes)+1),
	}
	for i, n := range nodes {
		if i > 0 && nodes[i-1].ID == n.ID {
			return nil, fmt.Errorf("build graph: duplicate node id %q", n.ID)
		}
		g.IDs[i], g.Titles[i], g.Walkable[i] = n.ID, n.Title, n.Walkable
	}
	type edge struct {
		src, dst         int32
		anchor, sentence string
	}
	edges := make([]edge, 0, len(links))
	for _, l := range links {
		s, d := g.Index(l.Src), g.Index(l.Dst)
		if s < 0 || d < 0 || s == d {
			continue
		}
		edges = append(edges, edge{int32(s), int32(d), l.Anchor, l.Sentence})
	}
	sort.Slice(edges, func(a, b int) bool {
		x, y := edges[a], edges[b]
		if x.src != y.src {
			return x.src < y.src
		}
		if x.dst != y.dst {
			return x.dst < y.dst
		}
		if x.anchor != y.anchor {
			return x.anchor < y.anchor
		}
		return x.sentence < y.sentence
	})
	for i, e := range edges {
		if i > 0 && edges[i-1].src == e.src && edges[i-1].dst == e.dst {
			continue
		}
		g.Targets = append(g.Targets, e.dst)
		g.Anchors = append(g.Anchors, e.anchor)
		g.Sentences = append(g.Sentences, e.sentence)
		g.Offsets[e.src+1]++
	}
	for i := 1; i < len(g.Offsets); i++ {
		g.Offsets[i] += g.Offsets[i-1]
	}
	return g, nil
}
