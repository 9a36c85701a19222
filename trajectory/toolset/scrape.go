package toolset

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/miroverse/miroverse/trajectory"
)

// scrapeStats are the scrape_stats of MiroThinker's scrape answer
// (jina_scrape_llm_summary.py, scrape_url_with_jina): the whole page's line
// and character counts, the line the text handed on ends at, and whether
// it was the whole page. Characters are runes, as Python counts them.
type scrapeStats struct {
	LineCount           int  `json:"line_count"`
	CharCount           int  `json:"char_count"`
	LastCharLine        int  `json:"last_char_line"`
	AllContentDisplayed bool `json:"all_content_displayed"`
}

func scrapeStatsOf(content, shown string) scrapeStats {
	st := scrapeStats{CharCount: utf8.RuneCountInString(content)}
	if content != "" {
		st.LineCount = strings.Count(content, "\n") + 1
	}
	if shown != "" {
		st.LastCharLine = strings.Count(shown, "\n") + 1
	}
	st.AllContentDisplayed = len(shown) == len(content)
	return st
}

// scrapeReply is scrape_and_extract_info's JSON answer, with MiroThinker's
// keys in its order (jina_scrape_llm_summary.py, scrape_and_extract_info).
type scrapeReply struct {
	Success       bool
	URL           string
	ExtractedInfo string
	Error         string
	Stats         scrapeStats
	Model         string
	Tokens        int
}

// encode writes r as Python's json.dumps(..., ensure_ascii=False) writes
// the dict: ", " and ": " between items, non-ASCII text as it is.
func (r scrapeReply) encode() string {
	return string(pyObject(
		pyItem{"success", r.Success},
		pyItem{"url", r.URL},
		pyItem{"extracted_info", r.ExtractedInfo},
		pyItem{"error", r.Error},
		pyItem{"scrape_stats", pyObject(
			pyItem{"line_count", r.Stats.LineCount},
			pyItem{"char_count", r.Stats.CharCount},
			pyItem{"last_char_line", r.Stats.LastCharLine},
			pyItem{"all_content_displayed", r.Stats.AllContentDisplayed},
		)},
		pyItem{"model_used", r.Model},
		pyItem{"tokens_used", r.Tokens},
	))
}

// scrapeFailure is the answer when the page could not be read at all:
// MiroThinker's short form, with empty scrape_stats and no model_used,
// since no model ran.
func scrapeFailure(url, msg string) string {
	return string(pyObject(
		pyItem{"success", false},
		pyItem{"url", url},
		pyItem{"extracted_info", ""},
		pyItem{"error", msg},
		pyItem{"scrape_stats", pyObject()},
		pyItem{"tokens_used", 0},
	))
}

// ScrapeResult reads a scrape_and_extract_info answer of either shape: the
// extracted information and whether the call succeeded. A reader that only
// has the text (the oracle, standing in for a model) needs no other rule.
func ScrapeResult(result string) (info string, ok bool) {
	s := strings.TrimSpace(result)
	if strings.HasPrefix(s, "{") {
		var r struct {
			Success       *bool  `json:"success"`
			ExtractedInfo string `json:"extracted_info"`
			Error         string `json:"error"`
		}
		if json.Unmarshal([]byte(s), &r) == nil && r.Success != nil {
			if !*r.Success {
				return r.Error, false
			}
			return r.ExtractedInfo, true
		}
	}
	if strings.HasPrefix(result, trajectory.ToolErrorPrefix) {
		return result, false
	}
	return result, true
}
