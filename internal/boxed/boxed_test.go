package boxed

import "testing"

// The rows are a transcription of the two rules: MiroThinker's (its
// output formatter's box extraction) and the strict one, on the same texts.
func TestLast(t *testing.T) {
	type want struct {
		ans string
		ok  bool
	}
	tests := []struct {
		in           string
		miro, strict want
	}{
		{`The answer is \boxed{Paris}.`, want{"Paris", true}, want{"Paris", true}},
		{`\boxed{\frac{1}{2}}`, want{`\frac{1}{2}`, true}, want{`\frac{1}{2}`, true}},
		{`\boxed{a{b{c}d}e}`, want{"a{b{c}d}e", true}, want{"a{b{c}d}e", true}},
		{`first \boxed{Rome} then \boxed{Paris}`, want{"Paris", true}, want{"Paris", true}},
		{`\boxed {Ada Lovelace}`, want{"Ada Lovelace", true}, want{"Ada Lovelace", true}},
		{"\\boxed\n{ spaced }", want{"spaced", true}, want{"spaced", true}},
		{`\boxed{\{1, 2\}}`, want{`\{1, 2\}`, true}, want{`\{1, 2\}`, true}},
		{`\boxed{a \} b}`, want{`a \} b`, true}, want{`a \} b`, true}},
		{`\boxed{Paris} and I use \boxed for answers`, want{"Paris", true}, want{"Paris", true}},
		{`\boxedfoo{x} but \boxed{y}`, want{"y", true}, want{"y", true}},
		{`\boxedfoo{x}`, want{"", false}, want{"", false}},
		// An unclosed last box: MiroThinker reads it to the end of the text.
		{`\boxed{Paris} then \boxed{unbalanced`, want{"unbalanced", true}, want{"", false}},
		{`\boxed{\frac{1}{2}`, want{`\frac{1}{2}`, true}, want{"", false}},
		{"\\boxed{Marie Curie, who\nwon twice", want{"Marie Curie, who\nwon twice", true}, want{"", false}},
		// A box inside a box: MiroThinker scans forward and takes the outer.
		{`\boxed{\boxed{x}}`, want{`\boxed{x}`, true}, want{"x", true}},
		{`no box here`, want{"", false}, want{"", false}},
		{`\boxed{}`, want{"", false}, want{"", false}},
		// MiroThinker's placeholders are exact and case-sensitive, compared
		// before trimming.
		{`\boxed{?}`, want{"", false}, want{"", false}},
		{`\boxed{???}`, want{"", false}, want{"", false}},
		{`\boxed{？}`, want{"", false}, want{"", false}},
		{`\boxed{……}`, want{"", false}, want{"", false}},
		{`\boxed{...}`, want{"", false}, want{"", false}},
		{`\boxed{unknown}`, want{"", false}, want{"", false}},
		{`\boxed{ ? }`, want{"?", true}, want{"", false}},
		{`\boxed{Unknown}`, want{"Unknown", true}, want{"", false}},
		{`\boxed{N/A}`, want{"N/A", true}, want{"", false}},
		{`\boxed{   }`, want{"", false}, want{"", false}},
		{`\boxed{none of them}`, want{"none of them", true}, want{"none of them", true}},
		{`\boxed{日本}`, want{"日本", true}, want{"日本", true}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			for _, c := range []struct {
				rule Rule
				want want
			}{{MiroThinker, tt.miro}, {Strict, tt.strict}} {
				got, ok := c.rule.Last(tt.in)
				if got != c.want.ans || ok != c.want.ok {
					t.Errorf("%s.Last(%q) = %q, %v; want %q, %v", c.rule, tt.in, got, ok, c.want.ans, c.want.ok)
				}
			}
			if got, ok := Last(tt.in); got != tt.miro.ans || ok != tt.miro.ok {
				t.Errorf("Last(%q) = %q, %v: not the MiroThinker rule", tt.in, got, ok)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Rule{"": MiroThinker, "mirothinker": MiroThinker, "strict": Strict} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := Parse("loose"); err == nil {
		t.Error("Parse(loose) succeeded")
	}
}
