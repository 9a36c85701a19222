package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestExecPython(t *testing.T) {
	m := newTestManager(t, testLimits())
	id := mustCreate(t, m)
	ctx := context.Background()
	tests := []struct {
		name, code string
		want       Execution
		// tracebackHas, when set, is checked instead of the exact traceback.
		tracebackHas []string
	}{
		{name: "print", code: "print('hi')",
			want: Execution{Stdout: "hi\n"}},
		// The last line's value is what write returns: the count.
		{name: "streams apart", code: "import sys\nprint('out')\nsys.stderr.write('err\\n')",
			want: Execution{Stdout: "out\n", Stderr: "err\n", Results: []string{"4"}}},
		{name: "last expression is displayed", code: "x = 6 * 7\nx",
			want: Execution{Results: []string{"42"}}},
		{name: "None is not displayed", code: "print('a')\nNone",
			want: Execution{Stdout: "a\n"}},
		{name: "string result is its repr", code: "'it' + \"'s\"",
			want: Execution{Results: []string{`"it's"`}}},
		{name: "uncaught exception", code: "print('before')\n1/0",
			want:         Execution{Stdout: "before\n", Error: &PythonError{Name: "ZeroDivisionError", Value: "division by zero"}},
			tracebackHas: []string{"Traceback (most recent call last):", `File "<stdin>", line 2, in <module>`, "ZeroDivisionError: division by zero"}},
		{name: "syntax error", code: "def (",
			want:         Execution{Error: &PythonError{Name: "SyntaxError", Value: "invalid syntax (<stdin>, line 1)"}},
			tracebackHas: []string{"SyntaxError"}},
		{name: "sys.exit(3) is an error", code: "import sys\nsys.exit(3)",
			want:         Execution{Error: &PythonError{Name: "SystemExit", Value: "3"}},
			tracebackHas: []string{"SystemExit: 3"}},
		{name: "sys.exit(0) is not", code: "import sys\nprint('x')\nsys.exit(0)",
			want: Execution{Stdout: "x\n"}},
		{name: "os._exit leaves no report", code: "import os\nos._exit(5)",
			want: Execution{ExitCode: 5, Error: &PythonError{Name: "ProcessExited", Value: "exit status 5"}}},
		{name: "the code is __main__, with nothing of the driver", code: "import pickle, sys\nclass P: pass\n" +
			"print(type(pickle.loads(pickle.dumps(P()))).__name__, sys.modules['__main__'].P is P)\n" +
			"sorted(k for k in globals() if not k.startswith('__'))",
			want: Execution{Stdout: "P True\n", Results: []string{"['P', 'pickle', 'sys']"}}},
		{name: "driver frames are not shown", code: "raise ValueError('v')",
			want:         Execution{Error: &PythonError{Name: "ValueError", Value: "v"}},
			tracebackHas: []string{`File "<stdin>", line 1`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := m.ExecPython(ctx, id, tt.code)
			if tt.tracebackHas != nil && got.Error != nil {
				for _, s := range tt.tracebackHas {
					if !strings.Contains(got.Error.Traceback, s) {
						t.Errorf("traceback lacks %q:\n%s", s, got.Error.Traceback)
					}
				}
				if strings.Contains(got.Error.Traceback, "_miroverse_run") {
					t.Errorf("traceback shows the driver:\n%s", got.Error.Traceback)
				}
				got.Error.Traceback = ""
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestExecLimitsAndFailures(t *testing.T) {
	l := testLimits()
	l.OutputChars = 50
	m := newTestManager(t, l)
	id := mustCreate(t, m)
	ctx := context.Background()

	if got := m.ExecPython(ctx, id, "print('x' * 500)"); !got.Truncated || got.Stdout != strings.Repeat("x", 50) {
		t.Errorf("long output: truncated=%v stdout=%q", got.Truncated, got.Stdout)
	}
	got := m.ExecPython(ctx, id, "while True: pass")
	if !got.TimedOut || !strings.HasPrefix(got.Failure, ErrorPrefix+" timed out after 2s") {
		t.Errorf("endless loop: %#v", got)
	}
	if got := m.ExecPython(ctx, "sbx_nope", "print(1)"); !strings.Contains(got.Failure, "does not exist") {
		t.Errorf("unknown id: %#v", got)
	}
	// A sandbox call after a fault is still fine.
	if got := m.ExecCommand(ctx, id, "echo ok; echo bad >&2; exit 3"); got.Stdout != "ok\n" || got.Stderr != "bad\n" || got.ExitCode != 3 || got.Failure != "" {
		t.Errorf("command: %#v", got)
	}
	if got := m.ExecCommand(ctx, id, "a\x00b"); !strings.Contains(got.Failure, "NUL") {
		t.Errorf("NUL command: %#v", got)
	}
}

func TestWriteFile(t *testing.T) {
	m := newTestManager(t, testLimits())
	id := mustCreate(t, m)
	ctx := context.Background()
	if err := m.WriteFile(ctx, id, "data/in/notes.txt", []byte("hello")); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	// The code sees the file and may change it and its directory.
	got := m.RunCommand(ctx, id, "cat /work/data/in/notes.txt && echo more >> data/in/notes.txt && touch data/in/new && echo done")
	if got != "hellodone\n" {
		t.Errorf("reading the written file: %q", got)
	}
	// A link the code planted does not lead the write out of the sandbox.
	outside := t.TempDir()
	if got := m.RunCommand(ctx, id, "ln -s "+outside+" escape && ln -s /etc/passwd pw && echo ok"); got != "ok\n" {
		t.Fatalf("planting links: %q", got)
	}
	for _, p := range []string{"escape/x.txt", "pw"} {
		if err := m.WriteFile(ctx, id, p, []byte("x")); err == nil {
			t.Errorf("WriteFile(%s) followed a link out of the sandbox", p)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("files written outside the sandbox: %v", ents)
	}
	for _, p := range []string{"../x", "/etc/x", ""} {
		if err := m.WriteFile(ctx, id, p, []byte("x")); !errors.Is(err, ErrNotLocal) {
			t.Errorf("WriteFile(%q) = %v, want ErrNotLocal", p, err)
		}
	}
	if err := m.WriteFile(ctx, "sbx_nope", "a", nil); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("unknown sandbox: %v", err)
	}
	if err := m.WriteFile(ctx, id, filepath.Join("data", "in"), []byte("x")); err == nil {
		t.Error("a file written over a directory")
	}
}
