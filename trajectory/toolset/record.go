package toolset

import (
	"context"
	"time"

	"github.com/miroverse/miroverse/internal/llm"
)

// A CallRecorder is told of each LLM call a tool makes on behalf of a
// rollout (the extractor's, behind scrape_and_extract_info): its role and
// model, the reply or the error, and how long it took.
type CallRecorder func(role, model string, reply llm.Reply, err error, took time.Duration)

type callRecorderKey struct{}

// WithCallRecorder returns a copy of ctx that carries rec. One Toolset
// serves every rollout, so the LLM calls its tools make are booked through
// the recorder in the context of the tool call that caused them.
func WithCallRecorder(ctx context.Context, rec CallRecorder) context.Context {
	return context.WithValue(ctx, callRecorderKey{}, rec)
}

// recordCall reports one call to the recorder of ctx, if any.
func recordCall(ctx context.Context, role, model string, reply llm.Reply, err error, took time.Duration) {
	if rec, ok := ctx.Value(callRecorderKey{}).(CallRecorder); ok {
		rec(role, model, reply, err, took)
	}
}
