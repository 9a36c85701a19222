// Package slurm runs the pipeline as N shards on a Slurm cluster: one array
// job whose tasks each run `miroverse run --shards N` (a task's shard is the
// SLURM_ARRAY_TASK_ID that Slurm gives it, out of SLURM_ARRAY_TASK_COUNT),
// and one job that runs `miroverse commit` once every task has completed
// (afterok). It writes the batch scripts, submits them with sbatch and
// follows the jobs with scontrol, never with a scheduler of its own.
//
// Like pipeline/submit/k8s it knows the CLI's command lines as text, not the
// pipeline's code: it imports no package of this module.
package slurm

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Spec is one sharded run. Paths are as the cluster's nodes see them: the
// scripts, the config copy and the logs live in JobsDir, which must be on a
// filesystem every node shares.
type Spec struct {
	Name string // the run: jobs NAME-shards and NAME-commit; letters, digits, '.', '_', '-'
	// Command is the program the jobs run and any arguments before the
	// subcommand: the miroverse binary (an absolute path, or a name the
	// nodes' PATH finds), or a stand-in in tests.
	Command []string
	Config  []byte // the run config (YAML); Submit writes it to JobsDir/ConfigFile, which the tasks read
	Root    string // the output root, passed to run and commit as it is
	Shards  int    // N: the array's tasks
	Dir     string // the jobs' working directory, where relative paths of the config resolve (absolute)
	JobsDir string // where the scripts, the config copy and the jobs' logs go (absolute, shared)
	// IngestFirst puts a sharded ingest before the shards (graph.backend
	// neo4j, whose one database the shards share): an array of N tasks
	// each reading a slice of the dumps' streams (`ingest --shards N`) and
	// a job that resolves the graph after them (`ingest --resolve`), which
	// the shards wait for (afterok).
	IngestFirst bool
	Resources
}

// Resources are what each job asks the cluster for; zero values leave
// Slurm's defaults.
type Resources struct {
	Partition   string   // --partition, e.g. "batch" (a comma-separated list is allowed)
	Time        string   // --time, e.g. "12:00:00", "2-00:00:00", "90"
	CPUsPerTask int      // --cpus-per-task; 0: unset
	Mem         string   // --mem per node, e.g. "16G" (no suffix: megabytes)
	Extra       []string // further options, each written as an #SBATCH line, e.g. "--account=proj"
}

// The files Submit writes in JobsDir. A task's log is shards-<array id>_<task>.out,
// the commit's commit-<job id>.out.
const (
	ConfigFile        = "config.yaml"
	ShardScriptFile   = "shards.sbatch"
	CommitScriptFile  = "commit.sbatch"
	IngestScriptFile  = "ingest.sbatch"  // IngestFirst only
	ResolveScriptFile = "resolve.sbatch" // IngestFirst only
)

// ShardScript is the batch script of the array job: N tasks, each running
// `COMMAND run --config JOBSDIR/config.yaml --out ROOT --shards N`.
func ShardScript(s Spec) ([]byte, error) { return shardScript(s, "") }

// shardScript is ShardScript, waiting for job after (the resolve job of an
// ingest first) when it is not "".
func shardScript(s Spec, afterID string) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	n := strconv.Itoa(s.Shards)
	own := []string{
		"--job-name=" + s.Name + "-shards",
		"--array=0-" + strconv.Itoa(s.Shards-1),
		"--output=" + logPattern(s.JobsDir, "shards-%A_%a.out"),
	}
	if afterID != "" {
		own = append(own, after(afterID)...)
	}
	return s.script(
		fmt.Sprintf("%s shards of miroverse run %q into %s; a task's shard is its SLURM_ARRAY_TASK_ID.", n, s.Name, s.Root),
		own, "run", "--config", filepath.Join(s.JobsDir, ConfigFile), "--out", s.Root, "--shards", n), nil
}

// IngestScript is the batch script of the ingest array of IngestFirst: N
// tasks, each running `COMMAND ingest --config … --out ROOT --shards N`,
// which reads the task's slice of the dumps' streams into the database.
func IngestScript(s Spec) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	n := strconv.Itoa(s.Shards)
	return s.script(
		fmt.Sprintf("%s slices of the ingest of miroverse run %q into %s; a task's slice is its SLURM_ARRAY_TASK_ID.", n, s.Name, s.Root),
		[]string{
			"--job-name=" + s.Name + "-ingest",
			"--array=0-" + strconv.Itoa(s.Shards-1),
			"--output=" + logPattern(s.JobsDir, "ingest-%A_%a.out"),
		},
		"ingest", "--config", filepath.Join(s.JobsDir, ConfigFile), "--out", s.Root, "--shards", n), nil
}

// ResolveScript is the batch script of the resolve job of IngestFirst,
// which runs `COMMAND ingest --config … --out ROOT --resolve --shards N`
// once ingest array ingestID has completed.
func ResolveScript(s Spec, ingestID string) ([]byte, error) {
	if err := s.checkAfter("ingest array job", ingestID); err != nil {
		return nil, err
	}
	return s.script(
		fmt.Sprintf("The resolution step of the ingest of miroverse run %q, once every slice of array job %s is read.", s.Name, ingestID),
		append([]string{"--job-name=" + s.Name + "-resolve"}, append(after(ingestID),
			"--output="+logPattern(s.JobsDir, "resolve-%j.out"))...),
		"ingest", "--config", filepath.Join(s.JobsDir, ConfigFile), "--out", s.Root, "--resolve", "--shards", strconv.Itoa(s.Shards)), nil
}

// CommitScript is the batch script of the commit job, which runs
// `COMMAND commit --out ROOT --shards N` once array job arrayID has
// completed, and is cancelled by Slurm when it has not.
func CommitScript(s Spec, arrayID string) ([]byte, error) {
	if err := s.checkAfter("array job", arrayID); err != nil {
		return nil, err
	}
	n := strconv.Itoa(s.Shards)
	return s.script(
		fmt.Sprintf("The global steps of miroverse run %q, once every shard of array job %s has completed.", s.Name, arrayID),
		append([]string{"--job-name=" + s.Name + "-commit"}, append(after(arrayID),
			"--output="+logPattern(s.JobsDir, "commit-%j.out"))...),
		"commit", "--out", s.Root, "--shards", n), nil
}

// checkAfter checks s and the id of the job (what) a job waits for.
func (s Spec) checkAfter(what, id string) error {
	err := s.check()
	if !jobIDRe.MatchString(id) {
		err = errors.Join(err, fmt.Errorf("%s id %q: want a number", what, id))
	}
	return err
}

// after are the directives of a job that runs once job id has completed,
// and that Slurm cancels when it cannot.
func after(id string) []string {
	return []string{"--dependency=afterok:" + id, "--kill-on-invalid-dep=yes"}
}

// script writes the common frame: the job's own directives, then the
// resources, then the command. sbatch reads directives up to the first
// line that is not a comment, so every #SBATCH line comes before it.
func (s Spec) script(comment string, own []string, args ...string) []byte {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	b.WriteString("# " + comment + "\n")
	b.WriteString("# Written by miroverse submit; the same submit command submits the run again, and its shards resume.\n")
	directives := append(own,
		"--requeue",
		"--open-mode=append", // a requeued task's log keeps its earlier runs
		"--chdir="+directivePath(s.Dir),
	)
	r := s.Resources
	if r.Partition != "" {
		directives = append(directives, "--partition="+r.Partition)
	}
	if r.Time != "" {
		directives = append(directives, "--time="+r.Time)
	}
	if r.CPUsPerTask > 0 {
		directives = append(directives, "--cpus-per-task="+strconv.Itoa(r.CPUsPerTask))
	}
	if r.Mem != "" {
		directives = append(directives, "--mem="+r.Mem)
	}
	directives = append(directives, r.Extra...)
	for _, d := range directives {
		b.WriteString("#SBATCH " + d + "\n")
	}
	words := append(append([]string{}, s.Command...), args...)
	for i, w := range words {
		words[i] = shellQuote(w)
	}
	b.WriteString("exec " + strings.Join(words, " ") + "\n")
	return []byte(b.String())
}

// directivePath quotes a path for an #SBATCH line: sbatch keeps the spaces
// inside double quotes. check has refused the characters it cannot carry
// (", \ and control characters).
func directivePath(p string) string {
	return `"` + p + `"`
}

// logPattern is the --output value: dir, its '%' doubled so that sbatch
// keeps them, then the file name pattern with Slurm's own replacements.
func logPattern(dir, pattern string) string {
	return `"` + strings.ReplaceAll(filepath.Clean(dir), "%", "%%") + "/" + pattern + `"`
}

// shellQuote quotes a word for sh when it needs it.
func shellQuote(w string) string {
	if w != "" && safeWordRe.MatchString(w) {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

var (
	safeWordRe  = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)
	nameRe      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	jobIDRe     = regexp.MustCompile(`^[0-9]+$`)
	partitionRe = regexp.MustCompile(`^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$`)
	// Slurm's time formats: minutes, minutes:seconds, hours:minutes:seconds,
	// days-hours, days-hours:minutes, days-hours:minutes:seconds.
	timeRe = regexp.MustCompile(`^([0-9]+(:[0-9]+){0,2}|[0-9]+-[0-9]+(:[0-9]+){0,2}|UNLIMITED|INFINITE)$`)
	memRe  = regexp.MustCompile(`^([0-9]+)([KMGT]?)$`)
)

// owned are the options the scripts set themselves, or that a key of
// Resources sets: an extra line may not set them again.
var owned = map[string]string{
	"--array": "", "-a": "--array", "--dependency": "", "-d": "--dependency",
	"--requeue": "", "--no-requeue": "", "--job-name": "", "-J": "--job-name",
	"--output": "", "-o": "--output", "--error": "", "-e": "--error", "--chdir": "", "-D": "--chdir",
	"--open-mode": "", "--kill-on-invalid-dep": "", "--parsable": "",
	"--partition": "partition", "-p": "partition", "--time": "time", "-t": "time",
	"--cpus-per-task": "cpus_per_task", "-c": "cpus_per_task", "--mem": "mem",
}

// Check says everything wrong with the resources at once; keys are named
// as in a run config's slurm section.
func (r Resources) Check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if r.Partition != "" && !partitionRe.MatchString(r.Partition) {
		bad("partition %q: want a partition name (letters, digits, '_', '.', '-'), or several separated by commas", r.Partition)
	}
	if r.Time != "" && !timeRe.MatchString(r.Time) {
		bad("time %q: want minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS (e.g. 12:00:00)", r.Time)
	}
	if r.CPUsPerTask < 0 {
		bad("cpus_per_task %d: want 1 or more (0: the partition's default)", r.CPUsPerTask)
	}
	if r.Mem != "" {
		if _, err := r.MemBytes(); err != nil {
			bad("%v", err)
		}
	}
	for i, line := range r.Extra {
		opt, _, _ := strings.Cut(strings.TrimSpace(line), "=")
		opt, _, _ = strings.Cut(opt, " ")
		switch {
		case strings.TrimSpace(line) == "":
			bad("extra[%d]: empty line", i)
		case strings.ContainsFunc(line, unicode.IsControl):
			bad("extra[%d] %q: a control character (a line break?) in an #SBATCH line", i, line)
		case !strings.HasPrefix(line, "-"):
			bad("extra[%d] %q: want an sbatch option, e.g. --account=proj", i, line)
		default:
			if key, ok := owned[opt]; ok {
				switch {
				case key == "":
					bad("extra[%d] %q: miroverse submit sets %s itself", i, line, opt)
				case strings.HasPrefix(key, "-"):
					bad("extra[%d] %q: miroverse submit sets %s (%s) itself", i, line, opt, key)
				default:
					bad("extra[%d] %q: set it with the key %s", i, line, key)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// MemBytes is Mem in bytes (Slurm's units: K, M, G, T are powers of 1024,
// no suffix is megabytes); 0 for an unset Mem or "0" (all of a node's
// memory).
func (r Resources) MemBytes() (int64, error) {
	if r.Mem == "" {
		return 0, nil
	}
	m := memRe.FindStringSubmatch(r.Mem)
	if m == nil {
		return 0, fmt.Errorf("mem %q: want a number with an optional unit K, M, G or T (e.g. 16G; no unit: megabytes)", r.Mem)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	shift := map[string]uint{"K": 10, "": 20, "M": 20, "G": 30, "T": 40}[m[2]]
	if err != nil || n > (1<<62)>>shift {
		return 0, fmt.Errorf("mem %q: too large", r.Mem)
	}
	return n << shift, nil
}

// check says everything wrong with the spec at once.
func (s Spec) check() error {
	var errs []error
	bad := func(field string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if !nameRe.MatchString(s.Name) {
		bad("name", "%q: want 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", s.Name)
	}
	if len(s.Command) == 0 || s.Command[0] == "" {
		bad("command", "empty: the jobs need the miroverse binary to run")
	}
	for _, w := range s.Command {
		if strings.ContainsFunc(w, unicode.IsControl) {
			bad("command", "%q: a control character", w)
		}
	}
	if len(s.Config) == 0 {
		bad("config", "empty: the tasks need the run config")
	}
	if strings.TrimSpace(s.Root) == "" {
		bad("out", "empty: the run needs an output root")
	} else if strings.ContainsFunc(s.Root, unicode.IsControl) {
		bad("out", "%q: a control character", s.Root)
	}
	if s.Shards < 1 {
		bad("shards", "%d: want 1 or more", s.Shards)
	}
	for _, p := range []struct{ field, path string }{{"dir", s.Dir}, {"jobs-dir", s.JobsDir}} {
		switch {
		case p.path == "":
			bad(p.field, "empty")
		case !filepath.IsAbs(p.path):
			bad(p.field, "%q: want an absolute path, as every node sees it", p.path)
		case strings.ContainsFunc(p.path, func(r rune) bool { return r == '"' || r == '\\' || unicode.IsControl(r) }):
			bad(p.field, `%q: an #SBATCH line cannot carry '"', '\' or control characters in a path`, p.path)
		}
	}
	if err := s.Resources.Check(); err != nil {
		errs = append(errs, fmt.Errorf("slurm: %w", err))
	}
	return errors.Join(errs...)
}
