package writer

import (
	"encoding/json"
	"fmt"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
)

// The passes' replies as JSON Schemas, sent as response_format so that a
// server that constrains decoding (vLLM, SGLang, llama.cpp) can only answer
// what the parsers read: a small model then yields a question where free
// text would not parse. Properties are written in the order the prompts
// ask for them, since constrained decoders generate them in schema order;
// the bounds keep a model from writing one field to the end of its context.
// parseFacts and parseReply stay the readers: they take the same JSON from
// servers that ignore the schema.

// factsFormat is the facts and obfuscate passes' reply: facts about the
// walk's nDocs documents.
func factsFormat(pass string, nDocs int) *openai.ChatCompletionResponseFormat {
	docs := make([]int, nDocs)
	for i := range docs {
		docs[i] = i
	}
	return llm.Schema("writer_"+pass, json.RawMessage(fmt.Sprintf(`{"type":"object","properties":{"facts":{"type":"array",`+
		`"items":{"type":"object","properties":{"doc":{"type":"integer","enum":%s},`+
		`"kind":{"type":"string","enum":["%s","%s","%s"]},"text":{"type":"string"}},`+
		`"required":["doc","kind","text"],"additionalProperties":false}}},`+
		`"required":["facts"],"additionalProperties":false}`,
		mustJSON(docs), FactDescription, FactEvidence, FactInfobox)))
}

// composeFormat is the compose pass's reply ending at answer: the
// question, its clauses and the answer, which can only be the title.
func composeFormat(answer string) *openai.ChatCompletionResponseFormat {
	return llm.Schema("writer_compose", json.RawMessage(fmt.Sprintf(`{"type":"object","properties":{`+
		`"question":{"type":"string"},"clauses":{"type":"array","items":{"type":"string"}},`+
		`"answer":{"type":"string","enum":%s}},`+
		`"required":["question","clauses","answer"],"additionalProperties":false}`,
		mustJSON([]string{answer}))))
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("writer schema: %v", err)) // ints and strings always encode
	}
	return string(b)
}
