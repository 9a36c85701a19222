package trajectory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// ToolSpec is one tool as a system prompt lists it for MCP-in-text calls.
type ToolSpec struct {
	Server, Name, Description string
	// Schema is the tool's input JSON schema, compact.
	Schema json.RawMessage
}

// Headings of the agent's system prompt. The server and tool lines are
// MiroThinker's markers (apps/miroflow-agent/src/utils/prompt_utils.py,
// generate_mcp_system_prompt), which its parser reads back
// (parsing_utils.py, parse_tool_server_mapping); keep them exact.
const (
	mcpSectionHeading = "# Using tools"
	mcpServerLine     = "## Server name: "
	mcpToolLine       = "### Tool name: "
	mcpDescLine       = "Description: "
	mcpSchemaLine     = "Input JSON schema: "
	// ObjectiveHeading opens the part of the system prompt that follows
	// the tool section in MCP mode; WithMCPTools inserts before it.
	ObjectiveHeading = "# Objective"
)

// MCPToolSection is the part of the MCP-mode system prompt that teaches the
// call format and lists every server with its tools and their input
// schemas, servers in the order their first tool comes in tools.
func MCPToolSection(tools []ToolSpec) string {
	var b strings.Builder
	b.WriteString(mcpSectionHeading + "\n\n")
	b.WriteString("A tool call is written in XML-style tags: a <use_mcp_tool> block that names the MCP server " +
		"providing the tool, the tool itself and its arguments.\n\n")
	b.WriteString("Parts of a call:\n" +
		"- server_name (required): the MCP server that provides the tool\n" +
		"- tool_name (required): the tool to run\n" +
		"- arguments (required): one JSON object that fits the tool's input schema; escape quotes inside " +
		"strings so that the object stays valid JSON\n\n")
	b.WriteString("Layout:\n")
	b.WriteString(FormatMCP(MCPCall{Server: "server name", Tool: "tool name", Arguments: `{"parameter": "value"}`}))
	b.WriteString("\n\nRules:\n" +
		"- Put the call last in your message, at the top level, never inside another tag.\n" +
		"- Keep exactly this layout: calls are read by pattern matching, not by an XML parser, and string " +
		"values are taken as written, spaces included.\n" +
		"- A message without a call block is read as your final response, so leave the block out only once " +
		"you are done.\n\n")
	b.WriteString("The servers and their tools, each tool's input given as a JSON schema:\n")
	var servers []string
	for _, t := range tools {
		if !slices.Contains(servers, t.Server) {
			servers = append(servers, t.Server)
		}
	}
	for _, s := range servers {
		b.WriteString("\n" + mcpServerLine + s + "\n")
		for _, t := range tools {
			if t.Server != s {
				continue
			}
			b.WriteString(mcpToolLine + t.Name + "\n")
			b.WriteString(mcpDescLine + t.Description + "\n")
			b.WriteString(mcpSchemaLine + string(t.Schema) + "\n")
		}
	}
	return b.String()
}

// WithMCPTools puts the tool section for tools into a system prompt that has
// none, just before its objective: what a function-mode system prompt
// becomes in MiroThinker's style. ok is false when system has no objective
// heading or already has a tool section.
func WithMCPTools(system string, tools []ToolSpec) (string, bool) {
	at := strings.Index(system, "\n"+ObjectiveHeading+"\n")
	if at < 0 || strings.Contains(system, "\n"+mcpSectionHeading+"\n") {
		return system, false
	}
	head := strings.TrimRight(system[:at], "\n")
	return head + "\n\n" + strings.TrimRight(MCPToolSection(tools), "\n") + "\n\n" + system[at+1:], true
}

// WithoutMCPTools is the inverse of WithMCPTools. ok is false when system
// has no tool section before an objective heading.
func WithoutMCPTools(system string) (string, bool) {
	from := strings.Index(system, "\n\n"+mcpSectionHeading+"\n")
	to := strings.Index(system, "\n"+ObjectiveHeading+"\n")
	if from < 0 || to < from {
		return system, false
	}
	return system[:from] + "\n\n" + system[to+1:], true
}

// ToolSpecs reads the tool specs from a rollout's tools column (a JSON array
// of function schemas); function names in either naming are accepted.
func ToolSpecs(schemasJSON string) ([]ToolSpec, error) {
	if strings.TrimSpace(schemasJSON) == "" {
		return nil, nil
	}
	var schemas []struct {
		Function struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"function"`
	}
	if err := json.Unmarshal([]byte(schemasJSON), &schemas); err != nil {
		return nil, fmt.Errorf("reading tool schemas: %w", err)
	}
	out := make([]ToolSpec, 0, len(schemas))
	for _, s := range schemas {
		server, tool := SplitFunctionName(s.Function.Name)
		if server == "" {
			return nil, fmt.Errorf("tool schema %q: no MCP server known for it", s.Function.Name)
		}
		var b bytes.Buffer
		if err := json.Compact(&b, s.Function.Parameters); err != nil {
			return nil, fmt.Errorf("tool schema %q: parameters: %w", s.Function.Name, err)
		}
		out = append(out, ToolSpec{Server: server, Name: tool, Description: s.Function.Description, Schema: b.Bytes()})
	}
	return out, nil
}
