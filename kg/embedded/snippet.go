package embedded

// snippetTokens is the length of a snippet in words.
const snippetTokens = 32

// snippetEllipsis marks text left out of a snippet.
const snippetEllipsis = "…"

// snippet cuts from text the window that FTS5's snippet() (text column,
// empty highlight marks, "…", 32 tokens) chooses for a query of the phrases
// terms (one folded word each), by the same rules, so the two agree to the
// byte:
//
//   - every occurrence of a phrase in text starts a candidate window of 32
//     words; it scores 1000 for each phrase it holds and 1 for each repeat,
//     and is moved back to centre the occurrences it holds (never past
//     either end of the text);
//   - the sentence holding the occurrence, when it starts before it,
//     competes too, from its first word, with 100 more (120 for the first
//     sentence) — a sentence starts at the first word and at every word
//     that follows '.' or ':' and white space;
//   - the first best window wins; with no occurrence it is the first 32
//     words. The snippet runs from its first word (or the start of the text)
//     to its last word, with "…" where text was left out; a window that
//     reaches the last word keeps what follows it.
func (t *tokenizer) snippet(text string, terms []string, buf []byte) (string, []byte) {
	type span struct{ start, end int }
	type inst struct{ pos, phrase int }
	var toks []span
	var insts []inst
	var firsts []int // words that start a sentence
	buf = t.tokens(text, buf, func(tok []byte, start, end int) {
		pos := len(toks)
		if pos == 0 {
			firsts = append(firsts, 0)
		} else {
			i := start - 1
			var c byte
			for ; i >= 0; i-- {
				if c = text[i]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
					break
				}
			}
			if i != start-1 && (c == '.' || c == ':') {
				firsts = append(firsts, pos)
			}
		}
		toks = append(toks, span{start, end})
		for p, term := range terms {
			if string(tok) == term {
				insts = append(insts, inst{pos, p})
			}
		}
	})
	n := len(toks)
	seen := make([]bool, len(terms))
	// score rates the window of snippetTokens words from pos and says
	// where it would start, centred on what it holds.
	score := func(pos int) (score, adj int) {
		clear(seen)
		first, last := -1, 0
		for _, in := range insts {
			if in.pos < pos || in.pos >= pos+snippetTokens {
				continue
			}
			if seen[in.phrase] {
				score++
			} else {
				score += 1000
			}
			seen[in.phrase] = true
			if first < 0 {
				first = in.pos
			}
			last = in.pos + 1
		}
		adj = first - (snippetTokens-(last-first))/2
		if adj+snippetTokens > n {
			adj = n - snippetTokens
		}
		return score, max(adj, 0)
	}
	best, bestStart := 0, 0
	for _, in := range insts {
		if s, adj := score(in.pos); s > best {
			best, bestStart = s, adj
		}
		if len(firsts) > 0 && n > snippetTokens {
			j := 0
			for j < len(firsts)-1 && firsts[j+1] <= in.pos {
				j++
			}
			if f := firsts[j]; f < in.pos {
				s, _ := score(f)
				if f == 0 {
					s += 120
				} else {
					s += 100
				}
				if s > best {
					best, bestStart = s, f
				}
			}
		}
	}
	out := ""
	from := 0
	if bestStart > 0 {
		out = snippetEllipsis
		from = toks[bestStart].start
	}
	if end := bestStart + snippetTokens - 1; end >= n-1 {
		out += text[from:]
	} else {
		out += text[from:toks[end].end] + snippetEllipsis
	}
	return out, buf
}
