package kg

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NormalizeTitle puts an article title into the form MediaWiki stores it in,
// so that a link target written by hand ("foo_bar#History") matches the page
// title ("Foo bar"): entities and percent-escapes decoded, the fragment
// dropped, underscores and runs of white space turned into one space, bidi
// marks removed, a leading colon (explicit main namespace) removed and the
// first letter upper-cased. It does not touch namespace prefixes: callers
// deal with those before.
func NormalizeTitle(t string) string {
	if strings.IndexByte(t, '&') >= 0 {
		t = html.UnescapeString(t)
	}
	if strings.IndexByte(t, '%') >= 0 {
		if d, ok := percentDecode(t); ok {
			t = d
		}
	}
	if i := strings.IndexByte(t, '#'); i >= 0 {
		t = t[:i]
	}
	var b strings.Builder
	b.Grow(len(t))
	space := false
	for _, r := range t {
		switch {
		case r == '_' || unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case isBidiMark(r):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	t = b.String()
	if strings.HasPrefix(t, ":") {
		t = strings.TrimLeft(t[1:], " ")
	}
	return UpperFirst(t)
}

// UpperFirst upper-cases the first letter, as MediaWiki does for titles of
// "first-letter" wikis.
func UpperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || r == utf8.RuneError {
		return s
	}
	u := unicode.ToUpper(r)
	if u == r {
		return s
	}
	return string(u) + s[n:]
}

// isBidiMark reports the invisible direction marks that editors paste into
// links and MediaWiki strips from titles.
func isBidiMark(r rune) bool {
	return r == '\u200e' || r == '\u200f' || (r >= '\u202a' && r <= '\u202e')
}

// percentDecode decodes %XX escapes; ok is false when the result would not
// be UTF-8. A "%" not followed by two hex digits stays, as in "100%".
func percentDecode(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, hi<<4|lo)
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	if !utf8.Valid(b) {
		return s, false
	}
	return string(b), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// EscapeTitle turns a title into the path segment of its article URL. Like
// Wikipedia it writes spaces as underscores; unlike wfUrlencode it keeps
// non-ASCII letters and harmless punctuation as they are so that URLs stay
// readable, and escapes only what would change the URL's meaning or is not
// allowed in one.
func EscapeTitle(title string) string {
	var b strings.Builder
	b.Grow(len(title))
	for i := 0; i < len(title); i++ {
		c := title[i]
		switch {
		case c == ' ':
			b.WriteByte('_')
		case needsEscape(c):
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func needsEscape(c byte) bool {
	if c < 0x20 || c == 0x7f {
		return true
	}
	return strings.IndexByte("\"#%<>?[\\]^`{|}", c) >= 0
}

// CanonicalURL maps the spellings of one URL that browsers and editors
// produce (percent-escaped or not, spaces or underscores, with a fragment,
// upper-case host) to one form, the one EscapeTitle writes, so that a URL
// copied from anywhere finds its document.
func CanonicalURL(u string) string {
	u = strings.TrimSpace(u)
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	host, path, hasPath := strings.Cut(rest, "/")
	scheme = strings.ToLower(scheme)
	host = dropDefaultPort(scheme, host)
	if !hasPath {
		// A site's root is "/" whether or not the URL spells it.
		host, query, _ := strings.Cut(host, "?")
		if query != "" {
			query = "?" + query
		}
		return scheme + "://" + strings.ToLower(host) + "/" + query
	}
	query := ""
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, query = path[:i], path[i:]
	}
	prefix := scheme + "://" + strings.ToLower(host) + "/"
	dec, ok := percentDecode(path)
	if !ok {
		return prefix + path + query
	}
	return prefix + EscapeTitle(dec) + query
}

// dropDefaultPort removes a port that only repeats the scheme's default.
func dropDefaultPort(scheme, host string) string {
	if (scheme == "http" && strings.HasSuffix(host, ":80")) || (scheme == "https" && strings.HasSuffix(host, ":443")) {
		return host[:strings.LastIndexByte(host, ':')]
	}
	return host
}

// LeadSnippet is the start of text, at most n bytes cut at a word boundary
// (or a rune boundary when the start has no space), with "…" when cut. Both
// stores make search snippets with it, so they read alike.
func LeadSnippet(text string, n int) string {
	text = strings.TrimSpace(text)
	if len(text) <= n {
		return text
	}
	cut := strings.LastIndexByte(text[:n], ' ')
	if cut <= 0 {
		cut = n
		for cut > 0 && text[cut]&0xc0 == 0x80 {
			cut--
		}
	}
	return text[:cut] + "…"
}

// TitleKey is the key of case-insensitive title lookups, the same in every
// backend so that all of them find the same documents. It folds with
// strings.ToLower, not a database's collation: SQLite's NOCASE folds ASCII
// only.
func TitleKey(t string) string { return strings.ToLower(t) }

// URLKey is the key under which a document's URL is found whatever way it
// is spelled: canonical escaping, https, no mobile host. Every backend keys
// DocByURL by it, so that they answer alike.
func URLKey(u string) string {
	k := CanonicalURL(u)
	if rest, ok := strings.CutPrefix(k, "http://"); ok {
		k = "https://" + rest
	}
	return strings.Replace(k, ".m.wikipedia.org/", ".wikipedia.org/", 1)
}
