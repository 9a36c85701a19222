package llm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// contentTransport gives every assistant message of a chat request a
// "content" key. go-openai drops an empty content (omitempty), so an
// assistant message that is only tool calls goes out without one, and
// chat templates that read message.content unconditionally (llama.cpp's
// server among them) answer 500 for it. A body that needs nothing passes
// through byte for byte, so seeded servers and request hashes see the same
// bytes as before.
//
// It also puts a response_format in the form the client's format level
// says (withResponseFormat).
type contentTransport struct {
	format *format
	next   http.RoundTripper
}

func (t contentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Method != http.MethodPost {
		return t.next.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	if fixed, ok := withAssistantContent(body); ok {
		body = fixed
	}
	if t.format != nil {
		if fixed, ok := withResponseFormat(body, t.format.level.Load()); ok {
			body = fixed
		}
	}
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return t.next.RoundTrip(r)
}

// withAssistantContent adds "content": "" to the assistant messages of a
// chat request body that have none; ok is false when no message needed it
// (or the body is no chat request), and body is then to be sent as it is.
func withAssistantContent(body []byte) ([]byte, bool) {
	var req map[string]json.RawMessage
	if json.Unmarshal(body, &req) != nil {
		return nil, false
	}
	var msgs []map[string]json.RawMessage
	if json.Unmarshal(req["messages"], &msgs) != nil {
		return nil, false
	}
	changed := false
	for _, m := range msgs {
		var role string
		_ = json.Unmarshal(m["role"], &role)
		if _, has := m["content"]; role == "assistant" && !has {
			m["content"] = json.RawMessage(`""`)
			changed = true
		}
	}
	if !changed {
		return nil, false
	}
	raw, err := json.Marshal(msgs)
	if err != nil {
		return nil, false
	}
	req["messages"] = raw
	out, err := json.Marshal(req)
	if err != nil {
		return nil, false
	}
	return out, true
}
