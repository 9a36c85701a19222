package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/trajectory/sandbox"
	"github.com/miroverse/miroverse/trajectory/toolset"
)

// The sandbox Manager is the provider of the tool-python tools.
var _ toolset.SandboxProvider = (*sandbox.Manager)(nil)

// disableHint tells how to run without the tool-python tools; every
// sandbox error of a stage ends with it.
const disableHint = "to synthesize without the tool-python tools (create_sandbox, run_python_code, run_command and the file tools), " +
	"set synthesize.python_tools: false in the config; to get the sandbox, install bubblewrap (make sandbox-deps)"

// Limits converts the config to the sandbox's limits. Zero fields take
// sandbox.DefaultLimits, so a config can never switch a limit off.
func (c SandboxConfig) Limits() (sandbox.Limits, error) {
	l := sandbox.DefaultLimits()
	var errs []error
	switch {
	case c.Wall < 0:
		errs = append(errs, fmt.Errorf("synthesize.sandbox.wall %s: must not be negative", c.Wall))
	case c.Wall > 0:
		l.Wall = c.Wall
	}
	switch {
	case c.CPUSeconds < 0:
		errs = append(errs, fmt.Errorf("synthesize.sandbox.cpu_seconds %d: must not be negative", c.CPUSeconds))
	case c.CPUSeconds > 0:
		l.CPUSeconds = c.CPUSeconds
	}
	switch {
	case c.Processes < 0:
		errs = append(errs, fmt.Errorf("synthesize.sandbox.processes %d: must not be negative", c.Processes))
	case c.Processes > 0:
		l.Processes = c.Processes
	}
	if c.Memory != "" {
		n, err := humanize.ParseBytes(c.Memory)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("synthesize.sandbox.memory %q: %w", c.Memory, err))
		case n < 16<<20:
			// Below this not even the interpreter starts, and every call
			// would fail in a way that looks like a sandbox fault.
			errs = append(errs, fmt.Errorf("synthesize.sandbox.memory %q: want at least 16MiB", c.Memory))
		case n > 1<<50:
			errs = append(errs, fmt.Errorf("synthesize.sandbox.memory %q: too large", c.Memory))
		default:
			l.MemoryBytes = int64(n)
		}
	}
	return l, errors.Join(errs...)
}

// checkTools checks the keys that shape the tools' answers.
func (s SynthesizeConfig) checkTools() []error {
	var errs []error
	oneOf := func(key, v string, allowed ...string) {
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		errs = append(errs, fmt.Errorf("synthesize.%s %q: want %s", key, v, quoteOr(allowed)))
	}
	oneOf("scrape_result", s.ScrapeResult, toolset.ScrapeJSON, toolset.ScrapeText)
	oneOf("python_result", s.PythonResult, toolset.PythonE2B, toolset.PythonText)
	oneOf("unknown_arguments", s.UnknownArguments, toolset.ArgsServer, toolset.ArgsIgnore, toolset.ArgsReject)
	if s.Sandbox.Lifetime < 0 {
		errs = append(errs, fmt.Errorf("synthesize.sandbox.lifetime %s: must not be negative (0: %s)", s.Sandbox.Lifetime, toolset.DefaultSandboxLifetime))
	} else if s.Sandbox.Lifetime > 0 && s.Sandbox.Lifetime < time.Second {
		errs = append(errs, fmt.Errorf("synthesize.sandbox.lifetime %s: want at least 1s (create_sandbox's timeout counts seconds)", s.Sandbox.Lifetime))
	}
	return errs
}

func quoteOr(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// ToolOptions are the toolset's options for this config. A local_files
// directory must exist: a typo would otherwise only show as failed uploads
// inside the rollouts.
func (s SynthesizeConfig) ToolOptions() (toolset.Options, error) {
	o := toolset.Options{
		ScrapeResult: s.ScrapeResult, PythonResult: s.PythonResult, UnknownArguments: s.UnknownArguments,
		SandboxLifetime: s.Sandbox.Lifetime, LocalFiles: s.Sandbox.LocalFiles,
	}
	if dir := s.Sandbox.LocalFiles; dir != "" {
		fi, err := os.Stat(dir)
		if err != nil {
			return o, fmt.Errorf("synthesize.sandbox.local_files: %w", err)
		}
		if !fi.IsDir() {
			return o, fmt.Errorf("synthesize.sandbox.local_files %s: not a directory", dir)
		}
	}
	return o, o.Check()
}

// localFilesDigest hashes the names and contents of the files under dir
// ("" for none), so that changing what the uploads can read starts the
// synthesize stage over like any other change of its inputs.
func localFilesDigest(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(h, "%q\n", filepath.ToSlash(rel))
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		_, _ = h.Write([]byte{0})
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("synthesize.sandbox.local_files: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// NewSandbox starts the sandbox Manager of the tool-python tools with the
// limits of c. When this machine cannot run it the error wraps
// sandbox.ErrUnavailable, keeps its reason and says how to go without.
func NewSandbox(ctx context.Context, c SandboxConfig) (*sandbox.Manager, error) {
	l, err := c.Limits()
	if err != nil {
		return nil, err
	}
	m, err := sandbox.NewManager(ctx, l)
	if err != nil {
		return nil, fmt.Errorf("synthesize.python_tools is on, but %w; %s", err, disableHint)
	}
	return m, nil
}

// openPythonSandbox returns the stage's sandbox Manager, or nil when the
// tool-python tools are off. One Manager serves every rollout of the stage,
// so its probe runs once; each rollout's Session removes its own sandboxes.
func (r *Runner) openPythonSandbox(ctx context.Context) (*sandbox.Manager, error) {
	if !r.cfg.Synthesize.PythonTools {
		return nil, nil
	}
	m, err := NewSandbox(ctx, r.cfg.Synthesize.Sandbox)
	if err != nil {
		return nil, fmt.Errorf("synthesize: %w", err)
	}
	l := m.Limits()
	r.log.Info("code sandbox ready", "wall", l.Wall, "cpu_seconds", l.CPUSeconds,
		"memory", humanize.IBytes(uint64(l.MemoryBytes)), "processes", l.Processes)
	return m, nil
}

// closeSandbox removes what is left of the stage's sandboxes. A failure
// leaves temporary files behind but loses no rollout, so it is logged
// rather than failing the stage.
func (r *Runner) closeSandbox(m *sandbox.Manager) {
	if err := m.Close(); err != nil {
		r.log.Warn("removing sandbox files", "err", err)
	}
}

// preflightPythonTools checks, before the first stage of a run, that the
// synthesize stage will be able to make its sandbox. A root whose
// synthesize stage already finished needs none.
func (r *Runner) preflightPythonTools(ctx context.Context) error {
	if !r.cfg.Synthesize.PythonTools {
		return nil
	}
	fp, ok, err := r.state.Fingerprint(ctx, StageSynthesize)
	if err != nil {
		return err
	}
	if ok {
		done, err := r.state.StageDone(ctx, StageSynthesize, fp)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
	m, err := NewSandbox(ctx, r.cfg.Synthesize.Sandbox)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	return m.Close()
}

// OpenGraph opens the graph store of an existing output root for the tools
// to read, as `miroverse tools run` does. Unlike Open it creates nothing: a
// root without an ingested graph is an error that says so.
func OpenGraph(ctx context.Context, cfg Config, root string) (kg.Store, error) {
	if cfg.Graph.Backend == "embedded" {
		dir, err := GraphDir(ctx, root, "")
		if err != nil {
			return nil, err
		}
		root = dir
		path := cfg.Graph.Path
		if path == "" {
			path = filepath.Join(root, "graph", "kg.db")
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no graph store at %s (%w): is %s an output root, and has `miroverse ingest --out %s` run?", path, err, root, root)
		}
	}
	st, _, err := openStore(ctx, cfg, root, slog.New(slog.DiscardHandler))
	return st, err
}
