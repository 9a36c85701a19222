package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestIngestRerunDoesNotRereadInputs: a re-run of a finished ingest only
// stats its dump; a dump whose stat changed is hashed again, and ingest
// runs again only when the content changed too.
func TestIngestRerunDoesNotRereadInputs(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "corpus", "demo", "demowiki-pages-articles.xml"))
	if err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(t.TempDir(), "dump.xml")
	// Dumps are old files; one written a moment ago is not trusted to its
	// stat (racyWindow).
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	write := func(b []byte, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(dump, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(dump, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	write(src, old)
	edited := bytes.Replace(src, []byte(" the "), []byte(" The "), 1) // same size
	if bytes.Equal(edited, src) {
		t.Fatal("the demo corpus has no \" the \" to edit")
	}

	root := t.TempDir()
	cfg := DefaultConfig()
	cfg.Input.Paths = []string{dump}
	tests := []struct {
		name      string
		change    func()
		wantReads int
		wantRerun bool // a new ingest fingerprint: the graph is built again
		linuxOnly bool
	}{
		{"first run", func() {}, 1, true, false},
		{"re-run, dump unchanged", func() {}, 0, false, false},
		{"dump touched", func() { _ = os.Chtimes(dump, old.Add(time.Minute), old.Add(time.Minute)) }, 1, false, false},
		{"re-run after the touch", func() {}, 0, false, false},
		// Same size and mtime: only the ctime tells.
		{"dump rewritten keeping size and mtime", func() { write(edited, old.Add(time.Minute)) }, 1, true, true},
		{"dump grown", func() { write(append(edited, '\n'), old) }, 1, true, false},
		{"re-run after the change", func() {}, 0, false, false},
	}
	var prev string
	for _, tc := range tests {
		if tc.linuxOnly && runtime.GOOS != "linux" {
			continue
		}
		tc.change()
		r, err := Open(t.Context(), cfg, root, Options{})
		if err != nil {
			t.Fatal(err)
		}
		reads := 0
		digest := r.digest
		r.digest = func(ctx context.Context, path string) (int64, string, error) {
			reads++
			return digest(ctx, path)
		}
		if err := r.Ingest(t.Context(), cfg.Input.Paths); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		fp, _, err := r.state.Fingerprint(t.Context(), StageIngest)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if reads != tc.wantReads {
			t.Errorf("%s: the dump was read %d times to hash it, want %d", tc.name, reads, tc.wantReads)
		}
		if rerun := fp != prev; rerun != tc.wantRerun {
			t.Errorf("%s: ingest fingerprint changed %v, want %v", tc.name, rerun, tc.wantRerun)
		}
		prev = fp
	}
}

// TestRecentInputIsHashedEveryTime: a file modified within racyWindow of its
// hashing may change again without its stat showing it, so its hash is not
// kept.
func TestRecentInputIsHashedEveryTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "list.jsonl")
	if err := os.WriteFile(path, []byte(`{"question": "q"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(t.Context(), DefaultConfig(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	reads := 0
	r.digest = func(ctx context.Context, path string) (int64, string, error) {
		reads++
		return sha256File(ctx, path)
	}
	for range 2 {
		if _, err := r.describeInput(t.Context(), path); err != nil {
			t.Fatal(err)
		}
	}
	if reads != 2 {
		t.Errorf("a file written just now was hashed %d times in two looks, want 2", reads)
	}
}
