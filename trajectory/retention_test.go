package trajectory_test

import (
	"fmt"
	"testing"

	"github.com/miroverse/miroverse/trajectory"
)

// taskMessage is the first user message of the test logs: the task, which
// Retain never counts as a tool result.
const taskMessage = "Research and answer the question below.\n\nQuestion: Who?"

// conversation builds a log with n tool results in the style of mode,
// ending with the summary request.
func conversation(mode string, n int) []trajectory.Message {
	msgs := []trajectory.Message{
		{Role: "system", Content: trajectory.Text("sys")},
		{Role: "user", Content: trajectory.Text(taskMessage)},
	}
	for i := range n {
		if mode == trajectory.ModeFunction {
			id := fmt.Sprintf("c%d", i)
			msgs = append(msgs,
				trajectory.Message{Role: "assistant", ToolCalls: []trajectory.ToolCall{{ID: id, Type: "function",
					Function: trajectory.FunctionCall{Name: "google_search", Arguments: fmt.Sprintf(`{"q":"q%d"}`, i)}}}},
				trajectory.Message{Role: "tool", Content: trajectory.Text(fmt.Sprintf("result %d", i)),
					ToolCallID: trajectory.Text(id), Name: trajectory.Text("google_search")})
		} else {
			msgs = append(msgs,
				trajectory.Message{Role: "assistant", Content: trajectory.Text(trajectory.FormatMCP(
					trajectory.MCPCall{Tool: "google_search", Arguments: fmt.Sprintf(`{"q":"q%d"}`, i)}))},
				trajectory.Message{Role: "user", Content: trajectory.Text(fmt.Sprintf("result %d", i))})
		}
	}
	return append(msgs,
		trajectory.Message{Role: "assistant", Content: trajectory.Text("done")},
		trajectory.Message{Role: "user", Content: trajectory.Text(trajectory.SummaryRequest("Who?"))})
}

func TestRetain(t *testing.T) {
	tests := []struct {
		name        string
		mode        string
		results     int
		rule        string
		keep        int
		wantOmitted []int // result numbers that must carry the placeholder
		// summaryOmitted: the summary request itself gets the placeholder
		// (MiroThinker's rule with K=0).
		summaryOmitted bool
	}{
		{"function K=5 of 8", trajectory.ModeFunction, 8, trajectory.RetainResults, 5, []int{0, 1, 2}, false},
		{"mcp K=5 of 8", trajectory.ModeMCP, 8, trajectory.RetainResults, 5, []int{0, 1, 2}, false},
		{"function keep all", trajectory.ModeFunction, 8, trajectory.RetainResults, -1, nil, false},
		{"mcp keep all", trajectory.ModeMCP, 8, trajectory.RetainResults, -1, nil, false},
		{"fewer than K", trajectory.ModeMCP, 3, trajectory.RetainResults, 5, nil, false},
		{"K=0 omits every result", trajectory.ModeMCP, 2, trajectory.RetainResults, 0, []int{0, 1}, false},
		// Under MiroThinker's rule the summary request takes one of the K.
		{"mirothinker function K=5 of 8", trajectory.ModeFunction, 8, trajectory.RetainMiroThinker, 5, []int{0, 1, 2, 3}, false},
		{"mirothinker mcp K=5 of 8", trajectory.ModeMCP, 8, trajectory.RetainMiroThinker, 5, []int{0, 1, 2, 3}, false},
		{"mirothinker keep all", trajectory.ModeMCP, 8, trajectory.RetainMiroThinker, -1, nil, false},
		{"mirothinker 4 results and the request fit K=5", trajectory.ModeMCP, 4, trajectory.RetainMiroThinker, 5, nil, false},
		{"mirothinker K=0 omits the request too", trajectory.ModeMCP, 2, trajectory.RetainMiroThinker, 0, []int{0, 1}, true},
		{"unknown rule is mirothinker", trajectory.ModeMCP, 8, "", 5, []int{0, 1, 2, 3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := conversation(tt.mode, tt.results)
			before := fmt.Sprint(dumpContents(msgs))
			got := trajectory.Retain(msgs, tt.keep, tt.mode, tt.rule)
			if fmt.Sprint(dumpContents(msgs)) != before {
				t.Fatalf("Retain changed its input")
			}
			if len(got) != len(msgs) {
				t.Fatalf("len %d, want %d", len(got), len(msgs))
			}
			omitted := map[int]bool{}
			for _, i := range tt.wantOmitted {
				omitted[i] = true
			}
			placeholders := 0
			for i, m := range got {
				c := ""
				if m.Content != nil {
					c = *m.Content
				}
				if c == trajectory.ToolResultPlaceholder {
					placeholders++
				}
				orig := msgs[i]
				switch {
				case i == 1:
					if c != taskMessage {
						t.Errorf("first user message changed: %q", c)
					}
				case i == len(msgs)-1:
					want := *orig.Content
					if tt.summaryOmitted {
						want = trajectory.ToolResultPlaceholder
					}
					if c != want {
						t.Errorf("summary request: got %q, want %q", c, want)
					}
				case orig.Role == "tool" || orig.Role == "user":
					var n int
					if _, err := fmt.Sscanf(*orig.Content, "result %d", &n); err != nil {
						t.Fatalf("message %d: %v", i, err)
					}
					want := *orig.Content
					if omitted[n] {
						want = "Tool result is omitted to save tokens."
					}
					if c != want {
						t.Errorf("result %d: got %q, want %q", n, c, want)
					}
					if orig.Role == "tool" && (m.ToolCallID == nil || *m.ToolCallID != *orig.ToolCallID) {
						t.Errorf("result %d lost its tool_call_id", n)
					}
				default:
					if fmt.Sprint(dumpContents([]trajectory.Message{m})) != fmt.Sprint(dumpContents([]trajectory.Message{orig})) {
						t.Errorf("message %d (%s) changed", i, orig.Role)
					}
				}
			}
			if tt.summaryOmitted {
				placeholders--
			}
			if placeholders != len(tt.wantOmitted) {
				t.Errorf("%d placeholders, want %d", placeholders, len(tt.wantOmitted))
			}
		})
	}
}

func dumpContents(msgs []trajectory.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		if m.Content != nil {
			out[i] = m.Role + ":" + *m.Content
		} else {
			out[i] = m.Role + ":<nil>"
		}
	}
	return out
}
