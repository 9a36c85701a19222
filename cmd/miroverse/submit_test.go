package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miroverse/miroverse/internal/testenv"
	"github.com/miroverse/miroverse/pipeline/submit/k8s"
	"github.com/miroverse/miroverse/pipeline/submit/slurm"
)

// TestSubmitK8s: the flags of `submit --engine k8s --dry-run` reach the
// spec, and what it prints is the k8s package's manifests for that spec
// (whose tests decode them strictly); a bad config, a credential passed as
// a plain variable or a memory budget above the limit stop it first.
func TestSubmitK8s(t *testing.T) {
	config := filepath.Join("configs", "demo.yaml")
	args := []string{"submit", "--engine", "k8s", "--dry-run", "--config", config, "--out", "s3://bucket/v1",
		"--shards", "4", "--parallelism", "2", "--name", "demo", "--image", "miroverse:dev", "--namespace", "batch",
		"--secret", "llm-keys", "--secret", "s3-keys", "--env", "AWS_REGION=eu-central-1", "--node-selector", "pool=batch",
		"--cpu", "2", "--memory", "4Gi", "--wait", "12h", "--service-account", "runner", "--retries", "5", "--no-retry", "64,78"}
	stdout, _ := run(t, args...)
	data, err := os.ReadFile(filepath.Join(repoRoot(t), config))
	if err != nil {
		t.Fatal(err)
	}
	want, err := k8s.Manifests(k8s.Spec{
		Name: "demo", Namespace: "batch", Image: "miroverse:dev", Config: data, Root: "s3://bucket/v1",
		Shards: 4, Parallelism: 2, Retries: 5, NoRetry: []int32{64, 78}, CPU: "2", Memory: "4Gi", Wait: 12 * time.Hour,
		ServiceAccount: "runner", Secrets: []string{"llm-keys", "s3-keys"},
		Env: map[string]string{"AWS_REGION": "eu-central-1"}, NodeSelector: map[string]string{"pool": "batch"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(want) {
		t.Errorf("submit printed:\n%s\nwant:\n%s", stdout, want)
	}

	// The defaults: 3 retries, exit status 78 not retried.
	stdout, _ = run(t, "submit", "--engine", "k8s", "--dry-run", "--config", config, "--out", "s3://bucket/v1",
		"--shards", "4", "--name", "demo", "--image", "miroverse:dev")
	if !strings.Contains(stdout, "backoffLimitPerIndex: 3\n") || !strings.Contains(stdout, "values:\n        - 78\n") {
		t.Errorf("defaults missing:\n%s", stdout)
	}

	bad := writeTemp(t, "bad.yaml", []byte("seed: 1\nsampel:\n  walks: 3\n"))
	big := writeTemp(t, "big.yaml", []byte("memory_budget: 8GiB\n"))
	tests := []struct {
		name string
		edit []string // flag, value pairs replacing or added to args
		want string
	}{
		{"another engine", []string{"--engine", "nomad"}, `--engine "nomad": want slurm or k8s`},
		{"a flag of the other engine", []string{"--jobs-dir", "/shared/jobs"}, "--jobs-dir is a flag of --engine slurm, not of --engine k8s"},
		{"--wait with a bad duration", []string{"--wait", "soon"}, `--wait "soon": want a duration`},
		{"a stray argument", []string{"extra", ""}, `unexpected argument "extra"`},
		{"misspelt config key", []string{"--config", bad}, `unknown key "sampel"`},
		{"a credential in plain sight", []string{"--env", "MIROVERSE_LLM_API_KEY=sk-test"}, "MIROVERSE_LLM_API_KEY looks like a credential"},
		{"a budget above the limit", []string{"--config", big}, "memory_budget 8GiB of the config is above --memory 4Gi"},
		{"local root without a claim", []string{"--out", "/data/out/v1"}, "local to each pod"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := append([]string{}, args...)
			for i := 0; i < len(tc.edit); i += 2 {
				flag, value := tc.edit[i], tc.edit[i+1]
				if j := indexOf(a, flag); j >= 0 && value != "" {
					a[j+1] = value
				} else if value == "" {
					a = append(a, flag)
				} else {
					a = append(a, flag, value)
				}
			}
			res := runCLI(t, invocation{args: a})
			if res.code != exitError || !strings.Contains(res.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", res.code, res.stderr, tc.want)
			}
			if res.stdout != "" || strings.Contains(res.stderr, "sk-test") {
				t.Errorf("stdout %q, stderr %q: want nothing printed and no secret repeated", res.stdout, res.stderr)
			}
		})
	}
}

func indexOf(args []string, flag string) int {
	for i, a := range args {
		if a == flag {
			return i
		}
	}
	return -1
}

// submitArgs are the flags of a k8s submission that needs nothing more.
var submitArgs = []string{"submit", "--engine", "k8s", "--config", filepath.Join("configs", "demo.yaml"), "--out", "s3://bucket/v1",
	"--shards", "2", "--name", "demo", "--image", "miroverse:dev"}

// TestSubmitK8sApply: without --dry-run the manifests go to kubectl apply
// -f - on its stdin, and kubectl's output to ours; without kubectl on PATH
// the error says what to do, and nothing is printed.
func TestSubmitK8sApply(t *testing.T) {
	want, err := os.ReadFile(filepath.Join(repoRoot(t), "configs", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	manifests, err := k8s.Manifests(k8s.Spec{Name: "demo", Image: "miroverse:dev", Config: want, Root: "s3://bucket/v1",
		Shards: 2, Retries: k8s.DefaultRetries, NoRetry: []int32{k8s.ExitConfig}})
	if err != nil {
		t.Fatal(err)
	}

	bin := t.TempDir()
	got := filepath.Join(t.TempDir(), "stdin")
	kubectl := "#!/bin/sh\n/bin/cat >" + got + "\necho \"kubectl $*\"\n"
	if err := os.WriteFile(filepath.Join(bin, "kubectl"), []byte(kubectl), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	stdout, _ := run(t, submitArgs...)
	if stdout != "kubectl apply -f -\n" {
		t.Errorf("stdout %q, want kubectl's own output", stdout)
	}
	if b, err := os.ReadFile(got); err != nil || string(b) != string(manifests) {
		t.Errorf("kubectl read %q (%v), want the manifests:\n%s", b, err, manifests)
	}

	t.Setenv("PATH", t.TempDir())
	res := runCLI(t, invocation{args: submitArgs})
	if res.code != exitError || res.stdout != "" || !strings.Contains(res.stderr, "kubectl is not on PATH: install kubectl") ||
		!strings.Contains(res.stderr, "--dry-run") {
		t.Errorf("without kubectl: exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}
	// --dry-run needs no kubectl.
	if stdout, _ := run(t, append(submitArgs, "--dry-run")...); stdout != string(manifests) {
		t.Errorf("--dry-run printed:\n%s", stdout)
	}
	res = runCLI(t, invocation{args: append(submitArgs, "--dry-run", "--wait")})
	if res.code != exitError || !strings.Contains(res.stderr, "--engine k8s: --wait takes a duration") {
		t.Errorf("k8s with a bare --wait: exit %d, stderr %q", res.code, res.stderr)
	}
}

// TestSubmitSlurmBadInput: what is wrong with a Slurm submission is said
// before anything is written or submitted (no cluster is needed).
func TestSubmitSlurmBadInput(t *testing.T) {
	config := filepath.Join("configs", "demo.yaml")
	badSlurm := writeTemp(t, "slurm.yaml", []byte("slurm:\n  time: 12h\n  extra: [\"--array=0-9\"]\n"))
	big := writeTemp(t, "big.yaml", []byte("memory_budget: 8GiB\nslurm:\n  mem: 4G\n"))
	root := t.TempDir()
	base := []string{"submit", "--engine", "slurm", "--config", config, "--out", root, "--shards", "2", "--name", "t"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"object storage without a jobs dir", []string{"--out", "s3://bucket/v1"}, "--out s3://bucket/v1 is in object storage, but sbatch reads the batch scripts from a filesystem: give --jobs-dir"},
		{"gs too", []string{"--out", "gs://bucket/v1"}, "give --jobs-dir"},
		{"an unknown scheme", []string{"--out", "ftp://host/v1"}, `scheme "ftp" is not one of file, s3, gs`},
		{"a flag of k8s", []string{"--image", "miroverse:dev"}, "--image is a flag of --engine k8s, not of --engine slurm"},
		{"dry run is k8s's", []string{"--dry-run"}, "--dry-run is a flag of --engine k8s"},
		{"--wait with a duration", []string{"--wait=12h"}, "--engine slurm: --wait takes no value"},
		{"a stray argument", []string{"--wait", "12h"}, `unexpected argument "12h"`},
		{"no shards", []string{"--shards", "0"}, "shards: 0: want 1 or more"},
		{"a bad name", []string{"--name", "my run"}, `name: "my run"`},
		{"a bad slurm section", []string{"--config", badSlurm}, `slurm.time "12h"`},
		{"a budget above the job's memory", []string{"--config", big}, "memory_budget 8GiB of the config is above slurm.mem 4G"},
		{"a missing required flag", []string{"--shards", ""}, `required flag(s) "shards" not set`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := append([]string{}, base...)
			for i := 0; i < len(tc.args); i++ {
				flag := tc.args[i]
				value := ""
				if i+1 < len(tc.args) && !strings.HasPrefix(tc.args[i+1], "--") {
					value = tc.args[i+1]
					i++
				}
				j := indexOf(a, flag)
				switch {
				case j >= 0 && value == "":
					a = append(a[:j], a[j+2:]...) // drop the flag
				case j >= 0:
					a[j+1] = value
				case value == "":
					a = append(a, flag)
				default:
					a = append(a, flag, value)
				}
			}
			res := runCLI(t, invocation{args: a})
			if res.code != exitError || !strings.Contains(res.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", res.code, res.stderr, tc.want)
			}
			if res.stdout != "" {
				t.Errorf("stdout %q, want nothing", res.stdout)
			}
			if entries, _ := os.ReadDir(root); len(entries) > 0 {
				t.Errorf("the root holds %v after a refused submission", entries)
			}
		})
	}
}

// TestSubmitSlurmWait submits to the real cluster of scripts/slurm (run
// under scripts/with-slurm) with a stand-in binary: the CLI's plumbing,
// flags to scripts, the printed ids, --wait and the summary at the end.
// The stand-in's `commit` writes a small manifest; that a submitted run
// gives the rows of a one-process run is the pipeline's test, not this.
func TestSubmitSlurmWait(t *testing.T) {
	testenv.Need(t, "SLURM_CONF", "start the cluster with scripts/slurm start (or run under scripts/with-slurm) and export the line it prints")
	dir := filepath.Join(t.TempDir(), "with space")
	root := filepath.Join(dir, "out")
	fake := filepath.Join(dir, "miroverse")
	script := `#!/bin/sh
cmd=$1; shift
case $cmd in
run) echo "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT $*" >"$4.task-$SLURM_ARRAY_TASK_ID" ;;
commit) [ -f "$2.task-0" ] && [ -f "$2.task-1" ] || exit 1
	printf '{"format_version":1,"config_hash":"0123456789abcdef","seed":7,"stages":{"export":{"in":5,"kept":5,"counts":{"sft_rows":5,"dpo_pairs":2},"complete":true}}}\n' >"$2/manifest.json" ;;
esac
`
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	config := writeTemp(t, "run.yaml", []byte("seed: 7\nslurm:\n  time: \"10\"\n  extra: [\"--comment=miroverse-test\"]\n"))
	stdout, _ := run(t, "submit", "--engine", "slurm", "--config", config, "--out", root, "--shards", "2", "--name", "t1",
		"--binary", fake, "--wait", "-q")
	jobs := filepath.Join(root, "jobs", "t1")
	var array, commit string
	if _, err := fmt.Sscanf(stdout, "scripts "+jobs+"\narray job %s\ncommit job %s\n", &array, &commit); err != nil {
		t.Fatalf("stdout %q: %v", stdout, err)
	}
	t.Cleanup(func() { _ = exec.Command("scancel", array, commit).Run() })
	for _, want := range []string{"dataset version " + root + " (config 0123456789ab", "  SFT rows    5\n", "  DPO pairs   2\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if b, err := os.ReadFile(filepath.Join(jobs, slurm.ConfigFile)); err != nil || !strings.Contains(string(b), "miroverse-test") {
		t.Errorf("config copy: %q, %v", b, err)
	}
	for i := range 2 {
		want := fmt.Sprintf("%d/2 --config %s --out %s --shards 2\n", i, filepath.Join(jobs, slurm.ConfigFile), root)
		if b, err := os.ReadFile(fmt.Sprintf("%s.task-%d", root, i)); err != nil || string(b) != want {
			t.Errorf("task %d: %q, %v; want %q", i, b, err, want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(jobs, slurm.ShardScriptFile)); err != nil ||
		!strings.Contains(string(b), "#SBATCH --time=10\n#SBATCH --comment=miroverse-test\n") {
		t.Errorf("shard script without the config's slurm section: %q, %v", b, err)
	}
}
