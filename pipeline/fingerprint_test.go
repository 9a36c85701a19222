package pipeline

import (
	"testing"
	"time"
)

// Two types with the same fields under other names and in another order:
// what a rename or a reshuffle of a config section looks like to the
// fingerprint.
type judgeSection struct {
	F1Threshold float64 `json:"f1_threshold"`
	UseGrader   bool    `json:"use_grader"`
}

type renamedJudgeSection struct {
	UseGrader bool    `json:"use_grader"`
	Threshold float64 `json:"f1_threshold"`
}

func TestChainFingerprint(t *testing.T) {
	base := []any{judgeSection{F1Threshold: 0.8, UseGrader: true}, "grader-model", int64(1) << 60}
	want, err := chainFingerprint("upstream", base...)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		upstream string
		parts    []any
		same     bool
	}{
		{"same values", "upstream", base, true},
		{"type renamed, fields renamed and reordered, same keys and values", "upstream",
			[]any{renamedJudgeSection{UseGrader: true, Threshold: 0.8}, "grader-model", int64(1) << 60}, true},
		{"a map in place of the struct", "upstream",
			[]any{map[string]any{"use_grader": true, "f1_threshold": 0.8}, "grader-model", int64(1) << 60}, true},
		{"a changed value", "upstream", []any{judgeSection{F1Threshold: 0.7, UseGrader: true}, "grader-model", int64(1) << 60}, false},
		{"a changed flag", "upstream", []any{judgeSection{F1Threshold: 0.8}, "grader-model", int64(1) << 60}, false},
		{"a changed model", "upstream", []any{judgeSection{F1Threshold: 0.8, UseGrader: true}, "other-model", int64(1) << 60}, false},
		// float64 would round 2^60+1 to 2^60: numbers must keep every digit.
		{"a large integer off by one", "upstream", []any{judgeSection{F1Threshold: 0.8, UseGrader: true}, "grader-model", int64(1)<<60 + 1}, false},
		{"parts in another order", "upstream", []any{"grader-model", judgeSection{F1Threshold: 0.8, UseGrader: true}, int64(1) << 60}, false},
		{"another upstream", "other", base, false},
		{"no upstream", "", base, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := chainFingerprint(tc.upstream, tc.parts...)
			if err != nil {
				t.Fatal(err)
			}
			if (got == want) != tc.same {
				t.Errorf("fingerprint %s vs %s: equal %v, want %v", got, want, got == want, tc.same)
			}
		})
	}
}

// TestStageFingerprintsFollowConfigValues: a value of a stage's config
// section changes that stage's fingerprint; the fingerprint of a config
// read twice does not change.
func TestStageFingerprintsFollowConfigValues(t *testing.T) {
	tests := []struct {
		name   string
		parts  func(c Config) []any
		mutate func(c *Config)
	}{
		{"sample walks", func(c Config) []any { return []any{c.Sample, c.Seed} }, func(c *Config) { c.Sample.Walks++ }},
		{"sample hop mix", func(c Config) []any { return []any{c.Sample, c.Seed} }, func(c *Config) { c.Sample.Hops = map[int]float64{2: 1} }},
		{"sample node share", func(c Config) []any { return []any{c.Sample, c.Seed} }, func(c *Config) { c.Sample.MaxNodeShare = 0.2 }},
		{"sample answer share", func(c Config) []any { return []any{c.Sample, c.Seed} }, func(c *Config) { c.Sample.MaxAnswerShare = 0 }},
		{"seed", func(c Config) []any { return []any{c.Sample, c.Seed} }, func(c *Config) { c.Seed++ }},
		{"synthesize top_p", func(c Config) []any { return []any{c.Synthesize} }, func(c *Config) { c.Synthesize.TopP = 0.9 }},
		{"sandbox wall", func(c Config) []any { return []any{c.Synthesize} }, func(c *Config) { c.Synthesize.Sandbox.Wall = time.Minute }},
		{"sandbox lifetime", func(c Config) []any { return []any{c.Synthesize} }, func(c *Config) { c.Synthesize.Sandbox.Lifetime = time.Minute }},
		{"sandbox local files", func(c Config) []any { return []any{c.Synthesize} }, func(c *Config) { c.Synthesize.Sandbox.LocalFiles = "files" }},
		{"scrape result", func(c Config) []any { return []any{c.Synthesize} }, func(c *Config) { c.Synthesize.ScrapeResult = "text" }},
		{"python result", func(c Config) []any { return []any{c.Synthesize} }, func(c *Config) { c.Synthesize.PythonResult = "text" }},
		{"unknown arguments", func(c Config) []any { return []any{c.Synthesize} }, func(c *Config) { c.Synthesize.UnknownArguments = "ignore" }},
		{"verify gate", func(c Config) []any { return []any{c.QA.Verify} }, func(c *Config) { c.QA.Verify.MaskedHop = false }},
		{"export band", func(c Config) []any { return []any{c.Export} }, func(c *Config) { c.Export.DifficultyBand = []float64{0.2, 0.8} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			a, err := chainFingerprint("up", tc.parts(c)...)
			if err != nil {
				t.Fatal(err)
			}
			if again, _ := chainFingerprint("up", tc.parts(DefaultConfig())...); again != a {
				t.Fatalf("the same config gives %s and %s", a, again)
			}
			tc.mutate(&c)
			if b, _ := chainFingerprint("up", tc.parts(c)...); b == a {
				t.Errorf("changing %s leaves the fingerprint %s", tc.name, a)
			}
		})
	}
}
