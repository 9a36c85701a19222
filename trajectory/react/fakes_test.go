package react

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/trajectory"
)

// scriptLLM is a Chatter that plays back scripted replies in order and
// records every request.
type scriptLLM struct {
	steps []scriptStep

	mu   sync.Mutex
	reqs []openai.ChatCompletionRequest
}

type scriptStep struct {
	reply llm.Reply
	err   error
}

func (s *scriptLLM) Chat(_ context.Context, req openai.ChatCompletionRequest) (llm.Reply, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, req)
	if len(s.reqs) > len(s.steps) {
		return llm.Reply{}, errors.New("script exhausted")
	}
	st := s.steps[len(s.reqs)-1]
	return st.reply, st.err
}

func (s *scriptLLM) Model() string { return "scripted" }

func (s *scriptLLM) requests() []openai.ChatCompletionRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]openai.ChatCompletionRequest(nil), s.reqs...)
}

// Reply builders for scripts.

func say(content string) scriptStep {
	return scriptStep{reply: llm.Reply{
		Message:      openai.ChatCompletionMessage{Role: "assistant", Content: content},
		FinishReason: "stop",
		Usage:        openai.Usage{PromptTokens: 100, CompletionTokens: 10},
		Latency:      3 * time.Millisecond,
	}}
}

func withFinish(s scriptStep, reason string) scriptStep {
	s.reply.FinishReason = reason
	return s
}

func withReasoning(s scriptStep, reasoning string) scriptStep {
	s.reply.Message.ReasoningContent = reasoning
	return s
}

func withUsage(s scriptStep, prompt int) scriptStep {
	s.reply.Usage.PromptTokens = prompt
	return s
}

// fn is a native function-calling reply; calls alternate name, arguments.
func fn(content string, calls ...string) scriptStep {
	s := say(content)
	s.reply.FinishReason = "tool_calls"
	for i := 0; i+1 < len(calls); i += 2 {
		s.reply.Message.ToolCalls = append(s.reply.Message.ToolCalls, openai.ToolCall{
			ID: fmt.Sprintf("call-%d", i/2), Type: openai.ToolTypeFunction,
			Function: openai.FunctionCall{Name: calls[i], Arguments: calls[i+1]},
		})
	}
	return s
}

// mcp is an MCP-in-text reply with a short thought before the block.
func mcp(tool, args string) scriptStep {
	return say("I should look this up.\n\n" + trajectory.FormatMCP(trajectory.MCPCall{Tool: tool, Arguments: args}))
}

func fail(err error) scriptStep { return scriptStep{err: err} }
