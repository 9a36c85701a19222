package toolset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/internal/clip"
)

// maxSessionSandboxes bounds the sandboxes one session may hold: each is a
// directory on the host, and a model that loops on create_sandbox should be
// told to reuse one rather than fill the disk.
const maxSessionSandboxes = 8

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
	// Remove deletes one sandbox and its files.
	Remove(id string) error
}

// WithSandbox returns a copy of t that also offers create_sandbox,
// run_python_code and run_command, run by p. Without it the tool-python
// tools are neither offered nor runnable, and the schemas (and so the
// manifest's tool-schema hash) are those of the search tools alone.
func (t *Toolset) WithSandbox(p SandboxProvider) *Toolset {
	c := *t
	c.sandbox = p
	return &c
}

// isPythonTool reports whether name is a tool of the tool-python server.
func isPythonTool(name string) bool {
	switch name {
	case trajectory.ToolCreateSandbox, trajectory.ToolRunPython, trajectory.ToolRunCommand:
		return true
	}
	return false
}

// pythonToolDefs are the tool-python tools in the order they are offered.
// The descriptions say what this sandbox really is (a fresh interpreter per
// call, files kept, no network) so that a model does not count on state or
// access it will not get.
func pythonToolDefs() []toolDef {
	return []toolDef{
		{
			Name: trajectory.ToolCreateSandbox,
			Description: "Start a new, empty Linux sandbox for running Python code and shell commands, and get " +
				"back its sandbox_id. Files written inside a sandbox stay there for your later calls. The sandbox " +
				"has no network access: use the search and page tools for anything on the web. Create one sandbox " +
				"and reuse it rather than making a new one for each step.",
			Parameters: `{
				"type": "object",
				"properties": {}
			}`,
		},
		{
			Name: trajectory.ToolRunPython,
			Description: "Run a short Python 3 program in a sandbox and get back everything it printed, standard " +
				"output and errors together. Every call starts a fresh interpreter, so variables do not carry over " +
				"from one call to the next; files in the working directory do. Print what you want to see. Code " +
				"that runs too long or uses too much memory is stopped, and output beyond 20,000 characters is cut.",
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
			Description: "Run one shell command line (bash) in a sandbox and get back its combined output; a " +
				"non-zero exit status is noted after the output. Meant for quick work such as listing or reading " +
				"files and small utilities. Without network access, downloads and package installs fail.",
			Parameters: `{
				"type": "object",
				"properties": {
					"command": {"type": "string", "description": "The command line to run, e.g. ls -l or wc -l data.csv."},
					"sandbox_id": {"type": "string", "description": "The sandbox to run in, exactly as create_sandbox returned it."}
				},
				"required": ["command", "sandbox_id"]
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

type pythonArgs struct {
	Code      string `json:"code_block"`
	SandboxID string `json:"sandbox_id"`
}

type commandArgs struct {
	Command   string `json:"command"`
	SandboxID string `json:"sandbox_id"`
}

// callPython runs one tool-python call in s. Only Session.Call reaches it,
// and only when the Toolset has a sandbox provider.
func (s *Session) callPython(ctx context.Context, name, argsJSON string) string {
	switch name {
	case trajectory.ToolCreateSandbox:
		// MiroThinker's create_sandbox takes an optional timeout; any
		// object is accepted and nothing in it changes the sandbox, whose
		// limits are the run's.
		var a struct{}
		if err := decodeToolArgs(argsJSON, &a); err != nil {
			return toolErrorf("invalid arguments for %s: %v", name, err)
		}
		return s.createSandbox(ctx)
	case trajectory.ToolRunPython:
		var a pythonArgs
		if err := decodeToolArgs(argsJSON, &a); err != nil {
			return toolErrorf("invalid arguments for %s: %v", name, err)
		}
		if strings.TrimSpace(a.Code) == "" {
			return toolErrorf("%s needs a non-empty code_block (the Python source to run)", name)
		}
		id, errMsg := s.resolve(name, a.SandboxID)
		if errMsg != "" {
			return errMsg
		}
		return orNoOutput(s.tools.sandbox.RunPython(ctx, id, a.Code), "the code ran to completion without printing anything; use print() to see values")
	default: // trajectory.ToolRunCommand
		var a commandArgs
		if err := decodeToolArgs(argsJSON, &a); err != nil {
			return toolErrorf("invalid arguments for %s: %v", name, err)
		}
		if strings.TrimSpace(a.Command) == "" {
			return toolErrorf("%s needs a non-empty command", name)
		}
		id, errMsg := s.resolve(name, a.SandboxID)
		if errMsg != "" {
			return errMsg
		}
		return orNoOutput(s.tools.sandbox.RunCommand(ctx, id, a.Command), "the command succeeded without printing anything")
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

func (s *Session) createSandbox(ctx context.Context) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return toolErrorf("the tool session is closed")
	case len(s.sandboxes) >= maxSessionSandboxes:
		return toolErrorf("this session already has %d sandboxes, the most it may hold; reuse one of them: %s",
			len(s.sandboxes), strings.Join(s.order, ", "))
	}
	// Holding the lock across Create keeps Close from missing a sandbox
	// made while it runs; Create only makes a directory.
	pid, err := s.tools.sandbox.Create(ctx)
	if err != nil {
		return toolErrorf("could not create a sandbox: %v", err)
	}
	s.created++
	id := sessionSandboxID(s.created)
	s.sandboxes[id] = pid
	s.order = append(s.order, id)
	return createSandboxResult(id)
}

// resolve maps a sandbox_id the model sent to the provider's id, or returns
// the error text for an id this session did not create.
func (s *Session) resolve(tool, id string) (string, string) {
	id = strings.TrimSpace(id)
	if id == "" {
		return "", toolErrorf("%s needs a sandbox_id; call %s first and pass the sandbox_id it returns", tool, trajectory.ToolCreateSandbox)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", toolErrorf("the tool session is closed")
	}
	pid, ok := s.sandboxes[id]
	if !ok {
		return "", toolErrorf("%q is not a valid sandbox_id: no sandbox with that id was created in this session. "+
			"Call %s and pass the sandbox_id it returns", clip.Marked(id, 80), trajectory.ToolCreateSandbox)
	}
	return pid, ""
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
	ids := s.sandboxes
	s.sandboxes = nil
	s.mu.Unlock()
	if s.tools.sandbox == nil {
		return nil
	}
	var errs []error
	for _, pid := range ids {
		if err := s.tools.sandbox.Remove(pid); err != nil {
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
