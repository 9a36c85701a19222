// Package llm is the one way the pipeline talks to a language model: an
// OpenAI-compatible chat endpoint reached through go-openai, with retries of
// transient failures, a role header and the model's reasoning split from its
// answer. The built-in oracle is reached through exactly this client.
package llm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// RoleHeader names the pipeline role (agent, writer, extractor, grader,
// closed_book) on every request. Real servers ignore it; the oracle routes on it.
const RoleHeader = "X-Miroverse-Role"

// Endpoint is where one role's requests go.
type Endpoint struct {
	BaseURL string
	Model   string
	APIKey  string // from the environment only; never logged
	// Timeout bounds one HTTP attempt.
	Timeout time.Duration
	// MaxRetries bounds the retries of one call (not counting the first try).
	MaxRetries int
	// BackoffBase and BackoffCap shape the jittered exponential backoff.
	BackoffBase time.Duration
	BackoffCap  time.Duration
}

// Reply is one completed call.
type Reply struct {
	Message      openai.ChatCompletionMessage
	FinishReason string
	Usage        openai.Usage
	Latency      time.Duration
	Attempts     int
}

// Client calls one endpoint for one role.
type Client struct {
	role string
	ep   Endpoint
	api  *openai.Client
}

// New makes a client for role at ep.
func New(role string, ep Endpoint) *Client {
	if ep.Timeout == 0 {
		ep.Timeout = 10 * time.Minute
	}
	if ep.BackoffBase == 0 {
		ep.BackoffBase = 500 * time.Millisecond
	}
	if ep.BackoffCap == 0 {
		ep.BackoffCap = 30 * time.Second
	}
	cfg := openai.DefaultConfig(ep.APIKey)
	cfg.BaseURL = strings.TrimRight(ep.BaseURL, "/")
	cfg.HTTPClient = &http.Client{
		Timeout:   ep.Timeout,
		Transport: roleTransport{role: role, next: http.DefaultTransport},
	}
	return &Client{role: role, ep: ep, api: openai.NewClientWithConfig(cfg)}
}

// Role is the pipeline role this client serves.
func (c *Client) Role() string { return c.role }

// Model is the model name sent with every request.
func (c *Client) Model() string { return c.ep.Model }

// Chat sends req (its Model defaults to the endpoint's) and retries transient
// failures: HTTP 408, 409, 425, 429, 5xx and network errors. Other errors
// return at once. Reasoning the server put in <think> tags of the content is
// moved to ReasoningContent.
func (c *Client) Chat(ctx context.Context, req openai.ChatCompletionRequest) (Reply, error) {
	if req.Model == "" {
		req.Model = c.ep.Model
	}
	start := time.Now()
	var lastErr error
	for attempt := 0; attempt <= c.ep.MaxRetries; attempt++ {
		if attempt > 0 {
			wait := backoff(attempt, c.ep.BackoffBase, c.ep.BackoffCap)
			select {
			case <-ctx.Done():
				return Reply{}, fmt.Errorf("%s call to %s: %w (last error: %v)", c.role, c.ep.BaseURL, ctx.Err(), lastErr)
			case <-time.After(wait):
			}
		}
		reply, err := c.once(ctx, req)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil || !Retryable(err) {
				break
			}
			continue
		}
		reply.Latency = time.Since(start)
		reply.Attempts = attempt + 1
		return reply, nil
	}
	return Reply{}, fmt.Errorf("%s call to %s (model %s): %w", c.role, c.ep.BaseURL, req.Model, lastErr)
}

// once makes one attempt and normalises the reply's shape.
func (c *Client) once(ctx context.Context, req openai.ChatCompletionRequest) (Reply, error) {
	resp, err := c.api.CreateChatCompletion(ctx, req)
	if err != nil {
		return Reply{}, err
	}
	if len(resp.Choices) == 0 {
		return Reply{}, errEmptyChoices
	}
	ch := resp.Choices[0]
	msg := ch.Message
	SplitThink(&msg)
	return Reply{Message: msg, FinishReason: string(ch.FinishReason), Usage: resp.Usage}, nil
}

var errEmptyChoices = errors.New("response has no choices")

// Retryable tells transient failures from permanent ones.
func Retryable(err error) bool {
	if errors.Is(err, errEmptyChoices) {
		return true
	}
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) {
		return retryableStatus(apiErr.HTTPStatusCode)
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) {
		if reqErr.HTTPStatusCode != 0 {
			return retryableStatus(reqErr.HTTPStatusCode)
		}
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	// A body cut short or a reset connection surfaces as a plain error from
	// the decoder or transport; both are worth another try.
	msg := err.Error()
	for _, s := range []string{"EOF", "connection reset", "broken pipe", "unexpected end of JSON", "invalid character"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func retryableStatus(code int) bool {
	switch {
	case code == 408, code == 409, code == 425, code == 429:
		return true
	case code >= 500 && code <= 599:
		return true
	}
	return false
}

// backoff is full-jitter exponential: uniform in [0, min(cap, base·2^(n-1))].
// (go-openai's errors do not carry a Retry-After header to honour.)
func backoff(attempt int, base, limit time.Duration) time.Duration {
	d := base << (attempt - 1)
	if d > limit || d <= 0 {
		d = limit
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// SplitThink moves a leading <think>…</think> block of the content into
// ReasoningContent, leaving the rest of the content exactly as sent.
func SplitThink(m *openai.ChatCompletionMessage) {
	const open, closing = "<think>", "</think>"
	s := m.Content
	trimmed := strings.TrimLeft(s, " \t\r\n")
	if !strings.HasPrefix(trimmed, open) {
		return
	}
	end := strings.Index(trimmed, closing)
	if end < 0 {
		return
	}
	think := strings.TrimSpace(trimmed[len(open):end])
	if m.ReasoningContent == "" {
		m.ReasoningContent = think
	} else if think != "" {
		m.ReasoningContent += "\n" + think
	}
	m.Content = strings.TrimLeft(trimmed[end+len(closing):], "\r\n")
}

type roleTransport struct {
	role string
	next http.RoundTripper
}

func (t roleTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(RoleHeader, t.role)
	return t.next.RoundTrip(r)
}
