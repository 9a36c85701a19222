package toolset

import (
	"github.com/miroverse/miroverse/trajectory"
)

// ToolSpecs lists the offered tools with their servers, in the order they
// are offered, for the MCP-mode system prompt.
func (t *Toolset) ToolSpecs() []trajectory.ToolSpec {
	defs := t.defs()
	out := make([]trajectory.ToolSpec, 0, len(defs))
	for _, d := range defs {
		out = append(out, trajectory.ToolSpec{
			Server: trajectory.ServerOf(d.Name), Name: d.Name, Description: d.Description, Schema: compactSchema(d.Parameters),
		})
	}
	return out
}

// MCPToolsSection is the part of the MCP-mode system prompt that teaches the
// call format and lists every server with its tools and their input schemas
// (trajectory.MCPToolSection over ToolSpecs).
func (t *Toolset) MCPToolsSection() string {
	return trajectory.MCPToolSection(t.ToolSpecs())
}

// WithFunctionNames returns a copy of t whose function-calling schemas name
// each function by naming (trajectory.FunctionNamesServerTool or
// FunctionNamesBare; a Toolset from New has bare names). Calls are accepted under either
// name whatever the naming, since Call is also what `miroverse tools run`
// uses; the agent decides which names a model may call.
func (t *Toolset) WithFunctionNames(naming string) *Toolset {
	c := *t
	c.naming = naming
	return &c
}

// FunctionName is the name t's schemas give tool.
func (t *Toolset) FunctionName(tool string) string {
	if t.naming == "" {
		return tool
	}
	return trajectory.FunctionName(tool, t.naming)
}
