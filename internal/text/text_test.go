package text

import (
	"math"
	"testing"
)

func TestNormalizeAnswer(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"The Eiffel Tower", "eiffel tower"},
		{"  a   b  ", "b"},
		{"An Apple a day", "apple day"},
		{"U.S.A.", "usa"},
		{"1,000", "1000"},
		{"Jean-Paul Sartre", "jean paul sartre"},
		{"Zürich", "zurich"},
		{"ＡＢＣ　１２３", "abc 123"}, // full-width forms fold under NFKC
		{"\"Hello,\tworld!\"", "hello world"},
		{"theatre", "theatre"}, // articles only as whole words
		{"が", "が"},             // marks of non-Latin scripts stay
		{"$100 + 5%", "100 5"},
	}
	for _, tt := range tests {
		if got := NormalizeAnswer(tt.in); got != tt.want {
			t.Errorf("NormalizeAnswer(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTokenF1(t *testing.T) {
	tests := []struct {
		pred, gold string
		want       float64
	}{
		{"Paris", "paris", 1},
		{"the Paris", "Paris.", 1},
		{"Paris France", "Paris", 2 * 0.5 * 1 / 1.5},
		{"London", "Paris", 0},
		{"", "Paris", 0},
		{"Paris", "", 0},
		{"the", "a", 0}, // both empty after normalization: no match
		{"new new york", "new york", 2 * (2.0 / 3) * 1 / (2.0/3 + 1)},
	}
	for _, tt := range tests {
		if got := TokenF1(tt.pred, tt.gold); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("TokenF1(%q, %q) = %v, want %v", tt.pred, tt.gold, got, tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"  Rome  ", "rome"},
		{"Jean-Paul  Sartre!", "jean paul sartre"},
		{"Zürich, Genève", "zurich geneve"},
		{"Straße Œuvre Ørsted", "strasse oeuvre orsted"},
		{"AT&T (company)", "at t company"},
		{"1984 (novel)", "1984 novel"},
	}
	for _, tt := range tests {
		if got := FoldName(tt.in); got != tt.want {
			t.Errorf("FoldName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSections(t *testing.T) {
	text := "Intro text.\n\n## Information to extract\nthe facts\n\n## Page\nline 1\n## Information to extract\n## Page\nline 2"
	got := Sections(text, "## Information to extract", "## Page")
	if got["## Information to extract"] != "the facts" {
		t.Errorf("info = %q", got["## Information to extract"])
	}
	// The page is the last section: headings inside it are page text.
	if want := "line 1\n## Information to extract\n## Page\nline 2"; got["## Page"] != want {
		t.Errorf("page = %q, want %q", got["## Page"], want)
	}
}
