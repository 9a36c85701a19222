package pipeline

import (
	"cmp"
	"slices"

	"github.com/miroverse/miroverse/internal/text"
	"github.com/miroverse/miroverse/qa"
)

// Diversity says how spread a stage's walks or kept questions are. A
// sample can have all its counts right and still be about one page: on
// fatwiki, before sample.max_node_share, 141 of 200 walks went through one
// party and they ended on 12 answers. These figures make that visible.
type Diversity struct {
	// Items is how many walks (sample) or kept questions (qa) it is over.
	Items           int64 `json:"items"`
	DistinctAnswers int64 `json:"distinct_answers"` // distinct last documents
	// TopNode is the document on the most items (as seed, bridge or
	// answer; ties by id), TopNodeItems how many, TopNodeShare that over
	// Items. The sample's cap is over the walks asked for, so a graph
	// that gave fewer can show a share above it.
	TopNode      string  `json:"top_node,omitempty"`
	TopNodeTitle string  `json:"top_node_title,omitempty"`
	TopNodeItems int64   `json:"top_node_items"`
	TopNodeShare float64 `json:"top_node_share"`
	// NodeCap (sample) is the most walks a document may be on,
	// ceil(sample.max_node_share × sample.walks); 0 when uncapped.
	NodeCap int64 `json:"node_cap,omitempty"`
	// DistinctFinalClauses counts the distinct last clauses (folded) of
	// the kept questions that list their clauses (qa.Item.Clauses): the
	// part that asks for the answer. Few of them means one template.
	DistinctFinalClauses int64 `json:"distinct_final_clauses,omitempty"`
}

// spread accumulates a Diversity; its maps hold the documents on the
// items, not the corpus.
type spread struct {
	d       Diversity
	on      map[string]int64
	titles  map[string]string
	answers map[string]bool
	clauses map[string]bool
}

func newSpread() *spread {
	return &spread{on: map[string]int64{}, titles: map[string]string{}, answers: map[string]bool{}, clauses: map[string]bool{}}
}

// add counts one item: its answer (a key: doc id or folded name), the
// documents it is on (titles alongside) and its clauses.
func (s *spread) add(answer string, docIDs, titles []string, clauses []string) {
	s.d.Items++
	for i, id := range docIDs {
		if slices.Contains(docIDs[:i], id) { // an imported item may list a paragraph's page twice
			continue
		}
		s.on[id]++
		if i < len(titles) {
			s.titles[id] = titles[i]
		}
	}
	if answer != "" {
		s.answers[answer] = true
	}
	if len(clauses) > 0 {
		if c := text.FoldName(clauses[len(clauses)-1]); c != "" {
			s.clauses[c] = true
		}
	}
}

// result is the Diversity of what was added.
func (s *spread) result() *Diversity {
	d := s.d
	d.DistinctAnswers, d.DistinctFinalClauses = int64(len(s.answers)), int64(len(s.clauses))
	for id, n := range s.on {
		if n > d.TopNodeItems || (n == d.TopNodeItems && cmp.Less(id, d.TopNode)) {
			d.TopNode, d.TopNodeItems = id, n
		}
	}
	d.TopNodeTitle = s.titles[d.TopNode]
	if d.Items > 0 {
		d.TopNodeShare = float64(d.TopNodeItems) / float64(d.Items)
	}
	return &d
}

// walkDiversity is the spread of the sample's walks.
func walkDiversity(ws []qa.Walk) *Diversity {
	s := newSpread()
	for _, w := range ws {
		if len(w.DocIDs) > 0 {
			s.add(w.DocIDs[len(w.DocIDs)-1], w.DocIDs, w.Titles, nil)
		}
	}
	return s.result()
}

// keptDiversity is the spread of the kept questions; imported ones count
// too (their documents are the dataset's). Answers are told apart by their
// folded text, since an imported question's last document is a supporting
// paragraph rather than its answer.
func keptDiversity(items []qa.Item) *Diversity {
	s := newSpread()
	for _, it := range items {
		if it.Status != qa.StatusKept {
			continue
		}
		answer := text.FoldName(it.Answer)
		if answer == "" && len(it.DocIDs) > 0 {
			answer = it.DocIDs[len(it.DocIDs)-1]
		}
		s.add(answer, it.DocIDs, it.Titles, it.Clauses)
	}
	return s.result()
}

// gateRates are, per reject reason, the rejected questions over all
// candidates: what each gate costs.
func gateRates(st *StageStats) map[string]float64 {
	if st.In == 0 || len(st.Rejected) == 0 {
		return nil
	}
	rates := make(map[string]float64, len(st.Rejected))
	for r, n := range st.Rejected {
		rates[r] = float64(n) / float64(st.In)
	}
	return rates
}
