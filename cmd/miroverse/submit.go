package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/miroverse/miroverse/internal/blobroot"
	"github.com/miroverse/miroverse/pipeline"
	"github.com/miroverse/miroverse/pipeline/submit/k8s"
	"github.com/miroverse/miroverse/pipeline/submit/slurm"
)

// submitOptions are the flags of `submit`: the engine, what both engines
// take (config, root, shards, name; kept in spec), and each engine's own.
type submitOptions struct {
	g      *globalFlags
	engine string
	config string
	wait   waitFlag
	// k8s
	dryRun bool
	env    map[string]string
	spec   k8s.Spec
	// slurm
	jobsDir string
	binary  string
}

// engineFlags are the flags only one engine takes; given to the other,
// they are an error rather than silently ignored.
var engineFlags = map[string][]string{
	"k8s": {"dry-run", "parallelism", "namespace", "image", "claim", "retries", "no-retry", "cpu", "memory",
		"service-account", "secret", "env", "node-selector"},
	"slurm": {"jobs-dir", "binary"},
}

func newSubmitCmd(g *globalFlags) *cobra.Command {
	opts := &submitOptions{g: g}
	cmd := &cobra.Command{
		Use:   "submit --engine slurm|k8s --config FILE --out ROOT --shards N [flags]",
		Short: "Run the pipeline as N shards on a cluster's scheduler (Slurm, Kubernetes)",
		Long: "Run the pipeline as N shard tasks of a cluster's own scheduler: each task runs\n" +
			"`miroverse run --shards N` on its own shard, then one job runs `miroverse commit` for the global steps.\n\n" +
			"--engine slurm: writes the batch scripts and a copy of the config (which the jobs read) to ROOT/jobs/NAME,\n" +
			"or to --jobs-dir (required for an s3:// or gs:// root: sbatch needs them on a shared filesystem), submits\n" +
			"one array job of N tasks (--array=0-(N-1), --requeue; a task's shard is its SLURM_ARRAY_TASK_ID) and a\n" +
			"commit job after it (--dependency=afterok), and prints their ids. The jobs run the binary that submits\n" +
			"them (or --binary) in the current directory, with its environment. Partition, time limit, CPUs, memory\n" +
			"and further #SBATCH lines come from the config's slurm section. --wait follows both jobs to their end\n" +
			"and prints the dataset summary; it fails naming the job that did not complete. See configs/slurm/README.md.\n\n" +
			"--engine k8s: a ConfigMap with the config, an Indexed Job of N shards (a pod's shard is its\n" +
			"JOB_COMPLETION_INDEX; evictions are retried without counting, exit status " + strconv.Itoa(k8s.ExitConfig) + " fails a shard at once)\n" +
			"and a commit Job that waits for the shards' output in ROOT, applied with kubectl apply -f -; --dry-run\n" +
			"prints them instead, with no cluster or credentials needed. Credentials go in Secrets named with\n" +
			"--secret, never in the manifests. See configs/k8s/README.md.",
		Example: "  miroverse submit --engine slurm --config run.yaml --out /shared/out/v1 --shards 16 --name v1 --wait\n" +
			"  miroverse submit --engine slurm --config run.yaml --out s3://bucket/v1 --jobs-dir /shared/jobs/v1 --shards 16\n" +
			"  miroverse submit --engine k8s --dry-run --config run.yaml --out /data/out/v1 --claim miroverse-data \\\n" +
			"    --shards 16 --parallelism 8 --name v1 --image REGISTRY/miroverse:v1 --secret miroverse-llm \\\n" +
			"    --cpu 4 --memory 16Gi > run.yaml",
		// `--wait 12h` (k8s) leaves 12h as an argument: --wait may also
		// stand alone (slurm). submitRun takes it back.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return submitRun(cmd, opts, args) },
	}
	f, s := cmd.Flags(), &opts.spec
	f.StringVar(&opts.engine, "engine", "", "the cluster's scheduler: slurm or k8s")
	f.StringVar(&opts.config, "config", "", "run config (YAML) the shards read; see configs/demo.yaml")
	f.StringVar(&s.Root, "out", "", "output root of the dataset version, shared by every shard (s3://, gs://, or a path every node or pod sees)")
	f.Int32Var(&s.Shards, "shards", 0, "number of shard tasks")
	f.StringVar(&s.Name, "name", "", "run name: the jobs' name prefix (k8s: and run label; slurm: default run-TIME)")
	f.Var(&opts.wait, "wait", "slurm: follow the jobs until they end and print the summary; k8s: `DURATION` the commit job may wait for the shards and commit (default no limit)")
	f.Lookup("wait").NoOptDefVal = waitFollow
	f.StringVar(&opts.jobsDir, "jobs-dir", "", "slurm: directory on a shared filesystem for the scripts, the config copy and the logs (default ROOT/jobs/NAME)")
	f.StringVar(&opts.binary, "binary", "", "slurm: the miroverse binary the jobs run, as the nodes see it (default this one)")
	f.BoolVar(&opts.dryRun, "dry-run", false, "k8s: print the manifests instead of applying them")
	f.Int32Var(&s.Parallelism, "parallelism", 0, "k8s: shards running at once (default all)")
	f.StringVar(&s.Namespace, "namespace", "", "k8s: namespace of the objects (default kubectl's)")
	f.StringVar(&s.Image, "image", "", "k8s: container image with miroverse on its PATH")
	f.StringVar(&s.Claim, "claim", "", "k8s: ReadWriteMany PersistentVolumeClaim mounted at "+k8s.ClaimPath+" (inputs, a local --out)")
	f.Int32Var(&s.Retries, "retries", k8s.DefaultRetries, "k8s: retries of a failing shard, and of the commit")
	f.Int32SliceVar(&s.NoRetry, "no-retry", []int32{k8s.ExitConfig}, "k8s: exit statuses that fail a shard without retry")
	f.StringVar(&s.CPU, "cpu", "", "k8s: CPU request and limit of each pod, e.g. 4 or 500m")
	f.StringVar(&s.Memory, "memory", "", "k8s: memory request and limit of each pod, e.g. 16Gi")
	f.StringVar(&s.ServiceAccount, "service-account", "", "k8s: service account of the pods")
	f.StringSliceVar(&s.Secrets, "secret", nil, "k8s: Secret whose keys become environment variables (API keys); repeatable")
	f.StringToStringVar(&opts.env, "env", nil, "k8s: plain environment variable NAME=VALUE (no credentials: use --secret); repeatable")
	f.StringToStringVar(&s.NodeSelector, "node-selector", nil, "k8s: node label KEY=VALUE the pods must run on; repeatable")
	for _, name := range []string{"engine", "config", "out", "shards"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

// waitFollow is what a bare --wait sets.
const waitFollow = "follow"

// waitFlag is --wait: with --engine slurm a switch (follow the jobs), with
// --engine k8s the commit Job's time limit, a duration.
type waitFlag struct {
	follow bool          // --wait alone
	limit  time.Duration // --wait=DURATION
	raw    string        // the duration as given
}

func (w *waitFlag) String() string { return w.raw }
func (w *waitFlag) Type() string   { return "duration" }

func (w *waitFlag) Set(v string) error {
	if v == waitFollow {
		w.follow, w.limit, w.raw = true, 0, ""
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("want a duration such as 12h (k8s), or nothing (slurm)")
	}
	w.follow, w.limit, w.raw = false, d, v
	return nil
}

func submitRun(cmd *cobra.Command, opts *submitOptions, args []string) error {
	if err := opts.checkFlags(cmd, args); err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	// The shards would fail on a bad config one by one; say it here, once.
	cfg, err := pipeline.LoadConfig(opts.config)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(opts.config)
	if err != nil {
		return fmt.Errorf("submit: read config: %w", err)
	}
	if opts.engine == "slurm" {
		return submitSlurm(cmd.Context(), opts, cfg, data)
	}
	return submitK8s(cmd.Context(), opts, cfg, data)
}

// checkFlags checks the flags against the engine: its required ones, none
// of the other engine's, and --wait in the engine's form.
func (opts *submitOptions) checkFlags(cmd *cobra.Command, args []string) error {
	other := ""
	switch opts.engine {
	case "slurm":
		other = "k8s"
	case "k8s":
		other = "slurm"
	default:
		return fmt.Errorf("--engine %q: want slurm or k8s", opts.engine)
	}
	for _, name := range engineFlags[other] {
		if cmd.Flags().Changed(name) {
			return fmt.Errorf("--%s is a flag of --engine %s, not of --engine %s", name, other, opts.engine)
		}
	}
	if len(args) > 0 && opts.engine == "k8s" && opts.wait.follow {
		if err := opts.wait.Set(args[0]); err != nil {
			return fmt.Errorf("--wait %q: %w", args[0], err)
		}
		args = args[1:]
	}
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q: submit takes flags only", args[0])
	}
	switch {
	case opts.engine == "k8s" && opts.wait.follow:
		return fmt.Errorf("--engine k8s: --wait takes a duration, the longest the commit job waits (e.g. --wait 12h)")
	case opts.engine == "slurm" && cmd.Flags().Changed("wait") && !opts.wait.follow:
		return fmt.Errorf("--engine slurm: --wait takes no value: it follows the jobs until they end")
	}
	if opts.engine == "k8s" {
		var missing []string
		for _, name := range []string{"image", "name"} {
			if !cmd.Flags().Changed(name) {
				missing = append(missing, strconv.Quote(name))
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("--engine k8s: required flag(s) %s not set", strings.Join(missing, ", "))
		}
	}
	return nil
}

// submitK8s prints the manifests (--dry-run) or applies them with kubectl.
func submitK8s(ctx context.Context, opts *submitOptions, cfg pipeline.Config, data []byte) error {
	s := opts.spec
	if err := fitsMemory(cfg.MemoryBudget, s.Memory); err != nil {
		return err
	}
	s.Config, s.Env, s.Wait = data, opts.env, opts.wait.limit
	out, err := k8s.Manifests(s)
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	streams := opts.g.IO
	if opts.dryRun {
		if _, err = streams.Out.Write(out); err != nil {
			return fmt.Errorf("submit: write the manifests: %w", err)
		}
		return nil
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		return fmt.Errorf("submit: kubectl is not on PATH: install kubectl (configured for the cluster), or print the manifests with --dry-run and apply them yourself")
	}
	c := exec.CommandContext(ctx, kubectl, "apply", "-f", "-")
	c.Stdin, c.Stdout, c.Stderr = bytes.NewReader(out), streams.Out, streams.ErrOut
	if err := c.Run(); err != nil {
		return fmt.Errorf("submit: kubectl apply -f - (the manifests of run %q): %w", s.Name, err)
	}
	return nil
}

// submitSlurm writes the scripts, submits the jobs, prints where they are
// and, with --wait, follows them and prints the summary.
func submitSlurm(ctx context.Context, opts *submitOptions, cfg pipeline.Config, data []byte) error {
	name := opts.spec.Name
	if name == "" {
		name = "run-" + time.Now().UTC().Format("20060102-150405")
	}
	root, jobsDir, err := slurmPaths(opts.spec.Root, opts.jobsDir, name)
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	command, err := slurmBinary(opts.binary)
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	if err := fitsSlurmMemory(cfg.MemoryBudget, cfg.Slurm.Resources()); err != nil {
		return err
	}
	dir, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("submit: the jobs' working directory: %w", err)
	}
	jobs, err := slurm.Submit(ctx, slurm.Spec{
		Name: name, Command: command, Config: data, Root: root, Shards: int(opts.spec.Shards),
		Dir: dir, JobsDir: jobsDir, Resources: cfg.Slurm.Resources(),
		// The shards share one Neo4j database: it is filled first, over the
		// dumps' streams, and resolved once.
		IngestFirst: cfg.Graph.Backend == "neo4j",
	})
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	out := opts.g.IO.Out
	fmt.Fprintf(out, "scripts %s\n", jobs.Dir)
	if jobs.Ingest != "" {
		fmt.Fprintf(out, "ingest job %s\nresolve job %s\n", jobs.Ingest, jobs.Resolve)
	}
	fmt.Fprintf(out, "array job %s\ncommit job %s\n", jobs.Array, jobs.Commit)
	if !opts.wait.follow {
		return nil
	}
	log, err := opts.g.logger()
	if err != nil {
		return err
	}
	if err := slurm.Wait(ctx, jobs, 0, log); err != nil {
		if ctx.Err() != nil {
			// The jobs go on without us; running submit again now would
			// be refused while they are queued.
			fmt.Fprintf(opts.g.IO.ErrOut, "submit: stopped following; the jobs go on (squeue -j %s,%s)\n", jobs.Array, jobs.Commit)
		}
		return fmt.Errorf("submit: %w", err)
	}
	summary, err := datasetSummary(ctx, root)
	if err != nil {
		return fmt.Errorf("submit: the jobs completed, but: %w", err)
	}
	_, err = fmt.Fprint(out, summary)
	return err
}

// slurmPaths resolves the root the jobs write (a local path made absolute,
// since the jobs' directory may differ from the caller's) and the
// directory of the scripts: --jobs-dir, else ROOT/jobs/NAME for a local
// root. Object storage holds no script that sbatch could read.
func slurmPaths(root, jobsDir, name string) (string, string, error) {
	local, isLocal := blobroot.LocalDir(root)
	switch scheme, _, isURL := strings.Cut(root, "://"); {
	case !isURL:
		abs, err := filepath.Abs(root)
		if err != nil {
			return "", "", fmt.Errorf("--out %s: %w", root, err)
		}
		root, local = abs, abs
	case scheme == "file" && !isLocal:
		return "", "", fmt.Errorf("--out %s: a file URL takes an absolute path on this machine, file:///dir", root)
	case scheme != "file" && scheme != "s3" && scheme != "gs":
		return "", "", fmt.Errorf("--out %s: scheme %q is not one of file, s3, gs, or a plain path", root, scheme)
	}
	if jobsDir != "" {
		abs, err := filepath.Abs(jobsDir)
		if err != nil {
			return "", "", fmt.Errorf("--jobs-dir %s: %w", jobsDir, err)
		}
		return root, abs, nil
	}
	if local == "" {
		return "", "", fmt.Errorf("--out %s is in object storage, but sbatch reads the batch scripts from a filesystem: give --jobs-dir, a directory every node of the cluster sees", root)
	}
	return root, filepath.Join(local, "jobs", name), nil
}

// slurmBinary is the command the jobs run: --binary (made absolute when
// it is a path, left to the nodes' PATH when it is a bare name), else the
// running binary.
func slurmBinary(binary string) ([]string, error) {
	if binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("the path of this binary, for the jobs to run (give --binary): %w", err)
		}
		return []string{exe}, nil
	}
	if !strings.Contains(binary, "/") {
		return []string{binary}, nil
	}
	abs, err := filepath.Abs(binary)
	if err != nil {
		return nil, fmt.Errorf("--binary %s: %w", binary, err)
	}
	return []string{abs}, nil
}

// datasetSummary is what `submit --wait` prints once the commit job has
// completed: the root's manifest (a local or an object-storage root),
// rendered as `inspect` does.
func datasetSummary(ctx context.Context, root string) (string, error) {
	m, err := pipeline.LoadManifest(ctx, root)
	if err != nil {
		return "", err
	}
	return pipeline.Summary(m, root), nil
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

// fitsSlurmMemory is fitsMemory for the job's --mem (slurm.mem), which
// Slurm enforces where the cluster's task plugin confines memory.
func fitsSlurmMemory(budget string, r slurm.Resources) error {
	limit, err := r.MemBytes()
	if budget == "" || err != nil || limit == 0 {
		return nil // no limit, or all of a node ("0"); LoadConfig has checked both values
	}
	b, err := humanize.ParseBytes(budget)
	if err != nil {
		return nil
	}
	if b > uint64(limit) {
		return fmt.Errorf("submit: memory_budget %s of the config is above slurm.mem %s", budget, r.Mem)
	}
	return nil
}
