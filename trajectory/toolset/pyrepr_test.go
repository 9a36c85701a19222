package toolset

import (
	"testing"

	"github.com/miroverse/miroverse/trajectory/sandbox"
)

// The wanted values were printed by CPython 3.11 (repr, json.dumps with
// ensure_ascii=False, shlex.quote) and by e2b-code-interpreter 1.5.2's
// Execution and e2b's CommandResult, the versions MiroThinker locks.
func TestPyRepr(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "''"},
		{"plain", "'plain'"},
		{"it's", `"it's"`},
		{`say "hi"`, `'say "hi"'`},
		{`both ' and "`, `'both \' and "'`},
		{"tab\tnl\ncr\r", `'tab\tnl\ncr\r'`},
		{`back\slash`, `'back\\slash'`},
		{"nul\x00bell\x07", `'nul\x00bell\x07'`},
		{"é ü 中文", "'é ü 中文'"},
		{"nbsp\u00a0zwsp\u200b", `'nbsp\xa0zwsp\u200b'`},
		{"emoji 😀", "'emoji 😀'"},
		{"\x7f\u009f", `'\x7f\x9f'`},
		{"\U000e0001", `'\U000e0001'`},
	} {
		if got := pyRepr(tt.in); got != tt.want {
			t.Errorf("pyRepr(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestPyJSONAndShlex(t *testing.T) {
	if got, want := string(pyObject(pyItem{"a", "x\u2028y\b\f\x01é"})), "{\"a\": \"x\u2028y\\b\\f\\u0001é\"}"; got != want {
		t.Errorf("pyObject = %s, want %s", got, want)
	}
	for _, tt := range []struct{ in, want string }{
		{"/home/user/a.txt", "/home/user/a.txt"},
		{"/home/user/my file.txt", "'/home/user/my file.txt'"},
		{"it's", `'it'"'"'s'`},
		{"", "''"},
		{"/work/é.txt", "'/work/é.txt'"},
	} {
		if got := shlexQuote(tt.in); got != tt.want {
			t.Errorf("shlexQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestE2BShapes(t *testing.T) {
	for _, tt := range []struct {
		name string
		got  string
		want string
	}{
		{"execution", executionResult(sandbox.Execution{Stdout: "hi\n"}),
			`Execution(Results: [], Logs: Logs(stdout: ['hi\n'], stderr: []), Error: None)`},
		{"execution with error", executionResult(sandbox.Execution{Stdout: "it's \"x\"\n\t\x00é\u00a0", Stderr: "w\n",
			Error: &sandbox.PythonError{Name: "NameError", Value: "name 'x' is not defined", Traceback: "Traceback...\nNameError"}}),
			`Execution(Results: [], Logs: Logs(stdout: ['it\'s "x"\n\t\x00é\xa0'], stderr: ['w\n']), Error: ExecutionError(name='NameError', value="name 'x' is not defined", traceback='Traceback...\nNameError'))`},
		{"execution with a result", executionResult(sandbox.Execution{Results: []string{"42"}}),
			`Execution(Results: [Result(42)], Logs: Logs(stdout: [], stderr: []), Error: None)`},
		{"command", commandResult(sandbox.Execution{Stdout: "a\n"}),
			`CommandResult(stderr='', stdout='a\n', exit_code=0, error='')`},
		{"command exit", commandResult(sandbox.Execution{Stderr: "boom\n", ExitCode: 2}),
			"[ERROR]: Failed to run command.\n\nException type: CommandExitException\nDetails: Command exited with code 2 and error:\nboom\n"},
		{"command timeout", commandResult(sandbox.Execution{TimedOut: true, Failure: "[ERROR]: timed out after 2s"}),
			"[ERROR]: Failed to run command.\n\nException type: TimeoutException\nDetails: timed out after 2s"},
		{"cut stream", executionResult(sandbox.Execution{Stdout: "x", Truncated: true}),
			`Execution(Results: [], Logs: Logs(stdout: ['x'], stderr: []), Error: None)` + sandbox.TruncatedMarker},
	} {
		if tt.got != tt.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tt.name, tt.got, tt.want)
		}
	}
	long := executionResult(sandbox.Execution{Stdout: string(make([]byte, 30_000))})
	if n := len([]rune(long)); n != maxPythonResultChars+len(sandbox.TruncatedMarker) {
		t.Errorf("a long result has %d characters, want the cap plus the marker", n)
	}
}
