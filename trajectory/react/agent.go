// Package react runs the ReAct agent that writes the trajectories: think,
// call a tool, read its result, repeat, then give the final answer in a
// summary turn, under the guards and limits of the MiroThinker profile
// (DESIGN §3 "synthesize"). It owns the agent's prompts and their hash.
package react

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/boxed"
	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/internal/redact"
	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/toolset"
)

// Policy bounds and shapes one rollout. Start from DefaultPolicy and change
// fields: a zero KeepToolResults or MaxRollbacks is a real setting (keep no
// results, tolerate no rollback), not "use the default".
type Policy struct {
	Mode            string // trajectory.ModeFunction or ModeMCP; "" means ModeFunction
	KeepToolResults int    // tool results sent in full; older ones get the placeholder; -1 keeps all
	MaxTurns        int    // assistant replies before the summary turn is forced
	MaxTokens       int    // max output tokens per call
	// ContextTokens is the model's context window. Before every call the
	// prompt is estimated as ceil(chars/4) of what is sent, or the server's
	// last reported prompt_tokens when that is larger; the loop stops when
	// the estimate plus MaxTokens would not fit.
	ContextTokens int
	// Temperature and TopP are sent as they are; go-openai drops a 0 by
	// omitempty, so 0 means the server's default, not greedy decoding.
	Temperature, TopP float32
	// MaxRollbacks bounds the replies rolled back in a row (broken tool
	// tags, refusals, degenerate repetition, empty replies): the
	// MaxRollbacks-th consecutive rollback ends the rollout as failed with
	// FailReason "rollbacks". An accepted reply resets the count.
	MaxRollbacks int
	// BoxRule reads the final answer (boxed.MiroThinker when ""). Under
	// MiroThinker's rule a summary without a box takes the last box of the
	// earlier replies, as its agent does; under boxed.Strict only the reply
	// just before the summary is looked at.
	BoxRule boxed.Rule
	// Retention says which messages compete for the KeepToolResults slots
	// (trajectory.RetainMiroThinker when "": the summary request takes one).
	Retention string
	// SummaryAfterResult is SummaryDropResult (when "") or
	// SummaryKeepResult: what happens in MCP mode to a tool result that the
	// forced summary request would follow directly.
	SummaryAfterResult string
	// RepeatCalls is RepeatRollback (when "") or RepeatNotice: what a search
	// or scrape identical to an earlier one gets.
	RepeatCalls string
	// EmptySearch is EmptySearchRollback (when "") or EmptySearchKeep: what
	// a google_search without results gets.
	EmptySearch string
	// Today is the date the system prompt names ("Today is: …"). It comes
	// from config so that rows do not depend on the day they were made.
	Today string
}

// Choices of the Policy fields above. The first of each pair is
// MiroThinker's behaviour (apps/miroflow-agent/src/core/orchestrator.py).
const (
	// SummaryDropResult removes the last tool result before the summary
	// request, as MiroThinker does when the history ends with a user
	// message, so no two user messages follow each other.
	SummaryDropResult = "drop"
	SummaryKeepResult = "keep"
	// RepeatRollback rolls the reply back (its message leaves the log and
	// the model is asked again) while fewer than MaxRollbacks-1 rollbacks
	// came in a row, then lets the call run; RepeatNotice answers it with a
	// notice that stays in the trajectory.
	RepeatRollback = "rollback"
	RepeatNotice   = "notice"
	// EmptySearchRollback rolls back a reply whose google_search found
	// nothing, under the same limit; EmptySearchKeep keeps the empty result.
	EmptySearchRollback = "rollback"
	EmptySearchKeep     = "keep"
)

// DefaultToday is the date in the system prompt when none is configured.
const DefaultToday = "2025-10-01"

// Defaults of the MiroThinker profile (DESIGN §3 "limits").
const (
	defaultKeepToolResults = 5
	defaultMaxTurns        = 600
	defaultMaxTokens       = 16384
	defaultContextTokens   = 262144
	defaultMaxRollbacks    = 5
)

// DefaultPolicy is the MiroThinker profile in function-calling mode.
func DefaultPolicy() Policy {
	return Policy{
		Mode:            trajectory.ModeFunction,
		KeepToolResults: defaultKeepToolResults,
		MaxTurns:        defaultMaxTurns,
		MaxTokens:       defaultMaxTokens,
		ContextTokens:   defaultContextTokens,
		Temperature:     1.0,
		TopP:            0.95,
		MaxRollbacks:    defaultMaxRollbacks,
	}
}

// withDefaults fills the fields whose zero value cannot be meant.
func (p Policy) withDefaults() Policy {
	if p.Mode == "" {
		p.Mode = trajectory.ModeFunction
	}
	if p.MaxTurns <= 0 {
		p.MaxTurns = defaultMaxTurns
	}
	if p.MaxTokens <= 0 {
		p.MaxTokens = defaultMaxTokens
	}
	if p.ContextTokens <= 0 {
		p.ContextTokens = defaultContextTokens
	}
	if p.MaxRollbacks < 0 {
		p.MaxRollbacks = 0
	}
	if p.KeepToolResults < -1 {
		p.KeepToolResults = -1
	}
	if p.BoxRule == "" {
		p.BoxRule = boxed.MiroThinker
	}
	if p.Retention == "" {
		p.Retention = trajectory.RetainMiroThinker
	}
	if p.SummaryAfterResult == "" {
		p.SummaryAfterResult = SummaryDropResult
	}
	if p.RepeatCalls == "" {
		p.RepeatCalls = RepeatRollback
	}
	if p.EmptySearch == "" {
		p.EmptySearch = EmptySearchRollback
	}
	if p.Today == "" {
		p.Today = DefaultToday
	}
	return p
}

// Guard thresholds (DESIGN §3 "guards").
const (
	// repetitionTail and repetitionMax: a reply whose last repetitionTail
	// characters occur more than repetitionMax times in it is degenerate.
	repetitionTail = 50
	repetitionMax  = 5
	// summaryMinTokens is the least output room worth a summary call.
	summaryMinTokens = 1024
)

// Reasons a reply is rolled back; "repetition" also sets Rollout.Repetition
// when it ends the run.
const (
	rollbackRepetition   = "repetition"
	rollbackMalformed    = "malformed_tool_call"
	rollbackRefusal      = "refusal"
	rollbackEmpty        = "empty"
	rollbackTextToolCall = "text_tool_call"
	rollbackRepeatCall   = "repeat_call"
	rollbackEmptySearch  = "empty_search"
)

// Agent runs ReAct rollouts: think, call a tool, read its result, repeat,
// then answer in a summary turn. An Agent has no per-rollout state, so one
// value serves concurrent Run calls.
type Agent struct {
	LLM    llm.Chatter
	Tools  *toolset.Toolset
	Policy Policy
}

// Run solves task once. seed is sent with every request of the rollout, so
// a seeded server (the oracle, a response cache) replays it; a retry after a
// rollback sends seed+k for its k-th consecutive retry, because resending a
// byte-identical request to a seeded server would only return the rejected
// reply again.
//
// Every outcome of the rollout itself, including an unreachable LLM, is
// reported in the returned Rollout's Status and FailReason with a nil error.
// Run returns an error only when ctx ends (the partial rollout comes with
// it) or when the Agent is misconfigured.
func (a *Agent) Run(ctx context.Context, task trajectory.Task, seed int64) (trajectory.Rollout, error) {
	p := a.Policy.withDefaults()
	switch {
	case a.LLM == nil:
		return trajectory.Rollout{}, errors.New("agent: no LLM configured")
	case a.Tools == nil:
		return trajectory.Rollout{}, errors.New("agent: no toolset configured")
	case p.Mode != trajectory.ModeFunction && p.Mode != trajectory.ModeMCP:
		return trajectory.Rollout{}, fmt.Errorf("agent: unknown mode %q (want %q or %q)", p.Mode, trajectory.ModeFunction, trajectory.ModeMCP)
	case p.Retention != trajectory.RetainMiroThinker && p.Retention != trajectory.RetainResults:
		return trajectory.Rollout{}, fmt.Errorf("agent: unknown retention %q (want %q or %q)", p.Retention, trajectory.RetainMiroThinker, trajectory.RetainResults)
	case p.SummaryAfterResult != SummaryDropResult && p.SummaryAfterResult != SummaryKeepResult:
		return trajectory.Rollout{}, fmt.Errorf("agent: unknown summary-after-result choice %q (want %q or %q)", p.SummaryAfterResult, SummaryDropResult, SummaryKeepResult)
	case p.RepeatCalls != RepeatRollback && p.RepeatCalls != RepeatNotice:
		return trajectory.Rollout{}, fmt.Errorf("agent: unknown repeat-call choice %q (want %q or %q)", p.RepeatCalls, RepeatRollback, RepeatNotice)
	case p.EmptySearch != EmptySearchRollback && p.EmptySearch != EmptySearchKeep:
		return trajectory.Rollout{}, fmt.Errorf("agent: unknown empty-search choice %q (want %q or %q)", p.EmptySearch, EmptySearchRollback, EmptySearchKeep)
	}
	sess := a.Tools.Open()
	defer func() {
		// Removing a sandbox can only fail on the host side; the rollout
		// itself is complete, so this is not its error.
		_ = sess.Close()
	}()
	r := &agentRun{
		agent:    a,
		tools:    sess,
		p:        p,
		seed:     seed,
		seen:     map[string]bool{},
		schemas:  a.Tools.Schemas(),
		question: task.Question,
	}
	r.out = trajectory.Rollout{
		QAID:  task.QAID,
		Model: a.LLM.Model(),
		Mode:  p.Mode,
		Seed:  seed,
		Tools: a.Tools.SchemasJSON(),

		Role:        llm.RoleAgent,
		Temperature: p.Temperature,
		TopP:        p.TopP,
		MaxTokens:   p.MaxTokens,
		PromptHash:  PromptHash(),
	}
	r.out.ToolsHash = sha256Hex(r.out.Tools)
	if p.Mode == trajectory.ModeFunction {
		// The schemas travel with every function-mode request and take
		// context room like any message.
		r.schemaChars = utf8.RuneCountInString(r.out.Tools)
	}
	r.msgs = []trajectory.Message{
		{Role: openai.ChatMessageRoleSystem, Content: trajectory.Text(systemPrompt(p.Mode, a.Tools, p.Today))},
		{Role: openai.ChatMessageRoleUser, Content: trajectory.Text(taskPrompt(task.Question))},
	}
	err := r.run(ctx)
	r.out.Messages = r.msgs
	if err != nil {
		return r.out, fmt.Errorf("agent: rollout of %s: %w", task.QAID, err)
	}
	return r.out, nil
}

// agentRun is the state of one rollout.
type agentRun struct {
	agent       *Agent
	tools       *toolset.Session
	p           Policy
	seed        int64
	out         trajectory.Rollout
	msgs        []trajectory.Message // the full log
	seen        map[string]bool      // key of every call made (see repeatKey), for the repeat guard
	schemas     []openai.Tool
	schemaChars int
	question    string // repeated in the summary request

	consecutiveRollbacks int
	errRun               int // current run of consecutive tool errors
	lastPromptTokens     int // prompt_tokens of the last reply, for the context guard
	callSeq              int // numbers tool calls that came without an id
}

// run is the ReAct loop followed by the summary turn.
func (r *agentRun) run(ctx context.Context) error {
	for r.out.NumTurns < r.p.MaxTurns {
		if err := ctx.Err(); err != nil {
			return r.canceled(err)
		}
		send := trajectory.Retain(r.msgs, r.p.KeepToolResults, r.p.Mode, r.p.Retention)
		if r.estimate(send, true)+r.p.MaxTokens > r.p.ContextTokens {
			break // no room for another full reply: summarise now
		}
		reply, err := r.chat(ctx, send, true, r.p.MaxTokens)
		if err != nil {
			return r.llmFailed(ctx, err)
		}
		if why := r.rejectReason(reply); why != "" {
			if r.rollback(why) {
				return nil
			}
			continue
		}
		truncated := reply.FinishReason == string(openai.FinishReasonLength)
		var done bool
		var why string
		if r.p.Mode == trajectory.ModeFunction {
			done, why = r.functionTurn(ctx, reply, truncated)
		} else {
			done, why = r.mcpTurn(ctx, reply, truncated)
		}
		if err := ctx.Err(); err != nil {
			return r.canceled(err)
		}
		if why != "" {
			// The reply's calls were repeats or found nothing: it leaves
			// the log and the model is asked again. Fewer than
			// MaxRollbacks-1 came in a row (see runChecked), so this never
			// ends the rollout.
			r.rollback(why)
			continue
		}
		if truncated {
			r.out.Truncated = true
		}
		if done || truncated {
			break
		}
	}
	return r.summarize(ctx)
}

// rejectReason tells why a reply must be rolled back, "" when it is kept.
// A reply cut off by the length limit is kept whatever its tool tags look
// like (it ends the loop instead), except when it is degenerate.
func (r *agentRun) rejectReason(reply llm.Reply) string {
	m := reply.Message
	if isRepetitive(m.Content) || isRepetitive(m.ReasoningContent) {
		return rollbackRepetition
	}
	if reply.FinishReason == string(openai.FinishReasonLength) {
		return ""
	}
	hasCall := false
	if r.p.Mode == trajectory.ModeFunction {
		hasCall = len(m.ToolCalls) > 0
		if !hasCall && strings.Contains(m.Content, "<tool_call>") {
			// The server printed the call as text instead of parsing it:
			// running nothing and calling it a final answer would be wrong.
			return rollbackTextToolCall
		}
	} else {
		if len(m.ToolCalls) > 0 {
			// Native calls in MCP mode would leave calls without results
			// in the log; the model must use the text format.
			return rollbackMalformed
		}
		_, calls, err := trajectory.SplitMCP(m.Content)
		if err != nil {
			return rollbackMalformed
		}
		hasCall = len(calls) > 0
	}
	if hasCall {
		return ""
	}
	if strings.TrimSpace(m.Content) == "" {
		return rollbackEmpty
	}
	if isRefusal(m.Content) {
		return rollbackRefusal
	}
	return ""
}

// rollback counts a rejected reply and reports whether the rollout ends.
func (r *agentRun) rollback(reason string) bool {
	r.out.Rollbacks++
	r.consecutiveRollbacks++
	if r.consecutiveRollbacks < r.p.MaxRollbacks {
		return false
	}
	r.out.Status = trajectory.StatusFailed
	r.out.FailReason = trajectory.FailRollbacks
	if reason == rollbackRepetition {
		r.out.Repetition = true
	}
	return true
}

// functionTurn runs the calls of a native-function reply in order and, if
// none of them asks for a rollback, keeps the reply and their results. It
// reports whether the agent has finished (no tool call), or why the reply
// must be rolled back.
func (r *agentRun) functionTurn(ctx context.Context, reply llm.Reply, truncated bool) (bool, string) {
	calls := reply.Message.ToolCalls
	results := make([]string, len(calls))
	for i, tc := range calls {
		if truncated {
			// The API needs a result for every call; a call in a cut-off
			// reply is not run, since its arguments may be cut too.
			results[i] = truncatedCallNotice
			continue
		}
		if !r.offered(tc.Function.Name) {
			// Only the names in the request's schemas are calls: MiroFlow
			// splits "server-tool" names, so a bare name there (or a
			// server-tool name where bare names were offered) reaches no
			// server, and the data must not teach it.
			results[i] = toolErrorf("unknown tool %q; available tools: %s", tc.Function.Name, r.offeredNames())
			continue
		}
		res, why := r.runChecked(ctx, tc.Function.Name, tc.Function.Arguments)
		if why != "" {
			return false, why
		}
		results[i] = res
	}
	m := r.keep(reply)
	for i, tc := range m.ToolCalls {
		r.countResult(tc.Function.Name, results[i])
		r.msgs = append(r.msgs, trajectory.Message{
			Role:       openai.ChatMessageRoleTool,
			Content:    trajectory.Text(results[i]),
			ToolCallID: trajectory.Text(tc.ID),
			Name:       trajectory.Text(tc.Function.Name),
		})
	}
	return len(m.ToolCalls) == 0, ""
}

// mcpTurn runs the calls of an MCP-in-text reply in order and, if none of
// them asks for a rollback, keeps the reply and their results, which come
// back as one user message, joined by newlines as MiroThinker joins them
// (apps/miroflow-agent/src/llm/providers/openai_client.py,
// update_message_history). It reports whether the agent has finished, or
// why the reply must be rolled back.
func (r *agentRun) mcpTurn(ctx context.Context, reply llm.Reply, truncated bool) (bool, string) {
	if truncated {
		r.keep(reply)
		return true, ""
	}
	_, calls, err := trajectory.SplitMCP(reply.Message.Content)
	if err != nil || len(calls) == 0 {
		r.keep(reply)
		return true, "" // rejectReason let through only well-formed calls and final answers
	}
	results := make([]string, len(calls))
	for i, call := range calls {
		if want := trajectory.ServerOf(call.Tool); want != "" && call.Server != want {
			// MCP clients route by server; a call sent to the wrong one fails
			// there, and the data must not teach a call that cannot run.
			results[i] = toolErrorf("tool %s is served by %s, not %s", call.Tool, want, call.Server)
			continue
		}
		res, why := r.runChecked(ctx, call.Tool, call.Arguments)
		if why != "" {
			return false, why
		}
		results[i] = res
	}
	r.keep(reply)
	for i, call := range calls {
		r.countResult(call.Tool, results[i])
	}
	r.msgs = append(r.msgs, trajectory.Message{Role: openai.ChatMessageRoleUser, Content: trajectory.Text(strings.Join(results, "\n"))})
	return false, ""
}

// keep appends an accepted assistant reply to the log and returns it as
// stored. Content is kept exactly as returned; it is nil only for a reply
// that is nothing but tool calls.
func (r *agentRun) keep(reply llm.Reply) trajectory.Message {
	r.consecutiveRollbacks = 0
	r.out.NumTurns++
	r.out.FinishReasons = append(r.out.FinishReasons, reply.FinishReason)
	src := reply.Message
	m := trajectory.Message{Role: openai.ChatMessageRoleAssistant}
	if src.Content != "" || len(src.ToolCalls) == 0 {
		m.Content = trajectory.Text(src.Content)
	}
	if src.ReasoningContent != "" {
		m.ReasoningContent = trajectory.Text(src.ReasoningContent)
	}
	for _, tc := range src.ToolCalls {
		if tc.ID == "" {
			// Tool results are matched to calls by id; some servers omit it.
			r.callSeq++
			tc.ID = fmt.Sprintf("call_%d_%d", r.out.NumTurns, r.callSeq)
		}
		m.ToolCalls = append(m.ToolCalls, trajectory.ToolCall{
			ID:       tc.ID,
			Type:     string(openai.ToolTypeFunction),
			Function: trajectory.FunctionCall{Name: tc.Function.Name, Arguments: tc.Function.Arguments},
		})
	}
	r.msgs = append(r.msgs, m)
	return m
}

// offered reports whether name is the function name of an offered tool.
func (r *agentRun) offered(name string) bool {
	for _, t := range r.schemas {
		if t.Function != nil && t.Function.Name == name {
			return true
		}
	}
	return false
}

func (r *agentRun) offeredNames() string {
	names := make([]string, 0, len(r.schemas))
	for _, t := range r.schemas {
		if t.Function != nil {
			names = append(names, t.Function.Name)
		}
	}
	return strings.Join(names, ", ")
}

// runChecked runs one call under the repeat and empty-search rules and
// returns its truncated result, or the reason the reply that made it must be
// rolled back instead. As in MiroThinker (orchestrator.py,
// _check_duplicate_query and should_rollback_result) a rollback is asked for
// only while fewer than MaxRollbacks-1 rollbacks came in a row; after that
// the repeat runs and the empty result is kept. A call is remembered once it
// ran without a tool error, before the empty-result check, so asking for a
// search that found nothing again is a repeat.
func (r *agentRun) runChecked(ctx context.Context, name, args string) (string, string) {
	canRollback := r.consecutiveRollbacks < r.p.MaxRollbacks-1
	key := r.repeatKey(name, args)
	if key != "" && r.seen[key] { // "": a call that is never a repeat
		switch {
		case r.p.RepeatCalls == RepeatNotice:
			return duplicateCallNotice, ""
		case canRollback:
			return "", rollbackRepeatCall
		}
	}
	result := trajectory.TruncateToolResult(r.tools.Call(toolset.WithCallRecorder(ctx, r.recordTool), name, args))
	if key != "" && (r.p.RepeatCalls == RepeatNotice || !strings.HasPrefix(result, trajectory.ToolErrorPrefix)) {
		r.seen[key] = true
	}
	if r.p.EmptySearch == EmptySearchRollback && canRollback && name == trajectory.ToolGoogleSearch && toolset.EmptySearch(result) {
		return "", rollbackEmptySearch
	}
	return result, ""
}

// repeatKey identifies a call for the repeat rule: MiroThinker's exact query
// text under RepeatRollback, the normalised CallKey under RepeatNotice.
func (r *agentRun) repeatKey(name, args string) string {
	if r.p.RepeatCalls == RepeatNotice {
		return toolset.CallKey(name, args)
	}
	return toolset.QueryKey(name, args)
}

// countResult accounts for one tool-result message: every result answers
// one call of the model, whether it ran, was a duplicate or was refused.
func (r *agentRun) countResult(name, result string) {
	r.out.NumToolCalls++
	if trajectory.IsToolError(result) {
		r.noteError(name + ": " + result)
		r.out.ToolErrors++
		r.errRun++
		r.out.MaxToolErrorRun = max(r.out.MaxToolErrorRun, r.errRun)
		return
	}
	r.errRun = 0
}

// summarize runs the summary turn: one more call without tools asking for
// the final answer in \boxed{}. The answer is read from that reply or,
// failing a box there, from the earlier replies (see finish).
func (r *agentRun) summarize(ctx context.Context) error {
	if r.out.Status != "" {
		return nil // already ended (rollbacks)
	}
	previous := r.lastAssistantContent()
	var dropped []trajectory.Message
	if n := len(r.msgs); r.p.SummaryAfterResult == SummaryDropResult && n > 2 && r.msgs[n-1].Role == openai.ChatMessageRoleUser {
		// The loop stopped right after a tool result (turn limit or context
		// guard). MiroThinker removes a final user message before it asks
		// for the summary (orchestrator.py, the summary step of
		// run_main_agent), so the request never follows another user
		// message; a function-mode result (role tool) stays, as there.
		dropped = r.msgs[n-1:]
		r.msgs = r.msgs[: n-1 : n-1]
	}
	r.msgs = append(r.msgs, trajectory.Message{Role: openai.ChatMessageRoleUser, Content: trajectory.Text(trajectory.SummaryRequest(r.question))})
	for {
		if err := ctx.Err(); err != nil {
			return r.canceled(err)
		}
		send := trajectory.Retain(r.msgs, r.p.KeepToolResults, r.p.Mode, r.p.Retention)
		room := min(r.p.MaxTokens, r.p.ContextTokens-r.estimate(send, false))
		if room < min(summaryMinTokens, r.p.MaxTokens) {
			// Not even a short answer fits: the request was never sent, so
			// it leaves the log (and the result it replaced comes back),
			// and the last reply is all there is.
			r.msgs = append(r.msgs[:len(r.msgs)-1], dropped...)
			r.finish(previous, "")
			if r.out.Status != trajectory.StatusAnswered {
				r.out.Status, r.out.FailReason = trajectory.StatusFailed, trajectory.FailContextExhausted
			}
			return nil
		}
		reply, err := r.chat(ctx, send, false, room)
		if err != nil {
			return r.llmFailed(ctx, err)
		}
		truncated := reply.FinishReason == string(openai.FinishReasonLength)
		if isRepetitive(reply.Message.Content) || isRepetitive(reply.Message.ReasoningContent) {
			if r.rollback(rollbackRepetition) {
				return nil
			}
			continue
		}
		if !truncated && strings.TrimSpace(reply.Message.Content) == "" {
			if r.rollback(rollbackEmpty) {
				return nil
			}
			continue
		}
		if truncated {
			r.out.Truncated = true
		}
		m := r.keep(reply)
		if len(m.ToolCalls) > 0 {
			// No tools were offered, yet calls came back: answer them so the
			// log stays a valid conversation.
			for _, tc := range m.ToolCalls {
				res := toolErrorf("no tools are available in the final answer turn")
				r.countResult(tc.Function.Name, res)
				r.msgs = append(r.msgs, trajectory.Message{
					Role: openai.ChatMessageRoleTool, Content: trajectory.Text(res),
					ToolCallID: trajectory.Text(tc.ID), Name: trajectory.Text(tc.Function.Name),
				})
			}
		}
		r.finish(previous, reply.Message.Content)
		return nil
	}
}

// finish sets the answer from the summary reply or, failing a box there,
// from the earlier replies (see Policy.BoxRule).
func (r *agentRun) finish(previous, summary string) {
	rule := r.boxRule()
	ans, ok := rule.Last(summary)
	if !ok && rule == boxed.Strict {
		ans, ok = rule.Last(previous)
	}
	// The earlier replies, latest first (the summary reply, when the log
	// holds it, has no box: reading it again finds none).
	for i := len(r.msgs) - 1; !ok && rule != boxed.Strict && i >= 0; i-- {
		if m := r.msgs[i]; m.Role == openai.ChatMessageRoleAssistant && m.Content != nil {
			ans, ok = rule.Last(*m.Content)
		}
	}
	if ok {
		r.out.Answer, r.out.Status = ans, trajectory.StatusAnswered
		return
	}
	r.out.Status = trajectory.StatusFormatError
}

func (r *agentRun) boxRule() boxed.Rule {
	if r.p.BoxRule == "" {
		return boxed.MiroThinker
	}
	return r.p.BoxRule
}

func (r *agentRun) lastAssistantContent() string {
	for i := len(r.msgs) - 1; i >= 0; i-- {
		if m := r.msgs[i]; m.Role == openai.ChatMessageRoleAssistant && m.Content != nil {
			return *m.Content
		}
	}
	return ""
}

// chat sends one request built from send and accounts for its usage.
func (r *agentRun) chat(ctx context.Context, send []trajectory.Message, withTools bool, maxTokens int) (llm.Reply, error) {
	seed := int(r.seed) + r.consecutiveRollbacks
	req := openai.ChatCompletionRequest{
		Model:               r.agent.LLM.Model(),
		Messages:            toOpenAIMessages(send),
		MaxCompletionTokens: maxTokens,
		Temperature:         r.p.Temperature,
		TopP:                r.p.TopP,
		Seed:                &seed,
	}
	if withTools && r.p.Mode == trajectory.ModeFunction {
		req.Tools = r.schemas
	}
	start := time.Now()
	reply, err := r.agent.LLM.Chat(ctx, req)
	c := newCall(llm.RoleAgent, req.Model, reply, err, time.Since(start))
	c.SentHash = trajectory.SentHash(send, req.Tools != nil)
	r.record(c)
	if err != nil {
		return llm.Reply{}, err
	}
	r.out.PromptTokens += int64(reply.Usage.PromptTokens)
	r.out.CompletionTokens += int64(reply.Usage.CompletionTokens)
	r.out.LatencyMillis += reply.Latency.Milliseconds()
	r.lastPromptTokens = reply.Usage.PromptTokens
	return reply, nil
}

// estimate is the prompt size of send in tokens: ceil(chars/4) over the
// text that goes over the wire, or the server's last count when larger.
// Reasoning is not sent back (see toOpenAIMessages), so it is not counted.
func (r *agentRun) estimate(send []trajectory.Message, withTools bool) int {
	chars := 0
	if withTools {
		chars += r.schemaChars
	}
	for _, m := range send {
		if m.Content != nil {
			chars += utf8.RuneCountInString(*m.Content)
		}
		for _, tc := range m.ToolCalls {
			chars += utf8.RuneCountInString(tc.Function.Name) + utf8.RuneCountInString(tc.Function.Arguments)
		}
	}
	return max((chars+3)/4, r.lastPromptTokens)
}

// llmFailed ends the rollout after a failed call: the client has already
// retried what was worth retrying.
func (r *agentRun) llmFailed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return r.canceled(ctx.Err())
	}
	r.out.Status = trajectory.StatusFailed
	r.out.FailReason = trajectory.FailLLMErrorPrefix + redact.Secrets(err.Error())
	return nil
}

func (r *agentRun) canceled(err error) error {
	r.out.Status, r.out.FailReason = trajectory.StatusFailed, trajectory.FailCanceled
	return err
}

// toOpenAIMessages converts the log to the request format. Reasoning is not
// sent back: chat templates of reasoning models drop earlier turns' thinking
// anyway, and some APIs reject reasoning_content in requests. Name is not
// sent on tool messages either, since not every server accepts it there.
func toOpenAIMessages(msgs []trajectory.Message) []openai.ChatCompletionMessage {
	out := make([]openai.ChatCompletionMessage, 0, len(msgs))
	for _, m := range msgs {
		c := openai.ChatCompletionMessage{Role: m.Role}
		if m.Content != nil {
			c.Content = *m.Content
		}
		if m.ToolCallID != nil {
			c.ToolCallID = *m.ToolCallID
		}
		for _, tc := range m.ToolCalls {
			c.ToolCalls = append(c.ToolCalls, openai.ToolCall{
				ID:       tc.ID,
				Type:     openai.ToolType(tc.Type),
				Function: openai.FunctionCall{Name: tc.Function.Name, Arguments: tc.Function.Arguments},
			})
		}
		out = append(out, c)
	}
	return out
}

// isRepetitive is the degenerate-output guard: the last repetitionTail
// characters of s occur more than repetitionMax times in s.
func isRepetitive(s string) bool {
	if utf8.RuneCountInString(s) < repetitionTail {
		return false
	}
	tail := lastRunes(s, repetitionTail)
	return strings.Count(s, tail) > repetitionMax
}

// toolErrorf is a tool result for a call the agent refuses to run itself,
// worded like the tools' own errors.
func toolErrorf(format string, args ...any) string {
	return trajectory.ToolErrorPrefix + " " + fmt.Sprintf(format, args...)
}

// lastRunes returns the last n runes of s.
func lastRunes(s string, n int) string {
	end := len(s)
	for i := 0; i < n && end > 0; i++ {
		_, size := utf8.DecodeLastRuneInString(s[:end])
		end -= size
	}
	return s[end:]
}

// refusalOpenings start replies that decline the task instead of doing it.
func refusalOpenings() []string {
	return []string{"i'm sorry", "i am sorry", "i cannot", "i can't help", "i can't assist", "i'm unable to", "i am unable to"}
}

// isRefusal is true for a reply that opens with a refusal and gives no
// boxed answer; such a reply teaches nothing and is rolled back.
func isRefusal(s string) bool {
	t := strings.ToLower(strings.TrimSpace(strings.ReplaceAll(s, "\u2019", "'")))
	for _, p := range refusalOpenings() {
		if strings.HasPrefix(t, p) {
			_, hasBox := boxed.Last(s) // any box: the reply did answer
			return !hasBox
		}
	}
	return false
}
