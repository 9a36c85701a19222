package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/miroverse/miroverse/pipeline"
	"github.com/miroverse/miroverse/pipeline/submit/k8s"
)

// submitOptions are the flags of `submit`: the engine and a k8s.Spec.
type submitOptions struct {
	IO     IO
	engine string
	dryRun bool
	config string
	env    map[string]string
	spec   k8s.Spec
}

func newSubmitCmd(streams IO) *cobra.Command {
	opts := &submitOptions{IO: streams}
	cmd := &cobra.Command{
		Use:   "submit --engine k8s --dry-run --config FILE --out ROOT --shards N --name NAME --image IMAGE",
		Short: "Print the cluster job that runs the pipeline as N shards",
		Long: "Print the manifests that run the pipeline as N shard tasks of a cluster's scheduler, each running\n" +
			"`miroverse run --shards N` on its own shard, and then `miroverse commit` for the global steps.\n\n" +
			"--engine k8s: a ConfigMap with the config, an Indexed Job of N shards (a pod's shard is its\n" +
			"JOB_COMPLETION_INDEX; evictions are retried without counting, exit status " + strconv.Itoa(k8s.ExitConfig) + " fails a shard at once)\n" +
			"and a commit Job that waits for the shards' output in ROOT. Credentials go in Secrets named with\n" +
			"--secret, never in the manifests. See configs/k8s/README.md.\n\n" +
			"Only --dry-run is supported: apply the output with kubectl apply -f -.\n\n" +
			"Not yet runnable: `run --shards` and `commit`, which the Jobs start, are still being built.",
		Example: "  miroverse submit --engine k8s --dry-run --config run.yaml --out /data/out/v1 --claim miroverse-data \\\n" +
			"    --shards 16 --parallelism 8 --name v1 --image REGISTRY/miroverse:v1 --secret miroverse-llm \\\n" +
			"    --cpu 4 --memory 16Gi | kubectl apply -f -",
		RunE: func(*cobra.Command, []string) error { return submitRun(opts) },
	}
	f, s := cmd.Flags(), &opts.spec
	f.StringVar(&opts.engine, "engine", "", "the cluster's scheduler: k8s")
	f.BoolVar(&opts.dryRun, "dry-run", false, "print the manifests instead of submitting them")
	f.StringVar(&opts.config, "config", "", "run config (YAML) the shards read; see configs/demo.yaml")
	f.StringVar(&s.Root, "out", "", "output root of the dataset version, shared by every shard (s3://, gs://, or a path on --claim)")
	f.Int32Var(&s.Shards, "shards", 0, "number of shard tasks")
	f.Int32Var(&s.Parallelism, "parallelism", 0, "shards running at once (default all)")
	f.StringVar(&s.Name, "name", "", "run name: the jobs' name prefix and run label")
	f.StringVar(&s.Namespace, "namespace", "", "namespace of the objects (default kubectl's)")
	f.StringVar(&s.Image, "image", "", "container image with miroverse on its PATH")
	f.StringVar(&s.Claim, "claim", "", "ReadWriteMany PersistentVolumeClaim mounted at "+k8s.ClaimPath+" (inputs, a local --out)")
	f.Int32Var(&s.Retries, "retries", k8s.DefaultRetries, "retries of a failing shard, and of the commit")
	f.Int32SliceVar(&s.NoRetry, "no-retry", []int32{k8s.ExitConfig}, "exit statuses that fail a shard without retry")
	f.StringVar(&s.CPU, "cpu", "", "CPU request and limit of each pod, e.g. 4 or 500m")
	f.StringVar(&s.Memory, "memory", "", "memory request and limit of each pod, e.g. 16Gi")
	f.DurationVar(&s.Wait, "wait", 0, "longest the commit job waits for the shards and commits (default no limit)")
	f.StringVar(&s.ServiceAccount, "service-account", "", "service account of the pods")
	f.StringSliceVar(&s.Secrets, "secret", nil, "Secret whose keys become environment variables (API keys); repeatable")
	f.StringToStringVar(&opts.env, "env", nil, "plain environment variable NAME=VALUE (no credentials: use --secret); repeatable")
	f.StringToStringVar(&s.NodeSelector, "node-selector", nil, "node label KEY=VALUE the pods must run on; repeatable")
	for _, name := range []string{"engine", "config", "out", "shards", "name", "image"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func submitRun(opts *submitOptions) error {
	if opts.engine != "k8s" {
		return fmt.Errorf("submit: --engine %q: want k8s", opts.engine)
	}
	if !opts.dryRun {
		return fmt.Errorf("submit: only --dry-run is supported; apply its output with kubectl apply -f -")
	}
	// The shards would fail on a bad config one by one; say it here, once.
	cfg, err := pipeline.LoadConfig(opts.config)
	if err != nil {
		return err
	}
	s := opts.spec
	if err := fitsMemory(cfg.MemoryBudget, s.Memory); err != nil {
		return err
	}
	if s.Config, err = os.ReadFile(opts.config); err != nil {
		return fmt.Errorf("submit: read config: %w", err)
	}
	s.Env = opts.env
	out, err := k8s.Manifests(s)
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	if _, err = opts.IO.Out.Write(out); err != nil {
		return fmt.Errorf("submit: write the manifests: %w", err)
	}
	return nil
}

// fitsMemory: the config's memory_budget is what a shard holds itself to,
// the pod's memory limit what the kernel holds it to; a budget above the
// limit ends in OOM kills instead of the run's own bound.
func fitsMemory(budget, limit string) error {
	if budget == "" || limit == "" {
		return nil
	}
	b, err := humanize.ParseBytes(budget)
	if err != nil {
		return nil // LoadConfig has checked it
	}
	l, err := resource.ParseQuantity(limit)
	if err != nil {
		return nil // Manifests says why
	}
	if b > uint64(l.Value()) {
		return fmt.Errorf("submit: memory_budget %s of the config is above --memory %s", budget, limit)
	}
	return nil
}
