// Package verdict judges rollouts: whether an answer is correct (exact
// match, token F1, then an LLM grader) and which quality issues keep a
// rollout out of the exported data.
package verdict

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	openai "github.com/sashabaranov/go-openai"
	"golang.org/x/text/unicode/norm"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/internal/text"
	"github.com/miroverse/miroverse/trajectory"
)

// Verdict is the judge's decision on one rollout.
type Verdict struct {
	Correct bool
	// Method is how it was decided: "exact", "f1", "grader" or "no_answer".
	Method string
	// Label is CORRECT, INCORRECT or NOT_ATTEMPTED.
	Label string
	F1    float64
}

// Judge labels and methods written into Verdict.
const (
	LabelCorrect      = "CORRECT"
	LabelIncorrect    = "INCORRECT"
	LabelNotAttempted = "NOT_ATTEMPTED"

	MethodExact    = "exact"
	MethodF1       = "f1"
	MethodGrader   = "grader"
	MethodNoAnswer = "no_answer"
)

// defaultF1Threshold is the token F1 at or above which an answer counts as
// correct without asking the grader.
const defaultF1Threshold = 0.8

// Quality issue names returned by Quality.
const (
	QualityRepetition         = "repetition"
	QualityMalformedToolCalls = "malformed_tool_calls"
	QualityToolErrors         = "tool_errors"
	QualityTruncated          = "truncated"
	QualityNoFinalAnswer      = "no_final_answer"
)

// qualityMaxToolErrorRun is the longest run of consecutive tool errors a rollout may
// have and still count as clean (DESIGN §3: "consecutive tool errors (> 5)").
const qualityMaxToolErrorRun = 5

// Judge decides whether a rollout's answer is correct: cheap string checks
// first, the LLM grader only when they are inconclusive.
type Judge struct {
	// Grader is asked when exact match and F1 both fail; nil means those
	// failures are final.
	Grader llm.Chatter
	// F1Threshold is the token F1 that counts as correct; 0 means 0.8.
	F1Threshold float64
}

// Decide judges predicted against the gold answers (the answer and its
// aliases). It returns an error only when the grader fails or replies with
// something other than one of its three labels, or when there is no gold.
func (j Judge) Decide(ctx context.Context, question, predicted string, gold []string) (Verdict, error) {
	if isPlaceholderAnswer(predicted) {
		return Verdict{Correct: false, Method: MethodNoAnswer, Label: LabelNotAttempted}, nil
	}
	var golds []string
	for _, g := range gold {
		if strings.TrimSpace(g) != "" {
			golds = append(golds, g)
		}
	}
	if len(golds) == 0 {
		return Verdict{}, fmt.Errorf("judge %q: no gold answer to compare with", clipForError(question, 80))
	}

	best := 0.0
	exact := false
	pk := AnswerKey(predicted)
	for _, g := range golds {
		if AnswerKey(g) == pk {
			exact = true
		}
		if f := text.TokenF1(predicted, g); f > best {
			best = f
		}
	}
	threshold := j.F1Threshold
	if threshold <= 0 {
		threshold = defaultF1Threshold
	}
	switch {
	case exact:
		return Verdict{Correct: true, Method: MethodExact, Label: LabelCorrect, F1: best}, nil
	case best >= threshold:
		return Verdict{Correct: true, Method: MethodF1, Label: LabelCorrect, F1: best}, nil
	case j.Grader == nil:
		return Verdict{Correct: false, Method: MethodF1, Label: LabelIncorrect, F1: best}, nil
	}

	label, err := j.grade(ctx, question, predicted, golds)
	if err != nil {
		return Verdict{}, err
	}
	return Verdict{Correct: label == LabelCorrect, Method: MethodGrader, Label: label, F1: best}, nil
}

// graderInstructions precede the sections of the grader prompt. They come
// first because the oracle reads each section up to the next heading, so the
// last section must run to the end of the message.
const graderInstructions = "You grade answers to a research question. Compare the predicted answer with the " +
	"gold answer and its aliases (other names of the same entity, one per line). The prediction is CORRECT only " +
	"if it names that entity: the gold answer or an alias, however it is cased, accented or punctuated. It is " +
	"INCORRECT if it names anything else, including a broader or narrower entity whose name contains the gold " +
	"answer or is contained in it (\"Paris\" is not \"University of Paris\"); NOT_ATTEMPTED if it gives no " +
	"definite answer. Reply with JSON only: {\"label\": \"<that word>\"}."

// Section headings of the grader prompt.
const (
	graderQuestion  = "## Question"
	graderGold      = "## Gold answer"
	graderAliases   = "## Gold aliases"
	graderPredicted = "## Predicted answer"
)

// noAliases is the aliases section of a gold answer without any, so that a
// model reading the prompt is told so rather than shown an empty section.
const noAliases = "(none)"

// GraderPrompt is the grader's user message: instructions, then the
// question, the gold answer (gold[0]), its aliases (the rest, one per line:
// a title may itself hold a semicolon or comma, so no separator inside a
// line is safe) and the prediction, each under its heading.
func GraderPrompt(question, predicted string, gold []string) string {
	var answer string
	var aliases []string
	for _, g := range gold {
		g = collapseLine(g)
		switch {
		case g == "":
		case answer == "":
			answer = g
		default:
			aliases = append(aliases, g)
		}
	}
	al := noAliases
	if len(aliases) > 0 {
		al = strings.Join(aliases, "\n")
	}
	var b strings.Builder
	b.WriteString(graderInstructions)
	b.WriteString("\n\n")
	b.WriteString(graderQuestion + "\n" + strings.TrimSpace(question) + "\n\n")
	b.WriteString(graderGold + "\n" + answer + "\n\n")
	b.WriteString(graderAliases + "\n" + al + "\n\n")
	b.WriteString(graderPredicted + "\n" + strings.TrimSpace(predicted) + "\n")
	return b.String()
}

// collapseLine puts a gold name on one line, since the aliases section holds
// one name per line.
func collapseLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// ReadGraderPrompt is the reading side of the grader prompt: the question,
// the gold answers (the answer, then its aliases) and the prediction it asks
// about, ok false when msg is no grader prompt. A prompt without the aliases
// section (the layout before it existed) holds the aliases in the gold
// answer, separated by semicolons.
func ReadGraderPrompt(msg string) (question string, gold []string, predicted string, ok bool) {
	if !strings.Contains(msg, graderGold) {
		return "", nil, "", false
	}
	sec := text.Sections(msg, graderQuestion, graderGold, graderAliases, graderPredicted)
	al, hasAliases := sec[graderAliases]
	if !hasAliases {
		for g := range strings.SplitSeq(sec[graderGold], ";") {
			if g = strings.TrimSpace(g); g != "" {
				gold = append(gold, g)
			}
		}
		return sec[graderQuestion], gold, sec[graderPredicted], true
	}
	if g := collapseLine(sec[graderGold]); g != "" {
		gold = append(gold, g)
	}
	if strings.TrimSpace(al) != noAliases {
		for g := range strings.SplitSeq(al, "\n") {
			if g = strings.TrimSpace(g); g != "" {
				gold = append(gold, g)
			}
		}
	}
	return sec[graderQuestion], gold, sec[graderPredicted], true
}

func (j Judge) grade(ctx context.Context, question, predicted string, gold []string) (string, error) {
	// No Temperature is set: go-openai drops 0 by omitempty, so a request
	// cannot ask for greedy decoding; the strict parse below is what keeps a
	// sampled reply from being misread.
	req := openai.ChatCompletionRequest{
		Model: j.Grader.Model(),
		Messages: []openai.ChatCompletionMessage{{
			Role:    openai.ChatMessageRoleUser,
			Content: GraderPrompt(question, predicted, gold),
		}},
	}
	req.ResponseFormat = llm.Schema("grader_label", json.RawMessage(`{"type":"object","properties":{"label":{"type":"string",`+
		`"enum":["`+LabelCorrect+`","`+LabelIncorrect+`","`+LabelNotAttempted+`"]}},"required":["label"],"additionalProperties":false}`))
	reply, err := j.Grader.Chat(ctx, req)
	if err != nil {
		return "", fmt.Errorf("judge: grader %s: %w", j.Grader.Model(), err)
	}
	label, err := parseGraderLabel(reply.Message.Content)
	if err != nil {
		return "", fmt.Errorf("judge: grader %s: %w", j.Grader.Model(), err)
	}
	return label, nil
}

// GraderPromptHash identifies the grader's instructions and reply schema
// for the manifest and the judge stage's fingerprint.
func GraderPromptHash() string {
	sum := sha256.Sum256([]byte(graderInstructions + "\x00" + graderQuestion + graderGold + graderAliases + graderPredicted))
	return hex.EncodeToString(sum[:8])
}

// parseGraderLabel reads a grader reply: the {"label": …} object the prompt
// and schema ask for, or, from a model that ignored both, its first word.
// Markdown emphasis and trailing punctuation around the word are tolerated
// ("**CORRECT**."); anything else is an error so that a rambling reply is
// never taken as a verdict.
func parseGraderLabel(reply string) (string, error) {
	if t := strings.TrimSpace(reply); strings.HasPrefix(t, "{") {
		var r struct {
			Label string `json:"label"`
		}
		if err := json.NewDecoder(strings.NewReader(t)).Decode(&r); err == nil {
			switch l := strings.ToUpper(strings.TrimSpace(r.Label)); l {
			case LabelCorrect, LabelIncorrect, LabelNotAttempted:
				return l, nil
			}
			return "", fmt.Errorf("grader reply %q labels %q, not %s, %s or %s",
				clipForError(reply, 80), r.Label, LabelCorrect, LabelIncorrect, LabelNotAttempted)
		}
	}
	fields := strings.Fields(reply)
	if len(fields) == 0 {
		return "", fmt.Errorf("empty grader reply")
	}
	w := strings.ToUpper(strings.TrimFunc(fields[0], func(r rune) bool {
		return !unicode.IsLetter(r) && r != '_'
	}))
	switch w {
	case LabelCorrect, LabelIncorrect, LabelNotAttempted:
		return w, nil
	}
	return "", fmt.Errorf("grader reply %q does not start with %s, %s or %s",
		clipForError(reply, 80), LabelCorrect, LabelIncorrect, LabelNotAttempted)
}

// isPlaceholderAnswer is true for answers that say nothing: empty, only
// punctuation, or a stock non-answer. Surrounding punctuation is ignored so
// that "Unknown." and "N/A" are caught too.
func isPlaceholderAnswer(s string) bool {
	t := strings.ToLower(strings.TrimFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}))
	switch t {
	case "", "unknown", "n/a":
		return true
	}
	return false
}

// AnswerKey is the form in which Decide's exact match compares answers: two
// answers with equal keys are the same answer to the judge. It is
// NormalizeAnswer unless that is empty (an answer that is only an article or symbols, e.g. "A" for an
// option letter), where it falls back to the lowercased text so such answers
// still compare by their own content.
func AnswerKey(s string) string {
	if k := text.NormalizeAnswer(s); k != "" {
		return k
	}
	return strings.Join(strings.Fields(strings.ToLower(norm.NFKC.String(s))), " ")
}

// Quality lists the quality issues of r (DESIGN §3 "judge"), in a fixed
// order; nil when there are none.
func Quality(r trajectory.Rollout) []string {
	var issues []string
	if r.Repetition {
		issues = append(issues, QualityRepetition)
	}
	if r.Rollbacks > 0 {
		issues = append(issues, QualityMalformedToolCalls)
	}
	if r.MaxToolErrorRun > qualityMaxToolErrorRun {
		issues = append(issues, QualityToolErrors)
	}
	if r.Truncated {
		issues = append(issues, QualityTruncated)
	}
	if r.Answer == "" || r.Status != trajectory.StatusAnswered {
		issues = append(issues, QualityNoFinalAnswer)
	}
	return issues
}

// clipForError shortens s for error messages.
func clipForError(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
