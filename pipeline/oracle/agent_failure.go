package oracle

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/toolset"
)

// How a failing rollout goes wrong. A rollout that merely boxed a wrong
// title at the end of the right route would teach a preference model
// nothing but the last word, so each failure changes the route itself, the
// way research agents are seen to fail:
const (
	// failWrongTurn: at one hop the rollout takes another search result for
	// the page it wants, reads it and follows the chain from there for the
	// hops that remain, answering where that chain ends.
	failWrongTurn = "wrong_turn"
	// failEarlyStop: the rollout takes a doc before the last for the
	// answer, reads it as such and stops there.
	failEarlyStop = "early_stop"
	// failMisread: the rollout reads the right page but takes another
	// entity the page mentions for the next step (or, on the last page,
	// for the answer), looks that up and goes on from there.
	failMisread = "misread"
)

var failureModes = []string{failWrongTurn, failEarlyStop, failMisread}

// failure is a failing rollout's mode and the hop of the path where it goes
// wrong.
type failure struct {
	mode string
	hop  int
}

// failureOf turns the rollout's draws into a failure on a path of n docs.
// An early stop needs a doc before the last, so on a one-doc path it becomes
// a wrong turn.
func failureOf(d decision, n int) failure {
	f := failure{mode: d.failure}
	if f.mode == failEarlyStop && n < 2 {
		f.mode = failWrongTurn
	}
	hops := n // wrong turn and misread: any doc of the path
	if f.mode == failEarlyStop {
		hops = n - 1 // any doc but the answer
	}
	f.hop = min(int(d.at*float64(hops)), hops-1)
	return f
}

// chainLength is how many pages a failing rollout reads after its route
// leaves the path: as many as the path still had (a wrong turn reads the
// wrong page in place of doc hop), at least one for a misread (the entity it
// took), none for an early stop.
func (f failure) chainLength(n int) int {
	switch f.mode {
	case failWrongTurn:
		return n - f.hop
	case failMisread:
		return max(1, n-1-f.hop)
	}
	return 0
}

// prefix is the part of the correct plan a failing rollout follows before
// it goes wrong: the detour, the hops before f.hop, and then the search for
// doc f.hop (wrong turn), its search and scrape (misread), or both with the
// doc taken for the answer (early stop).
func (f failure) prefix(sol Solution, d decision) []step {
	n := len(sol.Path)
	full := plan(sol, decision{detour: d.detour, topic: d.topic})
	detour := 0
	if d.detour {
		detour = 1
	}
	steps := full[:detour+2*f.hop]
	t := sol.Path[f.hop]
	switch f.mode {
	case failWrongTurn:
		steps = append(steps, step{tool: trajectory.ToolGoogleSearch, query: t, title: t, last: f.hop == n-1})
	case failMisread:
		steps = append(steps,
			step{tool: trajectory.ToolGoogleSearch, query: t, title: t, last: f.hop == n-1},
			step{tool: trajectory.ToolScrape, title: t, last: f.hop == n-1})
	case failEarlyStop:
		steps = append(steps,
			step{tool: trajectory.ToolGoogleSearch, query: t, title: t, last: true},
			step{tool: trajectory.ToolScrape, title: t, last: true})
	}
	return steps
}

// failingTurn is the teacher's turn in a failing rollout. Like the correct
// route it is replayed from the calls alone: the prefix by advance, the rest
// from the calls made after it, whose arguments say which pages the chain
// went through.
func failingTurn(c conversation, sol Solution, d decision) (turn, error) {
	f := failureOf(d, len(sol.Path))
	if c.summary {
		return boxTurn(failingAnswer(sol, c.calls)), nil
	}
	st, arg, consumed, done := advance(f.prefix(sol, d), c.calls, c.last, c.hasLast)
	if !done {
		return toolTurn(c, len(c.calls), st, arg)
	}
	st, arg, done = f.diverge(sol, c, c.calls[consumed:], d.python)
	if !done {
		return toolTurn(c, len(c.calls), st, arg)
	}
	answer := failingAnswer(sol, c.calls)
	trail := scrapedTitles(c.calls)
	why := ""
	if f.mode == failEarlyStop && len(trail) > 0 {
		why = fmt.Sprintf("The page of %s already seems to fit the question, so I answer without following the trail further.", trail[len(trail)-1])
	}
	return answerTurnWhy(answer, trail, len(c.calls), why), nil
}

// diverge is the failing rollout's own route after the prefix: phase holds
// the calls made since. It alternates a search and a scrape until the chain
// has its length or runs out of pages, then writes the trail it followed in
// a sandbox when the rollout uses one.
func (f failure) diverge(sol Solution, c conversation, phase []call, python bool) (step, string, bool) {
	n := len(sol.Path)
	seen := visited(sol, c.calls)
	trail := scrapedTitles(c.calls)
	sandbox := func() (step, string, bool) {
		if python && len(trail) > 0 {
			return step{tool: trajectory.ToolCreateSandbox}, "", false
		}
		return step{}, "", true
	}
	for i, cl := range phase {
		if cl.name == trajectory.ToolCreateSandbox {
			m := reSandboxID.FindStringSubmatch(c.last)
			if i != len(phase)-1 || !c.hasLast || strings.HasPrefix(c.last, trajectory.ToolErrorPrefix) || m == nil {
				return step{}, "", true // ran, or no sandbox: answer
			}
			return step{tool: trajectory.ToolRunPython, code: trailCode(trail)}, m[1], false
		}
		if cl.name == trajectory.ToolRunPython {
			return step{}, "", true
		}
	}
	read := 0
	for _, cl := range phase {
		if cl.name == trajectory.ToolScrape {
			read++
		}
	}
	want := f.chainLength(n)
	if len(phase) == 0 {
		switch f.mode {
		case failWrongTurn:
			// The search for doc f.hop came back: take another result.
			if !c.hasLast || len(c.calls) == 0 || c.calls[len(c.calls)-1].name != trajectory.ToolGoogleSearch {
				return sandbox()
			}
			// The page it searched for is the one it misses.
			skip := copySet(seen)
			skip[fold(argOf(c.calls[len(c.calls)-1], "q"))] = true
			title, link, ok := pickOther(c.last, "", skip)
			if !ok {
				return sandbox()
			}
			return step{tool: trajectory.ToolScrape, title: title, last: want == 1}, link, false
		case failMisread:
			if !c.hasLast || len(c.calls) == 0 || c.calls[len(c.calls)-1].name != trajectory.ToolScrape {
				return sandbox() // the page was not read: nothing to misread
			}
			page := sol.Path[f.hop]
			// The right next step is not a misreading.
			skip := withQueries(seen, c.calls)
			for _, t := range sol.Path[f.hop:] {
				skip[fold(t)] = true
			}
			e, ok := misreadEntity(scrapedText(c.last), searchTitles(c.calls), skip)
			if !ok {
				return sandbox()
			}
			return step{tool: trajectory.ToolGoogleSearch, query: e, title: e, from: page, misread: true, last: want == 1}, "", false
		}
		return sandbox()
	}
	lastCall := phase[len(phase)-1]
	switch lastCall.name {
	case trajectory.ToolGoogleSearch:
		if !c.hasLast {
			return sandbox()
		}
		title, link, ok := pickOther(c.last, argOf(lastCall, "q"), seen)
		if !ok {
			return sandbox()
		}
		return step{tool: trajectory.ToolScrape, title: title, last: read+1 >= want}, link, false
	case trajectory.ToolScrape:
		if read >= want || len(trail) == 0 {
			return sandbox()
		}
		// Onward the way a link is followed: an entity the page just read
		// names, else what the page itself leads to.
		from := trail[len(trail)-1]
		if c.hasLast {
			if e, ok := misreadEntity(scrapedText(c.last), searchTitles(c.calls), withQueries(seen, c.calls)); ok {
				return step{tool: trajectory.ToolGoogleSearch, query: e, title: e, from: from}, "", false
			}
		}
		if queried(c.calls, from) {
			return sandbox() // searched already: a second search would only repeat the first
		}
		return step{tool: trajectory.ToolGoogleSearch, query: from, title: from, from: from}, "", false
	}
	return sandbox()
}

// failingAnswer is what a failing rollout answers: the page it read last,
// which its route took for the answer, unless that is the gold answer after
// all (the rollout is meant to fail), then the answer key's wrong answer.
func failingAnswer(sol Solution, calls []call) string {
	if trail := scrapedTitles(calls); len(trail) > 0 {
		if t := trail[len(trail)-1]; fold(t) != fold(sol.Answer) {
			return t
		}
	}
	return finalAnswer(sol, true)
}

// argOf reads one string argument of a call ("" when absent or unparsable).
func argOf(cl call, key string) string {
	var a map[string]any
	if err := json.Unmarshal([]byte(cl.args), &a); err != nil {
		return ""
	}
	s, _ := a[key].(string)
	return strings.TrimSpace(s)
}

// scrapedTitles are the titles of the pages the rollout read, in order, as
// its scrape requests name them (scrapeInfo); a request in another wording
// names none.
func scrapedTitles(calls []call) []string {
	var out []string
	for _, cl := range calls {
		if cl.name != trajectory.ToolScrape {
			continue
		}
		info := argOf(cl, "info_to_extract")
		rest, ok := strings.CutPrefix(info, infoPrefix)
		if !ok {
			continue
		}
		for _, suffix := range []string{infoAnswer, infoOnward} {
			if t, ok := strings.CutSuffix(rest, suffix); ok && strings.TrimSpace(t) != "" {
				out = append(out, strings.TrimSpace(t))
				break
			}
		}
	}
	return out
}

// fold is the form in which a failing rollout tells names (and links) apart:
// the grader's normalisation, so that "The Vistula" is the Vistula it has
// read already; text with no words at all keeps its lowercased self.
func fold(s string) string {
	if k := strings.Join(graderTokens(s), " "); k != "" {
		return k
	}
	return strings.ToLower(strings.TrimSpace(s))
}

func copySet(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// visited holds what a failing rollout will not pick again (folded): every
// page and link it read, and the gold answer, which a rollout meant to fail
// must not stumble on.
func visited(sol Solution, calls []call) map[string]bool {
	seen := map[string]bool{fold(sol.Answer): true}
	for _, cl := range calls {
		if cl.name == trajectory.ToolScrape {
			seen[fold(argOf(cl, "url"))] = true
		}
	}
	for _, t := range scrapedTitles(calls) {
		seen[fold(t)] = true
	}
	return seen
}

// withQueries is seen plus every query searched, so that a pick never
// repeats a search.
func withQueries(seen map[string]bool, calls []call) map[string]bool {
	out := copySet(seen)
	for _, cl := range calls {
		if cl.name == trajectory.ToolGoogleSearch {
			out[fold(argOf(cl, "q"))] = true
		}
	}
	return out
}

// queried reports whether q was searched already.
func queried(calls []call, q string) bool {
	for _, cl := range calls {
		if cl.name == trajectory.ToolGoogleSearch && strings.EqualFold(argOf(cl, "q"), q) {
			return true
		}
	}
	return false
}

// pickOther chooses a result of a search to read that is neither seen (by
// title or link): the one titled prefer if there is one, else the highest
// ranked.
func pickOther(result, prefer string, seen map[string]bool) (title, link string, ok bool) {
	r := parseSearch(result)
	for pass := range 2 {
		for _, o := range r.Organic {
			t, l := strings.TrimSpace(o.Title), strings.TrimSpace(o.Link)
			if t == "" || l == "" || seen[fold(t)] || seen[fold(l)] {
				continue
			}
			if pass == 1 || (prefer != "" && strings.EqualFold(t, prefer)) {
				return t, l, true
			}
		}
	}
	return "", "", false
}

// searchTitles are the titles of every search result still in the
// conversation (retention may have omitted older ones), in order.
func searchTitles(calls []call) []string {
	var out []string
	for _, cl := range calls {
		if cl.name != trajectory.ToolGoogleSearch || !cl.hasResult {
			continue
		}
		for _, o := range parseSearch(cl.result).Organic {
			if t := strings.TrimSpace(o.Title); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// scrapedText is what a scrape result says in words: the extracted
// information of a JSON answer (or its error, when it failed), the text of
// a plain one; a model reads the facts, not the JSON around them.
func scrapedText(result string) string {
	info, _ := toolset.ScrapeResult(result)
	return info
}

// misreadEntity picks the entity a misreading takes from a page's extract:
// the first known title (from the search results the rollout saw) that the
// extract mentions, else the first run of capitalised words in it that does
// not open a sentence; neither one in skip.
func misreadEntity(extract string, titles []string, skip map[string]bool) (string, bool) {
	lower := strings.ToLower(extract)
	best, bestAt := "", -1
	for _, t := range titles {
		if skip[fold(t)] {
			continue
		}
		if at := wordIndex(lower, strings.ToLower(t)); at >= 0 && (bestAt < 0 || at < bestAt) {
			best, bestAt = t, at
		}
	}
	if bestAt >= 0 {
		return best, true
	}
	for _, name := range capitalisedRuns(extract) {
		if !skip[fold(name)] {
			return name, true
		}
	}
	return "", false
}

// wordIndex is the index of the first occurrence of sub in s that starts
// and ends at word boundaries, or -1.
func wordIndex(s, sub string) int {
	if sub == "" {
		return -1
	}
	for from := 0; from < len(s); {
		i := strings.Index(s[from:], sub)
		if i < 0 {
			return -1
		}
		i += from
		end := i + len(sub)
		if (i == 0 || !isWordByte(s[i-1])) && (end == len(s) || !isWordByte(s[end])) {
			return i
		}
		from = i + 1
	}
	return -1
}

func isWordByte(b byte) bool {
	return b >= 0x80 || b == '_' || (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
}

// capitalisedRuns lists runs of capitalised words (joined by "of", "the",
// "de" and the like) in text, leaving out a run of one word that opens a
// sentence, which is capitalised for the sentence's sake.
func capitalisedRuns(text string) []string {
	words := strings.Fields(text)
	var out []string
	var run []string
	runStartsSentence := false
	flush := func() {
		for len(run) > 0 && isJoiner(run[len(run)-1]) {
			run = run[:len(run)-1]
		}
		// "The Vistula" names the Vistula; after an article the capital
		// is the name's, not the sentence's.
		for len(run) > 1 && isArticle(run[0]) {
			run, runStartsSentence = run[1:], false
		}
		if len(run) > 1 || (len(run) == 1 && !runStartsSentence) {
			out = append(out, strings.Join(run, " "))
		}
		run = nil
	}
	sentenceStart := true
	for _, w := range words {
		core := strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		first := []rune(core)
		capital := len(first) > 0 && unicode.IsUpper(first[0])
		switch {
		case capital:
			if len(run) == 0 {
				runStartsSentence = sentenceStart
			}
			run = append(run, core)
		case len(run) > 0 && isJoiner(core):
			run = append(run, core)
		default:
			flush()
		}
		// Punctuation after a word ends the run; a full stop also a sentence.
		if core != "" && strings.TrimRightFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) != w {
			flush()
		}
		sentenceStart = strings.HasSuffix(w, ".") || strings.HasSuffix(w, "!") || strings.HasSuffix(w, "?") || strings.HasSuffix(w, ":")
	}
	flush()
	return out
}

func isArticle(w string) bool {
	switch w {
	case "The", "A", "An":
		return true
	}
	return false
}

func isJoiner(w string) bool {
	switch w {
	case "of", "the", "de", "von", "van", "der", "du", "la", "and":
		return true
	}
	return false
}
