package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miroverse/miroverse/internal/testenv"
	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/sandbox"
)

// The tools tests drive `miroverse tools run` as a user debugging an
// environment would, and through it prove what the code sandbox keeps out.
// That proof runs the binary: a sandbox escape that hangs is stopped by
// killing a process that is not the test's, and the environment the
// sandbox must not see is that of a parent process of its own.

// toolsWall is the wall limit of the tests' sandbox calls: short, so that
// the infinite loop and the fork bomb end fast.
const toolsWall = "2s"

var (
	sandboxOnce   sync.Once
	sandboxReason string // "" when the sandbox works here
)

// requireSandbox skips a test when `tools list` reports that the sandbox
// cannot run on this machine, except in CI, where that is a failure.
func requireSandbox(t *testing.T) {
	t.Helper()
	sandboxOnce.Do(func() {
		out, _ := run(t, "tools", "list", "--json")
		var l struct {
			Sandbox struct {
				Available bool   `json:"available"`
				Reason    string `json:"reason"`
			} `json:"sandbox"`
		}
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			sandboxReason = "tools list --json: " + err.Error()
			return
		}
		if !l.Sandbox.Available {
			sandboxReason = l.Sandbox.Reason
			if sandboxReason == "" {
				sandboxReason = "unavailable"
			}
		}
	})
	if sandboxReason == "" {
		return
	}
	if !strings.Contains(sandboxReason, sandbox.ErrUnavailable.Error()) {
		t.Fatalf("code sandbox unavailable: %s", sandboxReason)
	}
	testenv.Missing(t, "bubblewrap sandbox unavailable here: %s", sandboxReason)
}

// toolsOutput is one `tools run`: its exit status, stderr and the result of
// each call by line number of the calls file.
type toolsOutput struct {
	stdout, stderr string
	exit           int
	results        map[int]string // the result text as the model gets it
	chars          map[int]int    // its length in characters, as reported
}

var resultHeaderRe = regexp.MustCompile(`(?m)^=== \S+:(\d+) (\S+) \([^)]*\)\n--> .*\n<-- [0-9.]+s, ([0-9,]+) characters\n`)

func parseToolsOutput(stdout string) (map[int]string, map[int]int) {
	results, chars := map[int]string{}, map[int]int{}
	locs := resultHeaderRe.FindAllStringSubmatchIndex(stdout, -1)
	for i, loc := range locs {
		line, _ := strconv.Atoi(stdout[loc[2]:loc[3]])
		n, _ := strconv.Atoi(strings.ReplaceAll(stdout[loc[6]:loc[7]], ",", ""))
		end := len(stdout)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		results[line] = strings.TrimSuffix(stdout[loc[1]:end], "\n\n")
		chars[line] = n
	}
	return results, chars
}

// toolsArgs writes lines to a calls file and returns the arguments of
// `tools run` on it with the test wall limit and extra flags.
func toolsArgs(t *testing.T, lines []string, flags []string) []string {
	t.Helper()
	calls := filepath.Join(t.TempDir(), "calls.jsonl")
	if err := os.WriteFile(calls, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return append([]string{"tools", "run", "--calls", calls, "--wall", toolsWall}, flags...)
}

// toolsRun runs `tools run` on lines in-process.
func toolsRun(t *testing.T, lines []string, flags ...string) toolsOutput {
	t.Helper()
	res := runCLI(t, invocation{args: toolsArgs(t, lines, flags)})
	out := toolsOutput{stdout: res.stdout, stderr: res.stderr, exit: res.code}
	out.results, out.chars = parseToolsOutput(out.stdout)
	return out
}

// toolsRunBinary runs `tools run` on lines with the binary, with env added
// to this process's environment.
func toolsRunBinary(t *testing.T, lines []string, env []string, flags ...string) toolsOutput {
	t.Helper()
	args := toolsArgs(t, lines, flags)
	// A bound on the whole command: a sandbox escape that hangs the host
	// must fail the test, not hang it.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	out := toolsOutput{stdout: o.String(), stderr: e.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		out.exit = ee.ExitCode()
	default:
		t.Fatalf("tools run: %v\nstdout:\n%s\nstderr:\n%s", err, o.String(), e.String())
	}
	out.results, out.chars = parseToolsOutput(out.stdout)
	return out
}

// Lines of a calls file.
func callLine(name string, args map[string]string) string {
	b, _ := json.Marshal(map[string]any{"name": name, "arguments": args})
	return string(b)
}

func createLine() string { return callLine("create_sandbox", map[string]string{}) }

func pyLine(code string) string {
	return callLine("run_python_code", map[string]string{"code_block": code, "sandbox_id": "$SANDBOX_ID"})
}

func shLine(command string) string {
	return callLine("run_command", map[string]string{"command": command, "sandbox_id": "$SANDBOX_ID"})
}

// expect checks the result of one line of the calls file.
type expect struct {
	contains    []string
	notContains []string
	isError     bool // the result starts with [ERROR]:
	mayError    bool // either way
	exact       *string
}

func (e expect) check(t *testing.T, out toolsOutput, line int) {
	t.Helper()
	got, ok := out.results[line]
	if !ok {
		t.Errorf("line %d has no result; stdout:\n%s\nstderr:\n%s", line, clipTest(out.stdout), out.stderr)
		return
	}
	show := clipTest(got)
	if isErr := strings.HasPrefix(got, "[ERROR]:"); isErr != e.isError && !e.mayError {
		t.Errorf("line %d: error = %v, want %v; result:\n%s", line, isErr, e.isError, show)
	}
	for _, s := range e.contains {
		if !strings.Contains(got, s) {
			t.Errorf("line %d: result lacks %q; result:\n%s", line, s, show)
		}
	}
	for _, s := range e.notContains {
		if strings.Contains(got, s) {
			t.Errorf("line %d: result contains %q; result:\n%s", line, s, show)
		}
	}
	if e.exact != nil && got != *e.exact {
		t.Errorf("line %d: result (%d bytes) is not the expected %d bytes; result:\n%s", line, len(got), len(*e.exact), show)
	}
}

func clipTest(s string) string {
	if len(s) > 1200 {
		return s[:600] + " … " + s[len(s)-600:]
	}
	return s
}

func TestToolsRunSandbox(t *testing.T) {
	requireSandbox(t)

	// A TCP service on the host's loopback that the sandbox must not reach.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			_, _ = c.Write([]byte("HOST-SERVICE\n"))
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port

	// Host files the sandbox must not read: one of the test's, the
	// repository, and the first entry of the host user's home.
	secretFile := filepath.Join(t.TempDir(), "host-secret.txt")
	if err := os.WriteFile(secretFile, []byte("host-secret-content"), 0o644); err != nil {
		t.Fatal(err)
	}
	home, _ := os.UserHomeDir()
	// The longest name, so that it cannot match by accident inside an error message.
	homeEntry := "no-home-entry-to-check"
	if ents, err := os.ReadDir(home); err == nil {
		for _, e := range ents {
			if len(e.Name()) > len(homeEntry) {
				homeEntry = e.Name()
			}
		}
	}

	const apiKey = "sk-test-secret"
	// The E2B-shaped result is cut as a whole, as MiroThinker's
	// truncate_result cuts str(execution).
	cut := func(printed string) string {
		return ("Execution(Results: [], Logs: Logs(stdout: ['" + printed)[:20000] + sandbox.TruncatedMarker
	}
	truncated := cut(strings.Repeat("x", 30000))

	tests := []struct {
		name   string
		env    []string
		lines  []string
		expect map[int]expect // by line number
		after  func(t *testing.T, out toolsOutput)
	}{
		{
			name: "no TCP connection, not even to the host's loopback",
			lines: []string{
				createLine(),
				pyLine(fmt.Sprintf(`import socket
try:
    s = socket.create_connection(("127.0.0.1", %d), timeout=3)
    print("CONNECTED", s.recv(100))
except OSError as e:
    print("connect failed:", e)
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3)
    print("CONNECTED-OUT")
except OSError as e:
    print("outbound failed:", e)`, port)),
				shLine(fmt.Sprintf("echo ping > /dev/tcp/127.0.0.1/%d && echo SENT; echo rc=$?", port)),
				shLine("ls /sys/class/net 2>&1; cat /proc/net/dev"),
			},
			expect: map[int]expect{
				2: {contains: []string{"connect failed", "outbound failed"}, notContains: []string{"CONNECTED", "HOST-SERVICE"}},
				3: {contains: []string{"rc=1"}, notContains: []string{"SENT"}},
				4: {notContains: []string{"eth0", "ens", "wlan"}},
			},
			after: func(t *testing.T, _ toolsOutput) {
				if n := accepted.Load(); n != 0 {
					t.Errorf("the host listener on 127.0.0.1:%d accepted %d connections from the sandbox", port, n)
				}
			},
		},
		{
			name: "no host files outside the allowed mounts",
			lines: []string{
				createLine(),
				shLine("cat " + secretFile + "; echo rc=$?"),
				pyLine("print(open('/etc/shadow').read())"),
				shLine("ls -A " + home + " /root 2>&1; echo rc=$?"),
				shLine("ls " + repoRoot(t) + " 2>&1; ls /tmp /home 2>&1; echo done"),
				shLine("touch /usr/evil 2>&1; echo rc=$?"),
			},
			expect: map[int]expect{
				2: {contains: []string{"No such file", "rc=1"}, notContains: []string{"host-secret-content"}},
				3: {contains: []string{"FileNotFoundError"}, notContains: []string{"root:"}},
				4: {contains: []string{"No such file"}, notContains: []string{homeEntry}},
				5: {contains: []string{"done"}, notContains: []string{"go.mod", "host-secret"}},
				6: {contains: []string{"Read-only file system", "rc=1"}},
			},
		},
		{
			name: "none of the parent's environment",
			env:  []string{"OPENAI_API_KEY=" + apiKey, "MIROVERSE_LLM_API_KEY=" + apiKey + "-2"},
			lines: []string{
				createLine(),
				shLine("env; cat /proc/self/environ | tr '\\0' '\\n'"),
				pyLine("import os\nprint(dict(os.environ))\nprint(os.environ.get('OPENAI_API_KEY'))"),
			},
			expect: map[int]expect{
				2: {contains: []string{"HOME=/work"}, notContains: []string{apiKey, "OPENAI_API_KEY", "MIROVERSE"}},
				3: {contains: []string{"None"}, notContains: []string{apiKey}},
			},
			after: func(t *testing.T, out toolsOutput) {
				if strings.Contains(out.stdout+out.stderr, apiKey) {
					t.Errorf("the API key from the environment appears in the output")
				}
			},
		},
		{
			name: "fork bomb contained",
			lines: []string{
				createLine(),
				shLine(":(){ :|:& };:; sleep 1; echo bomb-done"),
				pyLine(`import os, time
n, err = 0, None
for i in range(5000):
    try:
        pid = os.fork()
    except OSError as e:
        err = e
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    n += 1
print("forked", n, "then:", err)`),
				pyLine("print('still usable')"),
			},
			expect: map[int]expect{
				2: {mayError: true},
				3: {contains: []string{"then: [Errno 11]"}},
				4: {contains: []string{"still usable"}},
			},
			after: func(t *testing.T, _ toolsOutput) {
				if out, err := exec.Command("sh", "-c", "echo host-ok").Output(); err != nil || !strings.Contains(string(out), "host-ok") {
					t.Errorf("the host cannot start processes after the fork bomb: %v %q", err, out)
				}
			},
		},
		{
			name: "10 GB allocation contained",
			lines: []string{
				createLine(),
				pyLine("b = bytearray(10 * 1024**3)\nprint('ALLOCATED', len(b))"),
				shLine("python3 -c 'x = \" \" * (10 * 1024**3)' 2>&1 | tail -1"),
				pyLine("print('after the allocation')"),
			},
			expect: map[int]expect{
				2: {contains: []string{"MemoryError"}, notContains: []string{"ALLOCATED"}},
				3: {contains: []string{"MemoryError"}},
				4: {contains: []string{"after the allocation"}},
			},
		},
		{
			name: "infinite loop killed at the wall limit; the sandbox survives",
			lines: []string{
				createLine(),
				pyLine("open('kept.txt', 'w').write('written-before-the-loop')\nprint('wrote')"),
				pyLine("print('looping', flush=True)\nwhile True: pass"),
				shLine("sleep 100 & sleep 100; echo never"),
				pyLine("print(open('kept.txt').read())"),
			},
			expect: map[int]expect{
				2: {contains: []string{"wrote"}},
				// E2B's timeout is an exception: what ran before it is not shown.
				3: {isError: true, contains: []string{"Exception type: TimeoutException", "timed out after " + toolsWall}},
				4: {isError: true, contains: []string{"timed out after " + toolsWall}, notContains: []string{"never"}},
				5: {contains: []string{"written-before-the-loop"}},
			},
		},
		{
			name: "invalid sandbox ids rejected",
			lines: []string{
				pyLine("print('no sandbox yet')"), // $SANDBOX_ID stays literal: nothing was created
				createLine(),
				callLine("run_command", map[string]string{"command": "echo hi", "sandbox_id": "sandbox1"}),
				callLine("run_python_code", map[string]string{"code_block": "print(1)", "sandbox_id": "sbx-0000000000000000"}),
				callLine("run_command", map[string]string{"command": "echo hi"}),
				shLine("echo valid"),
			},
			// MiroThinker's texts: placeholders are refused by name, other
			// ids fail to connect.
			expect: map[int]expect{
				1: {isError: true, contains: []string{"Failed to connect to sandbox $SANDBOX_ID."}},
				3: {isError: true, contains: []string{`'sandbox1' is not a valid sandbox_id. Please create a real sandbox first`}},
				4: {isError: true, contains: []string{"Failed to connect to sandbox sbx-0000000000000000."}},
				5: {isError: true, contains: []string{"Failed to connect to sandbox ."}},
				6: {contains: []string{"valid"}},
			},
		},
		{
			name: "output over 20,000 characters truncated with the marker",
			lines: []string{
				createLine(),
				pyLine("print('x' * 30000)"),
				shLine("yes | head -c 5000000"),
				pyLine("print('y' * 20000, end='')"),
			},
			expect: map[int]expect{
				2: {exact: &truncated},
				3: {contains: []string{sandbox.TruncatedMarker}},
				// 20,000 characters printed fit the cap, but not with the
				// Execution around them.
				4: {exact: new(cut(strings.Repeat("y", 20000)))},
			},
			after: func(t *testing.T, out toolsOutput) {
				if want := 20000 + len(sandbox.TruncatedMarker); out.chars[2] != want || out.chars[3] != want || out.chars[4] != want {
					t.Errorf("reported lengths %d, %d and %d, want %d", out.chars[2], out.chars[3], out.chars[4], want)
				}
			},
		},
		{
			name: "arguments as a JSON string",
			lines: []string{
				createLine(),
				`{"name":"run_python_code","arguments":"{\"code_block\":\"print(6*7)\",\"sandbox_id\":\"$SANDBOX_ID\"}"}`,
			},
			expect: map[int]expect{2: {contains: []string{"42"}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := toolsRunBinary(t, tc.lines, tc.env)
			if out.exit != 0 {
				t.Errorf("exit status %d; stderr:\n%s", out.exit, out.stderr)
			}
			for line, e := range tc.expect {
				e.check(t, out, line)
			}
			if tc.after != nil {
				tc.after(t, out)
			}
		})
	}
}

// TestToolsRunBadLines: bad lines are reported by file and line, the good
// ones still run, and the exit status says something was wrong.
func TestToolsRunBadLines(t *testing.T) {
	lines := []string{
		`not json`,
		`{"name": "google_search", "arguments": {"q": "x"}}`,
		`{"arguments": {"q": "x"}}`,
		`{"name": "run_command", "arguments": 42}`,
		`{"name": "google_search", "args": {"q": "x"}}`,
		`{"name": "google_search", "arguments": {"q": "x"}} {"name": "google_search"}`,
		``,
		`{"name": "google_search", "arguments": "{\"q\": \"y\"}"}`,
	}
	out := toolsRun(t, lines)
	if out.exit != exitError {
		t.Errorf("exit status %d with bad lines, want %d", out.exit, exitError)
	}
	for _, n := range []int{1, 3, 4, 5, 6} {
		if want := fmt.Sprintf("calls.jsonl:%d: ", n); !strings.Contains(out.stderr, want) {
			t.Errorf("stderr does not name bad line %d (%q):\n%s", n, want, out.stderr)
		}
	}
	for _, n := range []int{2, 8} {
		if _, ok := out.results[n]; !ok {
			t.Errorf("good line %d did not run; stdout:\n%s", n, out.stdout)
		}
	}
	if len(out.results) != 2 {
		t.Errorf("%d results, want the 2 good lines", len(out.results))
	}
	// Without --root the search tools have no corpus, and say so.
	if !strings.Contains(out.results[2], "--root") {
		t.Errorf("search without a root: %q", out.results[2])
	}
}

// TestToolsRunSearchAndScrape reads a freshly ingested root. scrape runs
// without the extractor LLM and so returns the page text.
func TestToolsRunSearchAndScrape(t *testing.T) {
	root := filepath.Join(t.TempDir(), "out")
	run(t, "ingest", "--config", "configs/demo.yaml", "--out", root, "--quiet")
	out := toolsRun(t, []string{
		callLine("google_search", map[string]string{"q": "Marie Curie"}),
	}, "--root", root)
	var serp struct {
		Organic []struct {
			Title string `json:"title"`
			Link  string `json:"link"`
		} `json:"organic"`
	}
	if err := json.Unmarshal([]byte(out.results[1]), &serp); err != nil || len(serp.Organic) == 0 {
		t.Fatalf("search result %q: %v", out.results[1], err)
	}
	link := serp.Organic[0].Link
	out = toolsRun(t, []string{
		callLine("scrape_and_extract_info", map[string]string{"url": link, "info_to_extract": "anything"}),
		callLine("scrape_and_extract_info", map[string]string{"url": "https://nowhere.invalid/x", "info_to_extract": "anything"}),
	}, "--root", root)
	// MiroThinker's JSON answer by default, the page text as its
	// extracted_info; a missing page is that JSON with success false.
	var scraped struct {
		Success       bool   `json:"success"`
		ExtractedInfo string `json:"extracted_info"`
		Error         string `json:"error"`
	}
	if err := json.Unmarshal([]byte(out.results[1]), &scraped); err != nil || !scraped.Success ||
		!strings.HasPrefix(scraped.ExtractedInfo, "# "+serp.Organic[0].Title+"\n\n") {
		t.Errorf("scrape of %s: %q (%v)", link, clipTest(out.results[1]), err)
	}
	if err := json.Unmarshal([]byte(out.results[2]), &scraped); err != nil || scraped.Success || !strings.Contains(scraped.Error, "page not found") {
		t.Errorf("scrape of a missing page: %q (%v)", out.results[2], err)
	}
	if out.exit != exitOK || !strings.Contains(out.stderr, "2 calls run, 1 failed") {
		t.Errorf("exit %d: %s", out.exit, out.stderr)
	}
	// scrape_result: text gives the old answers.
	cfg := writeConfig(t, "synthesize:\n  scrape_result: text\n")
	out = toolsRun(t, []string{
		callLine("scrape_and_extract_info", map[string]string{"url": link, "info_to_extract": "anything"}),
		callLine("scrape_and_extract_info", map[string]string{"url": "https://nowhere.invalid/x", "info_to_extract": "anything"}),
	}, "--root", root, "--config", cfg)
	if got := out.results[1]; !strings.HasPrefix(got, "# "+serp.Organic[0].Title+"\n\n") {
		t.Errorf("text scrape of %s: %q", link, clipTest(got))
	}
	if got := out.results[2]; !strings.HasPrefix(got, "[ERROR]: page not found") {
		t.Errorf("text scrape of a missing page: %q", got)
	}

	// A directory that is not an output root is an error naming it.
	empty := t.TempDir()
	res := runCLI(t, invocation{
		args:  []string{"tools", "run", "--root", empty, "--calls", "-"},
		stdin: callLine("google_search", map[string]string{"q": "x"}),
	})
	if res.code != exitError || !strings.Contains(res.stderr, "no graph store") || !strings.Contains(res.stderr, empty) {
		t.Errorf("tools run on an empty directory: exit %d, stderr %s", res.code, res.stderr)
	}
}

func TestToolsList(t *testing.T) {
	out, _ := run(t, "tools", "list")
	for _, want := range []string{
		"google_search  (MCP server search_and_scrape_webpage)",
		"scrape_and_extract_info  (MCP server jina_scrape_llm_summary)",
		"create_sandbox  (MCP server tool-python)",
		"run_python_code  (MCP server tool-python)",
		"run_command  (MCP server tool-python)",
		"upload_file_from_local_to_sandbox  (MCP server tool-python)",
		"download_file_from_internet_to_sandbox  (MCP server tool-python)",
		"location (string): ",
		"autocorrect (boolean): ",
		"custom_headers (object): ",
		"timeout (integer): ",
		"code_block (string, required)",
		"Code sandbox: ",
		"synthesize.python_tools is true",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("tools list lacks %q:\n%s", want, out)
		}
	}
	cfg := writeConfig(t, "synthesize:\n  python_tools: false\n")
	out, _ = run(t, "tools", "list", "--config", cfg, "--json")
	var l struct {
		Tools []struct {
			Name, Server string
		} `json:"tools"`
		Sandbox struct {
			PythonTools bool `json:"python_tools"`
		} `json:"sandbox"`
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("tools list --json: %v\n%s", err, out)
	}
	if len(l.Tools) != 7 || l.Sandbox.PythonTools {
		t.Errorf("tools list --json: %+v", l)
	}
}

// TestToolsRunWithoutSandbox: when the sandbox cannot start, a calls file
// that needs it runs nothing and says why and how to go without; with
// python_tools off the tool-python tools are unknown, as the agent would
// find them, and the search tools still run.
func TestToolsRunWithoutSandbox(t *testing.T) {
	// The sandbox looks bwrap up in this process's PATH.
	t.Setenv("PATH", t.TempDir())
	out := toolsRun(t, []string{createLine()})
	if out.exit != exitError || !strings.Contains(out.stderr, sandbox.ErrUnavailable.Error()) ||
		!strings.Contains(out.stderr, "python_tools: false") || len(out.results) != 0 {
		t.Errorf("exit %d, stderr %q, results %v", out.exit, out.stderr, out.results)
	}
	cfg := writeConfig(t, "synthesize:\n  python_tools: false\n")
	out = toolsRun(t, []string{createLine(), callLine("google_search", map[string]string{"q": "x"})}, "--config", cfg)
	if out.exit != exitOK || !strings.HasPrefix(out.results[1], `[ERROR]: unknown tool "create_sandbox"`) || out.results[2] == "" {
		t.Errorf("exit %d, results %v, stderr %s", out.exit, out.results, out.stderr)
	}
}

// TestToolsInDemoTrajectories: the demo offers the tool-python tools, and
// the oracle's rollouts that use them ran real sandbox calls whose output is
// in the stored trajectories.
func TestToolsInDemoTrajectories(t *testing.T) {
	requireSandbox(t)
	root := demo(t)
	rows := readTrajectories(t, root)
	used := 0
	for _, r := range rows {
		if !strings.Contains(r.Tools, `"name":"tool-python-run_python_code"`) {
			t.Fatalf("rollout %s is not offered run_python_code: %.200s", r.ID, r.Tools)
		}
		var created, ran bool
		for _, m := range r.Messages {
			if m.Role != "tool" || m.Content == nil || m.Name == nil {
				continue
			}
			switch _, tool := trajectory.SplitFunctionName(*m.Name); tool {
			case "create_sandbox":
				created = strings.HasPrefix(*m.Content, "Sandbox created with sandbox_id: sbx-")
			case "run_python_code":
				ran = created && strings.Contains(*m.Content, " hops from ")
			}
		}
		if ran {
			used++
		}
	}
	if used == 0 || used == len(rows) {
		t.Errorf("%d of %d demo rollouts ran code in a sandbox; want some, not all", used, len(rows))
	}
}
