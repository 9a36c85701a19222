package oracle

import (
	"strings"
)

// Tags of MiroThinker's MCP-in-text tool-call format (DESIGN §3).
const (
	mcpOpen  = "<use_mcp_tool>"
	mcpClose = "</use_mcp_tool>"
)

// mcpBlock renders one call exactly as MiroThinker writes it: each tag on its
// own line, the JSON arguments between their own lines.
func mcpBlock(server, tool, args string) string {
	var b strings.Builder
	b.WriteString(mcpOpen + "\n")
	b.WriteString("<server_name>" + server + "</server_name>\n")
	b.WriteString("<tool_name>" + tool + "</tool_name>\n")
	b.WriteString("<arguments>\n" + args + "\n</arguments>\n")
	b.WriteString(mcpClose)
	return b.String()
}

// parseMCPCalls lists the calls written in an assistant message, leniently:
// a block missing its closing tag still counts, because the teacher must
// count every call the conversation shows to know where it is.
func parseMCPCalls(content string) []call {
	var out []call
	rest := content
	for {
		i := strings.Index(rest, mcpOpen)
		if i < 0 {
			return out
		}
		rest = rest[i+len(mcpOpen):]
		block := rest
		if j := strings.Index(block, mcpClose); j >= 0 {
			block = block[:j]
		}
		if j := strings.Index(block, mcpOpen); j >= 0 {
			block = block[:j]
		}
		out = append(out, call{
			name: strings.TrimSpace(between(block, "<tool_name>", "</tool_name>")),
			args: strings.TrimSpace(between(block, "<arguments>", "</arguments>")),
		})
	}
}

// between is the text after open up to close (or to the end when close is
// missing); "" when open is absent.
func between(s, open, close string) string {
	i := strings.Index(s, open)
	if i < 0 {
		return ""
	}
	s = s[i+len(open):]
	if j := strings.Index(s, close); j >= 0 {
		s = s[:j]
	}
	return s
}

// kv is one argument of a tool call; a slice of them keeps the argument order
// fixed, which a map would not.
type kv struct{ key, value string }

// argsJSON encodes arguments as a JSON object in their given order. spaced
// gives the `{"q": "…"}` layout of MiroThinker's MCP text; compact gives the
// `{"q":"…"}` of native function calls.
func argsJSON(args []kv, spaced bool) (string, error) {
	colon, comma := ":", ","
	if spaced {
		colon, comma = ": ", ", "
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, a := range args {
		if i > 0 {
			b.WriteString(comma)
		}
		k, err := marshal(a.key)
		if err != nil {
			return "", err
		}
		v, err := marshal(a.value)
		if err != nil {
			return "", err
		}
		b.Write(k)
		b.WriteString(colon)
		b.Write(v)
	}
	b.WriteByte('}')
	return b.String(), nil
}
