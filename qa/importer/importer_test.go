package importer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/internal/shareddata"
	"github.com/miroverse/miroverse/qa"
)

func readAll(t *testing.T, body, format string) ([]Record, error) {
	t.Helper()
	var recs []Record
	err := Read(strings.NewReader(body), "in.json", format, func(r Record) error {
		recs = append(recs, r)
		return nil
	})
	return recs, err
}

func TestReadImport(t *testing.T) {
	hotpot := `[{"_id": "h1", "question": "Q1?", "answer": "A1", "supporting_facts": [["T1", 0], ["T2", 1], ["T1", 2]],
	  "context": [["T1", ["S one.", " S two."]], ["T2", ["Other."]], ["T3", ["Distractor."]]]}]`
	musique := `{"id": "2hop_1", "question": "Q2?", "answer": "A2", "answer_aliases": ["A two"], "answerable": true, "paragraphs": [{"idx": 0, "title": "P0", "paragraph_text": "zero"}, {"idx": 1, "title": "P1", "paragraph_text": "one"}], "question_decomposition": [{"paragraph_support_idx": 1}, {"paragraph_support_idx": 0}]}
{"id": "2hop_2", "question": "Q3?", "answer": "A3", "answerable": false, "paragraphs": [], "question_decomposition": []}`
	plain := "{\"idx\": 1, \"question\": \"Q4?\", \"answer\": \"A4\"}\n\n{\"idx\": 2, \"question\": \n{\"idx\": 3, \"answer\": \"x\"}\n{\"idx\": 4, \"question\": \"Q5?\"}\n"
	tests := []struct {
		name, body, format string
		want               []Record // only the compared fields
		reasons            []string
		wheres             []string
	}{
		{"hotpotqa detected", hotpot, "", []Record{{Format: FormatHotpotQA, SourceID: "h1", Question: "Q1?", Answer: "A1",
			Titles: []string{"T1", "T2"}, Hops: 2, Paragraphs: []Paragraph{{"T1", "S one. S two."}, {"T2", "Other."}, {"T3", "Distractor."}}}},
			[]string{""}, []string{"in.json[0]"}},
		{"musique detected", musique, "", []Record{
			{Format: FormatMuSiQue, SourceID: "2hop_1", Question: "Q2?", Answer: "A2", Aliases: []string{"A two"},
				Titles: []string{"P1", "P0"}, Hops: 2, Paragraphs: []Paragraph{{"P0", "zero"}, {"P1", "one"}}},
			{Format: FormatMuSiQue, SourceID: "2hop_2", Question: "Q3?", Answer: "A3"},
		}, []string{"", qa.ReasonMarkedUnanswerable}, []string{"in.json:line 1", "in.json:line 2"}},
		{"jsonl with bad lines", plain, "", []Record{
			{Format: FormatJSONL, SourceID: "1", Question: "Q4?", Answer: "A4"},
			{Format: FormatJSONL, SourceID: "2"},
			{Format: FormatJSONL, SourceID: "3"},
			{Format: FormatJSONL, SourceID: "4", Question: "Q5?"},
		}, []string{"", qa.ReasonMalformedRecord, qa.ReasonMalformedRecord, qa.ReasonNoAnswer},
			[]string{"in.json:line 1", "in.json:line 3", "in.json:line 4", "in.json:line 5"}},
		{"forced jsonl ignores paragraphs", hotpot, FormatJSONL, []Record{{Format: FormatJSONL, SourceID: "h1", Question: "Q1?", Answer: "A1"}},
			[]string{""}, []string{"in.json[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := readAll(t, tt.body, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != len(tt.want) {
				t.Fatalf("%d records, want %d: %+v", len(recs), len(tt.want), recs)
			}
			for i, r := range recs {
				w := tt.want[i]
				if r.Reason != tt.reasons[i] || r.Where != tt.wheres[i] {
					t.Fatalf("record %d: reason %q at %q (err %v), want %q at %q", i, r.Reason, r.Where, r.Err, tt.reasons[i], tt.wheres[i])
				}
				if r.Reason == qa.ReasonMalformedRecord {
					if r.Err == nil || !strings.Contains(r.Err.Error(), tt.wheres[i]) {
						t.Fatalf("record %d: error %v does not name %s", i, r.Err, tt.wheres[i])
					}
					continue
				}
				if r.Format != w.Format || r.SourceID != w.SourceID || r.Question != w.Question || r.Answer != w.Answer ||
					!slices.Equal(r.Aliases, w.Aliases) || !slices.Equal(r.Titles, w.Titles) || r.Hops != w.Hops ||
					!slices.Equal(r.Paragraphs, w.Paragraphs) {
					t.Fatalf("record %d = %+v\nwant %+v", i, r, w)
				}
			}
		})
	}
}

func TestReadImportBrokenArray(t *testing.T) {
	recs, err := readAll(t, `[{"question": "a?", "answer": "b"}, {"question": "c?", "answer": `, "")
	if err == nil || !strings.Contains(err.Error(), "in.json") || !strings.Contains(err.Error(), "record 1") {
		t.Fatalf("err = %v, want it to name in.json and record 1", err)
	}
	if len(recs) != 1 {
		t.Fatalf("%d records before the break, want 1", len(recs))
	}
	if _, err := readAll(t, "", ""); err == nil {
		t.Fatal("empty file read without error")
	}
	if _, err := readAll(t, "[]", "squad"); err == nil {
		t.Fatal("unknown format accepted")
	}
}

func TestReadImportSharedFiles(t *testing.T) {
	dir := shareddata.Dir(t, "qa")
	tests := []struct {
		file, format string
		n            int
	}{
		{"hotpotqa_train_100.json", FormatHotpotQA, 100},
		{"musique_train_100.json", FormatMuSiQue, 100},
		{"hotpotqa_500.jsonl", FormatJSONL, 500},
		{"bamboogle.jsonl", FormatJSONL, 125},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			n, ids := 0, map[string]bool{}
			err = Read(f, tt.file, "", func(r Record) error {
				n++
				if r.Err != nil || r.Reason != "" || r.Format != tt.format {
					t.Errorf("%s: format %s reason %q err %v", r.Where, r.Format, r.Reason, r.Err)
				}
				if tt.format != FormatJSONL && (len(r.Titles) == 0 || len(r.Paragraphs) == 0 || r.Hops < 2) {
					b, _ := json.Marshal(r)
					t.Errorf("%s: no supporting titles or paragraphs: %s", r.Where, b)
				}
				ids[ItemID(r.Format, r.SourceID, r.Question)] = true
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.n || len(ids) != tt.n {
				t.Fatalf("%d records, %d distinct ids; want %d", n, len(ids), tt.n)
			}
		})
	}
}
