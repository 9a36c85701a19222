// Package clip shortens the texts the qa packages put in prompts and item
// details. A cut falls at a word boundary and is marked, so that neither a
// model nor a person reading a detail mistakes a clipped text for a whole one.
package clip

import "strings"

// AtWord shortens s to at most n runes, cutting at a word boundary when one
// is near and marking the cut with an ellipsis.
func AtWord(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n-1])
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:") + "…"
}
