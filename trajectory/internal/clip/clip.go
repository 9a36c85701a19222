// Package clip cuts strings by characters (runes), the unit of the length
// limits the trajectory packages apply, so a cut never splits a UTF-8
// sequence.
package clip

import "unicode/utf8"

// Runes returns the first n runes of s.
func Runes(s string, n int) string {
	if len(s) <= n { // bytes ≥ runes: the common short case needs no scan
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// Marked shortens s to n runes for messages, marking the cut with "…".
func Marked(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return Runes(s, n) + "…"
}
