package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/miroverse/miroverse/internal/atomicfile"
)

// Jobs are a submitted run's two jobs.
type Jobs struct {
	Array  string // the array job of the shards
	Commit string // the commit job, after the array
	Dir    string // the JobsDir of the spec: scripts, config copy, logs
	// With Spec.IngestFirst: the ingest array and the resolve job after
	// it, which the shards wait for.
	Ingest, Resolve string
}

// Submit writes the config copy and the array job's script into
// s.JobsDir, submits the array, then writes and submits the commit job
// that depends on it. A JobsDir that holds another config already (an
// earlier submission under the same name) is refused; one that holds the
// same config is reused, so a failed run is resubmitted by submitting it
// again. When the commit job cannot be submitted, the array is cancelled.
func Submit(ctx context.Context, s Spec) (Jobs, error) {
	shards, err := ShardScript(s)
	if err != nil {
		return Jobs{}, err
	}
	if _, err := exec.LookPath("sbatch"); err != nil {
		return Jobs{}, fmt.Errorf("sbatch is not on PATH: submit from a node of the Slurm cluster (a login node): %w", err)
	}
	if err := os.MkdirAll(s.JobsDir, 0o755); err != nil {
		return Jobs{}, fmt.Errorf("make the jobs directory: %w", err)
	}
	config := filepath.Join(s.JobsDir, ConfigFile)
	switch old, err := os.ReadFile(config); {
	case err == nil && !bytes.Equal(old, s.Config):
		return Jobs{}, fmt.Errorf("%s holds another config, of an earlier submission named %q: give this run another name, or remove that directory once its jobs have ended", config, s.Name)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return Jobs{}, fmt.Errorf("read the config copy: %w", err)
	}
	if err := stillQueued(ctx, s.JobsDir); err != nil {
		return Jobs{}, err
	}
	if err := atomicfile.WriteFile(config, s.Config); err != nil {
		return Jobs{}, fmt.Errorf("copy the config into the jobs directory: %w", err)
	}
	j := Jobs{Dir: s.JobsDir}
	// cancel takes back what was submitted when a later job cannot be.
	cancel := func(err error, ids ...string) error {
		if len(ids) == 0 {
			return err
		}
		if _, cerr := slurmCmd(context.WithoutCancel(ctx), "scancel", ids...); cerr != nil {
			return fmt.Errorf("%w; cancelling jobs %s failed too: %v", err, strings.Join(ids, ", "), cerr)
		}
		return fmt.Errorf("%w; jobs %s are cancelled", err, strings.Join(ids, ", "))
	}
	var submitted []string
	if s.IngestFirst {
		ingest, err := IngestScript(s)
		if err != nil {
			return Jobs{}, err
		}
		if j.Ingest, err = sbatch(ctx, s, IngestScriptFile, ingest); err != nil {
			return Jobs{}, fmt.Errorf("submit the ingest: %w", err)
		}
		submitted = append(submitted, j.Ingest)
		resolve, err := ResolveScript(s, j.Ingest)
		if err == nil {
			j.Resolve, err = sbatch(ctx, s, ResolveScriptFile, resolve)
		}
		if err != nil {
			return Jobs{}, cancel(fmt.Errorf("submit the resolve job: %w", err), submitted...)
		}
		submitted = append(submitted, j.Resolve)
		if shards, err = shardScript(s, j.Resolve); err != nil {
			return Jobs{}, cancel(err, submitted...)
		}
	}
	if j.Array, err = sbatch(ctx, s, ShardScriptFile, shards); err != nil {
		return Jobs{}, cancel(fmt.Errorf("submit the shards: %w", err), submitted...)
	}
	submitted = append(submitted, j.Array)
	commit, err := CommitScript(s, j.Array)
	if err == nil {
		j.Commit, err = sbatch(ctx, s, CommitScriptFile, commit)
	}
	if err != nil {
		return Jobs{}, cancel(fmt.Errorf("submit the commit job: %w", err), submitted...)
	}
	ids := j.Array + " " + j.Commit
	if s.IngestFirst {
		ids += " " + j.Ingest + " " + j.Resolve
	}
	if err := atomicfile.WriteFile(filepath.Join(s.JobsDir, submittedFile), []byte(ids+"\n")); err != nil {
		return j, fmt.Errorf("record the job ids (the jobs are submitted: array job %s, commit job %s): %w", j.Array, j.Commit, err)
	}
	return j, nil
}

// submittedFile records the ids of the last submission from a jobs
// directory, so that a second one is refused while they are queued: two
// arrays of one run would run every shard twice at once.
const submittedFile = "submitted"

func stillQueued(ctx context.Context, dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, submittedFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("read the ids of the earlier submission: %w", err)
	}
	for _, id := range strings.Fields(string(b)) {
		if !jobIDRe.MatchString(id) {
			continue
		}
		recs, err := jobRecords(ctx, id)
		if errors.Is(err, errUnknownJob) {
			continue // ended long ago
		} else if err != nil {
			return fmt.Errorf("check the jobs of the earlier submission from %s: %w", dir, err)
		}
		for _, r := range recs {
			if !terminal[r.state] {
				return fmt.Errorf("the earlier submission from %s still has job %s %s: wait for it to end, or scancel it, before submitting the run again", dir, r.name(), r.state)
			}
		}
	}
	return nil
}

// sbatch writes a script into the jobs directory and submits it.
func sbatch(ctx context.Context, s Spec, name string, script []byte) (string, error) {
	path := filepath.Join(s.JobsDir, name)
	if err := atomicfile.WriteFile(path, script); err != nil {
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	out, err := slurmCmd(ctx, "sbatch", "--parsable", path)
	if err != nil {
		return "", err
	}
	id, _, _ := strings.Cut(out, ";") // "id;cluster" on a federation
	if !jobIDRe.MatchString(id) {
		return "", fmt.Errorf("sbatch --parsable %s printed %q, not a job id", path, out)
	}
	return id, nil
}

// slurmCmd runs a Slurm client command and returns its trimmed stdout; an
// error carries the command line and what it printed on stderr.
func slurmCmd(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

const (
	// DefaultPoll is how often Wait asks about the jobs when told 0.
	DefaultPoll = 5 * time.Second
	// commandTimeout bounds one Slurm command, which a busy controller may
	// keep waiting.
	commandTimeout = time.Minute
	// outage is how long Wait goes on through failing scontrol calls (a
	// controller restarting) before it gives up.
	outage = 2 * time.Minute
)

// Wait follows the jobs until both have ended, asking scontrol every poll
// (0: DefaultPoll); requeued and pending tasks are waited for. It returns
// nil when every task of the array and the commit job completed, and
// otherwise an error naming the job, the state it ended in and its log.
// The cluster may keep no accounting, so Wait needs to see a job end
// within the controller's MinJobAge (default 300 s) of its end; sacct is
// asked only when scontrol no longer knows the job. Progress goes to log
// (nil: nowhere).
func Wait(ctx context.Context, j Jobs, poll time.Duration, log *slog.Logger) error {
	if poll <= 0 {
		poll = DefaultPoll
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, step := range []struct{ what, id string }{{"ingest array job", j.Ingest}, {"resolve job", j.Resolve}} {
		if step.id == "" {
			continue
		}
		if err := follow(ctx, j, step.what, step.id, poll, log); err != nil {
			if errors.Is(err, errNotCompleted) {
				err = fmt.Errorf("%w; the shards and the commit do not run (Slurm cancels them); submitting the run again resumes it", err)
			}
			return err
		}
	}
	if err := follow(ctx, j, "array job", j.Array, poll, log); err != nil {
		if errors.Is(err, errNotCompleted) {
			err = fmt.Errorf("%w; commit job %s does not run (Slurm cancels it); submitting the run again resumes it", err, j.Commit)
		}
		return err
	}
	return follow(ctx, j, "commit job", j.Commit, poll, log)
}

// record is one line of `scontrol -o show job`: a job, or a task of an
// array, or the tasks of an array still pending together.
type record struct {
	id, task, state, reason, exit string
}

// terminal are the states a job ends in. A requeued job leaves them again
// (NODE_FAIL, PREEMPTED), which is why an end is believed only when two
// polls in a row see it.
var terminal = map[string]bool{
	"COMPLETED": true, "FAILED": true, "CANCELLED": true, "TIMEOUT": true, "NODE_FAIL": true,
	"OUT_OF_MEMORY": true, "BOOT_FAIL": true, "DEADLINE": true, "PREEMPTED": true, "REVOKED": true,
}

func follow(ctx context.Context, j Jobs, what, id string, poll time.Duration, log *slog.Logger) error {
	if !jobIDRe.MatchString(id) {
		return fmt.Errorf("wait for %s %q: not a job id", what, id)
	}
	var (
		last     string    // the states seen at the last poll
		ended    bool      // the last poll saw every record in a terminal state
		failing  time.Time // since when scontrol fails; zero while it answers
		warnHeld bool
	)
	for {
		recs, err := jobRecords(ctx, id)
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("wait for %s %s: %w", what, id, ctx.Err())
		case errors.Is(err, errUnknownJob):
			return fmt.Errorf("wait for %s %s: %w; its log is in %s", what, id, err, j.Dir)
		case err != nil:
			if failing.IsZero() {
				failing = time.Now()
			}
			if time.Since(failing) > outage {
				return fmt.Errorf("wait for %s %s: %w", what, id, err)
			}
			log.Warn("slurm: cannot ask about a job; trying again", "job", id, "err", err)
		default:
			failing = time.Time{}
			states := summary(recs)
			if states != last {
				log.Info("slurm: "+what, "job", id, "tasks", states)
			}
			done := true
			for _, r := range recs {
				done = done && terminal[r.state]
				if held(r) && !warnHeld {
					warnHeld = true
					log.Warn("slurm: a job is held and waits for someone to release it", "job", r.name(), "state", r.state,
						"reason", r.reason, "release", "scontrol release "+r.name())
				}
			}
			if done && ended && states == last {
				return outcome(j, what, id, recs)
			}
			ended, last = done, states
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s %s: %w", what, id, ctx.Err())
		case <-time.After(poll):
		}
	}
}

func (r record) name() string {
	if r.task == "" {
		return r.id
	}
	return r.id + "_" + r.task
}

func held(r record) bool {
	return r.state == "REQUEUE_HOLD" || r.state == "SPECIAL_EXIT" || strings.HasPrefix(r.reason, "JobHeld")
}

// summary counts the records by state, e.g. "1 COMPLETED, 2 RUNNING".
func summary(recs []record) string {
	n := map[string]int{}
	for _, r := range recs {
		s := r.state
		if s == "PENDING" && r.reason != "" && r.reason != "None" {
			s += " (" + r.reason + ")"
		}
		n[s]++
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", n[k], k)
	}
	return strings.Join(parts, ", ")
}

// outcome is nil when every record completed, else an error that names
// the tasks that did not, their state and exit code, and their logs.
func outcome(j Jobs, what, id string, recs []record) error {
	var bad []string
	for _, r := range recs {
		if r.state == "COMPLETED" {
			continue
		}
		log := filepath.Join(j.Dir, "commit-"+r.id+".out")
		if r.task != "" {
			log = filepath.Join(j.Dir, "shards-"+id+"_"+r.task+".out")
		}
		desc := r.state
		if r.exit != "" && r.exit != "0:0" {
			desc += ", exit code " + r.exit
		}
		if r.reason != "" && r.reason != "None" {
			desc += ", reason " + r.reason
		}
		if r.reason == "DependencyNeverSatisfied" {
			// Slurm 22.05 also counts a task's run that ended non-zero
			// and was requeued (RequeueExit) against afterok.
			desc += " (a task of the array did not end with exit status 0)"
		}
		if r.task != "" {
			bad = append(bad, fmt.Sprintf("task %s %s (log %s)", r.task, desc, log))
		} else {
			bad = append(bad, fmt.Sprintf("%s (log %s)", desc, log))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%s %s %w: %s", what, id, errNotCompleted, strings.Join(bad, "; "))
}

var (
	fieldRe         = regexp.MustCompile(`(\S+?)=(\S*)`)
	errNotCompleted = errors.New("did not complete")
	errUnknownJob   = errors.New("no longer known to Slurm (a controller without accounting forgets a job MinJobAge after it ends, 300 s by default)")
)

// jobRecords asks scontrol about a job (all tasks of an array), and sacct
// when scontrol no longer knows it.
func jobRecords(ctx context.Context, id string) ([]record, error) {
	out, err := slurmCmd(ctx, "scontrol", "-o", "show", "job", id)
	if err != nil {
		if !strings.Contains(err.Error(), "Invalid job id") {
			return nil, err
		}
		recs, serr := accounted(ctx, id)
		if serr != nil || len(recs) == 0 {
			return nil, fmt.Errorf("%w, and sacct has no record of it (%v)", errUnknownJob, serr)
		}
		return recs, nil
	}
	var recs []record
	for line := range strings.SplitSeq(out, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		// The fields asked for come before any free text (names, paths):
		// the first occurrence of a key is the one.
		f := map[string]string{}
		for _, m := range fieldRe.FindAllStringSubmatch(line, -1) {
			if _, dup := f[m[1]]; !dup {
				f[m[1]] = m[2]
			}
		}
		r := record{id: f["JobId"], task: f["ArrayTaskId"], state: f["JobState"], reason: f["Reason"], exit: f["ExitCode"]}
		if r.task != "" {
			r.id = f["ArrayJobId"]
		}
		if r.state == "" {
			return nil, fmt.Errorf("scontrol show job %s: no JobState in %q", id, line)
		}
		recs = append(recs, r)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("scontrol show job %s printed no job", id)
	}
	return recs, nil
}

// accounted reads a job's end from the accounting database, where there
// is one.
func accounted(ctx context.Context, id string) ([]record, error) {
	if _, err := exec.LookPath("sacct"); err != nil {
		return nil, err
	}
	out, err := slurmCmd(ctx, "sacct", "-n", "-P", "-X", "-j", id, "-o", "JobID,State,ExitCode")
	if err != nil {
		return nil, err
	}
	var recs []record
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Split(line, "|")
		if len(f) != 3 || f[1] == "" {
			continue
		}
		state, _, _ := strings.Cut(f[1], " ") // "CANCELLED by 0"
		r := record{id: id, state: state, exit: f[2]}
		if _, task, ok := strings.Cut(f[0], "_"); ok {
			r.task = task
		}
		recs = append(recs, r)
	}
	return recs, nil
}
