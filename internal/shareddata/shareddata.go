// Package shareddata locates the public dumps, WARCs and QA sets that sit
// beside the project (../shared/data) for the tests that read real data.
package shareddata

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/miroverse/miroverse/internal/testenv"
)

// Dir returns ../shared/data joined with parts. When the directory is
// missing the test fails under CI=true, where nothing may silently skip,
// and is skipped elsewhere.
func Dir(t testing.TB, parts ...string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "data")
	dir := filepath.Join(append([]string{root}, parts...)...)
	if _, err := os.Stat(dir); err != nil {
		testenv.Missing(t, "shared data missing at %s: %v", dir, err)
	}
	return dir
}
