package pipeline

import "testing"

func TestDifficultyBandValidated(t *testing.T) {
	for _, band := range [][]float64{{0.5}, {0.8, 0.2}, {-0.1, 0.5}, {0.2, 1.5}, {0.1, 0.2, 0.3}} {
		cfg := DefaultConfig()
		cfg.Export.DifficultyBand = band
		if err := cfg.Validate(); err == nil {
			t.Errorf("band %v accepted", band)
		}
	}
}
