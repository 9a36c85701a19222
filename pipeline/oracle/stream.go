package oracle

import (
	"fmt"
	"net/http"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"
)

// streamPieces is how many chunks each text of a streamed reply is split
// into. Real servers send a token or a few per chunk; a handful of pieces is
// enough to exercise reassembly, names and arguments of tool calls included.
const streamPieces = 3

// writeStream sends resp as a server-sent event stream in the shape of
// OpenAI and vLLM: a role chunk, the reasoning and the content in pieces,
// each tool call as a first chunk with its id and the start of its name and
// then argument pieces, a chunk with the finish reason, the usage chunk
// when asked for, and [DONE].
func writeStream(w http.ResponseWriter, resp openai.ChatCompletionResponse, includeUsage bool) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	chunk := func(delta openai.ChatCompletionStreamChoiceDelta, finish openai.FinishReason) bool {
		c := openai.ChatCompletionStreamResponse{
			ID: resp.ID, Object: "chat.completion.chunk", Model: resp.Model,
			Choices: []openai.ChatCompletionStreamChoice{{Index: 0, Delta: delta, FinishReason: finish}},
		}
		return sendEvent(w, flusher, c)
	}
	ch := resp.Choices[0]
	msg := ch.Message
	if !chunk(openai.ChatCompletionStreamChoiceDelta{Role: openai.ChatMessageRoleAssistant}, "") {
		return
	}
	for _, p := range splitRunes(msg.ReasoningContent, streamPieces) {
		if !chunk(openai.ChatCompletionStreamChoiceDelta{ReasoningContent: p}, "") {
			return
		}
	}
	for _, p := range splitRunes(msg.Content, streamPieces) {
		if !chunk(openai.ChatCompletionStreamChoiceDelta{Content: p}, "") {
			return
		}
	}
	for i, tc := range msg.ToolCalls {
		index := i
		names := splitRunes(tc.Function.Name, 2)
		for j, name := range names {
			d := openai.ToolCall{Index: &index, Function: openai.FunctionCall{Name: name}}
			if j == 0 {
				d.ID, d.Type = tc.ID, openai.ToolTypeFunction
			}
			if !chunk(openai.ChatCompletionStreamChoiceDelta{ToolCalls: []openai.ToolCall{d}}, "") {
				return
			}
		}
		for _, p := range splitRunes(tc.Function.Arguments, streamPieces) {
			d := openai.ToolCall{Index: &index, Function: openai.FunctionCall{Arguments: p}}
			if !chunk(openai.ChatCompletionStreamChoiceDelta{ToolCalls: []openai.ToolCall{d}}, "") {
				return
			}
		}
	}
	if !chunk(openai.ChatCompletionStreamChoiceDelta{}, ch.FinishReason) {
		return
	}
	if includeUsage {
		usage := resp.Usage
		if !sendEvent(w, flusher, openai.ChatCompletionStreamResponse{
			ID: resp.ID, Object: "chat.completion.chunk", Model: resp.Model,
			Choices: []openai.ChatCompletionStreamChoice{}, Usage: &usage,
		}) {
			return
		}
	}
	_, _ = fmt.Fprint(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
}

// sendEvent writes one data event; false means the client has gone.
func sendEvent(w http.ResponseWriter, flusher http.Flusher, v any) bool {
	b, err := marshal(v)
	if err != nil {
		return false
	}
	if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
		return false
	}
	if flusher != nil {
		flusher.Flush()
	}
	return true
}

// splitRunes cuts s into at most n non-empty pieces on rune boundaries.
func splitRunes(s string, n int) []string {
	total := utf8.RuneCountInString(s)
	if total == 0 {
		return nil
	}
	size := (total + n - 1) / n
	var out []string
	for len(s) > 0 {
		end, count := 0, 0
		for end < len(s) && count < size {
			_, w := utf8.DecodeRuneInString(s[end:])
			end += w
			count++
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}
