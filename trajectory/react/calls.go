package react

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/internal/redact"
	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/internal/clip"
)

// maxErrorChars bounds one entry of Rollout.Errors: enough to tell what
// failed without copying a whole page of a tool's complaint into every row.
const maxErrorChars = 300

// recordTool books a call that a tool made for the rollout (the extractor's
// behind scrape_and_extract_info) to the turn whose tool call caused it.
func (r *agentRun) recordTool(role, model string, reply llm.Reply, err error, took time.Duration) {
	r.record(newCall(role, model, reply, err, took))
}

func newCall(role, model string, reply llm.Reply, err error, took time.Duration) trajectory.Call {
	c := trajectory.Call{Role: role, Model: model, LatencyMillis: took.Milliseconds()}
	if err != nil {
		c.Error = clip.Marked(redact.Secrets(err.Error()), maxErrorChars)
		c.Attempts = int32(llm.AttemptsOf(err))
		return c
	}
	if reply.Latency > 0 {
		// The client's own measure, which a reply from the response cache
		// carries over from the call that paid for it: a replayed rollout
		// records the latency of the run it replays.
		c.LatencyMillis = reply.Latency.Milliseconds()
	}
	c.PromptTokens = int32(reply.Usage.PromptTokens)
	c.CompletionTokens = int32(reply.Usage.CompletionTokens)
	c.Attempts = int32(reply.Attempts)
	c.FinishReason = reply.FinishReason
	c.UsageEstimated = reply.UsageEstimated
	return c
}

// record books a call of the rollout itself or of its tools.
func (r *agentRun) record(c trajectory.Call) {
	// Both the agent's call and the tool calls its reply makes belong to
	// the turn being made, which is counted only once its reply is kept.
	c.Turn = int32(r.out.NumTurns) + 1
	r.out.Calls = append(r.out.Calls, c)
	if c.Error != "" {
		r.noteError(fmt.Sprintf("%s call failed: %s", c.Role, c.Error))
	}
}

// noteError appends one entry to Rollout.Errors.
func (r *agentRun) noteError(s string) {
	r.out.Errors = append(r.out.Errors, clip.Marked(redact.Secrets(s), maxErrorChars))
}

// sha256Hex is the full hex SHA-256 of s, the form the manifest uses for
// the tool-schema hash, so a row's ToolsHash can be compared with it.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
