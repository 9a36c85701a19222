package trajectory

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// ToolResultPlaceholder replaces the content of tool results that fall out
// of the retention window (DESIGN §3; protocol text, keep it exact).
const ToolResultPlaceholder = "Tool result is omitted to save tokens."

// The summary request is the user message of the agent's summary turn. Like
// MiroThinker's it repeats the question, quoted, between a fixed head and
// tail. It lives here rather than with the agent's other prompts because
// Retain and the oracle recognise the request by that frame, so it must
// never change between writing a log and reading it back.
const (
	summaryRequestHead = "Your research time is over. Summarize what the conversation above established and give " +
		"the final answer to the original question, repeated here:\n\n\""
	summaryRequestTail = "\"\n\nIf an answer was already reached earlier in the conversation, restate it instead of " +
		"working it out again; if the evidence is incomplete, give the answer it supports best. Put the answer " +
		"alone inside \\boxed{} (a name, a date, a number, a short phrase or a comma-separated list), following " +
		"any format the question asks for, with no explanation inside the box and no punctuation at its end. Do " +
		"not call any tool now: answer only from what has already been found."
)

// SummaryRequest is the summary turn's user message for question.
func SummaryRequest(question string) string {
	return summaryRequestHead + question + summaryRequestTail
}

// IsSummaryRequest reports whether text is a summary request, and so not a
// tool result.
func IsSummaryRequest(text string) bool {
	return len(text) >= len(summaryRequestHead)+len(summaryRequestTail) &&
		strings.HasPrefix(text, summaryRequestHead) && strings.HasSuffix(text, summaryRequestTail)
}

// Retention rules: which messages compete for the keep slots of Retain.
const (
	// RetainMiroThinker counts every user or tool message after the first
	// user message, as MiroThinker does (apps/miroflow-agent/src/llm/
	// base_client.py, _remove_tool_result_from_messages): at the summary
	// turn the request itself takes a slot, so K=5 sends 4 tool results.
	RetainMiroThinker = "mirothinker"
	// RetainResults counts tool results only; the summary request is
	// exempt, so K=5 sends 5 tool results at every turn.
	RetainResults = "results"
)

// Retain returns the copy of msgs that is sent to the model under
// recency-based retention: of the messages rule counts, only the last keep
// keep their content and older ones carry ToolResultPlaceholder; keep < 0
// keeps everything. msgs itself is never changed, so the stored log stays
// full. The first user message holds the task and is always sent intact.
//
// Under RetainResults, tool results are role "tool" messages in either mode
// and, in ModeMCP, the user messages after the first one except the summary
// request. An unknown rule is RetainMiroThinker.
func Retain(msgs []Message, keep int, mode, rule string) []Message {
	out := make([]Message, len(msgs))
	copy(out, msgs)
	if keep < 0 {
		return out
	}
	slots := retentionSlots(msgs, mode, rule)
	if drop := len(slots) - keep; drop > 0 {
		for _, i := range slots[:drop] {
			out[i].Content = Text(ToolResultPlaceholder)
		}
	}
	return out
}

// retentionSlots lists, in order, the indexes of the messages that compete
// for the kept slots.
func retentionSlots(msgs []Message, mode, rule string) []int {
	var idx []int
	seenTask := false
	for i, m := range msgs {
		switch {
		case m.Role == "user" && !seenTask:
			seenTask = true
		case rule != RetainResults && (m.Role == "user" || m.Role == "tool"):
			idx = append(idx, i)
		case m.Role == "tool":
			idx = append(idx, i)
		case m.Role == "user" && mode == ModeMCP && !isSummaryMessage(m):
			idx = append(idx, i)
		}
	}
	return idx
}

func isSummaryMessage(m Message) bool {
	return m.Role == "user" && m.Content != nil && IsSummaryRequest(*m.Content)
}

// SentHash identifies the messages of one agent request as they go over the
// wire (role, content, tool_call_id and tool calls; reasoning and the tool
// name of results are not sent) and whether the request offered tools: the
// first 16 hex digits of a SHA-256 over a canonical encoding.
func SentHash(msgs []Message, withTools bool) string {
	type wireCall struct {
		ID, Name, Arguments string
	}
	type wireMessage struct {
		Role, Content, ToolCallID string
		Calls                     []wireCall
	}
	wire := struct {
		Tools    bool
		Messages []wireMessage
	}{Tools: withTools}
	for _, m := range msgs {
		w := wireMessage{Role: m.Role}
		if m.Content != nil {
			w.Content = *m.Content
		}
		if m.ToolCallID != nil {
			w.ToolCallID = *m.ToolCallID
		}
		for _, tc := range m.ToolCalls {
			w.Calls = append(w.Calls, wireCall{tc.ID, tc.Function.Name, tc.Function.Arguments})
		}
		wire.Messages = append(wire.Messages, w)
	}
	b, err := json.Marshal(wire)
	if err != nil {
		panic(fmt.Sprintf("trajectory: encoding sent messages: %v", err)) // only strings and bools: cannot fail
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
