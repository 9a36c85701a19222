package pipeline

import (
	"context"
	"fmt"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/pipeline/oracle"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/qa/verify"
	"github.com/miroverse/miroverse/qa/writer"
)

// verifyFingerprint is what the LLM-backed gates add to the QA stage's
// fingerprint: switching a gate, changing its prompts or its models changes
// verdicts, so the stage must run again.
type verifyFingerprint struct {
	Config        VerifyConfig `json:"config"`
	Prompt        string       `json:"prompt"`
	VerifierModel string       `json:"verifier_model"`
	ClosedModel   string       `json:"closed_book_model"`
}

// verifyFingerprint returns the gates' part of the QA stage's fingerprint.
func (r *Runner) verifyFingerprint() verifyFingerprint {
	return verifyFingerprint{
		Config:        r.cfg.QA.Verify,
		Prompt:        verify.PromptHash(),
		VerifierModel: r.cfg.Endpoint(llm.RoleVerifier).Model,
		ClosedModel:   r.cfg.Endpoint(llm.RoleClosedBook).Model,
	}
}

// newVerifier builds the QA stage's gates from qa.verify: a client of the
// verifier role when uniqueness, masked hop or single clause is on (the
// last also searches the store), of the closed_book role
// when closed-book is on. With every gate off it returns gates that check
// nothing.
func (r *Runner) newVerifier(ctx context.Context) (verify.Gates, error) {
	c := r.cfg.QA.Verify
	v := verify.Gates{Tries: c.ClosedBookTries, Docs: r.store, SkipUniqueness: !c.Uniqueness, SkipMaskedHop: !c.MaskedHop}
	if c.Uniqueness || c.MaskedHop || c.SingleClause {
		cl, err := r.client(ctx, llm.RoleVerifier)
		if err != nil {
			return verify.Gates{}, err
		}
		v.LLM = cl
	}
	if c.SingleClause {
		// The corpus search the agent's google_search tool uses: a clause
		// that finds the answer through it needs no chain.
		v.Search = r.store
	}
	if c.ClosedBook {
		cl, err := r.client(ctx, llm.RoleClosedBook)
		if err != nil {
			return verify.Gates{}, err
		}
		v.ClosedBook = cl
	}
	return v, nil
}

// rememberLeads gives the built-in oracle's closed-book memory the lead
// description of every doc of walks: the oracle then "knows" the corpus the
// way a model that read it in pre-training would, and answers a question
// that quotes an answer's lead. Only the oracle reads the memory, so mem is
// nil, and nothing is read, unless the closed-book gate is on and its role
// is the built-in oracle; a real closed_book endpoint has its own memory.
func rememberLeads(ctx context.Context, docs qa.Docs, mem *oracle.LeadMemory, walks []qa.Walk) error {
	if mem == nil {
		return nil
	}
	if err := writer.LeadsOf(ctx, docs, walks, mem.Add); err != nil {
		return fmt.Errorf("closed-book memory: %w", err)
	}
	return nil
}
