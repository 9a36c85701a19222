package clip

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAtWord(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"short enough", "Rome is old.", 12, "Rome is old."},
		{"cut at the last word boundary", "Rome is the capital city of Italy.", 20, "Rome is the…"},
		{"no boundary in the second half", "Constantinople was renamed.", 12, "Constantino…"},
		{"trailing punctuation dropped", "one, two, three, four", 11, "one, two…"},
		{"runes, not bytes", "Zürich, Genève, Köln", 9, "Zürich…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AtWord(tt.in, tt.n)
			if got != tt.want {
				t.Errorf("AtWord(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n > tt.n {
				t.Errorf("%d runes, want at most %d", n, tt.n)
			}
			if got != tt.in && !strings.HasSuffix(got, "…") {
				t.Errorf("cut not marked: %q", got)
			}
		})
	}
}
