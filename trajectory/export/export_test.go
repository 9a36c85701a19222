package export

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/verdict"
)

var testQA = QAInfo{
	QAID:     "qa-1",
	Question: "Which tower?",
	Answer:   "Eiffel Tower",
	Gold:     []string{"Eiffel Tower", "Tour Eiffel"},
	Hops:     2,
	DocIDs:   []string{"d1", "d2"},
}

// judged makes a clean answered function-mode rollout of testQA with the
// given number of tool calls; correct says which verdict it got.
func judged(index, calls int, answer string, correct bool) Judged {
	msgs := []trajectory.Message{
		{Role: "system", Content: trajectory.Text("You are a researcher.")},
		{Role: "user", Content: trajectory.Text(testQA.Question)},
	}
	for c := range calls {
		id := fmt.Sprintf("call_%d", c+1)
		msgs = append(msgs,
			trajectory.Message{Role: "assistant", Content: trajectory.Text(fmt.Sprintf("Step %d of rollout %d.", c, index)),
				ToolCalls: []trajectory.ToolCall{{ID: id, Type: "function",
					Function: trajectory.FunctionCall{Name: "google_search", Arguments: fmt.Sprintf(`{"q":"hop %d"}`, c)}}}},
			trajectory.Message{Role: "tool", Content: trajectory.Text(`{"organic":[]}`), ToolCallID: trajectory.Text(id), Name: trajectory.Text("google_search")})
	}
	msgs = append(msgs,
		trajectory.Message{Role: "assistant", Content: trajectory.Text("I know the answer.")},
		trajectory.Message{Role: "user", Content: trajectory.Text("Give the final answer.")},
		trajectory.Message{Role: "assistant", Content: trajectory.Text(`The answer is \boxed{` + answer + `}`)})
	v := verdict.Verdict{Correct: correct, Method: verdict.MethodExact, Label: verdict.LabelCorrect, F1: 1}
	if !correct {
		v = verdict.Verdict{Method: verdict.MethodF1, Label: verdict.LabelIncorrect}
	}
	return Judged{
		Rollout: trajectory.Rollout{
			ID: fmt.Sprintf("r-%d", index), QAID: testQA.QAID, Index: index, Model: "oracle", Mode: trajectory.ModeFunction,
			Messages: msgs, Tools: `[{"type":"function","function":{"name":"google_search","description":"Search.","parameters":{"type":"object"}}}]`, Answer: answer, Status: trajectory.StatusAnswered,
			NumToolCalls: calls, NumTurns: calls + 2, PromptTokens: int64(100 * (index + 1)), CompletionTokens: 10,
		},
		Verdict: v,
	}
}

func withRollout(j Judged, edit func(*trajectory.Rollout)) Judged {
	edit(&j.Rollout)
	return j
}

func TestBuildSFT(t *testing.T) {
	tests := []struct {
		name    string
		rs      []Judged
		opt     Options
		wantID  string // rollout picked; "" for none
		wantErr bool
	}{
		{name: "fewest tool calls", rs: []Judged{
			judged(0, 3, "Eiffel Tower", true), judged(1, 1, "Eiffel Tower", true),
			judged(2, 0, "Louvre", false), judged(3, 2, "Eiffel Tower", true)}, wantID: "r-1"},
		{name: "tie goes to lowest index", rs: []Judged{
			judged(4, 1, "Eiffel Tower", true), judged(2, 1, "Eiffel Tower", true), judged(3, 2, "Eiffel Tower", true)},
			wantID: "r-2"},
		{name: "pick first", opt: Options{SFTPick: PickFirst}, rs: []Judged{
			judged(1, 1, "Eiffel Tower", true), judged(0, 3, "Eiffel Tower", true)}, wantID: "r-0"},
		{name: "quality issues excluded", rs: []Judged{
			withRollout(judged(0, 0, "Eiffel Tower", true), func(r *trajectory.Rollout) { r.Repetition = true }),
			withRollout(judged(1, 0, "Eiffel Tower", true), func(r *trajectory.Rollout) { r.Truncated = true }),
			withRollout(judged(2, 0, "Eiffel Tower", true), func(r *trajectory.Rollout) { r.Rollbacks = 1 }),
			withRollout(judged(3, 0, "Eiffel Tower", true), func(r *trajectory.Rollout) { r.MaxToolErrorRun = 6 }),
			withRollout(judged(4, 0, "Eiffel Tower", true), func(r *trajectory.Rollout) { r.Status = trajectory.StatusFormatError }),
			judged(5, 4, "Eiffel Tower", true)}, wantID: "r-5"},
		{name: "none correct", rs: []Judged{judged(0, 1, "Louvre", false)}},
		{name: "no rollouts"},
		{name: "log not ending in the boxed reply is skipped", rs: []Judged{
			withRollout(judged(0, 0, "Eiffel Tower", true), func(r *trajectory.Rollout) { r.Messages = r.Messages[:len(r.Messages)-1] }),
			withRollout(judged(1, 0, "Eiffel Tower", true), func(r *trajectory.Rollout) {
				r.Messages = append(r.Messages, trajectory.Message{Role: "tool", Content: trajectory.Text("[ERROR]: no tools"), ToolCallID: trajectory.Text("x"), Name: trajectory.Text("google_search")})
			}),
			judged(2, 3, "Eiffel Tower", true)}, wantID: "r-2"},
		{name: "other question", wantErr: true, rs: []Judged{
			withRollout(judged(0, 1, "Eiffel Tower", true), func(r *trajectory.Rollout) { r.QAID = "qa-2" })}},
		{name: "bad pick", opt: Options{SFTPick: "longest"}, wantErr: true, rs: []Judged{judged(0, 1, "Eiffel Tower", true)}},
		{name: "bad style", opt: Options{Style: "alpaca"}, wantErr: true, rs: []Judged{judged(0, 1, "Eiffel Tower", true)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := tt.opt
			opt.Generator = "miroverse-test"
			row, ok, err := BuildSFT(testQA, tt.rs, opt)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if ok != (tt.wantID != "") {
				t.Fatalf("ok = %v, want a row: %v", ok, tt.wantID != "")
			}
			if !ok {
				return
			}
			var picked trajectory.Rollout
			for _, j := range tt.rs {
				if j.Rollout.ID == tt.wantID {
					picked = j.Rollout
				}
			}
			want := SFTRow{
				ID: exportRowID("sft-", testQA.QAID, tt.wantID), Messages: picked.Messages, Tools: picked.Tools,
				QAID: testQA.QAID, Question: testQA.Question, Answer: testQA.Answer, GoldAnswers: testQA.Gold, Hops: 2,
				SourceDocIDs: testQA.DocIDs, Model: "oracle", Generator: "miroverse-test", Correct: true, Judge: verdict.MethodExact,
				NumToolCalls: int32(picked.NumToolCalls), NumTurns: int32(picked.NumTurns),
				PromptTokens: picked.PromptTokens, CompletionTokens: picked.CompletionTokens,
			}
			if !reflect.DeepEqual(row, want) {
				t.Errorf("row =\n%+v\nwant\n%+v", row, want)
			}
			last := row.Messages[len(row.Messages)-1]
			if last.Role != "assistant" || !strings.Contains(*last.Content, `\boxed{`) || row.Messages[0].Role != "system" {
				t.Errorf("row does not start with the system prompt and end with the boxed answer")
			}
		})
	}
}

func TestExportCheckBoxed(t *testing.T) {
	call := []trajectory.ToolCall{{ID: "c", Type: "function", Function: trajectory.FunctionCall{Name: "google_search", Arguments: "{}"}}}
	tests := []struct {
		name string
		msgs []trajectory.Message
		ok   bool
	}{
		{"boxed reply", []trajectory.Message{{Role: "user", Content: trajectory.Text("q")}, {Role: "assistant", Content: trajectory.Text(`so \boxed{x}`)}}, true},
		{"empty", nil, false},
		{"no box", []trajectory.Message{{Role: "assistant", Content: trajectory.Text("x")}}, false},
		{"nil content", []trajectory.Message{{Role: "assistant"}}, false},
		{"box in a user message", []trajectory.Message{{Role: "user", Content: trajectory.Text(`\boxed{x}`)}}, false},
		{"box with a call", []trajectory.Message{{Role: "assistant", Content: trajectory.Text(`\boxed{x}`), ToolCalls: call}}, false},
		{"box with an MCP call", []trajectory.Message{{Role: "assistant", Content: trajectory.Text(`\boxed{x}` + "\n\n" + mcpSearchBlock)}}, false},
	}
	for _, tt := range tests {
		if err := exportCheckBoxed(tt.msgs); (err == nil) != tt.ok {
			t.Errorf("%s: exportCheckBoxed = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

func TestBuildSFTStyle(t *testing.T) {
	rs := []Judged{judged(0, 2, "Eiffel Tower", true)}
	row, ok, err := BuildSFT(testQA, rs, Options{Style: StyleChatML})
	if err != nil || !ok {
		t.Fatalf("BuildSFT = %v, %v", ok, err)
	}
	for i, m := range row.Messages {
		if m.Role == "tool" || len(m.ToolCalls) > 0 {
			t.Errorf("message %d (%s) has native tool fields in %s style", i, m.Role, StyleChatML)
		}
	}
	if !strings.HasSuffix(*row.Messages[2].Content, "</use_mcp_tool>") {
		t.Errorf("assistant call not rendered as MCP: %q", *row.Messages[2].Content)
	}
	// The stored rollout must not change under the exported row.
	if rs[0].Rollout.Messages[3].Role != "tool" {
		t.Error("BuildSFT changed the rollout's messages")
	}
}

func TestBuildDPO(t *testing.T) {
	type pair struct{ chosen, rejected string }
	tests := []struct {
		name    string
		rs      []Judged
		opt     Options
		want    []pair
		wantErr bool
	}{
		{name: "sft pick against lowest incorrect", rs: []Judged{
			judged(0, 3, "Eiffel Tower", true), judged(1, 1, "Tour Eiffel", true),
			judged(2, 1, "Louvre", false), judged(3, 0, "Notre Dame", false)},
			want: []pair{{"r-1", "r-2"}}},
		{name: "all correct", rs: []Judged{judged(0, 1, "Eiffel Tower", true), judged(1, 2, "Eiffel Tower", true)}},
		{name: "all incorrect", rs: []Judged{judged(0, 1, "Louvre", false), judged(1, 2, "Notre Dame", false)}},
		{name: "no rollouts"},
		{name: "dirty rollouts are never paired", rs: []Judged{
			judged(0, 1, "Eiffel Tower", true),
			withRollout(judged(1, 1, "Louvre", false), func(r *trajectory.Rollout) { r.Repetition = true }),
			withRollout(judged(2, 1, "Louvre", false), func(r *trajectory.Rollout) { r.Truncated = true }),
			withRollout(judged(3, 1, "Louvre", false), func(r *trajectory.Rollout) { r.Rollbacks = 2 }),
			withRollout(judged(4, 1, "", false), func(r *trajectory.Rollout) { r.Status = trajectory.StatusFormatError }),
			judged(5, 2, "Notre Dame", false)},
			want: []pair{{"r-0", "r-5"}}},
		{name: "not attempted is no rejected answer", rs: []Judged{
			judged(0, 1, "Eiffel Tower", true),
			{Rollout: judged(1, 1, "I could not tell", false).Rollout, Verdict: verdict.Verdict{Method: verdict.MethodGrader, Label: verdict.LabelNotAttempted}}}},
		{name: "rejected with a correct answer's text is skipped", rs: []Judged{
			judged(0, 1, "Eiffel Tower", true), judged(1, 2, "the eiffel tower", false), judged(2, 2, "Louvre", false)},
			want: []pair{{"r-0", "r-2"}}},
		{name: "more pairs use every rollout once first", opt: Options{MaxPairsPerQuestion: 10}, rs: []Judged{
			judged(0, 2, "Eiffel Tower", true), judged(1, 1, "Eiffel Tower", true),
			judged(2, 1, "Louvre", false), judged(3, 1, "Notre Dame", false), judged(4, 1, "Arc", false)},
			want: []pair{{"r-1", "r-2"}, {"r-0", "r-3"}, {"r-1", "r-4"}}},
		{name: "pair cap", opt: Options{MaxPairsPerQuestion: 2}, rs: []Judged{
			judged(0, 1, "Eiffel Tower", true),
			judged(2, 1, "Louvre", false), judged(3, 1, "Notre Dame", false), judged(4, 1, "Arc", false)},
			want: []pair{{"r-0", "r-2"}, {"r-0", "r-3"}}},
		{name: "different prompts", wantErr: true, rs: []Judged{
			judged(0, 1, "Eiffel Tower", true),
			withRollout(judged(1, 1, "Louvre", false), func(r *trajectory.Rollout) { r.Messages[0].Content = trajectory.Text("Other system prompt.") })}},
		{name: "different tools", wantErr: true, rs: []Judged{
			judged(0, 1, "Eiffel Tower", true),
			withRollout(judged(1, 1, "Louvre", false), func(r *trajectory.Rollout) { r.Tools = "[]" })}},
		{name: "negative cap", opt: Options{MaxPairsPerQuestion: -1}, wantErr: true,
			rs: []Judged{judged(0, 1, "Eiffel Tower", true), judged(1, 1, "Louvre", false)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := BuildDPO(testQA, tt.rs, tt.opt)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			var got []pair
			for _, r := range rows {
				got = append(got, pair{r.ChosenRolloutID, r.RejectedRolloutID})
				checkDPORow(t, r)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("pairs = %v, want %v", got, tt.want)
			}
		})
	}
}

// checkDPORow asserts the invariants every pair must hold.
func checkDPORow(t *testing.T, r DPORow) {
	t.Helper()
	if r.ChosenRolloutID == r.RejectedRolloutID || reflect.DeepEqual(r.Chosen, r.Rejected) {
		t.Errorf("pair %s: chosen equals rejected", r.ID)
	}
	if r.ID != exportRowID("dpo-", r.ChosenRolloutID, r.RejectedRolloutID) {
		t.Errorf("pair id %s is not derived from its rollouts", r.ID)
	}
	if len(r.Prompt) != 2 || r.Prompt[0].Role != "system" || r.Prompt[1].Role != "user" {
		t.Errorf("pair %s: prompt is not system + question: %s", r.ID, dumpMessages(r.Prompt))
	}
	for _, side := range [][]trajectory.Message{r.Chosen, r.Rejected} {
		if err := exportCheckBoxed(side); err != nil {
			t.Errorf("pair %s: %v", r.ID, err)
		}
		if side[0].Role != "assistant" {
			t.Errorf("pair %s: continuation starts with %s", r.ID, side[0].Role)
		}
	}
	if r.QAID != testQA.QAID || r.Answer != testQA.Answer || r.ChosenAnswer == "" || r.RejectedAnswer == "" {
		t.Errorf("pair %s: bad provenance %+v", r.ID, r)
	}
}

func TestBuildDPOStyle(t *testing.T) {
	rs := []Judged{judged(0, 1, "Eiffel Tower", true), judged(1, 2, "Louvre", false)}
	rows, err := BuildDPO(testQA, rs, Options{Style: StyleChatML})
	if err != nil || len(rows) != 1 {
		t.Fatalf("BuildDPO = %d rows, %v", len(rows), err)
	}
	for _, side := range [][]trajectory.Message{rows[0].Prompt, rows[0].Chosen, rows[0].Rejected} {
		for _, m := range side {
			if m.Role == "tool" || len(m.ToolCalls) > 0 {
				t.Errorf("%s message with native tool fields in %s style", m.Role, StyleChatML)
			}
		}
	}
}

// TestExportIgnoresInputOrder runs every permutation of the rollouts: rows
// and their ids must not change.
func TestExportIgnoresInputOrder(t *testing.T) {
	rs := []Judged{
		judged(0, 2, "Eiffel Tower", true), judged(1, 1, "Eiffel Tower", true),
		judged(2, 1, "Louvre", false), judged(3, 3, "Notre Dame", false),
	}
	opt := Options{MaxPairsPerQuestion: 3}
	wantSFT, _, err := BuildSFT(testQA, rs, opt)
	if err != nil {
		t.Fatal(err)
	}
	wantDPO, err := BuildDPO(testQA, rs, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(wantDPO) != 2 {
		t.Fatalf("%d pairs, want 2", len(wantDPO))
	}
	n := 0
	permute(rs, 0, func(p []Judged) {
		n++
		sft, _, err := BuildSFT(testQA, p, opt)
		if err != nil {
			t.Fatal(err)
		}
		dpo, err := BuildDPO(testQA, p, opt)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(sft, wantSFT) || !reflect.DeepEqual(dpo, wantDPO) {
			t.Errorf("rows changed under input order %v", rolloutIDs(p))
		}
	})
	if n != 24 {
		t.Fatalf("ran %d permutations, want 24", n)
	}
}

// permute calls f with every permutation of s (Heap's algorithm would do
// too; this swap recursion is easier to read).
func permute(s []Judged, k int, f func([]Judged)) {
	if k == len(s) {
		f(append([]Judged(nil), s...))
		return
	}
	for i := k; i < len(s); i++ {
		s[k], s[i] = s[i], s[k]
		permute(s, k+1, f)
		s[k], s[i] = s[i], s[k]
	}
}

func rolloutIDs(js []Judged) []string {
	var ids []string
	for _, j := range js {
		ids = append(ids, j.Rollout.ID)
	}
	return ids
}

func TestRowIDsStable(t *testing.T) {
	// Pinned values (sha256 computed independently with Python's hashlib):
	// ids are the join keys of resumed and regenerated datasets, so a change
	// here is a breaking change of the format.
	tests := []struct{ prefix, a, b, want string }{
		{"sft-", "qa-1", "r-1", "sft-7ff530d579c8e990"},
		{"dpo-", "r-1", "r-2", "dpo-a2ac91a184978904"},
	}
	for _, tt := range tests {
		if got := exportRowID(tt.prefix, tt.a, tt.b); got != tt.want {
			t.Errorf("exportRowID(%q, %q, %q) = %q, want %q", tt.prefix, tt.a, tt.b, got, tt.want)
		}
	}
	if exportRowID("x", "ab", "c") == exportRowID("x", "a", "bc") {
		t.Error("ids of different pairs collide")
	}
}

func TestParquetRoundTrip(t *testing.T) {
	rs := []Judged{
		judged(0, 2, "Eiffel Tower", true), judged(1, 1, "Eiffel Tower", true),
		judged(2, 1, "Louvre", false), judged(3, 0, "Notre Dame", false),
	}
	var sft []SFTRow
	var dpo []DPORow
	for _, style := range []string{StyleOpenAI, StyleChatML} {
		opt := Options{Style: style, Generator: "miroverse-test", MaxPairsPerQuestion: 2}
		row, ok, err := BuildSFT(testQA, rs, opt)
		if err != nil || !ok {
			t.Fatalf("BuildSFT: %v %v", ok, err)
		}
		sft = append(sft, row)
		pairs, err := BuildDPO(testQA, rs, opt)
		if err != nil {
			t.Fatal(err)
		}
		dpo = append(dpo, pairs...)
	}
	// A row with reasoning and no gold aliases exercises the optional fields.
	extra := sft[0]
	extra.Messages = append([]trajectory.Message(nil), extra.Messages...)
	extra.Messages[2].ReasoningContent = trajectory.Text("first I search")
	extra.GoldAnswers = []string{"Eiffel Tower"}
	sft = append(sft, extra)

	dir := t.TempDir()
	if got := roundTripParquet(t, filepath.Join(dir, "sft.parquet"), sft); !reflect.DeepEqual(got, sft) {
		t.Errorf("SFT rows changed through Parquet:\n got %+v\nwant %+v", got, sft)
	}
	if got := roundTripParquet(t, filepath.Join(dir, "dpo.parquet"), dpo); !reflect.DeepEqual(got, dpo) {
		t.Errorf("DPO rows changed through Parquet:\n got %+v\nwant %+v", got, dpo)
	}
}

func roundTripParquet[T any](t *testing.T, path string, rows []T) []T {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[T](f, parquet.Compression(&parquet.Zstd))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	rf, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	r := parquet.NewGenericReader[T](rf)
	defer r.Close()
	if n := r.NumRows(); n != int64(len(rows)) {
		t.Fatalf("%s has %d rows, want %d", path, n, len(rows))
	}
	got := make([]T, len(rows))
	n, err := r.Read(got)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return got[:n]
}

func TestNoSFTReason(t *testing.T) {
	correct := Judged{Verdict: verdict.Verdict{Correct: true}}
	tests := []struct {
		name string
		js   []Judged
		want string
	}{
		{"no rollouts", nil, "no_rollouts"},
		{"none correct", []Judged{{}, {}}, "no_correct_rollout"},
		{"a correct one", []Judged{{}, correct}, "no_clean_correct_rollout"},
	}
	for _, tc := range tests {
		if got := NoSFTReason(tc.js); got != tc.want {
			t.Errorf("%s: NoSFTReason = %q, want %q", tc.name, got, tc.want)
		}
	}
}
