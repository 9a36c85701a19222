package oracle

import (
	"slices"
	"strings"
	"sync"

	openai "github.com/sashabaranov/go-openai"
)

// The closed-book role answers a question from memory alone, as a model
// that read the corpus in pre-training would. The oracle's memory is what
// such a model retains best: the lead sentence of each article. It answers a
// question only when that question repeats an article's lead as written
// (names and dates intact); an obfuscated question never does, so it then
// answers \boxed{unknown}, which is what the closed-book gate wants.

// Memory is what the closed-book role remembers. Recall returns the title of
// the document whose remembered text appears in text.
type Memory interface {
	Recall(text string) (title string, ok bool)
}

// leadKeyWords is how many words of a lead must appear together in a
// question for the lead to be recalled: enough that common phrases ("is a
// city in the") never trigger it, few enough that a question quoting only
// part of a long lead still does.
const leadKeyWords = 8

// minLeadWords keeps very short stretches of a lead ("is a city") out of
// memory: their words occur in unrelated questions too often.
const minLeadWords = 5

// LeadMemory is a Memory of lead sentences. It is safe for concurrent use:
// the pipeline adds leads while the oracle serves.
//
// A question may quote a lead with the entity's own name swapped for a
// description ("A place categorised as Rivers of Germany is one of the major
// rivers of Central Europe") — a model that memorised the article still
// knows it. So a lead is remembered by the stretches of words between
// mentions of its own title: each stretch of at least minLeadWords words is
// a key (its first leadKeyWords words, and the same from its second word, in
// case a placeholder swallowed a word next to the name).
type LeadMemory struct {
	mu sync.RWMutex
	// byKey maps a key (folded words joined by spaces) to the titles whose
	// lead has it, sorted, so that a shared key recalls the same title
	// every time.
	byKey map[string][]string
	// leads holds each title's lead as content words (its own name, asides
	// and function words left out), and byWord the titles whose lead has a
	// word: a question may quote a lead with one of its other names swapped
	// for a placeholder, which breaks every run of words yet leaves most of
	// the lead's words, in order.
	leads  map[string][]string
	byWord map[string][]string
}

// recallShare is the share of a lead's content words that a question must
// hold, in order, for the lead to be recalled by its words.
const recallShare = 0.8

// minRecallWords keeps leads of very few content words out of recall by
// share: "X is a city" would be recalled by every question about a city.
const minRecallWords = 5

// NewLeadMemory returns an empty memory.
func NewLeadMemory() *LeadMemory {
	return &LeadMemory{byKey: map[string][]string{}, leads: map[string][]string{}, byWord: map[string][]string{}}
}

// leadKeys are the recall keys of the lead of title. Parenthetical asides are
// dropped (questions drop them) and so is the ellipsis of a clipped lead.
func leadKeys(title, lead string) []string {
	var own namer
	for _, v := range nameVariants(title, true) {
		own.add(v, "", 0)
	}
	own.sort()
	ws := words(stripParentheticals(strings.TrimSuffix(strings.TrimSpace(lead), "…")))
	var keys []string
	var run []string
	flush := func() {
		for off := 0; off <= 1 && len(run)-off >= minLeadWords; off++ {
			keys = append(keys, strings.Join(run[off:min(len(run), off+leadKeyWords)], " "))
		}
		run = nil
	}
	for i := 0; i < len(ws); {
		if t, ok := own.match(ws, i); ok {
			flush()
			i += len(t.toks)
			continue
		}
		if ws[i].norm != "" {
			run = append(run, ws[i].norm)
		}
		i++
	}
	flush()
	return keys
}

// Add remembers that lead is the lead sentence of the document title.
func (m *LeadMemory) Add(title, lead string) {
	if strings.TrimSpace(title) == "" {
		return
	}
	keys := leadKeys(title, lead)
	content := leadContent(title, lead)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, seen := m.leads[title]; !seen && len(content) >= minRecallWords {
		m.leads[title] = content
		for _, w := range uniq(content) {
			ts := m.byWord[w]
			if i, found := slices.BinarySearch(ts, title); !found {
				m.byWord[w] = slices.Insert(ts, i, title)
			}
		}
	}
	for _, key := range keys {
		ts := m.byKey[key]
		if i, found := slices.BinarySearch(ts, title); !found {
			m.byKey[key] = slices.Insert(ts, i, title)
		}
	}
}

// leadContent is the content words of a lead without its own title's words.
func leadContent(title, lead string) []string {
	own := map[string]bool{}
	for _, v := range nameVariants(title, true) {
		for _, t := range tokens(v) {
			own[stem(t)] = true
		}
	}
	var out []string
	for _, w := range contentSeq(stripParentheticals(strings.TrimSuffix(strings.TrimSpace(lead), "…"))) {
		if !own[w] {
			out = append(out, w)
		}
	}
	return out
}

func uniq(ws []string) []string {
	s := slices.Clone(ws)
	slices.Sort(s)
	return slices.Compact(s)
}

// Recall implements Memory: it slides over the words of text (asides
// dropped, as for keys) and returns the title of the first key found,
// trying the longest window first at each word; failing that, the title
// whose lead's content words text holds the largest share of in order, if
// that share reaches recallShare (ties by title).
func (m *LeadMemory) Recall(text string) (string, bool) {
	toks := tokens(stripParentheticals(text))
	m.mu.RLock()
	defer m.mu.RUnlock()
	if t, ok := m.recallByKey(toks); ok {
		return t, true
	}
	content := contentSeq(dropPlaceholders(stripParentheticals(text)))
	hits := map[string]int{}
	for _, w := range uniq(content) {
		for _, t := range m.byWord[w] {
			hits[t]++
		}
	}
	best, bestShare := "", 0.0
	for t, n := range hits {
		lead := m.leads[t]
		if float64(n) < recallShare*float64(len(uniq(lead))) {
			continue // cannot reach the share: skip the costly comparison
		}
		share := float64(lcs(lead, content)) / float64(len(lead))
		if share >= recallShare && (share > bestShare || (share == bestShare && t < best)) {
			best, bestShare = t, share
		}
	}
	return best, best != ""
}

// recallByKey looks the windows of toks up among the keys.
func (m *LeadMemory) recallByKey(toks []string) (string, bool) {
	for i := range toks {
		for n := min(leadKeyWords, len(toks)-i); n >= minLeadWords; n-- {
			if ts := m.byKey[strings.Join(toks[i:i+n], " ")]; len(ts) > 0 {
				return ts[0], true
			}
		}
	}
	return "", false
}

// Len is the number of distinct keys remembered.
func (m *LeadMemory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.byKey)
}

// closedBookTurn answers from memory: the recalled title in \boxed{}, or
// \boxed{unknown}. The question is the last user message; the system
// prompt's wording is not read. Only the question's final clue (its last
// sentence before the ask, and the ask) is matched against memory: that is
// the clue about the entity asked for, while earlier clues describe the
// start of the chain, whose name is not the answer.
func closedBookTurn(req *openai.ChatCompletionRequest, mem Memory) turn {
	answer := "unknown"
	if q, ok := lastUserText(req); ok && mem != nil {
		if title, ok := mem.Recall(finalClue(q)); ok {
			answer = title
		}
	}
	return turn{content: `\boxed{` + answer + `}`, finish: openai.FinishReasonStop}
}

// finalClue is the last two sentences of a question.
func finalClue(q string) string {
	ss := splitLine(collapseSpaces(q))
	return strings.Join(ss[max(0, len(ss)-2):], " ")
}
