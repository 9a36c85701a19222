package slurmtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miroverse/miroverse/internal/testenv"
)

// waitTimeout bounds each wait for a job: the jobs here take seconds, but a
// requeued one waits for its old processes to be killed and for the
// scheduler's next pass.
const waitTimeout = 3 * time.Minute

// needSlurm skips the test without a cluster, or fails it under CI.
func needSlurm(t *testing.T) {
	t.Helper()
	testenv.Need(t, "SLURM_CONF", "start the cluster with scripts/slurm start (or run under scripts/with-slurm) and export the line it prints")
	for _, c := range []string{"sbatch", "squeue", "scontrol", "scancel"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("SLURM_CONF is set but %s is not on PATH: %v", c, err)
		}
	}
}

// command runs a Slurm client command and returns its trimmed stdout.
func command(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := command(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var jobIDRe = regexp.MustCompile(`^[0-9]+$`)

// submit runs sbatch --parsable in dir with args and returns the job id.
// Each job's output goes to dir/slurm-<job id>.out; a job still queued or
// running when the test ends is cancelled.
func submit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	base := []string{"--parsable", "--chdir=" + dir, "--output=" + filepath.Join(dir, "slurm-%j.out")}
	out := run(t, "sbatch", append(base, args...)...)
	id, _, _ := strings.Cut(out, ";")
	if !jobIDRe.MatchString(id) {
		t.Fatalf("sbatch --parsable printed %q, not a job id", out)
	}
	t.Cleanup(func() { _, _ = command("scancel", id) })
	return id
}

var fieldRe = regexp.MustCompile(`(\S+?)=(\S*)`)

// records returns `scontrol show job ID`, one map of fields per job record:
// for an array, one per task (and one for the tasks still pending together).
func records(t *testing.T, id string) []map[string]string {
	t.Helper()
	out := run(t, "scontrol", "-o", "show", "job", id)
	var recs []map[string]string
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		rec := map[string]string{}
		for _, m := range fieldRe.FindAllStringSubmatch(line, -1) {
			if _, dup := rec[m[1]]; !dup {
				rec[m[1]] = m[2]
			}
		}
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		t.Fatalf("scontrol show job %s printed no job", id)
	}
	return recs
}

var terminal = map[string]bool{
	"COMPLETED": true, "FAILED": true, "CANCELLED": true, "TIMEOUT": true, "NODE_FAIL": true,
	"OUT_OF_MEMORY": true, "BOOT_FAIL": true, "DEADLINE": true, "PREEMPTED": true,
}

// waitDone polls until squeue no longer lists the job (accounting is off,
// so there is no sacct) and every record scontrol keeps of it has ended;
// it returns those records.
func waitDone(t *testing.T, id string) []map[string]string {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		queued := run(t, "squeue", "-h", "-j", id, "-o", "%i %T")
		if queued == "" {
			recs := records(t, id)
			ended := true
			for _, r := range recs {
				ended = ended && terminal[r["JobState"]]
			}
			if ended {
				return recs
			}
		}
		if time.Now().After(deadline) {
			out, _ := command("scontrol", "show", "job", id)
			t.Fatalf("job %s not done after %v; squeue: %q\n%s", id, waitTimeout, queued, out)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// byTask indexes array task records by ArrayTaskId and checks that each of
// tasks ran to COMPLETED with exit code 0.
func byTask(t *testing.T, recs []map[string]string, tasks int) map[int]map[string]string {
	t.Helper()
	m := map[int]map[string]string{}
	for _, r := range recs {
		i, err := strconv.Atoi(r["ArrayTaskId"])
		if err != nil {
			t.Fatalf("record without a single ArrayTaskId: %v", r)
		}
		m[i] = r
	}
	if len(m) != tasks {
		t.Fatalf("%d task records, want %d: %v", len(m), tasks, recs)
	}
	for i := 0; i < tasks; i++ {
		r := m[i]
		if r == nil {
			t.Fatalf("no record of task %d", i)
		}
		if r["JobState"] != "COMPLETED" || r["ExitCode"] != "0:0" {
			t.Errorf("task %d: JobState=%s ExitCode=%s, want COMPLETED 0:0", i, r["JobState"], r["ExitCode"])
		}
	}
	return m
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func slurmTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.ParseInLocation("2006-01-02T15:04:05", s, time.Local)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return ts
}

// An array job's tasks see their id and the task count; a job submitted
// with afterok on the array starts only once every task has ended well.
func TestArrayThenDependentJob(t *testing.T) {
	needSlurm(t)
	t.Parallel()
	dir := t.TempDir()
	array := submit(t, dir, "--array=0-2", "--requeue", "--job-name=miroverse-array",
		"--wrap", `sleep 2; printf '%s %s %s\n' "$SLURM_ARRAY_TASK_ID" "$SLURM_ARRAY_TASK_COUNT" "$SLURM_ARRAY_JOB_ID" >"task-$SLURM_ARRAY_TASK_ID.txt"`)
	dep := submit(t, dir, "--dependency=afterok:"+array, "--job-name=miroverse-after",
		"--wrap", `for i in 0 1 2; do test -s "task-$i.txt" || exit 1; done; cat task-0.txt task-1.txt task-2.txt >all.txt`)

	depRec := waitDone(t, dep)[0]
	tasks := byTask(t, waitDone(t, array), 3)
	if depRec["JobState"] != "COMPLETED" || depRec["ExitCode"] != "0:0" {
		t.Fatalf("dependent job %s: JobState=%s ExitCode=%s, want COMPLETED 0:0\n%s", dep, depRec["JobState"], depRec["ExitCode"],
			readFile(t, filepath.Join(dir, "slurm-"+dep+".out")))
	}
	want := ""
	for i := 0; i < 3; i++ {
		line := fmt.Sprintf("%d 3 %s\n", i, array)
		want += line
		if got := readFile(t, filepath.Join(dir, fmt.Sprintf("task-%d.txt", i))); got != line {
			t.Errorf("task %d wrote %q, want %q", i, got, line)
		}
	}
	if got := readFile(t, filepath.Join(dir, "all.txt")); got != want {
		t.Errorf("the dependent job wrote %q, want %q", got, want)
	}
	start := slurmTime(t, depRec["StartTime"])
	for i, r := range tasks {
		if end := slurmTime(t, r["EndTime"]); start.Before(end) {
			t.Errorf("dependent job started at %v, before task %d ended at %v", start, i, end)
		}
	}
}

// afterok on a job that fails is never satisfied: the dependent job stays
// pending, and never runs.
func TestAfterOKOnAFailedJobNeverRuns(t *testing.T) {
	needSlurm(t)
	t.Parallel()
	dir := t.TempDir()
	failing := submit(t, dir, "--job-name=miroverse-fails", "--wrap", "exit 3")
	dep := submit(t, dir, "--dependency=afterok:"+failing, "--job-name=miroverse-never", "--wrap", "touch ran")
	if r := waitDone(t, failing)[0]; r["JobState"] != "FAILED" || r["ExitCode"] != "3:0" {
		t.Fatalf("failing job: JobState=%s ExitCode=%s, want FAILED 3:0", r["JobState"], r["ExitCode"])
	}
	deadline := time.Now().Add(waitTimeout)
	for {
		r := records(t, dep)[0]
		if r["JobState"] == "PENDING" && r["Reason"] == "DependencyNeverSatisfied" {
			break
		}
		if r["JobState"] != "PENDING" || time.Now().After(deadline) {
			t.Fatalf("dependent job: JobState=%s Reason=%s, want PENDING DependencyNeverSatisfied", r["JobState"], r["Reason"])
		}
		time.Sleep(300 * time.Millisecond)
	}
	run(t, "scancel", dep)
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Fatal("the dependent job of a failed job ran")
	}
}

// A running array task that is requeued (as when its node is lost) runs
// again from the start, with SLURM_RESTART_COUNT 1, and the array completes.
func TestRequeueOfARunningArrayTask(t *testing.T) {
	needSlurm(t)
	t.Parallel()
	dir := t.TempDir()
	// Task 1 on its first run says it started and waits to be requeued.
	array := submit(t, dir, "--array=0-2", "--requeue", "--job-name=miroverse-requeue", "--wrap",
		`n=${SLURM_RESTART_COUNT:-0}; echo "$n" >>"runs-$SLURM_ARRAY_TASK_ID.txt"
if [ "$SLURM_ARRAY_TASK_ID" = 1 ] && [ "$n" = 0 ]; then touch started-1; sleep 600; fi
echo "$SLURM_ARRAY_TASK_ID $SLURM_ARRAY_TASK_COUNT" >"done-$SLURM_ARRAY_TASK_ID.txt"`)
	task1 := array + "_1"
	deadline := time.Now().Add(waitTimeout)
	for {
		_, err := os.Stat(filepath.Join(dir, "started-1"))
		if r := records(t, task1)[0]; err == nil && r["JobState"] == "RUNNING" {
			break
		}
		if time.Now().After(deadline) {
			out, _ := command("scontrol", "show", "job", task1)
			t.Fatalf("task %s not running after %v:\n%s", task1, waitTimeout, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	run(t, "scontrol", "requeue", task1)

	tasks := byTask(t, waitDone(t, array), 3)
	if got := tasks[1]["Restarts"]; got != "1" {
		t.Errorf("task 1: Restarts=%s, want 1", got)
	}
	for i, wantRuns := range []string{"0\n", "0\n1\n", "0\n"} {
		if got := readFile(t, filepath.Join(dir, fmt.Sprintf("runs-%d.txt", i))); got != wantRuns {
			t.Errorf("task %d ran with restart counts %q, want %q", i, got, wantRuns)
		}
		if got, want := readFile(t, filepath.Join(dir, fmt.Sprintf("done-%d.txt", i))), fmt.Sprintf("%d 3\n", i); got != want {
			t.Errorf("task %d wrote %q, want %q", i, got, want)
		}
	}
}

// A batch job that exits with 75 (EX_TEMPFAIL, the cluster's RequeueExit) is
// requeued by Slurm itself and completes on its second run.
func TestRequeueExitCode(t *testing.T) {
	needSlurm(t)
	t.Parallel()
	dir := t.TempDir()
	id := submit(t, dir, "--requeue", "--job-name=miroverse-tempfail", "--wrap",
		`n=${SLURM_RESTART_COUNT:-0}; echo "$n" >>runs.txt; [ "$n" -ge 1 ] || exit 75`)
	r := waitDone(t, id)[0]
	if r["JobState"] != "COMPLETED" || r["ExitCode"] != "0:0" || r["Restarts"] != "1" {
		t.Fatalf("job %s: JobState=%s ExitCode=%s Restarts=%s, want COMPLETED 0:0 1", id, r["JobState"], r["ExitCode"], r["Restarts"])
	}
	if got := readFile(t, filepath.Join(dir, "runs.txt")); got != "0\n1\n" {
		t.Errorf("runs with restart counts %q, want %q", got, "0\n1\n")
	}
}
