package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a bytes.Buffer for stderr, which the logger, the progress
// lines and the stages' workers write at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// invocation is one command line run in-process.
type invocation struct {
	args  []string
	env   map[string]string // all the CLI itself reads of the environment
	stdin string
}

// result is what an invocation printed and its exit status.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs inv in-process from the repository root, as the binary tests
// run the binary, so that the relative paths of configs/ and corpus/ work.
func runCLI(t *testing.T, inv invocation) result {
	t.Helper()
	t.Chdir(repoRoot(t))
	var o, e lockedBuffer
	streams := IO{
		In:     strings.NewReader(inv.stdin),
		Out:    &o,
		ErrOut: &e,
		LookupEnv: func(k string) (string, bool) {
			v, ok := inv.env[k]
			return v, ok
		},
	}
	code := execute(t.Context(), streams, inv.args)
	return result{stdout: o.String(), stderr: e.String(), code: code}
}

// run runs `miroverse args...` in-process and fails the test unless it
// exits 0.
func run(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	res := runCLI(t, invocation{args: args})
	if res.code != exitOK {
		t.Fatalf("miroverse %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), res.code, res.stdout, res.stderr)
	}
	return res.stdout, res.stderr
}
