package toolset

import (
	"slices"
	"strconv"
	"strings"

	"github.com/miroverse/miroverse/trajectory"
)

// MCPToolsSection is the part of the MCP-mode system prompt that teaches the
// call format and lists every server with its tools and their input schemas.
// Servers appear in the order their first tool is offered.
func (t *Toolset) MCPToolsSection() string {
	var b strings.Builder
	b.WriteString("# Calling tools\n\n")
	b.WriteString("Tools are provided by servers. To use one, finish your message with a single call block " +
		"in exactly this layout, then stop writing:\n\n")
	b.WriteString(trajectory.FormatMCP(trajectory.MCPCall{Server: "server name", Tool: "tool name",
		Arguments: "{\"parameter\": \"value\"}"}))
	b.WriteString("\n\nThe arguments must be one JSON object that fits the tool's input schema. Make at most one " +
		"call per message. The tool's output comes back to you in the next user message. A message with no " +
		"call block is read as your final response, so only leave it out once you are done researching.\n\n")
	b.WriteString("## Servers and tools\n")

	defs := t.defs()
	var servers []string
	for _, d := range defs {
		s := trajectory.ServerOf(d.Name)
		if !slices.Contains(servers, s) {
			servers = append(servers, s)
		}
	}
	for _, s := range servers {
		b.WriteString("\n### Server: " + s + "\n")
		for _, d := range defs {
			if trajectory.ServerOf(d.Name) != s {
				continue
			}
			b.WriteString("\n#### Tool: " + d.Name + "\n")
			b.WriteString(d.Description + "\n")
			b.WriteString("Input schema: " + string(compactSchema(d.Parameters)) + "\n")
		}
	}
	b.WriteString("\n## Example\n\n")
	b.WriteString(trajectory.FormatMCP(trajectory.MCPCall{Tool: trajectory.ToolGoogleSearch, Arguments: `{"q": ` + strconv.Quote("tallest lighthouse in Europe") + `}`}))
	b.WriteString("\n")
	return b.String()
}
