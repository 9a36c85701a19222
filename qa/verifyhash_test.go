package qa_test

import (
	"testing"

	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/qa/writer"
)

func TestVerifierPromptHash(t *testing.T) {
	if h := qa.VerifierPromptHash(); len(h) != 16 || h == writer.PromptHash() {
		t.Errorf("VerifierPromptHash() = %q", h)
	}
}
