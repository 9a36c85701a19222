package llm

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"
)

// Structured-output modes: how a request that asks for JSON of a schema
// (Schema) goes out. Servers spell it differently, and some not at all.
const (
	// FormatJSONSchema sends OpenAI's response_format {type: json_schema,
	// json_schema: {name, schema, strict}}, which OpenAI, vLLM, SGLang and
	// llama.cpp's server read.
	FormatJSONSchema = "json_schema"
	// FormatJSONObject sends {type: json_object, schema}, the only form
	// llama-cpp-python's server accepts (it answers json_schema with 500).
	FormatJSONObject = "json_object"
	// FormatOff sends no response_format: the role's free-text parser reads
	// the JSON the prompt asks for.
	FormatOff = "off"
)

// formatLevels is the order a client steps down in when a server rejects
// the form it sent.
var formatLevels = [...]string{FormatJSONSchema, FormatJSONObject, FormatOff}

func formatLevel(mode string) int32 {
	for i, m := range formatLevels {
		if m == mode {
			return int32(i)
		}
	}
	return 0
}

// Schema asks for a reply that is one JSON object matching schema (a JSON
// Schema document), named name for the server's logs and caches. Strict is
// set: servers that constrain decoding then allow nothing else.
func Schema(name string, schema json.RawMessage) *openai.ChatCompletionResponseFormat {
	return &openai.ChatCompletionResponseFormat{
		Type:       openai.ChatCompletionResponseFormatTypeJSONSchema,
		JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{Name: name, Schema: schema, Strict: true},
	}
}

// withResponseFormat rewrites the json_schema response_format of a chat
// request body into the form of level; ok is false when the body needs no
// change (no response_format, or level is json_schema).
func withResponseFormat(body []byte, level int32) ([]byte, bool) {
	if level <= 0 || !strings.Contains(string(body), `"response_format"`) {
		return nil, false
	}
	var req map[string]json.RawMessage
	if json.Unmarshal(body, &req) != nil {
		return nil, false
	}
	raw, ok := req["response_format"]
	if !ok {
		return nil, false
	}
	switch formatLevels[min(int(level), len(formatLevels)-1)] {
	case FormatOff:
		delete(req, "response_format")
	case FormatJSONObject:
		var rf struct {
			JSONSchema struct {
				Schema json.RawMessage `json:"schema"`
			} `json:"json_schema"`
		}
		if json.Unmarshal(raw, &rf) != nil {
			return nil, false
		}
		b := []byte(`{"type":"json_object"}`)
		if len(rf.JSONSchema.Schema) > 0 {
			b = append(append([]byte(`{"type":"json_object","schema":`), rf.JSONSchema.Schema...), '}')
		}
		req["response_format"] = b
	}
	out, err := json.Marshal(req)
	if err != nil {
		return nil, false
	}
	return out, true
}

// rejectsFormat reports whether a failed attempt is the server refusing the
// response_format it was sent (a validation error that names it), rather
// than failing the request for another reason.
func rejectsFormat(err error) bool {
	status, body := errorBody(err)
	switch {
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusNotFound,
		status == http.StatusTooManyRequests, status == http.StatusServiceUnavailable, status < 400:
		return false
	}
	b := strings.ToLower(body)
	return strings.Contains(b, "response_format") || strings.Contains(b, "json_schema") || strings.Contains(b, "json_object")
}

// format is a client's current structured-output level, shared with its
// transport; it only ever steps down.
type format struct{ level atomic.Int32 }

// stepDown moves from level from to the next one; false when another call
// already moved it or there is nowhere left to go.
func (f *format) stepDown(from int32) bool {
	if int(from) >= len(formatLevels)-1 {
		return false
	}
	return f.level.CompareAndSwap(from, from+1)
}

// clipText cuts s to at most n bytes on a rune boundary, for log lines.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
