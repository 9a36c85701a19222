package oracle

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/qa/writer"
	openai "github.com/sashabaranov/go-openai"
)

// infoboxPerDoc is how many infobox entries become facts per doc: enough
// for a distinguishing clue, few enough to keep the question short.
const infoboxPerDoc = 2

// extractFacts is the oracle's facts pass. The chain's theme is carried by
// its own sentences: the seed's lead sentence and each evidence sentence,
// which continue the seed's thread hop by hop. Each doc adds its lead
// sentence and up to infoboxPerDoc infobox entries, dates first and places
// next, since those are what obfuscation turns into clues.
func extractFacts(f writer.PassRequest) []writer.Fact {
	var out []writer.Fact
	last := len(f.Docs) - 1
	for i, d := range f.Docs {
		ev := ""
		if i < last && i < len(f.Evidence) {
			ev = strings.TrimSpace(f.Evidence[i])
		}
		// The lead sentence often is the evidence sentence: keep it once,
		// as evidence, since that is the hop.
		if desc := strings.TrimSpace(d.Description); desc != "" && desc != ev {
			out = append(out, writer.Fact{Doc: i, Kind: writer.FactDescription, Text: desc})
		}
		if ev != "" {
			out = append(out, writer.Fact{Doc: i, Kind: writer.FactEvidence, Text: ev})
		}
		var entries []kg.Fact
		for _, e := range d.Infobox {
			if usableEntry(e) {
				entries = append(entries, e)
			}
		}
		slices.SortStableFunc(entries, func(a, b kg.Fact) int { return cmp.Compare(entryRank(a.Key), entryRank(b.Key)) })
		for _, e := range entries[:min(len(entries), infoboxPerDoc)] {
			key := strings.Join(strings.FieldsFunc(e.Key, func(r rune) bool { return r == '_' || r == ' ' }), " ")
			text := fmt.Sprintf("The %s of %s is %s.", key, d.Title, strings.TrimRight(strings.TrimSpace(e.Value), "."))
			out = append(out, writer.Fact{Doc: i, Kind: writer.FactInfobox, Text: text})
		}
	}
	return out
}

// usableEntry rejects infobox entries that make poor clues: pictures and
// layout, links, and names (native or birth names are aliases that would
// give the entity away).
func usableEntry(e kg.Fact) bool {
	k := strings.ToLower(e.Key)
	for _, bad := range []string{"image", "caption", "logo", "map", "signature", "website", "url", "coordinates",
		"alt", "footnote", "name", "label", "pushpin", "seal", "flag", "blank", "module", "embed", "width", "size", "color", "colour"} {
		if strings.Contains(k, bad) {
			return false
		}
	}
	v := strings.TrimSpace(e.Value)
	n := utf8.RuneCountInString(v)
	return n >= 2 && n <= 100 && !strings.Contains(v, "http") && !strings.Contains(v, "{{")
}

// entryRank orders infobox keys: dates, then places, then the rest.
func entryRank(key string) int {
	k := strings.ToLower(key)
	for _, w := range []string{"date", "born", "birth", "death", "founded", "established", "opened", "released", "year"} {
		if strings.Contains(k, w) {
			return 0
		}
	}
	for _, w := range []string{"location", "place", "country", "city", "region", "state", "headquarters", "residence"} {
		if strings.Contains(k, w) {
			return 1
		}
	}
	return 2
}

// answerOf is the walk facts' answer, or the last doc's title.
func answerOf(f writer.PassRequest) string {
	if a := strings.TrimSpace(f.Answer); a != "" {
		return a
	}
	return strings.TrimSpace(f.Docs[len(f.Docs)-1].Title)
}

// obfuscateFacts is the oracle's obfuscation pass: every name of the chain
// becomes its placeholder (places by their category, others by position),
// dates become seasons and decades, large numbers round to words, and
// asides go. One fact out per fact in, unless nothing is left of it.
func obfuscateFacts(f writer.PassRequest) []writer.Fact {
	o := newObfuscator(f.Docs, answerOf(f))
	out := []writer.Fact{}
	for _, in := range f.Facts {
		t := strings.TrimSpace(blurNumbers(o.hide(stripParentheticals(in.Text))))
		if t == "" {
			continue
		}
		out = append(out, writer.Fact{Doc: in.Doc, Kind: in.Kind, Text: upperFirst(t)})
	}
	return out
}

// reNumber is a number of two or more digits standing alone: "1,234", "87".
// A decade ("1860s") or an ordinal ("19th") has letters after its digits,
// so the word boundary keeps them out.
var reNumber = regexp.MustCompile(`\b\d{1,3}(?:,\d{3})+\b|\b\d{2,}\b`)

// blurNumbers rounds exact counts to words ("2,873,000" -> "about 3
// million"), so that no search finds a page by its figures.
func blurNumbers(s string) string {
	s = reNumber.ReplaceAllStringFunc(s, func(m string) string {
		n, err := strconv.ParseFloat(strings.ReplaceAll(m, ",", ""), 64)
		if err != nil {
			return m
		}
		round := func(div float64, unit string) string {
			v := n / div
			digits := len(strconv.Itoa(int(v)))
			scale := 1.0
			for range digits - 1 {
				scale *= 10
			}
			return fmt.Sprintf("about %d %s", int(v/scale+0.5)*int(scale), unit)
		}
		switch {
		case n >= 1e9:
			return round(1e9, "billion")
		case n >= 1e6:
			return round(1e6, "million")
		case n >= 1e3:
			return round(1e3, "thousand")
		case n >= 100:
			return "several hundred"
		case n >= 20:
			return "several dozen"
		}
		return "over ten"
	})
	// "about 1,047 km" must not become "about about 1 thousand km".
	for _, hedge := range []string{"about", "around", "approximately", "some", "nearly", "almost", "over", "more than", "roughly"} {
		for _, h := range []string{hedge, upperFirst(hedge)} {
			s = strings.ReplaceAll(s, h+" about ", h+" ")
		}
	}
	return s
}

// composeTurn is the oracle's composition pass: the chain question of
// compose.go, or the question an inject instruction asks for, and its
// clauses in chain order.
func composeTurn(f writer.PassRequest) (turn, error) {
	answer := answerOf(f)
	o := newObfuscator(f.Docs, answer)
	var q string
	var clauses []string
	if kind, _, _ := strings.Cut(strings.TrimSpace(f.Inject), ":"); strings.EqualFold(strings.TrimSpace(kind), writer.InjectShortcut) {
		q, clauses = composeChain(f, o, shortcutClause(f))
	} else {
		q, clauses = composeChain(f, o, nil)
		if alt := injectQuestion(f, o, answer, q); alt != q {
			q, clauses = alt, sentencesOf(alt)
		}
	}
	b, err := marshal(writer.QuestionReply{Question: q, Answer: answer, Clauses: clauses})
	if err != nil {
		return turn{}, fmt.Errorf("encode writer reply: %w", err)
	}
	return turn{content: string(b), finish: openai.FinishReasonStop}, nil
}

// sentencesOf splits a question the chain composer did not write into its
// sentences, the closest thing to clauses it has.
func sentencesOf(q string) []string {
	var out []string
	for _, s := range splitLine(q) {
		if strings.Contains(q, s) {
			out = append(out, s)
		}
	}
	return out
}

// shortcutClause is the constraint the shortcut injection adds before the
// ask: a standalone fact of the answer doc (an obfuscated infobox entry,
// else its obfuscated lead), which pins the answer without the chain. nil
// when the request has neither.
func shortcutClause(f writer.PassRequest) *writer.Fact {
	last := len(f.Docs) - 1
	var desc *writer.Fact
	for _, c := range f.Constraints {
		if c.Doc != last {
			continue
		}
		switch c.Kind {
		case writer.FactInfobox:
			return &c
		case writer.FactDescription:
			if desc == nil {
				desc = &c
			}
		}
	}
	return desc
}

// injectQuestion replaces or alters q, the question the writer would have
// written, as f.Inject asks ("kind" or "kind:argument"); an unknown or empty
// instruction leaves q as it is. The answer stays the walk's, so the
// writer's answer check passes and the right gate is the one that rejects.
func injectQuestion(f writer.PassRequest, o *obfuscator, answer, q string) string {
	kind, arg, _ := strings.Cut(strings.TrimSpace(f.Inject), ":")
	arg = strings.TrimSpace(arg)
	switch strings.ToLower(strings.TrimSpace(kind)) {
	case writer.InjectLeak:
		return q + " (The answer is " + answer + ".)"
	case writer.InjectAmbiguous:
		return ambiguousQuestion(f, o)
	case writer.InjectClosedBook:
		if cb := closedBookQuestion(f, o); cb != "" {
			return cb
		}
	case writer.InjectDuplicate:
		if arg != "" {
			return nearDuplicate(arg)
		}
	case writer.InjectContaminated:
		if arg != "" {
			return arg
		}
	}
	return q
}

// ambiguousQuestion keeps only a category that several docs of the chain
// share (the one most share, then the first by name), so the question's
// one constraint fits more than one doc. Without a shared category it asks
// for any doc the seed leads to, which every later doc satisfies.
func ambiguousQuestion(f writer.PassRequest, o *obfuscator) string {
	count := map[string]int{}
	for _, d := range f.Docs {
		seen := map[string]bool{}
		for _, c := range d.Categories {
			c = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(c), "Category:"))
			if c != "" && !seen[c] {
				seen[c] = true
				count[c]++
			}
		}
	}
	best := ""
	for c, n := range count {
		if n < 2 || o.names.mentions(c) {
			continue
		}
		if best == "" || n > count[best] || (n == count[best] && c < best) {
			best = c
		}
	}
	if best != "" {
		return "What is the name of a subject categorised as " + obfuscateDates(best) + "?"
	}
	lead := ""
	if desc := o.hide(stripParentheticals(f.Docs[0].Description)); desc != "" {
		lead = endSentence(upperFirst(desc)) + " "
	}
	return lead + "What is the name of a subject that " + definite(o.labels[0]) + " leads to, directly or through another subject?"
}

// closedBookQuestion asks for the answer by its own lead sentence, names
// hidden but nothing else blurred: a model that knows the entity answers it
// without any tool. "" when the answer doc has no lead sentence.
func closedBookQuestion(f writer.PassRequest, o *obfuscator) string {
	last := len(f.Docs) - 1
	desc := strings.TrimSpace(stripParentheticals(f.Docs[last].Description))
	if desc == "" {
		return ""
	}
	desc = o.names.replace(desc, o.seen)
	return endSentence(upperFirst(desc)) + " What is the name of " + definite(o.labels[last]) + "?"
}

// nearDuplicate is q with one word added, so that it is near-identical but
// not byte-identical to the question it copies.
func nearDuplicate(q string) string {
	if t, ok := strings.CutSuffix(q, "?"); ok {
		return t + " exactly?"
	}
	return q + " Exactly which?"
}
