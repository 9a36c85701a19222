package jsonid

import (
	"encoding/json"
	"testing"
)

func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"5a8b57f25542995d1e6f1371"`, "5a8b57f25542995d1e6f1371"},
		{`7`, "7"},
		{`""`, ""},
		{`null`, ""},
		{``, ""},
	}
	for _, tt := range tests {
		if got := Text(json.RawMessage(tt.in)); got != tt.want {
			t.Errorf("Text(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
