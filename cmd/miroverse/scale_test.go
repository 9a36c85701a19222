package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/miroverse/miroverse/internal/gendump"
	"github.com/miroverse/miroverse/kg/embedded"
	"github.com/miroverse/miroverse/pipeline"
)

// guardArticles is the size of the scale regression guard: large enough
// that the link structure of a real wiki shows (Zipf hubs, redirect chains,
// tens of thousands of red links; ~500k raw links), small enough for
// `make test`. `make bench-scale` measures the larger sizes.
const guardArticles = 20_000

// TestGeneratedDumpEndToEnd is the scale regression guard (issue 11): a
// generated multistream dump of 20k articles goes through ingest and sample
// twice, once with 8 workers and killed with SIGKILL in the middle of
// reading and again in the middle of link resolution, then resumed; once
// with 1 worker, uninterrupted. Both must hold every page the generator
// wrote, in the counts it reports, and end with the same graph and the same
// walks, row for row.
func TestGeneratedDumpEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	start := time.Now()
	gen, err := gendump.Write(context.Background(), gendump.Options{Dir: t.TempDir(), Articles: guardArticles, Seed: 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generated %d pages (%d MB of XML) in %.1fs", gen.Pages, gen.XMLBytes>>20, time.Since(start).Seconds())
	// input and top are extra lines of the input section and the top level.
	config := func(workers int, input, top string) string {
		return writeConfig(t, fmt.Sprintf("workers: %d\n%sinput:\n  workers: %d\n%ssample:\n  walks: 400\n", workers, top, workers, input))
	}

	// 1 worker, uninterrupted, alongside the killed run (in a process of
	// its own, so the two share the two cores rather than take turns). It
	// runs under a memory budget, which must bound every stage and change
	// no row.
	bin := binary(t)
	cfg1 := config(1, "  max_page_size: 4MiB\n", fmt.Sprintf("memory_budget: %dB\n", guardBudget))
	single := filepath.Join(t.TempDir(), "out")
	singleDone := make(chan error, 1)
	go func() {
		for _, args := range [][]string{
			{"ingest", "--config", cfg1, "--input", gen.Dump, "--out", single, "--quiet"},
			{"sample", "--config", cfg1, "--out", single, "--quiet"},
		} {
			cmd := exec.Command(bin, args...)
			cmd.Dir = repoRoot(t)
			if out, err := cmd.CombinedOutput(); err != nil {
				singleDone <- fmt.Errorf("miroverse %s: %v\n%s", strings.Join(args, " "), err, tail(string(out), 2000))
				return
			}
		}
		singleDone <- nil
	}()

	// 8 workers, killed twice, resumed.
	cfg8 := config(8, "", "")
	resumed := filepath.Join(t.TempDir(), "out")
	graphDir := filepath.Join(resumed, "graph")
	killIngestWhen(t, cfg8, gen.Dump, resumed, "once the store holds 20 MB", func(stderr string) bool {
		return dirSize(graphDir) >= 20<<20
	})
	killIngestWhen(t, cfg8, gen.Dump, resumed, "during link resolution", func(stderr string) bool {
		return strings.Contains(stderr, `msg="ingest read done"`)
	})
	runBinary(t, nil, "ingest", "--config", cfg8, "--input", gen.Dump, "--out", resumed, "--quiet")
	runBinary(t, nil, "sample", "--config", cfg8, "--out", resumed, "--quiet")
	if err := <-singleDone; err != nil {
		t.Fatal(err)
	}

	var counts [2]map[string]int64
	for i, root := range []string{resumed, single} {
		m, err := pipeline.ReadManifest(root)
		if err != nil {
			t.Fatal(err)
		}
		ing := m.Stages[pipeline.StageIngest]
		if ing == nil || !ing.Complete {
			t.Fatalf("%s: ingest incomplete", root)
		}
		checkGeneratedCounts(t, root, gen, ing)
		if walks := m.Stages[pipeline.StageSample].Kept; walks < 300 {
			t.Errorf("%s: %d walks, want most of the 400 asked for", root, walks)
		}
		counts[i] = ing.Counts
		if root == single {
			checkBudget(t, m)
		}
	}
	if !reflect.DeepEqual(counts[0], counts[1]) {
		t.Errorf("ingest counts differ:\nkilled and resumed, 8 workers: %v\nuninterrupted, 1 worker:      %v", counts[0], counts[1])
	}
	if a, b := hashDir(t, filepath.Join(resumed, "subgraphs")), hashDir(t, filepath.Join(single, "subgraphs")); strings.Join(a, ",") != strings.Join(b, ",") {
		t.Errorf("walks differ between the resumed 8-worker run and the 1-worker run:\n%v\n%v", a, b)
	}
	compareGraphs(t, filepath.Join(resumed, "graph", "kg.db"), filepath.Join(single, "graph", "kg.db"))
	t.Logf("guard took %.1fs", time.Since(start).Seconds())
}

// guardBudget is the memory_budget of the guard's 1-worker run, with pages
// of at most 4 MiB (the generator's are far smaller, so no page is lost):
// below what the stages take with the defaults' caches and reader. It was
// 192 MiB until the object-storage drivers added about 32 MiB to what the
// binary holds resident whatever it does (pipeline's fixedBytes).
const guardBudget = 224 << 20

// checkBudget: every stage of a run under guardBudget says so, and peaked
// within it.
func checkBudget(t *testing.T, m *pipeline.Manifest) {
	t.Helper()
	for _, name := range []string{pipeline.StageIngest, pipeline.StageSample} {
		st := m.Stages[name]
		if st == nil {
			t.Errorf("stage %s missing from the manifest", name)
			continue
		}
		if st.MemoryBudgetBytes != guardBudget {
			t.Errorf("stage %s: memory budget %d in the manifest, the config says %d", name, st.MemoryBudgetBytes, guardBudget)
		}
		if st.PeakRSSScope != "stage" || st.PeakRSSBytes <= 0 || st.PeakRSSBytes > guardBudget {
			t.Errorf("stage %s: peak RSS %d bytes (scope %q) under a budget of %d", name, st.PeakRSSBytes, st.PeakRSSScope, guardBudget)
		}
		t.Logf("stage %s: peak RSS %d MiB under a budget of %d MiB", name, st.PeakRSSBytes>>20, guardBudget>>20)
	}
}

// checkGeneratedCounts: ingest kept exactly the pages the generator wrote,
// sorted as the generator sorted them.
func checkGeneratedCounts(t *testing.T, root string, gen gendump.Stats, st *pipeline.StageStats) {
	t.Helper()
	for _, c := range []struct {
		what      string
		got, want int64
	}{
		{"pages", st.Counts["pages"], gen.Pages},
		{"documents", st.Counts["documents"], gen.Articles},
		{"kept", st.Kept, gen.Articles},
		{"redirects skipped", st.Skipped["redirect"], gen.Redirects},
		{"other namespaces skipped", st.Skipped["namespace"], gen.Templates + gen.Categories},
		{"disambiguation pages", st.Counts["disambiguation"], gen.Disambiguations},
		{"list pages", st.Counts["list"], gen.Lists},
		{"failed", int64(len(st.Failed)), 0},
	} {
		if c.got != c.want {
			t.Errorf("%s: %s = %d, the generator wrote %d", root, c.what, c.got, c.want)
		}
	}
	// Raw links are the generator's less those in infoboxes (facts, not
	// text) and repeats within a page; a few per cent, never more.
	if raw := st.Counts["raw_links"]; raw > gen.Links || raw < gen.Links*85/100 {
		t.Errorf("%s: %d raw links, the generator wrote %d links", root, raw, gen.Links)
	}
	// Red links stay unresolved; links through redirects do not.
	if u := st.Counts["unresolved_links"]; u < gen.LinksToMissing/2 || u > gen.LinksToMissing {
		t.Errorf("%s: %d unresolved links, the generator wrote %d to missing pages", root, u, gen.LinksToMissing)
	}
}

// killIngestWhen starts an ingest of the binary and sends it SIGKILL once
// ready says so (it is asked every few milliseconds with the stderr so
// far). The ingest must not finish first: then the kill tested nothing.
func killIngestWhen(t *testing.T, cfg, dump, root, when string, ready func(stderr string) bool) {
	t.Helper()
	cmd := exec.Command(binary(t), "ingest", "--config", cfg, "--input", dump, "--out", root)
	cmd.Dir = repoRoot(t)
	var errBuf lockedBuffer
	cmd.Stderr = &errBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(3 * time.Minute)
	for {
		select {
		case err := <-done:
			t.Fatalf("ingest ended (err %v) before it could be killed %s:\n%s", err, when, tail(errBuf.String(), 2000))
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("ingest never reached the point to be killed %s", when)
		case <-time.After(5 * time.Millisecond):
		}
		if ready(errBuf.String()) {
			if err := cmd.Process.Signal(os.Kill); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("ingest killed %s: %v", when, err)
			}
			t.Logf("ingest killed %s", when)
			return
		}
	}
}

func dirSize(dir string) int64 {
	var n int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			n += info.Size()
		}
	}
	return n
}

// compareGraphs: the two stores hold the same counts and the same walk
// snapshot (every node and resolved edge).
func compareGraphs(t *testing.T, a, b string) {
	t.Helper()
	ctx := context.Background()
	sa, err := embedded.Open(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer sa.Close()
	sb, err := embedded.Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	ca, err1 := sa.Counts(ctx)
	cb, err2 := sb.Counts(ctx)
	if err1 != nil || err2 != nil || ca != cb {
		t.Errorf("store counts: %+v (%v) vs %+v (%v)", ca, err1, cb, err2)
	}
	ga, err1 := sa.Snapshot(ctx)
	gb, err2 := sb.Snapshot(ctx)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if ga.NodeCount() == 0 || ga.EdgeCount() == 0 {
		t.Errorf("empty snapshot: %d nodes, %d edges", ga.NodeCount(), ga.EdgeCount())
	}
	if !reflect.DeepEqual(ga, gb) {
		t.Errorf("the snapshots differ: %d nodes, %d edges vs %d nodes, %d edges", ga.NodeCount(), ga.EdgeCount(), gb.NodeCount(), gb.EdgeCount())
	}
}
