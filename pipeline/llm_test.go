package pipeline

import (
	"strings"
	"testing"
	"time"

	"github.com/miroverse/miroverse/pipeline/oracle"
)

func TestOracleFaultConfig(t *testing.T) {
	tests := []struct {
		name       string
		mutate     func(c *Config)
		wantRate   float64
		wantStreak int
		wantErr    string
	}{
		{"off by default", func(*Config) {}, 0, oracle.DefaultMaxStreak, ""},
		{"rate and kinds", func(c *Config) {
			c.LLM.Oracle.FaultRate = 0.2
			c.LLM.Oracle.FaultKinds = []string{"429", "reset"}
		}, 0.2, oracle.DefaultMaxStreak, ""},
		{"streak within the smallest retry budget on the oracle", func(c *Config) {
			c.LLM.Oracle.FaultRate = 0.2
			c.LLM.Roles = map[string]EndpointConfig{"writer": {MaxRetries: 1}}
		}, 0.2, 1, ""},
		{"a role on another endpoint does not count", func(c *Config) {
			c.LLM.Oracle.FaultRate = 0.2
			c.LLM.Roles = map[string]EndpointConfig{"writer": {BaseURL: "http://127.0.0.1:1/v1", MaxRetries: 1}}
		}, 0.2, oracle.DefaultMaxStreak, ""},
		{"no retries, no faults", func(c *Config) {
			c.LLM.Oracle.FaultRate = 0.2
			c.LLM.Default.MaxRetries = 0
		}, 0, 0, ""},
		{"rate above 1", func(c *Config) { c.LLM.Oracle.FaultRate = 1.5 }, 0, 0, "fault rate"},
		{"unknown kind", func(c *Config) { c.LLM.Oracle.FaultKinds = []string{"teapot"} }, 0, 0, "fault_kinds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mutate(&c)
			f, err := c.faults()
			if verr := c.Validate(); (verr != nil) != (tc.wantErr != "") {
				t.Errorf("Validate: %v", verr)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one about %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Rate != tc.wantRate || f.MaxStreak != tc.wantStreak || f.Seed != c.Seed || f.Hang != oracle.DefaultFaultHang {
				t.Errorf("faults %+v, want rate %v streak %d", f, tc.wantRate, tc.wantStreak)
			}
		})
	}
}

func TestApplyEnvOracleFaultRate(t *testing.T) {
	env := func(v string, set bool) func(string) (string, bool) {
		return func(name string) (string, bool) {
			if name == EnvOracleFaultRate {
				return v, set
			}
			return "", false
		}
	}
	c := DefaultConfig()
	c.LLM.Oracle.FaultRate = 0.1
	if err := c.ApplyEnv(env("", false)); err != nil || c.LLM.Oracle.FaultRate != 0.1 {
		t.Errorf("unset variable changed the rate: %v %v", c.LLM.Oracle.FaultRate, err)
	}
	if err := c.ApplyEnv(env(" 0.25 ", true)); err != nil || c.LLM.Oracle.FaultRate != 0.25 {
		t.Errorf("variable over config: %v %v", c.LLM.Oracle.FaultRate, err)
	}
	for _, bad := range []string{"abc", "-0.1", "2"} {
		if err := c.ApplyEnv(env(bad, true)); err == nil || !strings.Contains(err.Error(), EnvOracleFaultRate) {
			t.Errorf("%q: err %v, want one naming %s", bad, err, EnvOracleFaultRate)
		}
	}
}

// TestLLMClientsShareEndpointLimiter: roles on one endpoint share one
// limiter whose ceiling is their largest concurrency; a role elsewhere has
// its own.
func TestLLMClientsShareEndpointLimiter(t *testing.T) {
	c := DefaultConfig()
	c.LLM.Default.Concurrency = 8
	c.LLM.Roles = map[string]EndpointConfig{
		"writer": {Concurrency: 12},
		"grader": {BaseURL: "http://127.0.0.1:1/v1", Concurrency: 3, Timeout: time.Second},
	}
	r, err := Open(t.Context(), c, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, role := range []string{"agent", "writer", "extractor", "grader"} {
		if _, err := r.client(t.Context(), role); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
	}
	if len(r.limiters) != 2 {
		t.Fatalf("%d limiters, want 2 (oracle, grader's endpoint)", len(r.limiters))
	}
	for key, l := range r.limiters {
		want := 12
		if strings.HasPrefix(key, "http://127.0.0.1:1/v1") {
			want = 3
		}
		if l.Max() != want || l.Limit() != want {
			t.Errorf("limiter %q: max %d limit %d, want %d", key, l.Max(), l.Limit(), want)
		}
	}
}
