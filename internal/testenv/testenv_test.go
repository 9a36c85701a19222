package testenv

import (
	"strings"
	"testing"
)

func TestNeed(t *testing.T) {
	tests := []struct {
		name, ci, value, want string
	}{
		{"missing outside CI", "", "", "skip"},
		{"missing under CI", "true", "", "fatal"},
		{"CI set to something else", "1", "", "skip"},
		{"present under CI", "true", "bolt://127.0.0.1:7687", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			t.Setenv("MIROVERSE_TESTENV_PROBE", tt.value)
			var got string
			ended, msg := Probe(t, func(tb testing.TB) { got = Need(tb, "MIROVERSE_TESTENV_PROBE", "start it with scripts/probe") })
			if ended != tt.want {
				t.Errorf("ended with %q (%s), want %q", ended, msg, tt.want)
			}
			if tt.want != "" && (!strings.Contains(msg, "MIROVERSE_TESTENV_PROBE") || !strings.Contains(msg, "scripts/probe")) {
				t.Errorf("message %q does not name the variable and how to set it", msg)
			}
			if tt.want == "" && got != tt.value {
				t.Errorf("Need = %q, want %q", got, tt.value)
			}
		})
	}
}
