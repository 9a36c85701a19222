package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/parquet-go/parquet-go"

	"github.com/miroverse/miroverse/pipeline"
)

// readArrow reads one Parquet file with Arrow's reader, independent of the
// parquet-go writer that produced it.
func readArrow(t *testing.T, path string) arrow.Table {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatalf("arrow: open %s: %v", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("arrow: %s: %v", path, err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("arrow: read %s: %v", path, err)
	}
	return tbl
}

var boxRe = regexp.MustCompile(`\\boxed\s*\{`)

// checkOutputs reads every published file with Arrow: row counts equal the
// manifest, and SFT/DPO rows keep the invariants a training job relies on.
func checkOutputs(t *testing.T, root string, m *pipeline.Manifest) {
	t.Helper()
	for _, part := range []string{"subgraphs", "qa", "trajectories", "sft/data", "dpo/data"} {
		out := m.Outputs[part]
		if out == nil {
			t.Fatalf("manifest lists no %s output", part)
		}
		var rows int64
		for _, f := range out.Files {
			tbl := readArrow(t, filepath.Join(root, f))
			rows += tbl.NumRows()
			if part == "sft/data" {
				checkSFTTable(t, f, tbl)
			}
			if part == "dpo/data" {
				checkDPOTable(t, f, tbl)
			}
			tbl.Release()
		}
		if rows != out.Rows {
			t.Errorf("%s: manifest says %d rows, Arrow reads %d", part, out.Rows, rows)
		}
	}
	if got, want := m.Outputs["sft/data"].Rows, m.Stages["export"].Counts["sft_rows"]; got != want {
		t.Errorf("sft rows %d, export count %d", got, want)
	}
	if got, want := m.Outputs["dpo/data"].Rows, m.Stages["export"].Counts["dpo_pairs"]; got != want {
		t.Errorf("dpo rows %d, export count %d", got, want)
	}
	if got, want := m.Outputs["qa"].Rows, m.Stages["qa"].In; got != want {
		t.Errorf("qa rows %d, qa items %d: every candidate must be published", got, want)
	}
	if got, want := m.Outputs["trajectories"].Rows, m.Stages["synthesize"].In; got != want {
		t.Errorf("trajectory rows %d, rollouts %d", got, want)
	}
}

// column returns a table column's single chunk (our files are small).
func column(t *testing.T, tbl arrow.Table, name string) arrow.Array {
	t.Helper()
	idx := tbl.Schema().FieldIndices(name)
	if len(idx) != 1 {
		t.Fatalf("no column %q in %v", name, tbl.Schema())
	}
	chunks := tbl.Column(idx[0]).Data().Chunks()
	if len(chunks) != 1 {
		if len(chunks) == 0 {
			return nil
		}
		t.Fatalf("column %q has %d chunks", name, len(chunks))
	}
	return chunks[0]
}

// messages decodes row i of a list<struct<role, content, tool_calls…>> column.
type arrowMsg struct {
	role, content string
	toolCalls     int
	// calls renders the native tool calls (name and arguments), so that two
	// messages calling different things never compare equal.
	calls string
}

func messagesAt(t *testing.T, col arrow.Array, i int) []arrowMsg {
	t.Helper()
	list := col.(*array.List)
	st := list.ListValues().(*array.Struct)
	typ := st.DataType().(*arrow.StructType)
	field := func(name string) arrow.Array {
		idx, ok := typ.FieldIdx(name)
		if !ok {
			t.Fatalf("message struct has no field %q", name)
		}
		return st.Field(idx)
	}
	roles := field("role").(*array.String)
	contents := field("content").(*array.String)
	calls := field("tool_calls").(*array.List)
	lo, hi := list.ValueOffsets(i)
	var out []arrowMsg
	for j := int(lo); j < int(hi); j++ {
		m := arrowMsg{role: roles.Value(j)}
		if contents.IsValid(j) {
			m.content = contents.Value(j)
		}
		if calls.IsValid(j) {
			a, b := calls.ValueOffsets(j)
			m.toolCalls = int(b - a)
			for k := a; k < b; k++ {
				m.calls += calls.ListValues().ValueStr(int(k)) + "\n"
			}
		}
		out = append(out, m)
	}
	return out
}

func checkSFTTable(t *testing.T, name string, tbl arrow.Table) {
	t.Helper()
	if tbl.NumRows() == 0 {
		return
	}
	msgs, tools, correct := column(t, tbl, "messages"), column(t, tbl, "tools").(*array.String), column(t, tbl, "correct").(*array.Boolean)
	for i := 0; i < int(tbl.NumRows()); i++ {
		ms := messagesAt(t, msgs, i)
		last := ms[len(ms)-1]
		if last.role != "assistant" || !boxRe.MatchString(last.content) {
			t.Errorf("%s row %d: last message %q/%q is not an assistant \\boxed{} answer", name, i, last.role, last.content)
		}
		if !correct.Value(i) {
			t.Errorf("%s row %d: not judged correct", name, i)
		}
		calls := 0
		for _, m := range ms {
			calls += m.toolCalls + strings.Count(m.content, "<use_mcp_tool>")
		}
		if calls == 0 {
			t.Errorf("%s row %d: no tool call", name, i)
		}
		checkToolsJSON(t, name, i, tools.Value(i))
	}
}

func checkDPOTable(t *testing.T, name string, tbl arrow.Table) {
	t.Helper()
	prompt, chosen, rejected := column(t, tbl, "prompt"), column(t, tbl, "chosen"), column(t, tbl, "rejected")
	ca, ra := column(t, tbl, "chosen_answer").(*array.String), column(t, tbl, "rejected_answer").(*array.String)
	for i := 0; i < int(tbl.NumRows()); i++ {
		c, r := messagesAt(t, chosen, i), messagesAt(t, rejected, i)
		if len(c) == 0 || len(r) == 0 {
			t.Errorf("%s row %d: empty side", name, i)
			continue
		}
		same := len(c) == len(r)
		for j := 0; same && j < len(c); j++ {
			same = c[j] == r[j]
		}
		if same {
			t.Errorf("%s row %d: chosen equals rejected", name, i)
		}
		if ca.Value(i) == ra.Value(i) {
			t.Errorf("%s row %d: chosen and rejected give the same answer %q", name, i, ca.Value(i))
		}
		// A pair whose research is the same and whose answers differ
		// teaches only the last word: the rejected side must have gone
		// another way (its tool calls, its reading), not merely boxed
		// another name at the end of the same route.
		p := messagesAt(t, prompt, i)
		if slices.Equal(research(append(slices.Clone(p), c...)), research(append(slices.Clone(p), r...))) {
			t.Errorf("%s row %d: chosen (%q) and rejected (%q) differ only in the final answer", name, i, ca.Value(i), ra.Value(i))
		}
	}
}

// research is a trajectory up to its first assistant message without a tool
// call: the searching and reading, without the answer that follows.
func research(ms []arrowMsg) []arrowMsg {
	for i, m := range ms {
		if m.role == "assistant" && m.toolCalls == 0 && !strings.Contains(m.content, "<use_mcp_tool>") {
			return ms[:i]
		}
	}
	return ms
}

func checkToolsJSON(t *testing.T, name string, row int, s string) {
	t.Helper()
	var schemas []struct {
		Type     string `json:"type"`
		Function struct {
			Name       string          `json:"name"`
			Parameters json.RawMessage `json:"parameters"`
		} `json:"function"`
	}
	if err := json.Unmarshal([]byte(s), &schemas); err != nil || len(schemas) == 0 {
		t.Fatalf("%s row %d: tools is not a JSON list of schemas: %v", name, row, err)
	}
	for _, sc := range schemas {
		if sc.Type != "function" || sc.Function.Name == "" || len(sc.Function.Parameters) == 0 {
			t.Errorf("%s row %d: bad tool schema %+v", name, row, sc)
		}
	}
}

// readTrajectories reads trajectories/ back into the pipeline's row type.
func readTrajectories(t *testing.T, root string) []pipeline.TrajectoryRow {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, "trajectories", "*.parquet"))
	var out []pipeline.TrajectoryRow
	for _, f := range files {
		rows, err := parquet.ReadFile[pipeline.TrajectoryRow](f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		out = append(out, rows...)
	}
	return out
}
