package pipeline

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/pipeline/oracle"
)

// countingStore counts the document reads made through it.
type countingStore struct {
	kg.Store
	reads atomic.Int64
}

func (s *countingStore) Doc(ctx context.Context, id string) (kg.Doc, error) {
	s.reads.Add(1)
	return s.Store.Doc(ctx, id)
}

// roleCounter is an OpenAI-compatible endpoint that is no built-in oracle
// to the pipeline: an oracle started on its own, behind a proxy that
// counts the requests of each role.
type roleCounter struct {
	URL string
	mu  sync.Mutex
	n   map[string]int
}

func startExternalOracle(t *testing.T) *roleCounter {
	t.Helper()
	srv, err := oracle.Start(t.Context(), oracle.Config{}, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
	target, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	rc := &roleCounter{n: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rc.mu.Lock()
		rc.n[req.Header.Get(llm.RoleHeader)]++
		rc.mu.Unlock()
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(front.Close)
	rc.URL = front.URL + "/v1"
	return rc
}

func (rc *roleCounter) requests(role string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.n[role]
}

// TestOracleScaffoldingOnlyForTheBuiltinOracle: the answer keys and the
// closed-book lead memory exist only for roles the built-in oracle serves.
// With the agent and closed_book roles on another endpoint, the qa stage
// reads no document for the memory (as many reads as with the closed-book
// gate off, where the built-in run reads every walk document once more)
// and synthesize records no key.
func TestOracleScaffoldingOnlyForTheBuiltinOracle(t *testing.T) {
	ext := startExternalOracle(t)
	tests := []struct {
		name         string
		mutate       func(c *Config)
		wantMemory   bool
		wantKeys     bool
		extraReads   bool // the lead memory's reads on top of the writer's and verifier's
		wantExternal []string
	}{
		{"every role on the built-in oracle", func(*Config) {}, true, true, true, nil},
		{"agent and closed_book on another endpoint", func(c *Config) {
			c.LLM.Roles = map[string]EndpointConfig{
				llm.RoleAgent:      {BaseURL: ext.URL},
				llm.RoleClosedBook: {BaseURL: ext.URL},
			}
		}, false, false, false, []string{llm.RoleAgent, llm.RoleClosedBook}},
		{"closed-book gate off", func(c *Config) { c.QA.Verify.ClosedBook = false }, false, true, false, nil},
	}
	reads := map[string]int64{}
	distinctDocs := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			cfg := DefaultConfig()
			cfg.Input.Paths = []string{filepath.Join("..", "corpus", "demo", "demowiki-pages-articles.xml")}
			cfg.Sample.Walks = 8
			cfg.Synthesize.PythonTools = false
			cfg.Synthesize.Rollouts = 1
			// The scaffolding, not the chain gates, is under test: with
			// them on, few of 8 demo walks keep a question for synthesis.
			cfg.QA.Verify.MaskedHop, cfg.QA.Verify.SingleClause = false, false
			tc.mutate(&cfg)
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
			store := &countingStore{Store: r.store}
			r.store = store
			if err := r.QA(ctx); err != nil {
				t.Fatal(err)
			}
			reads[tc.name] = store.reads.Load()
			if err := r.Synthesize(ctx); err != nil {
				t.Fatal(err)
			}
			if got := r.memory != nil; got != tc.wantMemory {
				t.Errorf("lead memory installed: %v, want %v", got, tc.wantMemory)
			}
			if got := r.keys != nil; got != tc.wantKeys {
				t.Errorf("answer keys installed: %v, want %v", got, tc.wantKeys)
			}
			if tc.wantMemory {
				walks, err := r.walks(ctx)
				if err != nil {
					t.Fatal(err)
				}
				seen := map[string]bool{}
				for _, w := range walks {
					for _, id := range w.DocIDs {
						seen[id] = true
					}
				}
				distinctDocs = len(seen)
				if r.memory.Len() == 0 {
					t.Error("the built-in closed-book role remembers nothing")
				}
			}
			if tc.wantKeys && len(r.keys.m) == 0 {
				t.Error("the built-in agent role has no answer key")
			}
			for _, role := range tc.wantExternal {
				if ext.requests(role) == 0 {
					t.Errorf("no %s request reached the other endpoint", role)
				}
			}
		})
	}
	builtin, external, off := reads[tests[0].name], reads[tests[1].name], reads[tests[2].name]
	t.Logf("document reads in the qa stage: built-in %d, external %d, gate off %d; %d walk documents", builtin, external, off, distinctDocs)
	if external != off {
		t.Errorf("qa stage with closed_book on another endpoint read %d documents, with the gate off %d: the lead memory read the store", external, off)
	}
	if builtin != off+int64(distinctDocs) {
		t.Errorf("qa stage on the built-in oracle read %d documents, want %d (+%d for its lead memory)", builtin, off+int64(distinctDocs), distinctDocs)
	}
}
