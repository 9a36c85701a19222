package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// errStreamCut is a stream that ended before any choice said why it
// stopped: the connection dropped mid-reply, so the call is retried. The
// usual cause is not the network but the server: llama-cpp-python's server
// (interrupt_requests, on by default) ends the stream in flight when another
// request arrives, and other servers drop streams when their slots are full.
var errStreamCut = errors.New("stream ended before a finish_reason: the server closed it mid-reply, " +
	"which servers do when a concurrent request arrives (llama-cpp-python's interrupt_requests) or their parallel slots are full; " +
	"give the server more slots (llama.cpp --parallel, llama-cpp-python --interrupt_requests False) or lower this endpoint's concurrency")

// streamCut says how far a cut stream had got.
type streamCut struct {
	chunks, chars int
}

func (e streamCut) Error() string {
	return fmt.Sprintf("after %d chunk(s) and %d character(s) of reply: %v", e.chunks, e.chars, errStreamCut)
}

func (e streamCut) Unwrap() error { return errStreamCut }

// onceStream makes one streamed attempt and puts the chunks together into
// the reply a non-streamed call would have returned. Servers split tool-call
// arguments, and sometimes names, across chunks; pieces belong to the call
// with the same index, or to the latest call when a server sends no index.
func (c *Client) onceStream(ctx context.Context, req openai.ChatCompletionRequest) (Reply, error) {
	req.Stream = true
	req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	st, err := c.api.CreateChatCompletionStream(ctx, req)
	if err != nil {
		return Reply{}, err
	}
	defer st.Close()
	var (
		content, reasoning strings.Builder
		calls              []openai.ToolCall
		byIndex            = map[int]int{} // tool-call index in the stream → position in calls
		finish             string
		usage              openai.Usage
		sawChoice          bool
		chunks             int
	)
	for {
		chunk, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Reply{}, fmt.Errorf("read stream: %w", err)
		}
		chunks++
		if chunk.Usage != nil {
			usage = *chunk.Usage
		}
		for _, ch := range chunk.Choices {
			if ch.Index != 0 {
				continue // only the first choice is asked for (n=1)
			}
			sawChoice = true
			d := ch.Delta
			content.WriteString(d.Content)
			reasoning.WriteString(d.ReasoningContent)
			for _, tc := range d.ToolCalls {
				pos, ok := -1, false
				if tc.Index != nil {
					pos, ok = byIndex[*tc.Index]
				} else if len(calls) > 0 && tc.ID == "" {
					pos, ok = len(calls)-1, true
				}
				if !ok {
					calls = append(calls, openai.ToolCall{Type: openai.ToolTypeFunction})
					pos = len(calls) - 1
					if tc.Index != nil {
						byIndex[*tc.Index] = pos
					}
				}
				dst := &calls[pos]
				if tc.ID != "" {
					dst.ID = tc.ID
				}
				if tc.Type != "" {
					dst.Type = tc.Type
				}
				// Some servers repeat the whole name in every chunk of a
				// call; most send it once or in pieces.
				if tc.Function.Name != dst.Function.Name {
					dst.Function.Name += tc.Function.Name
				}
				dst.Function.Arguments += tc.Function.Arguments
			}
			if ch.FinishReason != "" {
				finish = string(ch.FinishReason)
			}
		}
	}
	if !sawChoice {
		return Reply{}, errEmptyChoices
	}
	if finish == "" {
		return Reply{}, streamCut{chunks: chunks, chars: content.Len() + reasoning.Len()}
	}
	msg := openai.ChatCompletionMessage{
		Role:             openai.ChatMessageRoleAssistant,
		Content:          content.String(),
		ReasoningContent: reasoning.String(),
		ToolCalls:        calls,
	}
	return Reply{Message: msg, FinishReason: finish, Usage: usage}, nil
}
