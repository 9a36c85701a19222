package trajectory

import "github.com/miroverse/miroverse/trajectory/internal/clip"

// Tool and server names of the MiroThinker profile (DESIGN §3). They are
// protocol, not prose: models trained on the data call tools by these names.
const (
	ToolGoogleSearch = "google_search"
	ToolScrape       = "scrape_and_extract_info"

	ServerSearch = "search_and_scrape_webpage"
	ServerScrape = "jina_scrape_llm_summary"
	// ServerPython serves the sandbox tools, offered when the tool set has
	// a sandbox provider.
	ServerPython = "tool-python"
)

// Tool names of the tool-python server (DESIGN §3). Protocol, like the
// other tool names.
const (
	ToolCreateSandbox = "create_sandbox"
	ToolRunPython     = "run_python_code"
	ToolRunCommand    = "run_command"
)

// ServerOf names the MCP server that serves tool, "" for a tool outside the
// MiroThinker profile.
func ServerOf(tool string) string {
	switch tool {
	case ToolGoogleSearch:
		return ServerSearch
	case ToolScrape:
		return ServerScrape
	case ToolCreateSandbox, ToolRunPython, ToolRunCommand:
		return ServerPython
	}
	return ""
}

// ToolErrorPrefix starts every failed tool result (DESIGN §3).
const ToolErrorPrefix = "[ERROR]:"

// The tool-result limit of DESIGN §3 and the marker after a cut result.
const (
	maxToolResultChars        = 100_000
	toolResultTruncatedMarker = "\n... [Result truncated]"
)

// TruncateToolResult applies the tool-result limit: a result over 100,000
// characters keeps its first 100,000 followed by "\n... [Result truncated]".
// Characters are runes, as in the Python code the limit comes from, so a cut
// never splits a UTF-8 sequence.
func TruncateToolResult(s string) string {
	if t := clip.Runes(s, maxToolResultChars); len(t) < len(s) {
		return t + toolResultTruncatedMarker
	}
	return s
}
