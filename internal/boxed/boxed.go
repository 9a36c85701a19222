// Package boxed reads the final answer of a reply: the content of its last
// \boxed{…}. The agent's answer, the judge and the closed-book gate must all
// read a box the same way, so the rule lives here once.
package boxed

import (
	"fmt"
	"strings"
	"unicode"
)

// Rule is a way of reading the box.
type Rule string

const (
	// MiroThinker is the rule of MiroThinker's open agent (its output
	// formatter's box extraction), the default, so that the answers of a
	// trajectory are the ones the agent at inference takes: the last box,
	// complete or not (an unclosed box runs to the end of the text), with
	// only exact, case-sensitive placeholders counted as no answer.
	MiroThinker Rule = "mirothinker"
	// Strict takes the last box only when it closes, and counts more
	// placeholders as no answer, case-insensitively ("Unknown", "N/A").
	Strict Rule = "strict"
)

// Parse reads a config's rule; "" is MiroThinker.
func Parse(s string) (Rule, error) {
	switch r := Rule(s); r {
	case "", MiroThinker:
		return MiroThinker, nil
	case Strict:
		return r, nil
	}
	return "", fmt.Errorf("box rule %q: want %s or %s", s, MiroThinker, Strict)
}

// Last reads s by the MiroThinker rule.
func Last(s string) (string, bool) { return MiroThinker.Last(s) }

// Last returns the trimmed content of the last \boxed{…} in s and whether
// it is an answer. Under both rules braces nest (\boxed{\frac{1}{2}} gives
// \frac{1}{2}), a backslash escapes the next character (\{ and \} are
// content), blanks between \boxed and its brace are allowed, and a \boxed
// not followed by a brace (prose naming the command) is no box.
func (r Rule) Last(s string) (string, bool) {
	if r == Strict {
		return lastStrict(s)
	}
	return lastMiroThinker(s)
}

// lastMiroThinker scans forward: each box found replaces the one before; a
// box still open at the end of the text runs to it. The content is
// compared with the placeholders as written, before trimming.
func lastMiroThinker(s string) (string, bool) {
	const cmd = `\boxed`
	last, found := "", false
	for i := 0; ; {
		at := strings.Index(s[i:], cmd)
		if at < 0 {
			break
		}
		j := i + at + len(cmd)
		if j < len(s) && isWordByte(s[j]) {
			i = j // \boxedfoo: no word boundary, no box
			continue
		}
		for j < len(s) && isSpaceByte(s[j]) {
			j++
		}
		if j >= len(s) || s[j] != '{' {
			i = j
			continue
		}
		inner, end, closed := braces(s, j)
		last, found = inner, true
		if !closed {
			break // the open box runs to the end of the text
		}
		i = end + 1
	}
	if !found || miroThinkerPlaceholder(last) {
		return "", false
	}
	ans := strings.TrimSpace(last)
	return ans, ans != ""
}

// braces reads s from the '{' at open to its matching '}' and returns what
// lies between and where the '}' is; closed is false when the text ends
// first, and inner then runs to the end.
func braces(s string, open int) (inner string, end int, closed bool) {
	depth := 0
	for k := open; k < len(s); k++ {
		switch s[k] {
		case '\\':
			k++ // the escaped character, often \{ or \}, is content
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return s[open+1 : k], k, true
			}
		}
	}
	return s[open+1:], len(s), false
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// miroThinkerPlaceholder is MiroThinker's list of contents that are no
// answer, exact and case-sensitive.
func miroThinkerPlaceholder(content string) bool {
	switch content {
	case "?", "??", "???", "？", "……", "…", "...", "unknown":
		return true
	}
	return false
}

// lastStrict scans backwards for the last real box; if it never closes,
// there is no answer (an earlier box is not taken instead).
func lastStrict(s string) (string, bool) {
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
		inner, _, closed := braces(rest, 0)
		if !closed {
			return "", false
		}
		ans := strings.TrimSpace(inner)
		if Placeholder(ans) {
			return "", false
		}
		return ans, true
	}
}

// Placeholder tells answers that say nothing, by the Strict rule's wider,
// case-insensitive list; a model unable to answer often boxes one of these
// to satisfy the format.
func Placeholder(ans string) bool {
	switch strings.ToLower(strings.TrimSpace(ans)) {
	case "", "?", "??", "???", "？", "unknown", "...", "…", "……", "n/a":
		return true
	}
	return false
}
