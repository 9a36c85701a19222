// Command benchshard measures what splitting a run into shards costs when
// the LLM is the bottleneck, as on a cluster where every task calls the
// same model server:
//
//	go run ./scripts/benchshard            # or: make bench
//
// It generates a wiki of -articles articles (internal/gendump; the demo
// corpus has too few kept questions for 4 shards to get even shares) and
// runs configs/demo.yaml over it with -walks walks and the built-in oracle
// delaying every reply by -delay, twice over in the same session: one process with 4C workers
// and 4C concurrent LLM calls, and 4 shard processes at once, each with C
// of both, followed by `miroverse commit`. Throughput is rollouts per
// second of wall time, start of the first process to the end of the last
// (the commit included); the ratio sharded / one process has the goal
// ≥ 0.9. Each side runs -reps times, alternating, and the best of each is
// kept: the machine is shared, and the best is the one least disturbed.
// Both sides must publish the same SFT rows, or the measurement is void.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"go.yaml.in/yaml/v3"

	"github.com/miroverse/miroverse/internal/gendump"
	"github.com/miroverse/miroverse/pipeline"
)

func main() {
	delay := flag.Duration("delay", 150*time.Millisecond, "the oracle's delay before every reply")
	c := flag.Int("c", 4, "concurrency C of one shard; the single process gets 4C")
	shards := flag.Int("shards", 4, "shards")
	rollouts := flag.Int("rollouts", 4, "rollouts per question")
	reps := flag.Int("reps", 2, "runs of each side; the best counts")
	articles := flag.Int64("articles", 3000, "articles of the generated wiki")
	walks := flag.Int("walks", 600, "walks to sample")
	flag.Parse()
	if err := bench(work{delay: *delay, c: *c, n: *shards, rollouts: *rollouts, reps: *reps, articles: *articles, walks: *walks}); err != nil {
		fmt.Fprintln(os.Stderr, "benchshard:", err)
		os.Exit(1)
	}
}

// work is what one benchmark runs.
type work struct {
	delay                time.Duration
	c, n, rollouts, reps int
	articles             int64
	walks                int
	dump                 string
}

func bench(wk work) error {
	delay, c, n, reps := wk.delay, wk.c, wk.n, wk.reps
	tmp, err := os.MkdirTemp("", "miroverse-benchshard-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	name := gendump.DefaultName(wk.articles, 1)
	if _, err := gendump.Write(context.Background(), gendump.Options{Dir: tmp, Name: name, Articles: wk.articles, Seed: 1}); err != nil {
		return fmt.Errorf("generate the wiki: %w", err)
	}
	wk.dump, _, _ = gendump.Paths(tmp, name)
	bin := filepath.Join(tmp, "miroverse")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/miroverse").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	one, err := config(tmp, "one", wk, n*c)
	if err != nil {
		return err
	}
	part, err := config(tmp, "shard", wk, c)
	if err != nil {
		return err
	}
	var bestOne, bestShard time.Duration
	var rows, kept int64
	var bound float64            // mean / largest kept questions of a shard, for the best sharded run
	var commitTime time.Duration // of the last commit
	var sftOne, sftShard string
	for rep := range reps {
		root := filepath.Join(tmp, fmt.Sprintf("one-%d", rep))
		start := time.Now()
		if err := runAll(bin, [][]string{{"run", "--config", one, "--out", root, "--quiet"}}); err != nil {
			return err
		}
		if d := time.Since(start); bestOne == 0 || d < bestOne {
			bestOne = d
		}
		m, err := pipeline.ReadManifest(root)
		if err != nil {
			return err
		}
		rows, kept = m.Outputs["trajectories"].Rows, m.Stages[pipeline.StageQA].Kept
		if sftOne, err = hashDir(filepath.Join(root, "sft", "data")); err != nil {
			return err
		}

		root = filepath.Join(tmp, fmt.Sprintf("sharded-%d", rep))
		var cmds [][]string
		for i := range n {
			cmds = append(cmds, []string{"run", "--config", part, "--out", root, "--shard", fmt.Sprintf("%d/%d", i, n),
				"--cache-dir", filepath.Join(tmp, "cache", fmt.Sprint(rep)), "--quiet"})
		}
		start = time.Now()
		if err := runAll(bin, cmds); err != nil {
			return err
		}
		commitStart := time.Now()
		if err := runAll(bin, [][]string{{"commit", "--out", root, "--shards", fmt.Sprint(n), "--quiet"}}); err != nil {
			return err
		}
		commitTime = time.Since(commitStart)
		if d := time.Since(start); bestShard == 0 || d < bestShard {
			bestShard = d
			if bound, err = balance(root, n); err != nil {
				return err
			}
		}
		if sftShard, err = hashDir(filepath.Join(root, "sft", "data")); err != nil {
			return err
		}
		if sftShard != sftOne {
			return fmt.Errorf("the sharded run's SFT rows differ from the single process's (%s vs %s): the measurement is void", sftShard, sftOne)
		}
	}
	rate := func(d time.Duration) float64 { return float64(rows) / d.Seconds() }
	ratio := rate(bestShard) / rate(bestOne)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "benchmark\tours\tpeer\tratio\tgoal\t\n")
	fmt.Fprintf(w, "%d shards × C=%d vs 1 process × %d (oracle delay %s, %s rollouts of %s kept questions)\t%.2f rollouts/s in %s\t%.2f rollouts/s in %s\t%.2f\t≥ 0.90\t%s\n",
		n, c, n*c, delay, humanize.Comma(rows), humanize.Comma(kept), rate(bestShard), bestShard.Round(time.Millisecond), rate(bestOne), bestOne.Round(time.Millisecond), ratio, verdict(ratio >= 0.9))
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Printf("shares of the kept questions: mean/largest = %.2f (the ratio's ceiling when the rollouts dominate); commit took %s\n",
		bound, commitTime.Round(time.Millisecond))
	return nil
}

// balance is the mean over the largest number of kept questions a shard
// owned: with the rollouts of a question in its shard, the slowest shard
// has the most, and the ratio cannot beat this.
func balance(root string, n int) (float64, error) {
	var total, most int64
	for i := range n {
		m, err := pipeline.ReadManifest(filepath.Join(root, fmt.Sprintf("shards/%d-of-%d", i, n)))
		if err != nil {
			return 0, err
		}
		k := m.Stages[pipeline.StageQA].Kept
		total += k
		most = max(most, k)
	}
	if most == 0 {
		return 0, fmt.Errorf("no shard kept a question")
	}
	return float64(total) / float64(n) / float64(most), nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT MET"
}

// config writes configs/demo.yaml over the generated wiki with wk's delay,
// walks and rollouts, and conc workers and concurrent LLM calls.
func config(dir, name string, wk work, conc int) (string, error) {
	b, err := os.ReadFile(filepath.Join("configs", "demo.yaml"))
	if err != nil {
		return "", err
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		return "", err
	}
	cfg["workers"] = conc
	llm := cfg["llm"].(map[string]any)
	llm["default"].(map[string]any)["concurrency"] = conc
	llm["oracle"].(map[string]any)["delay"] = wk.delay.String()
	cfg["synthesize"].(map[string]any)["rollouts"] = wk.rollouts
	cfg["sample"].(map[string]any)["walks"] = wk.walks
	cfg["input"].(map[string]any)["paths"] = []string{wk.dump}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, name+".yaml")
	return p, os.WriteFile(p, out, 0o644)
}

// runAll runs the commands at once and waits for all of them.
func runAll(bin string, cmds [][]string) error {
	var wg sync.WaitGroup
	errs := make([]error, len(cmds))
	for i, args := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, args...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				errs[i] = fmt.Errorf("miroverse %s: %v\n%s", strings.Join(args, " "), err, out.String())
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func hashDir(dir string) (string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("no parquet in %s", dir)
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
