package oracle

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/miroverse/miroverse/qa/writer"
	openai "github.com/sashabaranov/go-openai"
)

// maxQuestionRunes is the length a written question aims to stay under:
// long enough for a few hops, short enough to read as one question.
const maxQuestionRunes = 600

// minPieceRunes keeps every clause readable when a long walk must be
// squeezed; the question may then run a little over maxQuestionRunes.
const minPieceRunes = 40

// writerTurn answers one of the writer's three passes (writer.PassFacts,
// writer.PassObfuscate, writer.PassCompose, named by the request's "pass") by rule:
// facts are the chain's own sentences and a few infobox entries,
// obfuscation is the placeholder and date logic of obfuscate.go,
// composition joins the constraints around one ask. A request without a
// pass is the single-pass form of earlier versions.
func writerTurn(req *openai.ChatCompletionRequest) (turn, error) {
	f, err := readWalkFacts(req)
	if err != nil {
		return turn{}, err
	}
	switch f.Pass {
	case "":
	case writer.PassFacts, writer.PassObfuscate:
		var out []writer.Fact
		if f.Pass == writer.PassFacts {
			out = extractFacts(f)
		} else {
			out = obfuscateFacts(f)
		}
		b, err := marshal(writer.FactsReply{Facts: out})
		if err != nil {
			return turn{}, fmt.Errorf("encode %s reply: %w", f.Pass, err)
		}
		return turn{content: string(b), finish: openai.FinishReasonStop}, nil
	case writer.PassCompose:
		return composeTurn(f)
	default:
		return turn{}, badRequestf("writer request: unknown pass %q", f.Pass)
	}
	q, answer, err := composeQuestion(f)
	if err != nil {
		return turn{}, err
	}
	b, err := marshal(writer.QuestionReply{Question: q, Answer: answer})
	if err != nil {
		return turn{}, fmt.Errorf("encode writer reply: %w", err)
	}
	return turn{content: string(b), finish: openai.FinishReasonStop}, nil
}

// readWalkFacts takes the pass input from the last user message.
func readWalkFacts(req *openai.ChatCompletionRequest) (writer.PassRequest, error) {
	msg, ok := lastUserText(req)
	if !ok {
		return writer.PassRequest{}, badRequestf("writer request has no user message")
	}
	f, err := writer.ReadPassRequest(msg)
	if err != nil {
		return writer.PassRequest{}, badRequestf("writer request: no readable walk facts in the last user message: %v", err)
	}
	if len(f.Docs) == 0 {
		return writer.PassRequest{}, badRequestf("writer request: walk facts list no docs")
	}
	return f, nil
}

// lastUserText is the text of the last user message.
func lastUserText(req *openai.ChatCompletionRequest) (string, bool) {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == openai.ChatMessageRoleUser {
			return messageText(req.Messages[i]), true
		}
	}
	return "", false
}

// composeQuestion writes the question of a walk by rule: the first doc as its
// description says, each hop as its evidence sentence says, and a closing
// ask for the last doc, with every name of the walk hidden behind a
// placeholder and every date blurred. It returns the question and the
// answer title.
func composeQuestion(f writer.PassRequest) (string, string, error) {
	if len(f.Docs) == 0 {
		return "", "", badRequestf("walk facts list no docs")
	}
	last := len(f.Docs) - 1
	answer := strings.TrimSpace(f.Answer)
	if answer == "" {
		answer = strings.TrimSpace(f.Docs[last].Title)
	}
	o := newObfuscator(f.Docs, answer)

	var pieces []string
	if desc := o.hide(stripParentheticals(f.Docs[0].Description)); desc != "" {
		if !o.mentioned(desc, 0) {
			desc = "Consider " + o.refer(0) + ": " + desc
		}
		pieces = append(pieces, upperFirst(desc))
	}
	for i, ev := range f.Evidence {
		if i >= last {
			break // evidence[i] links docs[i] to docs[i+1]; extra entries have no hop
		}
		e := o.hide(stripParentheticals(ev))
		if e == "" {
			continue
		}
		if !o.mentioned(e, i) {
			e = "Regarding " + o.refer(i) + ": " + e
		}
		pieces = append(pieces, upperFirst(e))
	}
	ask := "What is the name of " + definite(o.labels[last]) + "?"
	pieces = fitPieces(pieces, maxQuestionRunes-utf8.RuneCountInString(ask))
	for i := range pieces {
		pieces[i] = endSentence(pieces[i])
	}
	// A last pass over the whole text catches a name that only appears once
	// pieces are joined; placeholders hold no names, so it cannot loop.
	q := o.names.replace(strings.Join(append(pieces, ask), " "), o.seen)
	return injectQuestion(f, o, answer, q), answer, nil
}

// fitPieces shortens pieces so that they fit budget runes together with the
// spaces between them. Short pieces keep their length and leave their share
// to the long ones ("water filling"), so a long description does not starve
// a short evidence sentence.
func fitPieces(pieces []string, budget int) []string {
	total := len(pieces)
	for _, p := range pieces {
		total += utf8.RuneCountInString(p)
	}
	if total <= budget || len(pieces) == 0 {
		return pieces
	}
	lengths := make([]int, len(pieces))
	for i, p := range pieces {
		lengths[i] = utf8.RuneCountInString(p)
	}
	caps := fairCaps(lengths, budget-len(pieces)) // one space or stop per piece
	out := make([]string, len(pieces))
	for i, p := range pieces {
		out[i] = clipRunes(p, caps[i])
	}
	return out
}

// fairCaps shares budget among items of the given lengths: in order of
// length, each gets what it needs or an equal share of what is left,
// whichever is smaller, and never less than minPieceRunes.
func fairCaps(lengths []int, budget int) []int {
	order := make([]int, len(lengths))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return lengths[a] - lengths[b] })
	caps := make([]int, len(lengths))
	left := budget
	for n, i := range order {
		share := left / (len(order) - n)
		c := min(lengths[i], max(share, minPieceRunes))
		caps[i] = c
		left -= c
	}
	return caps
}

// endSentence makes sure s ends like a sentence.
func endSentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r, _ := utf8.DecodeLastRuneInString(s)
	if strings.ContainsRune(".!?…", r) {
		return s
	}
	return s + "."
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
