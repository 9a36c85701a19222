// Package qa is the contract of the qa stage: the walk a question is
// written from (Walk, Hop), the question candidate (Item) with its statuses
// and every reason it can carry, the stable ids of both, and what the parts
// read from the store (Docs). It is kept apart from the parts so that each
// of them, and the pipeline, the oracle and the scripts that read items,
// depend on the contract alone rather than on every part.
//
// The parts sit below it and import it, never the reverse: sample draws the
// walks, writer turns a walk into a question, gates rejects what must not
// be kept and runs the gates in their order, verify holds the LLM-backed
// gates, importer brings in the questions of public QA sets.
package qa

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/miroverse/miroverse/kg"
)

// Hop is one step of a walk together with its evidence.
type Hop struct {
	From, To string // doc ids
	// Anchor and Sentence are the evidence: Sentence is the sentence of From
	// that holds the link to To, and it contains Anchor verbatim.
	Anchor, Sentence string
}

// Walk is a path through the link graph without revisits.
type Walk struct {
	ID      string
	SeedDoc string
	DocIDs  []string // in walk order; DocIDs[0] == SeedDoc
	Titles  []string // parallel to DocIDs
	Hops    []Hop    // len(Hops) == len(DocIDs)-1
}

// WalkID is the stable id of the path through docIDs.
func WalkID(docIDs []string) string {
	sum := sha256.Sum256([]byte(strings.Join(docIDs, "\x00")))
	return "walk-" + hex.EncodeToString(sum[:8])
}

// Docs is what the writer and the LLM gates read from the store.
type Docs interface {
	Doc(ctx context.Context, id string) (kg.Doc, error)
	Aliases(ctx context.Context, docID string) ([]kg.Alias, error)
}
