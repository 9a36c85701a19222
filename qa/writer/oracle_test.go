package writer_test

// The writer against the built-in oracle: an external test package, because
// the oracle imports writer for the writer's wire contract.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/pipeline/oracle"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/qa/writer"
)

// oracleWriter starts the built-in oracle and returns a writer client of it.
func oracleWriter(t *testing.T) *llm.Client {
	t.Helper()
	s, err := oracle.Start(t.Context(), oracle.Config{}, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return llm.New(llm.RoleWriter, llm.Endpoint{BaseURL: s.URL(), Model: "oracle", Timeout: 10 * time.Second})
}

// TestWriteWithOracle runs the three passes against the built-in oracle,
// plainly and with every inject instruction.
func TestWriteWithOracle(t *testing.T) {
	walk, docs := writer.Fixture()
	// A second walk for "duplicate": Rome -> Tiber -> Julius Caesar.
	other := qa.Walk{SeedDoc: "w:3", DocIDs: []string{"w:3", "w:2", "w:1"}, Titles: []string{"Rome", "Tiber (river)", "Julius Caesar"},
		Hops: []qa.Hop{
			{From: "w:3", To: "w:2", Anchor: "Tiber", Sentence: "Rome lies on the Tiber."},
			{From: "w:2", To: "w:1", Anchor: "Caesar", Sentence: "The Tiber was crossed by Caesar."},
		}}
	other.ID = qa.WalkID(other.DocIDs)
	c := oracleWriter(t)
	write := func(w qa.Walk, inject string) qa.Item {
		t.Helper()
		wr := writer.Writer{LLM: c, Docs: docs, Inject: map[string]string{w.ID: inject},
			Walk: func(id string) (qa.Walk, bool) { return other, id == other.ID }}
		it, err := wr.Write(t.Context(), w)
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	plain := write(walk, "")
	if plain.Status != qa.StatusKept || !strings.HasSuffix(plain.Question, "?") || len(plain.Passes) != 3 || plain.PromptTokens == 0 {
		t.Fatalf("plain question: %+v", plain)
	}
	otherQ := write(other, "")
	if otherQ.Status != qa.StatusKept {
		t.Fatalf("second walk's question: %+v", otherQ)
	}
	const copied = "Which river runs through the Eternal City?"
	tests := []struct {
		inject string
		check  func(it qa.Item) bool
	}{
		{"leak", func(it qa.Item) bool { return it.Status == qa.StatusRejected && it.Reason == qa.ReasonLeakAnswer }},
		{"ambiguous", func(it qa.Item) bool {
			return it.Status == qa.StatusKept && strings.HasSuffix(it.Question, "leads to, directly or through another subject?")
		}},
		{"closed_book", func(it qa.Item) bool {
			return it.Status == qa.StatusKept && strings.Contains(it.Question, "is the capital city of Italy.")
		}},
		{"duplicate:" + other.ID, func(it qa.Item) bool {
			return it.Status == qa.StatusKept && it.Question == strings.TrimSuffix(otherQ.Question, "?")+" exactly?" && len(it.Passes) == 6
		}},
		{"duplicate:walk-missing", func(it qa.Item) bool { return it.Status == qa.StatusFailed && it.Reason == qa.ReasonBadInject }},
		{"contaminated:" + copied, func(it qa.Item) bool {
			// The copied text names an alias of Rome: the leak gate sees it
			// before any contamination gate would.
			return it.Question == copied && it.Reason == qa.ReasonLeakAlias
		}},
		{"contaminated:Which river flows past the seven hills?", func(it qa.Item) bool {
			return it.Status == qa.StatusKept && it.Question == "Which river flows past the seven hills?"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.inject, func(t *testing.T) {
			it := write(walk, tt.inject)
			if !tt.check(it) {
				t.Errorf("item %s/%s %q (%s), %d passes", it.Status, it.Reason, it.Question, it.Detail, len(it.Passes))
			}
			if it.Answer != "Rome" {
				t.Errorf("answer = %q", it.Answer)
			}
		})
	}
}
