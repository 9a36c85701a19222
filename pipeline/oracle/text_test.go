package oracle

import (
	"slices"
	"testing"
)

func TestSentences(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"One. Two! Three? four.", []string{"One.", "Two!", "Three? four."}},
		{"J. R. R. Tolkien wrote it. Mr. Smith agreed.", []string{"J. R. R. Tolkien wrote it.", "Mr. Smith agreed."}},
		{"He said \"Stop.\" Then he left.", []string{"He said \"Stop.\"", "Then he left."}},
		{"Built in 1990. 2001 was later.", []string{"Built in 1990.", "2001 was later."}},
		{"# Title\n\nLine one\nLine two. Next", []string{"Line one", "Line two.", "Next"}},
		{"Pi is 3.14 exactly.", []string{"Pi is 3.14 exactly."}},
	}
	for _, tc := range tests {
		if got := sentences(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("sentences(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSections(t *testing.T) {
	text := "Intro text.\n\n## Information to extract\nthe facts\n\n## Page\nline 1\n## Information to extract\n## Page\nline 2"
	got := sections(text, "## Information to extract", "## Page")
	if got["## Information to extract"] != "the facts" {
		t.Errorf("info = %q", got["## Information to extract"])
	}
	// The page is the last section: headings inside it are page text.
	if want := "line 1\n## Information to extract\n## Page\nline 2"; got["## Page"] != want {
		t.Errorf("page = %q, want %q", got["## Page"], want)
	}
}

func TestClipRunes(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"one two three four five", 12, "one two…"},
		{"abcdefghijklmnop", 8, "abcdefg…"},
		{"ąęśćżźół ąęś", 9, "ąęśćżźół…"},
	}
	for _, tc := range tests {
		if got := clipRunes(tc.in, tc.n); got != tc.want {
			t.Errorf("clipRunes(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
