package trajectory

import "testing"

func TestFailKind(t *testing.T) {
	tests := []struct{ reason, want string }{
		{FailLLMErrorPrefix + "503 Service Unavailable: try again", "llm_error"},
		{FailRollbacks, FailRollbacks},
		{"", "unknown"},
	}
	for _, tc := range tests {
		if got := FailKind(tc.reason); got != tc.want {
			t.Errorf("FailKind(%q) = %q, want %q", tc.reason, got, tc.want)
		}
	}
}

func TestNoSFTReason(t *testing.T) {
	correct := Judged{Verdict: Verdict{Correct: true}}
	tests := []struct {
		name string
		js   []Judged
		want string
	}{
		{"no rollouts", nil, "no_rollouts"},
		{"none correct", []Judged{{}, {}}, "no_correct_rollout"},
		{"a correct one", []Judged{{}, correct}, "no_clean_correct_rollout"},
	}
	for _, tc := range tests {
		if got := NoSFTReason(tc.js); got != tc.want {
			t.Errorf("%s: NoSFTReason = %q, want %q", tc.name, got, tc.want)
		}
	}
}
