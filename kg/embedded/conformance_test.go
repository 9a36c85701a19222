package embedded_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/embedded"
	"github.com/miroverse/miroverse/kg/kgtest"
)

// TestConformance runs the kg.Store contract's suite on fresh files.
func TestConformance(t *testing.T) {
	kgtest.TestStore(t, func(t *testing.T) kg.Store {
		s, err := embedded.Open(context.Background(), filepath.Join(t.TempDir(), "kg.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
		return s
	})
}
