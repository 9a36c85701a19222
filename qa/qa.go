// Package qa turns the link graph into multi-hop question candidates: it
// samples random walks along hyperlinks whose anchors sit in a sentence of the
// source document, asks a writer LLM for one obfuscated question whose answer
// is the walk's last document, and gates the result against leaks.
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

// Docs is what the writer needs from the store.
type Docs interface {
	Doc(ctx context.Context, id string) (kg.Doc, error)
	Aliases(ctx context.Context, docID string) ([]kg.Alias, error)
}
