package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/miroverse/miroverse/pipeline"
)

var update = flag.Bool("update", false, "rewrite testdata/help from the current help texts")

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

// truncatedDemoDump writes the demo dump cut in the middle of a page.
func truncatedDemoDump(t *testing.T) string {
	t.Helper()
	xml, err := os.ReadFile(filepath.Join(repoRoot(t), "corpus", "demo", "demowiki-pages-articles.xml"))
	if err != nil {
		t.Fatal(err)
	}
	spans := pageSpans(xml)
	cut := spans[len(spans)/2]
	return writeTemp(t, "cut.xml", xml[:cut[0]+(cut[1]-cut[0])/2])
}

// TestExitStatus: each kind of error maps to its status, and the message
// scripts see on stderr. The statuses are written as numbers: they are the
// contract, whatever the constants say.
func TestExitStatus(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		want       int
		wantStderr string
	}{
		{"success", nil, 0, ""},
		{"error", errors.New("boom"), 1, "miroverse: boom\n"},
		{"incomplete input", fmt.Errorf("ingest: %w", incompleteInput{"input incomplete: 1 truncated"}), 3,
			"miroverse: ingest: input incomplete: 1 truncated\n"},
		{"interrupted", fmt.Errorf("qa: %w", context.Canceled), 130,
			"interrupted; run the same command again to resume\n"},
		{"interrupted while an input was incomplete", fmt.Errorf("%w: %w", context.Canceled, incompleteInput{"x"}), 130,
			"interrupted; run the same command again to resume\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e bytes.Buffer
			if got := exitStatus(tc.err, &e); got != tc.want || e.String() != tc.wantStderr {
				t.Errorf("exitStatus(%v) = %d, stderr %q; want %d, %q", tc.err, got, e.String(), tc.want, tc.wantStderr)
			}
		})
	}
}

// TestBinaryExitStatus runs the real binary: main's wiring of the streams
// and of the exit status, which no in-process test reaches.
func TestBinaryExitStatus(t *testing.T) {
	truncated := truncatedDemoDump(t)
	tests := []struct {
		name       string
		args       []string
		want       int
		wantStdout string
		wantStderr string
	}{
		{"help", []string{"--help"}, 0, "Usage:\n  miroverse [command]", ""},
		{"complete input", []string{"ingest", "--dry-run", "--input", "corpus/demo/demowiki-pages-articles.xml", "-q"}, 0, "input complete", ""},
		{"unknown flag", []string{"run", "--bogus"}, 1, "", "miroverse: unknown flag: --bogus\n"},
		{"truncated input", []string{"ingest", "--dry-run", "--input", truncated, "-q"}, 3, "documents", "miroverse: input incomplete: 1 truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary(t), tc.args...)
			cmd.Dir = repoRoot(t)
			var o, e bytes.Buffer
			cmd.Stdout, cmd.Stderr = &o, &e
			err := cmd.Run()
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				t.Fatal(err)
			}
			if code := cmd.ProcessState.ExitCode(); code != tc.want {
				t.Errorf("exit %d, want %d\nstderr:\n%s", code, tc.want, e.String())
			}
			if !strings.Contains(o.String(), tc.wantStdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.wantStdout, o.String())
			}
			if !strings.Contains(e.String(), tc.wantStderr) || (tc.wantStderr == "" && e.Len() > 0) {
				t.Errorf("stderr %q, want %q", e.String(), tc.wantStderr)
			}
		})
	}
}

// TestSignalStopsRunToResume: Ctrl-C, or the SIGTERM a batch scheduler
// sends, stops a run with status 130 and says how to resume.
func TestSignalStopsRunToResume(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	// A slow oracle, so that the signal lands in the middle of qa.
	cfg := demoConfig(t, "llm:\n  oracle:\n    delay: 15ms\n")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			stderr, err := signalWhen(t, filepath.Join(t.TempDir(), "out"), cfg, pipeline.StageQA, 1, sig)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 130 {
				t.Fatalf("after %v: %v, want exit 130\n%s", sig, err, stderr)
			}
			if !strings.HasSuffix(stderr, "interrupted; run the same command again to resume\n") {
				t.Errorf("stderr does not end with the resume hint:\n%s", tail(stderr, 2000))
			}
		})
	}
}

// helpPaths are the commands whose --help text users and scripts read.
var helpPaths = []string{
	"", "ingest", "sample", "qa", "qa import", "synthesize", "judge", "export", "run", "inspect",
	"oracle", "oracle serve", "export-graph", "tools", "tools list", "tools run", "submit", "commit",
}

// TestHelpTexts: every command's help is the text in testdata/help, byte
// for byte; go test -update rewrites it after a deliberate change.
func TestHelpTexts(t *testing.T) {
	for _, path := range helpPaths {
		name := strings.ReplaceAll(path, " ", "-")
		if name == "" {
			name = "miroverse"
		}
		t.Run(name, func(t *testing.T) {
			res := runCLI(t, invocation{args: append(strings.Fields(path), "--help")})
			if res.code != exitOK || res.stderr != "" {
				t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
			}
			golden := filepath.Join(repoRoot(t), "cmd", "miroverse", "testdata", "help", name+".txt")
			if *update {
				if err := os.WriteFile(golden, []byte(res.stdout), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if res.stdout != string(want) {
				t.Errorf("help differs from %s:\n%s", golden, res.stdout)
			}
		})
	}
}

// TestSandboxFlags: a limit flag overrides the config when it is given,
// even as 0, and only then.
func TestSandboxFlags(t *testing.T) {
	base := pipeline.DefaultConfig().Synthesize.Sandbox
	with := func(edit func(*pipeline.SandboxConfig)) pipeline.SandboxConfig {
		c := base
		edit(&c)
		return c
	}
	tests := []struct {
		name    string
		args    []string
		want    pipeline.SandboxConfig
		wantErr string
	}{
		{"none given", nil, base, ""},
		{"all given", []string{"--wall", "5s", "--cpu-seconds", "3", "--memory", "1GiB", "--processes", "16"},
			with(func(c *pipeline.SandboxConfig) {
				c.Wall, c.CPUSeconds, c.Memory, c.Processes = 5*time.Second, 3, "1GiB", 16
			}), ""},
		{"one given", []string{"--memory", "512MiB"}, with(func(c *pipeline.SandboxConfig) { c.Memory = "512MiB" }), ""},
		{"given as 0", []string{"--cpu-seconds", "0"}, with(func(c *pipeline.SandboxConfig) { c.CPUSeconds = 0 }), ""},
		{"bad value", []string{"--memory", "lots"}, pipeline.SandboxConfig{}, `synthesize.sandbox.memory "lots"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f sandboxFlags
			cmd := &cobra.Command{Use: "tools"}
			f.bind(cmd)
			if err := cmd.ParseFlags(tc.args); err != nil {
				t.Fatal(err)
			}
			got := base
			err := f.apply(&got)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
