package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/miroverse/miroverse/pipeline"
)

// globalFlags are shared by every command.
type globalFlags struct {
	logLevel  string
	logFormat string
	quiet     bool
}

func newRootCmd() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "miroverse",
		Short:         "Regenerate a MiroVerse-style agentic training set from wiki dumps",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	root.PersistentFlags().BoolVarP(&g.quiet, "quiet", "q", false, "no progress lines")
	root.AddCommand(
		newIngestCmd(g),
		newStageCmd(g, pipeline.StageSample, "Sample multi-hop random walks from the graph", (*pipeline.Runner).Sample),
		withQAImport(g, newStageCmd(g, pipeline.StageQA, "Write one question per walk and gate it", (*pipeline.Runner).QA)),
		newStageCmd(g, pipeline.StageSynthesize, "Run the agent's rollouts on every kept question", (*pipeline.Runner).Synthesize),
		newStageCmd(g, pipeline.StageJudge, "Judge every rollout's answer", (*pipeline.Runner).Judge),
		newStageCmd(g, pipeline.StageExport, "Write the SFT and DPO shards and the dataset card", (*pipeline.Runner).Export),
		newRunCmd(g),
		newInspectCmd(),
		newOracleCmd(g),
		newExportGraphCmd(),
		newToolsCmd(),
	)
	return root
}

func (g *globalFlags) logger() (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", g.logLevel)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(g.logFormat) {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", g.logFormat)
}

func (g *globalFlags) progress() io.Writer {
	if g.quiet {
		return io.Discard
	}
	return os.Stderr
}

// stageFlags locate a run: its config and output root.
type stageFlags struct {
	config string
	out    string
}

func (f *stageFlags) bind(cmd *cobra.Command, configRequired bool) {
	cmd.Flags().StringVar(&f.config, "config", "", "run config (YAML); see configs/demo.yaml")
	cmd.Flags().StringVar(&f.out, "out", "", "output root of the dataset version")
	_ = cmd.MarkFlagRequired("out")
	if configRequired {
		_ = cmd.MarkFlagRequired("config")
	}
}

// load reads the config, or the defaults when none is given, and applies
// the environment's overrides (MIROVERSE_ORACLE_FAULT_RATE): this is the one
// place a run reads them.
func (f *stageFlags) load() (pipeline.Config, error) {
	cfg := pipeline.DefaultConfig()
	if f.config != "" {
		var err error
		if cfg, err = pipeline.LoadConfig(f.config); err != nil {
			return cfg, err
		}
	}
	if err := cfg.ApplyEnv(os.LookupEnv); err != nil {
		return cfg, fmt.Errorf("environment: %w", err)
	}
	return cfg, nil
}
