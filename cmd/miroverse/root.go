package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"

	"github.com/miroverse/miroverse/pipeline"
	"github.com/miroverse/miroverse/pipeline/shard"
)

// IO is all a command reads and writes besides its flags and the files they
// name. main passes the process's streams and environment; tests pass
// buffers and a map, and so run every command in-process.
type IO struct {
	In     io.Reader
	Out    io.Writer // results: what scripts parse
	ErrOut io.Writer // logs, progress and error messages
	// LookupEnv reads the variables the command line applies over a config
	// (see stageFlags.load).
	LookupEnv func(key string) (string, bool)
}

// orNothing fills the fields left nil with an empty input, a discarding
// output and an empty environment, so that a command never falls back to
// the process's own streams (cobra's default) behind a test's back.
func (s IO) orNothing() IO {
	if s.In == nil {
		s.In = strings.NewReader("")
	}
	if s.Out == nil {
		s.Out = io.Discard
	}
	if s.ErrOut == nil {
		s.ErrOut = io.Discard
	}
	if s.LookupEnv == nil {
		s.LookupEnv = func(string) (string, bool) { return "", false }
	}
	return s
}

// globalFlags are the root's persistent flags, shared by every command. The
// commands keep a pointer and read it when they run, after cobra has parsed
// the whole command line.
type globalFlags struct {
	IO        IO
	logLevel  string
	logFormat string
	quiet     bool
	// cpuProfile names the file a run writes Go's CPU profile to, so a
	// user can see where a slow stage spends its time (go tool pprof).
	cpuProfile string
	stopProf   func() error
}

// newRoot builds the whole command tree on streams; it holds no state
// beyond the returned command and its global flags (whose profile execute
// stops when a command fails: cobra skips post-runs then), so every call is
// a fresh CLI.
func newRoot(streams IO) (*cobra.Command, *globalFlags) {
	streams = streams.orNothing()
	g := &globalFlags{IO: streams}
	root := &cobra.Command{
		Use:           "miroverse",
		Short:         "Regenerate a MiroVerse-style agentic training set from wiki dumps",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	root.PersistentFlags().BoolVarP(&g.quiet, "quiet", "q", false, "no progress lines")
	root.PersistentFlags().StringVar(&g.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the command to `FILE` (read it with go tool pprof)")
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return g.startProfile() }
	root.PersistentPostRunE = func(*cobra.Command, []string) error { return g.stopProfile() }
	root.AddCommand(
		newIngestCmd(g),
		newStageCmd(g, pipeline.StageSample, "Sample multi-hop random walks from the graph", (*pipeline.Runner).Sample),
		withQAImport(g, newStageCmd(g, pipeline.StageQA, "Write one question per walk and gate it", (*pipeline.Runner).QA)),
		newStageCmd(g, pipeline.StageSynthesize, "Run the agent's rollouts on every kept question", (*pipeline.Runner).Synthesize),
		newStageCmd(g, pipeline.StageJudge, "Judge every rollout's answer", (*pipeline.Runner).Judge),
		newStageCmd(g, pipeline.StageExport, "Write the SFT and DPO shards and the dataset card", (*pipeline.Runner).Export),
		newRunCmd(g),
		newCommitCmd(g),
		newInspectCmd(streams),
		newOracleCmd(g),
		newExportGraphCmd(streams),
		newToolsCmd(streams),
		newSubmitCmd(g),
	)
	return root, g
}

func (g *globalFlags) startProfile() error {
	if g.cpuProfile == "" {
		return nil
	}
	f, err := os.Create(g.cpuProfile)
	if err != nil {
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("--cpuprofile %s: %w", g.cpuProfile, err)
	}
	g.stopProf = func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}
	return nil
}

func (g *globalFlags) stopProfile() error {
	if g.stopProf == nil {
		return nil
	}
	err := g.stopProf()
	g.stopProf = nil
	if err != nil {
		return fmt.Errorf("--cpuprofile %s: %w", g.cpuProfile, err)
	}
	return nil
}

func (g *globalFlags) logger() (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", g.logLevel)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(g.logFormat) {
	case "text":
		return slog.New(slog.NewTextHandler(g.IO.ErrOut, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(g.IO.ErrOut, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", g.logFormat)
}

func (g *globalFlags) progress() io.Writer {
	if g.quiet {
		return io.Discard
	}
	return g.IO.ErrOut
}

// stageFlags locate a run: its config, output root and shard.
type stageFlags struct {
	config   string
	out      string
	shard    string
	shards   int
	cacheDir string
}

func (f *stageFlags) bind(cmd *cobra.Command, configRequired bool) {
	cmd.Flags().StringVar(&f.config, "config", "", "run config (YAML); see configs/demo.yaml")
	cmd.Flags().StringVar(&f.out, "out", "", "output root of the dataset version: a path, file:///dir, s3://bucket/prefix or gs://bucket/prefix")
	f.bindShard(cmd)
	_ = cmd.MarkFlagRequired("out")
	if configRequired {
		_ = cmd.MarkFlagRequired("config")
	}
}

// bindShard adds the flags that place a run in a sharded one.
func (f *stageFlags) bindShard(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.shard, "shard", "", "run only shard I of N (I/N, counted from 0); default: from "+shard.EnvK8sIndex+" or "+shard.EnvSlurmTask)
	cmd.Flags().IntVar(&f.shards, "shards", 0, "number of shards N, for a shard index from "+shard.EnvK8sIndex+" (Slurm gives N itself)")
	cmd.Flags().StringVar(&f.cacheDir, "cache-dir", "", "local cache of a shard or an object-storage run: state and graph (default $"+pipeline.CacheEnv+" or the user cache dir)")
}

// spec is the run's shard: --shard, else the scheduler's variables, else
// the whole run.
func (f *stageFlags) spec(lookupEnv func(string) (string, bool)) (shard.Spec, error) {
	if f.shard != "" {
		s, err := shard.Parse(f.shard)
		if err != nil {
			return s, fmt.Errorf("--shard: %w", err)
		}
		if f.shards != 0 && f.shards != s.Count {
			return s, fmt.Errorf("--shard %s and --shards %d disagree on the number of shards", f.shard, f.shards)
		}
		return s, nil
	}
	getenv := func(k string) string { v, _ := lookupEnv(k); return v }
	s, ok, err := shard.FromEnv(getenv, f.shards)
	if err != nil {
		return s, err
	}
	if !ok && f.shards > 1 {
		return s, fmt.Errorf("--shards %d without a shard index: pass --shard I/%d, or run as a task of a Slurm job array or Kubernetes Indexed Job", f.shards, f.shards)
	}
	return s, nil
}

// load reads the config, or the defaults when none is given, and applies
// the environment's overrides (MIROVERSE_ORACLE_FAULT_RATE) read through
// lookupEnv: this is the one place a run reads them.
func (f *stageFlags) load(lookupEnv func(string) (string, bool)) (pipeline.Config, error) {
	cfg := pipeline.DefaultConfig()
	if f.config != "" {
		var err error
		if cfg, err = pipeline.LoadConfig(f.config); err != nil {
			return cfg, err
		}
	}
	if err := cfg.ApplyEnv(lookupEnv); err != nil {
		return cfg, fmt.Errorf("environment: %w", err)
	}
	return cfg, nil
}
