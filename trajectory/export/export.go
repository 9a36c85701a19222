// Package export turns judged rollouts into training rows: the SFT row of a
// question (its best clean correct rollout) and its DPO pairs (clean correct
// against clean incorrect), in the message style the training stack reads.
package export

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/verdict"
)

// SFTRow is one supervised fine-tuning example: the canonical SFT row of
// DESIGN §3. Column names and types are a contract with TRL and Hugging Face
// datasets; change them only together with the design.
type SFTRow struct {
	ID               string               `parquet:"id"`
	Messages         []trajectory.Message `parquet:"messages,list"`
	Tools            string               `parquet:"tools"`
	QAID             string               `parquet:"qa_id"`
	Question         string               `parquet:"question"`
	Answer           string               `parquet:"answer"` // the gold answer
	GoldAnswers      []string             `parquet:"gold_answers,list"`
	Hops             int32                `parquet:"hops"`
	SourceDocIDs     []string             `parquet:"source_doc_ids,list"`
	Model            string               `parquet:"model"`
	Generator        string               `parquet:"generator"`
	Correct          bool                 `parquet:"correct"`
	Judge            string               `parquet:"judge"` // Verdict.Method
	NumToolCalls     int32                `parquet:"num_tool_calls"`
	NumTurns         int32                `parquet:"num_turns"`
	PromptTokens     int64                `parquet:"prompt_tokens"`
	CompletionTokens int64                `parquet:"completion_tokens"`
}

// DPORow is one preference pair in TRL's conversational DPO layout: the shared
// prompt, then the two continuations. The chosen_*/rejected_* columns keep
// the provenance of each side.
type DPORow struct {
	ID       string               `parquet:"id"`
	Prompt   []trajectory.Message `parquet:"prompt,list"`
	Chosen   []trajectory.Message `parquet:"chosen,list"`
	Rejected []trajectory.Message `parquet:"rejected,list"`
	Tools    string               `parquet:"tools"`
	QAID     string               `parquet:"qa_id"`
	Answer   string               `parquet:"answer"` // the gold answer

	ChosenAnswer         string `parquet:"chosen_answer"`
	RejectedAnswer       string `parquet:"rejected_answer"`
	ChosenRolloutID      string `parquet:"chosen_rollout_id"`
	RejectedRolloutID    string `parquet:"rejected_rollout_id"`
	ChosenModel          string `parquet:"chosen_model"`
	RejectedModel        string `parquet:"rejected_model"`
	ChosenJudge          string `parquet:"chosen_judge"`
	RejectedJudge        string `parquet:"rejected_judge"`
	ChosenNumToolCalls   int32  `parquet:"chosen_num_tool_calls"`
	RejectedNumToolCalls int32  `parquet:"rejected_num_tool_calls"`
	ChosenNumTurns       int32  `parquet:"chosen_num_turns"`
	RejectedNumTurns     int32  `parquet:"rejected_num_turns"`
}

// QAInfo is what export needs to know about the question a rollout solved.
type QAInfo struct {
	QAID     string
	Question string
	Answer   string
	Gold     []string // the answer and its aliases
	Hops     int
	DocIDs   []string
}

// Judged is a rollout with its verdict.
type Judged struct {
	Rollout trajectory.Rollout
	Verdict verdict.Verdict
}

// SFT pick rules.
const (
	PickFewestToolCalls = "fewest_tool_calls"
	PickFirst           = "first"
)

// Options shape the exported rows.
type Options struct {
	// Style of the messages: StyleOpenAI (default) or StyleChatML.
	Style string
	// Generator names the pipeline build that made the rows.
	Generator string
	// SFTPick chooses among the clean correct rollouts of a question:
	// PickFewestToolCalls (default) or PickFirst (lowest Index).
	SFTPick string
	// MaxPairsPerQuestion bounds the DPO pairs of one question; 0 means 1.
	MaxPairsPerQuestion int
	// FunctionNames names the OpenAI-style calls made from MCP-in-text:
	// trajectory.FunctionNamesServerTool (when "") or FunctionNamesBare,
	// as the run's synthesize.function_names named the schemas.
	FunctionNames string
}

func (o Options) withDefaults() (Options, error) {
	if o.Style == "" {
		o.Style = StyleOpenAI
	}
	if o.Style != StyleOpenAI && o.Style != StyleChatML {
		return o, fmt.Errorf("export style %q: want %q or %q", o.Style, StyleOpenAI, StyleChatML)
	}
	if o.SFTPick == "" {
		o.SFTPick = PickFewestToolCalls
	}
	if o.SFTPick != PickFewestToolCalls && o.SFTPick != PickFirst {
		return o, fmt.Errorf("sft pick %q: want %q or %q", o.SFTPick, PickFewestToolCalls, PickFirst)
	}
	if o.MaxPairsPerQuestion < 0 {
		return o, fmt.Errorf("max pairs per question %d is negative", o.MaxPairsPerQuestion)
	}
	if o.MaxPairsPerQuestion == 0 {
		o.MaxPairsPerQuestion = 1
	}
	return o, nil
}

// BuildSFT makes the SFT row of question q from its judged rollouts, or
// reports false when no rollout qualifies (correct, answered, no quality
// issue). The result depends only on the set of rollouts, not their order.
func BuildSFT(q QAInfo, rs []Judged, opt Options) (SFTRow, bool, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return SFTRow{}, false, fmt.Errorf("sft %s: %w", q.QAID, err)
	}
	sorted, err := exportSorted(q, rs)
	if err != nil {
		return SFTRow{}, false, fmt.Errorf("sft %s: %w", q.QAID, err)
	}
	chosen := exportSFTCandidates(sorted, opt.SFTPick)
	if len(chosen) == 0 {
		return SFTRow{}, false, nil
	}
	j := chosen[0]
	r := j.Rollout
	msgs, err := styleRollout(r, opt)
	if err != nil {
		return SFTRow{}, false, fmt.Errorf("sft %s rollout %s: %w", q.QAID, r.ID, err)
	}
	if err := exportCheckBoxed(msgs); err != nil {
		return SFTRow{}, false, fmt.Errorf("sft %s rollout %s: %w", q.QAID, r.ID, err)
	}
	return SFTRow{
		ID:               exportRowID("sft-", q.QAID, r.ID),
		Messages:         msgs,
		Tools:            r.Tools,
		QAID:             q.QAID,
		Question:         q.Question,
		Answer:           q.Answer,
		GoldAnswers:      exportGold(q),
		Hops:             int32(q.Hops),
		SourceDocIDs:     slices.Clone(q.DocIDs),
		Model:            r.Model,
		Generator:        opt.Generator,
		Correct:          true,
		Judge:            j.Verdict.Method,
		NumToolCalls:     int32(r.NumToolCalls),
		NumTurns:         int32(r.NumTurns),
		PromptTokens:     r.PromptTokens,
		CompletionTokens: r.CompletionTokens,
	}, true, nil
}

// BuildDPO makes the preference pairs of question q by the report's rule:
// chosen correct, rejected incorrect, both answered with a real answer and
// both free of quality issues. With the default of one pair, chosen is the
// SFT pick and rejected the incorrect rollout with the lowest Index. With more
// pairs allowed, pair k joins the k-th chosen (in pick order, cycling) with
// the k-th rejected (by Index, cycling), so every rollout is used once before
// any is used twice and no pair repeats. A question with no such contrast
// gives no pair.
func BuildDPO(q QAInfo, rs []Judged, opt Options) ([]DPORow, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("dpo %s: %w", q.QAID, err)
	}
	sorted, err := exportSorted(q, rs)
	if err != nil {
		return nil, fmt.Errorf("dpo %s: %w", q.QAID, err)
	}
	chosen := exportSFTCandidates(sorted, opt.SFTPick)
	// A rejected answer that normalizes to a correct one is the judge
	// disagreeing with itself (a sampled grader), not a contrast to learn.
	correct := make(map[string]bool, len(chosen))
	for _, j := range chosen {
		correct[verdict.AnswerKey(j.Rollout.Answer)] = true
	}
	var rejected []Judged
	for _, j := range sorted {
		if !j.Verdict.Correct && j.Verdict.Label != verdict.LabelNotAttempted && exportClean(j.Rollout) &&
			!correct[verdict.AnswerKey(j.Rollout.Answer)] {
			rejected = append(rejected, j)
		}
	}
	n := min(opt.MaxPairsPerQuestion, max(len(chosen), len(rejected)))
	if len(chosen) == 0 || len(rejected) == 0 {
		n = 0
	}
	var rows []DPORow
	for k := range n {
		c, r := chosen[k%len(chosen)], rejected[k%len(rejected)]
		row, ok, err := exportPair(q, c, r, opt)
		if err != nil {
			return nil, err
		}
		if ok {
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// exportPair returns false when the two sides carry no contrast: the same
// rollout or the same continuation.
func exportPair(q QAInfo, c, r Judged, opt Options) (DPORow, bool, error) {
	cr, rr := c.Rollout, r.Rollout
	if cr.ID == rr.ID {
		return DPORow{}, false, nil
	}
	cm, err := styleRollout(cr, opt)
	if err != nil {
		return DPORow{}, false, fmt.Errorf("dpo %s rollout %s: %w", q.QAID, cr.ID, err)
	}
	rm, err := styleRollout(rr, opt)
	if err != nil {
		return DPORow{}, false, fmt.Errorf("dpo %s rollout %s: %w", q.QAID, rr.ID, err)
	}
	cp, err := exportPromptLen(cm)
	if err != nil {
		return DPORow{}, false, fmt.Errorf("dpo %s rollout %s: %w", q.QAID, cr.ID, err)
	}
	rp, err := exportPromptLen(rm)
	if err != nil {
		return DPORow{}, false, fmt.Errorf("dpo %s rollout %s: %w", q.QAID, rr.ID, err)
	}
	// DPO compares two continuations of one prompt; different prompts or tool
	// sets mean the rollouts were not made under the same conditions, which
	// is a pipeline error, not a pair to skip quietly.
	if !reflect.DeepEqual(cm[:cp], rm[:rp]) {
		return DPORow{}, false, fmt.Errorf("dpo %s: rollouts %s and %s have different prompts", q.QAID, cr.ID, rr.ID)
	}
	if cr.Tools != rr.Tools {
		return DPORow{}, false, fmt.Errorf("dpo %s: rollouts %s and %s were offered different tools", q.QAID, cr.ID, rr.ID)
	}
	chosen, rejected := cm[cp:], rm[rp:]
	if err := exportCheckBoxed(chosen); err != nil {
		return DPORow{}, false, fmt.Errorf("dpo %s rollout %s: %w", q.QAID, cr.ID, err)
	}
	if err := exportCheckBoxed(rejected); err != nil {
		return DPORow{}, false, fmt.Errorf("dpo %s rollout %s: %w", q.QAID, rr.ID, err)
	}
	if reflect.DeepEqual(chosen, rejected) {
		return DPORow{}, false, nil
	}
	return DPORow{
		ID:                   exportRowID("dpo-", cr.ID, rr.ID),
		Prompt:               cm[:cp],
		Chosen:               chosen,
		Rejected:             rejected,
		Tools:                cr.Tools,
		QAID:                 q.QAID,
		Answer:               q.Answer,
		ChosenAnswer:         cr.Answer,
		RejectedAnswer:       rr.Answer,
		ChosenRolloutID:      cr.ID,
		RejectedRolloutID:    rr.ID,
		ChosenModel:          cr.Model,
		RejectedModel:        rr.Model,
		ChosenJudge:          c.Verdict.Method,
		RejectedJudge:        r.Verdict.Method,
		ChosenNumToolCalls:   int32(cr.NumToolCalls),
		RejectedNumToolCalls: int32(rr.NumToolCalls),
		ChosenNumTurns:       int32(cr.NumTurns),
		RejectedNumTurns:     int32(rr.NumTurns),
	}, true, nil
}

// exportSorted checks that every rollout belongs to q and returns them ordered
// by (Index, ID), the order every choice below is made in, so that the rows
// never depend on the order the rollouts arrived in.
func exportSorted(q QAInfo, rs []Judged) ([]Judged, error) {
	for _, j := range rs {
		if j.Rollout.QAID != q.QAID {
			return nil, fmt.Errorf("rollout %s is for question %q, not %q", j.Rollout.ID, j.Rollout.QAID, q.QAID)
		}
	}
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b Judged) int {
		if a.Rollout.Index != b.Rollout.Index {
			return a.Rollout.Index - b.Rollout.Index
		}
		return strings.Compare(a.Rollout.ID, b.Rollout.ID)
	})
	return sorted, nil
}

// exportSFTCandidates returns the clean correct rollouts of sorted (already in
// Index order) in the order of preference of pick.
func exportSFTCandidates(sorted []Judged, pick string) []Judged {
	var out []Judged
	for _, j := range sorted {
		if j.Verdict.Correct && exportClean(j.Rollout) {
			out = append(out, j)
		}
	}
	if pick == PickFewestToolCalls {
		// Stable keeps the Index order among equal counts.
		slices.SortStableFunc(out, func(a, b Judged) int {
			return a.Rollout.NumToolCalls - b.Rollout.NumToolCalls
		})
	}
	return out
}

// exportClean reports whether r may be exported at all: no quality issue, and
// its log ends with the boxed summary reply. The agent also accepts a box in
// the message before a summary reply that lacks one, and answers stray calls
// of the summary turn with tool errors; such rollouts are answered but would
// teach a conversation that does not end in its answer, so they are skipped
// rather than failing the question's export.
func exportClean(r trajectory.Rollout) bool {
	return len(verdict.Quality(r)) == 0 && exportCheckBoxed(r.Messages) == nil
}

// styleRollout is the messages of r in the style of opt.
func styleRollout(r trajectory.Rollout, opt Options) ([]trajectory.Message, error) {
	var tools []trajectory.ToolSpec
	if opt.Style == StyleChatML {
		// Only MiroThinker's style lists the tools in the system prompt.
		var err error
		if tools, err = trajectory.ToolSpecs(r.Tools); err != nil {
			return nil, err
		}
	}
	return toStyle(r.Messages, r.Mode, opt.Style, convert{tools: tools, naming: opt.FunctionNames})
}

// exportPromptLen is the length of the shared prefix: everything up to and
// including the first user message (the system prompt and the question).
func exportPromptLen(msgs []trajectory.Message) (int, error) {
	for i, m := range msgs {
		if m.Role == "user" {
			return i + 1, nil
		}
		if m.Role != "system" {
			return 0, fmt.Errorf("message %d (%s) comes before the first user message", i, m.Role)
		}
	}
	return 0, fmt.Errorf("no user message")
}

// exportCheckBoxed asserts what every exported conversation must end with: the
// summary reply, an assistant message with the \boxed{} answer and no call
// (native or MCP-in-text). Candidates are filtered on it (exportClean) and rows checked again after
// the style conversion, so an error means the conversion lost the ending.
func exportCheckBoxed(msgs []trajectory.Message) error {
	if len(msgs) == 0 {
		return fmt.Errorf("no messages")
	}
	last := msgs[len(msgs)-1]
	text := styleText(last.Content)
	if last.Role != "assistant" || len(last.ToolCalls) > 0 || !strings.Contains(text, `\boxed{`) {
		return fmt.Errorf("last message (%s) is not an assistant reply with a \\boxed{} answer", last.Role)
	}
	// A call block in the text is a call too: it would become tool_calls in
	// the OpenAI style, so the check holds in both styles.
	if _, calls, _ := trajectory.SplitMCP(text); len(calls) > 0 {
		return fmt.Errorf("last message makes an MCP tool call after its \\boxed{} answer")
	}
	return nil
}

// exportGold is the gold_answers column: the aliases, or the answer alone when
// the question has none listed.
func exportGold(q QAInfo) []string {
	if len(q.Gold) > 0 {
		return slices.Clone(q.Gold)
	}
	if q.Answer == "" {
		return nil
	}
	return []string{q.Answer}
}

// exportRowID is prefix + the first 16 hex digits of sha256(a NUL b): stable across
// runs, and the NUL keeps ("ab","c") apart from ("a","bc").
func exportRowID(prefix, a, b string) string {
	sum := sha256.Sum256([]byte(a + "\x00" + b))
	return prefix + hex.EncodeToString(sum[:])[:16]
}

// NoSFTReason says why BuildSFT gives a kept question no row: it has no
// rollouts, none of them is correct, or none of the correct ones is clean.
func NoSFTReason(js []Judged) string {
	if len(js) == 0 {
		return "no_rollouts"
	}
	for _, j := range js {
		if j.Verdict.Correct {
			return "no_clean_correct_rollout"
		}
	}
	return "no_correct_rollout"
}
