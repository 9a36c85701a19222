package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miroverse/miroverse/pipeline/submit/k8s"
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
		{"another engine", []string{"--engine", "slurm"}, `--engine "slurm": want k8s`},
		{"not a dry run", []string{"--dry-run=false", ""}, "only --dry-run is supported"},
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
