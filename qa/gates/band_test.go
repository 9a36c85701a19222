package gates

import "testing"

func TestOutsideBand(t *testing.T) {
	tests := []struct {
		name    string
		band    []float64
		correct int
		n       int
		wantWhy string
	}{
		{"default keeps a mixed question", nil, 2, 4, ""},
		{"default drops all correct at N=4", nil, 4, 4, ReasonTooEasy},
		{"default drops none correct at N=4", nil, 0, 4, ReasonTooHard},
		{"default keeps all correct below N=4", nil, 3, 3, ""},
		{"default keeps none correct below N=4", nil, 0, 2, ""},
		{"band lower edge is inside", []float64{0.25, 0.75}, 1, 4, ""},
		{"band upper edge is inside", []float64{0.25, 0.75}, 3, 4, ""},
		{"below the band", []float64{0.3, 0.75}, 1, 4, ReasonTooHard},
		{"above the band", []float64{0.25, 0.7}, 3, 4, ReasonTooEasy},
		{"explicit full band keeps everything", []float64{0, 1}, 4, 4, ""},
		{"no rollouts is not judged here", nil, 0, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := OutsideBand(tc.correct, tc.n, tc.band); got != tc.wantWhy {
				t.Errorf("OutsideBand(%d, %d, %v) = %q, want %q", tc.correct, tc.n, tc.band, got, tc.wantWhy)
			}
		})
	}
}
