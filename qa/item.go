package qa

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Item is one question candidate.
type Item struct {
	ID, WalkID, Question, Answer string
	Gold                         []string // the answer title, then its redirect aliases
	Hops                         int
	DocIDs, Titles               []string
	Status                       string // StatusKept, StatusRejected or StatusFailed
	Reason                       string // "" when kept
	Detail                       string // what the reason refers to: the leaked name, the writer's error…
	// Clauses are the question's constraints as the compose pass listed
	// them, in chain order (the last one asks for the answer); each is a
	// substring of Question. Empty for imported questions.
	Clauses          []string `json:",omitempty"`
	Writer           string   // model name
	PromptHash       string
	PromptTokens     int64 // over all passes
	CompletionTokens int64
	// Passes holds each writer request's usage in the order sent (facts,
	// obfuscate, compose; the passes of a duplicate's source walk first).
	Passes []PassUsage `json:",omitempty"`
	// UsageMissing counts the item's calls (writer passes and gates) whose
	// server sent no usage, so their tokens are estimates.
	UsageMissing int64 `json:",omitempty"`
	// Verified is set once the LLM gates (verify.Gates.Check) have judged the
	// item, whatever they decided: a verified item had passed every text
	// gate, near duplicates included, before it was sent to them.
	Verified bool `json:",omitempty"`
}

// PassUsage is the token count of one writer pass.
type PassUsage struct {
	Pass                           string
	PromptTokens, CompletionTokens int64
	Estimated                      bool `json:",omitempty"` // the server sent no usage
}

// ItemID is the id of the question built from walk walkID.
func ItemID(walkID string) string {
	sum := sha256.Sum256([]byte(walkID))
	return "qa-" + hex.EncodeToString(sum[:8])
}

// ImportedWriter starts the Writer of an item that an import made
// ("import:hotpotqa"): such items are no product of the walks.
const ImportedWriter = "import:"

// Imported reports whether an import made it.
func (it Item) Imported() bool { return strings.HasPrefix(it.Writer, ImportedWriter) }

// Item statuses: every candidate ends in exactly one.
const (
	StatusKept     = "kept"
	StatusRejected = "rejected"
	StatusFailed   = "failed"
)

// Reasons of rejected and failed items, by the step that gives them. They
// are the values of the qa rows' reason column, so they live with Item
// rather than with each step.

// Reasons of the writer.
const (
	ReasonWriterError    = "writer_error"     // the LLM call failed after its retries
	ReasonBadWriterReply = "bad_writer_reply" // no JSON object with a question and an answer
	ReasonAnswerMismatch = "answer_mismatch"  // the writer aimed at another answer than the walk's
	ReasonBadWalk        = "bad_walk"         // the walk is malformed (no hop, lengths disagree)
	ReasonBadInject      = "bad_inject"       // an inject instruction could not be carried out
)

// Leak reasons returned by gates.CheckLeak and recorded in Item.Reason.
const (
	ReasonLeakAnswer       = "leak:answer"
	ReasonLeakAlias        = "leak:alias"
	ReasonLeakIntermediate = "leak:intermediate_title"
	// ReasonLeakNamePart: the question keeps part of a name of the path — a
	// distinctive word ("Leopold" of Antonín Leopold Dvořák), that word with
	// one letter changed, the initialism ("NPP") or the qualifier ("Texas"
	// of "Paris (Texas)") — of a title, alias or anchor text.
	ReasonLeakNamePart = "leak:name_part"
	// ReasonLeakLiteral: the question repeats a year, date or number of two
	// or more digits that the path's facts or evidence state, which lets a
	// search engine find the path without resolving any clue.
	ReasonLeakLiteral = "leak:literal"
)

// Reasons of the text gates.
const (
	// ReasonContaminated rejects a question that is, or nearly is, a
	// question of a benchmark the trained model will be evaluated on.
	ReasonContaminated = "contaminated"
	// ReasonNearDuplicate rejects a question whose MinHash Jaccard estimate
	// against an earlier kept question reaches the threshold.
	ReasonNearDuplicate = "near_duplicate"
	// ReasonDecontamError fails a question whose paraphrase check could
	// not be made: the decontam judge's call failed after its retries or
	// its reply held no verdict.
	ReasonDecontamError = "decontam_error"
)

// Reasons of the LLM-backed gates.
const (
	ReasonAmbiguous     = "ambiguous"             // the verifier found another answer besides the gold one
	ReasonNotAnswered   = "unanswerable"          // the verifier did not find the gold answer (same reason as an import MuSiQue marks unanswerable)
	ReasonClosedBook    = "closed_book"           // a model without tools or documents answered it
	ReasonMaskedHop     = "masked_hop_answerable" // answerable with a bridge document hidden
	ReasonSingleClause  = "single_clause"         // one constraint plus corpus search alone yields the answer
	ReasonVerifierError = "verifier_error"        // a gate's LLM call failed after its retries
)

// Reasons of imported records that do not become kept items.
const (
	ReasonMalformedRecord    = "malformed_record"    // the record is not valid JSON of its format
	ReasonNoAnswer           = "no_answer"           // a question without an answer (e.g. a test split)
	ReasonMarkedUnanswerable = "marked_unanswerable" // MuSiQue marks it answerable: false
)
