package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode/utf8"
)

// Execution is one call's outcome in parts, for callers that show it in a
// shape of their own (the E2B objects MiroThinker's tool-python server
// prints). RunPython and RunCommand give the same calls as one text.
type Execution struct {
	// Stdout and Stderr are what the call wrote to each stream, as valid
	// UTF-8, each cut at Limits.OutputChars characters.
	Stdout, Stderr string
	// Truncated: at least one stream was cut.
	Truncated bool
	// Results holds, for python, the repr of the value of the code's last
	// line when that line is an expression whose value is not None: what a
	// notebook cell displays.
	Results []string
	// Error is, for python, the exception the code did not catch, or what
	// ended the interpreter when it could not say (a limit's signal).
	Error *PythonError
	// ExitCode is the process's exit status (128+N for signal N).
	ExitCode int
	// Failure is set when the call did not run to its end: a string
	// starting with ErrorPrefix that says why (no such sandbox, a setup
	// failure, the wall-clock limit, cancellation).
	Failure string
	// TimedOut: the call was killed at Limits.Wall; Failure says so.
	TimedOut bool
}

// PythonError is an uncaught exception: its class name, str() and the
// formatted traceback, the three fields of E2B's ExecutionError.
type PythonError struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Traceback string `json:"traceback"`
}

// pythonDriver runs the code read from stdin the way a notebook cell runs:
// a last line that is an expression is evaluated and its repr reported, and
// an uncaught exception is reported as name, value and traceback instead of
// being printed to stderr. The report is one JSON object on fd 3, so that
// nothing the code prints can be taken for it. Frames of the driver itself
// are left out of the traceback. Each reported string is cut at 100,000
// characters, far above any caller's output cap, so that the report stays
// under maxReportBytes.
const pythonDriver = `def _miroverse_run():
    import ast, json, os, sys, traceback
    # The code runs in __main__'s own namespace, as a script's would, so
    # that pickle and multiprocessing find what it defines; the driver
    # leaves nothing of its own there.
    ns = sys.modules["__main__"].__dict__
    del ns["_miroverse_run"]
    src = sys.stdin.read()
    rep = {"results": [], "error": None}
    def cap(s):
        return s[:100000]
    try:
        tree = ast.parse(src, "<stdin>", "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, "<stdin>", "exec"), ns)
        if last is not None:
            v = eval(compile(last, "<stdin>", "eval"), ns)
            if v is not None:
                rep["results"].append(cap(repr(v)))
    except BaseException as e:
        if isinstance(e, SystemExit) and e.code in (None, 0):
            pass
        else:
            tb = e.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_filename != "<stdin>":
                tb = tb.tb_next
            try:
                text = "".join(traceback.format_exception(type(e), e, tb))
            except BaseException:
                text = ""
            try:
                value = str(e)
            except BaseException:
                value = ""
            rep["error"] = {"name": type(e).__name__, "value": cap(value), "traceback": cap(text)}
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except BaseException:
            pass
    try:
        with os.fdopen(3, "w", encoding="utf-8", errors="replace") as out:
            out.write(json.dumps(rep))
    except BaseException:
        pass
_miroverse_run()
`

// ExecPython runs code with the sandbox's python as a notebook cell runs
// (see Execution) and returns the parts of its outcome.
func (m *Manager) ExecPython(ctx context.Context, id, code string) Execution {
	return m.exec(ctx, id, runSpec{argv: []string{m.python.exe, "-c", pythonDriver}, stdin: code, separate: true, report: true})
}

// ExecCommand runs command with the shell, as RunCommand does, and returns
// the parts of its outcome.
func (m *Manager) ExecCommand(ctx context.Context, id, command string) Execution {
	if msg := checkCommand(command); msg != "" {
		return Execution{Failure: msg}
	}
	return m.exec(ctx, id, runSpec{argv: []string{m.shell, "-c", command}, separate: true})
}

func (m *Manager) exec(ctx context.Context, id string, spec runSpec) Execution {
	dir, msg := m.dirOf(id)
	if msg != "" {
		return Execution{Failure: msg}
	}
	res, err := m.run(ctx, dir, spec)
	if err != nil {
		return Execution{Failure: ErrorPrefix + " " + err.Error()}
	}
	ex := Execution{ExitCode: res.exitCode}
	var cut1, cut2 bool
	ex.Stdout, cut1 = m.capStream(res.out, res.overflow)
	ex.Stderr, cut2 = m.capStream(res.errOut, res.errOver)
	ex.Truncated = cut1 || cut2
	switch {
	case res.timedOut:
		ex.TimedOut = true
		ex.Failure = fmt.Sprintf("%s timed out after %s", ErrorPrefix, fmtSeconds(m.limits.Wall))
		return ex
	case res.canceled:
		ex.Failure = ErrorPrefix + " canceled: " + ctx.Err().Error()
		return ex
	case res.exitCode == 1 && strings.HasPrefix(ex.Stderr, "bwrap: "):
		ex.Failure = ErrorPrefix + " sandbox setup failed: " + strings.TrimSpace(ex.Stderr)
		return ex
	}
	if !spec.report {
		return ex
	}
	var rep struct {
		Results []string     `json:"results"`
		Error   *PythonError `json:"error"`
	}
	if json.Unmarshal(res.report, &rep) == nil {
		ex.Error = rep.Error
		if len(rep.Results) > 0 {
			ex.Results = rep.Results
		}
	}
	if ex.Error == nil && ex.ExitCode != 0 {
		// The interpreter ended without a report (a limit's signal, or
		// os._exit): say what ended it, as the text results do.
		name := "ProcessExited"
		if ex.ExitCode > 128 {
			name = "ProcessKilled"
		}
		ex.Error = &PythonError{Name: name, Value: strings.Trim(exitNote(ex.ExitCode), "[]")}
	}
	return ex
}

// capStream cuts one stream at OutputChars characters, as valid UTF-8.
func (m *Manager) capStream(out []byte, overflow bool) (string, bool) {
	s := strings.ToValidUTF8(string(out), "\uFFFD")
	n := m.limits.OutputChars
	if utf8.RuneCountInString(s) <= n {
		return s, overflow
	}
	i, c := 0, 0
	for i < len(s) && c < n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		c++
	}
	return s[:i], true
}

// ErrNotLocal is wrapped by WriteFile's error for a path that is not inside
// the sandbox's directory.
var ErrNotLocal = errors.New("path is not inside the sandbox's working directory")

// WriteFile writes data to the file at path, relative to the sandbox's
// working directory (/work inside), creating its parent directories. The
// write never leaves the sandbox's directory, whatever symbolic links the
// sandboxed code made there; an existing file is replaced.
func (m *Manager) WriteFile(ctx context.Context, id, path string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !filepath.IsLocal(path) {
		return fmt.Errorf("sandbox: %q: %w", path, ErrNotLocal)
	}
	if l := m.limits.FileBytes; l > 0 && int64(len(data)) > l {
		return fmt.Errorf("sandbox: %q: %d bytes, over the %d-byte file size limit", path, len(data), l)
	}
	dir, msg := m.dirOf(id)
	if msg != "" {
		return errors.New(strings.TrimSpace(strings.TrimPrefix(msg, ErrorPrefix)))
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	defer root.Close()
	// Parents one at a time, so that each new one can be handed to the
	// sandbox user.
	parent := filepath.Dir(path)
	if parent != "." {
		at := ""
		for _, part := range strings.Split(parent, string(filepath.Separator)) {
			at = filepath.Join(at, part)
			err := root.Mkdir(at, 0o755)
			switch {
			case err == nil:
				if err := m.handOver(root, at); err != nil {
					return err
				}
			case errors.Is(err, fs.ErrExist):
			default:
				return fmt.Errorf("sandbox: %w", err)
			}
		}
	}
	if err := root.WriteFile(path, data, 0o644); err != nil {
		if errors.Is(err, syscall.EISDIR) {
			return fmt.Errorf("sandbox: %q is a directory", path)
		}
		return fmt.Errorf("sandbox: %w", err)
	}
	return m.handOver(root, path)
}

// handOver gives a file written from the host to the sandbox user, so that
// the code can change or remove it.
func (m *Manager) handOver(root *os.Root, path string) error {
	if !m.asNobody {
		return nil
	}
	if err := root.Lchown(path, unprivilegedID, unprivilegedID); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}
