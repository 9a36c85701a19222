package gates

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/internal/text"
	"github.com/miroverse/miroverse/qa/internal/clip"
	"github.com/miroverse/miroverse/qa/internal/seed"
)

// A paraphrase of a benchmark question keeps few of its word n-grams
// ("Which movie…" for "Which film…", a clause moved, three words swapped),
// so the n-gram test misses it. Past the n-gram test the gate retrieves the
// benchmark questions nearest to the candidate — BM25 over stemmed content
// words, plus the names both hold — and asks the decontam role whether the
// candidate is a paraphrase of one of them. Retrieval is cheap and recalls
// widely; the judge, reading a handful of pairs, supplies the precision.

// DefaultContaminationTopK is how many retrieved benchmark questions the
// judge reads when the config leaves it at zero: a paraphrase that keeps
// its names ranks its original first almost always, and a few more cover
// those that reword the names too.
const DefaultContaminationTopK = 5

// BM25 parameters, the usual ones.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
	// entityBoost weighs a name (capitalised word) both questions hold
	// against a content word: a paraphrase can change every other word, but
	// it must keep the entities it asks about.
	entityBoost = 1.5
)

// Sections and reply of the decontam prompt. Prompt writes them and
// ReadPrompt reads them back, so the oracle reads the layout the gate writes.
const (
	decontamQuestion   = "## Question"
	decontamCandidates = "## Candidates"
)

const decontamPromptVersion = "decontam-v1"

const decontamSystemPrompt = `You check generated questions against benchmark questions. ` +
	`A question is a paraphrase of a benchmark question when it asks for the same fact about the same entities, ` +
	`however it is worded: synonyms, reordered clauses, a few words changed. ` +
	`A question about other entities, or asking for another fact, is not a paraphrase even if it shares the template.`

const decontamUserPrompt = `Is the question a paraphrase of one of the numbered candidates? ` +
	`Reply with JSON only: {"match": N} with the candidate's number, or {"match": -1} when it paraphrases none.`

// DecontamPromptHash is 16 hex digits of the SHA-256 of the decontam
// prompts, for the stage fingerprint and the manifest.
func DecontamPromptHash() string {
	sum := sha256.Sum256([]byte(decontamPromptVersion + "\x00" + decontamSystemPrompt + "\x00" + decontamUserPrompt))
	return hex.EncodeToString(sum[:8])
}

// Prompt lays out question and the candidates, numbered from 0, one per
// line: "[i] text".
func Prompt(question string, candidates []string) string {
	var b strings.Builder
	b.WriteString(decontamQuestion + "\n" + oneLine(question) + "\n\n" + decontamCandidates + "\n")
	for i, c := range candidates {
		fmt.Fprintf(&b, "[%d] %s\n", i, oneLine(c))
	}
	return b.String()
}

// oneLine keeps a text on one line, so a candidate cannot break the layout.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// ReadPrompt is the reading side of Prompt, for a message that holds one
// (instructions may precede it). ok is false without a question section.
func ReadPrompt(msg string) (question string, candidates []string, ok bool) {
	sec := text.Sections(msg, decontamQuestion, decontamCandidates)
	question = strings.TrimSpace(sec[decontamQuestion])
	if question == "" {
		return "", nil, false
	}
	for line := range strings.SplitSeq(sec[decontamCandidates], "\n") {
		t := strings.TrimSpace(line)
		num, rest, found := strings.Cut(strings.TrimPrefix(t, "["), "]")
		if !strings.HasPrefix(t, "[") || !found {
			continue
		}
		if i, err := strconv.Atoi(num); err == nil && i == len(candidates) {
			candidates = append(candidates, strings.TrimSpace(rest))
		}
	}
	return question, candidates, true
}

// DecontamReply is the judge's answer: the number of the candidate the
// question paraphrases, or -1.
type DecontamReply struct {
	Match int `json:"match"`
}

// parseDecontam reads {"match": N} from a reply, fenced or in prose.
func parseDecontam(content string) (int, bool) {
	for off := 0; off < len(content); off++ {
		i := strings.IndexByte(content[off:], '{')
		if i < 0 {
			break
		}
		off += i
		var r struct {
			Match *int `json:"match"`
		}
		if err := json.NewDecoder(strings.NewReader(content[off:])).Decode(&r); err == nil && r.Match != nil {
			return *r.Match, true
		}
	}
	return 0, false
}

// decontamRequest is the judge's request for question and candidates; its
// seed derives from the question, so a re-run asks the same request.
func decontamRequest(question string, candidates []string, model string) openai.ChatCompletionRequest {
	s := seed.Of(question)
	return openai.ChatCompletionRequest{
		Model: model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: decontamSystemPrompt},
			{Role: openai.ChatMessageRoleUser, Content: decontamUserPrompt + "\n\n" + Prompt(question, candidates)},
		},
		Seed:           &s,
		ResponseFormat: matchFormat(len(candidates)),
	}
}

// matchFormat is the judge's reply as a JSON Schema: a candidate's number
// or -1. parseDecontam reads the same JSON from servers that ignore it.
func matchFormat(n int) *openai.ChatCompletionResponseFormat {
	nums := make([]string, 0, n+1)
	nums = append(nums, "-1")
	for i := range n {
		nums = append(nums, strconv.Itoa(i))
	}
	return llm.Schema("decontam_match", json.RawMessage(`{"type":"object","properties":{"match":{"type":"integer","enum":[`+
		strings.Join(nums, ",")+`]}},"required":["match"],"additionalProperties":false}`))
}

// retrieval is the BM25 index over the benchmark questions' content words.
type retrieval struct {
	text   []string             // each ref's question
	post   map[string][]posting // stemmed content word → refs holding it
	length []int32              // content words per ref
	names  [][]string           // each ref's entity words, sorted, no repeats
	nameDF map[string]int32
	avgLen float64
}

type posting struct {
	ref int32
	tf  int32
}

func (r *retrieval) add(question string) {
	ref := int32(len(r.text))
	r.text = append(r.text, question)
	words := text.ContentWords(question)
	r.length = append(r.length, int32(len(words)))
	tf := map[string]int32{}
	for _, w := range words {
		tf[w]++
	}
	for _, w := range slices.Sorted(func(yield func(string) bool) {
		for w := range tf {
			if !yield(w) {
				return
			}
		}
	}) {
		r.post[w] = append(r.post[w], posting{ref, tf[w]})
	}
	ns := nameWords(question)
	r.names = append(r.names, ns)
	for _, n := range ns {
		r.nameDF[n]++
	}
}

func (r *retrieval) finish() {
	var total int64
	for _, l := range r.length {
		total += int64(l)
	}
	if len(r.length) > 0 {
		r.avgLen = float64(total) / float64(len(r.length))
	}
}

// nameWords are the folded words a question capitalises after its first
// word: the entities it is about, which any paraphrase of it keeps.
func nameWords(q string) []string {
	var out []string
	for i, w := range words(q) {
		c, _ := utf8.DecodeRuneInString(w)
		if i == 0 || !unicode.IsUpper(c) {
			continue
		}
		if f := text.FoldName(w); !text.IsStopWord(f) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// scored is one retrieved benchmark question.
type scored struct {
	ref   int32
	score float64
}

// top returns the k refs nearest question, best first, ties by ref.
func (r *retrieval) top(question string, k int) []scored {
	n := float64(len(r.text))
	if n == 0 || k <= 0 {
		return nil
	}
	score := map[int32]float64{}
	seen := map[string]bool{}
	for _, w := range text.ContentWords(question) {
		if seen[w] {
			continue
		}
		seen[w] = true
		ps := r.post[w]
		idf := math.Log(1 + (n-float64(len(ps))+0.5)/(float64(len(ps))+0.5))
		for _, p := range ps {
			tf := float64(p.tf)
			norm := bm25K1 * (1 - bm25B + bm25B*float64(r.length[p.ref])/max(r.avgLen, 1))
			score[p.ref] += idf * tf * (bm25K1 + 1) / (tf + norm)
		}
	}
	qn := nameWords(question)
	for ref := range score {
		for _, nm := range qn {
			if _, ok := slices.BinarySearch(r.names[ref], nm); ok {
				df := float64(r.nameDF[nm])
				score[ref] += entityBoost * math.Log(1+(n-df+0.5)/(df+0.5))
			}
		}
	}
	out := make([]scored, 0, len(score))
	for ref, s := range score {
		out = append(out, scored{ref, s})
	}
	slices.SortFunc(out, func(a, b scored) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.ref, b.ref)
	})
	return out[:min(k, len(out))]
}

// Candidates returns the benchmark questions nearest question, best first,
// at most k (≤ 0: the gate's top_k).
func (c *Contamination) Candidates(question string, k int) []string {
	if k <= 0 {
		k = c.topK
	}
	var out []string
	for _, s := range c.ret.top(question, k) {
		out = append(out, c.ret.text[s.ref])
	}
	return out
}

// CheckContext is Check followed, when the fast path finds nothing and a
// judge is set, by the paraphrase judge over the top_k retrieved benchmark
// questions (How "judge"). An error means the judge could not be asked or
// gave no verdict: the question's fate is unknown, not clean. The verdict
// is a function of the question and the lists alone (the judge reads only
// them, with a seed derived from the question), so a resumed run that asks
// again gets the same answer from a deterministic judge.
func (c *Contamination) CheckContext(ctx context.Context, question string) (ContaminationMatch, bool, error) {
	if m, ok := c.Check(question); ok || c.Judge == nil {
		return m, ok, nil
	}
	top := c.ret.top(question, c.topK)
	if len(top) == 0 {
		return ContaminationMatch{}, false, nil
	}
	cands := make([]string, len(top))
	for i, s := range top {
		cands[i] = c.ret.text[s.ref]
	}
	reply, err := c.Judge.Chat(ctx, decontamRequest(question, cands, c.Judge.Model()))
	if err != nil {
		return ContaminationMatch{}, false, fmt.Errorf("decontam judge: %w", err)
	}
	msg := reply.Message
	llm.SplitThink(&msg)
	i, ok := parseDecontam(msg.Content)
	if !ok || i < -1 || i >= len(cands) {
		return ContaminationMatch{}, false, fmt.Errorf("decontam judge: reply has no match in [-1, %d]: %q", len(cands)-1, clip.AtWord(msg.Content, 200))
	}
	if i < 0 {
		return ContaminationMatch{}, false, nil
	}
	r := c.refs[top[i].ref]
	return ContaminationMatch{File: r.file, ID: r.id, Overlap: c.gramShare(question, top[i].ref), How: "judge"}, true, nil
}

// gramShare is the n-gram score of question against one benchmark
// question, for the detail of a judged match (it is below the threshold,
// or the fast path would have matched).
func (c *Contamination) gramShare(question string, ref int32) float64 {
	words := strings.Fields(text.FoldText(question))
	var own, shared float64
	for _, g := range distinctGrams(words, c.ngram) {
		ps := c.grams[g]
		w := c.weight(len(ps))
		own += w
		if _, ok := slices.BinarySearch(ps, ref); ok {
			shared += w
		}
	}
	if own == 0 {
		return 0
	}
	return shared / max(own, c.refW[ref])
}
