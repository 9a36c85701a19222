package wiki

import (
	"slices"
	"strings"
	"unicode"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/internal/sentence"
)

// isInfobox reports the templates whose named parameters are facts about
// the page's subject: infoboxes, and the taxoboxes (and their kin) that
// biology and chemistry articles use instead. Names are folded by
// templateName ("Infobox_person" is "infobox person").
func isInfobox(name string) bool {
	if strings.HasPrefix(name, "infobox") || strings.HasSuffix(name, "taxobox") || strings.HasPrefix(name, "chembox") {
		return true
	}
	switch name {
	case "speciesbox", "subspeciesbox", "infraspeciesbox", "hybridbox", "ichnobox", "oobox", "virusbox",
		"drugbox", "geobox":
		return true
	}
	return false
}

// infobox turns the parameters of an infobox into facts. The box itself
// leaves no text: its values are a table beside the prose, not sentences,
// and a walk's evidence must be a sentence.
//
// {{Infobox}} called directly (rather than through {{Infobox person}} and
// the like) names its rows labelN/dataN; there the label is the key.
func (c *cleaner) infobox(name string, params []string) {
	if name != "infobox" {
		for _, p := range params {
			if key, val, ok := cutParam(p); ok {
				c.addFact(key, val)
			}
		}
		return
	}
	labels := map[string]string{}
	for _, p := range params {
		if key, val, ok := cutParam(p); ok {
			if n, ok := strings.CutPrefix(factKey(key), "label"); ok {
				labels[n] = val
			}
		}
	}
	for _, p := range params {
		key, val, ok := cutParam(p)
		if !ok {
			continue
		}
		if n, ok := strings.CutPrefix(factKey(key), "data"); ok {
			if label := c.factValue(labels[n]); label != "" {
				c.addFact(label, val)
			}
		}
	}
}

// cutParam splits a template parameter "name = value". A positional
// parameter (no '=', or the first '=' inside a link, template or tag) is no
// fact: infoboxes take none, so one is a stray pipe in a value.
func cutParam(p string) (name, value string, ok bool) {
	name, value, ok = strings.Cut(p, "=")
	if !ok || strings.Contains(name, "{{") || strings.Contains(name, "[[") || strings.Contains(name, "<") {
		return "", "", false
	}
	return strings.TrimSpace(name), strings.TrimSpace(value), true
}

// factKey normalises a parameter name: lower case, runs of spaces and
// underscores as one "_", so "Birth date" and "birth_date" are one key.
func factKey(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	gap := false
	for _, r := range name {
		if r == '_' || unicode.IsSpace(r) {
			gap = true
			continue
		}
		if gap && b.Len() > 0 {
			b.WriteByte('_')
		}
		gap = false
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// addFact renders a parameter's value and keeps it unless it is empty or
// its key is taken by an earlier one. Facts of infoboxes nested in the
// value (a "module" or a chembox section) come after it, in source order.
func (c *cleaner) addFact(name, raw string) {
	key := factKey(name)
	slot := len(c.facts)
	value := c.factValue(raw)
	if key == "" || value == "" {
		return
	}
	if c.factKeys[key] {
		// The key is taken. Only a fact nested in this very value may
		// hold it, and this parameter comes first in the source.
		k := slices.IndexFunc(c.facts[slot:], func(f kg.Fact) bool { return f.Key == key })
		if k < 0 {
			return
		}
		c.facts = slices.Delete(c.facts, slot+k, slot+k+1)
	}
	if c.factKeys == nil {
		c.factKeys = map[string]bool{}
	}
	c.factKeys[key] = true
	c.facts = slices.Insert(c.facts, slot, kg.Fact{Key: key, Value: value})
}

// factValue renders a parameter value as one line of clean text: the
// cleaner's own rendering (links as their text, the template set of
// templates.go, refs and comments out), then lines and list items (from
// <br>, lists, {{plainlist}}) joined with "; ". Links in values make no
// RawLinks, since no sentence of the text holds them. A value with no
// letter or digit ("–", "?") says nothing and is "".
func (c *cleaner) factValue(raw string) string {
	if raw = strings.TrimSpace(raw); raw == "" {
		return ""
	}
	// Render at the end of the output and take the bytes back out, so the
	// value sees the page's state (date order, namespaces) and the page
	// sees the value's categories and nested facts.
	out, links := len(c.out), len(c.links)
	c.inFact++
	c.run(raw, false, true)
	c.inFact--
	rendered := slices.Clone(c.out[out:])
	c.out, c.links = c.out[:out], c.links[:links]
	text, _ := tidy(rendered, nil)
	var b strings.Builder
	var last byte // of b
	for line := range strings.SplitSeq(text, "\n") {
		if m := sentence.MarkerLen(line); m > 0 {
			line = line[m:]
		}
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if b.Len() > 0 {
			// "Petersen House,<br/>Washington" and "3 months<br/>(1832)"
			// read on; other lines are items.
			if last == ',' || last == ';' || last == ':' || line[0] == '(' {
				b.WriteByte(' ')
			} else {
				b.WriteString("; ")
			}
		}
		b.WriteString(line)
		last = line[len(line)-1]
	}
	v := b.String()
	if !strings.ContainsFunc(v, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }) {
		return ""
	}
	return v
}
