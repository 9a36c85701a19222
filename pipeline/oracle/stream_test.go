package oracle

import (
	"reflect"
	"testing"
	"time"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/trajectory"
)

// A streamed rollout is the same conversation as an unstreamed one: the
// client puts the oracle's chunks (reasoning, content, tool-call names and
// arguments each split) back into exactly the replies it would have sent
// whole.
func TestStreamedRepliesEqualWholeOnes(t *testing.T) {
	s := startOracle(t, Config{Keys: testKeys()})
	whole := client(s, llm.RoleAgent)
	streamed := llm.New(llm.RoleAgent, llm.Endpoint{BaseURL: s.URL(), Model: "oracle", Timeout: 10 * time.Second, Stream: true})
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			a := newRollout(t, whole, mode, 7, "Answer this question.\n\n"+testQuestion)
			b := newRollout(t, streamed, mode, 7, "Answer this question.\n\n"+testQuestion)
			fa, fb := a.run(), b.run()
			if fa != fb {
				t.Errorf("final answers differ: %q vs %q", fa, fb)
			}
			if len(a.replies) != len(b.replies) {
				t.Fatalf("%d vs %d turns", len(a.replies), len(b.replies))
			}
			calls := 0
			for i := range a.replies {
				ra, rb := a.replies[i], b.replies[i]
				calls += len(rb.Message.ToolCalls)
				if !reflect.DeepEqual(ra.Message, rb.Message) || ra.FinishReason != rb.FinishReason || ra.Usage != rb.Usage {
					t.Errorf("turn %d differs:\nwhole    %+v %s %+v\nstreamed %+v %s %+v", i,
						ra.Message, ra.FinishReason, ra.Usage, rb.Message, rb.FinishReason, rb.Usage)
				}
			}
			if mode == trajectory.ModeFunction && calls == 0 {
				t.Error("no tool call was streamed")
			}
		})
	}
}

func TestSplitRunes(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want []string
	}{
		{"", 3, nil},
		{"ab", 3, []string{"a", "b"}},
		{"abcdefg", 3, []string{"abc", "def", "g"}},
		{"żółw", 2, []string{"żó", "łw"}},
	}
	for _, tc := range tests {
		if got := splitRunes(tc.in, tc.n); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitRunes(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
