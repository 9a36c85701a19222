package slurm

import (
	"strings"
	"testing"
)

func spec() Spec {
	return Spec{
		Name:    "v1",
		Command: []string{"/opt/miroverse/bin/miroverse"},
		Config:  []byte("seed: 7\n"),
		Root:    "/shared/out/v1",
		Shards:  4,
		Dir:     "/shared/work",
		JobsDir: "/shared/out/v1/jobs/v1",
	}
}

// The whole text of both scripts for a spec with every resource set: what
// sbatch reads, line for line.
func TestScripts(t *testing.T) {
	s := spec()
	s.Resources = Resources{Partition: "batch", Time: "12:00:00", CPUsPerTask: 4, Mem: "16G",
		Extra: []string{"--account=proj", "--qos=long"}}
	shards, err := ShardScript(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `#!/bin/sh
# 4 shards of miroverse run "v1" into /shared/out/v1; a task's shard is its SLURM_ARRAY_TASK_ID.
# Written by miroverse submit; the same submit command submits the run again, and its shards resume.
#SBATCH --job-name=v1-shards
#SBATCH --array=0-3
#SBATCH --output="/shared/out/v1/jobs/v1/shards-%A_%a.out"
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --chdir="/shared/work"
#SBATCH --partition=batch
#SBATCH --time=12:00:00
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --account=proj
#SBATCH --qos=long
exec /opt/miroverse/bin/miroverse run --config /shared/out/v1/jobs/v1/config.yaml --out /shared/out/v1 --shards 4
`
	if string(shards) != want {
		t.Errorf("shard script:\n%s\nwant:\n%s", shards, want)
	}
	commit, err := CommitScript(s, "123")
	if err != nil {
		t.Fatal(err)
	}
	want = `#!/bin/sh
# The global steps of miroverse run "v1", once every shard of array job 123 has completed.
# Written by miroverse submit; the same submit command submits the run again, and its shards resume.
#SBATCH --job-name=v1-commit
#SBATCH --dependency=afterok:123
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --output="/shared/out/v1/jobs/v1/commit-%j.out"
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --chdir="/shared/work"
#SBATCH --partition=batch
#SBATCH --time=12:00:00
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --account=proj
#SBATCH --qos=long
exec /opt/miroverse/bin/miroverse commit --out /shared/out/v1 --shards 4
`
	if string(commit) != want {
		t.Errorf("commit script:\n%s\nwant:\n%s", commit, want)
	}
}

// Each part of a spec reaches its line, and a resource left unset writes
// no line at all.
func TestScriptLines(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(*Spec)
		commit    bool // look at the commit script, not the shards'
		want, not []string
	}{
		{"array of N tasks", func(s *Spec) { s.Shards = 3 }, false,
			[]string{"#SBATCH --array=0-2\n", "--shards 3\n"}, []string{"--dependency", "--shard "}},
		{"one shard", func(s *Spec) { s.Shards = 1 }, false, []string{"#SBATCH --array=0-0\n"}, nil},
		{"requeue on both", nil, false, []string{"#SBATCH --requeue\n"}, []string{"--no-requeue"}},
		{"requeue on the commit", nil, true, []string{"#SBATCH --requeue\n"}, nil},
		{"dependency", nil, true,
			[]string{"#SBATCH --dependency=afterok:123\n", "#SBATCH --kill-on-invalid-dep=yes\n", "exec /opt/miroverse/bin/miroverse commit --out /shared/out/v1 --shards 4\n"},
			[]string{"--array"}},
		{"no resources, no lines", nil, false, nil, []string{"--partition", "--time", "--cpus-per-task", "--mem"}},
		{"partition", func(s *Spec) { s.Partition = "gpu,cpu" }, false, []string{"#SBATCH --partition=gpu,cpu\n"}, nil},
		{"time", func(s *Spec) { s.Time = "2-00:00:00" }, true, []string{"#SBATCH --time=2-00:00:00\n"}, nil},
		{"cpus", func(s *Spec) { s.CPUsPerTask = 8 }, false, []string{"#SBATCH --cpus-per-task=8\n"}, nil},
		{"mem", func(s *Spec) { s.Mem = "4096" }, false, []string{"#SBATCH --mem=4096\n"}, nil},
		{"extra lines in order, after the rest", func(s *Spec) { s.Mem = "1G"; s.Extra = []string{"--gres=gpu:1", `--comment="a b"`} }, true,
			[]string{"#SBATCH --mem=1G\n#SBATCH --gres=gpu:1\n#SBATCH --comment=\"a b\"\nexec "}, nil},
		{"paths with spaces", func(s *Spec) {
			s.Command = []string{"/opt/my tools/miroverse"}
			s.Dir, s.JobsDir, s.Root = "/shared/my work", "/shared/my out/jobs/v1", "/shared/my out"
		}, false, []string{
			`#SBATCH --chdir="/shared/my work"` + "\n",
			`#SBATCH --output="/shared/my out/jobs/v1/shards-%A_%a.out"` + "\n",
			`exec '/opt/my tools/miroverse' run --config '/shared/my out/jobs/v1/config.yaml' --out '/shared/my out' --shards 4` + "\n",
		}, nil},
		{"a quote and a percent sign", func(s *Spec) { s.JobsDir, s.Root = "/shared/100%/jobs", "/shared/it's" }, true, []string{
			`#SBATCH --output="/shared/100%%/jobs/commit-%j.out"` + "\n",
			`--out '/shared/it'\''s' --shards 4` + "\n",
		}, nil},
		{"an object-storage root with a query", func(s *Spec) { s.Root = "s3://bucket/v1?endpoint=http://127.0.0.1:9000&use_path_style=true" }, false,
			[]string{`--out 's3://bucket/v1?endpoint=http://127.0.0.1:9000&use_path_style=true' --shards 4`}, nil},
		{"a command with arguments", func(s *Spec) { s.Command = []string{"/tmp/miroverse.test", "-test.run=^TestHelper$", "--"} }, false,
			[]string{`exec /tmp/miroverse.test '-test.run=^TestHelper$' -- run --config`}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := spec()
			if tc.edit != nil {
				tc.edit(&s)
			}
			text, err := ShardScript(s)
			if tc.commit {
				text, err = CommitScript(s, "123")
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(text), w) {
					t.Errorf("script lacks %q:\n%s", w, text)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(string(text), n) {
					t.Errorf("script has %q:\n%s", n, text)
				}
			}
			// sbatch stops reading directives at the first command.
			lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
			for _, l := range lines[:len(lines)-1] {
				if !strings.HasPrefix(l, "#") {
					t.Errorf("line %q before the last is not a comment: a directive after it would be lost", l)
				}
			}
		})
	}
}

// A bad spec is refused with every fault named, and no script.
func TestBadSpecs(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Spec)
		want []string
	}{
		{"no shards", func(s *Spec) { s.Shards = 0 }, []string{"shards: 0: want 1 or more"}},
		{"negative shards", func(s *Spec) { s.Shards = -2 }, []string{"shards: -2"}},
		{"no name", func(s *Spec) { s.Name = "" }, []string{`name: "": want 1 to 64 letters`}},
		{"a name with a space", func(s *Spec) { s.Name = "my run" }, []string{`name: "my run"`}},
		{"a name with a slash", func(s *Spec) { s.Name = "../v1" }, []string{`name: "../v1"`}},
		{"a name too long", func(s *Spec) { s.Name = strings.Repeat("a", 65) }, []string{"name: "}},
		{"no command", func(s *Spec) { s.Command = nil }, []string{"command: empty"}},
		{"no config", func(s *Spec) { s.Config = nil }, []string{"config: empty"}},
		{"no root", func(s *Spec) { s.Root = " " }, []string{"out: empty"}},
		{"a line break in the root", func(s *Spec) { s.Root = "/out\n#SBATCH --x" }, []string{"out: ", "control character"}},
		{"relative jobs dir", func(s *Spec) { s.JobsDir = "out/jobs" }, []string{`jobs-dir: "out/jobs": want an absolute path`}},
		{"no working dir", func(s *Spec) { s.Dir = "" }, []string{"dir: empty"}},
		{"a double quote in a path", func(s *Spec) { s.Dir = `/shared/"x"` }, []string{`dir: "/shared/\"x\""`, "cannot carry"}},
		{"bad partition", func(s *Spec) { s.Partition = "a b" }, []string{`slurm: partition "a b"`}},
		{"bad time", func(s *Spec) { s.Time = "12h" }, []string{`time "12h": want minutes`}},
		{"negative cpus", func(s *Spec) { s.CPUsPerTask = -1 }, []string{"cpus_per_task -1"}},
		{"bad mem", func(s *Spec) { s.Mem = "16GiB" }, []string{`mem "16GiB": want a number`}},
		{"extra not an option", func(s *Spec) { s.Extra = []string{"account=proj"} }, []string{`extra[0] "account=proj": want an sbatch option`}},
		{"extra with a line break", func(s *Spec) { s.Extra = []string{"--account=a\nrm -rf /"} }, []string{"extra[0]", "control character"}},
		{"extra empty", func(s *Spec) { s.Extra = []string{" "} }, []string{"extra[0]: empty line"}},
		{"extra sets the array", func(s *Spec) { s.Extra = []string{"--array=0-9"} }, []string{`extra[0] "--array=0-9": miroverse submit sets --array itself`}},
		{"extra sets the dependency", func(s *Spec) { s.Extra = []string{"-d afterany:1"} }, []string{"sets -d (--dependency) itself"}},
		{"extra turns requeue off", func(s *Spec) { s.Extra = []string{"--no-requeue"} }, []string{"sets --no-requeue itself"}},
		{"extra sets a key's option", func(s *Spec) { s.Extra = []string{"--mem=4G", "-p", "x"} },
			[]string{`extra[0] "--mem=4G": set it with the key mem`, `extra[1] "-p": set it with the key partition`, `extra[2] "x"`}},
		{"all at once", func(s *Spec) { s.Shards, s.Name, s.Mem = 0, "", "x" }, []string{"shards: 0", "name: ", `mem "x"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := spec()
			tc.edit(&s)
			for which, f := range map[string]func(Spec) ([]byte, error){
				"shards": ShardScript, "commit": func(s Spec) ([]byte, error) { return CommitScript(s, "1") },
			} {
				text, err := f(s)
				if err == nil {
					t.Fatalf("%s script of a bad spec:\n%s", which, text)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error %q lacks %q", which, err, w)
					}
				}
			}
		})
	}
	if _, err := CommitScript(spec(), "12;x"); err == nil || !strings.Contains(err.Error(), `array job id "12;x"`) {
		t.Errorf("commit script after a bad job id: %v", err)
	}
}

func TestResources(t *testing.T) {
	good := []Resources{
		{}, {Time: "90"}, {Time: "90:30"}, {Time: "12:00:00"}, {Time: "2-12"}, {Time: "2-12:30"}, {Time: "2-12:30:00"},
		{Time: "UNLIMITED"}, {Mem: "0"}, {Mem: "512K"}, {Mem: "4T"}, {CPUsPerTask: 64}, {Partition: "a.b_c-d"},
		{Extra: []string{"--account=x", "--exclusive", "--gres=gpu:2", "--constraint=\"a&b\""}},
	}
	for _, r := range good {
		if err := r.Check(); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
	for _, tc := range []struct {
		mem  string
		want int64
	}{{"", 0}, {"0", 0}, {"100", 100 << 20}, {"100M", 100 << 20}, {"512K", 512 << 10}, {"16G", 16 << 30}, {"2T", 2 << 40}} {
		got, err := Resources{Mem: tc.mem}.MemBytes()
		if err != nil || got != tc.want {
			t.Errorf("mem %q: %d, %v; want %d", tc.mem, got, err, tc.want)
		}
	}
	if _, err := (Resources{Mem: "99999999999999T"}).MemBytes(); err == nil {
		t.Error("a mem past int64: no error")
	}
}

// IngestFirst's scripts: an ingest array over the streams, a resolve job
// after it, and the shards after the resolve job.
func TestIngestFirstScripts(t *testing.T) {
	s := spec()
	ingest, err := IngestScript(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"#SBATCH --job-name=v1-ingest\n", "#SBATCH --array=0-3\n", "#SBATCH --requeue\n",
		"exec /opt/miroverse/bin/miroverse ingest --config /shared/out/v1/jobs/v1/config.yaml --out /shared/out/v1 --shards 4\n"} {
		if !strings.Contains(string(ingest), want) {
			t.Errorf("ingest script lacks %q:\n%s", want, ingest)
		}
	}
	resolve, err := ResolveScript(s, "41")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"#SBATCH --job-name=v1-resolve\n", "#SBATCH --dependency=afterok:41\n", "#SBATCH --kill-on-invalid-dep=yes\n",
		"exec /opt/miroverse/bin/miroverse ingest --config /shared/out/v1/jobs/v1/config.yaml --out /shared/out/v1 --resolve --shards 4\n"} {
		if !strings.Contains(string(resolve), want) {
			t.Errorf("resolve script lacks %q:\n%s", want, resolve)
		}
	}
	if strings.Contains(string(resolve), "--array") {
		t.Errorf("the resolve job is one job, not an array:\n%s", resolve)
	}
	shards, err := shardScript(s, "42")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(shards), "#SBATCH --dependency=afterok:42\n#SBATCH --kill-on-invalid-dep=yes\n") {
		t.Errorf("the shards do not wait for the resolve job:\n%s", shards)
	}
	if plain, _ := ShardScript(s); strings.Contains(string(plain), "--dependency") {
		t.Errorf("without IngestFirst the shards wait for nothing:\n%s", plain)
	}
	if _, err := ResolveScript(s, "4;1"); err == nil || !strings.Contains(err.Error(), "want a number") {
		t.Errorf("a bad ingest job id: %v", err)
	}
}
