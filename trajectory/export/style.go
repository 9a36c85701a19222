package export

import (
	"fmt"
	"strings"
	"unicode"

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

// Tags of the MCP-in-text call block (DESIGN §3 "synthesize").
const (
	styleMCPOpen       = "<use_mcp_tool>"
	styleMCPClose      = "</use_mcp_tool>"
	styleMCPServerTag  = "server_name"
	styleMCPToolTag    = "tool_name"
	styleMCPArgsTag    = "arguments"
	styleToolCallType  = "function"
	styleEmptyArgsJSON = "{}"
)

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
// without touching the stored rollout. Text, reasoning and tool arguments are
// kept verbatim; converting ChatML to OpenAI names the calls call_1, call_2, …
// in order, since the text format carries no ids.
func toStyle(msgs []trajectory.Message, from, style string) ([]trajectory.Message, error) {
	src, err := styleOf(from)
	if err != nil {
		return nil, fmt.Errorf("to style: source: %w", err)
	}
	dst, err := styleOf(style)
	if err != nil {
		return nil, fmt.Errorf("to style: target: %w", err)
	}
	switch {
	case src == dst:
		out := make([]trajectory.Message, len(msgs))
		for i, m := range msgs {
			out[i] = styleClone(m)
		}
		return out, nil
	case dst == StyleChatML:
		return openAIToChatML(msgs)
	default:
		return chatMLToOpenAI(msgs)
	}
}

func openAIToChatML(msgs []trajectory.Message) ([]trajectory.Message, error) {
	out := make([]trajectory.Message, 0, len(msgs))
	for i, m := range msgs {
		switch {
		case m.Role == "tool":
			// The result text alone: in MCP mode the tool output is the whole
			// user message.
			out = append(out, trajectory.Message{Role: "user", Content: trajectory.Text(styleText(m.Content))})
		case m.Role == "assistant" && len(m.ToolCalls) > 0:
			blocks := make([]string, 0, len(m.ToolCalls))
			for _, tc := range m.ToolCalls {
				b, err := renderMCPBlock(tc.Function.Name, tc.Function.Arguments)
				if err != nil {
					return nil, fmt.Errorf("message %d: %w", i, err)
				}
				blocks = append(blocks, b)
			}
			text := strings.TrimRightFunc(styleText(m.Content), unicode.IsSpace)
			if text != "" {
				text += "\n\n"
			}
			c := styleClone(m)
			c.ToolCalls = nil
			c.Content = trajectory.Text(text + strings.Join(blocks, "\n\n"))
			out = append(out, c)
		default:
			out = append(out, styleClone(m))
		}
	}
	return out, nil
}

func chatMLToOpenAI(msgs []trajectory.Message) ([]trajectory.Message, error) {
	out := make([]trajectory.Message, 0, len(msgs))
	// pending holds the calls of the last assistant message whose results have
	// not been seen yet: the next user messages are those results, in order.
	// A user message with nothing pending is a real user turn (the question,
	// the summary request).
	var pending []trajectory.ToolCall
	n := 0
	for i, m := range msgs {
		if m.Role == "tool" || len(m.ToolCalls) > 0 {
			return nil, fmt.Errorf("message %d (%s) has native tool fields: not in %s style", i, m.Role, StyleChatML)
		}
		switch m.Role {
		case "assistant":
			text, calls := styleSplitMCP(styleText(m.Content))
			c := styleClone(m)
			pending = nil
			if len(calls) > 0 {
				// Nil, not "", for a reply that is only calls: the agent
				// stores native replies that way.
				c.Content = nil
				if text != "" {
					c.Content = trajectory.Text(text)
				}
				for _, call := range calls {
					n++
					tc := trajectory.ToolCall{
						ID:       fmt.Sprintf("call_%d", n),
						Type:     styleToolCallType,
						Function: trajectory.FunctionCall{Name: call.tool, Arguments: call.args},
					}
					c.ToolCalls = append(c.ToolCalls, tc)
				}
				pending = c.ToolCalls
			}
			out = append(out, c)
		case "user":
			if len(pending) == 0 {
				out = append(out, styleClone(m))
				continue
			}
			tc := pending[0]
			pending = pending[1:]
			out = append(out, trajectory.Message{
				Role:       "tool",
				Content:    trajectory.Text(styleText(m.Content)),
				ToolCallID: trajectory.Text(tc.ID),
				Name:       trajectory.Text(tc.Function.Name),
			})
		default:
			pending = nil
			out = append(out, styleClone(m))
		}
	}
	return out, nil
}

// renderMCPBlock writes one call in MiroThinker's MCP-in-text format. A tool
// outside the profile is an error rather than a guessed server: a wrong
// server name would teach the model a call that can never run.
func renderMCPBlock(tool, args string) (string, error) {
	server := trajectory.ServerOf(tool)
	if server == "" {
		return "", fmt.Errorf("no MCP server known for tool %q", tool)
	}
	var b strings.Builder
	b.WriteString(styleMCPOpen + "\n")
	b.WriteString("<" + styleMCPServerTag + ">" + server + "</" + styleMCPServerTag + ">\n")
	b.WriteString("<" + styleMCPToolTag + ">" + tool + "</" + styleMCPToolTag + ">\n")
	b.WriteString("<" + styleMCPArgsTag + ">\n" + args + "\n</" + styleMCPArgsTag + ">\n")
	b.WriteString(styleMCPClose)
	return b.String(), nil
}

// styleMCPCall is one call parsed from assistant text.
// The server name is not kept: OpenAI style has no place for it and
// rendering derives it from the tool again.
type styleMCPCall struct {
	tool, args string
}

// styleSplitMCP splits the MCP blocks at the end of an assistant text from the
// text before them. It is lenient the way stored model output needs: blank
// space around tags, a missing final </use_mcp_tool> or </arguments> (a stop
// sequence may eat it) and a fenced JSON body are accepted. A block followed
// by more text is not a call, and text with no call comes back unchanged.
func styleSplitMCP(s string) (string, []styleMCPCall) {
	var calls []styleMCPCall
	rest := s
	for {
		trimmed := strings.TrimRightFunc(rest, unicode.IsSpace)
		start := strings.LastIndex(trimmed, styleMCPOpen)
		if start < 0 {
			break
		}
		body := trimmed[start+len(styleMCPOpen):]
		if end := strings.Index(body, styleMCPClose); end >= 0 {
			if strings.TrimSpace(body[end+len(styleMCPClose):]) != "" {
				break
			}
			body = body[:end]
		}
		call, ok := styleParseMCPBody(body)
		if !ok {
			break
		}
		calls = append(calls, call)
		rest = trimmed[:start]
	}
	if len(calls) == 0 {
		return s, nil
	}
	// Parsed from the end backwards; restore message order.
	for i, j := 0, len(calls)-1; i < j; i, j = i+1, j-1 {
		calls[i], calls[j] = calls[j], calls[i]
	}
	return strings.TrimRightFunc(rest, unicode.IsSpace), calls
}

func styleParseMCPBody(body string) (styleMCPCall, bool) {
	tool, ok := styleTagValue(body, styleMCPToolTag)
	if !ok || tool == "" {
		return styleMCPCall{}, false
	}
	args, ok := styleTagValue(body, styleMCPArgsTag)
	if !ok {
		args = styleEmptyArgsJSON
	}
	return styleMCPCall{tool: tool, args: styleUnfence(args)}, true
}

// styleTagValue returns the trimmed text between <tag> and </tag>; a missing
// closing tag takes the rest of s.
func styleTagValue(s, tag string) (string, bool) {
	open, closing := "<"+tag+">", "</"+tag+">"
	i := strings.Index(s, open)
	if i < 0 {
		return "", false
	}
	v := s[i+len(open):]
	if j := strings.Index(v, closing); j >= 0 {
		v = v[:j]
	}
	return strings.TrimSpace(v), true
}

// styleUnfence removes a Markdown code fence around a JSON body.
func styleUnfence(s string) string {
	if !strings.HasPrefix(s, "```") || !strings.HasSuffix(s, "```") || len(s) < 6 {
		return s
	}
	inner := s[3 : len(s)-3]
	if nl := strings.IndexByte(inner, '\n'); nl >= 0 && !strings.ContainsAny(inner[:nl], "{[\"") {
		inner = inner[nl+1:] // language tag such as "json"
	}
	return strings.TrimSpace(inner)
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
