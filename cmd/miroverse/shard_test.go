package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"gocloud.dev/blob/fileblob"

	"github.com/miroverse/miroverse/internal/blobtest"
	"github.com/miroverse/miroverse/internal/testenv"
	"github.com/miroverse/miroverse/pipeline"
	"github.com/miroverse/miroverse/pipeline/journal"
	"github.com/miroverse/miroverse/pipeline/shard"
	"github.com/miroverse/miroverse/pipeline/submit/k8s"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/trajectory/export"
)

// crossShardDuplicates is the qa.inject lines that make questions of the
// demo near duplicates of questions another of n shards owns, both ways
// round: the copy's id above the original's (the copy loses) and below it
// (the original, which its own shard judged and ran, loses). The
// near-duplicate decision then needs every shard's questions, which only
// the commit step has. originals are the walks of the second kind.
func crossShardDuplicates(t *testing.T, n int) (inject string, originals map[string]bool) {
	t.Helper()
	var kept []pipeline.QARow
	for _, r := range readQA(t, demo(t)) {
		if r.Status == qa.StatusKept {
			kept = append(kept, r)
		}
	}
	var lines []string
	used, originals := map[string]bool{}, map[string]bool{}
	for i, a := range kept {
		for _, b := range kept[i+1:] {
			if used[a.ID] || used[b.ID] || shard.Of(a.ID, n) == shard.Of(b.ID, n) {
				continue
			}
			// a's id is below b's: "b copies a" makes the copy b lose; "a
			// copies b" makes the original b lose to its lower-id copy.
			if len(lines)%2 == 0 {
				lines = append(lines, fmt.Sprintf("    %s: \"duplicate:%s\"", b.WalkID, a.WalkID))
			} else {
				lines = append(lines, fmt.Sprintf("    %s: \"duplicate:%s\"", a.WalkID, b.WalkID))
				originals[b.WalkID] = true
			}
			used[a.ID], used[b.ID] = true, true
			if len(lines) == 6 {
				return strings.Join(lines, "\n") + "\n", originals
			}
		}
	}
	t.Fatalf("the demo has too few kept questions on distinct shards for 6 duplicates (%d made)", len(lines))
	return "", nil
}

// shardRun starts `run --shard I/N` of cfg into root with its own cache dir.
func shardRun(t *testing.T, cfg, root, cache string, s shard.Spec, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary(t), "run", "--config", cfg, "--out", root, "--shard", s.String(), "--cache-dir", cache, "--quiet")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// runShards runs the given shards of n at once and fails on any error.
func runShards(t *testing.T, cfg, root, cacheBase string, n int, which []int, env ...string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]string, n)
	for _, i := range which {
		cmd := shardRun(t, cfg, root, filepath.Join(cacheBase, fmt.Sprint(i)), shard.Spec{Index: i, Count: n}, env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cmd.Run(); err != nil {
				errs[i] = fmt.Sprintf("shard %d/%d: %v\n%s", i, n, err, out.String())
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Fatal(e)
		}
	}
}

// journalRecords counts the items a shard has committed for a stage (its
// journal's segments and snapshot), read from the root as an operator
// would.
func journalRecords(root string, s shard.Spec, stage string) int {
	dirs, _ := filepath.Glob(filepath.Join(root, pipeline.ShardDir(s), "checkpoints", "items", stage, "*"))
	if len(dirs) == 0 {
		return 0
	}
	b, err := fileblob.OpenBucket(dirs[0], nil)
	if err != nil {
		return 0
	}
	defer b.Close()
	j, err := journal.Open(context.Background(), b, "")
	if err != nil {
		return 0
	}
	return len(j.IDs())
}

// killShardMidStage starts shard s and kills it (SIGKILL: nothing runs on
// the way out) once it has committed n items of stage.
func killShardMidStage(t *testing.T, cfg, root, cache string, s shard.Spec, stage string, n int) {
	t.Helper()
	cmd := shardRun(t, cfg, root, cache, s)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(2 * time.Minute)
	for journalRecords(root, s, stage) < n {
		select {
		case err := <-done:
			t.Fatalf("shard %s ended before %s committed %d items (%v):\n%s", s, stage, n, err, out.String())
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("shard %s: %s committed no %d items in 2 minutes", s, stage, n)
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-done
	if m, err := pipeline.ReadManifest(filepath.Join(root, pipeline.ShardDir(s))); err == nil && m.Stages[stage] != nil && m.Stages[stage].Complete {
		t.Fatalf("shard %s had finished %s before the kill", s, stage)
	}
}

// compareManifests asserts the counts of every stage match: items in each
// end state by reason, the stages' own counts and the tokens. Timings and
// memory are the machine's, not the data's.
func compareManifests(t *testing.T, a, b *pipeline.Manifest) {
	t.Helper()
	for _, s := range pipeline.Stages {
		x, y := a.Stages[s], b.Stages[s]
		if x == nil || y == nil {
			t.Errorf("stage %s: missing from a manifest (%v, %v)", s, x != nil, y != nil)
			continue
		}
		strip := func(st pipeline.StageStats) pipeline.StageStats {
			st.Seconds, st.PeakRSSBytes, st.PeakRSSScope, st.MemoryBudgetBytes = 0, 0, "", 0
			counts := map[string]int64{}
			for k, v := range st.Counts {
				if k != "llm_millis" {
					counts[k] = v
				}
			}
			st.Counts = counts
			return st
		}
		if !reflect.DeepEqual(strip(*x), strip(*y)) {
			xb, _ := json.Marshal(strip(*x))
			yb, _ := json.Marshal(strip(*y))
			t.Errorf("stage %s counts differ:\n%s\n%s", s, xb, yb)
		}
	}
	for _, dir := range []string{"subgraphs", "qa", "trajectories", "sft/data", "dpo/data"} {
		if a.Outputs[dir] == nil || b.Outputs[dir] == nil || a.Outputs[dir].Rows != b.Outputs[dir].Rows {
			t.Errorf("outputs %s differ: %+v vs %+v", dir, a.Outputs[dir], b.Outputs[dir])
		}
	}
	if a.ConfigHash != b.ConfigHash || !reflect.DeepEqual(a.Prompts, b.Prompts) || a.ToolSchemaHash != b.ToolSchemaHash {
		t.Errorf("hashes differ: config %s/%s, prompts %v/%v, tools %s/%s", a.ConfigHash, b.ConfigHash, a.Prompts, b.Prompts, a.ToolSchemaHash, b.ToolSchemaHash)
	}
}

// sameVersion asserts that root holds the rows and counts of ref and
// returns both manifests.
func sameVersion(t *testing.T, ref, root string) (refM, m *pipeline.Manifest) {
	t.Helper()
	compareRoots(t, ref, root)
	refM, err := pipeline.ReadManifest(ref)
	if err != nil {
		t.Fatal(err)
	}
	if m, err = pipeline.ReadManifest(root); err != nil {
		t.Fatal(err)
	}
	compareManifests(t, refM, m)
	return refM, m
}

// neo4jFatwiki is the config of the Neo4j shard tests: the fatwiki
// multistream dump (its streams are what a sharded ingest splits),
// transactional loads, 40 walks.
func neo4jFatwiki(t *testing.T) string {
	t.Helper()
	dump := filepath.Join(sharedData(t), "wiki", "fatwiki-20240920-pages-articles-multistream.xml.bz2")
	return demoConfig(t, fmt.Sprintf("seed: 7\ninput:\n  paths: [%q]\ngraph:\n  backend: neo4j\n  load: transactional\nsample:\n  walks: 40\n", dump))
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// One process against 4 shard processes and a commit: the same rows, card
// and counts, with near duplicates that cross shards, one shard killed
// mid-synthesize and finished on another "node" (a fresh cache dir, so it
// resumes from the root alone), and a commit refused while a shard is
// missing.
func TestShardedRunMatchesOneProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	const n = 4
	inject, originals := crossShardDuplicates(t, n)
	cfg := demoConfig(t, "llm:\n  oracle:\n    delay: 10ms\nqa:\n  inject:\n"+inject)
	ref := filepath.Join(t.TempDir(), "one")
	run(t, "run", "--config", cfg, "--out", ref, "--quiet")
	copies, lost := 0, 0
	for _, r := range readQA(t, ref) {
		if r.Reason == qa.ReasonNearDuplicate {
			copies++
			if originals[r.WalkID] {
				lost++
			}
		}
	}
	if copies < 3 || lost < 1 {
		t.Fatalf("the one-process run rejected %d near duplicates, %d of them originals; the test needs 3 and 1", copies, lost)
	}

	tmp := t.TempDir()
	root, caches := filepath.Join(tmp, "sharded"), filepath.Join(tmp, "cache")
	runShards(t, cfg, root, caches, n, []int{0, 2, 3})
	killed := shard.Spec{Index: 1, Count: n}
	killShardMidStage(t, cfg, root, filepath.Join(caches, "1"), killed, pipeline.StageSynthesize, 3)

	// A commit now names the unfinished shard and publishes nothing.
	res := runCLI(t, invocation{args: []string{"commit", "--out", root, "--shards", fmt.Sprint(n)}})
	if res.code == 0 || !strings.Contains(res.stderr, "shard 1/4: unfinished") {
		t.Fatalf("commit with shard 1 unfinished: exit %d, stderr:\n%s", res.code, res.stderr)
	}
	for _, p := range []string{"manifest.json", "README.md", "sft", "qa"} {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			t.Errorf("a refused commit published %s", p)
		}
	}

	// A commit that waits for the shards, started before the last one is.
	waiting := exec.Command(binary(t), "commit", "--out", root, "--shards", fmt.Sprint(n), "--wait", "--poll", "100ms", "--quiet")
	var waitOut bytes.Buffer
	waiting.Stdout, waiting.Stderr = &waitOut, &waitOut
	if err := waiting.Start(); err != nil {
		t.Fatal(err)
	}
	// The killed shard starts again on another node: nothing of its first
	// cache is there.
	runShards(t, cfg, root, filepath.Join(tmp, "node2"), n, []int{1})
	if err := waiting.Wait(); err != nil {
		t.Fatalf("commit --wait: %v\n%s", err, waitOut.String())
	}
	if !strings.Contains(waitOut.String(), "SFT rows") {
		t.Errorf("commit --wait printed no dataset summary:\n%s", waitOut.String())
	}
	_, m := sameVersion(t, ref, root)
	// Every finished stage's checkpoints are one snapshot: what the next
	// open and the commit read instead of a segment per item.
	segs, _ := filepath.Glob(filepath.Join(root, "shards", "*", "checkpoints", "items", "*", "*", "seg-*.jsonl"))
	snaps, _ := filepath.Glob(filepath.Join(root, "shards", "*", "checkpoints", "items", "*", "*", "snap-*.jsonl"))
	if len(segs) != 0 || len(snaps) < n*4 {
		t.Errorf("finished shards left %d segments and %d snapshots; want none and one per stage", len(segs), len(snaps))
	}
	if m.Shards != n {
		t.Errorf("manifest shards %d, want %d", m.Shards, n)
	}
	if a, b := readFile(t, filepath.Join(ref, "README.md")), readFile(t, filepath.Join(root, "README.md")); a != b {
		t.Errorf("the cards differ:\n%s\n---\n%s", a, b)
	}

	// Committing again rebuilds the very same version.
	before := hashDir(t, filepath.Join(root, "sft", "data"))
	run(t, "commit", "--out", root, "--shards", fmt.Sprint(n), "--quiet")
	if after := hashDir(t, filepath.Join(root, "sft", "data")); strings.Join(before, ",") != strings.Join(after, ",") {
		t.Errorf("a second commit changed sft/data: %v → %v", before, after)
	}
	compareRoots(t, ref, root)
}

// A sharded run into object storage (the real S3-compatible server of
// scripts/s3) gives the rows of one local process, and pyarrow reads the
// SFT shards straight from the bucket.
func TestShardedRunIntoS3(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	b, prefix := blobtest.Open(t)
	url := blobtest.RootURL(t, prefix+"v1")
	ref := demo(t)
	const n = 2
	tmp := t.TempDir()
	runShards(t, filepath.Join(repoRoot(t), "configs", "demo.yaml"), url, filepath.Join(tmp, "cache"), n, []int{0, 1})
	run(t, "commit", "--out", url, "--shards", fmt.Sprint(n), "--cache-dir", filepath.Join(tmp, "commit"), "--quiet")

	// Bring the published version down, key by key, and compare.
	local := filepath.Join(tmp, "download")
	ctx := context.Background()
	it := b.List(nil)
	keys := 0
	for {
		obj, err := it.Next(ctx)
		if err != nil {
			break
		}
		rel, ok := strings.CutPrefix(obj.Key, prefix+"v1/")
		if !ok || strings.HasPrefix(rel, "shards/") {
			continue
		}
		data, err := b.ReadAll(ctx, obj.Key)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(local, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		keys++
	}
	if keys == 0 {
		t.Fatalf("nothing published under %s", url)
	}
	compareRoots(t, ref, local)
	refM, err := pipeline.ReadManifest(ref)
	if err != nil {
		t.Fatal(err)
	}
	m, err := pipeline.LoadManifest(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	compareManifests(t, refM, m)

	// The graph is not in the bucket but in the shards' caches: export-graph
	// finds it there for a root in object storage.
	out, _ := runBinary(t, []string{pipeline.CacheEnv + "=" + filepath.Join(tmp, "cache", "0")},
		"export-graph", "--format", "jsonl", "--root", url, "--dir", filepath.Join(tmp, "jsonl"))
	if want := fmt.Sprintf("wrote %d documents", refM.Graph.Docs); !strings.Contains(out, want) {
		t.Errorf("export-graph of the S3 root: %q, want %q", out, want)
	}

	bucket, endpoint := blobtest.Endpoint(t)
	py := python(t)
	script := filepath.Join(repoRoot(t), "scripts", "s3check.py")
	cmd := exec.Command(py, script, "--endpoint", endpoint, "--bucket", bucket, "--prefix", prefix, "--dataset", prefix+"v1/sft/data")
	cmd.Stderr = os.Stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	var res struct {
		Datasets map[string]struct {
			Rows    int      `json:"rows"`
			Columns []string `json:"columns"`
			IDs     []string `json:"ids"`
		} `json:"datasets"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("s3check.py output %q: %v", raw, err)
	}
	got := res.Datasets[prefix+"v1/sft/data"]
	var want []string
	files, _ := filepath.Glob(filepath.Join(ref, "sft", "data", "*.parquet"))
	for _, f := range files {
		rows, err := parquet.ReadFile[export.SFTRow](f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			want = append(want, r.ID)
		}
	}
	sort.Strings(want)
	if got.Rows != int(refM.Outputs["sft/data"].Rows) || strings.Join(got.IDs, ",") != strings.Join(want, ",") {
		t.Errorf("pyarrow read %d SFT rows %v from the bucket; the local run has %d: %v", got.Rows, got.IDs, refM.Outputs["sft/data"].Rows, want)
	}
}

// Bad placements of a sharded run: each a clear error that says what to
// do, with nothing published.
func TestShardBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	s3 := blobtest.URL(t)
	_, endpoint := blobtest.Endpoint(t)
	unreachable := strings.Replace(s3, strings.TrimPrefix(endpoint, "http://"), "127.0.0.1:1", 1)
	noCreds := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			noCreds = append(noCreds, kv)
		}
	}
	// No shared or default credential files either.
	noCreds = append(noCreds, "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(t.TempDir(), "none"), "AWS_CONFIG_FILE="+filepath.Join(t.TempDir(), "none"), "AWS_EC2_METADATA_DISABLED=true")
	dir := t.TempDir()
	halfRun := filepath.Join(dir, "half")
	// Shard 0 of 2 alone: the commit must name shard 1 as missing.
	runShards(t, filepath.Join(repoRoot(t), "configs", "demo.yaml"), halfRun, filepath.Join(dir, "cache"), 2, []int{0})

	for _, c := range []struct {
		name string
		env  []string
		args []string
		want []string
		root string // must hold no published version afterwards
	}{
		{"shard out of range", nil, []string{"run", "--config", "configs/demo.yaml", "--out", filepath.Join(dir, "a"), "--shard", "4/4"},
			[]string{"shard 4/4", "0..3"}, filepath.Join(dir, "a")},
		{"shard and shards disagree", nil, []string{"run", "--config", "configs/demo.yaml", "--out", filepath.Join(dir, "b"), "--shard", "1/4", "--shards", "3"},
			[]string{"disagree"}, filepath.Join(dir, "b")},
		{"shards without an index", nil, []string{"run", "--config", "configs/demo.yaml", "--out", filepath.Join(dir, "c"), "--shards", "3"},
			[]string{"--shard I/3"}, filepath.Join(dir, "c")},
		{"commit with a shard missing", nil, []string{"commit", "--out", halfRun, "--shards", "2"},
			[]string{"shard 1/2: missing", "nothing was published", "--shard I/2"}, halfRun},
		{"unreachable bucket", nil, []string{"run", "--config", "configs/demo.yaml", "--out", unreachable, "--shard", "0/2", "--cache-dir", dir},
			[]string{"not reachable", "endpoint"}, ""},
		{"missing credentials", noCreds, []string{"run", "--config", "configs/demo.yaml", "--out", s3, "--shard", "0/2", "--cache-dir", dir},
			[]string{"not reachable", "AWS_ACCESS_KEY_ID"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(binary(t), c.args...)
			cmd.Dir = repoRoot(t)
			cmd.Env = c.env
			if cmd.Env == nil {
				cmd.Env = os.Environ()
			}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if err == nil {
				t.Fatalf("miroverse %s succeeded:\n%s", strings.Join(c.args, " "), out.String())
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("the error does not say %q:\n%s", w, out.String())
				}
			}
			if c.root != "" {
				for _, p := range []string{"manifest.json", "README.md", "sft", "qa", "trajectories"} {
					if _, err := os.Stat(filepath.Join(c.root, p)); err == nil {
						t.Errorf("%s was published", p)
					}
				}
			}
		})
	}
}

// The pods of `submit --engine k8s` name their cache dir with the variable
// the pipeline reads.
func TestK8sCacheEnvIsThePipelines(t *testing.T) {
	if k8s.CacheEnv != pipeline.CacheEnv {
		t.Errorf("k8s pods set %s, the pipeline reads %s", k8s.CacheEnv, pipeline.CacheEnv)
	}
}

// `submit --engine slurm --shards 3 --wait` on the real one-node cluster
// of scripts/slurm gives the rows of one process, though one task is
// cancelled mid-synthesize and requeued (scontrol requeue: Slurm kills it
// and runs it again, as after a preemption or a node failure).
func TestSubmitSlurmMatchesOneProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	testenv.Need(t, "SLURM_CONF", "start the cluster with scripts/slurm start (or run under scripts/with-slurm) and export the line it prints")
	const n = 3
	// A slower oracle, so that the requeue lands while the task works.
	cfg := demoConfig(t, "llm:\n  oracle:\n    delay: 20ms\n")
	ref := filepath.Join(t.TempDir(), "one")
	run(t, "run", "--config", cfg, "--out", ref, "--quiet")

	dir := t.TempDir()
	root := filepath.Join(dir, "out")
	// The jobs inherit the environment of the submitting process.
	t.Setenv(pipeline.CacheEnv, filepath.Join(dir, "cache"))
	done := make(chan result, 1)
	go func() {
		done <- runCLI(t, invocation{args: []string{"submit", "--engine", "slurm", "--config", cfg, "--out", root,
			"--shards", fmt.Sprint(n), "--name", "e2e", "--binary", binary(t), "--wait", "--quiet"}})
	}()
	victim := shard.Spec{Index: 1, Count: n}
	deadline := time.After(5 * time.Minute)
	for journalRecords(root, victim, pipeline.StageSynthesize) < 3 {
		select {
		case res := <-done:
			t.Fatalf("submit ended before shard %s reached synthesize: exit %d\n%s\n%s", victim, res.code, res.stdout, res.stderr)
		case <-deadline:
			t.Fatalf("shard %s did not reach synthesize in 5 minutes", victim)
		case <-time.After(20 * time.Millisecond):
		}
	}
	array := arrayJobID(t, filepath.Join(root, "jobs", "e2e"))
	if out, err := exec.Command("scontrol", "requeue", fmt.Sprintf("%s_%d", array, victim.Index)).CombinedOutput(); err != nil {
		t.Fatalf("scontrol requeue: %v: %s", err, out)
	}
	before := journalRecords(root, victim, pipeline.StageSynthesize)
	var res result
	select {
	case res = <-done:
	case <-time.After(10 * time.Minute):
		t.Fatal("submit --wait did not return in 10 minutes")
	}
	if res.code != 0 {
		t.Fatalf("submit --wait: exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "SFT rows") {
		t.Errorf("submit --wait printed no dataset summary:\n%s", res.stdout)
	}
	if after := journalRecords(root, victim, pipeline.StageSynthesize); after <= before {
		t.Errorf("the requeued task committed nothing after the requeue (%d items before, %d after)", before, after)
	}
	sameVersion(t, ref, root)
}

// arrayJobID reads the array job's id from what submit left in the jobs dir.
func arrayJobID(t *testing.T, jobs string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(jobs, "submitted"))
	if err != nil {
		t.Fatalf("the jobs dir has no record of the submitted jobs: %v", err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		t.Fatalf("%s/submitted is empty", jobs)
	}
	return f[0]
}

// With the Neo4j backend the ingest itself is split: two tasks read a
// slice each of the fatwiki multistream dump's streams into the one
// database, one resolution step follows, then two shards run and a
// commit publishes: the rows of one process that ingested the same dump
// into the same database. Before the resolution, a shard refuses to start.
func TestShardedNeo4jIngestMatchesOneProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	uri := neo4jOrSkip(t)
	cfg := neo4jFatwiki(t)
	emptyNeo4j(t, uri)
	ref := filepath.Join(t.TempDir(), "one")
	run(t, "run", "--config", cfg, "--out", ref, "--quiet")

	emptyNeo4j(t, uri)
	tmp := t.TempDir()
	root := filepath.Join(tmp, "sharded")
	const n = 2
	res := runCLI(t, invocation{args: []string{"run", "--config", cfg, "--out", root, "--shard", "0/2", "--cache-dir", filepath.Join(tmp, "c"), "--quiet"}})
	if res.code == 0 || !strings.Contains(res.stderr, "--resolve --shards 2") {
		t.Fatalf("a shard on an empty database: exit %d, stderr:\n%s", res.code, res.stderr)
	}
	slice := func(i int) {
		if o := runBinaryResult(t, "ingest", "--config", cfg, "--out", root, "--shard", fmt.Sprintf("%d/%d", i, n),
			"--cache-dir", filepath.Join(tmp, "cache", fmt.Sprint(i)), "--quiet"); o.code != 0 {
			t.Fatalf("ingest --shard %d/%d: exit %d\n%s", i, n, o.code, o.stderr)
		}
	}
	slice(0)
	res = runCLI(t, invocation{args: []string{"ingest", "--config", cfg, "--out", root, "--resolve", "--shards", "2", "--quiet"}})
	if res.code == 0 || !strings.Contains(res.stderr, "shard 1/2 has not run") || strings.Contains(res.stderr, "shard 0/2") {
		t.Fatalf("resolve with slice 1 unread: exit %d, stderr:\n%s", res.code, res.stderr)
	}
	slice(1)
	run(t, "ingest", "--config", cfg, "--out", root, "--resolve", "--shards", "2", "--quiet")
	runShards(t, cfg, root, filepath.Join(tmp, "cache"), n, []int{0, 1})
	run(t, "commit", "--out", root, "--shards", fmt.Sprint(n), "--quiet")
	refM, _ := sameVersion(t, ref, root)
	// Each slice read part of the dump, and together all of it.
	whole := refM.Stages[pipeline.StageIngest].In
	var sum int64
	for i := range n {
		in := sliceIn(t, root, i, n)
		if in == 0 || in >= whole {
			t.Errorf("slice %d of %d read %d pages; the whole dump has %d", i, n, in, whole)
		}
		sum += in
	}
	if sum != whole {
		t.Errorf("the slices read %d pages together; the dump has %d", sum, whole)
	}
}

func sliceIn(t *testing.T, root string, i, n int) int64 {
	t.Helper()
	m, err := pipeline.ReadManifest(filepath.Join(root, "shards", fmt.Sprintf("%d-of-%d", i, n)))
	if err != nil {
		t.Fatal(err)
	}
	return m.Stages["ingest-read"].In
}

// runBinaryResult runs the built binary from the repository root and
// returns how it ended.
func runBinaryResult(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = repoRoot(t)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	return result{stdout: o.String(), stderr: e.String(), code: code}
}

// `submit --engine slurm` of a Neo4j run on the real cluster: the ingest
// array over the dump's streams, the resolve job, the shards and the
// commit, chained by afterok, give the rows of one process.
func TestSubmitSlurmNeo4jMatchesOneProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	uri := neo4jOrSkip(t)
	testenv.Need(t, "SLURM_CONF", "start the cluster with scripts/slurm start (or run under scripts/with-slurm) and export the line it prints")
	cfg := neo4jFatwiki(t)
	emptyNeo4j(t, uri)
	ref := filepath.Join(t.TempDir(), "one")
	run(t, "run", "--config", cfg, "--out", ref, "--quiet")
	emptyNeo4j(t, uri)

	dir := t.TempDir()
	root := filepath.Join(dir, "out")
	t.Setenv(pipeline.CacheEnv, filepath.Join(dir, "cache"))
	out, _ := run(t, "submit", "--engine", "slurm", "--config", cfg, "--out", root, "--shards", "2", "--name", "neo",
		"--binary", binary(t), "--wait", "--quiet")
	for _, want := range []string{"ingest job ", "resolve job ", "array job ", "commit job ", "SFT rows"} {
		if !strings.Contains(out, want) {
			t.Errorf("submit printed no %q:\n%s", want, out)
		}
	}
	refM, _ := sameVersion(t, ref, root)
	for i := range 2 {
		if in := sliceIn(t, root, i, 2); in == 0 || in >= refM.Stages[pipeline.StageIngest].In {
			t.Errorf("ingest task %d read %d of the dump's %d pages", i, in, refM.Stages[pipeline.StageIngest].In)
		}
	}
}
