package trajectory

import "strings"

// FailKind is the class of a failed rollout's FailReason, which reads
// "<kind>: <detail>" ("llm_error: …" → "llm_error"): what stage counts and
// examples are grouped by. An empty reason is "unknown".
func FailKind(reason string) string {
	if kind, _, ok := strings.Cut(reason, ":"); ok {
		return kind
	}
	if reason == "" {
		return "unknown"
	}
	return reason
}

// NoSFTReason says why BuildSFT gives a kept question no row: it has no
// rollouts, none of them is correct, or none of the correct ones is clean.
func NoSFTReason(js []Judged) string {
	if len(js) == 0 {
		return "no_rollouts"
	}
	for _, j := range js {
		if j.Verdict.Correct {
			return "no_clean_correct_rollout"
		}
	}
	return "no_correct_rollout"
}
