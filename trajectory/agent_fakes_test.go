package trajectory_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/trajectory"
)

// memCorpus is an in-memory Corpus that records every call, so tests can
// prove a tool did or did not run.
type memCorpus struct {
	docs []kg.Doc

	mu       sync.Mutex
	searches []string
	fetches  []string
}

func newMemCorpus() *memCorpus {
	return &memCorpus{docs: []kg.Doc{
		{ID: "d1", Title: "Ada Lovelace", URL: "https://demo.wiki/Ada_Lovelace",
			Text: "Ada Lovelace was an English mathematician who worked with Charles Babbage on the Analytical Engine."},
		{ID: "d2", Title: "Charles Babbage", URL: "https://demo.wiki/Charles_Babbage",
			Text: "Charles Babbage was an English polymath who designed the Analytical Engine."},
		{ID: "d3", Title: "Analytical Engine", URL: "https://demo.wiki/Analytical_Engine",
			Text: "The Analytical Engine was a proposed mechanical general-purpose computer & a milestone."},
	}}
}

// Search ranks documents by how many query words they contain, then by
// title, which is enough ranking for tests.
func (c *memCorpus) Search(_ context.Context, query string, limit int) ([]kg.SearchHit, error) {
	c.mu.Lock()
	c.searches = append(c.searches, query)
	c.mu.Unlock()
	words := strings.Fields(strings.ToLower(query))
	var hits []kg.SearchHit
	for _, d := range c.docs {
		hay := strings.ToLower(d.Title + " " + d.Text)
		score := 0
		for _, w := range words {
			if strings.Contains(hay, w) {
				score++
			}
		}
		if score > 0 {
			hits = append(hits, kg.SearchHit{DocID: d.ID, Title: d.Title, URL: d.URL,
				Snippet: d.Text[:min(40, len(d.Text))], Score: float64(score)})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].Score != hits[j].Score {
			return hits[i].Score > hits[j].Score
		}
		return hits[i].Title < hits[j].Title
	})
	if len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, nil
}

func (c *memCorpus) DocByURL(_ context.Context, url string) (kg.Doc, error) {
	c.mu.Lock()
	c.fetches = append(c.fetches, url)
	c.mu.Unlock()
	for _, d := range c.docs {
		if d.URL == url {
			return d, nil
		}
	}
	return kg.Doc{}, fmt.Errorf("doc %s: %w", url, kg.ErrNotFound)
}

func (c *memCorpus) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.searches) + len(c.fetches)
}

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

// echoExtractor answers extractor calls with a fixed prefix and records the
// prompts it got.
type echoExtractor struct {
	err error

	mu      sync.Mutex
	prompts []string
}

func (e *echoExtractor) Chat(_ context.Context, req openai.ChatCompletionRequest) (llm.Reply, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.prompts = append(e.prompts, req.Messages[len(req.Messages)-1].Content)
	if e.err != nil {
		return llm.Reply{}, e.err
	}
	return llm.Reply{Message: openai.ChatCompletionMessage{Role: "assistant", Content: "EXTRACTED"}}, nil
}

func (e *echoExtractor) Model() string { return "extractor" }

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
