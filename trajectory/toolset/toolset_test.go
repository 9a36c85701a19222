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
		trajectory.ToolGoogleSearch: {[]string{"q", "gl", "hl", "num", "page", "tbs"}, "q"},
		trajectory.ToolScrape:       {[]string{"url", "info_to_extract"}, "url,info_to_extract"},
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
	tests := []struct {
		name      string
		corpus    *tooltest.Corpus
		extractor *tooltest.Extractor
		args      string
		want      string
		wantPage  string // the page section the extractor must have seen; "" when it must not be called
	}{
		{
			name: "extracts", corpus: tooltest.NewCorpus(), extractor: &tooltest.Extractor{},
			args:     `{"url":"https://demo.wiki/Ada_Lovelace","info_to_extract":"who she worked with"}`,
			want:     "EXTRACTED",
			wantPage: "# Ada Lovelace\n\nAda Lovelace was an English mathematician who worked with Charles Babbage on the Analytical Engine.",
		},
		{
			name: "page capped", corpus: long, extractor: &tooltest.Extractor{},
			args:     `{"url":"https://demo.wiki/Ada_Lovelace","info_to_extract":"anything"}`,
			want:     "EXTRACTED",
			wantPage: ("# Ada Lovelace\n\n" + strings.Repeat("a", toolset.MaxPageChars))[:toolset.MaxPageChars],
		},
		{
			name: "not found", corpus: tooltest.NewCorpus(), extractor: &tooltest.Extractor{},
			args: `{"url":"https://demo.wiki/Nope","info_to_extract":"x"}`,
			want: "[ERROR]: page not found: https://demo.wiki/Nope",
		},
		{
			name: "missing info", corpus: tooltest.NewCorpus(), extractor: &tooltest.Extractor{},
			args: `{"url":"https://demo.wiki/Ada_Lovelace"}`,
			want: "[ERROR]: scrape_and_extract_info needs a non-empty info_to_extract (what to look for on the page)",
		},
		{
			name: "extractor fails", corpus: tooltest.NewCorpus(), extractor: &tooltest.Extractor{Err: errors.New("boom with key=sk-abcdefgh1234")},
			args:     `{"url":"https://demo.wiki/Ada_Lovelace","info_to_extract":"x"}`,
			want:     "[ERROR]: extracting information from https://demo.wiki/Ada_Lovelace failed: boom with [REDACTED]",
			wantPage: "# Ada Lovelace\n\nAda Lovelace was an English mathematician who worked with Charles Babbage on the Analytical Engine.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := toolset.New(tt.corpus, tt.extractor)
			got := ts.Call(context.Background(), trajectory.ToolScrape, tt.args)
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if tt.wantPage == "" {
				if len(tt.extractor.Prompts()) != 0 {
					t.Errorf("extractor called %d times", len(tt.extractor.Prompts()))
				}
				return
			}
			if len(tt.extractor.Prompts()) != 1 {
				t.Fatalf("extractor called %d times, want 1", len(tt.extractor.Prompts()))
			}
			p := tt.extractor.Prompts()[0]
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

func TestScrapeWithoutExtractorReturnsPage(t *testing.T) {
	ts := toolset.New(tooltest.NewCorpus(), nil)
	got := ts.Call(context.Background(), trajectory.ToolScrape, `{"url":"https://demo.wiki/Charles_Babbage","info_to_extract":"x"}`)
	if !strings.HasPrefix(got, "# Charles Babbage\n\nCharles Babbage was") {
		t.Errorf("got %q", got)
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
