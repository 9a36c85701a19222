package trajectory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

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

// ParseMCP reads the last <use_mcp_tool> block of an assistant message.
//
// ok is false with a nil error when the message has no MCP tag at all: it is
// a final response. A block whose tool name is missing or whose arguments are
// not a JSON object gives an error wrapping ErrMalformedMCP, and so does a
// stray MCP tag without an opening <use_mcp_tool>; the agent never runs
// those. Within those bounds parsing is lenient, because a sampled model's
// formatting drifts: blanks and newlines anywhere around the tags, a missing
// </arguments> or </use_mcp_tool> at the end (a stop sequence may eat them),
// a Markdown fence around the JSON, text after a complete JSON object, and
// an object sent as a JSON string are all accepted. A missing server name is
// filled in from the tool name.
func ParseMCP(content string) (call MCPCall, ok bool, err error) {
	opens := mcpOpenRe.FindAllStringIndex(content, -1)
	if len(opens) == 0 {
		if tag := mcpAnyTagRe.FindString(content); tag != "" {
			return MCPCall{}, false, fmt.Errorf("%w: %s without <use_mcp_tool>", ErrMalformedMCP, tag)
		}
		return MCPCall{}, false, nil
	}
	block := content[opens[len(opens)-1][1]:]

	// The names sit before <arguments>; without it, before the closing tag.
	head := block
	argsAt := mcpArgsOpenRe.FindStringIndex(block)
	if argsAt != nil {
		head = block[:argsAt[0]]
	} else if end := mcpCloseRe.FindStringIndex(block); end != nil {
		head = block[:end[0]]
	}
	tool := mcpTagValue(head, mcpToolRe)
	if tool == "" {
		return MCPCall{}, false, fmt.Errorf("%w: missing <tool_name>", ErrMalformedMCP)
	}
	server := mcpTagValue(head, mcpServerRe)
	if server == "" {
		server = ServerOf(tool)
	}
	if argsAt == nil {
		return MCPCall{}, false, fmt.Errorf("%w: call of %s has no <arguments>", ErrMalformedMCP, tool)
	}
	args, err := mcpArguments(block[argsAt[1]:])
	if err != nil {
		return MCPCall{}, false, fmt.Errorf("%w: arguments of %s: %v", ErrMalformedMCP, tool, err)
	}
	return MCPCall{Server: server, Tool: tool, Arguments: args}, true, nil
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

// mcpArguments reads the first JSON value of s and returns it compacted. s
// runs to the end of the message: the decoder stops after one value, so
// closing tags, a closing fence or other trailing text are never parsed, and
// a string value that happens to contain "</arguments>" stays intact.
func mcpArguments(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "```") {
		// Drop the fence and its language tag ("```json").
		s = strings.TrimLeft(s, "`")
		if i := strings.IndexAny(s, "{\"\n"); i >= 0 && s[i] == '\n' {
			s = s[i+1:]
		} else if i >= 0 {
			s = s[i:]
		}
	}
	raw, err := firstJSONValue(s)
	if err != nil {
		return "", err
	}
	// An object sent as a JSON string ("{\"q\": \"x\"}") is unwrapped once.
	if len(raw) > 0 && raw[0] == '"' {
		var inner string
		if err := json.Unmarshal(raw, &inner); err != nil {
			return "", fmt.Errorf("reading quoted arguments: %w", err)
		}
		if raw, err = firstJSONValue(strings.TrimSpace(inner)); err != nil {
			return "", fmt.Errorf("quoted arguments: %w", err)
		}
	}
	if len(raw) == 0 || raw[0] != '{' {
		return "", fmt.Errorf("want a JSON object, got %s", clip.Marked(string(raw), 60))
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", fmt.Errorf("compacting arguments: %w", err)
	}
	return b.String(), nil
}

func firstJSONValue(s string) (json.RawMessage, error) {
	if s == "" {
		return nil, errors.New("empty arguments")
	}
	var raw json.RawMessage
	if err := json.NewDecoder(strings.NewReader(s)).Decode(&raw); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	return raw, nil
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
