package trajectory

import (
	"context"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
)

// Chatter is the one LLM call the agent, its tools and the judge need.
// *llm.Client satisfies it; tests use scripted fakes.
type Chatter interface {
	Chat(ctx context.Context, req openai.ChatCompletionRequest) (llm.Reply, error)
	Model() string
}
