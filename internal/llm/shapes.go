package llm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// Servers disagree on where a reply's reasoning and tool calls go. The
// client brings every shape to one: reasoning in ReasoningContent, calls in
// ToolCalls, and the visible text in Content with nothing else taken out of
// it. The shapes handled are
//
//   - reasoning_content (DeepSeek, vLLM before 0.10, SGLang): decoded by go-openai;
//   - reasoning (vLLM's newer field, OpenRouter): renamed on the wire by
//     reasoningTransport, in whole bodies and in stream chunks alike;
//   - <think>…</think> in the content (servers without a reasoning parser),
//     or only the closing tag when the chat template opened the block in the
//     prompt (Qwen3): moved out by SplitThink;
//   - <tool_call>{"name": …, "arguments": …}</tool_call> blocks in the content
//     (Hermes-style templates on a server without a tool parser): parsed by
//     ExtractTextToolCalls when tools were offered;
//   - streamed replies whose tool-call names and arguments arrive in pieces
//     across chunks: put together by onceStream.

// SplitThink moves the reasoning block of the content into
// ReasoningContent, leaving the rest of the content exactly as sent but for
// the line breaks that separated it from the block. A block is a leading
// <think>…</think>, or everything before a </think> that has no opening
// tag (the template opened it in the prompt).
func SplitThink(m *openai.ChatCompletionMessage) {
	const open, closing = "<think>", "</think>"
	s := m.Content
	end := strings.Index(s, closing)
	if end < 0 {
		return
	}
	var think string
	trimmed := strings.TrimLeft(s, " \t\r\n")
	switch {
	case strings.HasPrefix(trimmed, open):
		end = strings.Index(trimmed, closing)
		think = trimmed[len(open):end]
		s = trimmed
	case !strings.Contains(s[:end], open):
		think = s[:end]
	default:
		return // <think> in the middle of the text: prose about tags, not a block
	}
	think = strings.TrimSpace(think)
	if m.ReasoningContent == "" {
		m.ReasoningContent = think
	} else if think != "" {
		m.ReasoningContent += "\n" + think
	}
	m.Content = strings.TrimLeft(s[end+len(closing):], "\r\n")
}

// Text tool-call tags of Hermes-style chat templates (Qwen, MiroThinker).
const (
	toolCallOpen  = "<tool_call>"
	toolCallClose = "</tool_call>"
)

// textToolCall is the JSON inside one <tool_call> block. Arguments come as
// an object from most templates and as a JSON-encoded string from some;
// "parameters" is an older name for the same thing.
type textToolCall struct {
	Name       string          `json:"name"`
	Arguments  json.RawMessage `json:"arguments"`
	Parameters json.RawMessage `json:"parameters"`
}

// ExtractTextToolCalls turns <tool_call> blocks in the content of a reply
// that has no native tool calls into ToolCalls, and removes the blocks from
// the content (the chat template renders calls itself, so leaving them in
// would show every call twice). What remains of the content is trimmed of
// the blank space the blocks stood in. It changes nothing and reports false
// unless every block is complete and holds a call with a name: a reply with
// a broken block keeps its text, so that the agent can see it is broken and
// roll it back instead of running part of what the model meant.
func ExtractTextToolCalls(m *openai.ChatCompletionMessage) bool {
	if len(m.ToolCalls) > 0 || !strings.Contains(m.Content, toolCallOpen) {
		return false
	}
	var (
		rest  strings.Builder
		calls []openai.ToolCall
	)
	s := m.Content
	for {
		at := strings.Index(s, toolCallOpen)
		if at < 0 {
			if strings.Contains(s, toolCallClose) {
				return false
			}
			rest.WriteString(s)
			break
		}
		if strings.Contains(s[:at], toolCallClose) {
			return false // a closing tag with no opening one
		}
		rest.WriteString(s[:at])
		body := s[at+len(toolCallOpen):]
		end := strings.Index(body, toolCallClose)
		if end < 0 {
			return false
		}
		call, ok := parseTextToolCall(body[:end])
		if !ok {
			return false
		}
		calls = append(calls, call)
		s = body[end+len(toolCallClose):]
	}
	m.ToolCalls = calls
	m.Content = strings.TrimSpace(rest.String())
	return true
}

func parseTextToolCall(body string) (openai.ToolCall, bool) {
	var c textToolCall
	dec := json.NewDecoder(strings.NewReader(body))
	if err := dec.Decode(&c); err != nil || strings.TrimSpace(c.Name) == "" {
		return openai.ToolCall{}, false
	}
	if dec.More() {
		return openai.ToolCall{}, false // two objects in one block
	}
	raw := c.Arguments
	if len(raw) == 0 {
		raw = c.Parameters
	}
	args := "{}"
	switch t := bytes.TrimSpace(raw); {
	case len(t) == 0 || string(t) == "null":
	case t[0] == '"':
		// Already a JSON text inside a string, as in the native format.
		var s string
		if json.Unmarshal(t, &s) != nil {
			return openai.ToolCall{}, false
		}
		args = s
	default:
		var b bytes.Buffer
		if json.Compact(&b, t) != nil {
			return openai.ToolCall{}, false
		}
		args = b.String()
	}
	return openai.ToolCall{
		Type:     openai.ToolTypeFunction,
		Function: openai.FunctionCall{Name: strings.TrimSpace(c.Name), Arguments: args},
	}, true
}

// reasoningTransport renames the "reasoning" field of reply messages and
// stream deltas to "reasoning_content", which go-openai decodes. A body
// without the field passes through untouched.
type reasoningTransport struct {
	next http.RoundTripper
}

func (t reasoningTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body = &sseRenamer{src: bufio.NewReader(resp.Body), body: resp.Body}
		return resp, nil
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		// A body cut off mid-transfer: a network failure like any other.
		return nil, fmt.Errorf("read response body: %w", err)
	}
	b = renameReasoning(b)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// renameReasoning rewrites choices[].message.reasoning and
// choices[].delta.reasoning to reasoning_content where the latter is absent
// or empty. Bodies it cannot read are returned as they are; the decoder
// downstream reports them.
func renameReasoning(b []byte) []byte {
	if !bytes.Contains(b, []byte(`"reasoning"`)) {
		return b
	}
	var body map[string]json.RawMessage
	if json.Unmarshal(b, &body) != nil {
		return b
	}
	var choices []map[string]json.RawMessage
	if json.Unmarshal(body["choices"], &choices) != nil {
		return b
	}
	changed := false
	for _, ch := range choices {
		for _, key := range []string{"message", "delta"} {
			var msg map[string]json.RawMessage
			if json.Unmarshal(ch[key], &msg) != nil || msg == nil {
				continue
			}
			r, ok := msg["reasoning"]
			if !ok || string(r) == "null" {
				continue
			}
			if rc, ok := msg["reasoning_content"]; ok && string(rc) != "null" && string(rc) != `""` {
				continue
			}
			msg["reasoning_content"] = r
			delete(msg, "reasoning")
			enc, err := json.Marshal(msg)
			if err != nil {
				return b
			}
			ch[key] = enc
			changed = true
		}
	}
	if !changed {
		return b
	}
	enc, err := json.Marshal(choices)
	if err != nil {
		return b
	}
	body["choices"] = enc
	out, err := json.Marshal(body)
	if err != nil {
		return b
	}
	return out
}

// sseRenamer applies renameReasoning to every data line of an event stream.
type sseRenamer struct {
	src  *bufio.Reader
	body io.Closer
	buf  []byte
	err  error
}

func (s *sseRenamer) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		line, err := s.src.ReadBytes('\n')
		if data, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			trimmed := bytes.TrimSpace(data)
			if renamed := renameReasoning(trimmed); !bytes.Equal(renamed, trimmed) {
				line = append(append([]byte("data: "), renamed...), '\n')
			}
		}
		s.buf, s.err = line, err
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

func (s *sseRenamer) Close() error { return s.body.Close() }
