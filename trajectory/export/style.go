package export

import (
	"fmt"
	"strings"

	"github.com/miroverse/miroverse/trajectory"
)

// Message styles of exported rows. A stored rollout is in the style of its
// Mode (ModeFunction is StyleOpenAI, ModeMCP is StyleChatML); export converts
// it to the style the training stack expects.
const (
	// StyleOpenAI: assistant tool_calls, results as role "tool" with
	// tool_call_id and name. TRL and most HF chat templates read this.
	StyleOpenAI = "openai"
	// StyleChatML: MiroThinker's own format, the MCP call as an XML block at
	// the end of the assistant text and results as role "user".
	StyleChatML = "mirothinker"
)

// Reasoning in MiroThinker's style opens the assistant text as
// "<think>\n…\n</think>\n\n", the layout its parsing expects
// (apps/miroflow-agent/src/utils/parsing_utils.py,
// extract_failure_experience_summary).
const (
	styleThinkOpen  = "<think>\n"
	styleThinkClose = "\n</think>\n\n"
)

const styleToolCallType = "function"

// convert carries what a style conversion needs besides the messages.
type convert struct {
	// tools are the rollout's tools (its tools column), listed in the
	// system prompt of MiroThinker-style rows.
	tools []trajectory.ToolSpec
	// naming names the functions of OpenAI-style calls made from MCP text
	// (trajectory.FunctionNamesServerTool or FunctionNamesBare).
	naming string
}

// styleOf maps a rollout mode or a style name to a style name.
func styleOf(name string) (string, error) {
	switch name {
	case StyleOpenAI, trajectory.ModeFunction:
		return StyleOpenAI, nil
	case StyleChatML, trajectory.ModeMCP:
		return StyleChatML, nil
	}
	return "", fmt.Errorf("unknown message style %q (want %q or %q, or mode %q or %q)",
		name, StyleOpenAI, StyleChatML, trajectory.ModeFunction, trajectory.ModeMCP)
}

// toStyle converts msgs from the style (or rollout mode) from to style. The
// result never shares memory with msgs, so rows built from it can be changed
// without touching the stored rollout. Text and results are kept verbatim;
// MCP-in-text is read by trajectory.SplitMCP and written by
// trajectory.FormatMCPReply, the agent's own reader and writer, so arguments
// taken from MCP text come out compacted. Converting ChatML to OpenAI names
// the calls call_1, call_2, … in order, since the text format carries no ids.
func toStyle(msgs []trajectory.Message, from, style string, cv convert) ([]trajectory.Message, error) {
	src, err := styleOf(from)
	if err != nil {
		return nil, fmt.Errorf("to style: source: %w", err)
	}
	dst, err := styleOf(style)
	if err != nil {
		return nil, fmt.Errorf("to style: target: %w", err)
	}
	switch {
	case src == StyleOpenAI && dst == StyleOpenAI:
		out := make([]trajectory.Message, len(msgs))
		for i, m := range msgs {
			out[i] = styleClone(m)
		}
		return out, nil
	case dst == StyleChatML:
		return cv.toChatML(msgs, src)
	default:
		return cv.chatMLToOpenAI(msgs)
	}
}

// toChatML writes msgs in MiroThinker's own layout: the system prompt with
// the MCP tool section, reasoning inside the assistant text, calls as
// <use_mcp_tool> blocks at its end and the results of one message's calls as
// one user message, joined by newlines as MiroThinker joins them.
func (cv convert) toChatML(msgs []trajectory.Message, src string) ([]trajectory.Message, error) {
	out := make([]trajectory.Message, 0, len(msgs))
	for i, m := range msgs {
		if src == StyleChatML && (m.Role == "tool" || len(m.ToolCalls) > 0) {
			return nil, fmt.Errorf("message %d (%s) has native tool fields: not in %s style", i, m.Role, StyleChatML)
		}
		switch {
		case m.Role == "system":
			c := styleClone(m)
			if with, ok := trajectory.WithMCPTools(styleText(m.Content), cv.tools); ok && len(cv.tools) > 0 {
				c.Content = trajectory.Text(with)
			}
			out = append(out, c)
		case m.Role == "tool":
			// One user message holds the results of all the calls of the
			// assistant message before it.
			if n := len(out); n > 0 && i > 0 && msgs[i-1].Role == "tool" {
				*out[n-1].Content += "\n" + styleText(m.Content)
				continue
			}
			out = append(out, trajectory.Message{Role: "user", Content: trajectory.Text(styleText(m.Content))})
		case m.Role == "assistant":
			calls := make([]trajectory.MCPCall, 0, len(m.ToolCalls))
			for _, tc := range m.ToolCalls {
				server, tool := trajectory.SplitFunctionName(tc.Function.Name)
				if server == "" {
					// A guessed server would teach a call that can never run.
					return nil, fmt.Errorf("message %d: no MCP server known for tool %q", i, tc.Function.Name)
				}
				calls = append(calls, trajectory.MCPCall{Server: server, Tool: tool, Arguments: tc.Function.Arguments})
			}
			c := styleClone(m)
			c.ToolCalls, c.ReasoningContent = nil, nil
			c.Content = trajectory.Text(styleThink(styleText(m.ReasoningContent)) + trajectory.FormatMCPReply(styleText(m.Content), calls))
			out = append(out, c)
		default:
			out = append(out, styleClone(m))
		}
	}
	return out, nil
}

func (cv convert) chatMLToOpenAI(msgs []trajectory.Message) ([]trajectory.Message, error) {
	out := make([]trajectory.Message, 0, len(msgs))
	// pending holds the calls of the last assistant message whose result has
	// not been seen yet: the next user message is their result. A user
	// message with nothing pending is a real user turn (the question, the
	// summary request).
	var pending []trajectory.ToolCall
	n := 0
	for i, m := range msgs {
		if m.Role == "tool" || len(m.ToolCalls) > 0 {
			return nil, fmt.Errorf("message %d (%s) has native tool fields: not in %s style", i, m.Role, StyleChatML)
		}
		switch m.Role {
		case "system":
			c := styleClone(m)
			if without, ok := trajectory.WithoutMCPTools(styleText(m.Content)); ok {
				c.Content = trajectory.Text(without)
			}
			out = append(out, c)
		case "assistant":
			c := styleClone(m)
			body := styleText(m.Content)
			if m.ReasoningContent == nil {
				if r, rest, ok := styleUnthink(body); ok {
					c.ReasoningContent, body = trajectory.Text(r), rest
					c.Content = trajectory.Text(body)
				}
			}
			pending = nil
			text, calls, err := trajectory.SplitMCP(body)
			if err != nil || len(calls) == 0 {
				// A reply the agent could not run was rolled back; one here
				// is text, and stays text.
				out = append(out, c)
				continue
			}
			// Nil, not "", for a reply that is only calls: the agent
			// stores native replies that way.
			c.Content = nil
			if text != "" {
				c.Content = trajectory.Text(text)
			}
			for _, call := range calls {
				n++
				c.ToolCalls = append(c.ToolCalls, trajectory.ToolCall{
					ID:       fmt.Sprintf("call_%d", n),
					Type:     styleToolCallType,
					Function: trajectory.FunctionCall{Name: trajectory.FunctionName(call.Tool, cv.naming), Arguments: call.Arguments},
				})
			}
			pending = c.ToolCalls
			out = append(out, c)
		case "user":
			if len(pending) == 0 || trajectory.IsSummaryRequest(styleText(m.Content)) {
				pending = nil
				out = append(out, styleClone(m))
				continue
			}
			// The results of several calls came as one text that cannot be
			// split again: the last call's message carries it, the others
			// are empty.
			for k, tc := range pending {
				content := ""
				if k == len(pending)-1 {
					content = styleText(m.Content)
				}
				out = append(out, trajectory.Message{
					Role:       "tool",
					Content:    trajectory.Text(content),
					ToolCallID: trajectory.Text(tc.ID),
					Name:       trajectory.Text(tc.Function.Name),
				})
			}
			pending = nil
		default:
			pending = nil
			out = append(out, styleClone(m))
		}
	}
	return out, nil
}

// styleThink is the think block for reasoning r, "" without reasoning.
func styleThink(r string) string {
	if r == "" {
		return ""
	}
	return styleThinkOpen + r + styleThinkClose
}

// styleUnthink splits a think block written by styleThink off the start of
// s.
func styleUnthink(s string) (reasoning, rest string, ok bool) {
	body, found := strings.CutPrefix(s, styleThinkOpen)
	if !found {
		return "", s, false
	}
	end := strings.Index(body, styleThinkClose)
	if end < 0 {
		return "", s, false
	}
	return body[:end], body[end+len(styleThinkClose):], true
}

// styleClone deep-copies m so that exported rows never alias stored ones.
func styleClone(m trajectory.Message) trajectory.Message {
	c := trajectory.Message{Role: m.Role}
	c.Content = styleCloneText(m.Content)
	c.ReasoningContent = styleCloneText(m.ReasoningContent)
	c.ToolCallID = styleCloneText(m.ToolCallID)
	c.Name = styleCloneText(m.Name)
	if m.ToolCalls != nil {
		c.ToolCalls = append([]trajectory.ToolCall(nil), m.ToolCalls...)
	}
	return c
}

func styleCloneText(p *string) *string {
	if p == nil {
		return nil
	}
	return trajectory.Text(*p)
}

// styleText is the text of an optional string, "" when absent.
func styleText(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
