// Package llm is the one way the pipeline talks to a language model: an
// OpenAI-compatible chat endpoint reached through go-openai, with retries of
// transient failures, a role header and the model's reasoning split from its
// answer. The built-in oracle is reached through exactly this client.
package llm

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/redact"
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
	// BackoffCap also caps a server's Retry-After.
	BackoffBase time.Duration
	BackoffCap  time.Duration
	// Limiter, if set, bounds the attempts in flight and learns from their
	// outcomes; clients of one endpoint should share it. Nil means no bound.
	Limiter *Limiter
	// Stream asks for a streamed reply and assembles it; some gateways
	// only keep long generations alive when they stream.
	Stream bool
	// MaxTokens bounds a reply whose request sets no limit of its own; 0
	// sends none.
	MaxTokens int
	// TokenLimitField says which request fields carry the limit (LimitBoth
	// when "").
	TokenLimitField string
	// ToolChoice goes with every request that offers tools and names no
	// choice itself (ToolChoiceAuto when "").
	ToolChoice string
	// Watch, if set, books every call in flight, so progress can name the
	// slowest; clients of one run share it.
	Watch *Watch
	// StructuredOutput is how requests that ask for a Schema go out
	// (FormatJSONSchema when ""). A server that rejects the form makes the
	// client step down to the next (json_object, then off) for the rest of
	// its calls, saying so on Log.
	StructuredOutput string
	// Log gets the client's warnings; nil discards them.
	Log *slog.Logger
	// Cache, if set, answers requests it holds and keeps the replies of
	// those it does not; clients of one run share it.
	Cache *Cache
}

// Request fields that carry the reply limit. llama.cpp's server and older
// OpenAI-compatible servers read max_tokens only and ignore
// max_completion_tokens; OpenAI's reasoning models refuse max_tokens.
const (
	LimitBoth                = "both"
	LimitMaxTokens           = "max_tokens"
	LimitMaxCompletionTokens = "max_completion_tokens"
)

// Tool choices. Without tool_choice llama.cpp's server drops the tools of
// a request silently, so "auto" is sent unless an endpoint says otherwise.
const (
	ToolChoiceAuto     = "auto"
	ToolChoiceRequired = "required"
	ToolChoiceNone     = "none"
	ToolChoiceOmit     = "omit"
)

// shape sets the limit fields and the tool choice of req as the endpoint
// wants them. A limit the request sets itself wins over MaxTokens.
func (ep Endpoint) shape(req openai.ChatCompletionRequest) openai.ChatCompletionRequest {
	// max_tokens is deprecated in OpenAI's API but is the only limit
	// llama.cpp's server and vLLM's older releases read.
	//lint:ignore SA1019 the field is sent on purpose, see above
	maxTokens := &req.MaxTokens
	limit := max(*maxTokens, req.MaxCompletionTokens)
	if limit == 0 {
		limit = ep.MaxTokens
	}
	if limit > 0 {
		*maxTokens, req.MaxCompletionTokens = limit, limit
		switch ep.TokenLimitField {
		case LimitMaxTokens:
			req.MaxCompletionTokens = 0
		case LimitMaxCompletionTokens:
			*maxTokens = 0
		}
	}
	if len(req.Tools) > 0 && req.ToolChoice == nil {
		switch c := cmp.Or(ep.ToolChoice, ToolChoiceAuto); c {
		case ToolChoiceOmit:
		default:
			req.ToolChoice = c
		}
	}
	return req
}

// Reply is one completed call.
type Reply struct {
	Message      openai.ChatCompletionMessage
	FinishReason string
	Usage        openai.Usage
	Latency      time.Duration
	Attempts     int
	// UsageEstimated says the server sent no usage and Usage is the
	// client's estimate from the characters sent and received.
	UsageEstimated bool
	// Cached says the reply came from the response cache: Latency and
	// Attempts are those of the call that made it.
	Cached bool
}

// Chatter is the one call every LLM role of the pipeline needs. *Client
// satisfies it; tests script fakes of it. Chat returns the reply after the
// client's retries, or the error of the last attempt; Model names the model
// the replies are labelled with.
type Chatter interface {
	Chat(ctx context.Context, req openai.ChatCompletionRequest) (Reply, error)
	Model() string
}

// Client calls one endpoint for one role.
type Client struct {
	role   string
	ep     Endpoint
	where  string // ep.BaseURL without credentials, for messages
	api    *openai.Client
	format *format
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
	if ep.Log == nil {
		ep.Log = slog.New(slog.DiscardHandler)
	}
	f := &format{}
	f.level.Store(formatLevel(ep.StructuredOutput))
	cfg := openai.DefaultConfig(ep.APIKey)
	cfg.BaseURL = strings.TrimRight(ep.BaseURL, "/")
	cfg.HTTPClient = &http.Client{
		Timeout:   ep.Timeout,
		Transport: roleTransport{role: role, next: contentTransport{format: f, next: reasoningTransport{next: newTransport()}}},
	}
	return &Client{role: role, ep: ep, where: redact.URL(ep.BaseURL), api: openai.NewClientWithConfig(cfg), format: f}
}

// newTransport is http.DefaultTransport with room for many idle keep-alive
// connections per host: the default keeps 2, so a pool of concurrent calls
// to one endpoint would open and close a connection for nearly every call.
func newTransport() http.RoundTripper {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	t = t.Clone()
	t.MaxIdleConnsPerHost = 256
	t.MaxIdleConns = 0 // no total cap: the per-host one is what matters here
	return t
}

// Role is the pipeline role this client serves.
func (c *Client) Role() string { return c.role }

// Model is the model name sent with every request.
func (c *Client) Model() string { return c.ep.Model }

// Chat sends req (its Model defaults to the endpoint's) and retries transient
// failures: HTTP 408, 409, 425, 429, 5xx, network errors (reset, timeout),
// bodies cut short and replies without choices. Other errors return at once.
// Between attempts it waits a jittered exponential backoff, or the server's
// Retry-After if that is longer (both capped by BackoffCap). Each attempt
// holds a permit of the endpoint's Limiter, if any, and reports to it how it
// went. Reasoning the server put in <think> tags of the content is moved to
// ReasoningContent.
//
// The returned error names the role, the endpoint (without credentials) and
// the model, and never contains the API key.
func (c *Client) Chat(ctx context.Context, req openai.ChatCompletionRequest) (Reply, error) {
	if req.Model == "" {
		req.Model = c.ep.Model
	}
	req = c.ep.shape(req)
	var key string
	if c.ep.Cache != nil {
		var err error
		if key, err = CacheKey(req); err != nil {
			return Reply{}, c.callErr(req.Model, 0, err)
		}
		reply, found, err := c.ep.Cache.lookup(ctx, c.role, key, req)
		if err != nil {
			return Reply{}, c.callErr(req.Model, 0, err)
		}
		if found {
			return reply, nil
		}
	}
	start := time.Now()
	nextAttempt, end := c.ep.Watch.begin(c.role, req.Model)
	defer end()
	var (
		lastErr    error
		lastBody   string // the last attempt's error body, to tell a repeated server fault
		lastStatus int
		retryAt    time.Time // from the last attempt's Retry-After
		attempts   int
	)
	noWait := false
	for attempt := 0; attempt <= max(c.ep.MaxRetries, 0); attempt++ {
		if attempt > 0 && !noWait {
			if err := sleep(ctx, c.retryWait(attempt, retryAt)); err != nil {
				return Reply{}, c.callErr(req.Model, attempts, fmt.Errorf("wait to retry: %w (last error: %v)", err, lastErr))
			}
		}
		permit, err := c.ep.Limiter.acquire(ctx)
		if err != nil {
			if lastErr != nil {
				err = fmt.Errorf("%w (last error: %v)", err, lastErr)
			}
			return Reply{}, c.callErr(req.Model, attempts, err)
		}
		attempts++
		nextAttempt(attempts)
		hint := &retryHint{}
		level := c.format.level.Load()
		reply, err := c.once(withRetryHint(ctx, hint), req)
		permit.Release(outcomeOf(err))
		retryAt = hint.get()
		noWait = false
		if err != nil && req.ResponseFormat != nil && rejectsFormat(err) && c.stepDownFrom(level, err) {
			// Not the request's fault: the same request in a form the
			// server takes is sent at once, and costs no retry.
			lastErr, lastStatus, lastBody = err, 0, ""
			noWait = true
			attempt--
			continue
		}
		if err != nil {
			if status, body := errorBody(err); serverFault(status) && body != "" && status == lastStatus && body == lastBody {
				// A server that answers the same error twice has a fault
				// no wait will cure (a chat template that rejects the
				// request, say); more attempts would only repeat it.
				lastErr = fmt.Errorf("%w (the server answered this same HTTP %d error twice, so it is not retried as transient)", err, status)
				break
			}
			lastErr = err
			lastStatus, lastBody = errorBody(err)
			if ctx.Err() != nil || !Retryable(err) {
				break
			}
			continue
		}
		reply.Latency = time.Since(start)
		reply.Attempts = attempts
		if c.ep.Cache != nil {
			if err := c.ep.Cache.put(ctx, key, req, reply); err != nil {
				// The reply is paid for and good; only a later run loses.
				c.ep.Log.Warn("could not cache a reply", "role", c.role, "error", err)
			}
		}
		return reply, nil
	}
	return Reply{}, c.callErr(req.Model, attempts, lastErr)
}

// stepDownFrom moves the client's structured-output form on from level
// after err rejected it; true when the request should be sent again (the
// form is already past level, or was moved now).
func (c *Client) stepDownFrom(level int32, err error) bool {
	if c.format.level.Load() > level {
		return true
	}
	if !c.format.stepDown(level) {
		return c.format.level.Load() > level
	}
	_, body := errorBody(err)
	c.ep.Log.Warn("server rejected the response_format; sending the next form for the rest of this run",
		"role", c.role, "endpoint", c.where, "model", c.ep.Model,
		"rejected", formatLevels[level], "now", formatLevels[level+1], "error", clipText(body, 200))
	return true
}

// callErr wraps the final error of a call with where it went, and scrubs
// the API key from it: a server may echo the key (say, in a 401 message),
// and the error travels into logs and failed rows.
func (c *Client) callErr(model string, attempts int, err error) error {
	err = fmt.Errorf("%s call to %s (model %s) failed after %d attempt(s): %w", c.role, c.where, model, attempts, err)
	if key := c.ep.APIKey; key != "" && strings.Contains(err.Error(), key) {
		// The cause cannot be kept for errors.As without keeping the key
		// reachable, so only the scrubbed text survives.
		err = errors.New(strings.ReplaceAll(err.Error(), key, "[REDACTED]"))
	}
	return &CallError{Attempts: attempts, err: err}
}

// CallError is the error of a call that failed: the last attempt's error,
// with how many attempts were made.
type CallError struct {
	Attempts int
	err      error
}

func (e *CallError) Error() string { return e.err.Error() }
func (e *CallError) Unwrap() error { return e.err }

// AttemptsOf is the number of attempts a failed call made, 0 when err did
// not come from a Client.
func AttemptsOf(err error) int {
	var ce *CallError
	if errors.As(err, &ce) {
		return ce.Attempts
	}
	return 0
}

// serverFault is a 5xx that says the server itself failed, not that it is
// overloaded or a gateway lost it (502, 503, 504 pass by themselves).
func serverFault(status int) bool {
	switch status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return false
	}
	return status >= 500
}

// errorBody is the HTTP status of a failed attempt and what the server said,
// as far as go-openai kept it.
func errorBody(err error) (int, string) {
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) {
		return apiErr.HTTPStatusCode, apiErr.Message
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) {
		return reqErr.HTTPStatusCode, string(reqErr.Body)
	}
	return 0, ""
}

// retryWait is how long to wait before attempt n (n >= 1): the backoff, or
// the server's Retry-After when it asks for longer, never above BackoffCap.
func (c *Client) retryWait(n int, retryAt time.Time) time.Duration {
	wait := backoff(n, c.ep.BackoffBase, c.ep.BackoffCap)
	if !retryAt.IsZero() {
		wait = max(wait, time.Until(retryAt))
	}
	return min(max(wait, 0), c.ep.BackoffCap)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// outcomeOf classifies an attempt for the limiter: only 429 and 503 say the
// server is overloaded.
func outcomeOf(err error) Outcome {
	if err == nil {
		return OutcomeSuccess
	}
	switch statusOf(err) {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return OutcomeOverload
	}
	return OutcomeOther
}

// statusOf is the HTTP status of a go-openai error, or 0.
func statusOf(err error) int {
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) {
		return apiErr.HTTPStatusCode
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) {
		return reqErr.HTTPStatusCode
	}
	return 0
}

// acquire is Acquire on a possibly nil limiter.
func (l *Limiter) acquire(ctx context.Context) (Permit, error) {
	if l == nil {
		return Permit{}, nil
	}
	return l.Acquire(ctx)
}

// once makes one attempt and normalises the reply's shape.
func (c *Client) once(ctx context.Context, req openai.ChatCompletionRequest) (Reply, error) {
	var reply Reply
	if c.ep.Stream {
		r, err := c.onceStream(ctx, req)
		if err != nil {
			return Reply{}, err
		}
		reply = r
	} else {
		resp, err := c.api.CreateChatCompletion(ctx, req)
		if err != nil {
			return Reply{}, err
		}
		if len(resp.Choices) == 0 {
			return Reply{}, errEmptyChoices
		}
		ch := resp.Choices[0]
		reply = Reply{Message: ch.Message, FinishReason: string(ch.FinishReason), Usage: resp.Usage}
	}
	SplitThink(&reply.Message)
	if len(req.Tools) > 0 {
		ExtractTextToolCalls(&reply.Message)
	}
	estimateUsage(req, &reply)
	return reply, nil
}

var errEmptyChoices = errors.New("response has no choices")

// Retryable tells transient failures from permanent ones: HTTP 408, 409,
// 425, 429 and 5xx, network errors (refused, reset, timed out), a body cut
// short or not JSON (a proxy's error page), and a reply without choices are
// worth another try; any other HTTP status (400, 401, 403, 404, 422, ...) is
// not, since the same request would fail the same way.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, errEmptyChoices) || errors.Is(err, errStreamCut) {
		return true
	}
	if code := statusOf(err); code != 0 {
		return retryableStatus(code)
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) {
		return true // no status: the request never got an answer
	}
	if errors.Is(err, context.Canceled) {
		// The caller gave up; retrying would only be cancelled again. (A
		// client timeout is a deadline, and a net.Error, and is retried.)
		return false
	}
	var (
		netErr    net.Error
		syntaxErr *json.SyntaxError
	)
	switch {
	case errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE),
		errors.As(err, &syntaxErr):
		return true
	}
	// Some transports and decoders flatten the cause into the text.
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
func backoff(attempt int, base, limit time.Duration) time.Duration {
	d := base << (attempt - 1)
	if d > limit || d <= 0 {
		d = limit
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// roleTransport names the role on every request and reports a 429's or
// 503's Retry-After to the retry loop.
type roleTransport struct {
	role string
	next http.RoundTripper
}

func (t roleTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(RoleHeader, t.role)
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if h, ok := r.Context().Value(retryHintKey{}).(*retryHint); ok {
			if at, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				h.set(at)
			}
		}
	}
	return resp, nil
}

// retryHint carries a Retry-After from the transport to the retry loop:
// go-openai's errors do not keep the response headers, so the transport,
// which sees them, writes the time into the holder the loop put in the
// request's context.
type retryHint struct {
	mu sync.Mutex
	at time.Time
}

func (h *retryHint) set(t time.Time) {
	h.mu.Lock()
	h.at = t
	h.mu.Unlock()
}

func (h *retryHint) get() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.at
}

type retryHintKey struct{}

func withRetryHint(ctx context.Context, h *retryHint) context.Context {
	return context.WithValue(ctx, retryHintKey{}, h)
}

// parseRetryAfter reads a Retry-After value, delay-seconds or HTTP-date
// (RFC 9110 §10.2.3), as the time to retry at; ok is false when v is neither.
func parseRetryAfter(v string, now time.Time) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return time.Time{}, false
		}
		// A huge value would overflow the Duration; BackoffCap bounds the
		// wait anyway, so a day stands for "very long".
		return now.Add(time.Duration(min(secs, 86400)) * time.Second), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t, true
	}
	return time.Time{}, false
}
