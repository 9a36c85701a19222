package trajectory

// Message is one chat message as stored in trajectories and exported rows.
// Its shape is the OpenAI chat format that TRL and Hugging Face chat templates
// read; optional fields are nil, not empty, when absent.
type Message struct {
	Role             string     `parquet:"role" json:"role"`
	Content          *string    `parquet:"content,optional" json:"content"`
	ReasoningContent *string    `parquet:"reasoning_content,optional" json:"reasoning_content,omitempty"`
	ToolCalls        []ToolCall `parquet:"tool_calls,list,optional" json:"tool_calls,omitempty"`
	ToolCallID       *string    `parquet:"tool_call_id,optional" json:"tool_call_id,omitempty"`
	Name             *string    `parquet:"name,optional" json:"name,omitempty"`
}

// ToolCall is a native function call of an assistant message.
type ToolCall struct {
	ID       string       `parquet:"id" json:"id"`
	Type     string       `parquet:"type" json:"type"`
	Function FunctionCall `parquet:"function" json:"function"`
}

// FunctionCall names the tool and carries its JSON arguments verbatim.
type FunctionCall struct {
	Name      string `parquet:"name" json:"name"`
	Arguments string `parquet:"arguments" json:"arguments"`
}

// Text returns a pointer to s, for the optional string fields.
func Text(s string) *string { return &s }
