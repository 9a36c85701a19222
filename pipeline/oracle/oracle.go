// Package oracle is the built-in LLM of the pipeline: an OpenAI-compatible
// chat-completions server that answers every pipeline role by rule instead of
// by sampling. For the agent role it is a scripted teacher that solves a
// question by calling the tools along the question's recorded path; for the
// writer, extractor and grader roles it gives rule-based answers.
//
// It is reached through the same go-openai client as a real endpoint, so the
// whole pipeline (HTTP, JSON, retries, role header) runs unchanged against
// it. Every reply is a pure function of the request body and the role header:
// the same request always gets the same bytes back, which is what makes demo
// runs and tests reproducible.
package oracle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/trajectory"
)

// Solution is the answer key of one question.
type Solution struct {
	Answer string   // gold answer (title of the last doc)
	Wrong  string   // a plausible wrong answer, which a failing rollout boxes when its route gives none other than the gold (e.g. the previous hop's title); may be ""
	Path   []string // titles of the docs to visit, in order (the walk's docs, first to last)
}

// Keys gives the teacher the answer key of a question; it is looked up with
// the content of the first user message of an agent request.
type Keys interface {
	Lookup(firstUserMessage string) (Solution, bool)
}

// KeyMap is a ready-made Keys keyed by question text. The agent's first user
// message usually wraps the question in instructions, so besides an exact
// match Lookup accepts the longest key contained in the message (ties broken
// by byte order, so the choice never depends on map iteration order). The
// containment scan is linear in the number of keys; a caller with a very
// large key set should key by the exact first message instead.
type KeyMap map[string]Solution

// Lookup implements Keys.
func (m KeyMap) Lookup(firstUserMessage string) (Solution, bool) {
	if s, ok := m[firstUserMessage]; ok {
		return s, true
	}
	if s, ok := m[strings.TrimSpace(firstUserMessage)]; ok {
		return s, true
	}
	best, found := "", false
	for q := range m {
		if strings.TrimSpace(q) == "" || !strings.Contains(firstUserMessage, q) {
			continue
		}
		if !found || len(q) > len(best) || (len(q) == len(best) && q < best) {
			best, found = q, true
		}
	}
	if !found {
		return Solution{}, false
	}
	return m[best], true
}

// Config shapes the oracle's behaviour.
type Config struct {
	Keys       Keys          // may be nil: agent then solves nothing and answers its best guess
	ErrorRate  float64       // fraction of rollouts (by seed) that fail: a wrong turn, an early stop or a misread page (agent_failure.go); default used by pipeline 0.3
	DetourRate float64       // fraction of rollouts that make one extra unrelated search first
	Delay      time.Duration // added latency per reply (benchmarks)
	Model      string        // reported model name, default "oracle"
	Faults     Faults        // injected failures (faults.go); zero Rate: none
	// Memory is what the closed-book role remembers (closedbook.go); nil: it
	// remembers nothing and always answers unknown.
	Memory Memory
}

// DefaultModel is the model name the oracle reports when Config.Model is empty.
const DefaultModel = "oracle"

// maxRequestBytes bounds a request body. An agent request carries the whole
// retained conversation: 262,144 tokens is about a megabyte of text, and full
// tool results (100,000 chars each) can make it larger, so the bound is
// generous; it only stops a runaway client.
const maxRequestBytes = 64 << 20

// errBadRequest marks errors caused by the request, answered with HTTP 400;
// anything else is the oracle's own fault and gets a 500.
var errBadRequest = errors.New("bad request")

func badRequestf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

// turn is one reply of the oracle before it is wrapped in a response.
type turn struct {
	content   string
	reasoning string
	calls     []openai.ToolCall
	finish    openai.FinishReason
}

type handler struct {
	cfg Config
}

// NewHandler serves POST /v1/chat/completions and GET /v1/models (also
// without the /v1 prefix, since base URLs are configured both ways).
func NewHandler(cfg Config) http.Handler {
	if cfg.Model == "" {
		cfg.Model = DefaultModel
	}
	h := &handler{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", h.chat)
	mux.HandleFunc("POST /chat/completions", h.chat)
	mux.HandleFunc("GET /v1/models", h.models)
	mux.HandleFunc("GET /models", h.models)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func (h *handler) models(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, openai.ModelsList{Models: []openai.Model{{
		ID:      h.cfg.Model,
		Object:  "model",
		OwnedBy: "miroverse",
		Root:    h.cfg.Model,
	}}})
}

// readBody reads a request body of at most maxRequestBytes, answering the
// client itself (413 or 400) and reporting false when it cannot.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error",
				fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit))
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "invalid_request_error", "read request body: "+err.Error())
		return nil, false
	}
	return body, true
}

func (h *handler) chat(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var req openai.ChatCompletionRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "decode chat completion request: "+err.Error())
		return
	}
	if err := checkResponseFormat(body); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
		return
	}
	role := strings.ToLower(strings.TrimSpace(r.Header.Get(llm.RoleHeader)))
	t, err := h.reply(role, &req)
	if err != nil {
		if errors.Is(err, errBadRequest) {
			writeError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
			return
		}
		writeError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	if h.cfg.Delay > 0 {
		timer := time.NewTimer(h.cfg.Delay)
		select {
		case <-r.Context().Done():
			// The client is gone or the server is closing: nobody will read
			// the reply.
			timer.Stop()
			return
		case <-timer.C:
		}
	}
	resp := response(h.cfg.Model, role, body, &req, t)
	if req.Stream {
		writeStream(w, resp, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// reply routes a request by role.
func (h *handler) reply(role string, req *openai.ChatCompletionRequest) (turn, error) {
	switch role {
	case llm.RoleAgent:
		return h.agent(req)
	case llm.RoleWriter:
		return writerTurn(req)
	case llm.RoleExtractor:
		return extractorTurn(req)
	case llm.RoleGrader:
		return graderTurn(req)
	case llm.RoleClosedBook:
		return closedBookTurn(req, h.cfg.Memory), nil
	case llm.RoleVerifier:
		return verifierTurn(req)
	case llm.RoleDecontam:
		return decontamTurn(req)
	}
	if looksLikeAgent(req, h.cfg.Keys) {
		return h.agent(req)
	}
	if role == "" {
		return turn{}, badRequestf("no %s header and the request does not look like an agent conversation", llm.RoleHeader)
	}
	return turn{}, badRequestf("unknown role %q in %s and the request does not look like an agent conversation", role, llm.RoleHeader)
}

// looksLikeAgent guesses the role of a request that did not name one: tools,
// tool results, tool calls or the MCP tool format in the text all mean an
// agent conversation, and so does a first message the answer key knows.
func looksLikeAgent(req *openai.ChatCompletionRequest, keys Keys) bool {
	if len(req.Tools) > 0 {
		return true
	}
	first := ""
	for _, m := range req.Messages {
		if m.Role == openai.ChatMessageRoleTool || len(m.ToolCalls) > 0 {
			return true
		}
		text := messageText(m)
		if _, calls, err := trajectory.SplitMCP(text); len(calls) > 0 || err != nil || strings.Contains(text, trajectory.ToolGoogleSearch) {
			return true
		}
		if first == "" && m.Role == openai.ChatMessageRoleUser {
			first = text
		}
	}
	if keys != nil && first != "" {
		_, ok := keys.Lookup(first)
		return ok
	}
	return false
}

// response wraps t in a chat.completion. The id is a hash of the role and the
// body and created is 0, so that the same request gives the same bytes.
func response(model, role string, body []byte, req *openai.ChatCompletionRequest, t turn) openai.ChatCompletionResponse {
	h := sha256.New()
	h.Write([]byte(role))
	h.Write([]byte{0})
	h.Write(body)
	id := "chatcmpl-oracle-" + hex.EncodeToString(h.Sum(nil)[:12])

	msg := openai.ChatCompletionMessage{
		Role:             openai.ChatMessageRoleAssistant,
		Content:          t.content,
		ReasoningContent: t.reasoning,
		ToolCalls:        t.calls,
	}
	prompt := 0
	for _, m := range req.Messages {
		prompt += messageChars(m)
	}
	completion := messageChars(msg)
	usage := openai.Usage{
		PromptTokens:     tokensOf(prompt),
		CompletionTokens: tokensOf(completion),
	}
	usage.TotalTokens = usage.PromptTokens + usage.CompletionTokens
	return openai.ChatCompletionResponse{
		ID:      id,
		Object:  "chat.completion",
		Created: 0,
		Model:   model,
		Choices: []openai.ChatCompletionChoice{{
			Index:        0,
			Message:      msg,
			FinishReason: t.finish,
		}},
		Usage: usage,
	}
}

// messageChars counts the characters a model would read or write for m.
func messageChars(m openai.ChatCompletionMessage) int {
	n := utf8.RuneCountInString(messageText(m)) + utf8.RuneCountInString(m.ReasoningContent)
	for _, c := range m.ToolCalls {
		n += utf8.RuneCountInString(c.Function.Name) + utf8.RuneCountInString(c.Function.Arguments)
	}
	return n
}

// tokensOf estimates tokens as a quarter of the characters, rounded up: the
// usual rule of thumb for English text under BPE tokenizers.
func tokensOf(chars int) int {
	return (chars + 3) / 4
}

// marshal encodes v without HTML escaping, so that "<use_mcp_tool>" and
// "AT&T" stay readable on the wire and in logs.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"message":"encode response","type":"server_error"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b) // a client that went away cannot be told
}

// writeError answers in OpenAI's error shape, which go-openai decodes into
// an *openai.APIError carrying the status code.
func writeError(w http.ResponseWriter, status int, kind, msg string) {
	writeJSON(w, status, openai.ErrorResponse{Error: &openai.APIError{Message: msg, Type: kind}})
}

// checkResponseFormat refuses a response_format that a strict server would:
// an unknown type, or a json_schema without a name or an object schema. The
// oracle's replies already are the JSON its prompts ask for, so a
// well-formed format changes nothing; a malformed one must fail here as it
// would against vLLM or OpenAI.
func checkResponseFormat(body []byte) error {
	var req struct {
		Format *struct {
			Type       string `json:"type"`
			JSONSchema *struct {
				Name   string          `json:"name"`
				Schema json.RawMessage `json:"schema"`
			} `json:"json_schema"`
			Schema json.RawMessage `json:"schema"`
		} `json:"response_format"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Format == nil {
		return nil // a body that does not decode was refused already
	}
	f := req.Format
	switch f.Type {
	case "text":
		return nil
	case "json_object":
		if len(f.Schema) > 0 && !isObject(f.Schema) {
			return fmt.Errorf("response_format json_object: schema is not a JSON object")
		}
		return nil
	case "json_schema":
		switch {
		case f.JSONSchema == nil:
			return fmt.Errorf("response_format json_schema: missing json_schema")
		case f.JSONSchema.Name == "":
			return fmt.Errorf("response_format json_schema: missing name")
		case !isObject(f.JSONSchema.Schema):
			return fmt.Errorf("response_format json_schema %q: schema is not a JSON object", f.JSONSchema.Name)
		}
		return nil
	}
	return fmt.Errorf("response_format type %q: want text, json_object or json_schema", f.Type)
}

func isObject(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil && m != nil
}
