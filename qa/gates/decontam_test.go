package gates

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/qa"
)

func TestDecontamPromptRoundTrip(t *testing.T) {
	q := "Which movie did Ed Wood\ndirect in 1959?"
	cands := []string{"Which film directed by Ed Wood was released in 1959?", "Were Scott Derrickson and Ed Wood of the same nationality?"}
	gotQ, gotC, ok := ReadPrompt("instructions first\n\n" + Prompt(q, cands))
	if !ok || gotQ != "Which movie did Ed Wood direct in 1959?" || !slices.Equal(gotC, cands) {
		t.Fatalf("ReadPrompt = %q, %q, %v", gotQ, gotC, ok)
	}
	if _, _, ok := ReadPrompt("no sections here"); ok {
		t.Fatal("a message without a question section was read")
	}
	for _, tt := range []struct {
		reply string
		want  int
		ok    bool
	}{
		{`{"match": 2}`, 2, true}, {"```json\n{\"match\": -1}\n```", -1, true}, {`I think {"match": 0}.`, 0, true},
		{`{"answer": 1}`, 0, false}, {"none", 0, false},
	} {
		if got, ok := parseDecontam(tt.reply); got != tt.want || ok != tt.ok {
			t.Errorf("parseDecontam(%q) = %d, %v", tt.reply, got, ok)
		}
	}
}

// judgeFunc is a scripted decontam judge.
type judgeFunc func(question string, candidates []string) (string, error)

func (f judgeFunc) Model() string { return "scripted" }

func (f judgeFunc) Chat(_ context.Context, req openai.ChatCompletionRequest) (llm.Reply, error) {
	q, cands, _ := ReadPrompt(req.Messages[len(req.Messages)-1].Content)
	content, err := f(q, cands)
	return llm.Reply{Message: openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: content}}, err
}

func TestContaminationJudge(t *testing.T) {
	list := writeFile(t, "bench.jsonl", strings.Join([]string{
		`{"id": "a", "question": "Were Scott Derrickson and Ed Wood of the same nationality?"}`,
		`{"id": "b", "question": "Which film directed by Ed Wood was released in 1959?"}`,
		`{"id": "c", "question": "What government position was held by the woman who portrayed Corliss Archer in the film Kiss and Tell?"}`,
	}, "\n")+"\n")
	c, err := LoadContamination([]string{list}, ContaminationOptions{TopK: 2})
	if err != nil {
		t.Fatal(err)
	}
	const para = "Which movie that Ed Wood directed came out in 1959?"
	if got := c.Candidates(para, 0); len(got) != 2 || !strings.Contains(got[0], "released in 1959") {
		t.Fatalf("Candidates = %q, want the 1959 question first of 2", got)
	}
	var asked []string
	c.Judge = judgeFunc(func(q string, cands []string) (string, error) {
		asked = append(asked, q)
		for i, cand := range cands {
			if strings.Contains(cand, "1959") && strings.Contains(q, "1959") {
				return `{"match": ` + string(rune('0'+i)) + `}`, nil
			}
		}
		return `{"match": -1}`, nil
	})
	m, ok, err := c.CheckContext(t.Context(), para)
	if err != nil || !ok || m.How != "judge" || m.ID != "b" {
		t.Fatalf("paraphrase: %+v, %v, %v", m, ok, err)
	}
	if _, ok, err := c.CheckContext(t.Context(), "Which river flows through Ed Wood's birthplace?"); err != nil || ok {
		t.Fatalf("clean question: %v, %v", ok, err)
	}
	asked = nil
	if m, ok, _ := c.CheckContext(t.Context(), "Were Scott Derrickson and Ed Wood of the same nationality?"); !ok || m.How != "exact" || len(asked) != 0 {
		t.Fatalf("exact match: %+v, %v; the judge was asked %q", m, ok, asked)
	}

	// A judge that fails, or answers out of range, leaves the question failed.
	for name, j := range map[string]judgeFunc{
		"error":        func(string, []string) (string, error) { return "", errors.New("503") },
		"out of range": func(string, []string) (string, error) { return `{"match": 7}`, nil },
		"no verdict":   func(string, []string) (string, error) { return "maybe", nil },
	} {
		c.Judge = j
		it := qa.Item{ID: "qa-1", Question: para, Status: qa.StatusKept}
		Order{Contamination: c}.Screen(t.Context(), &it)
		if it.Status != qa.StatusFailed || it.Reason != qa.ReasonDecontamError || !strings.Contains(it.Detail, "decontam judge") {
			t.Errorf("%s: item %+v", name, it)
		}
	}
}

// TestDecontamReplySchema: the judge may only name a shown candidate or -1.
func TestDecontamReplySchema(t *testing.T) {
	req := decontamRequest("Which film?", []string{"a", "b"}, "m")
	if req.ResponseFormat == nil || req.ResponseFormat.JSONSchema == nil {
		t.Fatal("decontam request asks for no JSON schema")
	}
	b, err := req.ResponseFormat.JSONSchema.Schema.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if want := `"match":{"type":"integer","enum":[-1,0,1]}`; !strings.Contains(string(b), want) {
		t.Errorf("schema %s does not hold %s", b, want)
	}
}
