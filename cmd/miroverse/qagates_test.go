package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/miroverse/miroverse/pipeline"
	"github.com/miroverse/miroverse/qa"
)

func readQA(t *testing.T, root string) []pipeline.QARow {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, "qa", "*.parquet"))
	var out []pipeline.QARow
	for _, f := range files {
		rows, err := parquet.ReadFile[pipeline.QARow](f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		out = append(out, rows...)
	}
	return out
}

// contaminatedQuestion is the first question of the HotpotQA dev list; it
// names nothing of the demo corpus, so only the contamination gate can
// catch it.
const contaminatedQuestion = "Were Scott Derrickson and Ed Wood of the same nationality?"

// The oracle is told to write one bad question of each kind; each must be
// rejected by its own gate, and the rest of the run must be untouched.
func TestQAGatesRejectInjectedQuestions(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	data := sharedData(t)
	ref := readQA(t, demo(t))
	var kept []pipeline.QARow
	for _, r := range ref {
		if r.Status == qa.StatusKept {
			kept = append(kept, r)
		}
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].ID < kept[j].ID })
	if len(kept) < 7 {
		t.Fatalf("demo kept only %d questions", len(kept))
	}
	// The copy must sort after its original: of two near duplicates the
	// lower id is kept.
	// The copy must also name none of its own walk's documents, or the
	// leak gate, which runs first, rejects it before the dedup gate sees it.
	orig, dup := kept[0], pipeline.QARow{}
	for i := len(kept) - 1; i > 5 && dup.ID == ""; i-- {
		if !slices.ContainsFunc(kept[i].Titles, func(title string) bool {
			return strings.Contains(strings.ToLower(orig.Question), strings.ToLower(title))
		}) {
			dup = kept[i]
		}
	}
	if dup.ID == "" {
		t.Fatalf("no kept question whose walk %q does not name", orig.Question)
	}
	leak, ambiguous, closedBook, contaminated := kept[1], kept[2], kept[3], kept[4]
	// Every other kept question gets a shortcut clause planted.
	var shortcuts []pipeline.QARow
	for _, k := range kept[5:] {
		if k.ID != dup.ID {
			shortcuts = append(shortcuts, k)
		}
	}
	want := map[string]string{
		leak.ID:         "leak:",
		ambiguous.ID:    qa.ReasonAmbiguous,
		closedBook.ID:   qa.ReasonClosedBook,
		dup.ID:          qa.ReasonNearDuplicate,
		contaminated.ID: qa.ReasonContaminated,
	}
	cfg := demoConfig(t, fmt.Sprintf(`qa:
  contamination: [%s]
  inject:
    %s: leak
    %s: ambiguous
    %s: closed_book
    %s: "duplicate:%s"
    %s: "contaminated:%s"
%s`, filepath.Join(data, "qa", "hotpotqa_dev_7405.json"), leak.WalkID, ambiguous.WalkID, closedBook.WalkID,
		dup.WalkID, orig.WalkID, contaminated.WalkID, contaminatedQuestion, plant(shortcuts)))
	root := filepath.Join(t.TempDir(), "out")
	run(t, "run", "--config", cfg, "--out", root, "--quiet")

	got := map[string]pipeline.QARow{}
	for _, r := range readQA(t, root) {
		got[r.ID] = r
	}
	for id, reason := range want {
		r := got[id]
		if r.Status != qa.StatusRejected || !strings.HasPrefix(r.Reason, reason) {
			t.Errorf("%s: %s/%s (%s), want rejected for %s; question %q", id, r.Status, r.Reason, r.Detail, reason, r.Question)
		}
	}
	checkShortcuts(t, shortcuts, got, qa.ReasonMaskedHop, (len(shortcuts)+1)/2, false)
	if r := got[dup.ID]; !strings.Contains(r.Detail, orig.ID) {
		t.Errorf("duplicate detail %q does not name %s", r.Detail, orig.ID)
	}
	if r := got[contaminated.ID]; !strings.Contains(r.Detail, "hotpotqa_dev_7405.json") {
		t.Errorf("contamination detail %q does not name the list", r.Detail)
	}
	// Every other question ends as it did without the injections.
	for _, r := range ref {
		if _, injected := want[r.ID]; injected || slices.ContainsFunc(shortcuts, func(k pipeline.QARow) bool { return k.ID == r.ID }) {
			continue
		}
		if g := got[r.ID]; g.Status != r.Status || g.Reason != r.Reason || g.Question != r.Question {
			t.Errorf("%s changed: %s/%s %q, was %s/%s %q", r.ID, g.Status, g.Reason, g.Question, r.Status, r.Reason, r.Question)
		}
	}
	m, err := pipeline.ReadManifest(root)
	if err != nil {
		t.Fatal(err)
	}
	st := m.Stages["qa"]
	for _, reason := range []string{qa.ReasonAmbiguous, qa.ReasonClosedBook, qa.ReasonNearDuplicate, qa.ReasonContaminated} {
		if st.Rejected[reason] < 1 {
			t.Errorf("manifest qa rejections %v lack %s", st.Rejected, reason)
		}
	}
	for _, k := range []string{"writer_facts", "writer_obfuscate", "writer_compose", "verifier"} {
		if m.Prompts[k] == "" {
			t.Errorf("manifest prompt hashes %v lack %s", m.Prompts, k)
		}
	}
}

// plant is the qa.inject lines that give each of rows a shortcut clause.
func plant(rows []pipeline.QARow) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "    %s: shortcut\n", r.WalkID)
	}
	return b.String()
}

// checkShortcuts: a question given a shortcut (a last clause that is a
// standalone fact of the answer) must be caught by a gate that reads the
// text: with a bridge hidden the clause still pins the answer
// (masked_hop_answerable), or it does so on its own with corpus search
// (single_clause). Where the planted fact is the answer's lead (a document
// without an infobox) the closed-book gate, which runs first, may catch it
// instead. fires is the chain gate that must reject at least min of them.
// lenient lets a planted question end otherwise: the single-clause gate
// asks the corpus search, which a blurred date alone does not lead to one
// document, and on a Twi corpus the oracle has no English fact to plant
// beyond a few quoted words.
func checkShortcuts(t *testing.T, planted []pipeline.QARow, got map[string]pipeline.QARow, fires string, min int, lenient bool) {
	t.Helper()
	reasons := map[string]int{}
	for _, k := range planted {
		r := got[k.ID]
		reasons[r.Reason]++
		switch {
		case r.Reason == qa.ReasonSingleClause && strings.Contains(k.Question, clauseOf(r.Detail)):
			// The original question passed the gate: only the planted
			// clause may be the one that gave the answer away.
			t.Errorf("%s: single_clause on a clause of the original question: %s", k.ID, r.Detail)
		case lenient:
		case r.Question == k.Question:
			t.Errorf("%s: the shortcut injection left the question as it was: %q", k.ID, r.Question)
		case r.Status != qa.StatusRejected:
			t.Errorf("%s: planted shortcut kept: %q", k.ID, r.Question)
		case r.Reason != qa.ReasonMaskedHop && r.Reason != qa.ReasonSingleClause && r.Reason != qa.ReasonClosedBook:
			t.Errorf("%s: planted shortcut rejected for %s (%s), want a chain gate; question %q", k.ID, r.Reason, r.Detail, r.Question)
		}
	}
	t.Logf("%d planted shortcuts: %v", len(planted), reasons)
	if len(planted) == 0 || reasons[fires] < min {
		t.Errorf("planted shortcuts ended %v: want %s on at least %d of %d", reasons, fires, min, len(planted))
	}
}

// clauseOf is the clause a single_clause detail quotes, without a clip.
func clauseOf(detail string) string {
	_, c, _ := strings.Cut(detail, " alone: ")
	return strings.TrimSuffix(c, "…")
}

// With the masked-hop gate off, the single-clause gate alone catches the
// planted shortcuts: it reads each clause against the corpus search's hits
// and never sees the walk.
func TestSingleClauseCatchesPlantedShortcuts(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	var kept []pipeline.QARow
	for _, r := range readQA(t, demo(t)) {
		if r.Status == qa.StatusKept {
			kept = append(kept, r)
		}
	}
	cfg := demoConfig(t, "qa:\n  verify:\n    masked_hop: false\n  inject:\n"+plant(kept))
	root := filepath.Join(t.TempDir(), "out")
	run(t, "run", "--config", cfg, "--out", root, "--quiet")
	got := map[string]pipeline.QARow{}
	for _, r := range readQA(t, root) {
		got[r.ID] = r
	}
	checkShortcuts(t, kept, got, qa.ReasonSingleClause, 1, true)
}

// On the fatwiki run, where the oracle describes Twi text in English, a
// shortcut planted in every kept question is caught too.
func TestFatwikiPlantedShortcuts(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	ref, dump := fatwiki(t)
	var kept []pipeline.QARow
	for _, r := range readQA(t, ref) {
		if r.Status == qa.StatusKept {
			kept = append(kept, r)
		}
	}
	cfg := writeConfig(t, fatwikiYAML(dump)+"qa:\n  inject:\n"+plant(kept))
	root := filepath.Join(t.TempDir(), "out")
	run(t, "run", "--config", cfg, "--out", root, "--quiet")
	got := map[string]pipeline.QARow{}
	for _, r := range readQA(t, root) {
		got[r.ID] = r
	}
	checkShortcuts(t, kept, got, qa.ReasonMaskedHop, (len(kept)+1)/2, true)
}
