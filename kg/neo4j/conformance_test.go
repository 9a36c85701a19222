package neo4j

import (
	"testing"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/kgtest"
)

// TestConformance runs the kg.Store contract's suite on the test server's
// database, emptied for every store.
func TestConformance(t *testing.T) {
	opt := serverOptions(t)
	kgtest.TestStore(t, func(t *testing.T) kg.Store { return openClean(t, opt) })
}
