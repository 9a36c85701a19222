package trajectory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/miroverse/miroverse/trajectory/internal/clip"
)

// MCPCall is one tool call written as MCP-in-text by the model.
type MCPCall struct {
	Server string
	Tool   string
	// Arguments is the call's JSON object, compacted.
	Arguments string
}

// ErrMalformedMCP is wrapped by ParseMCP when a message opens a tool call
// that cannot be run. The agent rolls such a message back.
var ErrMalformedMCP = errors.New("malformed MCP tool call")

// Tag patterns of the MCP-in-text block. Blanks inside the angle brackets
// are tolerated because sampled models produce "<tool_name >" now and then.
var (
	mcpOpenRe     = regexp.MustCompile(`<\s*use_mcp_tool\s*>`)
	mcpCloseRe    = regexp.MustCompile(`<\s*/\s*use_mcp_tool\s*>`)
	mcpArgsOpenRe = regexp.MustCompile(`<\s*arguments\s*>`)
	mcpAnyTagRe   = regexp.MustCompile(`<\s*/?\s*(?:use_mcp_tool|server_name|tool_name|arguments)\s*>`)
	mcpServerRe   = regexp.MustCompile(`<\s*server_name\s*>`)
	mcpToolRe     = regexp.MustCompile(`<\s*tool_name\s*>`)
)

// SplitMCP splits an assistant message written in MCP-in-text into the text
// before its first <use_mcp_tool> block and the calls of every block, in
// order, as MiroThinker's parser does (apps/miroflow-agent/src/utils/
// parsing_utils.py, parse_llm_response_for_tool_calls, and
// extract_llm_response_text for the text). It is the one reader of the
// format: the agent runs what it returns, the exporter converts it and the
// oracle reads conversations with it.
//
// A message with no MCP tag at all is a final response: text is the whole
// message and calls is nil. A block whose tool name is missing or whose
// arguments are not a JSON object gives an error wrapping ErrMalformedMCP,
// and so does a stray MCP tag without an opening <use_mcp_tool>; the agent
// rolls such a message back. Within those bounds parsing is more lenient
// than MiroThinker's regular expression, because a sampled model's
// formatting drifts: blanks and newlines around and inside the tags, a
// missing closing tag (a stop sequence may eat it), a Markdown fence around
// the JSON, text after a complete JSON object, and an object sent as a JSON
// string are all accepted. A missing server name is filled in from the tool.
func SplitMCP(content string) (text string, calls []MCPCall, err error) {
	opens := mcpOpenRe.FindAllStringIndex(content, -1)
	if len(opens) == 0 {
		if tag := mcpAnyTagRe.FindString(content); tag != "" {
			return content, nil, fmt.Errorf("%w: %s without <use_mcp_tool>", ErrMalformedMCP, tag)
		}
		return content, nil, nil
	}
	text = strings.TrimRightFunc(content[:opens[0][0]], unicode.IsSpace)
	at := opens[0][0]
	for {
		loc := mcpOpenRe.FindStringIndex(content[at:])
		if loc == nil {
			return text, calls, nil
		}
		call, used, err := parseMCPBlock(content[at+loc[1]:])
		if err != nil {
			return text, nil, err
		}
		calls = append(calls, call)
		at += loc[1] + used
	}
}

// parseMCPBlock reads one block from s, the text after its opening tag, and
// reports how much of s the block used: up to the end of its arguments, so
// that a tag inside a JSON string never starts the next block.
func parseMCPBlock(s string) (MCPCall, int, error) {
	// The names sit before <arguments>, which must come before any
	// further block.
	head := s
	if next := mcpOpenRe.FindStringIndex(s); next != nil {
		head = s[:next[0]]
	}
	argsAt := mcpArgsOpenRe.FindStringIndex(head)
	if argsAt != nil {
		head = head[:argsAt[0]]
	} else if end := mcpCloseRe.FindStringIndex(head); end != nil {
		head = head[:end[0]]
	}
	tool := mcpTagValue(head, mcpToolRe)
	if tool == "" {
		return MCPCall{}, 0, fmt.Errorf("%w: missing <tool_name>", ErrMalformedMCP)
	}
	server := mcpTagValue(head, mcpServerRe)
	if server == "" {
		server = ServerOf(tool)
	}
	if argsAt == nil {
		return MCPCall{}, 0, fmt.Errorf("%w: call of %s has no <arguments>", ErrMalformedMCP, tool)
	}
	args, used, err := mcpArguments(s[argsAt[1]:])
	if err != nil {
		return MCPCall{}, 0, fmt.Errorf("%w: arguments of %s: %v", ErrMalformedMCP, tool, err)
	}
	return MCPCall{Server: server, Tool: tool, Arguments: args}, argsAt[1] + used, nil
}

// mcpTagValue is the trimmed text after the opening tag up to the next tag
// (its own closing tag or, when that is missing, whatever tag follows).
// Names never contain '<', so stopping there is safe.
func mcpTagValue(s string, open *regexp.Regexp) string {
	loc := open.FindStringIndex(s)
	if loc == nil {
		return ""
	}
	v := s[loc[1]:]
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// mcpArguments reads the first JSON value of s, returns it compacted and
// reports how many bytes of s it took. The decoder stops after one value,
// so closing tags, a closing fence or other trailing text are never parsed,
// and a string value that happens to contain "</arguments>" stays intact.
func mcpArguments(s string) (string, int, error) {
	lead := len(s) - len(strings.TrimLeftFunc(s, unicode.IsSpace))
	body := s[lead:]
	if strings.HasPrefix(body, "```") {
		// Drop the fence and its language tag ("```json").
		fence := len(body) - len(strings.TrimLeft(body, "`"))
		rest := body[fence:]
		if i := strings.IndexAny(rest, "{\"\n"); i >= 0 && rest[i] == '\n' {
			fence += i + 1
		} else if i >= 0 {
			fence += i
		}
		lead += fence
		body = s[lead:]
	}
	raw, used, err := firstJSONValue(body)
	if err != nil {
		return "", 0, err
	}
	// An object sent as a JSON string ("{\"q\": \"x\"}") is unwrapped once.
	if len(raw) > 0 && raw[0] == '"' {
		var inner string
		if err := json.Unmarshal(raw, &inner); err != nil {
			return "", 0, fmt.Errorf("reading quoted arguments: %w", err)
		}
		if raw, _, err = firstJSONValue(strings.TrimSpace(inner)); err != nil {
			return "", 0, fmt.Errorf("quoted arguments: %w", err)
		}
	}
	if len(raw) == 0 || raw[0] != '{' {
		return "", 0, fmt.Errorf("want a JSON object, got %s", clip.Marked(string(raw), 60))
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", 0, fmt.Errorf("compacting arguments: %w", err)
	}
	return b.String(), lead + used, nil
}

func firstJSONValue(s string) (json.RawMessage, int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, 0, errors.New("empty arguments")
	}
	var raw json.RawMessage
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&raw); err != nil {
		return nil, 0, fmt.Errorf("not valid JSON: %w", err)
	}
	return raw, int(dec.InputOffset()), nil
}

// FormatMCP renders c as the canonical block, the form the system prompt
// teaches. An empty Server is filled from the tool, empty Arguments become {}.
func FormatMCP(c MCPCall) string {
	server := c.Server
	if server == "" {
		server = ServerOf(c.Tool)
	}
	args := strings.TrimSpace(c.Arguments)
	if args == "" {
		args = "{}"
	}
	return "<use_mcp_tool>\n" +
		"<server_name>" + server + "</server_name>\n" +
		"<tool_name>" + c.Tool + "</tool_name>\n" +
		"<arguments>\n" + args + "\n</arguments>\n" +
		"</use_mcp_tool>"
}

// FormatMCPReply renders an assistant message with calls the way the agent
// is taught to write one: its text, a blank line, then every block, each on
// its own lines. Text alone comes back unchanged.
func FormatMCPReply(text string, calls []MCPCall) string {
	if len(calls) == 0 {
		return text
	}
	blocks := make([]string, len(calls))
	for i, c := range calls {
		blocks[i] = FormatMCP(c)
	}
	text = strings.TrimRightFunc(text, unicode.IsSpace)
	if text != "" {
		text += "\n\n"
	}
	return text + strings.Join(blocks, "\n\n")
}
