package text

import (
	"strings"
	"testing"
)

func TestStem(t *testing.T) {
	tests := []struct{ in, want string }{
		{"films", "film"}, {"founded", "found"}, {"studies", "studi"}, {"study", "study"},
		{"running", "run"}, {"boxes", "box"}, {"glass", "glass"}, {"genus", "genus"},
		{"paris", "paris"}, {"king", "king"}, {"stopped", "stop"}, {"called", "call"},
	}
	for _, tt := range tests {
		if got := Stem(tt.in); got != tt.want {
			t.Errorf("Stem(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := strings.Join(ContentWords("Which films were directed by the man?"), " "); got != "film direct man" {
		t.Errorf("ContentWords = %q", got)
	}
}
