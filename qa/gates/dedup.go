package gates

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/miroverse/miroverse/internal/minhash"
	"github.com/miroverse/miroverse/internal/text"
	"github.com/miroverse/miroverse/qa"
)

// DefaultDedupThreshold is the Jaccard estimate at and above which two
// questions with the same answer count as near duplicates when the config
// leaves it at zero. Text similarity alone cannot tell a reworded copy from
// another question of the same template ("…the capital of Poland?" and
// "…of Hungary?" share most shingles), so the gate only compares questions
// that share an answer; within one answer, 0.6 catches rewordings that move
// a clause or change punctuation.
const DefaultDedupThreshold = 0.6

// Dedup is an index of kept questions, one MinHash index (see package
// minhash) per answer key. It is not safe for concurrent use: feed it in one
// deterministic order (by item id) so the same set of candidates always
// keeps the same ones.
type Dedup struct {
	threshold float64
	byKey     map[string]*minhash.Index
	seq       map[string]int      // id → order of Add, to report the earliest match across keys
	ents      map[string]entities // id → entityWords of its question
}

// DedupKey says what a question asks for: its gold answer and the id of the
// document that answers it (the walk's last doc; "" for an imported question
// without one). Two questions can only be duplicates when they share the
// normalized answer or the answer doc.
type DedupKey struct {
	Answer, AnswerDoc string
}

// KeyOf is the DedupKey of an item.
func KeyOf(it qa.Item) DedupKey {
	k := DedupKey{Answer: it.Answer}
	if n := len(it.DocIDs); n > 0 {
		k.AnswerDoc = it.DocIDs[n-1]
	}
	return k
}

// keys are the index keys of k: each content word of the normalized
// answer, and the answer doc, so an imported question (answer only) still
// meets a written one (answer and doc) with the same answer, and "River
// Liffey" meets "Liffey". Sharing a word of the answer is a loose test on
// purpose; the names test (entitiesAgree) is what keeps apart two
// questions whose answers merely share a word.
func (k DedupKey) keys() []string {
	var out []string
	for _, w := range text.AnswerTokens(k.Answer) {
		if !text.IsStopWord(w) && !slices.Contains(out, "a\x00"+w) {
			out = append(out, "a\x00"+w)
		}
	}
	if len(out) == 0 && strings.TrimSpace(k.Answer) != "" {
		out = append(out, "a\x00"+text.FoldName(k.Answer)) // an answer of function words only ("no", "it")
	}
	if k.AnswerDoc != "" {
		out = append(out, "d\x00"+k.AnswerDoc)
	}
	// Every question is also filed under one shared key, where only a near
	// copy (NearCopyThreshold) counts: the same question written for two
	// walks is a duplicate whatever answers they hold, since at most one of
	// them can be right.
	return append(out, anyAnswer)
}

// anyAnswer is the key every question is filed under.
const anyAnswer = "*"

// NearCopyThreshold is the Jaccard estimate at which two questions are
// duplicates even with different answers: the same text but for
// punctuation or a word.
const NearCopyThreshold = 0.9

// NewDedup returns an empty index; threshold ≤ 0 means DefaultDedupThreshold.
func NewDedup(threshold float64) *Dedup {
	if threshold <= 0 {
		threshold = DefaultDedupThreshold
	}
	return &Dedup{threshold: threshold, byKey: map[string]*minhash.Index{}, seq: map[string]int{}, ents: map[string]entities{}}
}

// Threshold is the Jaccard estimate at which Check reports a duplicate.
func (d *Dedup) Threshold() float64 { return d.threshold }

// Len is the number of indexed questions.
func (d *Dedup) Len() int { return len(d.seq) }

// Check returns the earliest-added question that question duplicates, and
// their Jaccard estimate: one sharing a word of key's answer (or its answer
// doc) whose estimate reaches the threshold, or any question it nearly
// copies (NearCopyThreshold); either way the two must name the same
// entities (entitiesAgree).
func (d *Dedup) Check(question string, key DedupKey) (dupOf string, jaccard float64, ok bool) {
	sig, empty := minhash.Sign(question)
	if empty {
		return "", 0, false
	}
	return d.find(sig, entityWords(question), key)
}

func (d *Dedup) find(sig minhash.Signature, ents entities, key DedupKey) (dupOf string, jaccard float64, ok bool) {
	sameEntities := func(id string, _ float64) bool { return entitiesAgree(ents, d.ents[id]) }
	nearCopy := func(id string, j float64) bool { return j >= NearCopyThreshold && sameEntities(id, j) }
	for _, k := range key.keys() {
		idx := d.byKey[k]
		if idx == nil {
			continue
		}
		accept := sameEntities
		if k == anyAnswer {
			accept = nearCopy
		}
		if id, j, hit := idx.CheckSignedFunc(sig, accept); hit && (!ok || d.seq[id] < d.seq[dupOf]) {
			dupOf, jaccard, ok = id, j, true
		}
	}
	return dupOf, jaccard, ok
}

// Add indexes question under id and key's answer and answer doc.
func (d *Dedup) Add(id, question string, key DedupKey) {
	sig, empty := minhash.Sign(question)
	if empty {
		return
	}
	d.add(id, sig, entityWords(question), key)
}

func (d *Dedup) add(id string, sig minhash.Signature, ents entities, key DedupKey) {
	ks := key.keys()
	if len(ks) == 0 {
		return
	}
	if _, seen := d.seq[id]; !seen {
		d.seq[id] = len(d.seq)
		d.ents[id] = ents
	}
	for _, k := range ks {
		idx := d.byKey[k]
		if idx == nil {
			idx = minhash.New(d.threshold)
			d.byKey[k] = idx
		}
		idx.AddSigned(id, sig)
	}
}

// CheckAdd checks question and, when it is no duplicate, adds it.
func (d *Dedup) CheckAdd(id, question string, key DedupKey) (dupOf string, jaccard float64, ok bool) {
	sig, empty := minhash.Sign(question)
	if empty {
		return "", 0, false
	}
	ents := entityWords(question)
	if dupOf, jaccard, ok = d.find(sig, ents, key); ok {
		return dupOf, jaccard, true
	}
	d.add(id, sig, ents, key)
	return "", 0, false
}

// Jaccard estimates the shingle Jaccard similarity of two questions, for
// tests and for tuning the threshold.
func Jaccard(a, b string) float64 { return minhash.Jaccard(a, b) }

// entities are the names a question is about, for telling a rewording of
// a question from another question of its template.
type entities struct {
	names []string        // folded capitalised words and numbers after the first word, sorted, no repeats
	words map[string]bool // every folded word of the question
}

// entityWords returns the entities of question. Function words that titles
// capitalise ("Of", "The") are no names.
func entityWords(question string) entities {
	e := entities{words: map[string]bool{}}
	for i, w := range strings.FieldsFunc(question, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		f := text.FoldText(w) // NFKC too: "１９００" is 1900
		if f == "" {
			continue
		}
		e.words[f] = true
		r, _ := utf8.DecodeRuneInString(w)
		if i > 0 && (unicode.IsUpper(r) || unicode.IsDigit(r)) && !titleFunctionWords[f] {
			e.names = append(e.names, f)
		}
	}
	slices.Sort(e.names)
	e.names = slices.Compact(e.names)
	return e
}

var titleFunctionWords = map[string]bool{
	"the": true, "of": true, "a": true, "an": true, "and": true, "in": true, "on": true,
	"at": true, "for": true, "to": true, "de": true, "la": true, "le": true, "von": true, "van": true,
}

// entitiesAgree reports whether two questions name the same entities, but
// for at most one name missing from the other question's words. Questions
// of one template differ in the entity they ask about ("Berkeley Square" /
// "Portman Square", "1900" / "1904"), which leaves a name on each side
// that the other lacks, while a rewording of one question keeps its names
// and adds or drops at most one. A name is looked up among all the other
// question's words, so a copy that only changes case still agrees.
func entitiesAgree(a, b entities) bool {
	missing := 0
	for _, w := range a.names {
		if !b.words[w] {
			missing++
		}
	}
	for _, w := range b.names {
		if !a.words[w] {
			missing++
		}
	}
	return missing <= 1
}
