package gates

import (
	"context"
	"slices"
	"strings"

	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/qa/verify"
)

// Order holds the gates of written questions in the order they run: the
// contamination gate on each question as soon as it is written, then the
// near-duplicate gate over all of them, then the LLM gates (LLM) on
// what is left. The text gates come first so that a contaminated or
// duplicated question costs no verifier calls. Any gate may be absent.
type Order struct {
	Contamination *Contamination
	Dedup         *Dedup
	LLM           verify.Gates
}

// Screen runs the gate that needs nothing but the question itself: a kept
// question that matches a benchmark, or that the decontam judge finds a
// paraphrase of one, becomes rejected "contaminated". A judge that cannot
// be asked (after the client's retries) leaves the question failed
// (qa.ReasonDecontamError), as the verifier's errors do: an unchecked
// question must not pass as clean. The verdict is committed with the item,
// so a resumed run does not ask again.
func (g Order) Screen(ctx context.Context, it *qa.Item) {
	if g.Contamination == nil || it.Status != qa.StatusKept {
		return
	}
	m, bad, err := g.Contamination.CheckContext(ctx, it.Question)
	switch {
	case err != nil:
		it.Status, it.Reason, it.Detail = qa.StatusFailed, qa.ReasonDecontamError, err.Error()
	case bad:
		it.Status, it.Reason, it.Detail = qa.StatusRejected, qa.ReasonContaminated, m.Detail()
	}
}

// MarkNearDuplicates rejects the near duplicates among items, the lower id
// kept, updating items in place, and returns the items it changed. items
// are every question written so far, whatever their state. It is a pure
// function of them, so a resumed stage marks the same ones: a question the
// LLM gates have judged since (Verified) was kept at this point of the
// first run and takes part as such, and stays as they left it.
func (g Order) MarkNearDuplicates(items []qa.Item) []qa.Item {
	view := slices.Clone(items)
	for i := range view {
		if view[i].Verified {
			view[i].Status = qa.StatusKept
		}
	}
	var changed []qa.Item
	for _, i := range applyTextGates(view, g.Contamination, g.Dedup) {
		if items[i].Status != qa.StatusKept {
			continue // judged by the LLM gates already: it was no duplicate then
		}
		items[i] = view[i]
		changed = append(changed, items[i])
	}
	return changed
}

// MarkNearDuplicatesAfter is MarkNearDuplicates for questions whose LLM
// gates ran before the near-duplicate gate could see them all: the shards
// of a sharded run judge their own questions, and only the commit step
// sees every shard's. written holds each judged question as it was before
// the LLM gates (Verified false); a judged question that turns out a near
// duplicate becomes that version, rejected, exactly what one process that
// ran the gates in their order would have committed, and its verdicts are
// dropped. The items it returns include such questions.
func (g Order) MarkNearDuplicatesAfter(items []qa.Item, written map[string]qa.Item) []qa.Item {
	view := slices.Clone(items)
	for i := range view {
		if !view[i].Verified {
			continue
		}
		if w, ok := written[view[i].ID]; ok {
			view[i] = w
		}
		view[i].Status = qa.StatusKept
	}
	var changed []qa.Item
	for _, i := range applyTextGates(view, g.Contamination, g.Dedup) {
		items[i] = view[i]
		changed = append(changed, items[i])
	}
	return changed
}

// AwaitsVerdict reports whether the LLM gates have still to judge it: a
// kept question they have not seen, written from a walk (hasWalk; an
// imported question has none to check against).
func AwaitsVerdict(it qa.Item, hasWalk bool) bool {
	return it.Status == qa.StatusKept && !it.Verified && hasWalk
}

// Verify runs the LLM gates on it (see verify.Gates.Check) and marks it
// Verified, whatever they decided. An error leaves its fate unknown: it
// must be judged again.
func (g Order) Verify(ctx context.Context, walk qa.Walk, it *qa.Item) error {
	if _, _, err := g.LLM.Check(ctx, walk, it); err != nil {
		return err
	}
	it.Verified = true
	return nil
}

// ScreenImports runs the text gates over imported questions (Screen, then
// applyTextGates) after the kept questions of earlier, in id order: those
// stay kept, since new questions are checked against them, never the
// reverse.
func (g Order) ScreenImports(ctx context.Context, items, earlier []qa.Item) {
	for i := range items {
		g.Screen(ctx, &items[i])
	}
	if g.Dedup != nil {
		kept := slices.Clone(earlier)
		slices.SortFunc(kept, func(a, b qa.Item) int { return strings.Compare(a.ID, b.ID) })
		for _, it := range kept {
			if it.Status == qa.StatusKept {
				g.Dedup.Add(it.ID, it.Question, KeyOf(it))
			}
		}
	}
	applyTextGates(items, g.Contamination, g.Dedup)
}
