package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miroverse/miroverse/internal/testenv"
)

// newTestManager returns a Manager with limits l. Without a usable bwrap the
// test is skipped, except in CI, where it fails.
func newTestManager(t *testing.T, l Limits) *Manager {
	t.Helper()
	m, err := NewManager(context.Background(), l)
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			testenv.Missing(t, "bubblewrap sandbox unavailable here (install Debian package bubblewrap): %v", err)
		}
		t.Fatalf("NewManager: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func testLimits() Limits {
	l := DefaultLimits()
	l.Wall = 2 * time.Second
	l.CPUSeconds = 10
	l.MemoryBytes = 1 << 30
	l.Processes = 64
	return l
}

func mustCreate(t *testing.T, m *Manager) string {
	t.Helper()
	id, err := m.Create(context.Background())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return id
}

// call is one tool call in a test script.
type call struct {
	python  string // run_python_code when set
	command string // run_command otherwise
	// want* check the result.
	wantContains    []string
	wantNotContains []string
	wantError       bool // result starts with ErrorPrefix
	mayError        bool // either way
	wantExact       *string
}

func (c call) run(t *testing.T, m *Manager, id string) string {
	t.Helper()
	ctx := context.Background()
	var got string
	if c.python != "" {
		got = m.RunPython(ctx, id, c.python)
	} else {
		got = m.RunCommand(ctx, id, c.command)
	}
	show := got
	if len(show) > 600 {
		show = show[:300] + " … " + show[len(show)-300:]
	}
	t.Logf("%s%s\n→ %s", c.python, c.command, show)
	if isErr := strings.HasPrefix(got, ErrorPrefix); isErr != c.wantError && !c.mayError {
		t.Errorf("error prefix = %v, want %v; result:\n%s", isErr, c.wantError, show)
	}
	for _, s := range c.wantContains {
		if !strings.Contains(got, s) {
			t.Errorf("result lacks %q; result:\n%s", s, show)
		}
	}
	for _, s := range c.wantNotContains {
		if strings.Contains(got, s) {
			t.Errorf("result contains %q; result:\n%s", s, show)
		}
	}
	if c.wantExact != nil && got != *c.wantExact {
		t.Errorf("result (%d bytes) differs from the wanted %d bytes; result:\n%s", len(got), len(*c.wantExact), show)
	}
	return got
}

func TestSandboxCalls(t *testing.T) {
	// Secrets of the parent process must not reach the sandbox.
	t.Setenv("MIROVERSE_LLM_API_KEY", "secret-key-4711")

	// A host file outside the allowed mounts.
	hostDir := t.TempDir()
	hostFile := filepath.Join(hostDir, "host-secret.txt")
	if err := os.WriteFile(hostFile, []byte("host-secret-content"), 0o644); err != nil {
		t.Fatal(err)
	}

	// A TCP service on the host's loopback.
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

	truncated := strings.Repeat("x", DefaultOutputChars) + TruncatedMarker
	truncatedUTF8 := strings.Repeat("é", DefaultOutputChars) + TruncatedMarker

	tests := []struct {
		name  string
		calls []call
	}{
		{"python prints", []call{
			{python: "print(6*7)\nimport sys\nprint('err', file=sys.stderr)", wantContains: []string{"42\n", "err"}},
		}},
		{"tmp writable and private", []call{
			{python: "import tempfile\nwith tempfile.NamedTemporaryFile('w', delete=False) as f: f.write('t')\nprint('tmp-ok', f.name)", wantContains: []string{"tmp-ok /tmp/"}},
		}},
		{"shell command", []call{
			{command: "echo hello; pwd; id -u", wantContains: []string{"hello", "/work"}},
		}},
		{"files persist across calls", []call{
			{python: "open('state.txt','w').write('persisted-value')\nprint('written')", wantContains: []string{"written"}},
			{command: "cat /work/state.txt", wantContains: []string{"persisted-value"}},
			{python: "print(open('state.txt').read())", wantContains: []string{"persisted-value"}},
		}},
		{"no network even to host loopback", []call{
			{python: fmt.Sprintf(`import socket
try:
    s = socket.create_connection(("127.0.0.1", %d), timeout=3)
    print("CONNECTED", s.recv(100))
except OSError as e:
    print("connect failed:", e)
try:
    socket.create_connection(("1.1.1.1", 80), timeout=3)
    print("CONNECTED-OUT")
except OSError as e:
    print("outbound failed:", e)
try:
    socket.getaddrinfo("example.com", 80)
    print("RESOLVED")
except OSError as e:
    print("dns failed:", e)
`, port), wantContains: []string{"connect failed", "outbound failed", "dns failed"},
				wantNotContains: []string{"CONNECTED", "HOST-SERVICE", "RESOLVED"}},
			{command: "cat /proc/net/dev; ls /sys/class/net 2>&1", wantNotContains: []string{"eth0"}},
		}},
		{"host files invisible", []call{
			{command: "cat " + hostFile + "; echo rc=$?", wantContains: []string{"No such file", "rc=1"}, wantNotContains: []string{"host-secret-content"}},
			{command: "ls -a /root; echo rc=$?", wantContains: []string{"rc=2"}},
			{command: "ls -a /tmp /home 2>&1; ls /work/main 2>&1; echo done", wantContains: []string{"done"},
				wantNotContains: []string{"miroverse", "go.mod", "host-secret"}},
			{python: "print(open('/etc/passwd').read())", wantContains: []string{"FileNotFoundError"}, wantNotContains: []string{"root:"}},
			{command: "ls -la /etc; awk 'BEGIN { print 6*7 }'", wantContains: []string{"alternatives", "42"}},
			{command: "touch /usr/evil; echo rc=$?", wantContains: []string{"Read-only file system", "rc=1"}},
		}},
		{"clean environment", []call{
			{command: "env", wantContains: []string{"PATH=", "HOME=/work"}, wantNotContains: []string{"secret-key-4711", "MIROVERSE"}},
			{python: "import os\nprint(sorted(os.environ))\nprint(os.environ.get('MIROVERSE_LLM_API_KEY'))",
				wantContains: []string{"None"}, wantNotContains: []string{"secret-key-4711", "MIROVERSE"}},
			{command: "cat /proc/1/environ /proc/*/environ 2>/dev/null | tr '\\0' '\\n'", wantNotContains: []string{"secret-key-4711"}},
		}},
		{"fork bomb contained", []call{
			{python: `import os, time
n, err = 0, None
for i in range(1000):
    try:
        pid = os.fork()
    except OSError as e:
        err = e
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    n += 1
print("forked", n, "error:", err)
`, wantContains: []string{"error: [Errno 11]"}},
			{command: ":(){ :|:& };:; sleep 1; echo bomb-done", mayError: true},
			{python: "print('still usable')", wantContains: []string{"still usable"}},
		}},
		{"10 GB allocation fails", []call{
			{python: "b = bytearray(10 * 1024**3)\nprint('ALLOCATED')", wantContains: []string{"MemoryError"}, wantNotContains: []string{"ALLOCATED"}},
			{python: "print('after oom')", wantContains: []string{"after oom"}},
		}},
		{"infinite loop killed at the wall limit", []call{
			{python: "print('started', flush=True)\nwhile True: pass", wantError: true, wantContains: []string{"[ERROR]: timed out after 2s", "started"}},
			{command: "sleep 100 & sleep 100; echo never", wantError: true, wantContains: []string{"timed out after 2s"}, wantNotContains: []string{"never"}},
			{python: "print('alive after timeout')", wantContains: []string{"alive after timeout"}},
		}},
		{"output truncated at the cap", []call{
			{python: "print('x' * 30000)", wantExact: &truncated},
			{python: "print('é' * 25000)", wantExact: &truncatedUTF8},
			{python: "import sys\nfor _ in range(2000):\n    sys.stdout.write('y' * 100000)", wantContains: []string{TruncatedMarker}},
			{python: "print('z' * 20000, end='')", wantExact: new(strings.Repeat("z", 20000))},
		}},
	}
	m := newTestManager(t, testLimits())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := mustCreate(t, m)
			for _, c := range tc.calls {
				c.run(t, m, id)
			}
		})
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("the host listener accepted %d connections from sandboxes", n)
	}
	// The host still forks after the bomb.
	if out, err := exec.Command("sh", "-c", "echo host-ok").Output(); err != nil || !strings.Contains(string(out), "host-ok") {
		t.Errorf("host cannot run processes after the fork bomb: %v %q", err, out)
	}
}

func TestInvalidSandboxID(t *testing.T) {
	m := newTestManager(t, testLimits())
	ctx := context.Background()
	good := mustCreate(t, m)
	for _, id := range []string{"", "nope", "sbx_000000000000000000000000", good + "x", "../../etc"} {
		for name, got := range map[string]string{
			"python":  m.RunPython(ctx, id, "print(1)"),
			"command": m.RunCommand(ctx, id, "echo 1"),
		} {
			if !strings.HasPrefix(got, ErrorPrefix) || !strings.Contains(got, "does not exist") {
				t.Errorf("%s with id %q: %q, want an %s rejection", name, id, got, ErrorPrefix)
			}
		}
	}
}

func TestSandboxIsolationAndClose(t *testing.T) {
	m := newTestManager(t, testLimits())
	ctx := context.Background()
	a, b := mustCreate(t, m), mustCreate(t, m)
	if a == b {
		t.Fatalf("two sandboxes share id %s", a)
	}
	if got := m.RunCommand(ctx, a, "echo only-in-a > f.txt && cat f.txt"); !strings.Contains(got, "only-in-a") {
		t.Fatalf("write in a: %q", got)
	}
	if got := m.RunCommand(ctx, b, "cat f.txt; ls -a /work"); strings.Contains(got, "only-in-a") || !strings.Contains(got, "No such file") {
		t.Errorf("sandbox b sees a's file: %q", got)
	}
	// Leave an unwritable directory behind; Close must still remove it.
	m.RunCommand(ctx, a, "mkdir -p locked/sub && touch locked/sub/f && chmod 000 locked/sub locked")
	m.mu.Lock()
	dirA, base := m.sandboxes[a], m.base
	m.mu.Unlock()
	if _, err := os.Stat(filepath.Join(dirA, "f.txt")); err != nil {
		t.Fatalf("sandbox file not on the host where expected: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(base); !os.IsNotExist(err) {
		t.Errorf("sandbox files remain after Close: %v", err)
	}
	if got := m.RunPython(ctx, a, "print(1)"); !strings.HasPrefix(got, ErrorPrefix) {
		t.Errorf("call after Close: %q", got)
	}
	if _, err := m.Create(ctx); err == nil {
		t.Error("Create after Close succeeded")
	}
}

func TestCPULimit(t *testing.T) {
	l := testLimits()
	l.CPUSeconds = 1
	l.Wall = 20 * time.Second
	m := newTestManager(t, l)
	id := mustCreate(t, m)
	start := time.Now()
	got := m.RunPython(context.Background(), id, "while True: pass")
	if !strings.Contains(got, "CPU time limit exceeded") {
		t.Errorf("result %q, want the CPU limit note", got)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("CPU-bound loop ran %v with a 1 s CPU limit", d)
	}
}

func TestFileSizeLimit(t *testing.T) {
	l := testLimits()
	l.FileBytes = 1 << 20
	m := newTestManager(t, l)
	id := mustCreate(t, m)
	got := m.RunPython(context.Background(), id, "open('big','wb').write(b'0' * (2 << 20))\nprint('WROTE')")
	if strings.Contains(got, "WROTE") {
		t.Errorf("a 2 MiB file was written with a 1 MiB limit: %q", got)
	}
}

func TestCanceledContext(t *testing.T) {
	m := newTestManager(t, testLimits())
	id := mustCreate(t, m)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	got := m.RunCommand(ctx, id, "sleep 30")
	if !strings.HasPrefix(got, ErrorPrefix) {
		t.Errorf("canceled call: %q", got)
	}
}

func TestCapOutput(t *testing.T) {
	m := &Manager{limits: Limits{OutputChars: 5}}
	for _, tc := range []struct {
		in       string
		overflow bool
		want     string
	}{
		{"abc", false, "abc"},
		{"abcde", false, "abcde"},
		{"abcdef", false, "abcde" + TruncatedMarker},
		{"ééééé", false, "ééééé"},
		{"éééééé", false, "ééééé" + TruncatedMarker},
		{"abc", true, "abc" + TruncatedMarker},
		{"ab\xffcdef", false, "ab\uFFFDcd" + TruncatedMarker},
	} {
		if got := m.capOutput([]byte(tc.in), tc.overflow); got != tc.want {
			t.Errorf("capOutput(%q, %v) = %q, want %q", tc.in, tc.overflow, got, tc.want)
		}
	}
	b := &boundedBuffer{limit: 4}
	_, _ = b.Write([]byte("ab"))
	_, _ = b.Write([]byte("cdef"))
	if out, over := b.result(); string(out) != "abcd" || !over {
		t.Errorf("boundedBuffer = %q, %v", out, over)
	}
}

func TestNewManagerWithoutBwrap(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	m, err := NewManager(context.Background(), DefaultLimits())
	if err == nil {
		m.Close()
		t.Fatal("NewManager succeeded without bwrap in PATH")
	}
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "bubblewrap") {
		t.Errorf("error %q should wrap ErrUnavailable and name bubblewrap", err)
	}
}

func TestConcurrentSandboxes(t *testing.T) {
	m := newTestManager(t, testLimits())
	ctx := context.Background()
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			id, err := m.Create(ctx)
			if err != nil {
				errs <- err
				return
			}
			want := fmt.Sprintf("value-%d", i)
			m.RunPython(ctx, id, fmt.Sprintf("open('v','w').write(%q)", want))
			if got := m.RunCommand(ctx, id, "cat v"); got != want {
				errs <- fmt.Errorf("sandbox %d read %q, want %q", i, got, want)
				return
			}
			errs <- nil
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestRemoveOneSandbox(t *testing.T) {
	m := newTestManager(t, testLimits())
	ctx := context.Background()
	gone, kept := mustCreate(t, m), mustCreate(t, m)
	m.RunCommand(ctx, gone, "echo x > f && mkdir -p locked && chmod 000 locked")
	m.RunCommand(ctx, kept, "echo kept > f")
	m.mu.Lock()
	dir := m.sandboxes[gone]
	m.mu.Unlock()
	if err := m.Remove(gone); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("removed sandbox's directory remains: %v", err)
	}
	if got := m.RunPython(ctx, gone, "print(1)"); !strings.Contains(got, "does not exist") {
		t.Errorf("call in a removed sandbox: %q", got)
	}
	if got := m.RunCommand(ctx, kept, "cat f"); got != "kept\n" {
		t.Errorf("the other sandbox lost its file: %q", got)
	}
	if err := m.Remove(gone); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

// TestStaleDirectoriesRemoved: the files of a Manager whose process was
// killed before Close are removed by the next NewManager; those of a live
// process are not.
func TestStaleDirectoriesRemoved(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(tmp, fmt.Sprintf("%s%d-123", basePrefix, dead.Process.Pid))
	live := filepath.Join(tmp, fmt.Sprintf("%s%d-456", basePrefix, os.Getppid()))
	other := filepath.Join(tmp, basePrefix+"not-a-pid")
	for _, d := range []string{filepath.Join(stale, "sbx-1", "locked"), live, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(stale, "sbx-1", "locked"), 0); err != nil {
		t.Fatal(err)
	}
	newTestManager(t, testLimits())
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("directory of dead pid %d remains: %v", dead.Process.Pid, err)
	}
	for _, d := range []string{live, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
}
