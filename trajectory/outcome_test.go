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
