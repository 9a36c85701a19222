package qa

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestWalkID(t *testing.T) {
	sum := sha256.Sum256([]byte("a\x00b\x00c"))
	want := "walk-" + hex.EncodeToString(sum[:])[:16]
	if got := WalkID([]string{"a", "b", "c"}); got != want {
		t.Errorf("WalkID = %s, want %s", got, want)
	}
	// The separator keeps ["ab","c"] and ["a","bc"] apart.
	if WalkID([]string{"ab", "c"}) == WalkID([]string{"a", "bc"}) {
		t.Error("ids collide across a shifted boundary")
	}
}
