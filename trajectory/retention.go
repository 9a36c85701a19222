package trajectory

// ToolResultPlaceholder replaces the content of tool results that fall out
// of the retention window (DESIGN §3; protocol text, keep it exact).
const ToolResultPlaceholder = "Tool result is omitted to save tokens."

// SummaryPrompt is the user message of the agent's summary turn. It lives
// here rather than with the agent's other prompts because Retain recognises
// the summary request by this exact text, so it must never change between
// writing a log and reading it back.
const SummaryPrompt = "Your research time is over. Using only what you have found so far, state your final answer now. " +
	"Put the answer alone inside \\boxed{} (for example a name, a date, a number or a brief phrase), with no " +
	"explanation inside the box. If the evidence is incomplete, box the answer it supports best rather than " +
	"leaving the box empty."

// Retain returns the copy of msgs that is sent to the model under
// recency-based retention: of the tool-result messages only the last keep
// keep their content, older ones carry ToolResultPlaceholder; keep < 0 keeps
// everything. msgs itself is never changed, so the stored log stays full.
//
// Tool results are role "tool" messages in either mode and, in ModeMCP, the
// user messages after the first one except the summary request (recognised
// by its exact text, SummaryPrompt). The first user message holds the task
// and is never a tool result, so it is always sent intact.
func Retain(msgs []Message, keep int, mode string) []Message {
	out := make([]Message, len(msgs))
	copy(out, msgs)
	if keep < 0 {
		return out
	}
	results := toolResultPositions(msgs, mode)
	if drop := len(results) - keep; drop > 0 {
		for _, i := range results[:drop] {
			out[i].Content = Text(ToolResultPlaceholder)
		}
	}
	return out
}

// toolResultPositions lists the indexes of tool-result messages in order.
func toolResultPositions(msgs []Message, mode string) []int {
	var idx []int
	seenTask := false
	for i, m := range msgs {
		switch {
		case m.Role == "tool":
			idx = append(idx, i)
		case m.Role == "user" && !seenTask:
			seenTask = true
		case m.Role == "user" && mode == ModeMCP && !isSummaryRequest(m):
			idx = append(idx, i)
		}
	}
	return idx
}

func isSummaryRequest(m Message) bool {
	return m.Role == "user" && m.Content != nil && *m.Content == SummaryPrompt
}
