package main

import (
	"bufio"
	"compress/bzip2"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/miroverse/miroverse/internal/gendump"
	"github.com/miroverse/miroverse/pipeline"
)

// result is what one size measured. Times are seconds, sizes bytes.
type result struct {
	Articles int64         `json:"articles"`
	When     string        `json:"when"`
	Dump     gendump.Stats `json:"dump"`

	// Load is the machine's 1-minute load average when the size's
	// measurements began: the machine is shared, and wall times are only
	// comparable between runs on an equally quiet one (CPU times more so).
	Load float64 `json:"load_avg_1m"`

	DryRun    float64 `json:"dry_run_s"`
	DryRunCPU float64 `json:"dry_run_cpu_s"`
	DryRunRSS int64   `json:"dry_run_rss"`

	Ingest      float64 `json:"ingest_s"` // the child's wall time: hashing the input, read, resolve
	IngestStage float64 `json:"ingest_stage_s"`
	Read        float64 `json:"read_s"`
	Finish      float64 `json:"finish_s"`
	IngestCPU   float64 `json:"ingest_cpu_s"`
	IngestRSS   int64   `json:"ingest_rss"`
	KGBytes     int64   `json:"kg_bytes"`
	Docs        int64   `json:"documents"`
	Links       int64   `json:"links"`

	Sample      float64 `json:"sample_s"`
	SampleStage float64 `json:"sample_stage_s"`
	Snapshot    float64 `json:"snapshot_s"`
	Walks       int64   `json:"walks"`
	SampleCPU   float64 `json:"sample_cpu_s"`
	SampleRSS   int64   `json:"sample_rss"`

	Search searchResult `json:"search"`

	Neo4j []neo4jResult `json:"neo4j,omitempty"`
	Admin *adminResult  `json:"neo4j_admin,omitempty"`
}

// WalksPerSec counts the whole stage: the snapshot it takes and the walks.
func (r *result) WalksPerSec() float64 { return float64(r.Walks) / r.SampleStage }

// DrawsPerSec counts the walks alone: the stage without its snapshot
// (which the log times), so seed lookups, steps, the evidence reads of
// accepted walks and their commit.
func (r *result) DrawsPerSec() float64 {
	if r.SampleStage <= r.Snapshot {
		return 0
	}
	return float64(r.Walks) / (r.SampleStage - r.Snapshot)
}

// child is one finished child process.
type child struct {
	wall   time.Duration
	cpu    float64 // user + system seconds: less sensitive than wall time to other load on the machine
	rss    int64   // bytes, from wait4's ru_maxrss
	stdout string
	stderr string
}

// runChild runs a command to its end; its stderr (progress lines and logs)
// goes on to ours as well, so a long stage shows how it advances.
func runChild(ctx context.Context, env []string, name string, args ...string) (child, error) {
	return runChildIn(ctx, "", env, name, args...)
}

// runChildIn is runChild in the working directory dir.
func runChildIn(ctx context.Context, dir string, env []string, name string, args ...string) (child, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = copyTo{keep: &errb, pass: os.Stderr}
	start := time.Now()
	err := cmd.Run()
	c := child{wall: time.Since(start), stdout: out.String(), stderr: errb.String()}
	if ps := cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			c.rss = ru.Maxrss << 10 // KiB on Linux
		}
		c.cpu = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	if err != nil {
		return c, fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, tailLines(c.stderr, 15))
	}
	return c, nil
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// logSeconds finds the "seconds" of the last JSON log record with msg.
func logSeconds(stderr, msg string) float64 {
	v := 0.0
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var rec struct {
			Msg     string  `json:"msg"`
			Seconds float64 `json:"seconds"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == msg {
			v = rec.Seconds
		}
	}
	return v
}

// dump returns the cached dump of n articles, generating it when missing.
func dump(ctx context.Context, log *slog.Logger, o options, n int64) (gendump.Stats, error) {
	_, _, statsPath := gendump.Paths(filepath.Join(o.dir, "dumps"), gendump.DefaultName(n, o.seed))
	if st, err := gendump.ReadStats(statsPath); err == nil && st.Version == gendump.Version {
		if _, err := os.Stat(st.Dump); err == nil {
			log.Info("using cached dump", "dump", st.Dump, "xml", humanize.Bytes(uint64(st.XMLBytes)))
			return st, nil
		}
	}
	self, err := os.Executable()
	if err != nil {
		return gendump.Stats{}, err
	}
	log.Info("generating dump", "articles", n, "dir", o.dir)
	c, err := runChild(ctx, nil, self, "-child-gendump", fmt.Sprint(n), "-seed", fmt.Sprint(o.seed), "-dir", o.dir)
	if err != nil {
		return gendump.Stats{}, err
	}
	var st gendump.Stats
	if err := json.Unmarshal([]byte(c.stdout), &st); err != nil {
		return st, fmt.Errorf("gendump child: %w", err)
	}
	log.Info("dump generated", "articles", n, "seconds", fmt.Sprintf("%.1f", c.wall.Seconds()), "peak_rss", humanize.IBytes(uint64(c.rss)),
		"xml", humanize.Bytes(uint64(st.XMLBytes)), "bz2", humanize.Bytes(uint64(st.Bz2Bytes)))
	return st, nil
}

// measure runs every stage on the dump of n articles.
func measure(ctx context.Context, log *slog.Logger, o options, n int64) (*result, error) {
	st, err := dump(ctx, log, o, n)
	if err != nil {
		return nil, err
	}
	r := &result{Articles: n, Dump: st, When: time.Now().UTC().Format(time.RFC3339), Load: loadAverage()}
	root := filepath.Join(o.dir, "roots", fmt.Sprintf("a%d-s%d", n, o.seed))
	if err := os.RemoveAll(root); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		// A failed size keeps its root: ingest resumes there, and it
		// shows how far the stage got.
		if ok && !o.keep {
			os.RemoveAll(root)
		}
	}()
	cfg := filepath.Join(o.dir, fmt.Sprintf("config-a%d.yaml", n))
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("seed: %d\nsample:\n  walks: %d\n", o.seed, o.walks)), 0o644); err != nil {
		return nil, err
	}

	log.Info("dry run", "size", label(n))
	c, err := runChild(ctx, nil, o.bin, "ingest", "--dry-run", "--input", st.Dump)
	if err != nil {
		return nil, err
	}
	r.DryRun, r.DryRunCPU, r.DryRunRSS = c.wall.Seconds(), c.cpu, c.rss

	log.Info("ingest", "size", label(n), "root", root)
	c, err = runChild(ctx, nil, o.bin, "--log-format", "json", "ingest", "--config", cfg, "--input", st.Dump, "--out", root)
	if err != nil {
		return nil, err
	}
	r.Ingest, r.IngestCPU, r.IngestRSS = c.wall.Seconds(), c.cpu, c.rss
	r.Read, r.Finish = logSeconds(c.stderr, "ingest read done"), logSeconds(c.stderr, "links resolved")
	m, err := pipeline.ReadManifest(root)
	if err != nil {
		return nil, err
	}
	r.IngestStage = m.Stages[pipeline.StageIngest].Seconds
	r.Docs, r.Links = m.Graph.Docs, m.Graph.Links
	r.KGBytes = dirBytes(filepath.Join(root, "graph"))
	log.Info("ingested", "size", label(n), "seconds", fmt.Sprintf("%.1f", r.Ingest), "finish", fmt.Sprintf("%.1f", r.Finish),
		"kg.db", humanize.Bytes(uint64(r.KGBytes)), "peak_rss", humanize.IBytes(uint64(r.IngestRSS)))

	log.Info("sample", "size", label(n), "walks", o.walks)
	c, err = runChild(ctx, nil, o.bin, "--log-format", "json", "sample", "--config", cfg, "--out", root)
	if err != nil {
		return nil, err
	}
	r.Sample, r.SampleCPU, r.SampleRSS = c.wall.Seconds(), c.cpu, c.rss
	r.Snapshot = logSeconds(c.stderr, "graph snapshot taken")
	if m, err = pipeline.ReadManifest(root); err != nil {
		return nil, err
	}
	r.SampleStage, r.Walks = m.Stages[pipeline.StageSample].Seconds, m.Stages[pipeline.StageSample].Kept
	log.Info("sampled", "size", label(n), "walks", r.Walks, "walks_per_s", fmt.Sprintf("%.0f", r.WalksPerSec()),
		"peak_rss", humanize.IBytes(uint64(r.SampleRSS)))

	if r.Search, err = measureSearch(ctx, log, o, st, root); err != nil {
		return nil, err
	}
	if o.neo4j && n <= o.neo4jMax {
		if err := measureNeo4j(ctx, log, o, r, root); err != nil {
			return nil, err
		}
	}
	ok = true
	return r, nil
}

// loadAverage is the 1-minute load average, 0 where /proc has none.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var v float64
	fmt.Sscan(string(b), &v)
	return v
}

// dirBytes is the size of the files in dir (the store and any -wal).
func dirBytes(dir string) int64 {
	var n int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
	}
	return n
}

// measureSearch draws the queries and times them in a child process.
func measureSearch(ctx context.Context, log *slog.Logger, o options, st gendump.Stats, root string) (searchResult, error) {
	qs, err := drawQueries(st.Index, o.queries+searchWarmup, o.seed)
	if err != nil {
		return searchResult{}, err
	}
	qf := filepath.Join(o.dir, fmt.Sprintf("queries-a%d.txt", st.Articles))
	if err := os.WriteFile(qf, []byte(strings.Join(qs, "\n")+"\n"), 0o644); err != nil {
		return searchResult{}, err
	}
	self, err := os.Executable()
	if err != nil {
		return searchResult{}, err
	}
	log.Info("google_search", "queries", o.queries, "warm-up", searchWarmup)
	c, err := runChild(ctx, nil, self, "-child-search", root, "-query-file", qf)
	if err != nil {
		return searchResult{}, err
	}
	var sr searchResult
	if err := json.Unmarshal([]byte(c.stdout), &sr); err != nil {
		return sr, fmt.Errorf("search child: %w: %s", err, c.stdout)
	}
	sr.RSS = c.rss
	log.Info("searched", "p50_ms", fmt.Sprintf("%.1f", sr.P50*1e3), "p99_ms", fmt.Sprintf("%.1f", sr.P99*1e3),
		"exact_first", fmt.Sprintf("%.0f%%", 100*sr.ExactFirst))
	return sr, nil
}

// drawQueries picks k titles of namespace 0 from a multistream index by
// reservoir sampling (memory k, not the dump's size; seeded, so the same
// queries every run) and turns each into a query the way an agent writes
// one: the title as it is, in lower case, or without its qualifier.
func drawQueries(index string, k int, seed int64) ([]string, error) {
	f, err := os.Open(index)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rng := rand.New(rand.NewPCG(uint64(seed), 0x71756572))
	sc := bufio.NewScanner(bzip2.NewReader(f))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var res []string
	seen := 0
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 || strings.HasPrefix(parts[2], "Template:") || strings.HasPrefix(parts[2], "Category:") {
			continue
		}
		seen++
		if len(res) < k {
			res = append(res, parts[2])
		} else if j := rng.IntN(seen); j < k {
			res[j] = parts[2]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for i, t := range res {
		switch i % 4 {
		case 1:
			res[i] = strings.ToLower(t)
		case 2:
			if j := strings.Index(t, " ("); j > 0 {
				res[i] = t[:j]
			}
		}
	}
	return res, nil
}
