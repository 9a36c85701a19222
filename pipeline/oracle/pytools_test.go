package oracle

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/trajectory"
)

// pythonTools are the tool-python schemas as the pipeline offers them.
func pythonTools() []openai.Tool {
	return []openai.Tool{
		{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
			Name: trajectory.ToolCreateSandbox, Parameters: json.RawMessage(`{"type":"object","properties":{}}`)}},
		{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
			Name: trajectory.ToolRunPython, Parameters: json.RawMessage(`{"type":"object","properties":{"code_block":{"type":"string"},"sandbox_id":{"type":"string"}}}`)}},
		{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
			Name: "run_command", Parameters: json.RawMessage(`{"type":"object","properties":{"command":{"type":"string"},"sandbox_id":{"type":"string"}}}`)}},
	}
}

// sandboxRollout drives one conversation whose tool side offers the sandbox
// tools; create answers create_sandbox. It returns the calls as strings and
// the final content.
func sandboxRollout(t *testing.T, c *llm.Client, mode string, seed int, create string) ([]string, string) {
	t.Helper()
	system := "You are a research agent."
	if mode == trajectory.ModeMCP {
		system += "\n### Server: tool-python\n#### Tool: create_sandbox\n#### Tool: run_python_code\n#### Tool: run_command\n"
	}
	msgs := []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: system},
		{Role: openai.ChatMessageRoleUser, Content: testQuestion},
	}
	var calls []string
	for range 30 {
		s := seed
		req := openai.ChatCompletionRequest{Messages: msgs, Seed: &s}
		if mode == trajectory.ModeFunction {
			req.Tools = append(agentTools(), pythonTools()...)
		}
		rep, err := c.Chat(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, rep.Message)
		var name, args, server, id string
		if mode == trajectory.ModeFunction {
			if len(rep.Message.ToolCalls) == 0 {
				return calls, rep.Message.Content
			}
			name, args, id = rep.Message.ToolCalls[0].Function.Name, rep.Message.ToolCalls[0].Function.Arguments, rep.Message.ToolCalls[0].ID
		} else {
			m := reMCPCall.FindStringSubmatch(rep.Message.Content)
			if m == nil {
				return calls, rep.Message.Content
			}
			server, name, args = m[1], m[2], m[3]
		}
		var a map[string]string
		if err := json.Unmarshal([]byte(args), &a); err != nil {
			t.Fatalf("arguments of %s: %q: %v", name, args, err)
		}
		var result string
		switch name {
		case trajectory.ToolGoogleSearch:
			calls = append(calls, "search("+a["q"]+")")
			result = serperJSON(t, a["q"], a["q"])
		case trajectory.ToolScrape:
			calls = append(calls, "scrape("+a["url"]+")")
			result = "Page text."
		case trajectory.ToolCreateSandbox:
			calls = append(calls, "create_sandbox"+args)
			result = create
		case trajectory.ToolRunPython:
			calls = append(calls, "run_python_code("+a["sandbox_id"]+")")
			if !strings.HasPrefix(a["code_block"], `trail = ["Marie Curie","Warsaw","Vistula"]`+"\n") {
				t.Errorf("code_block %q does not list the trail", a["code_block"])
			}
			result = "1. Marie Curie\n2. Warsaw\n3. Vistula\n2 hops from Marie Curie to Vistula\n"
		default:
			t.Fatalf("unexpected tool %s", name)
		}
		if mode == trajectory.ModeMCP && (name == trajectory.ToolCreateSandbox || name == trajectory.ToolRunPython) && server != trajectory.ServerPython {
			t.Errorf("%s on server %q, want %s", name, server, trajectory.ServerPython)
		}
		if mode == trajectory.ModeFunction {
			msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleTool, Content: result, ToolCallID: id})
		} else {
			msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: result})
		}
	}
	t.Fatalf("no final answer; calls %v", calls)
	return nil, ""
}

// TestAgentUsesSandboxWhenOffered: when run_python_code is offered, a seeded
// fraction of rollouts creates a sandbox and lists the trail in it after the
// last page and before answering; the same seed always decides the same way.
func TestAgentUsesSandboxWhenOffered(t *testing.T) {
	s := startOracle(t, Config{Keys: testKeys()})
	c := client(s, llm.RoleAgent)
	const created = "Sandbox created with sandbox_id: sbx-test"
	withSandbox := append(solvedCalls(), "create_sandbox{}", "run_python_code(sbx-test)")
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			used := 0
			const seeds = 40
			for seed := range seeds {
				calls, final := sandboxRollout(t, c, mode, seed, created)
				if !strings.Contains(final, `\boxed{`) {
					t.Errorf("seed %d: no boxed answer: %q", seed, final)
				}
				switch {
				case slices.Equal(calls, withSandbox):
					used++
					again, _ := sandboxRollout(t, c, mode, seed, created)
					if !slices.Equal(again, calls) {
						t.Errorf("seed %d: replay differs: %v", seed, again)
					}
				case slices.Equal(calls, solvedCalls()):
				default:
					t.Errorf("seed %d: calls %v", seed, calls)
				}
			}
			if used < seeds/10 || used > seeds/2 {
				t.Errorf("%d of %d rollouts used the sandbox, want about %.0f%%", used, seeds, pythonRate*100)
			}
		})
	}
}

// TestAgentSkipsRunWhenCreateFails: a failed create_sandbox is followed by
// the answer, not by a run in a sandbox that does not exist.
func TestAgentSkipsRunWhenCreateFails(t *testing.T) {
	s := startOracle(t, Config{Keys: testKeys()})
	c := client(s, llm.RoleAgent)
	for seed := range 40 {
		calls, final := sandboxRollout(t, c, trajectory.ModeFunction, seed, "[ERROR]: could not create a sandbox")
		if slices.Contains(calls, "create_sandbox{}") {
			if calls[len(calls)-1] != "create_sandbox{}" || !strings.Contains(final, `\boxed{`) {
				t.Errorf("seed %d: after a failed create: calls %v, final %q", seed, calls, final)
			}
			return
		}
	}
	t.Errorf("no seed of 40 used the sandbox (rate %v)", pythonRate)
}
