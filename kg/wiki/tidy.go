package wiki

import (
	"sort"
	"strings"
)

// tidy turns the cleaner's raw output into the final text: single spaces,
// no holes left by removed markup ("Paris ." or "(; born"), no empty list
// items or headings of empty sections, at most one blank line in a row. Every
// step only deletes bytes, so link spans are carried along by counting.
func tidy(out []byte, links []span) (string, []span) {
	sort.SliceStable(links, func(a, b int) bool { return links[a].start < links[b].start })
	t := out
	t = applyMask(t, spaceMask(t), links)
	t = applyMask(t, parenMask(t), links)
	t = applyMask(t, spaceMask(t), links)
	t = applyMask(t, lineMask(t), links)
	kept := links[:0]
	for _, l := range links {
		for l.start < l.end && (t[l.start] == ' ' || t[l.start] == '\n') {
			l.start++
		}
		for l.end > l.start && (t[l.end-1] == ' ' || t[l.end-1] == '\n') {
			l.end--
		}
		if l.end > l.start {
			kept = append(kept, l)
		}
	}
	return string(t), kept
}

// applyMask keeps the bytes of t that keep marks, in place, and moves the
// spans (sorted by start, not overlapping) to where their bytes went.
func applyMask(t []byte, keep []bool, spans []span) []byte {
	bounds := make([]*int, 0, 2*len(spans))
	for i := range spans {
		bounds = append(bounds, &spans[i].start, &spans[i].end)
	}
	n, bi := 0, 0
	for i := 0; i <= len(t); i++ {
		for bi < len(bounds) && *bounds[bi] <= i {
			*bounds[bi] = n
			bi++
		}
		if i == len(t) {
			break
		}
		if keep[i] {
			t[n] = t[i]
			n++
		}
	}
	for ; bi < len(bounds); bi++ {
		*bounds[bi] = n
	}
	return t[:n]
}

// spaceMask collapses runs of spaces, drops them at line ends, before
// closing punctuation and after an opening parenthesis.
func spaceMask(t []byte) []bool {
	keep := make([]bool, len(t))
	for i := 0; i < len(t); {
		if t[i] != ' ' {
			keep[i] = true
			i++
			continue
		}
		j := i
		for j < len(t) && t[j] == ' ' {
			j++
		}
		drop := i == 0 || t[i-1] == '\n' || t[i-1] == '(' || j == len(t) || t[j] == '\n' ||
			strings.IndexByte(",.;:!?)", t[j]) >= 0
		keep[i] = !drop
		i = j
	}
	return keep
}

// parenMask removes what removed templates leave in parentheses: "()",
// the separators in "(; born 1950)" and in "(Akhilleus, )".
func parenMask(t []byte) []bool {
	keep := make([]bool, len(t))
	for i := range keep {
		keep[i] = true
	}
	for i := 0; i < len(t); i++ {
		if t[i] == ')' {
			j := i
			for j > 0 && (t[j-1] == ' ' || t[j-1] == ';' || t[j-1] == ',') {
				j--
			}
			if j > 0 && j < i && t[j-1] != '(' {
				for k := j; k < i; k++ {
					keep[k] = false
				}
			}
			continue
		}
		if t[i] != '(' {
			continue
		}
		j := i + 1
		for j < len(t) && (t[j] == ' ' || t[j] == ';' || t[j] == ',') {
			j++
		}
		switch {
		case j < len(t) && t[j] == ')':
			for k := i; k <= j; k++ {
				keep[k] = false
			}
		case j > i+1:
			for k := i + 1; k < j; k++ {
				keep[k] = false
			}
		}
	}
	return keep
}

// lineKind classifies output lines for lineMask.
type lineKind int

const (
	lineBlank   lineKind = iota // empty, or a list or heading marker alone
	lineHeading                 // "## Title"
	lineText
)

// lineMask drops empty lines beyond one in a row, marker-only lines, and
// headings whose section ended up with no text.
func lineMask(t []byte) []bool {
	type line struct {
		a, b  int // t[a:b], b at the '\n' or the end
		kind  lineKind
		level int
		keep  bool
	}
	var lines []line
	for a := 0; a <= len(t); {
		b := a
		for b < len(t) && t[b] != '\n' {
			b++
		}
		l := line{a: a, b: b, kind: lineText}
		s := t[a:b]
		h := 0
		for h < len(s) && s[h] == '#' {
			h++
		}
		switch {
		case len(s) == 0, h == len(s), string(s) == "-", string(s) == "1.":
			l.kind = lineBlank
		case h > 0 && h <= 6 && s[h] == ' ':
			l.kind, l.level = lineHeading, h
		}
		lines = append(lines, l)
		if b == len(t) {
			break
		}
		a = b + 1
	}
	// Walking up, a heading keeps if text follows before the next heading
	// of its level or above.
	var textBelow [7]bool
	for k := len(lines) - 1; k >= 0; k-- {
		switch l := &lines[k]; l.kind {
		case lineText:
			l.keep = true
			for i := range textBelow {
				textBelow[i] = true
			}
		case lineHeading:
			l.keep = textBelow[l.level]
			for i := l.level; i < len(textBelow); i++ {
				textBelow[i] = false
			}
		}
	}
	keep := make([]bool, len(t))
	prev := -1
	for k, l := range lines {
		if !l.keep {
			continue
		}
		for i := l.a; i < l.b; i++ {
			keep[i] = true
		}
		if prev >= 0 {
			keep[lines[prev].b] = true
			if k > prev+1 {
				keep[lines[k-1].b] = true // one blank line for the gap
			}
		}
		prev = k
	}
	return keep
}
