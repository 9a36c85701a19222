package sample

import (
	"math"

	"github.com/miroverse/miroverse/kg"
)

// shares enforces Options.MaxNodeShare and Options.MaxAnswerShare. Its maps
// hold only documents on accepted walks (at most Walks × (MaxHops+1)
// entries), never one entry per graph node, so its memory follows the
// sample and not the corpus. A nil *shares caps nothing.
type shares struct {
	nodeCap, answerCap int // 0: no cap
	onWalks            map[int]int
	answers            map[int]int
	// atCap and answerAtCap hold the documents at their caps, for full
	// and answerFull: every step asks about every candidate, and these
	// stay small (often empty) where onWalks and answers grow with the
	// sample.
	atCap, answerAtCap map[int]bool
	// strata are the answer strata (answerStratum) accepted walks end in;
	// spread is set when MaxAnswerShare asks the last step to prefer
	// new ones.
	strata map[stratum]bool
	spread bool
	// scratch buffers of prefer, reused across steps.
	newStratum, newAnswer []int
}

// newShares returns the caps of opt, or nil when it sets none.
func newShares(opt Options) *shares {
	if opt.MaxNodeShare == 0 && opt.MaxAnswerShare == 0 {
		return nil
	}
	return &shares{
		nodeCap:     ShareCap(opt.MaxNodeShare, opt.Walks),
		answerCap:   ShareCap(opt.MaxAnswerShare, opt.Walks),
		onWalks:     map[int]int{},
		answers:     map[int]int{},
		atCap:       map[int]bool{},
		answerAtCap: map[int]bool{},
		strata:      map[stratum]bool{},
		spread:      opt.MaxAnswerShare > 0,
	}
}

// ShareCap is how many of walks one document may be on under a share cap
// (Options.MaxNodeShare, MaxAnswerShare): ceil(share × walks), at least 1
// so that a tiny sample can still use every document once; 0 when share
// is 0 (no cap).
func ShareCap(share float64, walks int) int {
	if share <= 0 {
		return 0
	}
	// The product is rounded to 9 decimals first: 0.1 × 30 is
	// 3.0000000000000004 in floating point, whose ceiling would be 4.
	return max(1, int(math.Ceil(math.Round(share*float64(walks)*1e9)/1e9)))
}

// full reports whether document n is on its share of walks already.
func (s *shares) full(n int) bool {
	return s != nil && len(s.atCap) > 0 && s.atCap[n]
}

// answerFull reports whether as many walks as allowed end on n already.
func (s *shares) answerFull(n int) bool {
	return s != nil && len(s.answerAtCap) > 0 && s.answerAtCap[n]
}

// over names the cap that accepting path would break ("" for none).
func (s *shares) over(path []int) string {
	if s == nil {
		return ""
	}
	for _, n := range path {
		if s.full(n) {
			return SkipNodeShare
		}
	}
	if s.answerFull(path[len(path)-1]) {
		return SkipAnswerShare
	}
	return ""
}

// add counts an accepted walk whose answer is in stratum.
func (s *shares) add(path []int, st stratum) {
	if s == nil {
		return
	}
	for _, n := range path {
		s.onWalks[n]++
		if s.nodeCap > 0 && s.onWalks[n] >= s.nodeCap {
			s.atCap[n] = true
		}
	}
	a := path[len(path)-1]
	s.answers[a]++
	if s.answerCap > 0 && s.answers[a] >= s.answerCap {
		s.answerAtCap[a] = true
	}
	s.strata[st] = true
}

// prefer narrows the last step's candidate edges to those whose target
// opens a new answer stratum, else to those whose target no walk ends on
// yet, else leaves them all: on a small graph the uniform pick keeps
// landing on the same few pages, which makes the same few answers.
// The result aliases a scratch buffer or cands; it is in cands' order so
// the draw stays a function of the graph and the seed.
func (s *shares) prefer(g *kg.Graph, cands []int, stratumOf func(int) stratum) []int {
	if s == nil || !s.spread {
		return cands
	}
	s.newStratum, s.newAnswer = s.newStratum[:0], s.newAnswer[:0]
	for _, e := range cands {
		n := g.Target(e)
		if !s.strata[stratumOf(n)] {
			s.newStratum = append(s.newStratum, e)
		}
		if s.answers[n] == 0 {
			s.newAnswer = append(s.newAnswer, e)
		}
	}
	switch {
	case len(s.newStratum) > 0:
		return s.newStratum
	case len(s.newAnswer) > 0:
		return s.newAnswer
	}
	return cands
}

// answerStratum is the stratum of a walk's last document: its primary
// category when the seed pool looked it up ("" otherwise: answers need no
// lookups of their own) and its degree band, with documents that link
// nowhere in a band of their own (-1). It is a value, not a string, because
// the last step asks it of every candidate.
func answerStratum(g *kg.Graph, primary map[int]string, n int) stratum {
	b := -1
	if d := g.Degree(n); d > 0 {
		b = band(d)
	}
	return stratum{primary[n], b}
}
