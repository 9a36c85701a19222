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
