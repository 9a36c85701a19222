package main

import (
	"math"
	"testing"
)

func TestFitLogLog(t *testing.T) {
	for _, tc := range []struct {
		name   string
		xs, ys []float64
		b      float64
		ok     bool
	}{
		{"linear", []float64{1e4, 1e5, 1e6}, []float64{2, 20, 200}, 1, true},
		{"quadratic", []float64{10, 100}, []float64{3, 300}, 2, true},
		{"constant", []float64{1e4, 1e5, 1e6}, []float64{5, 5, 5}, 0, true},
		{"noisy near 1.5", []float64{1e4, 1e5, 1e6}, []float64{1, 33, 1000}, 1.5, true},
		{"one point", []float64{1e4}, []float64{2}, 0, false},
		{"zeros are left out", []float64{1e4, 1e5}, []float64{0, 3}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := fitLogLog(tc.xs, tc.ys)
			if f.ok != tc.ok || (f.ok && math.Abs(f.b-tc.b) > 0.01) {
				t.Fatalf("fit = %+v, want exponent %v (ok %v)", f, tc.b, tc.ok)
			}
			if f.ok && tc.name == "linear" && math.Abs(f.at(6.9e6)-1380) > 1 {
				t.Errorf("linear fit at 6.9M = %v, want 1380", f.at(6.9e6))
			}
		})
	}
}

func TestParseSizes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int64
		err  bool
	}{
		{"10k,100k,1M", []int64{10_000, 100_000, 1_000_000}, false},
		{"2.5k, 20000", []int64{2500, 20_000}, false},
		{"0", nil, true},
		{"lots", nil, true},
		{"100M", nil, true}, // beyond gendump.MaxArticles
	} {
		got, err := parseSizes(tc.in)
		if (err != nil) != tc.err || len(got) != len(tc.want) {
			t.Errorf("parseSizes(%q) = %v, %v", tc.in, got, err)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("parseSizes(%q) = %v, want %v", tc.in, got, tc.want)
			}
		}
	}
}

func TestQuantileAndLabel(t *testing.T) {
	sorted := make([]float64, 100)
	for i := range sorted {
		sorted[i] = float64(i + 1)
	}
	if q := quantile(sorted, 0.5); q != 50 {
		t.Errorf("p50 of 1..100 = %v", q)
	}
	if q := quantile(sorted, 0.99); q != 99 {
		t.Errorf("p99 of 1..100 = %v", q)
	}
	for n, want := range map[int64]string{10_000: "10k", 100_000: "100k", 1_000_000: "1M", 2_500: "2.5k", 20_000: "20k", 999: "999"} {
		if got := label(n); got != want {
			t.Errorf("label(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestLogSeconds(t *testing.T) {
	stderr := "ingest x.bz2 10 items/s\n" +
		`{"time":"t","level":"INFO","msg":"ingest read done","seconds":3.5}` + "\n" +
		`{"time":"t","level":"INFO","msg":"links resolved","seconds":1.25}` + "\n"
	if got := logSeconds(stderr, "links resolved"); got != 1.25 {
		t.Errorf("links resolved: %v", got)
	}
	if got := logSeconds(stderr, "ingest read done"); got != 3.5 {
		t.Errorf("read: %v", got)
	}
	if got := logSeconds(stderr, "absent"); got != 0 {
		t.Errorf("absent: %v", got)
	}
}
