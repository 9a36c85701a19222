package gates

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/internal/text"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/qa/internal/jsonid"
	"golang.org/x/text/unicode/norm"
)

// Contamination defaults, used when the config leaves them at zero.
const (
	// DefaultContaminationNGram: word 3-grams. Benchmark questions are
	// 10–30 words, so the 8- and 13-grams used for documents would leave a
	// lightly edited question with no surviving gram. Short grams are
	// safe because each is weighted by its rarity among the benchmark
	// questions (see Check).
	DefaultContaminationNGram = 3
	// DefaultContaminationOverlap is the least IDF-weighted share of n-grams
	// a candidate and one benchmark question must have in common, relative
	// to the heavier of the two.
	DefaultContaminationOverlap = 0.6
)

// ContaminationOptions tune the n-gram test. Zero values mean the defaults.
type ContaminationOptions struct {
	NGram   int
	Overlap float64
	TopK    int // benchmark questions the paraphrase judge reads (0: DefaultContaminationTopK)
}

// Contamination indexes benchmark questions. It is read-only after
// LoadContamination and safe for concurrent Check calls.
type Contamination struct {
	ngram   int
	overlap float64
	refs    []benchRef
	exact   map[string]int32   // normalized text → ref
	grams   map[uint64][]int32 // n-gram hash → refs holding it
	gaia    map[string]string  // sha256 of GAIA-normalized question → "file#task_id"
	files   []string
	refW    []float64 // total gram weight of each benchmark question
	ret     retrieval // candidates for the paraphrase judge
	topK    int

	// Judge, when set, decides whether a question the n-gram test lets
	// through paraphrases one of the benchmark questions retrieved for it
	// (role llm.RoleDecontam; see CheckContext). Set it before the first
	// CheckContext call.
	Judge llm.Chatter
}

type benchRef struct {
	file string // base name of the benchmark file
	id   string // the question's id field, or its 0-based index
}

// ContaminationMatch says which benchmark question a candidate matches.
type ContaminationMatch struct {
	File, ID string
	// Overlap is the share of the candidate's n-grams found in the matched
	// question; 1 for exact and hash matches.
	Overlap float64
	How     string // "exact", "sha256", "ngram" or "judge"
}

// Detail renders the match for qa.Item.Detail.
func (m ContaminationMatch) Detail() string {
	return fmt.Sprintf("%s#%s (%s, overlap %.2f)", m.File, m.ID, m.How, m.Overlap)
}

// LoadContamination reads benchmark lists: JSON arrays of objects with a
// "question" (HotpotQA dev/test, MuSiQue, 2Wiki), JSONL of such objects
// (R1-Searcher's eval sets, MuSiQue's own files), and GAIA hash TSVs
// (`task_id, level, sha256(norm(question)), chars`, recognised by their
// "# task_id" header). A list that cannot be read is an error: a silently
// missing benchmark would let its questions through.
func LoadContamination(paths []string, opt ContaminationOptions) (*Contamination, error) {
	c := &Contamination{
		ngram: opt.NGram, overlap: opt.Overlap,
		exact: map[string]int32{}, grams: map[uint64][]int32{}, gaia: map[string]string{},
		ret: retrieval{post: map[string][]posting{}, nameDF: map[string]int32{}}, topK: opt.TopK,
	}
	if c.topK <= 0 {
		c.topK = DefaultContaminationTopK
	}
	if c.ngram <= 0 {
		c.ngram = DefaultContaminationNGram
	}
	if c.overlap <= 0 {
		c.overlap = DefaultContaminationOverlap
	}
	for _, p := range paths {
		if err := c.load(p); err != nil {
			return nil, fmt.Errorf("contamination list %s: %w", p, err)
		}
		c.files = append(c.files, filepath.Base(p))
	}
	c.finish()
	return c, nil
}

// Files are the base names of the loaded lists.
func (c *Contamination) Files() []string { return c.files }

// Len is the number of indexed questions (text and hashes).
func (c *Contamination) Len() int { return len(c.refs) + len(c.gaia) }

func (c *Contamination) load(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	file := filepath.Base(path)
	trimmed := bytes.TrimLeft(b, " \t\r\n\ufeff")
	switch {
	case bytes.HasPrefix(trimmed, []byte("# task_id")) || strings.HasSuffix(path, ".tsv"):
		return c.loadGAIA(file, b)
	case bytes.HasPrefix(trimmed, []byte("[")):
		var recs []json.RawMessage
		if err := json.Unmarshal(trimmed, &recs); err != nil {
			return fmt.Errorf("not a JSON array of questions: %w", err)
		}
		for i, raw := range recs {
			if err := c.addRecord(file, strconv.Itoa(i), raw); err != nil {
				return fmt.Errorf("record %d: %w", i, err)
			}
		}
	default:
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
		for line := 1; sc.Scan(); line++ {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			if err := c.addRecord(file, strconv.Itoa(line-1), sc.Bytes()); err != nil {
				return fmt.Errorf("line %d: %w", line, err)
			}
		}
		if err := sc.Err(); err != nil {
			return err
		}
	}
	return nil
}

// addRecord indexes one {question, ...} object; its id is the record's
// own id field when it has one, else fallback (its index).
func (c *Contamination) addRecord(file, fallback string, raw []byte) error {
	var r struct {
		Question string          `json:"question"`
		ID       json.RawMessage `json:"id"`
		UID      json.RawMessage `json:"_id"`
		Idx      json.RawMessage `json:"idx"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	if strings.TrimSpace(r.Question) == "" {
		return errors.New(`no "question"`)
	}
	id := fallback
	for _, v := range []json.RawMessage{r.ID, r.UID, r.Idx} {
		if s := jsonid.Text(v); s != "" {
			id = s
			break
		}
	}
	ref := int32(len(c.refs))
	c.refs = append(c.refs, benchRef{file: file, id: id})
	c.ret.add(r.Question)
	words := strings.Fields(text.FoldText(r.Question))
	key := strings.Join(words, " ")
	if _, dup := c.exact[key]; !dup {
		c.exact[key] = ref
	}
	for _, g := range wordGrams(words, c.ngram) {
		ps := c.grams[g]
		if len(ps) > 0 && ps[len(ps)-1] == ref {
			continue // a gram repeated within one question counts once
		}
		c.grams[g] = append(ps, ref)
	}
	return nil
}

func (c *Contamination) loadGAIA(file string, b []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		f := strings.Split(t, "\t")
		if len(f) < 3 || len(f[2]) != 64 {
			return fmt.Errorf("line %d: want task_id, level, sha256 separated by tabs", line)
		}
		if _, err := hex.DecodeString(f[2]); err != nil {
			return fmt.Errorf("line %d: sha256: %w", line, err)
		}
		c.gaia[strings.ToLower(f[2])] = file + "#" + f[0]
	}
	return sc.Err()
}

// GAIAHash is the hash the GAIA list stores for a question: sha256 hex of
// the question after NFKC, lowercasing, collapsing whitespace runs to one
// space and trimming — exactly the normalization its header names, with no
// punctuation stripped.
func GAIAHash(question string) string {
	s := strings.ToLower(norm.NFKC.String(question))
	s = strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Check reports the benchmark question question matches, if any: a GAIA
// hash, an exact normalized match, or the benchmark question holding the
// largest share of the candidate's word n-grams when that share reaches the
// threshold (ties go to the earliest-loaded question).
func (c *Contamination) Check(question string) (ContaminationMatch, bool) {
	if ref, ok := c.gaia[GAIAHash(question)]; ok {
		file, id, _ := strings.Cut(ref, "#")
		return ContaminationMatch{File: file, ID: id, Overlap: 1, How: "sha256"}, true
	}
	words := strings.Fields(text.FoldText(question))
	if len(words) == 0 {
		return ContaminationMatch{}, false
	}
	if ref, ok := c.exact[strings.Join(words, " ")]; ok {
		r := c.refs[ref]
		return ContaminationMatch{File: r.file, ID: r.id, Overlap: 1, How: "exact"}, true
	}
	grams := distinctGrams(words, c.ngram)
	if len(grams) == 0 {
		return ContaminationMatch{}, false // shorter than one n-gram: only exact matches count
	}
	var own float64
	shared := map[int32]float64{}
	for _, g := range grams {
		ps := c.grams[g]
		w := c.weight(len(ps))
		own += w
		for _, ref := range ps {
			shared[ref] += w
		}
	}
	best, bestScore := int32(-1), 0.0
	for ref, w := range shared {
		// Dividing by the larger of the two weights keeps a short question
		// that shares its template with a long one ("Who is the sibling of
		// …") from counting as a copy, and a long question that merely
		// contains a short one from counting either.
		score := w / max(own, c.refW[ref])
		if score > bestScore || (score == bestScore && ref < best) {
			best, bestScore = ref, score
		}
	}
	if best < 0 || bestScore < c.overlap {
		return ContaminationMatch{}, false
	}
	r := c.refs[best]
	return ContaminationMatch{File: r.file, ID: r.id, Overlap: bestScore, How: "ngram"}, true
}

// weight is the inverse document frequency of a gram held by df benchmark
// questions: template grams ("who is the", "of the same") that thousands
// of questions share weigh little, names weigh much, and a gram no
// benchmark question holds weighs most.
func (c *Contamination) weight(df int) float64 {
	return math.Log(1 + float64(len(c.refs))/float64(1+df))
}

// finish computes each benchmark question's total gram weight once every
// list is loaded (weights depend on all of them).
func (c *Contamination) finish() {
	c.ret.finish()
	c.refW = make([]float64, len(c.refs))
	// Grams in order: each total is a float sum, and map order would let
	// its last bit, and so a verdict right at the threshold, vary by run.
	for _, g := range slices.Sorted(maps.Keys(c.grams)) {
		ps := c.grams[g]
		w := c.weight(len(ps))
		for _, ref := range ps {
			c.refW[ref] += w
		}
	}
}

// distinctGrams hashes the n-word windows of words, each once.
func distinctGrams(words []string, n int) []uint64 {
	var out []uint64
	seen := map[uint64]bool{}
	for _, g := range wordGrams(words, n) {
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}

// wordGrams hashes the n-word windows of words.
func wordGrams(words []string, n int) []uint64 {
	if len(words) < n {
		return nil
	}
	out := make([]uint64, 0, len(words)-n+1)
	for i := 0; i+n <= len(words); i++ {
		h := fnv.New64a()
		for j, w := range words[i : i+n] {
			if j > 0 {
				h.Write([]byte{' '})
			}
			io.WriteString(h, w)
		}
		out = append(out, h.Sum64())
	}
	return out
}

// applyTextGates runs the contamination and near-duplicate gates over the
// kept items of items, in ascending id order so the same set always keeps
// the same members: a kept item that matches a benchmark becomes rejected
// "contaminated"; one whose question is a near duplicate of an item already
// in d (added earlier or kept earlier in this pass) with the same answer or
// answer doc (see Dedup) becomes rejected
// "near_duplicate" with the id it duplicates in Detail; the rest stay kept
// and are added to d. Items that are not kept are left alone and not
// indexed. Either gate may be nil. It returns the indexes of the items it
// rejected.
func applyTextGates(items []qa.Item, c *Contamination, d *Dedup) []int {
	order := make([]int, 0, len(items))
	for i := range items {
		if items[i].Status == qa.StatusKept {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(items[a].ID, items[b].ID) })
	var rejected []int
	for _, i := range order {
		it := &items[i]
		if c != nil {
			if m, ok := c.Check(it.Question); ok {
				it.Status, it.Reason, it.Detail = qa.StatusRejected, qa.ReasonContaminated, m.Detail()
				rejected = append(rejected, i)
				continue
			}
		}
		if d != nil {
			if dup, j, ok := d.CheckAdd(it.ID, it.Question, KeyOf(*it)); ok {
				it.Status, it.Reason, it.Detail = qa.StatusRejected, qa.ReasonNearDuplicate, fmt.Sprintf("duplicate of %s (jaccard %.2f)", dup, j)
				rejected = append(rejected, i)
			}
		}
	}
	return rejected
}
