package names

import "testing"

func TestStripParenthetical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Mercury (planet)", "Mercury"},
		{"Mercury", "Mercury"},
		{"(Untitled)", "(Untitled)"},
		{"Up (2009 film) ", "Up"},
		{"Rome (Georgia)", "Rome"},
	}
	for _, tt := range tests {
		if got := StripParenthetical(tt.in); got != tt.want {
			t.Errorf("StripParenthetical(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
