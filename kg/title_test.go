package kg

import "testing"

func TestEscapeTitle(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Albert Einstein", "Albert_Einstein"},
		{"AC/DC", "AC/DC"},
		{"AT&T", "AT&T"},
		{"C++", "C++"},
		{"Café", "Café"},
		{"What?", "What%3F"},
		{"100% (song)", "100%25_(song)"},
		{"A#B", "A%23B"},
		{`Quote "x"`, "Quote_%22x%22"},
		{"a[b]{c}|d", "a%5Bb%5D%7Bc%7D%7Cd"},
	}
	for _, tt := range tests {
		if got := EscapeTitle(tt.in); got != tt.want {
			t.Errorf("EscapeTitle(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCanonicalURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://en.wikipedia.org/wiki/Albert_Einstein", "https://en.wikipedia.org/wiki/Albert_Einstein"},
		{"https://en.wikipedia.org/wiki/Albert Einstein", "https://en.wikipedia.org/wiki/Albert_Einstein"},
		{"HTTPS://EN.Wikipedia.org/wiki/Albert%20Einstein#Life", "https://en.wikipedia.org/wiki/Albert_Einstein"},
		{"https://en.wikipedia.org/wiki/Caf%C3%A9", "https://en.wikipedia.org/wiki/Café"},
		{"https://en.wikipedia.org/wiki/AC%2FDC", "https://en.wikipedia.org/wiki/AC/DC"},
		{"https://en.wikipedia.org/wiki/100%25", "https://en.wikipedia.org/wiki/100%25"},
		{"https://en.wikipedia.org/wiki/100%", "https://en.wikipedia.org/wiki/100%25"},
		{"https://en.wikipedia.org/wiki/What%3F", "https://en.wikipedia.org/wiki/What%3F"},
		{"https://x.org/w/index.php?title=A_b&oldid=1", "https://x.org/w/index.php?title=A_b&oldid=1"},
		{"https://x.org/bad%FF", "https://x.org/bad%FF"},
		{"https://x.org", "https://x.org/"},
		{"https://X.org:443/a#b", "https://x.org/a"},
		{"http://x.org:80", "http://x.org/"},
		{"http://x.org:8080/a", "http://x.org:8080/a"},
		{"https://x.org?q=1", "https://x.org/?q=1"},
		{" no scheme ", "no scheme"},
	}
	for _, tt := range tests {
		if got := CanonicalURL(tt.in); got != tt.want {
			t.Errorf("CanonicalURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUpperFirst(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""}, {"a", "A"}, {"Ab", "Ab"}, {"ǆemal", "Ǆemal"}, {"ɛda", "Ɛda"}, {"1st", "1st"}, {"\xff", "\xff"},
	}
	for _, tt := range tests {
		if got := UpperFirst(tt.in); got != tt.want {
			t.Errorf("UpperFirst(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
