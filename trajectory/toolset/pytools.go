package toolset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/internal/clip"
	"github.com/miroverse/miroverse/trajectory/sandbox"
)

// maxSessionSandboxes bounds the sandboxes one session may hold: each is a
// directory on the host, and a model that loops on create_sandbox should be
// told to reuse one rather than fill the disk.
const maxSessionSandboxes = 8

// Output bounds of the E2B-shaped results (python_mcp_server.py):
// MAX_RESULT_LEN for a result, MAX_ERROR_LEN for the details of an error.
const (
	maxPythonResultChars = sandbox.DefaultOutputChars
	maxErrorDetailChars  = 4_000
)

// SandboxProvider makes and runs the sandboxes behind the tool-python tools.
// *sandbox.Manager (trajectory/sandbox) implements it; one provider serves
// every session of a Toolset, and each Session keeps to the sandboxes it
// created.
type SandboxProvider interface {
	// Create makes an empty sandbox and returns the provider's id for it.
	Create(ctx context.Context) (string, error)
	// RunPython and RunCommand return the output the model sees: merged
	// stdout and stderr, capped with the provider's own marker, or a string
	// starting with trajectory.ToolErrorPrefix.
	RunPython(ctx context.Context, id, code string) string
	RunCommand(ctx context.Context, id, command string) string
	// ExecPython and ExecCommand run the same calls and return their
	// outcome in parts, for the E2B-shaped results.
	ExecPython(ctx context.Context, id, code string) sandbox.Execution
	ExecCommand(ctx context.Context, id, command string) sandbox.Execution
	// WriteFile writes data to path, relative to the sandbox's working
	// directory, creating parent directories, never outside that directory.
	WriteFile(ctx context.Context, id, path string, data []byte) error
	// Remove deletes one sandbox and its files.
	Remove(id string) error
}

// WithSandbox returns a copy of t that also offers the tool-python tools,
// run by p. Without it they are neither offered nor runnable, and the
// schemas (and so the manifest's tool-schema hash) are those of the search
// tools alone.
func (t *Toolset) WithSandbox(p SandboxProvider) *Toolset {
	c := *t
	c.sandbox = p
	return &c
}

// isPythonTool reports whether name is a tool of the tool-python server.
func isPythonTool(name string) bool {
	return trajectory.ServerOf(name) == trajectory.ServerPython
}

// pythonToolDefs are the tool-python tools in the order they are offered:
// MiroThinker v1.0's profile (conf/agent/mirothinker_v1.0.yaml) offers the
// server's tools but download_file_from_sandbox_to_local. The descriptions
// say what this sandbox really is (a fresh interpreter per call, files
// kept, no network) so that a model does not count on state or access it
// will not get; e2b picks the description of the answers' shape, lifetime
// is the most a create_sandbox timeout may ask for.
func pythonToolDefs(e2b bool, lifetime time.Duration) []toolDef {
	secs := strconv.FormatInt(int64(lifetime/time.Second), 10)
	pythonAnswer := "get back everything it printed, standard output and errors together"
	commandAnswer := "get back its combined output; a non-zero exit status is noted after the output"
	idNote := ""
	if e2b {
		pythonAnswer = "get back an Execution(Results: [...], Logs: Logs(stdout: [...], stderr: [...]), Error: ...) " +
			"summary: Results holds the value of the last line when that line is an expression, Logs what was " +
			"printed, Error the exception the code did not catch (or None)"
		commandAnswer = "get back CommandResult(stderr=..., stdout=..., exit_code=0, error=...); a command " +
			"that exits with a non-zero status is reported as an error that gives its standard error"
		idNote = " With a sandbox_id that no create_sandbox returned, such as default, the code runs in a " +
			"fresh sandbox that is thrown away afterwards."
	}
	return []toolDef{
		{
			Name: trajectory.ToolCreateSandbox,
			Description: "Start a new, empty Linux sandbox for running Python code and shell commands, and get " +
				"back its sandbox_id. Files written inside a sandbox stay there for your later calls, until it " +
				"has gone unused for its timeout. The sandbox has no network access: use the search and page " +
				"tools for anything on the web. Create one sandbox and reuse it rather than making a new one " +
				"for each step.",
			Parameters: `{
				"type": "object",
				"properties": {
					"timeout": {"type": "integer", "description": "Seconds the sandbox may stay unused before it is shut down and its files are gone, at most ` + secs + ` (the default). Each call in the sandbox renews it to ` + secs + ` seconds."}
				}
			}`,
		},
		{
			Name: trajectory.ToolRunPython,
			Description: "Run a short Python 3 program in a sandbox and " + pythonAnswer + ". Every call starts " +
				"a fresh interpreter, so variables do not carry over from one call to the next; files in the " +
				"working directory do. Code that runs too long or uses too much memory is stopped, and a " +
				"result beyond 20,000 characters is cut." + idNote,
			Parameters: `{
				"type": "object",
				"properties": {
					"code_block": {"type": "string", "description": "The Python source to run. Use print() for every value you need back."},
					"sandbox_id": {"type": "string", "description": "The sandbox to run in, exactly as create_sandbox returned it."}
				},
				"required": ["code_block", "sandbox_id"]
			}`,
		},
		{
			Name: trajectory.ToolRunCommand,
			Description: "Run one shell command line (bash) in a sandbox and " + commandAnswer + ". Meant for " +
				"quick work such as listing or reading files and small utilities. Without network access, " +
				"downloads and package installs fail.",
			Parameters: `{
				"type": "object",
				"properties": {
					"command": {"type": "string", "description": "The command line to run, e.g. ls -l or wc -l data.csv."},
					"sandbox_id": {"type": "string", "description": "The sandbox to run in, exactly as create_sandbox returned it."}
				},
				"required": ["command", "sandbox_id"]
			}`,
		},
		{
			Name: trajectory.ToolUploadFile,
			Description: "Copy one of the files this task makes available into a sandbox, so that code there " +
				"can read it, and get back the file's path in the sandbox. Only the files provided with the " +
				"task can be uploaded.",
			Parameters: `{
				"type": "object",
				"properties": {
					"sandbox_id": {"type": "string", "description": "The sandbox to copy the file into, exactly as create_sandbox returned it."},
					"local_file_path": {"type": "string", "description": "The file to upload: its path among the files provided with the task."},
					"sandbox_file_path": {"type": "string", "description": "The directory in the sandbox to put the file in, keeping its name. Default /home/user, the sandbox's working directory (also reachable as /work)."}
				},
				"required": ["sandbox_id", "local_file_path"]
			}`,
		},
		{
			Name: trajectory.ToolDownloadFile,
			Description: "Fetch the text of a web page into a sandbox as a file, for code to process, and get " +
				"back the file's path in the sandbox. The page comes from the same collection the search tool " +
				"searches, so use a link a search returned.",
			Parameters: `{
				"type": "object",
				"properties": {
					"sandbox_id": {"type": "string", "description": "The sandbox to save the file in, exactly as create_sandbox returned it."},
					"url": {"type": "string", "description": "Address of the page to fetch."},
					"sandbox_file_path": {"type": "string", "description": "Where to save it: a directory (the file is named after the last part of the URL) or a file path. Default /home/user, the sandbox's working directory (also reachable as /work)."}
				},
				"required": ["sandbox_id", "url"]
			}`,
		},
	}
}

// sessionSandboxID is the id the model sees for the n-th sandbox (from 1) a
// session creates. It depends on n alone, so a rollout replayed against a
// seeded LLM writes the same bytes; ids are resolved only in the session
// that created them, so the n-th sandbox of two sessions sharing an id never
// reach each other. The hash keeps the id from looking like a placeholder a
// model might invent ("sandbox1").
func sessionSandboxID(n int) string {
	h := sha256.Sum256([]byte("miroverse/sandbox/" + strconv.Itoa(n)))
	return "sbx-" + hex.EncodeToString(h[:8])
}

// createSandboxResult is create_sandbox's answer; MiroThinker's server
// words it this way, and models trained on its traces look for the id after
// "sandbox_id: ".
func createSandboxResult(id string) string {
	return "Sandbox created with sandbox_id: " + id
}

// placeholderSandboxIDs are the made-up ids MiroThinker's server refuses
// to connect to (python_mcp_server.py, INVALID_SANDBOX_IDS): run_python_code
// runs the code in a throwaway sandbox instead, the other tools answer with
// placeholderError.
func isPlaceholderSandboxID(id string) bool {
	switch id {
	case "default", "sandbox1", "sandbox", "some_id", "new_sandbox", "python", "create_sandbox",
		"sandbox123", "temp", "sandbox-0", "sandbox-1", "sandbox_0", "sandbox_1", "new", "0", "auto",
		"default_sandbox", "none", "sandbox_12345", "dummy", "sandbox_01":
		return true
	}
	return false
}

// The E2B-shaped error texts of MiroThinker's server (python_mcp_server.py).
func placeholderError(id string) string {
	return fmt.Sprintf("%s '%s' is not a valid sandbox_id. Please create a real sandbox first using the %s tool.",
		trajectory.ToolErrorPrefix, id, trajectory.ToolCreateSandbox)
}

func connectError(id string) string {
	return fmt.Sprintf("%s Failed to connect to sandbox %s. Make sure the sandbox is created and the sandbox_id is correct.",
		trajectory.ToolErrorPrefix, id)
}

type createArgs struct {
	Timeout looseInt `json:"timeout"`
}

type pythonArgs struct {
	Code      string  `json:"code_block"`
	SandboxID *string `json:"sandbox_id"`
}

type commandArgs struct {
	Command   string `json:"command"`
	SandboxID string `json:"sandbox_id"`
}

type uploadArgs struct {
	SandboxID       string `json:"sandbox_id"`
	LocalFilePath   string `json:"local_file_path"`
	SandboxFilePath string `json:"sandbox_file_path"`
}

type downloadArgs struct {
	SandboxID       string `json:"sandbox_id"`
	URL             string `json:"url"`
	SandboxFilePath string `json:"sandbox_file_path"`
}

// callPython runs one tool-python call in s. Only Session.Call reaches it,
// and only when the Toolset has a sandbox provider.
func (s *Session) callPython(ctx context.Context, name, argsJSON string) string {
	t := s.tools
	switch name {
	case trajectory.ToolCreateSandbox:
		var a createArgs
		if msg := t.decodeArgs(name, argsJSON, &a); msg != "" {
			return msg
		}
		return s.createSandbox(ctx, a)
	case trajectory.ToolRunPython:
		var a pythonArgs
		if msg := t.decodeArgs(name, argsJSON, &a); msg != "" {
			return msg
		}
		if strings.TrimSpace(a.Code) == "" {
			return toolErrorf("%s needs a non-empty code_block (the Python source to run)", name)
		}
		id := ""
		if a.SandboxID != nil {
			id = strings.TrimSpace(*a.SandboxID)
		}
		if t.pythonE2B() {
			return s.runPythonE2B(ctx, id, a.Code)
		}
		if a.SandboxID == nil || id == "" {
			return toolErrorf("%s needs a sandbox_id; call %s first and pass the sandbox_id it returns", name, trajectory.ToolCreateSandbox)
		}
		return s.withSandbox(name, id, func(pid string) string {
			return orNoOutput(t.sandbox.RunPython(ctx, pid, a.Code), "the code ran to completion without printing anything; use print() to see values")
		})
	case trajectory.ToolRunCommand:
		var a commandArgs
		if msg := t.decodeArgs(name, argsJSON, &a); msg != "" {
			return msg
		}
		if strings.TrimSpace(a.Command) == "" {
			return toolErrorf("%s needs a non-empty command", name)
		}
		id := strings.TrimSpace(a.SandboxID)
		if !t.pythonE2B() && id == "" {
			return toolErrorf("%s needs a sandbox_id; call %s first and pass the sandbox_id it returns", name, trajectory.ToolCreateSandbox)
		}
		return s.withSandbox(name, id, func(pid string) string {
			if t.pythonE2B() {
				return commandResult(t.sandbox.ExecCommand(ctx, pid, a.Command))
			}
			return orNoOutput(t.sandbox.RunCommand(ctx, pid, a.Command), "the command succeeded without printing anything")
		})
	case trajectory.ToolUploadFile:
		var a uploadArgs
		if msg := t.decodeArgs(name, argsJSON, &a); msg != "" {
			return msg
		}
		return s.upload(ctx, a)
	default: // trajectory.ToolDownloadFile
		var a downloadArgs
		if msg := t.decodeArgs(name, argsJSON, &a); msg != "" {
			return msg
		}
		return s.download(ctx, a)
	}
}

// orNoOutput says so when a call printed nothing: an empty tool result
// leaves a model unsure whether the call ran at all.
func orNoOutput(out, note string) string {
	if out == "" {
		return "[no output: " + note + "]"
	}
	return out
}

// runPythonE2B is run_python_code as MiroThinker's server runs it: in the
// named sandbox, or, for a missing or placeholder sandbox_id, statelessly
// in a throwaway one.
func (s *Session) runPythonE2B(ctx context.Context, id, code string) string {
	t := s.tools
	if id == "" || isPlaceholderSandboxID(id) {
		pid, err := t.sandbox.Create(ctx)
		if err != nil {
			return fmt.Sprintf("%s Failed to run code in stateless mode. Exception type: SandboxException, Details: %s",
				trajectory.ToolErrorPrefix, clip.Runes(err.Error(), maxErrorDetailChars))
		}
		defer func() { _ = t.sandbox.Remove(pid) }()
		ex := t.sandbox.ExecPython(ctx, pid, code)
		if ex.Failure != "" {
			return fmt.Sprintf("%s Failed to run code in stateless mode. Exception type: %s, Details: %s",
				trajectory.ToolErrorPrefix, failureType(ex), failureDetails(ex))
		}
		return executionResult(ex)
	}
	return s.withSandbox(trajectory.ToolRunPython, id, func(pid string) string {
		ex := t.sandbox.ExecPython(ctx, pid, code)
		if ex.Failure != "" {
			return fmt.Sprintf("%s Failed to run code in sandbox %s. Exception type: %s, Details: %s",
				trajectory.ToolErrorPrefix, id, failureType(ex), failureDetails(ex))
		}
		return executionResult(ex)
	})
}

// failureType names the E2B exception that stands for a failed call.
func failureType(ex sandbox.Execution) string {
	if ex.TimedOut {
		return "TimeoutException"
	}
	return "SandboxException"
}

func failureDetails(ex sandbox.Execution) string {
	d := strings.TrimSpace(strings.TrimPrefix(ex.Failure, trajectory.ToolErrorPrefix))
	return clip.Runes(d, maxErrorDetailChars)
}

// executionResult is str() of E2B's Execution for ex: one Logs entry per
// stream that printed anything (how a notebook kernel batches a short
// cell's output), cut at MiroThinker's MAX_RESULT_LEN.
func executionResult(ex sandbox.Execution) string {
	results := make([]string, len(ex.Results))
	for i, r := range ex.Results {
		results[i] = "Result(" + r + ")"
	}
	errRepr := "None"
	if e := ex.Error; e != nil {
		errRepr = "ExecutionError(name=" + pyRepr(e.Name) + ", value=" + pyRepr(e.Value) + ", traceback=" + pyRepr(e.Traceback) + ")"
	}
	out := "Execution(Results: " + pyList(results) + ", Logs: Logs(stdout: " + pyStrList(chunks(ex.Stdout)) +
		", stderr: " + pyStrList(chunks(ex.Stderr)) + "), Error: " + errRepr + ")"
	return capResult(out, ex.Truncated)
}

func chunks(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// commandResult is run_command's answer for ex: str() of E2B's
// CommandResult when the command exits with 0; otherwise E2B raises
// CommandExitException, which MiroThinker's server reports as an error.
func commandResult(ex sandbox.Execution) string {
	switch {
	case ex.Failure != "":
		return fmt.Sprintf("%s Failed to run command.\n\nException type: %s\nDetails: %s",
			trajectory.ToolErrorPrefix, failureType(ex), failureDetails(ex))
	case ex.ExitCode != 0:
		details := fmt.Sprintf("Command exited with code %d and error:\n%s", ex.ExitCode, ex.Stderr)
		return fmt.Sprintf("%s Failed to run command.\n\nException type: CommandExitException\nDetails: %s",
			trajectory.ToolErrorPrefix, clip.Runes(details, maxErrorDetailChars))
	}
	out := "CommandResult(stderr=" + pyRepr(ex.Stderr) + ", stdout=" + pyRepr(ex.Stdout) + ", exit_code=0, error='')"
	return capResult(out, ex.Truncated)
}

// capResult is MiroThinker's truncate_result; cut says a stream was
// already cut, so the marker is due even when the text fits.
func capResult(s string, cut bool) string {
	if c := clip.Runes(s, maxPythonResultChars); cut || len(c) < len(s) {
		return c + sandbox.TruncatedMarker
	}
	return s
}

// sessionSandbox is one sandbox of a session.
type sessionSandbox struct {
	pid      string        // the provider's id
	lifetime time.Duration // how long it may stay unused
	lastUsed time.Time     // creation, or the end of its latest call
	busy     int           // calls running in it
}

func (s *Session) createSandbox(ctx context.Context, a createArgs) string {
	t := s.tools
	lifetime := t.lifetime()
	// MiroThinker's server caps the timeout at its default and hands a
	// smaller one to E2B as the sandbox's lifetime.
	if a.Timeout.set && a.Timeout.value > 0 && time.Duration(a.Timeout.value)*time.Second < lifetime {
		lifetime = time.Duration(a.Timeout.value) * time.Second
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	switch {
	case s.closed:
		return toolErrorf("the tool session is closed")
	case len(s.sandboxes) >= maxSessionSandboxes:
		return toolErrorf("this session already has %d sandboxes, the most it may hold; reuse one of them: %s",
			len(s.sandboxes), strings.Join(s.liveIDsLocked(), ", "))
	}
	// Holding the lock across Create keeps Close from missing a sandbox
	// made while it runs; Create only makes a directory.
	pid, err := t.sandbox.Create(ctx)
	if err != nil {
		return toolErrorf("could not create a sandbox: %v", err)
	}
	s.created++
	id := sessionSandboxID(s.created)
	s.sandboxes[id] = &sessionSandbox{pid: pid, lifetime: lifetime, lastUsed: t.now()}
	s.order = append(s.order, id)
	return createSandboxResult(id)
}

// liveIDsLocked lists the session's sandbox_ids in creation order.
func (s *Session) liveIDsLocked() []string {
	var out []string
	for _, id := range s.order {
		if _, ok := s.sandboxes[id]; ok {
			out = append(out, id)
		}
	}
	return out
}

// expireLocked removes the sandboxes that have gone unused for longer
// than their lifetime, as E2B shuts a sandbox down at its timeout. Their
// ids then answer like ids that never existed.
func (s *Session) expireLocked() {
	now := s.tools.now()
	for id, sb := range s.sandboxes {
		if sb.busy == 0 && now.Sub(sb.lastUsed) > sb.lifetime {
			delete(s.sandboxes, id)
			s.expired = append(s.expired, id)
			// A failure leaves files behind that Close of the Manager
			// removes; the sandbox is gone for the model either way.
			_ = s.tools.sandbox.Remove(sb.pid)
		}
	}
}

// withSandbox runs fn with the provider's id of sandbox_id id, or returns
// the error text for an id the session cannot use. While fn runs the
// sandbox cannot expire; after it, its lifetime is renewed to the full
// lifetime, as MiroThinker's server resets the E2B timeout on every call.
func (s *Session) withSandbox(tool, id string, fn func(pid string) string) string {
	e2b := s.tools.pythonE2B()
	if e2b && isPlaceholderSandboxID(id) {
		return placeholderError(id)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return toolErrorf("the tool session is closed")
	}
	s.expireLocked()
	sb, ok := s.sandboxes[id]
	if !ok {
		expired := false
		for _, x := range s.expired {
			expired = expired || x == id
		}
		s.mu.Unlock()
		switch {
		case e2b:
			return connectError(id)
		case expired:
			return toolErrorf("sandbox %q was shut down after going unused for longer than its timeout, and its files "+
				"are gone. Call %s and pass the sandbox_id it returns", clip.Marked(id, 80), trajectory.ToolCreateSandbox)
		}
		return toolErrorf("%q is not a valid sandbox_id: no sandbox with that id was created in this session. "+
			"Call %s and pass the sandbox_id it returns", clip.Marked(id, 80), trajectory.ToolCreateSandbox)
	}
	sb.busy++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		sb.busy--
		sb.lastUsed = s.tools.now()
		sb.lifetime = s.tools.lifetime()
		s.mu.Unlock()
	}()
	return fn(sb.pid)
}

// closeSandboxes removes the session's sandboxes. It runs once; later calls
// of the session get an error result.
func (s *Session) closeSandboxes() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	sbs := s.sandboxes
	s.sandboxes = nil
	s.mu.Unlock()
	if s.tools.sandbox == nil {
		return nil
	}
	var errs []error
	for _, sb := range sbs {
		if err := s.tools.sandbox.Remove(sb.pid); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing tool session: %w", err)
	}
	return nil
}

// CreatedSandboxID reads the sandbox_id out of a create_sandbox result; ok
// is false for any other text (an error, for one).
func CreatedSandboxID(result string) (id string, ok bool) {
	id, ok = strings.CutPrefix(result, createSandboxResult(""))
	if !ok || id == "" || strings.ContainsAny(id, " \n") {
		return "", false
	}
	return id, true
}
