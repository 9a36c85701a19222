// Package sandbox runs the code of the tool-python tools (DESIGN §3:
// create_sandbox, run_python_code, run_command) inside bubblewrap with
// prlimit limits (DESIGN §4).
//
// Every call runs a fresh bwrap with --unshare-all: its own user, pid, ipc,
// uts, cgroup and network namespace (no network at all, not even the host's
// loopback services), a read-only view of the system (/usr, /bin, /lib,
// /lib64, /etc/alternatives, /etc/ld.so.cache and the python install), a
// fresh /proc, a minimal /dev, a private /tmp, and the sandbox's own
// directory mounted read-write as /work, which is also the working directory
// and HOME, and again as /home/user, where E2B sandboxes keep their files. The directory lives on the host and so persists across the calls
// of one rollout; Manager.Remove (or Manager.Close) removes it, and the next
// NewManager removes what a killed process left. The environment is
// cleared; only PATH, HOME=/work, LANG, TMPDIR, PYTHONUNBUFFERED,
// PYTHONDONTWRITEBYTECODE, MPLBACKEND=Agg and (for a python outside /usr)
// LD_LIBRARY_PATH are set.
//
// Inside bwrap, prlimit bounds CPU seconds, address space, processes and file
// size. RLIMIT_NPROC is enforced per user namespace and uid (Linux ≥ 5.14), so
// each call's process count is its own and does not mix with other sandboxes
// or with the host's processes of the same uid. The kernel never enforces
// RLIMIT_NPROC for host root, so when this process runs as root it starts bwrap
// in a user namespace of its own making, where root is host root (bwrap can
// then mount the python install even from under /root, mode 0700) and uid
// 65534 is host uid 65534 (nobody); setpriv drops to 65534, with no
// capabilities, before prlimit and the code run. Sandbox files on the host are
// then owned by 65534. Otherwise bwrap's own --unshare-all user namespace maps
// the caller's uid.
//
// /tmp inside is a tmpfs of at most Limits.FileBytes (bwrap ≥ 0.8), private to
// the call. /work has no size quota beyond Limits.FileBytes per file.
//
// The wall-clock limit kills bwrap's whole process group; bwrap's pid 1 dies
// with it (--die-with-parent) and the kernel then kills every process of the
// sandbox's pid namespace, including ones that left the process group. The
// sandbox directory is untouched by a kill, so the sandbox stays usable.
//
// Nothing here ever runs code unsandboxed: NewManager fails when bwrap is
// missing or cannot create its namespaces, and the caller disables the tools.
package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"
)

// Markers and prefixes of tool output (DESIGN §3).
const (
	// ErrorPrefix starts every failed result.
	ErrorPrefix = "[ERROR]:"
	// TruncatedMarker follows output cut at Limits.OutputChars.
	TruncatedMarker = " [Result truncated due to length limit]"
	// DefaultOutputChars is MiroThinker's cap on python output.
	DefaultOutputChars = 20_000
)

// ErrUnavailable is wrapped by NewManager's error when no sandbox can be
// made on this machine (bwrap or prlimit missing, namespaces not permitted,
// no python). Callers test it with errors.Is and disable the tools.
var ErrUnavailable = errors.New("code sandbox unavailable")

// Paths inside the sandbox.
const (
	workDir   = "/work"
	homeDir   = "/home/user"
	pythonDir = "/opt/python"
	// unprivilegedID is the uid and gid the sandbox runs as when this
	// process is root.
	unprivilegedID = 65534
	// maxCommandBytes bounds a run_command command line; Linux refuses a
	// single argument over 128 KiB.
	maxCommandBytes = 100_000
	// killGrace bounds how long Wait may still block on the output pipe
	// after the process group was killed.
	killGrace = 2 * time.Second
	// maxReportBytes bounds what the python driver may report on fd 3.
	maxReportBytes = 4 << 20
	// basePrefix starts the name of a Manager's directory under the system
	// temp directory; the owner's pid follows it.
	basePrefix = "miroverse-sandbox-"
)

// Limits bound every call in a sandbox. Zero or negative fields disable the
// corresponding limit, except OutputChars (zero means DefaultOutputChars).
type Limits struct {
	// CPUSeconds is RLIMIT_CPU per process (SIGXCPU, then SIGKILL a second later).
	CPUSeconds int
	// Wall bounds the real time of one call; the whole sandbox process tree is
	// killed when it passes.
	Wall time.Duration
	// MemoryBytes is RLIMIT_AS (address space) per process.
	MemoryBytes int64
	// Processes is RLIMIT_NPROC: processes and threads of the sandbox user in
	// the call's own user namespace.
	Processes int
	// OutputChars caps stdout+stderr (merged) in characters; the rest is
	// replaced by TruncatedMarker.
	OutputChars int
	// FileBytes is RLIMIT_FSIZE: the largest file a process may write.
	FileBytes int64
}

// DefaultLimits are the limits of a rollout's sandbox: 60 CPU seconds,
// 120 s of wall time, 4 GiB of address space, 128 processes, 20,000 output
// characters and 256 MiB per file.
func DefaultLimits() Limits {
	return Limits{
		CPUSeconds:  60,
		Wall:        120 * time.Second,
		MemoryBytes: 4 << 30,
		Processes:   128,
		OutputChars: DefaultOutputChars,
		FileBytes:   256 << 20,
	}
}

// Manager makes and runs sandboxes. One Manager serves every rollout of a
// stage, so that NewManager's probe is paid once: each caller keeps track of
// the sandboxes it created and removes them with Remove when it is done, and
// Close removes whatever is left. Its methods are safe for concurrent use.
type Manager struct {
	limits  Limits
	bwrap   string
	prlimit string
	setpriv string // used when asNobody
	shell   string // absolute path inside the sandbox
	// modernBwrap: bwrap ≥ 0.8, which takes --perms and --size for --tmpfs.
	modernBwrap bool
	python      pythonInstall
	// asNobody: this process is root, so the code runs as unprivilegedID in
	// a user namespace made here (see run).
	asNobody bool
	base     string // host directory holding every sandbox directory

	mu        sync.Mutex
	closed    bool
	sandboxes map[string]string // id → host directory
}

// pythonInstall is where python lives on the host and how it is reached
// inside the sandbox.
type pythonInstall struct {
	hostPrefix string // "" when the install is under /usr and needs no bind
	exe        string // path of the interpreter inside the sandbox
}

// NewManager checks that sandboxes can be made here (bwrap and prlimit
// present, user and network namespaces permitted, python runs inside) and
// returns a Manager with limits l. When they cannot, the error wraps
// ErrUnavailable and says why; code is never run unsandboxed.
func NewManager(ctx context.Context, l Limits) (*Manager, error) {
	if l.OutputChars <= 0 {
		l.OutputChars = DefaultOutputChars
	}
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		return nil, fmt.Errorf("%w: bubblewrap (bwrap) is not installed or not in PATH "+
			"(Debian/Ubuntu package bubblewrap); disable the tool-python tools in the config or install it", ErrUnavailable)
	}
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		return nil, fmt.Errorf("%w: prlimit (util-linux) is not installed or not in PATH", ErrUnavailable)
	}
	prlimit, err = filepath.EvalSymlinks(prlimit)
	if err != nil || !underUsr(prlimit) {
		return nil, fmt.Errorf("%w: prlimit must live under /usr to be visible in the sandbox (found %q)", ErrUnavailable, prlimit)
	}
	setpriv := ""
	if os.Geteuid() == 0 {
		if setpriv, err = exec.LookPath("setpriv"); err == nil {
			setpriv, err = filepath.EvalSymlinks(setpriv)
		}
		if err != nil || !underUsr(setpriv) {
			return nil, fmt.Errorf("%w: running as root needs setpriv (util-linux) under /usr to drop to an unprivileged uid in the sandbox", ErrUnavailable)
		}
	}
	py, err := findPython(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	modern, err := bwrapAtLeast08(ctx, bwrap)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if os.Geteuid() == 0 && !modern {
		return nil, fmt.Errorf("%w: running as root needs bubblewrap ≥ 0.8 (for a writable /tmp as the unprivileged sandbox user)", ErrUnavailable)
	}
	shell := "/usr/bin/bash"
	if _, err := os.Stat(shell); err != nil {
		shell = "/usr/bin/sh"
	}
	removeStale(os.TempDir())
	base, err := os.MkdirTemp("", basePrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	m := &Manager{
		limits:      l,
		bwrap:       bwrap,
		prlimit:     prlimit,
		setpriv:     setpriv,
		modernBwrap: modern,
		shell:       shell,
		python:      py,
		asNobody:    os.Geteuid() == 0,
		base:        base,
		sandboxes:   make(map[string]string),
	}
	if err := m.probe(ctx); err != nil {
		_ = os.RemoveAll(base)
		return nil, err
	}
	return m, nil
}

// probe runs python in a throw-away sandbox exactly as a call would.
func (m *Manager) probe(ctx context.Context) error {
	dir, err := m.newDir()
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	defer removeTree(dir)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := m.run(ctx, dir, runSpec{argv: []string{m.python.exe, "-"}, stdin: "print('sandbox-ok')"})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if res.exitCode != 0 || strings.TrimSpace(string(res.out)) != "sandbox-ok" {
		return fmt.Errorf("%w: bwrap cannot create its user/network/pid namespaces here or python does not run "+
			"inside it (exit %d: %s); on Ubuntu ≥ 23.10 allow unprivileged user namespaces "+
			"(sysctl kernel.apparmor_restrict_unprivileged_userns=0), in containers run with a seccomp/AppArmor "+
			"profile that permits them, or disable the tool-python tools in the config",
			ErrUnavailable, res.exitCode, strings.TrimSpace(string(res.out)))
	}
	return nil
}

// Create makes a new sandbox and returns its id.
func (m *Manager) Create(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	id := "sbx_" + hex.EncodeToString(b[:])
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return "", errors.New("sandbox: manager is closed")
	}
	dir, err := m.newDir()
	if err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	m.sandboxes[id] = dir
	return id, nil
}

// newDir makes a sandbox directory writable by the sandbox user.
func (m *Manager) newDir() (string, error) {
	dir, err := os.MkdirTemp(m.base, "sbx-")
	if err != nil {
		return "", err
	}
	if m.asNobody {
		if err := os.Chown(dir, unprivilegedID, unprivilegedID); err != nil {
			_ = os.RemoveAll(dir)
			return "", err
		}
	}
	return dir, nil
}

// RunPython runs code with the sandbox's python and returns its merged
// stdout and stderr, or a string starting with ErrorPrefix.
func (m *Manager) RunPython(ctx context.Context, id, code string) string {
	return m.call(ctx, id, runSpec{argv: []string{m.python.exe, "-"}, stdin: code})
}

// RunCommand runs command with the shell (bash when present) and returns its
// merged stdout and stderr, or a string starting with ErrorPrefix.
func (m *Manager) RunCommand(ctx context.Context, id, command string) string {
	if msg := checkCommand(command); msg != "" {
		return msg
	}
	return m.call(ctx, id, runSpec{argv: []string{m.shell, "-c", command}})
}

// checkCommand refuses command lines the kernel or the shell cannot take.
func checkCommand(command string) string {
	if len(command) > maxCommandBytes {
		return fmt.Sprintf("%s command is %d bytes long; the limit is %d (write long scripts to a file with run_python_code)",
			ErrorPrefix, len(command), maxCommandBytes)
	}
	if strings.IndexByte(command, 0) >= 0 {
		return ErrorPrefix + " command contains a NUL byte"
	}
	return ""
}

// dirOf is the host directory of sandbox id, or the error text for an id
// that cannot be used.
func (m *Manager) dirOf(id string) (string, string) {
	m.mu.Lock()
	dir, ok := m.sandboxes[id]
	closed := m.closed
	m.mu.Unlock()
	switch {
	case closed:
		return "", ErrorPrefix + " the sandbox session is closed"
	case !ok:
		return "", fmt.Sprintf("%s sandbox_id %q does not exist; call create_sandbox first and pass the id it returns", ErrorPrefix, id)
	}
	return dir, ""
}

func (m *Manager) call(ctx context.Context, id string, spec runSpec) string {
	dir, msg := m.dirOf(id)
	if msg != "" {
		return msg
	}
	res, err := m.run(ctx, dir, spec)
	if err != nil {
		return ErrorPrefix + " " + err.Error()
	}
	out := m.capOutput(res.out, res.overflow)
	switch {
	case res.timedOut:
		msg := fmt.Sprintf("%s timed out after %s", ErrorPrefix, fmtSeconds(m.limits.Wall))
		if out != "" {
			msg += "; output before the kill:\n" + out
		}
		return msg
	case res.canceled:
		return ErrorPrefix + " canceled: " + ctx.Err().Error()
	case res.exitCode == 1 && bytes.HasPrefix(res.out, []byte("bwrap: ")):
		return ErrorPrefix + " sandbox setup failed: " + strings.TrimSpace(out)
	}
	if note := exitNote(res.exitCode); note != "" {
		if out != "" && !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		out += note
	}
	return out
}

// exitNote describes a non-zero exit. bwrap reports a child killed by signal
// s as exit status 128+s.
func exitNote(code int) string {
	switch code {
	case 0:
		return ""
	case 128 + int(syscall.SIGXCPU):
		return "[CPU time limit exceeded]"
	case 128 + int(syscall.SIGXFSZ):
		return "[file size limit exceeded]"
	case 128 + int(syscall.SIGKILL):
		return "[killed (SIGKILL): a resource limit was exceeded]"
	case 128 + int(syscall.SIGSEGV):
		return "[crashed (SIGSEGV)]"
	}
	return "[exit status " + strconv.Itoa(code) + "]"
}

func fmtSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// capOutput cuts out at OutputChars characters and appends TruncatedMarker.
// Invalid UTF-8 is replaced so that the result is valid text.
func (m *Manager) capOutput(out []byte, overflow bool) string {
	s := strings.ToValidUTF8(string(out), "\uFFFD")
	n := m.limits.OutputChars
	if !overflow && utf8.RuneCountInString(s) <= n {
		return s
	}
	i, c := 0, 0
	for i < len(s) && c < n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		c++
	}
	return s[:i] + TruncatedMarker
}

type runResult struct {
	out      []byte // merged stdout and stderr, or stdout alone with runSpec.separate
	overflow bool
	errOut   []byte // stderr, with runSpec.separate
	errOver  bool
	report   []byte // what the process wrote to fd 3, with runSpec.report
	exitCode int
	timedOut bool
	canceled bool
}

// runSpec is one process to run in a sandbox.
type runSpec struct {
	argv  []string
	stdin string
	// separate keeps stdout and stderr apart. Merged they share one pipe,
	// which keeps their interleaving exactly as written; apart, the order
	// between the two streams is lost, which the structured results do not
	// show anyway.
	separate bool
	// report gives the process a pipe as fd 3 for a side channel.
	report bool
}

// run executes spec in a sandbox whose /work is dir.
func (m *Manager) run(ctx context.Context, dir string, spec runSpec) (runResult, error) {
	argv, stdin := spec.argv, spec.stdin
	args := []string{"--die-with-parent", "--new-session"}
	if m.asNobody {
		// Already in a user namespace made by Go (see below); bwrap is its
		// root and unshares everything else.
		args = append(args, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try")
	} else {
		args = append(args, "--unshare-all")
	}
	args = append(args,
		"--hostname", "sandbox",
		"--ro-bind", "/usr", "/usr",
	)
	for _, p := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		fi, err := os.Lstat(p)
		switch {
		case err != nil:
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err == nil {
				args = append(args, "--symlink", target, p)
			}
		case fi.IsDir():
			args = append(args, "--ro-bind", p, p)
		}
	}
	// --dir first: directories bwrap creates implicitly for a bind's
	// destination may be 0700 and so closed to the sandbox user.
	args = append(args,
		"--dir", "/etc",
		"--ro-bind-try", "/etc/alternatives", "/etc/alternatives",
		"--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
		"--proc", "/proc",
		"--dev", "/dev",
	)
	if m.modernBwrap {
		// A world-writable /tmp (the sandbox user does not own the tmpfs
		// when asNobody), bounded in size because tmpfs is memory.
		args = append(args, "--perms", "1777")
		if l := m.limits.FileBytes; l > 0 {
			args = append(args, "--size", strconv.FormatInt(l, 10))
		}
	}
	args = append(args, "--tmpfs", "/tmp")
	if m.python.hostPrefix != "" {
		args = append(args, "--dir", filepath.Dir(pythonDir), "--ro-bind", m.python.hostPrefix, pythonDir)
	}
	// The directory is also E2B's home, where models trained on
	// MiroThinker's traces put and look for files.
	args = append(args, "--bind", dir, workDir, "--dir", "/home", "--dir", homeDir, "--bind", dir, homeDir)
	path := "/usr/local/bin:/usr/bin:/bin"
	if m.python.hostPrefix != "" {
		path = pythonDir + "/bin:" + path
	}
	args = append(args,
		"--chdir", workDir,
		"--clearenv",
		"--setenv", "PATH", path,
		"--setenv", "HOME", workDir,
		"--setenv", "LANG", "C.UTF-8",
		"--setenv", "TMPDIR", "/tmp",
		"--setenv", "PYTHONDONTWRITEBYTECODE", "1",
		"--setenv", "PYTHONUNBUFFERED", "1",
		"--setenv", "MPLBACKEND", "Agg",
	)
	if m.python.hostPrefix != "" {
		args = append(args, "--setenv", "LD_LIBRARY_PATH", pythonDir+"/lib")
	}
	args = append(args, "--")
	if m.asNobody {
		id := strconv.Itoa(unprivilegedID)
		args = append(args, m.setpriv, "--reuid="+id, "--regid="+id, "--clear-groups",
			"--inh-caps=-all", "--bounding-set=-all", "--")
	}
	args = append(args, m.prlimit, "--core=0")
	l := m.limits
	if l.CPUSeconds > 0 {
		args = append(args, fmt.Sprintf("--cpu=%d:%d", l.CPUSeconds, l.CPUSeconds+1))
	}
	if l.MemoryBytes > 0 {
		args = append(args, fmt.Sprintf("--as=%d", l.MemoryBytes))
	}
	if l.Processes > 0 {
		args = append(args, fmt.Sprintf("--nproc=%d", l.Processes))
	}
	if l.FileBytes > 0 {
		args = append(args, fmt.Sprintf("--fsize=%d", l.FileBytes))
	}
	args = append(args, "--")
	args = append(args, argv...)

	cmd := exec.Command(m.bwrap, args...)
	// bwrap itself gets nothing of this process's environment either.
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	cmd.Dir = "/"
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	w := &boundedBuffer{limit: 4*l.OutputChars + 4}
	cmd.Stdout = w
	cmd.Stderr = w
	var ew *boundedBuffer
	if spec.separate {
		ew = &boundedBuffer{limit: 4*l.OutputChars + 4}
		cmd.Stderr = ew
	}
	var (
		report       *boundedBuffer
		reportR      *os.File
		reportW      *os.File
		reportCopied chan struct{}
	)
	if spec.report {
		var err error
		if reportR, reportW, err = os.Pipe(); err != nil {
			return runResult{}, fmt.Errorf("sandbox: report pipe: %w", err)
		}
		defer reportR.Close()
		cmd.ExtraFiles = []*os.File{reportW}
		report = &boundedBuffer{limit: maxReportBytes}
		reportCopied = make(chan struct{})
		go func() {
			defer close(reportCopied)
			_, _ = io.Copy(report, reportR)
		}()
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if m.asNobody {
		// A user namespace where root is host root (so bwrap can mount the
		// python install even under /root) and unprivilegedID is itself;
		// setpriv drops to unprivilegedID before the code runs, so that
		// RLIMIT_NPROC, which the kernel never enforces for host root, holds.
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWUSER
		ids := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: unprivilegedID, HostID: unprivilegedID, Size: 1}}
		cmd.SysProcAttr.UidMappings = ids
		cmd.SysProcAttr.GidMappings = ids
		cmd.SysProcAttr.GidMappingsEnableSetgroups = true
	}
	cmd.WaitDelay = killGrace

	runCtx := ctx
	var cancel context.CancelFunc
	if l.Wall > 0 {
		runCtx, cancel = context.WithTimeout(ctx, l.Wall)
	} else {
		runCtx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	err := cmd.Start()
	if reportW != nil {
		// The child has its own copy now; with ours closed, the copy of
		// the report ends when the sandbox's processes are gone.
		_ = reportW.Close()
	}
	if err != nil {
		return runResult{}, fmt.Errorf("cannot start bwrap: %w", err)
	}
	done := make(chan struct{})
	killed := make(chan struct{})
	go func() {
		select {
		case <-runCtx.Done():
			// The whole process group: bwrap and everything it started.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			close(killed)
		case <-done:
		}
	}()
	waitErr := cmd.Wait()
	close(done)

	res := runResult{}
	res.out, res.overflow = w.result()
	if ew != nil {
		res.errOut, res.errOver = ew.result()
	}
	if report != nil {
		select {
		case <-reportCopied:
		case <-time.After(killGrace):
			_ = reportR.Close() // a process outside the kill still holds fd 3
			<-reportCopied
		}
		res.report, _ = report.result()
	}
	select {
	case <-killed:
		if ctx.Err() != nil {
			res.canceled = true
		} else {
			res.timedOut = true
		}
		return res, nil
	default:
	}
	var ee *exec.ExitError
	switch {
	case waitErr == nil:
	case errors.As(waitErr, &ee):
		res.exitCode = ee.ExitCode()
		if res.exitCode < 0 {
			res.exitCode = 128 + int(syscall.SIGKILL)
		}
	case errors.Is(waitErr, exec.ErrWaitDelay):
		// The output pipe outlived the process; the result stands.
	default:
		return res, fmt.Errorf("sandbox: %w", waitErr)
	}
	return res, nil
}

// boundedBuffer keeps the first limit bytes written to it and discards the
// rest, so a flood of output costs no memory.
type boundedBuffer struct {
	mu       sync.Mutex
	buf      []byte
	limit    int
	overflow bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.limit - len(b.buf)
	if room >= len(p) {
		b.buf = append(b.buf, p...)
	} else {
		if room > 0 {
			b.buf = append(b.buf, p[:room]...)
		}
		b.overflow = true
	}
	return len(p), nil
}

func (b *boundedBuffer) result() ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf, b.overflow
}

var _ io.Writer = (*boundedBuffer)(nil)

// Remove deletes one sandbox and its files; later calls with its id are
// rejected like those with an id that never existed. Removing an unknown or
// already removed id does nothing.
func (m *Manager) Remove(id string) error {
	m.mu.Lock()
	dir, ok := m.sandboxes[id]
	delete(m.sandboxes, id)
	m.mu.Unlock()
	if !ok {
		return nil
	}
	return removeTree(dir)
}

// Limits returns the limits every call runs under.
func (m *Manager) Limits() Limits { return m.limits }

// Close removes every sandbox's files. Calls after Close return errors.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.sandboxes = nil
	m.mu.Unlock()
	return removeTree(m.base)
}

// removeStale deletes the directories of Managers whose process is gone: a
// run killed with SIGKILL never reaches Close, and its sandboxes' files would
// otherwise stay in the temp directory for good. A directory is removed only
// when its name carries a pid that no longer exists; anything else (another
// live process's, or not ours) is left alone.
func removeStale(tmp string) {
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), basePrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			continue // alive (or not ours to signal: EPERM)
		}
		_ = removeTree(filepath.Join(tmp, e.Name()))
	}
}

// removeTree removes dir even when sandboxed code left directories without
// write or search permission in it.
func removeTree(dir string) error {
	if err := os.RemoveAll(dir); err == nil {
		return nil
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if d != nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("sandbox: removing %s: %w", dir, err)
	}
	return nil
}

// findPython asks the host's python3 where it is installed. It runs only the
// interpreter's own path query, never sandbox code.
func findPython(ctx context.Context) (pythonInstall, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "python3", "-I", "-c",
		"import sys; print(sys.base_prefix); print(sys.executable)").Output()
	if err != nil {
		return pythonInstall{}, fmt.Errorf("python3 not found or not runnable on the host: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return pythonInstall{}, fmt.Errorf("python3 reported %q", out)
	}
	prefix, err := filepath.EvalSymlinks(strings.TrimSpace(lines[0]))
	if err != nil {
		return pythonInstall{}, fmt.Errorf("python3 prefix: %v", err)
	}
	exe, err := filepath.EvalSymlinks(strings.TrimSpace(lines[1]))
	if err != nil {
		return pythonInstall{}, fmt.Errorf("python3 executable: %v", err)
	}
	if underUsr(prefix) && underUsr(exe) {
		return pythonInstall{exe: exe}, nil
	}
	rel, err := filepath.Rel(prefix, exe)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || prefix == "/" {
		return pythonInstall{}, fmt.Errorf("python3 executable %s is outside its prefix %s", exe, prefix)
	}
	return pythonInstall{hostPrefix: prefix, exe: filepath.Join(pythonDir, rel)}, nil
}

// bwrapAtLeast08 reports whether `bwrap --version` is 0.8 or newer.
func bwrapAtLeast08(ctx context.Context, bwrap string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bwrap, "--version").Output()
	if err != nil {
		return false, fmt.Errorf("bwrap --version: %v", err)
	}
	f := strings.Fields(string(out)) // "bubblewrap 0.8.0"
	if len(f) < 2 {
		return false, fmt.Errorf("bwrap --version said %q", out)
	}
	parts := strings.SplitN(f[1], ".", 3)
	major, err1 := strconv.Atoi(parts[0])
	minor := 0
	var err2 error
	if len(parts) > 1 {
		minor, err2 = strconv.Atoi(parts[1])
	}
	if err1 != nil || err2 != nil {
		return false, fmt.Errorf("bwrap --version said %q", out)
	}
	return major > 0 || minor >= 8, nil
}

func underUsr(p string) bool { return p == "/usr" || strings.HasPrefix(p, "/usr/") }
