package pipeline

import (
	"maps"
	"testing"

	"github.com/miroverse/miroverse/qa/sample"
)

func TestSampleConfig(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string
		check   func(t *testing.T, c SampleConfig)
	}{
		{"defaults", "", "", func(t *testing.T, c SampleConfig) {
			if !c.Stratify || c.Hops != nil || c.AnswerTypes != nil || c.SeedPool != 0 {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{"mixes", "sample:\n  hops: {2: 0.5, 3: 0.3, 4: 0.2}\n  answer_types: {person: 1, place: 1}\n  seed_pool: 300\n", "",
			func(t *testing.T, c SampleConfig) {
				if !maps.Equal(c.Hops, map[int]float64{2: 0.5, 3: 0.3, 4: 0.2}) || !maps.Equal(c.AnswerTypes, map[string]float64{"person": 1, "place": 1}) {
					t.Errorf("mixes: %+v", c)
				}
				o := c.options(7, nil, nil)
				if o.Seed != 7 || o.SeedPool != 300 || !maps.Equal(o.HopMix, c.Hops) || !maps.Equal(o.AnswerMix, c.AnswerTypes) {
					t.Errorf("options: %+v", o)
				}
			}},
		{"unknown answer type", "sample:\n  answer_types: {vegetable: 1}\n", "unknown answer type", nil},
		{"zero hop", "sample:\n  hops: {0: 1}\n", "hop count 0", nil},
		{"negative weight", "sample:\n  hops: {2: -1}\n", "weight of 2", nil},
		{"answer types need strata", "sample:\n  stratify: false\n  answer_types: {person: 1}\n", "needs sample.stratify", nil},
		{"negative pool", "sample:\n  seed_pool: -5\n", "seed_pool", nil},
		{"share caps by default", "", "", func(t *testing.T, c SampleConfig) {
			o := c.options(1, nil, nil)
			if o.MaxNodeShare != DefaultMaxNodeShare || o.MaxAnswerShare != DefaultMaxAnswerShare {
				t.Errorf("default caps reach the sampler as %v, %v", o.MaxNodeShare, o.MaxAnswerShare)
			}
		}},
		{"share caps off", "sample:\n  max_node_share: 0\n  max_answer_share: 0\n", "", func(t *testing.T, c SampleConfig) {
			if o := c.options(1, nil, nil); o.MaxNodeShare != 0 || o.MaxAnswerShare != 0 {
				t.Errorf("caps turned off reach the sampler as %v, %v", o.MaxNodeShare, o.MaxAnswerShare)
			}
		}},
		{"node share above 1", "sample:\n  max_node_share: 1.5\n", "sample.max_node_share", nil},
		{"negative answer share", "sample:\n  max_answer_share: -0.1\n", "sample.max_answer_share", nil},
	}
	cases := make([]configCase, 0, len(tests))
	for _, tt := range tests {
		cc := configCase{name: tt.name, yaml: tt.yaml}
		if tt.wantErr != "" {
			cc.wantErr = []string{tt.wantErr}
		} else {
			cc.check = func(t *testing.T, c Config) { tt.check(t, c.Sample) }
		}
		cases = append(cases, cc)
	}
	runConfigCases(t, cases)
	if o := (SampleConfig{Stratify: false}).options(1, fakeDocSource{}, nil); o.Docs != nil {
		t.Error("an unstratified sample must not look documents up")
	}
	if o := (SampleConfig{Stratify: true}).options(1, fakeDocSource{}, nil); o.Docs == nil {
		t.Error("a stratified sample needs the document source")
	}
}

type fakeDocSource struct{ sample.DocSource }
