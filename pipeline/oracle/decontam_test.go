package oracle

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/internal/shareddata"
	"github.com/miroverse/miroverse/qa/gates"
)

func TestDecontamMatch(t *testing.T) {
	cands := []string{
		"Were Scott Derrickson and Ed Wood of the same nationality?",
		"Which film directed by Ed Wood was released in 1959?",
	}
	tests := []struct {
		name, q string
		want    int
	}{
		{"synonyms", "Which movie that Ed Wood directed came out in 1959?", 1},
		{"reordered", "Of the same nationality, were Ed Wood and Scott Derrickson?", 0},
		{"other entities, same template", "Were Lionel Messi and Diego Maradona of the same nationality?", -1},
		{"one name swapped", "Were Scott Derrickson and Tim Burton of the same nationality?", -1},
		{"unrelated", "Which river flows through the birthplace of the architect of the Sydney Opera House?", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decontamMatch(tt.q, cands); got != tt.want {
				t.Fatalf("decontamMatch(%q) = %d, want %d", tt.q, got, tt.want)
			}
		})
	}
}

// TestDecontamRole: the oracle reads the gate's prompt and answers in the
// gate's reply format, through the production client.
func TestDecontamRole(t *testing.T) {
	s := startOracle(t, Config{})
	dir := shareddata.Dir(t, "qa")
	c, err := gates.LoadContamination([]string{filepath.Join(dir, "hotpotqa_dev_7405.json")}, gates.ContaminationOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.Judge = client(s, llm.RoleDecontam)
	m, ok, err := c.CheckContext(t.Context(), "Scott Derrickson and Ed Wood: did they hold the same citizenship?")
	if err != nil || !ok || m.How != "judge" || m.File != "hotpotqa_dev_7405.json" || m.ID != "0" {
		t.Fatalf("paraphrase: %+v %v %v", m, ok, err)
	}
	if m, ok, err := c.CheckContext(t.Context(), "Were Lionel Messi and Diego Maradona of the same nationality?"); err != nil || ok {
		t.Fatalf("other entities: %+v %v %v", m, ok, err)
	}
}

// readQuestions returns the "question" fields of a JSON array or JSONL file.
func readQuestions(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []struct{ Question string }
	if strings.HasPrefix(strings.TrimSpace(string(b)), "[") {
		if err := json.Unmarshal(b, &recs); err != nil {
			t.Fatal(err)
		}
	} else {
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var r struct{ Question string }
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			recs = append(recs, r)
		}
	}
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.Question)
	}
	return out
}

// Variants of a benchmark question, written by rules of this test only
// (none of them is the oracle's table): how a writer model might echo a
// question it has seen.

// reorder swaps the clauses around the first comma, or the two halves of
// the question when it has none.
func reorder(q string) string {
	body := strings.TrimRight(q, "?. ")
	if a, b, ok := strings.Cut(body, ", "); ok {
		return b + ", " + a + "?"
	}
	w := strings.Fields(body)
	h := len(w) / 2
	return strings.Join(append(w[h:], w[:h]...), " ") + "?"
}

// editWords changes n words of q: deleting one, inserting a filler, and
// replacing a lowercase word of four or more letters with another.
func editWords(q string, n, salt int) string {
	w := strings.Fields(strings.TrimRight(q, "?"))
	fillers := []string{"exactly", "really", "actually", "originally", "notably"}
	replace := []string{"particular", "certain", "given", "noted", "specific"}
	for k := range n {
		if len(w) < 4 {
			break
		}
		i := (salt*7 + k*5) % len(w)
		switch k % 3 {
		case 0: // delete a word other than the first
			i = 1 + i%(len(w)-1)
			w = append(w[:i], w[i+1:]...)
		case 1: // insert a filler
			w = append(w[:i], append([]string{fillers[(salt+k)%len(fillers)]}, w[i:]...)...)
		case 2: // replace a lowercase word
			for j := range w {
				x := w[(i+j)%len(w)]
				if len(x) >= 4 && strings.ToLower(x) == x {
					w[(i+j)%len(w)] = replace[(salt+k)%len(replace)]
					break
				}
			}
		}
	}
	return strings.Join(w, " ") + "?"
}

// synonymSwaps are the rewordings the synonym variant applies, as whole
// words.
var synonymSwaps = [][2]string{
	{"film", "movie"}, {"films", "movies"}, {"city", "town"}, {"country", "nation"},
	{"director", "filmmaker"}, {"directed", "helmed"}, {"company", "firm"}, {"founded", "established"},
	{"released", "put out"}, {"band", "group"}, {"played", "performed"}, {"wrote", "penned"},
	{"written", "authored"}, {"located", "situated"}, {"same", "identical"}, {"singer", "vocalist"},
	{"actor", "performer"}, {"actress", "performer"}, {"born", "birthed"}, {"known", "recognized"},
	{"name", "title"}, {"largest", "biggest"}, {"located in", "found in"}, {"also", "as well"},
	{"Which", "What"}, {"What", "Which"}, {"American", "US"}, {"died", "passed away"},
	{"began", "started"}, {"famous", "renowned"}, {"starred", "featured"}, {"novel", "book"},
	{"song", "track"}, {"job", "occupation"}, {"located", "based"}, {"is", "was"},
}

// synonyms applies synonymSwaps; ok is false when none applied.
func synonyms(q string) (string, bool) {
	n := 0
	for _, s := range synonymSwaps {
		re := regexp.MustCompile(`\b` + regexp.QuoteMeta(s[0]) + `\b`)
		if re.MatchString(q) {
			q = re.ReplaceAllString(q, s[1])
			n++
		}
	}
	return q, n >= 2
}

// swapNames replaces the names (capitalised words after the first) of q,
// one by one, with those of other: the same template about other entities.
// ok is false unless every name of q, and at least two, were replaced.
func swapNames(q, other string) (string, bool) {
	isName := func(i int, w string) bool {
		return i > 0 && w != "" && strings.ToUpper(w[:1]) == w[:1] && strings.ToLower(w[:1]) != w[:1]
	}
	var repl []string
	for i, w := range strings.Fields(other) {
		if w = strings.Trim(w, "?,.'\"()"); isName(i, w) {
			repl = append(repl, w)
		}
	}
	ws := strings.Fields(q)
	n, names := 0, 0
	for i, w := range ws {
		core := strings.Trim(w, "?,.'\"()")
		if !isName(i, core) {
			continue
		}
		names++
		if n < len(repl) && core != repl[n] {
			ws[i] = strings.Replace(w, core, repl[n], 1)
			n++
		}
	}
	return strings.Join(ws, " "), n >= 2 && n == names
}

// TestDecontamRates measures the contamination gate with the oracle as its
// judge on variants of sampled HotpotQA dev questions, and false positives
// on questions of lists that are not loaded. The thresholds are the rates
// measured when the judge was introduced, rounded down (README, "Text
// gates"); the log prints the rates of this run.
func TestDecontamRates(t *testing.T) {
	dir := shareddata.Dir(t, "qa")
	s := startOracle(t, Config{})
	c, err := gates.LoadContamination([]string{
		filepath.Join(dir, "hotpotqa_dev_7405.json"),
		filepath.Join(dir, "2wiki_500.jsonl"),
		filepath.Join(dir, "musique_500.jsonl"),
	}, gates.ContaminationOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.Judge = client(s, llm.RoleDecontam)
	dev := readQuestions(t, filepath.Join(dir, "hotpotqa_dev_7405.json"))
	type kind struct {
		name     string
		qs       []string
		control  bool    // clean questions: a match is a false positive
		wantRate float64 // least detection rate, or for controls the most false positives
		// judgeAdds is, for a control, the most the judge may add to the
		// n-gram test's false positives.
		judgeAdds float64
		fast, all int
	}
	kinds := []*kind{
		{name: "exact", wantRate: 1},
		{name: "reordered", wantRate: 0.99},
		{name: "2-3 words changed", wantRate: 0.97},
		{name: "synonyms", wantRate: 0.97},
		{name: "control: hotpotqa train (not loaded)", control: true, wantRate: 0.02, judgeAdds: 0.02},
		{name: "control: bamboogle (not loaded)", control: true, wantRate: 0.02, judgeAdds: 0.02},
		// Every name of a dev question replaced by another question's: the
		// n-gram test (unchanged by the judge) still matches the long
		// descriptive questions whose wording outweighs their names, so only
		// the judge's own share is held low here.
		{name: "control: dev template, other entities", control: true, wantRate: 0.40, judgeAdds: 0.06},
	}
	const step = 37 // 200 of the 7405 dev questions
	for i := 0; i < len(dev); i += step {
		q := dev[i]
		kinds[0].qs = append(kinds[0].qs, q)
		kinds[1].qs = append(kinds[1].qs, reorder(q))
		kinds[2].qs = append(kinds[2].qs, editWords(q, 2+i%2, i))
		if sq, ok := synonyms(q); ok {
			kinds[3].qs = append(kinds[3].qs, sq)
		}
		if tq, ok := swapNames(q, dev[(i+step*17+1)%len(dev)]); ok {
			kinds[6].qs = append(kinds[6].qs, tq)
		}
	}
	kinds[4].qs = readQuestions(t, filepath.Join(dir, "hotpotqa_train_100.json"))
	kinds[5].qs = readQuestions(t, filepath.Join(dir, "bamboogle.jsonl"))
	var table strings.Builder
	for _, k := range kinds {
		for _, q := range k.qs {
			if _, ok := c.Check(q); ok {
				k.fast++
			}
			m, ok, err := c.CheckContext(t.Context(), q)
			if err != nil {
				t.Fatalf("%s: %q: %v", k.name, q, err)
			}
			if ok {
				k.all++
				if k.control {
					t.Logf("%s: false positive %q ~ %s", k.name, q, m.Detail())
				}
			}
		}
		fast, all := float64(k.fast)/float64(len(k.qs)), float64(k.all)/float64(len(k.qs))
		fmt.Fprintf(&table, "| %s | %d | %.1f%% | %.1f%% |\n", k.name, len(k.qs), 100*fast, 100*all)
		if k.control && (all > k.wantRate || all-fast > k.judgeAdds) || !k.control && all < k.wantRate {
			t.Errorf("%s: rate %.3f (n-gram alone %.3f) over %d questions, want %s %.2f",
				k.name, all, fast, len(k.qs), map[bool]string{true: "≤", false: "≥"}[k.control], k.wantRate)
		}
	}
	t.Logf("\n| variant | questions | n-gram only | with judge |\n|---|---|---|---|\n%s", table.String())
}
