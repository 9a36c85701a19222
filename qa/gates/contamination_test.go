package gates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/internal/shareddata"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestContamination(t *testing.T) {
	const gaiaQuestion = "  How many   Studio albums did the made-up band Quux release between 2001 and 2009?\n"
	gaia := writeFile(t, "gaia.tsv", "# task_id\tlevel\tsha256(norm(question))\tquestion_chars\n"+
		"# norm = NFKC, lowercase, collapse whitespace, strip.\n"+
		"task-1\t1\t"+GAIAHash("how many studio albums did the made-up band quux release between 2001 and 2009?")+"\t80\n")
	jsonl := writeFile(t, "bench.jsonl", `{"idx": 7, "question": "Who was president of the United States in the year that Citibank was founded?", "answer": "james madison"}`+"\n")
	dir := shareddata.Dir(t, "qa")
	c, err := LoadContamination([]string{filepath.Join(dir, "hotpotqa_dev_7405.json"), gaia, jsonl}, ContaminationOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, q  string
		file, id string // "" when clean
		how      string
	}{
		{"hotpot dev exact", "Were Scott Derrickson and Ed Wood of the same nationality?", "hotpotqa_dev_7405.json", "0", "exact"},
		{"hotpot dev edited", "Were Scott Derrickson and Ed Wood of the same nationality, or not?", "hotpotqa_dev_7405.json", "0", "ngram"},
		{"hotpot dev reworded tail", "What government position was held by the woman who portrayed Corliss Archer in Kiss and Tell (1945)?", "hotpotqa_dev_7405.json", "1", "ngram"},
		{"jsonl by idx, case and punctuation", "who was PRESIDENT of the united states in the year that citibank was founded", "bench.jsonl", "7", "exact"},
		{"gaia by hash", gaiaQuestion, "gaia.tsv", "task-1", "sha256"},
		{"gaia punctuation changed is not the hash", "How many studio albums did the made-up band Quux release between 2001 and 2009", "", "", ""},
		{"unrelated", "Which river flows through the birthplace of the architect of the Sydney Opera House?", "", "", ""},
		{"same template, other entities", "Were Lionel Messi and Diego Maradona of the same nationality?", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := c.Check(tt.q)
			if tt.file == "" {
				if ok {
					t.Fatalf("Check(%q) matched %s", tt.q, m.Detail())
				}
				return
			}
			if !ok || m.File != tt.file || m.ID != tt.id || m.How != tt.how {
				t.Fatalf("Check(%q) = %+v, %v; want %s#%s by %s", tt.q, m, ok, tt.file, tt.id, tt.how)
			}
			if !strings.Contains(m.Detail(), tt.file+"#"+tt.id) {
				t.Fatalf("detail %q does not name %s#%s", m.Detail(), tt.file, tt.id)
			}
		})
	}
}

func TestLoadContaminationErrors(t *testing.T) {
	tests := []struct{ name, file, body, want string }{
		{"bad jsonl line", "b.jsonl", "{\"question\": \"a b c d e\"}\n{oops\n", "line 2"},
		{"record without question", "b.json", `[{"question": "x y"}, {"answer": "y"}]`, "record 1"},
		{"bad gaia row", "g.tsv", "# task_id\tlevel\tsha\n1\t2\tnothex\n", "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadContamination([]string{writeFile(t, tt.file, tt.body)}, ContaminationOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.file) {
				t.Fatalf("err = %v, want it to name %s and %q", err, tt.file, tt.want)
			}
		})
	}
	if _, err := LoadContamination([]string{filepath.Join(t.TempDir(), "missing.json")}, ContaminationOptions{}); err == nil {
		t.Fatal("a missing list loaded without error")
	}
}

func TestGAIAHashNormalization(t *testing.T) {
	a := GAIAHash("ＡＢＣ  def\tGHI ")
	b := GAIAHash("abc def ghi")
	if a != b {
		t.Fatalf("NFKC/lowercase/whitespace variants hash differently: %s vs %s", a, b)
	}
	if GAIAHash("abc def ghi.") == b {
		t.Fatal("punctuation must count: the list hashes it")
	}
}
