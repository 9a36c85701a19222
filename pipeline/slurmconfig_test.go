package pipeline

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/pipeline/submit/slurm"
)

func TestSlurmConfig(t *testing.T) {
	runConfigCases(t, []configCase{
		{name: "defaults: nothing asked", yaml: "seed: 1\n", check: func(t *testing.T, c Config) {
			if !reflect.DeepEqual(c.Slurm, SlurmConfig{}) {
				t.Errorf("slurm defaults %+v, want all empty", c.Slurm)
			}
		}},
		{name: "every key", yaml: "slurm:\n  partition: batch\n  time: \"2-00:00:00\"\n  cpus_per_task: 4\n  mem: 16G\n  extra:\n    - --account=proj\n    - --qos=long\n",
			check: func(t *testing.T, c Config) {
				want := SlurmConfig{Partition: "batch", Time: "2-00:00:00", CPUsPerTask: 4, Mem: "16G", Extra: []string{"--account=proj", "--qos=long"}}
				if !reflect.DeepEqual(c.Slurm, want) {
					t.Errorf("slurm %+v, want %+v", c.Slurm, want)
				}
				if r := c.Slurm.Resources(); r.Partition != "batch" || r.CPUsPerTask != 4 || len(r.Extra) != 2 {
					t.Errorf("resources %+v", r)
				}
			}},
		{name: "unknown key", yaml: "slurm:\n  requeue_exit: 75\n", wantErr: []string{"line 2", `"requeue_exit"`, "Slurm section"}},
		{name: "bad values, each named", yaml: "slurm:\n  time: 12h\n  mem: 16GiB\n  cpus_per_task: -1\n  extra: [\"--array=0-3\"]\n",
			wantErr: []string{`slurm.time "12h"`, `slurm.mem "16GiB"`, "slurm.cpus_per_task -1", `slurm.extra[0] "--array=0-3": miroverse submit sets --array itself`}},
	})
}

// TestSlurmSectionIsInNoFingerprint: a run whose config differs in its
// slurm section only is the same run to every stage: none runs again; only
// the manifest's config hash follows the config.
func TestSlurmSectionIsInNoFingerprint(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo pipeline twice")
	}
	cfg := DefaultConfig()
	cfg.Input.Paths = []string{"../corpus/demo/demowiki-pages-articles.xml"}
	cfg.Sample.Walks, cfg.Synthesize.Rollouts, cfg.Synthesize.PythonTools = 6, 2, false
	root := t.TempDir()
	stages := []string{StageIngest, StageSample, StageQA, StageSynthesize, StageJudge, StageExport}
	run := func(c Config) (map[string]string, string) {
		t.Helper()
		r, err := Open(t.Context(), c, root, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if err := r.RunAll(t.Context()); err != nil {
			t.Fatal(err)
		}
		fps := map[string]string{}
		for _, s := range stages {
			if fps[s], _, err = r.state.Fingerprint(t.Context(), s); err != nil {
				t.Fatal(err)
			}
		}
		return fps, r.Manifest().ConfigHash
	}
	before, hashBefore := run(cfg)
	cfg.Slurm = SlurmConfig{Partition: "batch", Time: "1:00:00", CPUsPerTask: 2, Mem: "4G", Extra: []string{"--account=x"}}
	after, hashAfter := run(cfg)
	for _, s := range stages {
		if before[s] == "" || before[s] != after[s] {
			t.Errorf("stage %s: fingerprint %q, then %q with another slurm section; want one, unchanged", s, before[s], after[s])
		}
	}
	if hashBefore == hashAfter {
		t.Errorf("config hash %s did not follow the slurm section", hashBefore)
	}
}

// TestSlurmExample keeps configs/slurm: example.yaml loads, and the
// scripts its README shows are what submit writes for it.
func TestSlurmExample(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("..", "configs", "slurm", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "configs", "slurm", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := slurm.Spec{
		Name: "enwiki-v1", Command: []string{"/shared/bin/miroverse"}, Config: data, Root: "/shared/out/enwiki-v1",
		Shards: 16, Dir: "/shared/work", JobsDir: "/shared/out/enwiki-v1/jobs/enwiki-v1", Resources: cfg.Slurm.Resources(),
	}
	shards, err := slurm.ShardScript(s)
	if err != nil {
		t.Fatal(err)
	}
	commit, err := slurm.CommitScript(s, "1001")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join("..", "configs", "slurm", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string][]byte{slurm.ShardScriptFile: shards, slurm.CommitScriptFile: commit} {
		if block := "```sh\n" + string(text) + "```\n"; !strings.Contains(string(readme), block) {
			t.Errorf("configs/slurm/README.md lacks %s as submit writes it for example.yaml:\n%s", name, block)
		}
	}
}
