package trajectory

import (
	"encoding/json"
	"strings"

	"github.com/miroverse/miroverse/trajectory/internal/clip"
)

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
	// ToolUploadFile and ToolDownloadFile put a file into a sandbox: one
	// of the run's own files, or a page of the corpus.
	ToolUploadFile   = "upload_file_from_local_to_sandbox"
	ToolDownloadFile = "download_file_from_internet_to_sandbox"
)

// ServerOf names the MCP server that serves tool, "" for a tool outside the
// MiroThinker profile.
func ServerOf(tool string) string {
	switch tool {
	case ToolGoogleSearch:
		return ServerSearch
	case ToolScrape:
		return ServerScrape
	case ToolCreateSandbox, ToolRunPython, ToolRunCommand, ToolUploadFile, ToolDownloadFile:
		return ServerPython
	}
	return ""
}

// ToolErrorPrefix starts every failed tool result (DESIGN §3) that is
// text; see IsToolError for the ones that are JSON.
const ToolErrorPrefix = "[ERROR]:"

// IsToolError reports whether a tool result says the call failed: text
// starting with ToolErrorPrefix, or a JSON object whose "success" is false,
// which is how MiroThinker's JSON tools (scrape_and_extract_info, and the
// search servers when they fail) report a failure.
func IsToolError(result string) bool {
	if strings.HasPrefix(result, ToolErrorPrefix) {
		return true
	}
	s := strings.TrimSpace(result)
	if !strings.HasPrefix(s, "{") || !strings.Contains(s, `"success"`) {
		return false
	}
	var v struct {
		Success *bool `json:"success"`
	}
	return json.Unmarshal([]byte(s), &v) == nil && v.Success != nil && !*v.Success
}

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

// Function names in function-calling mode. MiroFlow names every function
// "server-tool" (apps/miroflow-agent/src/llm/base_client.py,
// convert_tool_definition_to_tool_call) and splits a called name at its last
// '-' (parsing_utils.py, parse_llm_response_for_tool_calls).
const (
	FunctionNamesServerTool = "server-tool"
	FunctionNamesBare       = "bare"
)

// FunctionName is the function name of tool under naming:
// "search_and_scrape_webpage-google_search" for FunctionNamesServerTool,
// the tool name itself for FunctionNamesBare (and for a tool without a
// known server).
func FunctionName(tool, naming string) string {
	if s := ServerOf(tool); s != "" && naming != FunctionNamesBare {
		return s + "-" + tool
	}
	return tool
}

// SplitFunctionName reads a called function name of either naming: a bare
// tool name of the profile gets its server, any other name is split at its
// last '-' as MiroFlow does. server is "" for a name that is neither.
func SplitFunctionName(name string) (server, tool string) {
	if s := ServerOf(name); s != "" {
		return s, name
	}
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		return name[:i], name[i+1:]
	}
	return "", name
}
