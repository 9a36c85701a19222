package pipeline

import (
	"testing"

	"github.com/miroverse/miroverse/trajectory"
)

func TestDifficultyBand(t *testing.T) {
	rollouts := func(correct, n int) []trajectory.Judged {
		js := make([]trajectory.Judged, n)
		for i := range correct {
			js[i].Verdict.Correct = true
		}
		return js
	}
	tests := []struct {
		name    string
		band    []float64
		correct int
		n       int
		wantWhy string
	}{
		{"default keeps a mixed question", nil, 2, 4, ""},
		{"default drops all correct at N=4", nil, 4, 4, "difficulty:too_easy"},
		{"default drops none correct at N=4", nil, 0, 4, "difficulty:too_hard"},
		{"default keeps all correct below N=4", nil, 3, 3, ""},
		{"default keeps none correct below N=4", nil, 0, 2, ""},
		{"band lower edge is inside", []float64{0.25, 0.75}, 1, 4, ""},
		{"band upper edge is inside", []float64{0.25, 0.75}, 3, 4, ""},
		{"below the band", []float64{0.3, 0.75}, 1, 4, "difficulty:too_hard"},
		{"above the band", []float64{0.25, 0.7}, 3, 4, "difficulty:too_easy"},
		{"explicit full band keeps everything", []float64{0, 1}, 4, 4, ""},
		{"no rollouts is not judged here", nil, 0, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &Runner{cfg: DefaultConfig()}
			r.cfg.Export.DifficultyBand = tc.band
			if got := r.outsideBand(rollouts(tc.correct, tc.n)); got != tc.wantWhy {
				t.Errorf("outsideBand(%d/%d, band %v) = %q, want %q", tc.correct, tc.n, tc.band, got, tc.wantWhy)
			}
		})
	}
}

func TestDifficultyBandValidated(t *testing.T) {
	for _, band := range [][]float64{{0.5}, {0.8, 0.2}, {-0.1, 0.5}, {0.2, 1.5}, {0.1, 0.2, 0.3}} {
		cfg := DefaultConfig()
		cfg.Export.DifficultyBand = band
		if err := cfg.Validate(); err == nil {
			t.Errorf("band %v accepted", band)
		}
	}
}
