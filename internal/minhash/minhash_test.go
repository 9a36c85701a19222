package minhash

import (
	"hash/fnv"
	"testing"
)

// The signature is the one qa/gates has always computed: FNV-64a per
// shingle, spelled out here with hash/fnv.
func TestFNVMatchesHashFNV(t *testing.T) {
	for _, s := range []string{"", "a", "paris", "Přerov", "東京の空"} {
		h := fnv.New64a()
		h.Write([]byte(s))
		if got, want := fnv64a([]byte(s)), h.Sum64(); got != want {
			t.Errorf("fnv64a(%q) = %x, want %x", s, got, want)
		}
	}
}

func TestIndex(t *testing.T) {
	base := "The Vltava is the longest river of the Czech Republic and flows through Prague to the Elbe at Melnik."
	tests := []struct {
		name string
		text string
		dup  bool
	}{
		{"the same text", base, true},
		{"one word changed", base[:len(base)-7] + "Mělník.", true},
		{"another text", "Gregor Mendel crossed thousands of pea plants in the abbey garden at Brno between 1856 and 1863.", false},
		{"no letters", "… — !!", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := New(0.8)
			ix.Add("base", base)
			sig, empty := Sign(tt.text)
			_, j, ok := ix.CheckAddSigned("x", sig)
			if empty {
				ok = false
			}
			if ok != tt.dup {
				t.Errorf("duplicate = %v (jaccard %.2f), want %v", ok, j, tt.dup)
			}
		})
	}
}
