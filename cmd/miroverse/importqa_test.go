package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/miroverse/miroverse/pipeline"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/qa/importer"
)

// Every HotpotQA question of R1-Searcher's eval set is a HotpotQA dev
// question, so importing it against the dev list must reject all of it.
func TestQAImportContaminated(t *testing.T) {
	dir := filepath.Join(sharedData(t), "qa")
	root := filepath.Join(t.TempDir(), "out")
	out, _ := run(t, "qa", "import", "--input", filepath.Join(dir, "hotpotqa_500.jsonl"),
		"--contamination", filepath.Join(dir, "hotpotqa_dev_7405.json"), "--out", root, "-q")
	if !strings.Contains(out, "500 records, 0 kept, 500 rejected (contaminated 500)") {
		t.Fatalf("import output: %s", out)
	}
	m, err := pipeline.ReadManifest(root)
	if err != nil {
		t.Fatal(err)
	}
	st := m.Stages[pipeline.StageQA]
	if st == nil || st.In != 500 || st.Kept != 0 || st.Rejected[qa.ReasonContaminated] != 500 || !st.Complete {
		t.Fatalf("qa stage stats: %+v", st)
	}
	if m.Outputs["qa"] == nil || m.Outputs["qa"].Rows != 500 {
		t.Fatalf("qa output: %+v", m.Outputs["qa"])
	}
	// inspect --stage qa: the count by reason and examples naming the match.
	ins, _ := run(t, "inspect", root, "--stage", "qa")
	for _, want := range []string{"stage qa: 500 in, 0 kept", "contaminated", "500", "hotpotqa_dev_7405.json#", "e.g. qa-"} {
		if !strings.Contains(ins, want) {
			t.Errorf("inspect --stage qa lacks %q:\n%s", want, ins)
		}
	}
	if n := strings.Count(ins, "e.g. "); n != 3 {
		t.Errorf("inspect --stage qa shows %d examples, want 3:\n%s", n, ins)
	}
	js, _ := run(t, "inspect", root, "--stage", "qa", "--json")
	var got pipeline.StageStats
	if err := json.Unmarshal([]byte(js), &got); err != nil || got.Rejected[qa.ReasonContaminated] != 500 {
		t.Fatalf("inspect --stage qa --json: %v %+v", err, got)
	}
	// Importing again commits nothing new.
	out, _ = run(t, "qa", "import", "--input", filepath.Join(dir, "hotpotqa_500.jsonl"),
		"--contamination", filepath.Join(dir, "hotpotqa_dev_7405.json"), "--out", root, "-q")
	if !strings.Contains(out, "500 already imported") {
		t.Fatalf("re-import output: %s", out)
	}
}

// HotpotQA's original format: paragraphs become documents (one per title),
// questions become kept items that synthesize, judge and export turn into
// SFT rows.
func TestQAImportHotpotTrainToSFT(t *testing.T) {
	input := filepath.Join(sharedData(t), "qa", "hotpotqa_train_100.json")
	b, err := os.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	var recs []struct {
		ID      string              `json:"_id"`
		Context [][]json.RawMessage `json:"context"`
	}
	if err := json.Unmarshal(b, &recs); err != nil {
		t.Fatal(err)
	}
	titles := map[string]bool{}
	for _, r := range recs {
		for _, c := range r.Context {
			var title string
			if err := json.Unmarshal(c[0], &title); err != nil {
				t.Fatal(err)
			}
			titles[title] = true
		}
	}

	root := filepath.Join(t.TempDir(), "out")
	cfg := writeConfig(t, "workers: 4\nsynthesize:\n  rollouts: 2\n  python_tools: false\n")
	out, _ := run(t, "qa", "import", "--input", input, "--out", root, "--config", cfg, "-q")
	if !strings.Contains(out, fmt.Sprintf("%d documents added", len(titles))) {
		t.Fatalf("import output %q; want %d documents", out, len(titles))
	}
	m, err := pipeline.ReadManifest(root)
	if err != nil {
		t.Fatal(err)
	}
	if m.Graph.Docs != int64(len(titles)) {
		t.Fatalf("graph holds %d documents, want %d distinct titles", m.Graph.Docs, len(titles))
	}
	st := m.Stages[pipeline.StageQA]
	if st.In != int64(len(recs)) || st.Kept == 0 || st.In != st.Kept+sumCounts(st.Rejected)+sumCounts(st.Failed) {
		t.Fatalf("qa stage stats: %+v", st)
	}
	for _, stage := range []string{pipeline.StageSynthesize, pipeline.StageJudge, pipeline.StageExport} {
		run(t, stage, "--out", root, "--config", cfg, "-q")
	}
	if m, err = pipeline.ReadManifest(root); err != nil {
		t.Fatal(err)
	}
	if n := m.Stages[pipeline.StageExport].Counts["sft_rows"]; n == 0 {
		t.Fatalf("no SFT rows from %d imported questions: %+v", st.Kept, m.Stages)
	}
	imported := map[string]bool{}
	for _, r := range recs {
		imported[importer.ItemID(importer.FormatHotpotQA, r.ID, questionOf(t, b, r.ID))] = true
	}
	rows := 0
	for _, f := range m.Outputs["sft/data"].Files {
		tbl := readArrow(t, filepath.Join(root, f))
		ids := column(t, tbl, "qa_id").(*array.String)
		for i := 0; i < ids.Len(); i++ {
			rows++
			if !imported[ids.Value(i)] {
				t.Errorf("SFT row %d of %s: qa_id %q is not an imported question", i, f, ids.Value(i))
			}
		}
		tbl.Release()
	}
	if rows == 0 {
		t.Fatal("SFT files hold no rows")
	}
}

// questionOf finds the question of HotpotQA record id in the raw file.
func questionOf(t *testing.T, raw []byte, id string) string {
	t.Helper()
	var recs []struct {
		ID       string `json:"_id"`
		Question string `json:"question"`
	}
	if err := json.Unmarshal(raw, &recs); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.ID == id {
			return strings.TrimSpace(r.Question)
		}
	}
	t.Fatalf("no record %s", id)
	return ""
}

func sumCounts(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// A malformed JSONL line is reported with its file and line, counted, and
// the rest is imported; MuSiQue's unanswerable items are rejected with a reason.
func TestQAImportBadRecords(t *testing.T) {
	in := filepath.Join(t.TempDir(), "mixed.jsonl")
	body := `{"question": "Which river runs through the city where the author of Dubliners was born?", "answer": "River Liffey"}
{"question": "broken
{"answer": "no question"}
{"question": "Which river runs through the city where the author of Dubliners was born", "answer": "Liffey"}
{"question": "What is the capital of the country whose flag has a maple leaf?", "answer": "Ottawa"}
`
	if err := os.WriteFile(in, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "out")
	out, stderr := run(t, "qa", "import", "--input", in, "--format", "jsonl", "--out", root, "-q")
	if !strings.Contains(out, "5 records, 2 kept, 1 rejected (near_duplicate 1), 2 failed (malformed_record 2)") {
		t.Fatalf("import output: %s", out)
	}
	for _, want := range []string{"mixed.jsonl:line 2", "mixed.jsonl:line 3"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not name %s:\n%s", want, stderr)
		}
	}
	ins, _ := run(t, "inspect", root, "--stage", "qa")
	for _, want := range []string{"near_duplicate", "duplicate of qa-", "malformed_record", "mixed.jsonl:line 2"} {
		if !strings.Contains(ins, want) {
			t.Errorf("inspect --stage qa lacks %q:\n%s", want, ins)
		}
	}

	ms := filepath.Join(t.TempDir(), "ms.json")
	if err := os.WriteFile(ms, []byte(`[{"id": "x", "question": "Q?", "answer": "A", "answerable": false, "paragraphs": [{"title": "T", "paragraph_text": "text"}], "question_decomposition": []}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ = run(t, "qa", "import", "--input", ms, "--out", root, "-q")
	if !strings.Contains(out, "(musique): 1 records, 0 kept, 1 rejected (marked_unanswerable 1)") || !strings.Contains(out, "1 documents added") {
		t.Fatalf("musique import output: %s", out)
	}

	// A JSON array broken mid-way: an error naming file and record, exit
	// status 1, the records before the break imported.
	broken := filepath.Join(t.TempDir(), "broken.json")
	if err := os.WriteFile(broken, []byte(`[{"question": "Who painted the ceiling of the chapel consecrated in 1483?", "answer": "Michelangelo"}, {"question": `), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runCLI(t, invocation{args: []string{"qa", "import", "--input", broken, "--out", root, "-q"}})
	if res.code != exitError || !strings.Contains(res.stderr, "broken.json: record 1") || !strings.Contains(res.stdout, "1 kept") {
		t.Fatalf("broken array: exit %d, stdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
}

// Imported questions live beside the written ones: writing the questions
// again (here because a gate setting changed) starts the qa stage over
// without losing what `qa import` added.
func TestQAImportSurvivesRewrite(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	root := filepath.Join(t.TempDir(), "out")
	cfg := demoConfig(t, "")
	run(t, "run", "--config", cfg, "--out", root, "-q")
	before := readTrajectories(t, root)
	qaBefore := len(readQA(t, root))
	in := filepath.Join(t.TempDir(), "mine.jsonl")
	if err := os.WriteFile(in, []byte(`{"question": "Which composer of the Romantic era was born in Nelahozeves?", "answer": "Antonín Dvořák"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "qa", "import", "--input", in, "--format", "jsonl", "--out", root, "-q")
	imported := func() int {
		n := 0
		for _, r := range readQA(t, root) {
			if strings.HasPrefix(r.Writer, "import:") && r.Status == "kept" {
				n++
			}
		}
		return n
	}
	if n := imported(); n != 1 {
		t.Fatalf("%d imported questions kept after import, want 1", n)
	}
	// The finished stages take up the new question and redo nothing.
	for _, stage := range []string{"qa", "synthesize", "judge", "export"} {
		if _, stderr := run(t, stage, "--config", cfg, "--out", root); strings.Contains(stderr, "starting it over") {
			t.Errorf("%s started over after an import:\n%s", stage, stderr)
		}
	}
	if n := len(readQA(t, root)); n != qaBefore+1 {
		t.Errorf("%d questions after qa ran again with the same config, want %d", n, qaBefore+1)
	}
	after := readTrajectories(t, root)
	old := map[string]string{}
	for _, r := range before {
		old[r.ID] = r.Answer + "\x00" + r.Status
	}
	added := 0
	for _, r := range after {
		if prev, ok := old[r.ID]; ok {
			if prev != r.Answer+"\x00"+r.Status {
				t.Errorf("rollout %s changed", r.ID)
			}
			continue
		}
		added++
	}
	if len(after) != len(before)+added || added != 4 {
		t.Errorf("%d rollouts before, %d after, %d new; want the 4 rollouts of the imported question added", len(before), len(after), added)
	}
	cfg2 := demoConfig(t, "qa:\n  dedup_threshold: 0.9\n")
	run(t, "qa", "--config", cfg2, "--out", root, "-q")
	if n := imported(); n != 1 {
		t.Errorf("%d imported questions kept after the qa stage ran again, want 1", n)
	}
}
