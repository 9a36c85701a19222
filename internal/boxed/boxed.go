// Package boxed reads the final answer of a reply: the content of its last
// \boxed{…}. The agent's answer, the judge and the closed-book gate must all
// read a box the same way, so the rule lives here once.
package boxed

import (
	"strings"
	"unicode"
)

// Last returns the trimmed content of the last \boxed{…} in s. Braces
// nest (\boxed{\frac{1}{2}} gives \frac{1}{2}), escaped braces \{ and \} are
// content, and blanks between \boxed and its brace are tolerated. A \boxed
// without a following brace (prose mentioning the command) is skipped; if
// the last real box never closes, there is no answer: an earlier box is not
// taken instead, because the model's last word was the unfinished one.
// Placeholder answers ("", "?", "unknown", "...", "n/a") also count as none.
func Last(s string) (string, bool) {
	const cmd = `\boxed`
	end := len(s)
	for {
		at := strings.LastIndex(s[:end], cmd)
		if at < 0 {
			return "", false
		}
		end = at
		rest := strings.TrimLeftFunc(s[at+len(cmd):], unicode.IsSpace)
		if !strings.HasPrefix(rest, "{") {
			continue // "\boxed" in prose, or \boxedfoo
		}
		inner, ok := balancedBraces(rest)
		if !ok {
			return "", false
		}
		ans := strings.TrimSpace(inner)
		if Placeholder(ans) {
			return "", false
		}
		return ans, true
	}
}

// balancedBraces reads s, which starts with '{', up to its matching '}' and
// returns what lies between.
func balancedBraces(s string) (string, bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // the escaped character, often \{ or \}, is content
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return s[1:i], true
			}
		}
	}
	return "", false
}

// Placeholder tells answers that say nothing; a model unable to answer
// often boxes one of these to satisfy the format.
func Placeholder(ans string) bool {
	switch strings.ToLower(strings.TrimSpace(ans)) {
	case "", "?", "unknown", "...", "…", "n/a":
		return true
	}
	return false
}
