package llm

import (
	"encoding/json"

	openai "github.com/sashabaranov/go-openai"
)

// charsPerToken is the rule of thumb for English text under BPE
// vocabularies of 32k–150k entries; an estimate only has to put a reply
// without usage in the right order of magnitude for budgets and costs.
const charsPerToken = 4

// estimateUsage fills in the usage of a reply whose server sent none
// (streams without stream_options support, some gateways), from the
// characters sent and received. It reports whether it did: a reply that
// has any count of its own is left alone.
func estimateUsage(req openai.ChatCompletionRequest, reply *Reply) bool {
	u := reply.Usage
	if u.PromptTokens != 0 || u.CompletionTokens != 0 || u.TotalTokens != 0 {
		return false
	}
	var sent int
	for _, m := range req.Messages {
		sent += messageChars(m) + 4*charsPerToken // role and template markers
	}
	for _, t := range req.Tools {
		if t.Function != nil {
			sent += len(t.Function.Name) + len(t.Function.Description) + jsonChars(t.Function.Parameters)
		}
	}
	prompt := tokensOf(sent)
	completion := tokensOf(messageChars(reply.Message))
	reply.Usage = openai.Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion}
	reply.UsageEstimated = true
	return true
}

func messageChars(m openai.ChatCompletionMessage) int {
	n := len(m.Content) + len(m.ReasoningContent)
	for _, p := range m.MultiContent {
		n += len(p.Text)
	}
	for _, c := range m.ToolCalls {
		n += len(c.Function.Name) + len(c.Function.Arguments)
	}
	return n
}

func jsonChars(v any) int {
	switch p := v.(type) {
	case nil:
		return 0
	case []byte:
		return len(p)
	case string:
		return len(p)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return 0
		}
		return len(b)
	}
}

func tokensOf(chars int) int {
	if chars <= 0 {
		return 0
	}
	return max(1, (chars+charsPerToken-1)/charsPerToken)
}
