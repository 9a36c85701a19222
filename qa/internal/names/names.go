// Package names says which names of a document count when a question is
// checked against it: the writer's answer check, the leak gate and the
// verifier must agree on them, or one would accept a name another rejects.
package names

import (
	"strings"

	"github.com/miroverse/miroverse/kg"
)

// StripParenthetical removes one trailing "(…)" qualifier from a title.
func StripParenthetical(title string) string {
	t := strings.TrimSpace(title)
	if !strings.HasSuffix(t, ")") {
		return title
	}
	i := strings.LastIndex(t, "(")
	if i <= 0 {
		return title
	}
	return strings.TrimSpace(t[:i])
}

// Redirects are the redirect titles among as: other names of the document.
// Anchor texts are left out; they are too often common words.
func Redirects(as []kg.Alias) []string {
	var out []string
	for _, a := range as {
		if a.Kind == "redirect" && strings.TrimSpace(a.Alias) != "" {
			out = append(out, a.Alias)
		}
	}
	return out
}
