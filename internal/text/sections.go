package text

import "strings"

// Sections reads the Markdown sections of a structured prompt: each heading in
// headings starts a section that runs to the next of those headings. A
// heading is recognised once, the first time it appears on a line of its
// own, so the last section may contain any text (a page can have its own
// "## " headings, even ones named like ours) without being cut.
func Sections(text string, headings ...string) map[string]string {
	out := map[string]string{}
	seen := map[string]bool{}
	current := ""
	var buf []string
	flush := func() {
		if current != "" {
			out[current] = strings.TrimSpace(strings.Join(buf, "\n"))
		}
	}
	for line := range strings.SplitSeq(text, "\n") {
		trimmed := strings.TrimSpace(line)
		matched := ""
		for _, h := range headings {
			if !seen[h] && strings.EqualFold(trimmed, h) {
				matched = h
				break
			}
		}
		if matched != "" {
			// Once the last heading has begun, nothing can start a new
			// section: the rest is that section's content.
			if current == headings[len(headings)-1] {
				matched = ""
			}
		}
		if matched == "" {
			if current != "" {
				buf = append(buf, line)
			}
			continue
		}
		flush()
		seen[matched] = true
		current, buf = matched, nil
	}
	flush()
	return out
}
