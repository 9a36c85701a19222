package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miroverse/miroverse/trajectory/sandbox"
)

func TestPythonToolsConfig(t *testing.T) {
	runConfigCases(t, []configCase{
		{name: "defaults: on, with the sandbox's default limits", yaml: "", check: func(t *testing.T, c Config) {
			if !c.Synthesize.PythonTools {
				t.Error("python_tools is off by default")
			}
			l, err := c.Synthesize.Sandbox.Limits()
			if err != nil {
				t.Fatal(err)
			}
			if l != sandbox.DefaultLimits() {
				t.Errorf("default limits %+v differ from sandbox.DefaultLimits %+v", l, sandbox.DefaultLimits())
			}
		}},
		{name: "switched off", yaml: "synthesize:\n  python_tools: false\n", check: func(t *testing.T, c Config) {
			if c.Synthesize.PythonTools {
				t.Error("python_tools: false ignored")
			}
		}},
		{name: "limits", yaml: "synthesize:\n  sandbox:\n    wall: 5s\n    cpu_seconds: 3\n    memory: 512MiB\n    processes: 16\n", check: func(t *testing.T, c Config) {
			l, err := c.Synthesize.Sandbox.Limits()
			if err != nil {
				t.Fatal(err)
			}
			if l.Wall != 5*time.Second || l.CPUSeconds != 3 || l.MemoryBytes != 512<<20 || l.Processes != 16 {
				t.Errorf("limits %+v", l)
			}
			if l.OutputChars != sandbox.DefaultOutputChars {
				t.Errorf("output cap %d, want MiroThinker's %d", l.OutputChars, sandbox.DefaultOutputChars)
			}
		}},
		{name: "zero keeps the default", yaml: "synthesize:\n  sandbox:\n    wall: 0s\n    memory: \"\"\n", check: func(t *testing.T, c Config) {
			l, _ := c.Synthesize.Sandbox.Limits()
			if l.Wall != 120*time.Second || l.MemoryBytes != 4<<30 {
				t.Errorf("limits %+v", l)
			}
		}},
		{name: "bad memory", yaml: "synthesize:\n  sandbox:\n    memory: lots\n", wantErr: []string{"synthesize.sandbox.memory", "lots"}},
		{name: "tiny memory", yaml: "synthesize:\n  sandbox:\n    memory: 1KiB\n", wantErr: []string{"synthesize.sandbox.memory", "at least"}},
		{name: "negative wall", yaml: "synthesize:\n  sandbox:\n    wall: -1s\n", wantErr: []string{"synthesize.sandbox.wall"}},
		{name: "unknown sandbox key", yaml: "synthesize:\n  sandbox:\n    network: true\n", wantErr: []string{"line 3", `"network"`}},
	})
}

// TestShippedConfigsDocumentPythonTools keeps the switch visible in every
// shipped config, since it decides which tools the dataset's rows offer.
func TestShippedConfigsDocumentPythonTools(t *testing.T) {
	files, _ := filepath.Glob("../configs/*.yaml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "python_tools:") {
			t.Errorf("%s does not show synthesize.python_tools", f)
		}
	}
}

// TestRunStopsWithoutSandbox: with python_tools on and no bwrap, run fails
// before its first stage, with the sandbox's reason and the way to disable
// the tools; with python_tools off the same machine gets past that point.
func TestRunStopsWithoutSandbox(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no bwrap, no prlimit, no python3
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.Input.Paths = []string{filepath.Join(t.TempDir(), "missing.xml")}
	root := t.TempDir()
	r, err := Open(ctx, cfg, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = r.RunAll(ctx)
	r.Close()
	if !errors.Is(err, sandbox.ErrUnavailable) {
		t.Fatalf("RunAll error %v, want one wrapping sandbox.ErrUnavailable", err)
	}
	for _, w := range []string{"bubblewrap", "synthesize.python_tools: false"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if _, ok := r.Manifest().Stages[StageIngest]; ok {
		t.Error("ingest ran before the sandbox check")
	}

	cfg.Synthesize.PythonTools = false
	r, err = Open(ctx, cfg, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Ingest of a missing file fails; what matters is that it was reached.
	if err := r.RunAll(ctx); errors.Is(err, sandbox.ErrUnavailable) {
		t.Errorf("python_tools: false still needs the sandbox: %v", err)
	}
}

func TestSynthesizeStopsWithoutSandbox(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	ctx := context.Background()
	r, err := Open(ctx, DefaultConfig(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	err = r.Synthesize(ctx)
	if !errors.Is(err, sandbox.ErrUnavailable) || !strings.Contains(err.Error(), "python_tools: false") {
		t.Errorf("Synthesize error %v, want the sandbox's reason and how to disable the tools", err)
	}
}
