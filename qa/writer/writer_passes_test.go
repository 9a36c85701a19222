package writer

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/qa/internal/seed"
)

func TestPassRequests(t *testing.T) {
	walk, docs := fixture()
	var reqs []openai.ChatCompletionRequest
	w := Writer{LLM: fakeChatter{content: `{"question":"Q?","answer":"Rome"}`, reqs: &reqs}, Docs: docs}
	if _, err := w.Write(context.Background(), walk); err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	plain := []PassDoc{
		{Title: "Julius Caesar", Description: "Julius Caesar (c. 100 BC – 44 BC) was a Roman general.", Categories: []string{"Roman dictators"}},
		{Title: "Tiber (river)", Description: "The Tiber is the third-longest river in Italy.", Categories: []string{}},
		{Title: "Rome", Description: "Rome is the capital city of Italy.", Categories: []string{"Capitals in Europe", "AT&T cities"}},
	}
	withInfobox := []PassDoc{plain[0], plain[1], plain[2]}
	withInfobox[0].Infobox = []kg.Fact{{Key: "born", Value: "12 July 100 BC"}} // the blank "office" is left out
	// Obfuscation and composition get the redirects as names to hide, and
	// the capitalised anchor the walk reached a doc by ("Tiber", for "Tiber
	// (river)"); the anchor "Rome" is the title itself.
	plain[0].Aliases, plain[1].Aliases, plain[2].Aliases = []string{"Caesar"}, []string{"Tevere", "Tiber"}, []string{"Roma", "rome", "Eternal City"}
	var factsReply, obfReply struct{ Facts []Fact }
	_ = json.Unmarshal([]byte(defaultFactsReply), &factsReply)
	_ = json.Unmarshal([]byte(defaultObfuscateReply), &obfReply)
	want := []PassRequest{
		{Pass: PassFacts, Theme: &Theme{Title: "Julius Caesar", Categories: []string{"Roman dictators"}}, Docs: withInfobox,
			Evidence: []string{"Caesar's ashes never reached the Tiber.", "The Tiber flows through Rome."}, Answer: "Rome"},
		{Pass: PassObfuscate, Docs: plain, Facts: factsReply.Facts, Answer: "Rome"},
		{Pass: PassCompose, Docs: plain, Constraints: obfReply.Facts, Answer: "Rome"},
	}
	for i, req := range reqs {
		if len(req.Messages) != 2 || req.Messages[0].Role != openai.ChatMessageRoleSystem || req.Model != "fake-writer" {
			t.Fatalf("request %d: want system + user messages for the writer's model, got %+v", i, req)
		}
		if req.Messages[0].Content != prompts(want[i].Pass).system {
			t.Errorf("request %d: system prompt is not the %s pass's", i, want[i].Pass)
		}
		if req.Seed == nil || *req.Seed != seed.Of(walk.ID) || *req.Seed < 0 {
			t.Errorf("request %d: seed = %v, want %d", i, req.Seed, seed.Of(walk.ID))
		}
		in, raw := decodeInput(t, req)
		if !reflect.DeepEqual(in, want[i]) {
			t.Errorf("request %d:\n got %+v\nwant %+v", i, in, want[i])
		}
		if _, ok := raw["inject"]; ok {
			t.Errorf("request %d: inject present without a hook", i)
		}
		if !bytes.Contains(raw["docs"], []byte(`"categories":[]`)) || !bytes.Contains(raw["docs"], []byte("AT&T")) {
			t.Errorf("request %d: docs encoded as %s", i, raw["docs"])
		}
	}

	// The same walk gives the same bytes: a response cache can replay a run.
	var again []openai.ChatCompletionRequest
	w.LLM = fakeChatter{content: `{"question":"Q?","answer":"Rome"}`, reqs: &again}
	if _, err := w.Write(context.Background(), walk); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(reqs)
	b, _ := json.Marshal(again)
	if !bytes.Equal(a, b) {
		t.Error("request bytes differ between two runs")
	}
}

func TestParseFacts(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []Fact
	}{
		{"plain", `{"facts":[{"doc":0,"kind":"evidence","text":" A fact. "}]}`, []Fact{{0, "evidence", "A fact."}}},
		{"fenced after prose", "Here:\n```json\n{\"facts\":[{\"doc\":1,\"text\":\"B\"}]}\n```", []Fact{{1, "", "B"}}},
		{"drops out of range and empty", `{"facts":[{"doc":5,"text":"x"},{"doc":-1,"text":"y"},{"doc":0,"text":""},{"doc":2,"text":"ok"}]}`, []Fact{{2, "", "ok"}}},
		{"braces in prose first", `I think {so}. {"facts":[{"doc":0,"text":"z"}]}`, []Fact{{0, "", "z"}}},
		{"none usable", `{"facts":[{"doc":9,"text":"x"}]}`, nil},
		{"empty list", `{"facts":[]}`, nil},
		{"no object", "no facts here", nil},
		{"question instead", `{"question":"Q?","answer":"A"}`, nil},
		{"cut by the token limit", `{"facts":[{"doc":0,"kind":"description","text":"A."},{"doc":1,"kind":"evidence","text":"B {x}."},{"doc":2,"kind":"desc`,
			[]Fact{{0, "description", "A."}, {1, "evidence", "B {x}."}}},
		{"cut before any whole fact", `{"facts":[{"doc":0,"kind":"descr`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseFacts(tt.content, 3)
			if ok != (tt.want != nil) || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseFacts = %+v, %v; want %+v", got, ok, tt.want)
			}
		})
	}
}

func TestWritePassFailures(t *testing.T) {
	walk, docs := fixture()
	good := `{"question":"Which capital does the river flow through?","answer":"Rome"}`
	tests := []struct {
		name       string
		chat       fakeChatter
		wantReason string
		wantDetail string
		wantPasses int
	}{
		{"facts call fails", fakeChatter{content: good, err: errors.New("status 500"), errPass: PassFacts}, qa.ReasonWriterError, "facts pass: status 500", 0},
		{"obfuscate call fails", fakeChatter{content: good, err: errors.New("status 500"), errPass: PassObfuscate}, qa.ReasonWriterError, "obfuscate pass: status 500", 1},
		{"compose call fails", fakeChatter{content: good, err: errors.New("status 500"), errPass: PassCompose}, qa.ReasonWriterError, "compose pass: status 500", 2},
		{"facts unreadable", fakeChatter{content: good, replies: map[string]string{PassFacts: "none"}}, qa.ReasonBadWriterReply, "facts pass: none", 1},
		{"obfuscate unreadable", fakeChatter{content: good, replies: map[string]string{PassObfuscate: `{"facts":[]}`}}, qa.ReasonBadWriterReply, `obfuscate pass: {"facts":[]}`, 2},
		{"compose unreadable", fakeChatter{content: "no"}, qa.ReasonBadWriterReply, "compose pass: no", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, err := Writer{LLM: tt.chat, Docs: docs}.Write(context.Background(), walk)
			if err != nil {
				t.Fatal(err)
			}
			if it.Status != qa.StatusFailed || it.Reason != tt.wantReason || it.Detail != tt.wantDetail || len(it.Passes) != tt.wantPasses {
				t.Errorf("item %s/%s %q with %d passes; want failed/%s %q with %d", it.Status, it.Reason, it.Detail, len(it.Passes),
					tt.wantReason, tt.wantDetail, tt.wantPasses)
			}
			if it.PromptTokens != int64(100*tt.wantPasses) {
				t.Errorf("prompt tokens = %d, want %d", it.PromptTokens, 100*tt.wantPasses)
			}
		})
	}
}

func TestPromptHashes(t *testing.T) {
	hs := PromptHashes()
	if len(hs) != 3 {
		t.Fatalf("PromptHashes = %v, want 3 entries", hs)
	}
	seen := map[string]bool{}
	for _, k := range []string{"writer_facts", "writer_obfuscate", "writer_compose"} {
		h := hs[k]
		if _, err := hex.DecodeString(h); err != nil || len(h) != 16 || seen[h] {
			t.Errorf("%s = %q", k, h)
		}
		seen[h] = true
	}
	if seen[PromptHash()] || !reflect.DeepEqual(hs, PromptHashes()) {
		t.Error("PromptHash must differ from each pass's hash and all must be stable")
	}
}
