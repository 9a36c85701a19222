package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/miroverse/miroverse/pipeline"
)

// withRunner opens the output root, runs fn and closes it.
func withRunner(cmd *cobra.Command, g *globalFlags, f *stageFlags, fn func(context.Context, pipeline.Config, *pipeline.Runner) error) error {
	cfg, err := f.load()
	if err != nil {
		return err
	}
	log, err := g.logger()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	r, err := pipeline.Open(ctx, cfg, f.out, pipeline.Options{Log: log, Progress: g.progress()})
	if err != nil {
		return err
	}
	runErr := fn(ctx, cfg, r)
	if err := r.Close(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

func newIngestCmd(g *globalFlags) *cobra.Command {
	f := &stageFlags{}
	var inputs []string
	cmd := &cobra.Command{
		Use:   "ingest --input PATH... --out ROOT",
		Short: "Read MediaWiki XML dumps (plain, .bz2, multistream) into the knowledge graph",
		Example: "  miroverse ingest --input enwiki-pages-articles-multistream.xml.bz2 --out out/v1\n" +
			"  miroverse ingest --config configs/demo.yaml --out out/demo",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withRunner(cmd, g, f, func(ctx context.Context, cfg pipeline.Config, r *pipeline.Runner) error {
				paths := inputs
				if len(paths) == 0 {
					paths = cfg.Input.Paths
				}
				if err := r.Ingest(ctx, paths); err != nil {
					return err
				}
				st := r.Manifest().Stages[pipeline.StageIngest]
				fmt.Fprintf(os.Stdout, "ingested %d documents, %d links, %d aliases into %s\n",
					r.Manifest().Graph.Docs, r.Manifest().Graph.Links, r.Manifest().Graph.Aliases, r.Root())
				if st != nil && st.Counts["truncated_inputs"] > 0 {
					return fmt.Errorf("ingest: %d input(s) ended early (truncated); every page before the break was kept", st.Counts["truncated_inputs"])
				}
				return nil
			})
		},
	}
	f.bind(cmd, false)
	cmd.Flags().StringSliceVar(&inputs, "input", nil, "dump file(s) to read; overrides input.paths of the config")
	return cmd
}

func newStageCmd(g *globalFlags, stage, short string, run func(*pipeline.Runner, context.Context) error) *cobra.Command {
	f := &stageFlags{}
	cmd := &cobra.Command{
		Use:   stage + " --config FILE --out ROOT",
		Short: short,
		Long:  short + ".\n\nThe stage reads the previous stage's output under ROOT, skips the items it already committed, and\nwrites its own output there. Run it again after an interruption to resume.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withRunner(cmd, g, f, func(ctx context.Context, _ pipeline.Config, r *pipeline.Runner) error {
				return run(r, ctx)
			})
		},
	}
	f.bind(cmd, false)
	return cmd
}

func newRunCmd(g *globalFlags) *cobra.Command {
	f := &stageFlags{}
	cmd := &cobra.Command{
		Use:   "run --config FILE --out ROOT",
		Short: "Run every stage: ingest, sample, qa, synthesize, judge, export",
		Long: "Run every stage in order. Each stage commits its items by id, so an interrupted run (Ctrl-C or kill -9)\n" +
			"resumes where it stopped when the same command is run again, and ends with the rows of an uninterrupted run.",
		Example: "  miroverse run --config configs/demo.yaml --out out/demo",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withRunner(cmd, g, f, func(ctx context.Context, _ pipeline.Config, r *pipeline.Runner) error {
				if err := r.RunAll(ctx); err != nil {
					return err
				}
				fmt.Fprint(os.Stdout, pipeline.Summary(r.Manifest(), r.Root()))
				return nil
			})
		},
	}
	f.bind(cmd, true)
	return cmd
}
