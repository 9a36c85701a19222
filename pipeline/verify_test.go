package pipeline

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/pipeline/oracle"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/qa/verify"
	"github.com/miroverse/miroverse/qa/writer"
)

// TestVerifierOnDemo runs the gates over the demo's written questions with
// the built-in oracle: the verifier must resolve most questions to exactly
// their gold answer when shown every document, and the closed-book role,
// remembering every lead of the corpus, must not answer them.
func TestVerifierOnDemo(t *testing.T) {
	ctx := t.Context()
	cfg := DefaultConfig()
	cfg.Input.Paths = []string{filepath.Join("..", "corpus", "demo", "demowiki-pages-articles.xml")}
	cfg.Synthesize.PythonTools = false
	r, err := Open(ctx, cfg, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Ingest(ctx, cfg.Input.Paths); err != nil {
		t.Fatal(err)
	}
	if err := r.Sample(ctx); err != nil {
		t.Fatal(err)
	}
	walks, err := r.walks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Two walks get questions that are bad on purpose; the rest are sound.
	injected := map[string]string{walks[0].ID: qa.ReasonClosedBook, walks[1].ID: qa.ReasonAmbiguous}
	r.cfg.QA.Inject = map[string]string{walks[0].ID: "closed_book", walks[1].ID: "ambiguous"}
	if err := r.QA(ctx); err != nil {
		t.Fatal(err)
	}
	items, err := r.qaItems(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The QA stage ran the gates on every question the writer kept.
	verified, passed := 0, 0
	reasons := map[string]int{}
	for _, it := range items {
		if want, ok := injected[it.WalkID]; ok {
			if it.Status != qa.StatusRejected || it.Reason != want {
				t.Errorf("injected %s question %q: %s/%s (%s)", want, it.Question, it.Status, it.Reason, it.Detail)
			}
			delete(injected, it.WalkID)
			continue
		}
		if !it.Verified {
			continue
		}
		verified++
		if it.Status == qa.StatusKept {
			passed++
			continue
		}
		reasons[it.Reason]++
		t.Logf("%s %s (%s): %s", it.ID, it.Reason, it.Detail, it.Question)
	}
	t.Logf("%d of %d verified questions pass the gates; rejected: %v", passed, verified, reasons)
	// The writer builds each question from the walk's documents, so shown
	// all of them the verifier must resolve most questions to exactly the
	// gold answer. Many of those still fall to the masked-hop and
	// single-clause gates: the demo's evidence sentences often name the
	// next entity and pin it too, and those gates exist to reject that.
	unique := verified - reasons[qa.ReasonAmbiguous] - reasons[qa.ReasonNotAnswered]
	if verified == 0 || unique*2 <= verified {
		t.Errorf("%d of %d verified questions resolve to exactly their gold answer, want more than half", unique, verified)
	}
	if passed == 0 {
		t.Errorf("no verified question passes the gates")
	}
	if reasons[qa.ReasonClosedBook] > 0 || reasons[qa.ReasonVerifierError] > 0 {
		t.Errorf("obfuscated questions rejected as %v", reasons)
	}
	if len(injected) > 0 {
		t.Errorf("injected questions not written: %v", injected)
	}

	mem := oracle.NewLeadMemory()
	if err := rememberLeads(ctx, r.store, mem, walks); err != nil {
		t.Fatal(err)
	}
	if mem.Len() == 0 {
		t.Fatal("closed-book memory is empty")
	}
	srv, err := oracle.Start(ctx, oracle.Config{Memory: mem}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(cctx)
	}()
	v, err := r.newVerifier(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.LLM == nil || v.ClosedBook == nil {
		t.Fatal("default config leaves a gate without its client")
	}
	v.ClosedBook = llm.New(llm.RoleClosedBook, llm.Endpoint{BaseURL: srv.URL(), Model: "oracle", Timeout: 10 * time.Second})

	// A question quoting an answer's lead is answered closed-book.
	w := walks[0]
	d, err := r.store.Doc(ctx, w.DocIDs[len(w.DocIDs)-1])
	if err != nil {
		t.Fatal(err)
	}
	it := qa.Item{ID: "x", WalkID: w.ID, Status: qa.StatusKept, Gold: []string{d.Title},
		Question: writer.Describe(d.Text) + " What is it?"}
	if reason, _, err := (verify.Gates{ClosedBook: v.ClosedBook}).Check(ctx, w, &it); err != nil || reason != qa.ReasonClosedBook {
		t.Errorf("question %q: reason %q, err %v; want %q", it.Question, reason, err, qa.ReasonClosedBook)
	}
}

func TestVerifyFingerprint(t *testing.T) {
	r := &Runner{cfg: DefaultConfig()}
	a := r.verifyFingerprint()
	r.cfg.QA.Verify.ClosedBookTries = 5
	if b := r.verifyFingerprint(); a == b {
		t.Error("closed_book_tries does not change the fingerprint")
	}
	r.cfg = DefaultConfig()
	r.cfg.LLM.Roles = map[string]EndpointConfig{"verifier": {Model: "judge-7b"}}
	if b := r.verifyFingerprint(); a == b || b.VerifierModel != "judge-7b" {
		t.Errorf("verifier model not in the fingerprint: %+v", b)
	}
}
