package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// configCase is one YAML file and what loading it must give: an error
// naming every wantErr substring (and the file), or a Config that check
// accepts.
type configCase struct {
	name    string
	yaml    string
	wantErr []string
	check   func(t *testing.T, c Config)
}

// runConfigCases loads each case's YAML from a file, as users do.
func runConfigCases(t *testing.T, tests []configCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := LoadConfig(p)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range append(tc.wantErr, p) {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestLoadConfig(t *testing.T) {
	runConfigCases(t, []configCase{
		{name: "empty file is all defaults", yaml: "", check: func(t *testing.T, c Config) {
			if c.Synthesize.Rollouts != 4 || c.Synthesize.KeepToolResults != 5 || c.Synthesize.TopP != 0.95 {
				t.Errorf("defaults not applied: %+v", c.Synthesize)
			}
		}},
		{name: "override keeps other defaults", yaml: "synthesize:\n  rollouts: 8\n", check: func(t *testing.T, c Config) {
			if c.Synthesize.Rollouts != 8 || c.Synthesize.MaxTurns != 600 {
				t.Errorf("got %+v", c.Synthesize)
			}
		}},
		{name: "unknown top-level key", yaml: "seed: 1\nworkerz: 3\n", wantErr: []string{"line 2", `"workerz"`, "top level"}},
		{name: "unknown nested key", yaml: "llm:\n  default:\n    base_ur: x\n", wantErr: []string{"line 3", `"base_ur"`, "Endpoint section"}},
		{name: "bad mode", yaml: "synthesize:\n  mode: xml\n", wantErr: []string{"synthesize.mode", "xml"}},
		{name: "bad hops", yaml: "sample:\n  min_hops: 5\n  max_hops: 2\n", wantErr: []string{"min_hops"}},
		{name: "memory budget", yaml: "memory_budget: 8GiB\n", check: func(t *testing.T, c Config) {
			if c.MemoryBudget != "8GiB" {
				t.Errorf("memory_budget %q", c.MemoryBudget)
			}
		}},
		{name: "bad memory budget", yaml: "memory_budget: 8 gigs\n", wantErr: []string{"memory_budget", "8 gigs"}},
		{name: "memory budget too small", yaml: "memory_budget: 16MiB\n", wantErr: []string{"memory_budget", "16MiB", "96 MiB"}},
		{name: "memory budget too small for the pages", yaml: "memory_budget: 128MiB\n",
			wantErr: []string{"memory_budget 128 MiB", "input.max_page_size", "raise memory_budget"}},
		{name: "330MiB holds the default pages", yaml: "memory_budget: 330MiB\n", check: func(t *testing.T, c Config) {
			if got := c.reader().MemoryBudget; got == "" {
				t.Error("the reader got no share of memory_budget")
			}
		}},
		{name: "320MiB does not", yaml: "memory_budget: 320MiB\n", wantErr: []string{"memory_budget 320 MiB", "input.max_page_size"}},
		{name: "small memory budget, small pages", yaml: "memory_budget: 144MiB\ninput:\n  max_page_size: 4MiB\n", check: func(t *testing.T, c Config) {
			if got := c.reader().MemoryBudget; got == "" {
				t.Error("the reader got no share of memory_budget")
			}
		}},
		{name: "unknown role", yaml: "llm:\n  roles:\n    planner: {model: x}\n", wantErr: []string{`"planner"`}},
		{name: "duration", yaml: "llm:\n  default:\n    timeout: 90s\n", check: func(t *testing.T, c Config) {
			if c.LLM.Default.Timeout.Seconds() != 90 {
				t.Errorf("timeout %v", c.LLM.Default.Timeout)
			}
		}},
	})
}

func TestShippedConfigsLoad(t *testing.T) {
	files, _ := filepath.Glob("../configs/*.yaml")
	if len(files) < 2 {
		t.Fatalf("configs missing: %v", files)
	}
	for _, f := range files {
		if _, err := LoadConfig(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestEndpointRoleOverride(t *testing.T) {
	c := DefaultConfig()
	c.LLM.Roles = map[string]EndpointConfig{"writer": {BaseURL: "http://w/v1", Model: "big"}}
	if ep := c.Endpoint("writer"); ep.BaseURL != "http://w/v1" || ep.Model != "big" || ep.MaxRetries != c.LLM.Default.MaxRetries {
		t.Errorf("writer endpoint %+v", ep)
	}
	if ep := c.Endpoint("agent"); ep.BaseURL != "" || ep.Model != "oracle" {
		t.Errorf("agent endpoint %+v", ep)
	}
	t.Setenv("MIROVERSE_LLM_API_KEY", "all")
	t.Setenv("MIROVERSE_LLM_API_KEY_GRADER", "grader-only")
	if c.APIKey("agent") != "all" || c.APIKey("grader") != "grader-only" {
		t.Errorf("keys: agent %q grader %q", c.APIKey("agent"), c.APIKey("grader"))
	}
}

// TestEndpointReplyLimits: every role sends a reply limit, its own default
// unless the config sets one, and the interop choices default to what
// llama.cpp's server needs.
func TestEndpointReplyLimits(t *testing.T) {
	c := DefaultConfig()
	c.LLM.Default.MaxTokens = 0
	c.LLM.Roles = map[string]EndpointConfig{"grader": {MaxTokens: 64, TokenLimitField: "max_completion_tokens", ToolChoice: "omit"}}
	for _, tt := range []struct {
		role             string
		max              int
		field, toolChoce string
	}{
		{"writer", 4096, "both", "auto"},
		{"verifier", 1024, "both", "auto"},
		{"decontam", 512, "both", "auto"},
		{"grader", 64, "max_completion_tokens", "omit"},
	} {
		ep := c.Endpoint(tt.role)
		if ep.MaxTokens != tt.max || ep.TokenLimitField != tt.field || ep.ToolChoice != tt.toolChoce {
			t.Errorf("%s: max_tokens %d, token_limit_field %q, tool_choice %q; want %d, %q, %q", tt.role, ep.MaxTokens, ep.TokenLimitField, ep.ToolChoice, tt.max, tt.field, tt.toolChoce)
		}
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	c.LLM.Roles["writer"] = EndpointConfig{TokenLimitField: "max_new_tokens", ToolChoice: "sometimes"}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), `role writer): token_limit_field "max_new_tokens"`) || !strings.Contains(err.Error(), `tool_choice "sometimes"`) {
		t.Errorf("bad interop choices: %v", err)
	}
}
