package wiki

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/internal/testenv"
)

// sharedWiki holds the real dumps the tests read. They live next to the
// repository, not in it: they are large and not ours to commit.
var sharedWiki = filepath.Join("..", "..", "..", "shared", "data", "wiki")

// Names of the shared dumps that tests need by name.
const (
	fatwikiDump = "fatwiki-20240920-pages-articles-multistream.xml.bz2"
	enwiki2016  = "enwiki-2016-excerpt-206p.xml.bz2"
)

// missingShared is the project's rule for absent shared data: a developer
// without the data gets a skip that says what is missing, but under CI=true
// nothing may silently skip, so the test fails naming the path.
func missingShared(t testing.TB, path string, err error) {
	t.Helper()
	testenv.Missing(t, "shared data %s: %v", path, err)
}

// sharedFile returns the path of name in the shared wiki data.
func sharedFile(t testing.TB, name string) string {
	t.Helper()
	path := filepath.Join(sharedWiki, name)
	if _, err := os.Stat(path); err != nil {
		missingShared(t, path, err)
	}
	return path
}

// sharedGlob returns the shared wiki files matching pattern; a pattern
// that matches nothing counts as missing data.
func sharedGlob(t testing.TB, pattern string) []string {
	t.Helper()
	path := filepath.Join(sharedWiki, pattern)
	files, err := filepath.Glob(path)
	if err == nil && len(files) == 0 {
		err = errors.New("no such files")
	}
	if err != nil {
		missingShared(t, path, err)
	}
	return files
}

// sharedIndex returns the multistream index that indexFor finds next to a
// shared dump: the tests that need one must not pass without it.
func sharedIndex(t testing.TB, dump string) string {
	t.Helper()
	idx := indexFor(dump)
	if idx == "" {
		missingShared(t, dump, errors.New("no multistream index next to it"))
	}
	return idx
}

// TestMissingShared pins the rule: missing shared data skips outside CI
// and fails under CI=true, naming the path either way; present data
// passes through.
func TestMissingShared(t *testing.T) {
	dir := t.TempDir()
	present := filepath.Join(dir, "present.xml.bz2")
	if err := os.WriteFile(present, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	old := sharedWiki
	sharedWiki = dir
	t.Cleanup(func() { sharedWiki = old })
	tests := []struct {
		name, ci string
		call     func(testing.TB)
		want     string
		path     string
	}{
		{"file missing outside CI", "", func(tb testing.TB) { sharedFile(tb, "absent.xml.bz2") }, "skip", "absent.xml.bz2"},
		{"file missing under CI", "true", func(tb testing.TB) { sharedFile(tb, "absent.xml.bz2") }, "fatal", "absent.xml.bz2"},
		{"CI set to something else", "1", func(tb testing.TB) { sharedFile(tb, "absent.xml.bz2") }, "skip", "absent.xml.bz2"},
		{"file present under CI", "true", func(tb testing.TB) { sharedFile(tb, "present.xml.bz2") }, "", ""},
		{"glob empty under CI", "true", func(tb testing.TB) { sharedGlob(tb, "*.txt.bz2") }, "fatal", "*.txt.bz2"},
		{"glob empty outside CI", "", func(tb testing.TB) { sharedGlob(tb, "*.txt.bz2") }, "skip", "*.txt.bz2"},
		{"no index under CI", "true", func(tb testing.TB) { sharedIndex(tb, present) }, "fatal", "present.xml.bz2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			ended, msg := testenv.Probe(t, tt.call)
			if ended != tt.want {
				t.Errorf("ended with %q (%s), want %q", ended, msg, tt.want)
			}
			if !strings.Contains(msg, tt.path) {
				t.Errorf("message %q does not name %s", msg, tt.path)
			}
		})
	}
}
