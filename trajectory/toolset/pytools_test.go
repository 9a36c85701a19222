package toolset_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
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

// textResults are the options that give the tool-python results as plain
// text, which these session tests compare most easily.
var textResults = toolset.Options{PythonResult: toolset.PythonText}

func TestSessionSandboxesAreNotShared(t *testing.T) {
	ctx := context.Background()
	p := tooltest.NewSandboxes()
	ts := toolset.New(tooltest.NewCorpus(), nil).WithSandbox(p).WithOptions(textResults)
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
	id := "sbx-1ea6328bad9fab83" // the first sandbox of every session
	tests := []struct {
		name, mode, tool, args string
		want                   string // prefix of the result
	}{
		{"python runs", toolset.PythonText, trajectory.ToolRunPython, `{"code_block":"print(1)","sandbox_id":"` + id + `"}`, "python:print(1)"},
		{"id with blanks", toolset.PythonText, trajectory.ToolRunCommand, tooltest.CommandArgs(" "+id+" ", "ls"), "ls"},
		{"no output is said", toolset.PythonText, trajectory.ToolRunCommand, tooltest.CommandArgs(id, "silent"), "[no output: "},
		{"missing sandbox_id", toolset.PythonText, trajectory.ToolRunCommand, `{"command":"ls"}`, "[ERROR]: run_command needs a sandbox_id"},
		{"placeholder id", toolset.PythonText, trajectory.ToolRunPython, `{"code_block":"1","sandbox_id":"sandbox1"}`, `[ERROR]: "sandbox1" is not a valid sandbox_id`},
		{"made-up id", toolset.PythonText, trajectory.ToolRunCommand, tooltest.CommandArgs("sbx-0000000000000000", "ls"), `[ERROR]: "sbx-0000000000000000" is not a valid sandbox_id`},
		{"empty code", toolset.PythonText, trajectory.ToolRunPython, `{"code_block":"  ","sandbox_id":"` + id + `"}`, "[ERROR]: run_python_code needs a non-empty code_block"},
		{"empty command", toolset.PythonText, trajectory.ToolRunCommand, tooltest.CommandArgs(id, ""), "[ERROR]: run_command needs a non-empty command"},
		{"args not an object", toolset.PythonText, trajectory.ToolRunCommand, `["ls"]`, "[ERROR]: invalid arguments for run_command"},
		{"create takes MiroThinker's timeout", toolset.PythonText, trajectory.ToolCreateSandbox, `{"timeout":600}`, "Sandbox created with sandbox_id: sbx-"},

		{"e2b: python", toolset.PythonE2B, trajectory.ToolRunPython, `{"code_block":"print(1)","sandbox_id":"` + id + `"}`,
			"Execution(Results: [], Logs: Logs(stdout: ['python:print(1)'], stderr: []), Error: None)"},
		{"e2b: command", toolset.PythonE2B, trajectory.ToolRunCommand, tooltest.CommandArgs(id, "ls"),
			"CommandResult(stderr='', stdout='ls', exit_code=0, error='')"},
		{"e2b: silent command", toolset.PythonE2B, trajectory.ToolRunCommand, tooltest.CommandArgs(id, "silent"),
			"CommandResult(stderr='', stdout='', exit_code=0, error='')"},
		{"e2b: failing command is CommandExitException", toolset.PythonE2B, trajectory.ToolRunCommand, tooltest.CommandArgs(id, "fail"),
			"[ERROR]: Failed to run command.\n\nException type: CommandExitException\nDetails: Command exited with code 2 and error:\nfail"},
		{"e2b: placeholder id runs statelessly", toolset.PythonE2B, trajectory.ToolRunPython, `{"code_block":"print(2)","sandbox_id":"default"}`,
			"Execution(Results: [], Logs: Logs(stdout: ['python:print(2)'], stderr: []), Error: None)"},
		{"e2b: missing id runs statelessly", toolset.PythonE2B, trajectory.ToolRunPython, `{"code_block":"print(3)"}`,
			"Execution(Results: [], Logs: Logs(stdout: ['python:print(3)'], stderr: []), Error: None)"},
		{"e2b: placeholder id for a command", toolset.PythonE2B, trajectory.ToolRunCommand, tooltest.CommandArgs("sandbox1", "ls"),
			"[ERROR]: 'sandbox1' is not a valid sandbox_id. Please create a real sandbox first using the create_sandbox tool."},
		{"e2b: made-up id", toolset.PythonE2B, trajectory.ToolRunPython, `{"code_block":"1","sandbox_id":"sbx-0000000000000000"}`,
			"[ERROR]: Failed to connect to sandbox sbx-0000000000000000. Make sure the sandbox is created and the sandbox_id is correct."},
		{"e2b: empty id for a command", toolset.PythonE2B, trajectory.ToolRunCommand, `{"command":"ls"}`,
			"[ERROR]: Failed to connect to sandbox . Make sure the sandbox is created and the sandbox_id is correct."},
		{"unknown argument refused as FastMCP 2 refuses it", toolset.PythonE2B, trajectory.ToolRunCommand, `{"command":"ls","sandbox_id":"x","cwd":"/"}`,
			"[ERROR]: Error calling tool 'run_command': unexpected keyword argument 'cwd'; run_command takes command, sandbox_id"},
		{"unknown argument of create_sandbox", toolset.PythonText, trajectory.ToolCreateSandbox, `{"template":"x"}`,
			"[ERROR]: Error calling tool 'create_sandbox': unexpected keyword argument 'template'; create_sandbox takes timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tooltest.NewSandboxes()
			s := toolset.New(tooltest.NewCorpus(), nil).WithSandbox(p).WithOptions(toolset.Options{PythonResult: tt.mode}).Open()
			defer s.Close()
			if got := tooltest.CreateIn(t, s); got != id {
				t.Fatalf("first sandbox %s, want %s", got, id)
			}
			got := s.Call(ctx, tt.tool, tt.args)
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %q\nwant prefix %q", got, tt.want)
			}
			if strings.Contains(tt.name, "statelessly") {
				if n := p.Live(); n != 1 {
					t.Errorf("%d live sandboxes after a stateless run, want only the session's 1", n)
				}
				if len(p.Removed()) != 1 {
					t.Errorf("the throwaway sandbox was not removed: %v", p.Removed())
				}
			}
		})
	}
}

func TestUnknownArgumentsPolicy(t *testing.T) {
	ctx := context.Background()
	search := `{"q":"ada","safe":"off"}`
	command := `{"command":"ls","sandbox_id":"default","cwd":"/"}`
	tests := []struct {
		policy                       string
		searchRefused, pythonRefused bool
	}{
		{"", false, true},
		{toolset.ArgsServer, false, true},
		{toolset.ArgsIgnore, false, false},
		{toolset.ArgsReject, true, true},
	}
	for _, tt := range tests {
		t.Run("policy="+tt.policy, func(t *testing.T) {
			s := toolset.New(tooltest.NewCorpus(), nil).WithSandbox(tooltest.NewSandboxes()).
				WithOptions(toolset.Options{UnknownArguments: tt.policy}).Open()
			defer s.Close()
			gotSearch := s.Call(ctx, trajectory.ToolGoogleSearch, search)
			if refused := strings.Contains(gotSearch, "unexpected keyword argument 'safe'"); refused != tt.searchRefused {
				t.Errorf("search: %q", gotSearch)
			}
			gotCmd := s.Call(ctx, trajectory.ToolRunCommand, command)
			if refused := strings.Contains(gotCmd, "unexpected keyword argument 'cwd'"); refused != tt.pythonRefused {
				t.Errorf("run_command: %q", gotCmd)
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
	if got := ts.Call(ctx, trajectory.ToolRunCommand, tooltest.CommandArgs(id, "ls")); !strings.Contains(got, "Failed to connect to sandbox") {
		t.Errorf("sessionless call reached an earlier call's sandbox: %q", got)
	}
}

func TestSchemasWithAndWithoutSandbox(t *testing.T) {
	plain := toolset.New(tooltest.NewCorpus(), nil)
	withPy := plain.WithSandbox(tooltest.NewSandboxes())
	if n := len(withPy.Schemas()); n != 7 {
		t.Fatalf("with a sandbox %d schemas, want 7", n)
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
		trajectory.ToolUploadFile:    "sandbox_id,local_file_path",
		trajectory.ToolDownloadFile:  "sandbox_id,url",
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
	if n := len(toolset.ProfileTools()); n != 7 {
		t.Errorf("ProfileTools has %d tools, want 7", n)
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
	ts := toolset.New(tooltest.NewCorpus(), nil).WithSandbox(rm).WithOptions(textResults)
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

// TestE2BResultsWithRealSandbox runs the E2B-shaped tools in bubblewrap:
// the shapes MiroThinker's server returns, a stateless run for a
// placeholder id, and files put in by the upload and download tools seen
// by code at /home/user and /work.
func TestE2BResultsWithRealSandbox(t *testing.T) {
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
	local := t.TempDir()
	if err := os.WriteFile(filepath.Join(local, "n.txt"), []byte("41"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := toolset.New(tooltest.NewCorpus(), nil).WithSandbox(m).WithOptions(toolset.Options{LocalFiles: local}).Open()
	defer s.Close()
	ctx := context.Background()
	id := tooltest.CreateIn(t, s)
	py := func(code, sid string) string {
		b, _ := json.Marshal(map[string]string{"code_block": code, "sandbox_id": sid})
		return string(b)
	}
	for _, c := range []struct{ tool, args, want string }{
		{trajectory.ToolUploadFile, `{"sandbox_id":"` + id + `","local_file_path":"n.txt"}`, "File uploaded to /home/user/n.txt"},
		{trajectory.ToolDownloadFile, `{"sandbox_id":"` + id + `","url":"https://demo.wiki/Ada_Lovelace","sandbox_file_path":"/work/ada.md"}`, "File downloaded to /work/ada.md"},
		{trajectory.ToolRunPython, py("n = int(open('/home/user/n.txt').read()) + 1\nprint(open('/work/ada.md').readline().strip())\nn", id),
			"Execution(Results: [Result(42)], Logs: Logs(stdout: ['# Ada Lovelace\\n'], stderr: []), Error: None)"},
		{trajectory.ToolRunPython, py("import sys\nprint('a'); print('b', file=sys.stderr)\nundefined_name", id),
			"Execution(Results: [], Logs: Logs(stdout: ['a\\n'], stderr: ['b\\n']), Error: ExecutionError(name='NameError', value=\"name 'undefined_name' is not defined\", traceback='Traceback (most recent call last):\\n  File \"<stdin>\", line 3, in <module>\\nNameError: name \\'undefined_name\\' is not defined\\n'))"},
		{trajectory.ToolRunCommand, tooltest.CommandArgs(id, "cat n.txt; echo; ls /home/user | sort | tr '\\n' ' '"),
			"CommandResult(stderr='', stdout='41\\nada.md n.txt ', exit_code=0, error='')"},
		{trajectory.ToolRunCommand, tooltest.CommandArgs(id, "ls missing"),
			"[ERROR]: Failed to run command.\n\nException type: CommandExitException\nDetails: Command exited with code 2 and error:\nls: cannot access 'missing': No such file or directory\n"},
		// Stateless: a fresh sandbox that has none of the files.
		{trajectory.ToolRunPython, py("import os\nsorted(os.listdir('.'))", "default"),
			"Execution(Results: [Result([])], Logs: Logs(stdout: [], stderr: []), Error: None)"},
	} {
		if got := s.Call(ctx, c.tool, c.args); got != c.want {
			t.Errorf("%s %s:\ngot  %s\nwant %s", c.tool, c.args, got, c.want)
		}
	}
}
