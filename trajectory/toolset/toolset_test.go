package toolset_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/internal/tooltest"
	"github.com/miroverse/miroverse/trajectory/toolset"
)

func TestSchemasJSON(t *testing.T) {
	ts := toolset.New(tooltest.NewCorpus(), nil)
	got := ts.SchemasJSON()
	if again := ts.SchemasJSON(); again != got {
		t.Fatalf("SchemasJSON is not deterministic")
	}
	if !strings.HasPrefix(got, `[{"type":"function","function":{"name":"google_search","description":`) {
		t.Fatalf("unexpected layout: %.120s", got)
	}
	var tools []struct {
		Type     string `json:"type"`
		Function struct {
			Name       string `json:"name"`
			Parameters struct {
				Type       string                     `json:"type"`
				Properties map[string]json.RawMessage `json:"properties"`
				Required   []string                   `json:"required"`
			} `json:"parameters"`
		} `json:"function"`
	}
	if err := json.Unmarshal([]byte(got), &tools); err != nil {
		t.Fatalf("SchemasJSON is not JSON: %v", err)
	}
	want := map[string]struct {
		props    []string
		required string
	}{
		trajectory.ToolGoogleSearch: {[]string{"q", "gl", "hl", "num", "page", "tbs", "location", "autocorrect"}, "q"},
		trajectory.ToolScrape:       {[]string{"url", "info_to_extract", "custom_headers"}, "url,info_to_extract"},
	}
	if len(tools) != len(want) {
		t.Fatalf("got %d tools, want %d", len(tools), len(want))
	}
	for _, tool := range tools {
		w, ok := want[tool.Function.Name]
		if !ok || tool.Type != "function" || tool.Function.Parameters.Type != "object" {
			t.Errorf("unexpected tool %+v", tool)
			continue
		}
		for _, p := range w.props {
			if _, ok := tool.Function.Parameters.Properties[p]; !ok {
				t.Errorf("%s: no property %s", tool.Function.Name, p)
			}
		}
		if r := strings.Join(tool.Function.Parameters.Required, ","); r != w.required {
			t.Errorf("%s: required %s, want %s", tool.Function.Name, r, w.required)
		}
	}
	if n := len(ts.Schemas()); n != 2 {
		t.Errorf("Schemas: %d tools", n)
	}
}

func TestGoogleSearch(t *testing.T) {
	tests := []struct {
		name string
		args string
		want string // exact output, or a prefix when wantPrefix
		pre  bool
	}{
		{
			name: "defaults",
			args: `{"q":"analytical engine"}`,
			want: `{"organic":[` +
				`{"title":"Ada Lovelace","link":"https://demo.wiki/Ada_Lovelace","snippet":"Ada Lovelace was an English mathematicia","position":1},` +
				`{"title":"Analytical Engine","link":"https://demo.wiki/Analytical_Engine","snippet":"The Analytical Engine was a proposed mec","position":2},` +
				`{"title":"Charles Babbage","link":"https://demo.wiki/Charles_Babbage","snippet":"Charles Babbage was an English polymath ","position":3}],` +
				`"searchParameters":{"q":"analytical engine","gl":"us","hl":"en","num":10,"page":1,"type":"search","engine":"miroverse-corpus"}}`,
		},
		{
			name: "second page, quoted number, tbs echoed",
			args: `{"q":"analytical engine","num":"2","page":2,"gl":"GB","tbs":"qdr:y"}`,
			want: `{"organic":[{"title":"Charles Babbage","link":"https://demo.wiki/Charles_Babbage","snippet":"Charles Babbage was an English polymath ","position":1}],` +
				`"searchParameters":{"q":"analytical engine","gl":"gb","hl":"en","num":2,"page":2,"tbs":"qdr:y","type":"search","engine":"miroverse-corpus"}}`,
		},
		{
			name: "no hits is an empty list, not null",
			args: `{"q":"zebra","num":500}`,
			want: `{"organic":[],"searchParameters":{"q":"zebra","gl":"us","hl":"en","num":100,"page":1,"type":"search","engine":"miroverse-corpus"}}`,
		},
		{name: "empty q", args: `{"q":"  "}`, want: "[ERROR]: google_search needs a non-empty q", pre: true},
		{name: "missing arguments", args: ``, want: "[ERROR]: google_search needs a non-empty q", pre: true},
		{name: "bad JSON", args: `{"q":`, want: "[ERROR]: invalid arguments for google_search: arguments are not valid JSON", pre: true},
		{name: "not an object", args: `["x"]`, want: "[ERROR]: invalid arguments for google_search: arguments must be a JSON object", pre: true},
		{name: "bad num", args: `{"q":"x","num":"ten"}`, want: "[ERROR]: invalid arguments for google_search", pre: true},
		{
			name: "location and autocorrect echoed as Serper does",
			args: `{"q":"zebra","location":" Austin, Texas, United States ","autocorrect":false}`,
			want: `{"organic":[],"searchParameters":{"q":"zebra","gl":"us","hl":"en","location":"Austin, Texas, United States","num":10,"page":1,"autocorrect":false,"type":"search","engine":"miroverse-corpus"}}`,
		},
		{
			name: "autocorrect in pydantic's lax forms",
			args: `{"q":"zebra","autocorrect":"yes"}`,
			want: `{"organic":[],"searchParameters":{"q":"zebra","gl":"us","hl":"en","num":10,"page":1,"autocorrect":true,"type":"search","engine":"miroverse-corpus"}}`,
		},
		{name: "bad autocorrect", args: `{"q":"x","autocorrect":"maybe"}`, want: "[ERROR]: invalid arguments for google_search", pre: true},
		{
			name: "unknown arguments are dropped, as MiroThinker's search server drops them",
			args: `{"q":"zebra","safe":"active"}`,
			want: `{"organic":[],"searchParameters":{"q":"zebra","gl":"us","hl":"en","num":10,"page":1,"type":"search","engine":"miroverse-corpus"}}`,
		},
	}
	ts := toolset.New(tooltest.NewCorpus(), nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ts.Call(context.Background(), trajectory.ToolGoogleSearch, tt.args)
			if tt.pre && !strings.HasPrefix(got, tt.want) || !tt.pre && got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestSearchDoesNotEscapeHTML(t *testing.T) {
	ts := toolset.New(tooltest.NewCorpus(), nil)
	got := ts.Call(context.Background(), trajectory.ToolGoogleSearch, `{"q":"R&D <x>"}`)
	if !strings.Contains(got, `"q":"R&D <x>"`) {
		t.Errorf("query was escaped: %s", got)
	}
}

func TestScrapeAndExtract(t *testing.T) {
	long := tooltest.NewCorpus()
	long.Docs[0].Text = strings.Repeat("a", toolset.MaxPageChars+500)
	adaPage := "# Ada Lovelace\n\nAda Lovelace was an English mathematician who worked with Charles Babbage on the Analytical Engine."
	tests := []struct {
		name      string
		corpus    *tooltest.Corpus
		extractor *tooltest.Extractor
		args      string
		want      string // with the default options (JSON)
		wantText  string // with ScrapeText
		wantPage  string // the page section the extractor must have seen; "" when it must not be called
	}{
		{
			name: "extracts", corpus: tooltest.NewCorpus(), extractor: &tooltest.Extractor{Tokens: 321},
			args: `{"url":"https://demo.wiki/Ada_Lovelace","info_to_extract":"who she worked with"}`,
			want: `{"success": true, "url": "https://demo.wiki/Ada_Lovelace", "extracted_info": "EXTRACTED", "error": "", ` +
				`"scrape_stats": {"line_count": 3, "char_count": 115, "last_char_line": 3, "all_content_displayed": true}, ` +
				`"model_used": "extractor", "tokens_used": 321}`,
			wantText: "EXTRACTED",
			wantPage: adaPage,
		},
		{
			name: "page capped", corpus: long, extractor: &tooltest.Extractor{},
			args: `{"url":"https://demo.wiki/Ada_Lovelace","info_to_extract":"anything"}`,
			want: `{"success": true, "url": "https://demo.wiki/Ada_Lovelace", "extracted_info": "EXTRACTED", "error": "", ` +
				`"scrape_stats": {"line_count": 3, "char_count": 410116, "last_char_line": 3, "all_content_displayed": false}, ` +
				`"model_used": "extractor", "tokens_used": 0}`,
			wantText: "EXTRACTED",
			wantPage: ("# Ada Lovelace\n\n" + strings.Repeat("a", toolset.MaxPageChars))[:toolset.MaxPageChars],
		},
		{
			name: "not found", corpus: tooltest.NewCorpus(), extractor: &tooltest.Extractor{},
			args: `{"url":"https://demo.wiki/Nope","info_to_extract":"x","custom_headers":{"Accept-Language":"fr"}}`,
			want: `{"success": false, "url": "https://demo.wiki/Nope", "extracted_info": "", ` +
				`"error": "Scraping failed: page not found: https://demo.wiki/Nope", "scrape_stats": {}, "tokens_used": 0}`,
			wantText: "[ERROR]: page not found: https://demo.wiki/Nope",
		},
		{
			name: "missing info", corpus: tooltest.NewCorpus(), extractor: &tooltest.Extractor{},
			args:     `{"url":"https://demo.wiki/Ada_Lovelace"}`,
			want:     "[ERROR]: scrape_and_extract_info needs a non-empty info_to_extract (what to look for on the page)",
			wantText: "[ERROR]: scrape_and_extract_info needs a non-empty info_to_extract (what to look for on the page)",
		},
		{
			name: "custom_headers must be an object of strings", corpus: tooltest.NewCorpus(), extractor: &tooltest.Extractor{},
			args:     `{"url":"https://demo.wiki/Ada_Lovelace","info_to_extract":"x","custom_headers":"X-A: b"}`,
			want:     "[ERROR]: invalid arguments for scrape_and_extract_info: arguments are not valid JSON: json: cannot unmarshal string into Go struct field scrapeArgs.custom_headers of type map[string]string",
			wantText: "[ERROR]: invalid arguments for scrape_and_extract_info: arguments are not valid JSON: json: cannot unmarshal string into Go struct field scrapeArgs.custom_headers of type map[string]string",
		},
		{
			name: "extractor fails", corpus: tooltest.NewCorpus(), extractor: &tooltest.Extractor{Err: errors.New("boom with key=sk-abcdefgh1234")},
			args: `{"url":"https://demo.wiki/Ada_Lovelace","info_to_extract":"x"}`,
			want: `{"success": false, "url": "https://demo.wiki/Ada_Lovelace", "extracted_info": "", ` +
				`"error": "extracting information from https://demo.wiki/Ada_Lovelace failed: boom with [REDACTED]", ` +
				`"scrape_stats": {"line_count": 3, "char_count": 115, "last_char_line": 3, "all_content_displayed": true}, ` +
				`"model_used": "extractor", "tokens_used": 0}`,
			wantText: "[ERROR]: extracting information from https://demo.wiki/Ada_Lovelace failed: boom with [REDACTED]",
			wantPage: adaPage,
		},
	}
	for _, tt := range tests {
		for _, mode := range []string{toolset.ScrapeJSON, toolset.ScrapeText} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				ex := &tooltest.Extractor{Err: tt.extractor.Err, Tokens: tt.extractor.Tokens}
				ts := toolset.New(tt.corpus, ex).WithOptions(toolset.Options{ScrapeResult: mode})
				got := ts.Call(context.Background(), trajectory.ToolScrape, tt.args)
				want := tt.want
				if mode == toolset.ScrapeText {
					want = tt.wantText
				}
				if got != want {
					t.Errorf("got  %s\nwant %s", got, want)
				}
				if failed := strings.Contains(tt.name, "fail") || strings.Contains(tt.name, "not found") || strings.HasPrefix(want, "[ERROR]:"); trajectory.IsToolError(got) != failed {
					t.Errorf("IsToolError = %v, want %v", !failed, failed)
				}
				if mode == toolset.ScrapeJSON && strings.HasPrefix(got, "{") {
					var v map[string]any
					if err := json.Unmarshal([]byte(got), &v); err != nil {
						t.Errorf("not JSON: %v", err)
					}
				}
				if tt.wantPage == "" {
					if len(ex.Prompts()) != 0 {
						t.Errorf("extractor called %d times", len(ex.Prompts()))
					}
					return
				}
				if len(ex.Prompts()) != 1 {
					t.Fatalf("extractor called %d times, want 1", len(ex.Prompts()))
				}
				p := ex.Prompts()[0]
				var info string
				_ = json.Unmarshal([]byte(tt.args), &struct {
					Info *string `json:"info_to_extract"`
				}{&info})
				gotInfo, gotPage, ok := toolset.ReadExtractorPrompt(p)
				if !ok || gotInfo != strings.TrimSpace(info) || gotPage != strings.TrimSpace(tt.wantPage) || strings.HasPrefix(p, "\n") {
					t.Errorf("extractor prompt does not follow the contract:\n%.300s", p)
				}
				if p != toolset.ExtractorPrompt(info, tt.wantPage) {
					t.Errorf("prompt differs from ExtractorPrompt")
				}
			})
		}
	}
}

func TestScrapeWithoutExtractorReturnsPage(t *testing.T) {
	page := "# Charles Babbage\n\nCharles Babbage was an English polymath who designed the Analytical Engine."
	for _, tt := range []struct{ mode, want string }{
		{toolset.ScrapeText, page},
		{toolset.ScrapeJSON, `{"success": true, "url": "https://demo.wiki/Charles_Babbage", "extracted_info": "# Charles Babbage\n\nCharles Babbage was an English polymath who designed the Analytical Engine.", "error": "", ` +
			`"scrape_stats": {"line_count": 3, "char_count": 94, "last_char_line": 3, "all_content_displayed": true}, "model_used": "", "tokens_used": 0}`},
	} {
		ts := toolset.New(tooltest.NewCorpus(), nil).WithOptions(toolset.Options{ScrapeResult: tt.mode})
		got := ts.Call(context.Background(), trajectory.ToolScrape, `{"url":"https://demo.wiki/Charles_Babbage","info_to_extract":"x"}`)
		if got != tt.want {
			t.Errorf("%s: got %q", tt.mode, got)
		}
		if info, ok := toolset.ScrapeResult(got); !ok || info != page {
			t.Errorf("%s: ScrapeResult = %q, %v", tt.mode, info, ok)
		}
	}
}

func TestScrapeResult(t *testing.T) {
	for _, tt := range []struct {
		result, info string
		ok           bool
	}{
		{`{"success": true, "url": "u", "extracted_info": "facts", "error": ""}`, "facts", true},
		{`{"success": false, "url": "u", "extracted_info": "", "error": "Scraping failed: x", "scrape_stats": {}, "tokens_used": 0}`, "Scraping failed: x", false},
		{"plain facts", "plain facts", true},
		{"[ERROR]: page not found: u", "[ERROR]: page not found: u", false},
		{`{"a": 1}`, `{"a": 1}`, true}, // extracted text that happens to be JSON
	} {
		if info, ok := toolset.ScrapeResult(tt.result); info != tt.info || ok != tt.ok {
			t.Errorf("ScrapeResult(%q) = %q, %v; want %q, %v", tt.result, info, ok, tt.info, tt.ok)
		}
	}
}

func TestCallErrors(t *testing.T) {
	ts := toolset.New(tooltest.NewCorpus(), nil)
	for _, tt := range []struct{ name, tool, want string }{
		{"unknown", "browse", `[ERROR]: unknown tool "browse"`},
		{"empty", "", "[ERROR]: no tool name given"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ts.Call(context.Background(), tt.tool, `{}`); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got %q", got)
			}
		})
	}
}
