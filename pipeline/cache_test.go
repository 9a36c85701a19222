package pipeline

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/internal/llm"
)

// parquetFiles reads every Parquet file under root, by path in it.
func parquetFiles(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCacheReplaysARunWithoutItsEndpoint: a run with every role on an
// endpoint fills the cache; a second run of the same config into another
// root, sharing the cache, makes no call and writes the same Parquet bytes;
// a replay with the endpoint gone does too; and a replay over an empty
// cache fails naming the request, with no item recorded as failed.
func TestCacheReplaysARunWithoutItsEndpoint(t *testing.T) {
	ext := startExternalOracle(t)
	base := DefaultConfig()
	base.Input.Paths = []string{filepath.Join("..", "corpus", "demo", "demowiki-pages-articles.xml")}
	base.Sample.Walks = 8
	base.Synthesize.PythonTools = false
	base.Synthesize.Rollouts = 2
	base.QA.Verify.MaskedHop, base.QA.Verify.SingleClause = false, false
	base.LLM.Roles = map[string]EndpointConfig{}
	for _, role := range []string{llm.RoleAgent, llm.RoleWriter, llm.RoleExtractor, llm.RoleGrader, llm.RoleVerifier, llm.RoleClosedBook} {
		base.LLM.Roles[role] = EndpointConfig{BaseURL: ext.URL}
	}
	run := func(cfg Config, root string) error {
		t.Helper()
		r, err := Open(t.Context(), cfg, root, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		return r.RunAll(t.Context())
	}
	total := func() int {
		n := 0
		for _, role := range roleNames {
			n += ext.requests(role)
		}
		return n
	}

	first := t.TempDir()
	if err := run(base, first); err != nil {
		t.Fatal(err)
	}
	paid := total()
	want := parquetFiles(t, first)
	if paid == 0 || len(want) == 0 {
		t.Fatalf("first run: %d requests, %d Parquet files", paid, len(want))
	}
	shared := base
	shared.LLM.CachePath = filepath.Join(first, "cache")

	second := t.TempDir()
	if err := run(shared, second); err != nil {
		t.Fatal(err)
	}
	if n := total() - paid; n != 0 {
		t.Errorf("a second run over the cache made %d request(s)", n)
	}
	sameParquet(t, want, parquetFiles(t, second))

	replay := shared
	replay.LLM.Cache = llm.CacheReplay
	for _, role := range roleNames {
		if ep, ok := replay.LLM.Roles[role]; ok {
			ep.BaseURL = "http://127.0.0.1:1/v1" // nothing listens: a call would fail
			replay.LLM.Roles[role] = ep
		}
	}
	third := t.TempDir()
	if err := run(replay, third); err != nil {
		t.Fatalf("replay: %v", err)
	}
	sameParquet(t, want, parquetFiles(t, third))

	empty := replay
	empty.LLM.CachePath = t.TempDir()
	fourth := t.TempDir()
	err := run(empty, fourth)
	if !errors.Is(err, llm.ErrCacheMiss) || !strings.Contains(err.Error(), "writer request") {
		t.Fatalf("replay over an empty cache: %v, want a miss naming the writer's request", err)
	}
	r, err := Open(t.Context(), empty, fourth, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	done, err := r.state.Committed(t.Context(), StageQA)
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 0 {
		t.Errorf("the failed replay recorded %d qa item(s)", len(done))
	}
}

func sameParquet(t *testing.T, want, got map[string][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d Parquet files, want %d", len(got), len(want))
	}
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("%s differs from the first run's", name)
		}
	}
}
