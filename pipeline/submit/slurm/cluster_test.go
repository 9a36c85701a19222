package slurm

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miroverse/miroverse/internal/testenv"
)

// These tests submit real jobs to the cluster of scripts/slurm (SLURM_CONF;
// run them under scripts/with-slurm). The "binary" is a shell script
// standing in for miroverse: they check the engine's plumbing (scripts,
// array, dependency, requeue, Wait), not the pipeline.

func needSlurm(t *testing.T) {
	t.Helper()
	testenv.Need(t, "SLURM_CONF", "start the cluster with scripts/slurm start (or run under scripts/with-slurm) and export the line it prints")
	for _, c := range []string{"sbatch", "scontrol", "scancel"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("SLURM_CONF is set but %s is not on PATH: %v", c, err)
		}
	}
}

// fake writes the stand-in binary into dir. `run` writes
// out/task-<id>.txt with the task's id, count, restart count and
// arguments, then its end time; task <failTask> exits 3, and task
// <stallTask> on its first run writes out/started-<id> and sleeps, to be
// requeued. `commit` lists the task files it finds and its start time in
// out/commit.txt.
func fake(t *testing.T, dir, out string, failTask, stallTask int) string {
	t.Helper()
	script := fmt.Sprintf(`#!/bin/sh
out=%s
cmd=$1; shift
case $cmd in
run)
	id=$SLURM_ARRAY_TASK_ID
	[ "$id" = %d ] && { echo "task $id fails" >&2; exit 3; }
	[ "$id" = %d ] && [ "${SLURM_RESTART_COUNT:-0}" = 0 ] && { touch "$out/started-$id"; exec sleep 600; }
	sleep 1
	printf '%%s %%s %%s %%s\n%%s\n' "$id" "$SLURM_ARRAY_TASK_COUNT" "${SLURM_RESTART_COUNT:-0}" "$cmd $*" "$(date +%%s.%%N)" >"$out/task-$id.txt"
	;;
commit)
	start=$(date +%%s.%%N)
	{ (cd "$out" && ls task-*.txt | tr '\n' ' '); echo; echo "$* $(pwd)"; echo "$start"; } >"$out/commit.txt"
	;;
*) exit 64 ;;
esac
`, shellQuote(out), failTask, stallTask)
	path := filepath.Join(dir, "fake miroverse")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// clusterSpec is a run of n shards whose paths all hold spaces.
func clusterSpec(t *testing.T, name string, n, failTask, stallTask int) (Spec, string) {
	base := filepath.Join(t.TempDir(), "a run")
	out := filepath.Join(base, "out")
	for _, d := range []string{out, filepath.Join(base, "work dir")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return Spec{
		Name:    name,
		Command: []string{fake(t, base, out, failTask, stallTask)},
		Config:  []byte("seed: 7\n"),
		Root:    filepath.Join(base, "root dir"),
		Shards:  n,
		Dir:     filepath.Join(base, "work dir"),
		JobsDir: filepath.Join(base, "jobs dir", name),
	}, out
}

func submitted(t *testing.T, s Spec) Jobs {
	t.Helper()
	j, err := Submit(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = slurmCmd(context.Background(), "scancel", j.Array, j.Commit)
	})
	t.Logf("array job %s, commit job %s, scripts in %s", j.Array, j.Commit, j.Dir)
	return j
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// Three tasks each see their own shard and the count, get the arguments of
// `run` with the config copy; one is requeued while it runs (as when its
// node is lost) and runs again; the commit job starts after every task has
// ended, and Wait returns nil.
func TestSubmitAndWait(t *testing.T) {
	needSlurm(t)
	t.Parallel()
	const n = 3
	s, out := clusterSpec(t, "it-ok", n, -1, 2)
	j := submitted(t, s)
	ctx := waitCtx(t)
	waited := make(chan error, 1)
	go func() { waited <- Wait(ctx, j, 500*time.Millisecond, testLogger(t)) }()
	for {
		if _, err := os.Stat(filepath.Join(out, "started-2")); err == nil {
			break
		}
		select {
		case err := <-waited:
			t.Fatalf("Wait returned %v before task 2 was requeued", err)
		case <-ctx.Done():
			t.Fatalf("task 2 did not start: %v\n%s", ctx.Err(), logs(j.Dir))
		case <-time.After(200 * time.Millisecond):
		}
	}
	if _, err := slurmCmd(ctx, "scontrol", "requeue", j.Array+"_2"); err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatalf("Wait: %v\n%s", err, logs(j.Dir))
	}

	config := filepath.Join(s.JobsDir, ConfigFile)
	if got, err := os.ReadFile(config); err != nil || string(got) != string(s.Config) {
		t.Errorf("config copy %q, %v; want %q", got, err, s.Config)
	}
	var lastEnd float64
	for i := range n {
		b, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("task-%d.txt", i)))
		if err != nil {
			t.Fatalf("task %d: %v\n%s", i, err, logs(j.Dir))
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		restarts := "0"
		if i == 2 {
			restarts = "1"
		}
		want := fmt.Sprintf("%d %d %s run --config %s --out %s --shards %d", i, n, restarts, config, s.Root, n)
		if len(lines) != 2 || lines[0] != want {
			t.Errorf("task %d wrote %q, want first line %q", i, b, want)
			continue
		}
		end, _ := strconv.ParseFloat(lines[1], 64)
		lastEnd = max(lastEnd, end)
	}
	b, err := os.ReadFile(filepath.Join(out, "commit.txt"))
	if err != nil {
		t.Fatalf("commit: %v\n%s", err, logs(j.Dir))
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		t.Fatalf("commit wrote %q", b)
	}
	if want := "task-0.txt task-1.txt task-2.txt"; strings.TrimSpace(lines[0]) != want {
		t.Errorf("commit saw task files %q, want %q", lines[0], want)
	}
	if want := fmt.Sprintf("--out %s --shards %d %s", s.Root, n, s.Dir); lines[1] != want {
		t.Errorf("commit ran with %q, want %q", lines[1], want)
	}
	if start, _ := strconv.ParseFloat(lines[2], 64); start < lastEnd {
		t.Errorf("commit started at %.3f, before the last task ended at %.3f", start, lastEnd)
	}
	for _, f := range []string{ShardScriptFile, CommitScriptFile, "shards-" + j.Array + "_0.out", "commit-" + j.Commit + ".out"} {
		if _, err := os.Stat(filepath.Join(j.Dir, f)); err != nil {
			t.Errorf("jobs dir: %v", err)
		}
	}

	// While a submission's jobs are queued, another from the same directory
	// is refused.
	held, err := slurmCmd(t.Context(), "sbatch", "--parsable", "--hold", "--wrap", "true")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = slurmCmd(context.Background(), "scancel", held) })
	if err := os.WriteFile(filepath.Join(j.Dir, submittedFile), []byte("999999 "+held+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Submit(t.Context(), s); err == nil || !strings.Contains(err.Error(), "still has job "+held+" PENDING") {
		t.Errorf("a resubmission while a job of the last one is pending: %v", err)
	}
	if _, err := slurmCmd(t.Context(), "scancel", held); err != nil {
		t.Fatal(err)
	}

	// The same name with another config is refused, with the same one reused.
	other := s
	other.Config = []byte("seed: 8\n")
	if _, err := Submit(t.Context(), other); err == nil || !strings.Contains(err.Error(), "holds another config") {
		t.Errorf("resubmit with another config: %v", err)
	}
}

// A task that fails makes Wait fail, naming the array job, the task, its
// state and its log; the commit job never runs.
func TestWaitReportsAFailedTask(t *testing.T) {
	needSlurm(t)
	t.Parallel()
	s, out := clusterSpec(t, "it-fail", 2, 1, -1)
	j := submitted(t, s)
	err := Wait(waitCtx(t), j, 500*time.Millisecond, testLogger(t))
	if err == nil {
		t.Fatal("Wait returned nil for an array with a failing task")
	}
	for _, want := range []string{
		"array job " + j.Array + " did not complete", "task 1 FAILED, exit code 3:0",
		filepath.Join(j.Dir, "shards-"+j.Array+"_1.out"), "commit job " + j.Commit + " does not run",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if b, rerr := os.ReadFile(filepath.Join(j.Dir, "shards-"+j.Array+"_1.out")); rerr != nil || !strings.Contains(string(b), "task 1 fails") {
		t.Errorf("log of the failed task: %q, %v", b, rerr)
	}
	// Slurm cancels the commit job, whose dependency can never be met.
	if err := Wait(waitCtx(t), Jobs{Array: j.Commit, Dir: j.Dir}, 500*time.Millisecond, nil); err == nil || !strings.Contains(err.Error(), "CANCELLED") {
		t.Errorf("the commit job: %v, want CANCELLED", err)
	}
	if _, err := os.Stat(filepath.Join(out, "commit.txt")); err == nil {
		t.Error("the commit job ran after a failed task")
	}
}

// A context that ends stops Wait with its error.
func TestWaitStopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := Wait(ctx, Jobs{Array: "1", Commit: "2"}, time.Millisecond, nil); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("Wait after cancel: %v", err)
	}
	if err := Wait(t.Context(), Jobs{Array: "1;x"}, time.Millisecond, nil); err == nil || !strings.Contains(err.Error(), "not a job id") {
		t.Errorf("Wait for a bad id: %v", err)
	}
}

// logs is every job log of a jobs directory, for a failure's message.
func logs(dir string) string {
	var b strings.Builder
	paths, _ := filepath.Glob(filepath.Join(dir, "*.out"))
	for _, p := range paths {
		data, _ := os.ReadFile(p)
		fmt.Fprintf(&b, "--- %s\n%s", p, data)
	}
	return b.String()
}
