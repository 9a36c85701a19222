package gates

// Reasons of a kept question left out of the SFT and DPO rows because its
// rollouts' pass rate lies outside the difficulty band.
const (
	ReasonTooHard = "difficulty:too_hard"
	ReasonTooEasy = "difficulty:too_easy"
)

// MinRolloutsForBand is the fewest rollouts at which the default band
// drops questions that every rollout solved or every rollout missed: with
// fewer the pass rate is too coarse to judge.
const MinRolloutsForBand = 4

// OutsideBand says why a question whose rollouts were correct correct
// times out of n lies outside the difficulty band, "" when it is inside.
// band is [lo, hi] on the pass rate, both ends inside; empty is the default
// band, which keeps every question but those all of whose (at least
// MinRolloutsForBand) rollouts agree, since they teach either nothing or
// nothing new. A question without rollouts is never outside.
func OutsideBand(correct, n int, band []float64) string {
	if n == 0 {
		return ""
	}
	rate := float64(correct) / float64(n)
	lo, hi := 0.0, 1.0
	if len(band) == 2 {
		lo, hi = band[0], band[1]
	} else if n >= MinRolloutsForBand {
		switch correct {
		case 0:
			return ReasonTooHard
		case n:
			return ReasonTooEasy
		}
	}
	switch {
	case rate < lo:
		return ReasonTooHard
	case rate > hi:
		return ReasonTooEasy
	}
	return ""
}
