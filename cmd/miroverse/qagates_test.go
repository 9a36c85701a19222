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
	leak, ambiguous, closedBook, contaminated, shortcut := kept[1], kept[2], kept[3], kept[4], kept[5]
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
    %s: shortcut
`, filepath.Join(data, "qa", "hotpotqa_dev_7405.json"), leak.WalkID, ambiguous.WalkID, closedBook.WalkID,
		dup.WalkID, orig.WalkID, contaminated.WalkID, contaminatedQuestion, shortcut.WalkID))
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
	// A shortcut question (its last clause a standalone fact of the answer)
	// must be caught by a gate that reads the text: with the bridge hidden
	// the clause still pins the answer, or on its own with corpus search.
	if r := got[shortcut.ID]; r.Status != qa.StatusRejected || (r.Reason != qa.ReasonMaskedHop && r.Reason != qa.ReasonSingleClause) {
		t.Errorf("%s: %s/%s (%s), want rejected for %s or %s; question %q", shortcut.ID, r.Status, r.Reason, r.Detail,
			qa.ReasonMaskedHop, qa.ReasonSingleClause, r.Question)
	} else if r.Question == shortcut.Question {
		t.Errorf("%s: the shortcut injection left the question as it was: %q", shortcut.ID, r.Question)
	}
	if r := got[dup.ID]; !strings.Contains(r.Detail, orig.ID) {
		t.Errorf("duplicate detail %q does not name %s", r.Detail, orig.ID)
	}
	if r := got[contaminated.ID]; !strings.Contains(r.Detail, "hotpotqa_dev_7405.json") {
		t.Errorf("contamination detail %q does not name the list", r.Detail)
	}
	// Every other question ends as it did without the injections.
	for _, r := range ref {
		if _, injected := want[r.ID]; injected || r.ID == shortcut.ID {
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
