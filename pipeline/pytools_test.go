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
	"github.com/miroverse/miroverse/trajectory/toolset"
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

// TestToolShapeConfig: the keys that shape the tools' answers default to
// MiroThinker's behaviour, take their other values, and refuse the rest
// with the key's name.
func TestToolShapeConfig(t *testing.T) {
	dir := t.TempDir()
	runConfigCases(t, []configCase{
		{name: "defaults are MiroThinker's", yaml: "", check: func(t *testing.T, c Config) {
			o, err := c.Synthesize.ToolOptions()
			if err != nil {
				t.Fatal(err)
			}
			want := toolset.Options{ScrapeResult: "json", PythonResult: "e2b", UnknownArguments: "server", SandboxLifetime: 600 * time.Second}
			if o.ScrapeResult != want.ScrapeResult || o.PythonResult != want.PythonResult || o.UnknownArguments != want.UnknownArguments ||
				o.SandboxLifetime != want.SandboxLifetime || o.LocalFiles != "" {
				t.Errorf("default options %+v, want %+v", o, want)
			}
		}},
		{name: "the old shapes", yaml: "synthesize:\n  scrape_result: text\n  python_result: text\n  unknown_arguments: ignore\n" +
			"  sandbox:\n    lifetime: 90s\n    local_files: " + dir + "\n", check: func(t *testing.T, c Config) {
			o, err := c.Synthesize.ToolOptions()
			if err != nil {
				t.Fatal(err)
			}
			if o.ScrapeResult != "text" || o.PythonResult != "text" || o.UnknownArguments != "ignore" || o.SandboxLifetime != 90*time.Second || o.LocalFiles != dir {
				t.Errorf("options %+v", o)
			}
		}},
		{name: "bad scrape_result", yaml: "synthesize:\n  scrape_result: xml\n", wantErr: []string{"synthesize.scrape_result", `"xml"`, `"json" or "text"`}},
		{name: "bad python_result", yaml: "synthesize:\n  python_result: jupyter\n", wantErr: []string{"synthesize.python_result", `"e2b" or "text"`}},
		{name: "bad unknown_arguments", yaml: "synthesize:\n  unknown_arguments: warn\n", wantErr: []string{"synthesize.unknown_arguments", `"server", "ignore" or "reject"`}},
		{name: "negative lifetime", yaml: "synthesize:\n  sandbox:\n    lifetime: -1s\n", wantErr: []string{"synthesize.sandbox.lifetime", "negative"}},
		{name: "sub-second lifetime", yaml: "synthesize:\n  sandbox:\n    lifetime: 10ms\n", wantErr: []string{"synthesize.sandbox.lifetime", "at least 1s"}},
	})
	c := DefaultConfig()
	c.Synthesize.Sandbox.LocalFiles = filepath.Join(dir, "missing")
	if _, err := c.Synthesize.ToolOptions(); err == nil || !strings.Contains(err.Error(), "synthesize.sandbox.local_files") {
		t.Errorf("a missing local_files directory: %v", err)
	}
}

// TestLocalFilesDigest: what the uploads can read is part of the stage's
// fingerprint, so changing a file's content or name changes the digest.
func TestLocalFilesDigest(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.txt", "one")
	write("sub/b.csv", "x,y")
	base, err := localFilesDigest(dir)
	if err != nil || base == "" {
		t.Fatalf("digest %q, %v", base, err)
	}
	if none, _ := localFilesDigest(""); none != "" {
		t.Errorf("no directory gives %q", none)
	}
	for _, tc := range []struct {
		name   string
		change func()
	}{
		{"content", func() { write("a.txt", "two") }},
		{"new file", func() { write("c.txt", "") }},
		{"rename", func() { _ = os.Rename(filepath.Join(dir, "c.txt"), filepath.Join(dir, "d.txt")) }},
	} {
		before, _ := localFilesDigest(dir)
		tc.change()
		after, err := localFilesDigest(dir)
		if err != nil || after == before {
			t.Errorf("%s: digest unchanged (%v)", tc.name, err)
		}
	}
	if _, err := localFilesDigest(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing directory has a digest")
	}
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
