package oracle

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/trajectory"
)

// startOracle serves cfg on loopback for the duration of the test.
func startOracle(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := Start(t.Context(), cfg, "")
	if err != nil {
		t.Fatalf("start oracle: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("close oracle: %v", err)
		}
	})
	return s
}

// client is the production client for role, pointed at s, without retries so
// that a failure shows at once.
func client(s *Server, role string) *llm.Client {
	return llm.New(role, llm.Endpoint{BaseURL: s.URL(), Model: "oracle", Timeout: 10 * time.Second})
}

// agentTools are the function schemas of the MiroThinker profile, as the
// pipeline offers them in function-calling mode.
func agentTools() []openai.Tool {
	return []openai.Tool{
		{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
			Name:        trajectory.ToolGoogleSearch,
			Description: "Search the web.",
			Parameters:  json.RawMessage(`{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}`),
		}},
		{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
			Name:        trajectory.ToolScrape,
			Description: "Read a page and extract information.",
			Parameters: json.RawMessage(`{"type":"object","properties":{"url":{"type":"string"},` +
				`"info_to_extract":{"type":"string"}},"required":["url","info_to_extract"]}`),
		}},
	}
}

// linkOf is the fake corpus URL of a title.
func linkOf(title string) string {
	return "https://corpus.example/wiki/" + strings.ReplaceAll(title, " ", "_")
}

// serperJSON renders a Serper-shaped search result with the given titles.
func serperJSON(t *testing.T, q string, titles ...string) string {
	t.Helper()
	type organic struct {
		Title    string `json:"title"`
		Link     string `json:"link"`
		Snippet  string `json:"snippet"`
		Position int    `json:"position"`
	}
	res := struct {
		Organic          []organic         `json:"organic"`
		SearchParameters map[string]string `json:"searchParameters"`
	}{Organic: []organic{}, SearchParameters: map[string]string{"q": q, "engine": "test"}}
	for i, title := range titles {
		res.Organic = append(res.Organic, organic{Title: title, Link: linkOf(title), Snippet: "About " + title + ".", Position: i + 1})
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatalf("encode search result: %v", err)
	}
	return string(b)
}

// toolCall is a call the oracle made, as the tool side saw it.
type toolCall struct {
	Name string
	Args map[string]string
}

func (c toolCall) String() string {
	if c.Name == trajectory.ToolGoogleSearch {
		return "search(" + c.Args["q"] + ")"
	}
	return "scrape(" + c.Args["url"] + ")"
}

// rollout is the test acting as the tool side of one agent conversation.
type rollout struct {
	t      *testing.T
	client *llm.Client
	mode   string
	seed   int
	msgs   []openai.ChatCompletionMessage
	// search answers google_search; the default returns a distractor first
	// and the exact title second, so that picking by title is exercised.
	search func(q string) string
	// scrape, when set, answers scrape_and_extract_info; the default echoes
	// the link and the request.
	scrape func(url, info string) string
	// keep, when > 0, replaces all but the last keep tool results with the
	// retention placeholder before every request, as the agent's context
	// policy does.
	keep int

	// noTools leaves the tools out of the request, as the summary turn does.
	noTools bool

	calls   []toolCall
	replies []llm.Reply
}

func newRollout(t *testing.T, c *llm.Client, mode string, seed int, question string) *rollout {
	r := &rollout{t: t, client: c, mode: mode, seed: seed}
	r.msgs = []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: "You are a research agent. Use the tools to answer."},
		{Role: openai.ChatMessageRoleUser, Content: question},
	}
	r.search = func(q string) string { return serperJSON(t, q, q+" (disambiguation)", q) }
	return r
}

const omitted = "Tool result is omitted to save tokens."

func (r *rollout) request() openai.ChatCompletionRequest {
	msgs := make([]openai.ChatCompletionMessage, len(r.msgs))
	copy(msgs, r.msgs)
	if r.keep > 0 {
		var results []int
		for i, m := range msgs {
			if i > 1 && (m.Role == openai.ChatMessageRoleTool || (m.Role == openai.ChatMessageRoleUser && r.mode == trajectory.ModeMCP)) {
				results = append(results, i)
			}
		}
		for _, i := range results[:max(0, len(results)-r.keep)] {
			msgs[i].Content = omitted
		}
	}
	seed := r.seed
	req := openai.ChatCompletionRequest{Messages: msgs, Seed: &seed}
	if r.mode == trajectory.ModeFunction && !r.noTools {
		req.Tools = agentTools()
	}
	return req
}

// send makes one request and records the reply as the next assistant message.
func (r *rollout) send() llm.Reply {
	r.t.Helper()
	rep, err := r.client.Chat(r.t.Context(), r.request())
	if err != nil {
		r.t.Fatalf("turn %d: %v", len(r.replies), err)
	}
	r.replies = append(r.replies, rep)
	r.msgs = append(r.msgs, rep.Message)
	return rep
}

var reMCPCall = regexp.MustCompile(`(?s)<use_mcp_tool>\n<server_name>([^<]*)</server_name>\n<tool_name>([^<]*)</tool_name>\n<arguments>\n(.*?)\n</arguments>\n</use_mcp_tool>$`)

// run drives the conversation until the oracle answers without a tool call
// and returns that answer's content.
func (r *rollout) run() string {
	r.t.Helper()
	for range 40 {
		if final, done := r.step(); done {
			return final
		}
	}
	r.t.Fatalf("no final answer after 40 turns; calls: %v", r.calls)
	return ""
}

// step makes one turn: a request, then the tool's result if the oracle
// called one. done reports a final answer, returned as final.
func (r *rollout) step() (final string, done bool) {
	r.t.Helper()
	rep := r.send()
	var name, args, id string
	switch r.mode {
	case trajectory.ModeFunction:
		if len(rep.Message.ToolCalls) == 0 {
			return rep.Message.Content, true
		}
		if len(rep.Message.ToolCalls) != 1 {
			r.t.Fatalf("want one tool call per message, got %d", len(rep.Message.ToolCalls))
		}
		tc := rep.Message.ToolCalls[0]
		name, args, id = tc.Function.Name, tc.Function.Arguments, tc.ID
	default:
		m := reMCPCall.FindStringSubmatch(rep.Message.Content)
		if m == nil {
			if _, calls, _ := trajectory.SplitMCP(rep.Message.Content); len(calls) > 0 {
				r.t.Fatalf("malformed MCP call:\n%s", rep.Message.Content)
			}
			return rep.Message.Content, true
		}
		wantServer := trajectory.ServerSearch
		if m[2] == trajectory.ToolScrape {
			wantServer = trajectory.ServerScrape
		}
		if m[1] != wantServer {
			r.t.Errorf("tool %s on server %q, want %q", m[2], m[1], wantServer)
		}
		name, args = m[2], m[3]
	}
	var a map[string]string
	if err := json.Unmarshal([]byte(args), &a); err != nil {
		r.t.Fatalf("arguments of %s are not a JSON object of strings: %q: %v", name, args, err)
	}
	r.calls = append(r.calls, toolCall{Name: name, Args: a})
	var result string
	switch name {
	case trajectory.ToolGoogleSearch:
		result = r.search(a["q"])
	case trajectory.ToolScrape:
		result = fmt.Sprintf("Page at %s. It wants: %s", a["url"], a["info_to_extract"])
		if r.scrape != nil {
			result = r.scrape(a["url"], a["info_to_extract"])
		}
	default:
		result = "[ERROR]: unknown tool " + name
	}
	if r.mode == trajectory.ModeFunction {
		r.msgs = append(r.msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleTool, Content: result, ToolCallID: id})
	} else {
		r.msgs = append(r.msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: result})
	}
	return "", false
}

// summary asks for the final answer the way the agent's summary turn does.
// Like the agent's, it offers no tools.
func (r *rollout) summary() llm.Reply {
	r.msgs = append(r.msgs, openai.ChatCompletionMessage{
		Role:    openai.ChatMessageRoleUser,
		Content: "Summarise what you found and give your final answer.",
	})
	r.noTools = true
	defer func() { r.noTools = false }()
	return r.send()
}

// callStrings renders calls for comparison.
func callStrings(calls []toolCall) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.String()
	}
	return out
}
