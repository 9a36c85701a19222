package toolset

import (
	"encoding/json"
	"strings"

	"github.com/miroverse/miroverse/trajectory"
)

// QueryKey is MiroThinker's identity of a search or scrape call for its
// repeated-call rollback (apps/miroflow-agent/src/core/tool_executor.py,
// get_query_str_from_tool_call): the tool and its query text exactly as the
// model wrote it, "google_search_" + q and "scrape_and_extract_info_" + url
// + "_" + info_to_extract. Unlike CallKey nothing is folded or defaulted, so
// "Paris" and "paris" are two queries, as they are there. Other tools get ""
// (never a repeat). Arguments that are not a JSON object count as empty, as
// MiroThinker's parser turns them into an error object without those keys;
// the scrape request may also come as description or introduction, the
// names MiroThinker renames before the check.
func QueryKey(name, argsJSON string) string {
	var args map[string]json.RawMessage
	if json.Unmarshal([]byte(strings.TrimSpace(argsJSON)), &args) != nil {
		args = nil
	}
	switch name = toolName(name); name {
	case trajectory.ToolGoogleSearch:
		return name + "_" + queryText(args["q"])
	case trajectory.ToolScrape:
		info, ok := args["info_to_extract"]
		for _, alias := range []string{"description", "introduction"} {
			if !ok {
				info, ok = args[alias]
			}
		}
		return name + "_" + queryText(args["url"]) + "_" + queryText(info)
	}
	return ""
}

// queryText is a JSON value as Python's str() would show the decoded value
// for the common cases: a string without quotes, anything else as written.
func queryText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// EmptySearch reports whether a google_search result found nothing, the
// result MiroThinker rolls back (tool_executor.py,
// is_google_search_empty_result): a JSON object whose "organic" list is
// empty or absent. Text that is not a JSON object (an error) is not empty.
func EmptySearch(result string) bool {
	var r struct {
		Organic []json.RawMessage `json:"organic"`
	}
	s := strings.TrimSpace(result)
	if !strings.HasPrefix(s, "{") || json.Unmarshal([]byte(s), &r) != nil {
		return false
	}
	return len(r.Organic) == 0
}
