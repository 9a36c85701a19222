package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/miroverse/miroverse/pipeline"
)

// commitOptions are the flags of `commit`.
type commitOptions struct {
	g        *globalFlags
	out      string
	shards   int
	wait     bool
	cacheDir string
}

func newCommitCmd(g *globalFlags) *cobra.Command {
	opts := &commitOptions{g: g}
	cmd := &cobra.Command{
		Use:   "commit --out ROOT --shards N [--wait]",
		Short: "Publish a sharded run: the global steps over every shard's checkpoints",
		Long: "Publish the dataset version of a run split into N shards (run --shard I/N, a Slurm job array, a\n" +
			"Kubernetes Indexed Job) once every shard has finished: merge their checkpoints from ROOT, decide the near\n" +
			"duplicates over all questions, and write subgraphs/, qa/, trajectories/, sft/data, dpo/data, the card and one\n" +
			"manifest, with the rows one process would have written. Missing or unfinished shards are named and nothing is\n" +
			"published; --wait waits for them instead. Committing again rebuilds the same version.",
		Example: "  miroverse commit --out s3://datasets/miroverse/v1?region=us-east-1 --shards 16\n" +
			"  miroverse commit --out /shared/out/v1 --shards 4 --wait",
		RunE: func(cmd *cobra.Command, _ []string) error { return commitRun(cmd.Context(), opts) },
	}
	cmd.Flags().StringVar(&opts.out, "out", "", "output root the shards wrote")
	cmd.Flags().IntVar(&opts.shards, "shards", 0, "number of shards N of the run")
	cmd.Flags().BoolVar(&opts.wait, "wait", false, "wait until every shard has finished instead of failing")
	cmd.Flags().StringVar(&opts.cacheDir, "cache-dir", "", "local work dir for an object-storage root (default $"+pipeline.CacheEnv+" or the user cache dir)")
	_ = cmd.MarkFlagRequired("out")
	_ = cmd.MarkFlagRequired("shards")
	return cmd
}

func commitRun(ctx context.Context, opts *commitOptions) error {
	log, err := opts.g.logger()
	if err != nil {
		return err
	}
	r, err := pipeline.Commit(ctx, opts.out, pipeline.CommitOptions{
		Shards: opts.shards, Wait: opts.wait, CacheDir: opts.cacheDir, Log: log, Progress: opts.g.progress(),
	})
	if err != nil {
		return err
	}
	fmt.Fprint(opts.g.IO.Out, pipeline.Summary(r.Manifest(), r.Root()))
	return r.Close()
}
