package trajectory

// Tool-call modes of the agent.
const (
	ModeFunction = "function" // native OpenAI function calling: tool_calls, role "tool"
	ModeMCP      = "mcp"      // MCP-in-text: <use_mcp_tool> in assistant text, results as user messages
)

// Rollout statuses: every rollout ends in exactly one.
const (
	StatusAnswered    = "answered"     // a final \boxed{} answer was extracted
	StatusFormatError = "format_error" // the run ended without a usable \boxed{} answer
	StatusFailed      = "failed"       // the run could not finish (LLM unreachable, context exhausted…); see FailReason
)

// Fail reasons the agent writes into Rollout.FailReason. A reason may
// carry a detail after its kind ("llm_error: …"); FailKind reads the kind.
const (
	FailRollbacks        = "rollbacks"
	FailLLMErrorPrefix   = "llm_error: "
	FailContextExhausted = "context_exhausted"
	FailCanceled         = "canceled"
)

// Task is what one rollout solves.
type Task struct {
	QAID     string
	Question string
}

// Rollout is one agent run on one question, with its full message log.
type Rollout struct {
	ID    string
	QAID  string
	Index int
	Model string
	Mode  string
	Seed  int64
	// Messages is the full log in the style of Mode, exactly as the model
	// produced it and the tools returned it (tool results after the 100k
	// truncation, before retention placeholders).
	Messages []Message
	// Tools is the JSON array of function schemas offered to the model.
	Tools string

	Answer     string // content of the last \boxed{}; "" when none
	Status     string
	FailReason string

	NumToolCalls     int
	NumTurns         int
	ToolErrors       int // tool results starting with "[ERROR]:"
	MaxToolErrorRun  int // longest run of consecutive tool errors
	Rollbacks        int // messages rolled back for broken tool tags or refusals
	Repetition       bool
	Truncated        bool // a reply ended with finish_reason "length"
	PromptTokens     int64
	CompletionTokens int64
	FinishReasons    []string
	LatencyMillis    int64 // summed LLM latency; not part of exported rows

	// What produced the rollout, so that a row can be traced and redone:
	// the role and sampling parameters of the agent's requests and the
	// hashes of the prompt wording and of the tool schemas offered.
	Role        string
	Temperature float32
	TopP        float32
	MaxTokens   int
	PromptHash  string
	ToolsHash   string
	// Calls is every LLM call made for the rollout, in order: the agent's
	// and the extractor's behind scrape_and_extract_info.
	Calls []Call
	// Errors lists, in order, the failed LLM calls and the tool results
	// that were errors, each clipped to 300 characters.
	Errors []string
}

// Call is one LLM call of a rollout.
type Call struct {
	Role  string `parquet:"role" json:"role"`
	Model string `parquet:"model" json:"model"`
	// Turn is the assistant turn the call produced or, for an extractor
	// call, the turn whose tool call caused it.
	Turn             int32  `parquet:"turn" json:"turn"`
	PromptTokens     int32  `parquet:"prompt_tokens" json:"prompt_tokens"`
	CompletionTokens int32  `parquet:"completion_tokens" json:"completion_tokens"`
	LatencyMillis    int64  `parquet:"latency_ms" json:"latency_ms"`
	Attempts         int32  `parquet:"attempts" json:"attempts"`
	FinishReason     string `parquet:"finish_reason" json:"finish_reason"`
	Error            string `parquet:"error" json:"error"`
	// UsageEstimated marks token counts the client estimated because the
	// server sent none (see llm.Reply).
	UsageEstimated bool `parquet:"usage_estimated" json:"usage_estimated,omitempty"`
	// SentHash is, for an agent call, SentHash of the messages it sent: a
	// replayed log can be checked against what the model really saw.
	SentHash string `parquet:"sent_hash" json:"sent_hash,omitempty"`
}
