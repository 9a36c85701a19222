package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/miroverse/miroverse/pipeline"
)

// withRunner opens the output root, runs fn and closes it.
func withRunner(ctx context.Context, g *globalFlags, f *stageFlags, fn func(context.Context, pipeline.Config, *pipeline.Runner) error) error {
	cfg, err := f.load(g.IO.LookupEnv)
	if err != nil {
		return err
	}
	log, err := g.logger()
	if err != nil {
		return err
	}
	spec, err := f.spec(g.IO.LookupEnv)
	if err != nil {
		return err
	}
	r, err := pipeline.Open(ctx, cfg, f.out, pipeline.Options{Log: log, Progress: g.progress(), Shard: spec, CacheDir: f.cacheDir})
	if err != nil {
		return err
	}
	runErr := fn(ctx, cfg, r)
	if err := r.Close(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

// ingestOptions are the flags of `ingest`.
type ingestOptions struct {
	g       *globalFlags
	f       stageFlags
	inputs  []string
	dryRun  bool
	resolve bool
}

func newIngestCmd(g *globalFlags) *cobra.Command {
	opts := &ingestOptions{g: g}
	cmd := &cobra.Command{
		Use:   "ingest --input PATH... --out ROOT",
		Short: "Read MediaWiki XML dumps (plain, .bz2, multistream .bz2, .gz, .xz) and web pages into the knowledge graph",
		Long: "Read MediaWiki XML dumps and web pages (WARC files, directories of .html files, .jsonl[.gz|.zst]) into the\n" +
			"knowledge graph of ROOT; each input's kind is told by its content. Bad pages are counted by reason and skipped;\n" +
			"every good page is kept. Exit status: 0 when every input was read to its end, 3 when an input ended early\n" +
			"or lost a stream (truncated or corrupt: the pages before and after the damage are kept), 1 on other errors.\n\n" +
			"--dry-run parses and counts everything without writing a store: the quick way to validate a dump.",
		Example: "  miroverse ingest --input enwiki-pages-articles-multistream.xml.bz2 --out out/v1\n" +
			"  miroverse ingest --dry-run --input enwiki-pages-articles-multistream.xml.bz2\n" +
			"  miroverse ingest --input crawl.warc.gz --input enwiki-pages-articles-multistream.xml.bz2 --out out/v2\n" +
			"  miroverse ingest --config configs/demo.yaml --out out/demo",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return ingestRun(cmd.Context(), opts)
		},
	}
	// --out is not marked required as for the other stages: --dry-run needs none.
	cmd.Flags().StringVar(&opts.f.config, "config", "", "run config (YAML); see configs/demo.yaml")
	cmd.Flags().StringVar(&opts.f.out, "out", "", "output root of the dataset version")
	cmd.Flags().StringSliceVar(&opts.inputs, "input", nil, "dumps and web inputs to read; overrides input.paths of the config")
	cmd.Flags().BoolVar(&opts.dryRun, "dry-run", false, "parse and count without writing a store")
	cmd.Flags().BoolVar(&opts.resolve, "resolve", false, "neo4j: resolve the links of an ingest split over --shards N slices, once every slice is read")
	opts.f.bindShard(cmd)
	return cmd
}

func ingestRun(ctx context.Context, opts *ingestOptions) error {
	g := opts.g
	cfg, err := opts.f.load(g.IO.LookupEnv)
	if err != nil {
		return err
	}
	paths := opts.inputs
	if len(paths) == 0 {
		paths = cfg.Input.Paths
	}
	if opts.dryRun {
		return dryRunIngest(ctx, g, paths, cfg)
	}
	if opts.f.out == "" {
		return fmt.Errorf("ingest: --out ROOT is required (or --dry-run)")
	}
	if opts.resolve {
		return resolveIngest(ctx, g, opts, paths)
	}
	return withRunner(ctx, g, &opts.f, func(ctx context.Context, cfg pipeline.Config, r *pipeline.Runner) error {
		if r.Shard().Sharded() && cfg.Graph.Backend == "neo4j" {
			// One slice of the streams; the resolution step follows.
			if err := r.IngestSlice(ctx, paths); err != nil {
				return err
			}
			fmt.Fprintf(g.IO.Out, "read slice %s of the streams into %s; when every slice is read: miroverse ingest --config FILE --out %s --resolve --shards %d\n",
				r.Shard(), r.Manifest().Graph.Path, opts.f.out, r.Shard().Count)
			return nil
		}
		if err := r.Ingest(ctx, paths); err != nil {
			return err
		}
		m := r.Manifest()
		fmt.Fprintf(g.IO.Out, "ingested %d documents, %d links, %d aliases into %s\n", m.Graph.Docs, m.Graph.Links, m.Graph.Aliases, r.Root())
		return incompleteErr(m.Stages[pipeline.StageIngest])
	})
}

// resolveIngest is `ingest --resolve --shards N`: the one step after a
// Neo4j ingest split over N slices of the streams.
func resolveIngest(ctx context.Context, g *globalFlags, opts *ingestOptions, paths []string) error {
	if opts.f.shard != "" || opts.f.shards < 2 {
		return fmt.Errorf("ingest --resolve: pass --shards N, the number of slices (and no --shard: the step is one process)")
	}
	cfg, err := opts.f.load(g.IO.LookupEnv)
	if err != nil {
		return err
	}
	log, err := g.logger()
	if err != nil {
		return err
	}
	r, err := pipeline.Open(ctx, cfg, opts.f.out, pipeline.Options{Log: log, Progress: g.progress(), CacheDir: opts.f.cacheDir})
	if err != nil {
		return err
	}
	runErr := r.ResolveIngest(ctx, paths, opts.f.shards)
	if err := r.Close(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr == nil {
		fmt.Fprintf(g.IO.Out, "resolved the graph of %d slices in %s; start the shards: miroverse run --config FILE --out %s --shard I/%d\n",
			opts.f.shards, r.Manifest().Graph.Path, opts.f.out, opts.f.shards)
	}
	return runErr
}

func dryRunIngest(ctx context.Context, g *globalFlags, paths []string, cfg pipeline.Config) error {
	if len(paths) == 0 {
		return fmt.Errorf("ingest --dry-run: no input paths (pass --input or a config with input.paths)")
	}
	log, err := g.logger()
	if err != nil {
		return err
	}
	st, err := pipeline.DryRun(ctx, paths, cfg, pipeline.Options{Log: log, Progress: g.progress()})
	if err != nil {
		return err
	}
	fmt.Fprint(g.IO.Out, pipeline.IngestSummary(st))
	return incompleteErr(st)
}

// incompleteInput is an ingest that kept what it could of a damaged input;
// it exits with status exitIncomplete so batch jobs can tell it from a
// complete one.
type incompleteInput struct{ msg string }

func (e incompleteInput) Error() string { return e.msg }

func incompleteErr(st *pipeline.StageStats) error {
	if !st.Incomplete() {
		return nil
	}
	return incompleteInput{fmt.Sprintf("input incomplete: %d truncated, %d corrupt streams; every readable page was kept (see the counts above or the manifest)",
		st.Counts["truncated_inputs"], st.Counts["corrupt_streams"])}
}

// stageOptions are the flags of one stage's command and the stage it runs.
type stageOptions struct {
	g     *globalFlags
	f     stageFlags
	stage func(*pipeline.Runner, context.Context) error
}

func newStageCmd(g *globalFlags, stage, short string, run func(*pipeline.Runner, context.Context) error) *cobra.Command {
	opts := &stageOptions{g: g, stage: run}
	cmd := &cobra.Command{
		Use:   stage + " --config FILE --out ROOT",
		Short: short,
		Long:  short + ".\n\nThe stage reads the previous stage's output under ROOT, skips the items it already committed, and\nwrites its own output there. Run it again after an interruption to resume.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return stageRun(cmd.Context(), opts)
		},
	}
	opts.f.bind(cmd, false)
	return cmd
}

func stageRun(ctx context.Context, opts *stageOptions) error {
	return withRunner(ctx, opts.g, &opts.f, func(ctx context.Context, _ pipeline.Config, r *pipeline.Runner) error {
		return opts.stage(r, ctx)
	})
}

// runOptions are the flags of `run`.
type runOptions struct {
	g *globalFlags
	f stageFlags
}

func newRunCmd(g *globalFlags) *cobra.Command {
	opts := &runOptions{g: g}
	cmd := &cobra.Command{
		Use:   "run --config FILE --out ROOT",
		Short: "Run every stage: ingest, sample, qa, synthesize, judge, export",
		Long: "Run every stage in order. Each stage commits its items by id, so an interrupted run (Ctrl-C or kill -9)\n" +
			"resumes where it stopped when the same command is run again, and ends with the rows of an uninterrupted run.",
		Example: "  miroverse run --config configs/demo.yaml --out out/demo",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAllRun(cmd.Context(), opts)
		},
	}
	opts.f.bind(cmd, true)
	return cmd
}

func runAllRun(ctx context.Context, opts *runOptions) error {
	return withRunner(ctx, opts.g, &opts.f, func(ctx context.Context, _ pipeline.Config, r *pipeline.Runner) error {
		if err := r.RunAll(ctx); err != nil {
			return err
		}
		if s := r.Shard(); s.Sharded() {
			fmt.Fprintf(opts.g.IO.Out, "shard %s of %s done; when every shard is, publish the version with: miroverse commit --out %s --shards %d\n",
				s, r.Root(), opts.f.out, s.Count)
			return incompleteErr(r.Manifest().Stages[pipeline.StageIngest])
		}
		fmt.Fprint(opts.g.IO.Out, pipeline.Summary(r.Manifest(), r.Root()))
		return incompleteErr(r.Manifest().Stages[pipeline.StageIngest])
	})
}
