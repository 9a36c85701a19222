package qa

import (
	"context"
	"slices"
	"strings"
)

// Gates are the gates of written questions in the order they run: the
// contamination gate on each question as soon as it is written, then the
// near-duplicate gate over all of them, then the LLM gates (Verifier) on
// what is left. The text gates come first so that a contaminated or
// duplicated question costs no verifier calls. Any gate may be absent.
type Gates struct {
	Contamination *Contamination
	Dedup         *Dedup
	Verifier      Verifier
}

// Screen runs the gate that needs nothing but the question itself: a kept
// question that matches a benchmark becomes rejected "contaminated".
func (g Gates) Screen(it *Item) {
	if g.Contamination == nil || it.Status != StatusKept {
		return
	}
	if m, bad := g.Contamination.Check(it.Question); bad {
		it.Status, it.Reason, it.Detail = StatusRejected, ReasonContaminated, m.Detail()
	}
}

// MarkNearDuplicates rejects the near duplicates among items, the lower id
// kept, updating items in place, and returns the items it changed. items
// are every question written so far, whatever their state. It is a pure
// function of them, so a resumed stage marks the same ones: a question the
// LLM gates have judged since (Verified) was kept at this point of the
// first run and takes part as such, and stays as they left it.
func (g Gates) MarkNearDuplicates(items []Item) []Item {
	view := slices.Clone(items)
	for i := range view {
		if view[i].Verified {
			view[i].Status = StatusKept
		}
	}
	var changed []Item
	for _, i := range ApplyTextGates(view, g.Contamination, g.Dedup) {
		if items[i].Status != StatusKept {
			continue // judged by the LLM gates already: it was no duplicate then
		}
		items[i] = view[i]
		changed = append(changed, items[i])
	}
	return changed
}

// AwaitsVerdict reports whether the LLM gates have still to judge it: a
// kept question they have not seen, written from a walk (hasWalk; an
// imported question has none to check against).
func AwaitsVerdict(it Item, hasWalk bool) bool {
	return it.Status == StatusKept && !it.Verified && hasWalk
}

// Verify runs the LLM gates on it (see Verifier.Check) and marks it
// Verified, whatever they decided. An error leaves its fate unknown: it
// must be judged again.
func (g Gates) Verify(ctx context.Context, walk Walk, it *Item) error {
	if _, _, err := g.Verifier.Check(ctx, walk, it); err != nil {
		return err
	}
	it.Verified = true
	return nil
}

// ScreenImports runs the text gates over imported questions (see
// ApplyTextGates) after the kept questions of earlier, in id order: those
// stay kept, since new questions are checked against them, never the
// reverse.
func (g Gates) ScreenImports(items, earlier []Item) {
	if g.Dedup != nil {
		kept := slices.Clone(earlier)
		slices.SortFunc(kept, func(a, b Item) int { return strings.Compare(a.ID, b.ID) })
		for _, it := range kept {
			if it.Status == StatusKept {
				g.Dedup.Add(it.ID, it.Question)
			}
		}
	}
	ApplyTextGates(items, g.Contamination, g.Dedup)
}
