package react

import (
	"context"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/internal/tooltest"
	"github.com/miroverse/miroverse/trajectory/toolset"
)

// TestAgentWithSandbox runs a rollout that uses the sandbox: identical
// sandbox calls both run (their results depend on state), and the rollout's
// sandboxes are gone when Run returns.
func TestAgentWithSandbox(t *testing.T) {
	p := tooltest.NewSandboxes()
	// The sandbox_id is deterministic: a session's first sandbox always has
	// the same one, which a throw-away session reveals.
	probe := toolset.New(tooltest.NewCorpus(), nil).WithSandbox(tooltest.NewSandboxes()).Open()
	id := tooltest.CreateIn(t, probe)
	probe.Close()
	script := &scriptLLM{steps: []scriptStep{
		fn("", trajectory.ToolCreateSandbox, `{}`),
		fn("", trajectory.ToolRunCommand, tooltest.CommandArgs(id, "step")),
		fn("", trajectory.ToolRunCommand, tooltest.CommandArgs(id, "step")),
		say(`\boxed{done}`),
		say(`\boxed{done}`),
	}}
	agent := &Agent{LLM: script, Tools: toolset.New(tooltest.NewCorpus(), nil).WithSandbox(p), Policy: DefaultPolicy()}
	r, err := agent.Run(context.Background(), trajectory.Task{QAID: "q", Question: "?"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	var results []string
	for _, m := range r.Messages {
		if m.Role == openai.ChatMessageRoleTool {
			results = append(results, text(m))
		}
	}
	want := []string{"Sandbox created with sandbox_id: " + id,
		"CommandResult(stderr='', stdout='step', exit_code=0, error='')",
		"CommandResult(stderr='', stdout='step|step', exit_code=0, error='')"}
	if strings.Join(results, "\n") != strings.Join(want, "\n") {
		t.Errorf("tool results %q, want %q", results, want)
	}
	if n := p.Live(); n != 0 {
		t.Errorf("%d sandboxes left after the rollout", n)
	}
	if reqs := script.requests(); len(reqs[0].Tools) != 7 {
		t.Errorf("first request offers %d tools, want 7", len(reqs[0].Tools))
	}
	if !strings.Contains(r.Tools, `"name":"run_python_code"`) {
		t.Error("rollout's tools column lacks run_python_code")
	}
}
