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
