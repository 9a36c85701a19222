package toolset_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miroverse/miroverse/internal/testenv"
	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/internal/tooltest"
	"github.com/miroverse/miroverse/trajectory/sandbox"
	"github.com/miroverse/miroverse/trajectory/toolset"
)

func TestSessionSandboxesAreNotShared(t *testing.T) {
	ctx := context.Background()
	p := tooltest.NewSandboxes()
	ts := toolset.New(tooltest.NewCorpus(), nil).WithSandbox(p)
	a, b := ts.Open(), ts.Open()
	defer a.Close()
	defer b.Close()

	idA := tooltest.CreateIn(t, a)
	if got := a.Call(ctx, trajectory.ToolRunCommand, tooltest.CommandArgs(idA, "write-in-a")); got != "write-in-a" {
		t.Fatalf("run in own sandbox: %q", got)
	}
	// B has created nothing: A's id means nothing to it.
	for _, tool := range []string{trajectory.ToolRunCommand, trajectory.ToolRunPython} {
		args := tooltest.CommandArgs(idA, "x")
		if tool == trajectory.ToolRunPython {
			args = `{"code_block":"print(1)","sandbox_id":"` + idA + `"}`
		}
		got := b.Call(ctx, tool, args)
		if !strings.HasPrefix(got, trajectory.ToolErrorPrefix) || !strings.Contains(got, "not a valid sandbox_id") {
			t.Errorf("%s in session B with A's id: %q", tool, got)
		}
	}
	// B's own first sandbox has the same id (ids depend on the creation
	// count only) but is B's: it starts empty and never sees A's state.
	idB := tooltest.CreateIn(t, b)
	if idB != idA {
		t.Errorf("first sandbox ids differ between sessions (%s, %s); they should be deterministic", idA, idB)
	}
	if got := b.Call(ctx, trajectory.ToolRunCommand, tooltest.CommandArgs(idB, "in-b")); got != "in-b" {
		t.Errorf("B's sandbox sees other state: %q", got)
	}
	if got := a.Call(ctx, trajectory.ToolRunCommand, tooltest.CommandArgs(idA, "again")); got != "write-in-a|again" {
		t.Errorf("A's sandbox lost its state: %q", got)
	}
	idA2 := tooltest.CreateIn(t, a)
	if idA2 == idA {
		t.Errorf("second sandbox of a session reuses id %s", idA)
	}
}

func TestSessionCloseRemovesSandboxes(t *testing.T) {
	ctx := context.Background()
	p := tooltest.NewSandboxes()
	ts := toolset.New(tooltest.NewCorpus(), nil).WithSandbox(p)
	other := ts.Open()
	defer other.Close()
	tooltest.CreateIn(t, other)

	s := ts.Open()
	id := tooltest.CreateIn(t, s)
	tooltest.CreateIn(t, s)
	if n := p.Live(); n != 3 {
		t.Fatalf("%d live sandboxes, want 3", n)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := p.Live(); n != 1 {
		t.Errorf("%d live sandboxes after closing one session, want only the other session's 1", n)
	}
	if len(p.Removed()) != 2 {
		t.Errorf("removed %v, want the closed session's two", p.Removed())
	}
	for _, c := range []struct{ tool, args string }{
		{trajectory.ToolRunCommand, tooltest.CommandArgs(id, "ls")},
		{trajectory.ToolCreateSandbox, `{}`},
	} {
		if got := s.Call(ctx, c.tool, c.args); !strings.HasPrefix(got, trajectory.ToolErrorPrefix) {
			t.Errorf("%s after Close: %q", c.tool, got)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// The stateless tools do not depend on the session's state.
	if got := s.Call(ctx, trajectory.ToolGoogleSearch, `{"q":"ada"}`); !strings.HasPrefix(got, `{"organic":[`) {
		t.Errorf("search after Close: %q", got)
	}
}

func TestPythonToolCalls(t *testing.T) {
	ctx := context.Background()
	ts := toolset.New(tooltest.NewCorpus(), nil).WithSandbox(tooltest.NewSandboxes())
	s := ts.Open()
	defer s.Close()
	id := tooltest.CreateIn(t, s)
	tests := []struct {
		name, tool, args string
		want             string // prefix of the result
	}{
		{"python runs", trajectory.ToolRunPython, `{"code_block":"print(1)","sandbox_id":"` + id + `"}`, "python:print(1)"},
		{"id with blanks", trajectory.ToolRunCommand, tooltest.CommandArgs(" "+id+" ", "ls"), "python:print(1)|ls"},
		{"no output is said", trajectory.ToolRunCommand, tooltest.CommandArgs(id, "silent"), "[no output: "},
		{"missing sandbox_id", trajectory.ToolRunCommand, `{"command":"ls"}`, "[ERROR]: run_command needs a sandbox_id"},
		{"placeholder id", trajectory.ToolRunPython, `{"code_block":"1","sandbox_id":"sandbox1"}`, `[ERROR]: "sandbox1" is not a valid sandbox_id`},
		{"made-up id", trajectory.ToolRunCommand, tooltest.CommandArgs("sbx-0000000000000000", "ls"), `[ERROR]: "sbx-0000000000000000" is not a valid sandbox_id`},
		{"empty code", trajectory.ToolRunPython, `{"code_block":"  ","sandbox_id":"` + id + `"}`, "[ERROR]: run_python_code needs a non-empty code_block"},
		{"empty command", trajectory.ToolRunCommand, tooltest.CommandArgs(id, ""), "[ERROR]: run_command needs a non-empty command"},
		{"args not an object", trajectory.ToolRunCommand, `["ls"]`, "[ERROR]: invalid arguments for run_command"},
		{"create ignores MiroThinker's timeout", trajectory.ToolCreateSandbox, `{"timeout":600}`, "Sandbox created with sandbox_id: sbx-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Call(ctx, tt.tool, tt.args); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got %q, want prefix %q", got, tt.want)
			}
		})
	}
}

func TestSessionSandboxLimit(t *testing.T) {
	p := tooltest.NewSandboxes()
	s := toolset.New(tooltest.NewCorpus(), nil).WithSandbox(p).Open()
	defer s.Close()
	seen := map[string]bool{}
	for {
		got := s.Call(context.Background(), trajectory.ToolCreateSandbox, `{}`)
		if strings.HasPrefix(got, trajectory.ToolErrorPrefix) {
			if !strings.Contains(got, "reuse one of them") || len(seen) < 2 {
				t.Errorf("after %d sandboxes: %q", len(seen), got)
			}
			break
		}
		if seen[got] {
			t.Fatalf("duplicate sandbox id: %q", got)
		}
		seen[got] = true
		if len(seen) > 100 {
			t.Fatal("no bound on sandboxes per session")
		}
	}
}

func TestToolsetCallPythonIsOneShot(t *testing.T) {
	ctx := context.Background()
	p := tooltest.NewSandboxes()
	ts := toolset.New(tooltest.NewCorpus(), nil).WithSandbox(p)
	got := ts.Call(ctx, trajectory.ToolCreateSandbox, `{}`)
	id, ok := tooltest.SandboxIDOf(got)
	if !ok {
		t.Fatalf("create_sandbox: %q", got)
	}
	if n := p.Live(); n != 0 {
		t.Errorf("a sessionless call left %d sandboxes behind", n)
	}
	if got := ts.Call(ctx, trajectory.ToolRunCommand, tooltest.CommandArgs(id, "ls")); !strings.Contains(got, "not a valid sandbox_id") {
		t.Errorf("sessionless call reached an earlier call's sandbox: %q", got)
	}
}

func TestSchemasWithAndWithoutSandbox(t *testing.T) {
	plain := toolset.New(tooltest.NewCorpus(), nil)
	withPy := plain.WithSandbox(tooltest.NewSandboxes())
	if n := len(withPy.Schemas()); n != 5 {
		t.Fatalf("with a sandbox %d schemas, want 5", n)
	}
	// Without a provider nothing changes: two tools, and the sandbox tools
	// are unknown.
	if n := len(plain.Schemas()); n != 2 {
		t.Errorf("without a sandbox %d schemas, want 2", n)
	}
	if got := plain.Open().Call(context.Background(), trajectory.ToolCreateSandbox, `{}`); !strings.HasPrefix(got, `[ERROR]: unknown tool "create_sandbox"; available tools: google_search, scrape_and_extract_info`) {
		t.Errorf("create_sandbox without a provider: %q", got)
	}
	if strings.Contains(plain.MCPToolsSection(), trajectory.ServerPython) {
		t.Error("MCP tool section lists tool-python without a sandbox")
	}

	a, b := plain.SchemasJSON(), withPy.SchemasJSON()
	if !strings.HasPrefix(b, strings.TrimSuffix(a, "]")+",") {
		t.Errorf("the sandbox tools must follow the search tools unchanged:\n%s\n%s", a, b)
	}
	var tools []struct {
		Function struct {
			Name       string `json:"name"`
			Parameters struct {
				Properties map[string]json.RawMessage `json:"properties"`
				Required   []string                   `json:"required"`
			} `json:"parameters"`
		} `json:"function"`
	}
	if err := json.Unmarshal([]byte(b), &tools); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		trajectory.ToolCreateSandbox: "",
		trajectory.ToolRunPython:     "code_block,sandbox_id",
		trajectory.ToolRunCommand:    "command,sandbox_id",
	}
	for _, tool := range tools[2:] {
		req, ok := want[tool.Function.Name]
		if !ok {
			t.Errorf("unexpected tool %s", tool.Function.Name)
			continue
		}
		if got := strings.Join(tool.Function.Parameters.Required, ","); got != req {
			t.Errorf("%s requires %q, want %q", tool.Function.Name, got, req)
		}
		delete(want, tool.Function.Name)
	}
	if len(want) != 0 {
		t.Errorf("missing tools %v", want)
	}
	sec := withPy.MCPToolsSection()
	if !strings.Contains(sec, "## Server name: tool-python\n") || !strings.Contains(sec, "### Tool name: run_python_code\n") {
		t.Errorf("MCP tool section lacks the tool-python server:\n%s", sec)
	}
	if n := len(toolset.ProfileTools()); n != 5 {
		t.Errorf("ProfileTools has %d tools, want 5", n)
	}
	// withPy offers the whole profile.
	for _, ti := range toolset.ProfileTools() {
		if ti.Server != trajectory.ServerOf(ti.Name) || ti.Server == "" {
			t.Errorf("tool %s on server %q", ti.Name, ti.Server)
		}
	}
}

// recordingManager wraps a real sandbox.Manager and remembers the ids it
// handed out, so a test can ask the Manager about them afterwards.
type recordingManager struct {
	*sandbox.Manager
	mu  sync.Mutex
	ids []string
}

func (r *recordingManager) Create(ctx context.Context) (string, error) {
	id, err := r.Manager.Create(ctx)
	if err == nil {
		r.mu.Lock()
		r.ids = append(r.ids, id)
		r.mu.Unlock()
	}
	return id, err
}

// TestSessionWithRealSandbox repeats the session rules with bubblewrap: a
// file written in one session's sandbox is invisible to another session's,
// and Close removes the session's sandboxes from the shared Manager.
func TestSessionWithRealSandbox(t *testing.T) {
	l := sandbox.DefaultLimits()
	l.Wall = 10 * time.Second
	m, err := sandbox.NewManager(context.Background(), l)
	if err != nil {
		if errors.Is(err, sandbox.ErrUnavailable) {
			testenv.Missing(t, "bubblewrap sandbox unavailable here: %v", err)
		}
		t.Fatal(err)
	}
	defer m.Close()
	rm := &recordingManager{Manager: m}
	ts := toolset.New(tooltest.NewCorpus(), nil).WithSandbox(rm)
	ctx := context.Background()
	a, b := ts.Open(), ts.Open()
	defer b.Close()
	idA := tooltest.CreateIn(t, a)
	if got := a.Call(ctx, trajectory.ToolRunPython, `{"code_block":"open('f','w').write('from-a')\nprint(open('f').read())","sandbox_id":"`+idA+`"}`); got != "from-a\n" {
		t.Fatalf("python in A: %q", got)
	}
	if got := b.Call(ctx, trajectory.ToolRunCommand, tooltest.CommandArgs(idA, "cat f")); !strings.Contains(got, "not a valid sandbox_id") {
		t.Errorf("B used A's sandbox: %q", got)
	}
	idB := tooltest.CreateIn(t, b)
	if got := b.Call(ctx, trajectory.ToolRunCommand, tooltest.CommandArgs(idB, "cat f; ls -A")); strings.Contains(got, "from-a") {
		t.Errorf("B's sandbox sees A's file: %q", got)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	rm.mu.Lock()
	first := rm.ids[0]
	rm.mu.Unlock()
	if got := m.RunCommand(ctx, first, "ls"); !strings.Contains(got, "does not exist") {
		t.Errorf("A's sandbox survived Close: %q", got)
	}
	if got := b.Call(ctx, trajectory.ToolRunCommand, tooltest.CommandArgs(idB, "echo b-alive")); got != "b-alive\n" {
		t.Errorf("closing A broke B: %q", got)
	}
}
