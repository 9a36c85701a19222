package shard

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Spec
		wantErr string
	}{
		{"0/4", Spec{0, 4}, ""},
		{" 3/4 ", Spec{3, 4}, ""},
		{"0/1", Whole(), ""},
		{"4/4", Spec{}, "index must lie in 0..3"},
		{"-1/4", Spec{}, "index must lie in 0..3"},
		{"0/0", Spec{}, "count must be at least 1"},
		{"2", Spec{}, "want I/N"},
		{"a/4", Spec{}, `index "a" is not a number`},
		{"1/b", Spec{}, `count "b" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			switch {
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Parse(%q) error %v, want one saying %q", tt.in, err, tt.wantErr)
			case tt.wantErr == "" && (err != nil || got != tt.want):
				t.Errorf("Parse(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		count   int
		want    Spec
		wantOK  bool
		wantErr string
	}{
		{"no scheduler", nil, 0, Whole(), false, ""},
		{"kubernetes index with --shards", map[string]string{EnvK8sIndex: "2"}, 4, Spec{2, 4}, true, ""},
		{"kubernetes index without a count", map[string]string{EnvK8sIndex: "2"}, 0, Spec{}, true, "pass --shards N"},
		{"kubernetes index out of range", map[string]string{EnvK8sIndex: "4"}, 4, Spec{}, true, "0..3"},
		{"slurm array", map[string]string{EnvSlurmTask: "1", EnvSlurmCount: "3"}, 0, Spec{1, 3}, true, ""},
		{"slurm array agreeing with --shards", map[string]string{EnvSlurmTask: "1", EnvSlurmCount: "3"}, 3, Spec{1, 3}, true, ""},
		{"slurm array against --shards", map[string]string{EnvSlurmTask: "1", EnvSlurmCount: "3"}, 4, Spec{}, true, "3 tasks but the run asks for 4"},
		{"slurm array from 1", map[string]string{EnvSlurmTask: "3", EnvSlurmCount: "3", EnvSlurmMin: "1"}, 0, Spec{2, 3}, true, ""},
		{"slurm task without an array count", map[string]string{EnvSlurmTask: "1"}, 0, Spec{}, true, "one job array"},
		{"kubernetes first", map[string]string{EnvK8sIndex: "0", EnvSlurmTask: "1", EnvSlurmCount: "3"}, 2, Spec{0, 2}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := FromEnv(func(k string) string { return tt.env[k] }, tt.count)
			if ok != tt.wantOK {
				t.Errorf("ok = %v, want %v", ok, tt.wantOK)
			}
			switch {
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one saying %q", err, tt.wantErr)
			case tt.wantErr == "" && (err != nil || got != tt.want):
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// The assignment is the documented SHA-256 rule, so that a row's shard can
// be recomputed outside Go (these values are Python hashlib's).
func TestOfIsTheDocumentedHash(t *testing.T) {
	tests := []struct {
		id       string
		of4, of7 int
	}{
		{"qa-0b1a234b8765f08a", 2, 4},
		{"ro-036fb0c44acefe65", 1, 5},
		{"walk-1", 2, 0},
		{"", 0, 1},
	}
	for _, tt := range tests {
		if got := Of(tt.id, 4); got != tt.of4 {
			t.Errorf("Of(%q, 4) = %d, want %d", tt.id, got, tt.of4)
		}
		if got := Of(tt.id, 7); got != tt.of7 {
			t.Errorf("Of(%q, 7) = %d, want %d", tt.id, got, tt.of7)
		}
	}
}

// Every item has exactly one owner among the shards, and the shards get
// about equal shares.
func TestShardsPartitionItems(t *testing.T) {
	const items, n = 40000, 4
	counts := make([]int, n)
	for i := range items {
		id := "qa-" + strconv.Itoa(i)
		owners := 0
		for k := range n {
			if (Spec{k, n}).Owns(id) {
				owners++
				counts[k]++
			}
		}
		if owners != 1 {
			t.Fatalf("%s has %d owners among %d shards", id, owners, n)
		}
		if !Whole().Owns(id) {
			t.Fatalf("the whole run does not own %s", id)
		}
	}
	// Binomial: sd = sqrt(items·p·(1-p)) ≈ 87 here; 5 sd is far from chance.
	sd := math.Sqrt(items * (1.0 / n) * (1 - 1.0/n))
	for k, c := range counts {
		if math.Abs(float64(c)-items/n) > 5*sd {
			t.Errorf("shard %d owns %d of %d items, want about %d", k, c, items, items/n)
		}
	}
}
