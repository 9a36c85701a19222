package oracle

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"

	"github.com/miroverse/miroverse/trajectory"
	openai "github.com/sashabaranov/go-openai"
)

// maxQueryRunes bounds the fallback search query made from a question the
// teacher has no key for; search engines take short queries.
const maxQueryRunes = 200

// pythonRate is the fraction of rollouts (by seed) that, when the request
// offers run_python_code, write the trail down in a sandbox before
// answering, so that a dataset made with the oracle holds real sandbox calls.
const pythonRate = 0.25

// reSandboxID finds the id in a create_sandbox result.
var reSandboxID = regexp.MustCompile(`sandbox_id: (\S+)`)

// call is one tool call found in the conversation, with the result that came
// back for it (if any).
type call struct {
	id        string
	name      string
	args      string
	result    string
	hasResult bool
}

// conversation is what the teacher reads from an agent request.
type conversation struct {
	mode  string
	first string // the first user message: the question prompt
	calls []call
	// last is the content of the last message when that message is a tool
	// result; the next scrape takes its link from there.
	last    string
	hasLast bool
	// summary is set when the request is the summary turn: the last message
	// is a user message answering an assistant message without a tool call.
	summary bool
	// python: the agent is offered run_python_code (in the tools field, or
	// in MCP mode in the system prompt's tool list).
	python bool
	// functions maps a tool to the function name the request's schemas
	// give it (function mode).
	functions map[string]string
}

// functionName is the offered function name of tool; the tool name itself
// when the schemas do not list it.
func (c conversation) functionName(tool string) string {
	if n, ok := c.functions[tool]; ok {
		return n
	}
	return tool
}

// readConversation derives the state of a rollout from its messages alone,
// so the teacher keeps no memory between requests and any turn can be
// replayed on its own.
func readConversation(req *openai.ChatCompletionRequest) (conversation, error) {
	c := conversation{mode: trajectory.ModeMCP}
	if len(req.Tools) > 0 {
		c.mode = trajectory.ModeFunction
	}
	// The summary turn is sent without tools, but its native calls and tool
	// messages still say the conversation is in function-calling mode; read
	// as MCP it would show no calls, and a failing rollout, which answers
	// from the pages its calls read, would box another answer than the one
	// it gave.
	for _, m := range req.Messages {
		if len(m.ToolCalls) > 0 || m.Role == openai.ChatMessageRoleTool {
			c.mode = trajectory.ModeFunction
		}
	}
	c.functions = map[string]string{}
	for _, t := range req.Tools {
		if t.Function == nil {
			continue
		}
		_, tool := trajectory.SplitFunctionName(t.Function.Name)
		c.functions[tool] = t.Function.Name
		c.python = c.python || tool == trajectory.ToolRunPython
	}
	msgs := req.Messages
	for _, m := range msgs {
		if c.mode == trajectory.ModeMCP && m.Role == openai.ChatMessageRoleSystem && strings.Contains(messageText(m), trajectory.ToolRunPython) {
			c.python = true
		}
	}
	firstIdx := -1
	for i, m := range msgs {
		if m.Role == openai.ChatMessageRoleUser {
			firstIdx = i
			c.first = messageText(m)
			break
		}
	}
	if firstIdx < 0 {
		return c, badRequestf("agent request has no user message (the question)")
	}
	// pending counts the calls of the latest assistant message still
	// waiting for their results. In MCP mode one user message answers all
	// of them; a user message with nothing pending is a turn of the user.
	pending, seenAssistant := 0, false
	lastIsResult, lastIsUserTurn := false, false
	for i := firstIdx + 1; i < len(msgs); i++ {
		m := msgs[i]
		lastIsResult, lastIsUserTurn = false, false
		switch m.Role {
		case openai.ChatMessageRoleAssistant:
			calls := assistantCalls(m, c.mode)
			c.calls = append(c.calls, calls...)
			seenAssistant, pending = true, len(calls)
		case openai.ChatMessageRoleTool:
			if c.mode == trajectory.ModeFunction {
				attachResult(c.calls, m.ToolCallID, messageText(m))
				pending = max(0, pending-1)
				lastIsResult = true
			}
		case openai.ChatMessageRoleUser:
			if trajectory.IsSummaryRequest(messageText(m)) {
				// The request says what it is; it may follow a call whose
				// result the agent removed before asking.
				pending, lastIsUserTurn = 0, true
				continue
			}
			if c.mode == trajectory.ModeMCP && pending > 0 {
				// One user message answers every call of the message
				// before it, their results joined in call order.
				for k := len(c.calls) - pending; k < len(c.calls); k++ {
					c.calls[k].result, c.calls[k].hasResult = messageText(m), true
				}
				pending = 0
				lastIsResult = true
			} else {
				lastIsUserTurn = true
			}
		}
	}
	if lastIsResult {
		c.last, c.hasLast = messageText(msgs[len(msgs)-1]), true
	}
	// The summary turn is recognised by shape: a user turn after the
	// assistant has spoken. The plain case is a user message right after an
	// assistant message without a call; a user message after the last tool
	// result (a harness that cuts a rollout short) is the same request.
	c.summary = lastIsUserTurn && seenAssistant
	return c, nil
}

// assistantCalls lists the tool calls of one assistant message in the
// conversation's mode.
func assistantCalls(m openai.ChatCompletionMessage, mode string) []call {
	if mode == trajectory.ModeFunction {
		out := make([]call, 0, len(m.ToolCalls))
		for _, tc := range m.ToolCalls {
			// Calls are read by tool, whatever the naming of the schemas.
			_, tool := trajectory.SplitFunctionName(tc.Function.Name)
			out = append(out, call{id: tc.ID, name: tool, args: tc.Function.Arguments})
		}
		return out
	}
	// A block the agent could not parse was rolled back and never reaches
	// the conversation.
	_, calls, err := trajectory.SplitMCP(messageText(m))
	if err != nil {
		return nil
	}
	out := make([]call, 0, len(calls))
	for _, mc := range calls {
		out = append(out, call{name: mc.Tool, args: mc.Arguments})
	}
	return out
}

// attachResult gives a tool result to the call it answers: the call with its
// id, else the earliest call still waiting for one.
func attachResult(calls []call, id, result string) {
	if id != "" {
		for i := range calls {
			if calls[i].id == id && !calls[i].hasResult {
				calls[i].result, calls[i].hasResult = result, true
				return
			}
		}
	}
	for i := range calls {
		if !calls[i].hasResult {
			calls[i].result, calls[i].hasResult = result, true
			return
		}
	}
}

// decision is what a rollout decides once, at its start. It is drawn from a
// PRNG seeded by the request's seed and the question, so every turn of the
// same rollout draws the same values and different rollouts differ.
type decision struct {
	wrong  bool
	detour bool
	topic  string
	python bool // use the sandbox, if offered
	// failure is how a wrong rollout goes wrong (failWrongTurn,
	// failEarlyStop, failMisread) and at is where, a fraction of the path
	// turned into a hop by failureOf once the path's length is known.
	failure string
	at      float64
}

func decide(seed int, question string, cfg Config) decision {
	q := sha256.Sum256([]byte(question))
	var buf [8 + sha256.Size]byte
	binary.LittleEndian.PutUint64(buf[:8], uint64(seed))
	copy(buf[8:], q[:])
	// Hashing seed and question together spreads consecutive seeds over the
	// PCG state space; feeding them in raw would start nearby rollouts from
	// nearby states.
	k := sha256.Sum256(buf[:])
	rng := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(k[0:8]), binary.LittleEndian.Uint64(k[8:16])))
	d := decision{}
	d.wrong = rng.Float64() < cfg.ErrorRate
	d.detour = rng.Float64() < cfg.DetourRate
	topics := detourTopics()
	d.topic = topics[rng.IntN(len(topics))]
	// Drawn last, so that the draws before it, and with them every rollout
	// made before the sandbox tools existed, stay as they were.
	d.python = rng.Float64() < pythonRate
	// Drawn after everything else for the same reason: the choices above
	// stay those of the rollouts made before failures had kinds.
	d.failure = failureModes[rng.IntN(len(failureModes))]
	d.at = rng.Float64()
	return d
}

// detourTopics are generic searches a curious agent might make before
// narrowing down; they lead nowhere on purpose.
func detourTopics() []string {
	return []string{
		"history of the printing press",
		"list of largest cities by population",
		"timeline of scientific discoveries",
		"longest rivers of the world",
		"famous architects of the twentieth century",
		"host cities of the Olympic Games",
		"overview of World Heritage Sites",
		"origins of the modern calendar",
	}
}

// step is one planned tool call.
type step struct {
	tool  string
	query string // google_search: the query
	title string // the title the step is about ("" for a detour)
	last  bool   // the step is about the doc the rollout takes for the answer
	code  string // run_python_code: the code
	// from is the page a failing rollout's search starts out from: the
	// page it read last (a search for what that page leads to) or, with
	// misread, the page it misread.
	from    string
	misread bool
}

// plan is the teacher's route through a question: an optional detour, then
// a search and a scrape for every doc of the path, then, when d.python, a
// sandbox in which it lists the trail.
func plan(sol Solution, d decision) []step {
	var steps []step
	if d.detour {
		topic := d.topic
		for _, t := range sol.Path {
			if strings.EqualFold(t, topic) {
				topic = "general reference works"
			}
		}
		steps = append(steps, step{tool: trajectory.ToolGoogleSearch, query: topic})
	}
	for i, t := range sol.Path {
		last := i == len(sol.Path)-1
		steps = append(steps,
			step{tool: trajectory.ToolGoogleSearch, query: t, title: t, last: last},
			step{tool: trajectory.ToolScrape, title: t, last: last})
	}
	if d.python && len(sol.Path) > 0 {
		steps = append(steps, step{tool: trajectory.ToolCreateSandbox}, step{tool: trajectory.ToolRunPython, code: trailCode(sol.Path)})
	}
	return steps
}

// trailCode is a short program that prints the trail and its hop count. A
// JSON array of strings is also a Python list literal.
func trailCode(path []string) string {
	b, err := json.Marshal(path)
	if err != nil {
		b = []byte("[]") // strings always encode; unreachable
	}
	return "trail = " + string(b) + "\n" +
		"for i, title in enumerate(trail, 1):\n" +
		"    print(f\"{i}. {title}\")\n" +
		"print(f\"{len(trail) - 1} hops from {trail[0]} to {trail[-1]}\")\n"
}

// skippable steps are left out when their input is missing (no link to
// read, no sandbox to run in), so replay must not count them when the
// conversation shows another call in their place.
func skippable(tool string) bool {
	return tool == trajectory.ToolScrape || tool == trajectory.ToolRunPython
}

// next returns the step to take now and, for a scrape, the link to read (for
// run_python_code, the sandbox id); done means the plan is complete. Progress is replayed from the calls already
// made: a planned scrape that the conversation shows was skipped (the next
// call made was not a scrape) is skipped again. Replaying the calls rather
// than re-reading old results keeps progress right when the agent's context
// policy has replaced old tool results with a placeholder.
func next(steps []step, calls []call, last string, hasLast bool) (step, string, bool) {
	st, arg, _, done := advance(steps, calls, last, hasLast)
	return st, arg, done
}

// advance is next that also says, once the plan is complete, how many of the
// calls it accounts for, so that a failing rollout knows where its own
// route begins.
func advance(steps []step, calls []call, last string, hasLast bool) (step, string, int, bool) {
	k := 0
	for _, st := range steps {
		if k < len(calls) {
			if skippable(st.tool) && calls[k].name != st.tool {
				continue
			}
			k++
			continue
		}
		if st.tool == trajectory.ToolRunPython {
			m := reSandboxID.FindStringSubmatch(last)
			if !hasLast || strings.HasPrefix(last, trajectory.ToolErrorPrefix) || m == nil {
				continue // no sandbox was made: answer without it
			}
			return st, m[1], k, false
		}
		if st.tool == trajectory.ToolScrape {
			if !hasLast {
				continue
			}
			link, ok := pickLink(last, st.title)
			if !ok {
				continue // nothing to read: move on to the next doc
			}
			return st, link, k, false
		}
		return st, "", k, false
	}
	return step{}, "", k, true
}

// searchResult is the Serper-shaped JSON the search tool returns.
type searchResult struct {
	Organic []struct {
		Title    string `json:"title"`
		Link     string `json:"link"`
		Snippet  string `json:"snippet"`
		Position int    `json:"position"`
	} `json:"organic"`
}

// parseSearch reads a search result; errors and unparsable text give none.
func parseSearch(result string) searchResult {
	var r searchResult
	s := strings.TrimSpace(result)
	if s == "" || strings.HasPrefix(s, trajectory.ToolErrorPrefix) {
		return r
	}
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return searchResult{}
	}
	return r
}

// pickLink chooses the link to read from a search result: the entry whose
// title is the wanted title (case-insensitive), else the first entry.
func pickLink(result, title string) (string, bool) {
	r := parseSearch(result)
	first := ""
	for _, o := range r.Organic {
		link := strings.TrimSpace(o.Link)
		if link == "" {
			continue
		}
		if strings.EqualFold(strings.TrimSpace(o.Title), strings.TrimSpace(title)) {
			return link, true
		}
		if first == "" {
			first = link
		}
	}
	return first, first != ""
}

// agent is the scripted teacher.
func (h *handler) agent(req *openai.ChatCompletionRequest) (turn, error) {
	c, err := readConversation(req)
	if err != nil {
		return turn{}, err
	}
	var sol Solution
	found := false
	if h.cfg.Keys != nil {
		sol, found = h.cfg.Keys.Lookup(c.first)
	}
	if !found {
		return unkeyed(c)
	}
	seed := 0
	if req.Seed != nil {
		seed = *req.Seed
	}
	d := decide(seed, c.first, h.cfg)
	d.python = d.python && c.python
	if d.wrong && len(sol.Path) > 0 {
		return failingTurn(c, sol, d)
	}
	answer := finalAnswer(sol, d.wrong)
	if c.summary {
		return boxTurn(answer), nil
	}
	st, link, done := next(plan(sol, d), c.calls, c.last, c.hasLast)
	if done {
		return answerTurn(answer, sol.Path, len(c.calls)), nil
	}
	return toolTurn(c, len(c.calls), st, link)
}

// finalAnswer is the title the rollout ends on: the gold answer, or for a
// failing rollout the key's wrong answer, falling back to the latest other
// title of the path so that a failing rollout still names something
// plausible.
func finalAnswer(sol Solution, wrong bool) string {
	if !wrong {
		return sol.Answer
	}
	if w := strings.TrimSpace(sol.Wrong); w != "" && !strings.EqualFold(w, strings.TrimSpace(sol.Answer)) {
		return w
	}
	for i := len(sol.Path) - 1; i >= 0; i-- {
		t := strings.TrimSpace(sol.Path[i])
		if t != "" && !strings.EqualFold(t, strings.TrimSpace(sol.Answer)) {
			return t
		}
	}
	return "unknown"
}

// unkeyed answers a question the teacher has no key for: one search with the
// question, then the first result's title as a best guess.
func unkeyed(c conversation) (turn, error) {
	guess := "unknown"
	if len(c.calls) > 0 {
		r := parseSearch(c.calls[0].result)
		for _, o := range r.Organic {
			if t := strings.TrimSpace(o.Title); t != "" {
				guess = t
				break
			}
		}
	}
	if c.summary {
		return boxTurn(guess), nil
	}
	if len(c.calls) == 0 {
		q := clipRunes(collapseSpaces(c.first), maxQueryRunes)
		return toolTurn(c, 0, step{tool: trajectory.ToolGoogleSearch, query: q}, "")
	}
	return turn{
		content:   fmt.Sprintf(`I could not trace this question further; my best guess from the search is \boxed{%s}.`, guess),
		reasoning: "The search gave no clear trail, so I take the top result as my best guess.",
		finish:    openai.FinishReasonStop,
	}, nil
}

func boxTurn(answer string) turn {
	return turn{content: `\boxed{` + answer + `}`, finish: openai.FinishReasonStop}
}

func answerTurn(answer string, path []string, calls int) turn {
	return answerTurnWhy(answer, path, calls, "")
}

// answerTurnWhy is answerTurn with the reasoning given, unless why is "".
func answerTurnWhy(answer string, path []string, calls int, why string) turn {
	reasoning := fmt.Sprintf("I have made %d tool calls and read the pages along the trail; they point to %s.", calls, answer)
	switch {
	case why != "":
		reasoning = why
	case len(path) > 1:
		reasoning = fmt.Sprintf("Following the links from %s through to %s, the pages I read point to %s.",
			path[0], path[len(path)-1], answer)
	}
	return turn{
		content:   fmt.Sprintf(`Based on the pages I read, the answer is \boxed{%s}.`, answer),
		reasoning: reasoning,
		finish:    openai.FinishReasonStop,
	}
}

// scrapeInfo is what the teacher asks the extractor for: how a page leads to
// the next doc, or, for the last doc, what identifies the answer.
func scrapeInfo(st step) string {
	if st.last {
		return infoPrefix + st.title + infoAnswer
	}
	return infoPrefix + st.title + infoOnward
}

// The parts of scrapeInfo's request. scrapedTitles reads the title back out
// of a call's arguments, which retention never omits, so a failing rollout
// knows the pages its own chain went through on every turn.
const (
	infoPrefix = "Facts about "
	infoAnswer = " that identify it as the answer to the question."
	infoOnward = " that connect it to the next step of the question."
)

// thoughts returns the visible thought and the reasoning of a tool turn.
func thoughts(st step, n int) (string, string) {
	switch {
	case st.tool == trajectory.ToolCreateSandbox:
		return "Before answering, let me write the trail down in a sandbox and check that it holds together.",
			"Listing every step of the trail in order makes a gap or a wrong turn easy to spot."
	case st.tool == trajectory.ToolRunPython:
		return "Let me list the trail and count its hops.",
			"A short script prints the steps in order and the number of hops."
	case st.tool == trajectory.ToolGoogleSearch && st.misread:
		return fmt.Sprintf("The page of %s names %s, which looks like the subject the question turns to next; let me search for it.", st.from, st.title),
			fmt.Sprintf("Of what the page of %s mentions, %s seems to fit the next clue best.", st.from, st.title)
	case st.tool == trajectory.ToolGoogleSearch && st.from != "" && !strings.EqualFold(st.from, st.title):
		return fmt.Sprintf("The page of %s leads on to %s; let me search for it.", st.from, st.title),
			fmt.Sprintf("The trail continues from %s, and %s is what it connects to.", st.from, st.title)
	case st.tool == trajectory.ToolGoogleSearch && st.from != "":
		return fmt.Sprintf("The page of %s points onward; let me search for what it leads to.", st.from),
			fmt.Sprintf("I am at %s now, so the next step should be something this page connects to.", st.from)
	case st.tool == trajectory.ToolGoogleSearch && st.title == "":
		return "Before following the clues, let me get some general background.",
			"A broad search first may give useful context for the question."
	case st.tool == trajectory.ToolGoogleSearch && n == 0:
		return fmt.Sprintf("Let me start by searching for %s.", st.title),
			fmt.Sprintf("The question's first clue points to %s; I should find its page.", st.title)
	case st.tool == trajectory.ToolGoogleSearch:
		return fmt.Sprintf("The trail leads on to %s; let me search for it.", st.title),
			fmt.Sprintf("The last page links to %s, the next step of the question.", st.title)
	case st.last:
		return fmt.Sprintf("This result for %s looks right; let me read it to confirm the answer.", st.title),
			fmt.Sprintf("Reading the page of %s should confirm that it fits every clue.", st.title)
	default:
		return fmt.Sprintf("This result for %s looks right; let me read it for the link onward.", st.title),
			fmt.Sprintf("The page of %s should say what it connects to next.", st.title)
	}
}

// toolTurn renders st as one tool call in the conversation's mode; n is the
// number of calls made before, which numbers the call's id. A function call
// takes the name the request's schemas give the tool, as a model calls what
// it was offered.
func toolTurn(c conversation, n int, st step, link string) (turn, error) {
	mode := c.mode
	content, reasoning := thoughts(st, n)
	var args []kv
	server := trajectory.ServerSearch
	switch st.tool {
	case trajectory.ToolScrape:
		server = trajectory.ServerScrape
		args = []kv{{"url", link}, {"info_to_extract", scrapeInfo(st)}}
	case trajectory.ToolCreateSandbox:
		server = trajectory.ServerPython
	case trajectory.ToolRunPython:
		server = trajectory.ServerPython
		args = []kv{{"code_block", st.code}, {"sandbox_id", link}}
	default:
		args = []kv{{"q", st.query}}
	}
	if mode == trajectory.ModeFunction {
		a, err := argsJSON(args, false)
		if err != nil {
			return turn{}, fmt.Errorf("encode %s arguments: %w", st.tool, err)
		}
		return turn{
			content:   content,
			reasoning: reasoning,
			calls: []openai.ToolCall{{
				ID:       fmt.Sprintf("call_%d", n),
				Type:     openai.ToolTypeFunction,
				Function: openai.FunctionCall{Name: c.functionName(st.tool), Arguments: a},
			}},
			finish: openai.FinishReasonToolCalls,
		}, nil
	}
	a, err := argsJSON(args, true)
	if err != nil {
		return turn{}, fmt.Errorf("encode %s arguments: %w", st.tool, err)
	}
	return turn{
		content:   content + "\n\n" + trajectory.FormatMCP(trajectory.MCPCall{Server: server, Tool: st.tool, Arguments: a}),
		reasoning: reasoning,
		finish:    openai.FinishReasonStop,
	}, nil
}
