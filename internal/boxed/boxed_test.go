package boxed

import "testing"

func TestLast(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{`The answer is \boxed{Paris}.`, "Paris", true},
		{`\boxed{\frac{1}{2}}`, `\frac{1}{2}`, true},
		{`\boxed{a{b{c}d}e}`, "a{b{c}d}e", true},
		{`first \boxed{Rome} then \boxed{Paris}`, "Paris", true},
		{`\boxed {Ada Lovelace}`, "Ada Lovelace", true},
		{"\\boxed\n{ spaced }", "spaced", true},
		{`\boxed{\{1, 2\}}`, `\{1, 2\}`, true},
		{`\boxed{a \} b}`, `a \} b`, true},
		{`\boxed{Paris} and I use \boxed for answers`, "Paris", true},
		{`\boxed{Paris} then \boxed{unbalanced`, "", false},
		{`\boxed{\frac{1}{2}`, "", false},
		{`no box here`, "", false},
		{`\boxed{}`, "", false},
		{`\boxed{ ? }`, "", false},
		{`\boxed{Unknown}`, "", false},
		{`\boxed{...}`, "", false},
		{`\boxed{N/A}`, "", false},
		{`\boxed{none of them}`, "none of them", true},
		{`\boxed{日本}`, "日本", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := Last(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("LastBoxed(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}
