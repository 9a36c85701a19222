package verify_test

import (
	"testing"

	"github.com/miroverse/miroverse/qa/verify"
	"github.com/miroverse/miroverse/qa/writer"
)

func TestVerifierPromptHash(t *testing.T) {
	if h := verify.PromptHash(); len(h) != 16 || h == writer.PromptHash() {
		t.Errorf("VerifierPromptHash() = %q", h)
	}
}
