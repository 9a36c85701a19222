package main

import (
	"bytes"
	"compress/bzip2"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/miroverse/miroverse/internal/shareddata"
	"github.com/miroverse/miroverse/internal/testenv"
	"github.com/miroverse/miroverse/pipeline"
	"github.com/miroverse/miroverse/trajectory"
)

// The end-to-end tests run the command line in-process (see cli_test.go);
// the few that need a process of their own (kill -9, signals, the real exit
// status, everything a process prints) build and drive the real binary.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "miroverse-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "miroverse")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Dir = filepath.Join(repoRoot(t), "cmd", "miroverse")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// sharedData is ../shared/data, the real dumps and QA sets.
func sharedData(t *testing.T) string { return shareddata.Dir(t) }

// python returns the venv interpreter that `make test` creates.
func python(t *testing.T) string {
	t.Helper()
	return testenv.Need(t, "MIROVERSE_PYTHON", "run the tests through `make test` for the Python export checks")
}

// runBinary runs the built binary from the repository root with env added
// to this process's environment, and fails the test unless it exits 0.
func runBinary(t *testing.T, env []string, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("miroverse %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, o.String(), e.String())
	}
	return o.String(), e.String()
}

// writeConfig writes a config of only the given YAML over the defaults.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// demoConfig is configs/demo.yaml with the settings of extra laid over
// it (maps merge, anything else is replaced), for runs whose rows are
// compared with the demo's: a test that wrote its own config from the
// defaults would drift from the demo whenever the demo's settings move.
func demoConfig(t *testing.T, extra string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "configs", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var base, over map[string]any
	if err := yaml.Unmarshal(b, &base); err != nil {
		t.Fatalf("configs/demo.yaml: %v", err)
	}
	if err := yaml.Unmarshal([]byte(extra), &over); err != nil {
		t.Fatalf("test config: %v", err)
	}
	out, err := yaml.Marshal(mergeYAML(base, over))
	if err != nil {
		t.Fatal(err)
	}
	return writeConfig(t, string(out))
}

func mergeYAML(base, over map[string]any) map[string]any {
	if base == nil {
		base = map[string]any{}
	}
	for k, v := range over {
		bm, bok := base[k].(map[string]any)
		om, ook := v.(map[string]any)
		if bok && ook {
			base[k] = mergeYAML(bm, om)
			continue
		}
		base[k] = v
	}
	return base
}

var (
	demoOnce sync.Once
	demoRoot string
)

// demo runs `run --config configs/demo.yaml` once for every test that reads it.
func demo(t *testing.T) string {
	t.Helper()
	demoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "miroverse-demo-")
		if err != nil {
			t.Fatal(err)
		}
		demoRoot = filepath.Join(dir, "out")
		run(t, "run", "--config", "configs/demo.yaml", "--out", demoRoot)
	})
	if demoRoot == "" {
		t.Fatal("demo run failed in an earlier test")
	}
	return demoRoot
}

func TestDemoEndToEnd(t *testing.T) {
	root := demo(t)
	m, err := pipeline.ReadManifest(root)
	if err != nil {
		t.Fatal(err)
	}
	checkOutputs(t, root, m)
	checkManifestInvariants(t, m)
	// Every stage says how much memory it took, measured from its own start
	// on Linux (where this runs): a stage's figure is not the run's.
	for name, st := range m.Stages {
		if st.PeakRSSBytes <= 0 || st.PeakRSSScope != "stage" {
			t.Errorf("stage %s: peak RSS %d bytes, scope %q; want a positive figure measured per stage", name, st.PeakRSSBytes, st.PeakRSSScope)
		}
	}
	// The demo must exercise both kinds of rollout, or DPO has no contrast.
	if m.Stages["export"].Counts["sft_rows"] < 10 || m.Stages["export"].Counts["dpo_pairs"] < 3 {
		t.Errorf("demo too thin: %d SFT rows, %d DPO pairs", m.Stages["export"].Counts["sft_rows"], m.Stages["export"].Counts["dpo_pairs"])
	}
	checkWithPython(t, root)
}

// Every trajectory row says how it was made, and what it says agrees with
// the manifest and with the row's own messages.
func TestTrajectoryRowsAreTraceable(t *testing.T) {
	root := demo(t)
	m, err := pipeline.ReadManifest(root)
	if err != nil {
		t.Fatal(err)
	}
	cfg := m.Config.Synthesize
	for _, r := range readTrajectories(t, root) {
		if r.Role != "agent" || r.Model != m.Models["agent"] || r.PromptHash != m.Prompts["agent"] ||
			r.ToolsHash != m.ToolSchemaHash || r.ToolsHash != sha256Hex(r.Tools) {
			t.Fatalf("%s: role %q model %q prompt %q tools %q; manifest %v %v %q", r.ID, r.Role, r.Model,
				r.PromptHash, r.ToolsHash, m.Models, m.Prompts, m.ToolSchemaHash)
		}
		// Config floats are float32; the row's float64 holds the same decimal.
		if fmt.Sprint(r.Temperature) != fmt.Sprint(cfg.Temperature) || fmt.Sprint(r.TopP) != fmt.Sprint(cfg.TopP) || int(r.MaxTokens) != cfg.MaxTokens {
			t.Fatalf("%s: sampling T=%v top_p=%v max=%d, config %v %v %d", r.ID, r.Temperature, r.TopP, r.MaxTokens,
				cfg.Temperature, cfg.TopP, cfg.MaxTokens)
		}
		var agentCalls, extractorCalls, prompt, completion int64
		for _, c := range r.Calls {
			switch c.Role {
			case "agent":
				agentCalls++
				prompt += int64(c.PromptTokens)
				completion += int64(c.CompletionTokens)
			case "extractor":
				extractorCalls++
			default:
				t.Fatalf("%s: call by role %q", r.ID, c.Role)
			}
			if c.Error == "" && (c.Attempts < 1 || c.FinishReason == "") {
				t.Fatalf("%s: call %+v lacks attempts or finish reason", r.ID, c)
			}
		}
		// Every agent call is a kept turn or a rolled-back reply.
		if agentCalls != int64(r.NumTurns+r.Rollbacks) || prompt != r.PromptTokens || completion != r.CompletionTokens {
			t.Fatalf("%s: %d agent calls for %d turns + %d rollbacks; tokens %d/%d vs %d/%d", r.ID, agentCalls,
				r.NumTurns, r.Rollbacks, prompt, completion, r.PromptTokens, r.CompletionTokens)
		}
		if len(r.FinishReasons) != int(r.NumTurns) {
			t.Fatalf("%s: %d finish reasons for %d turns", r.ID, len(r.FinishReasons), r.NumTurns)
		}
		var scrapes, toolMsgs int64
		for _, msg := range r.Messages {
			for _, tc := range msg.ToolCalls {
				if _, tool := trajectory.SplitFunctionName(tc.Function.Name); tool == "scrape_and_extract_info" {
					scrapes++
				}
			}
			if msg.Role == "tool" {
				toolMsgs++
			}
		}
		// The oracle agent never repeats a scrape, so each one ran the extractor.
		if extractorCalls != scrapes || toolMsgs != int64(r.NumToolCalls) || int(r.ToolErrors) > len(r.Errors) {
			t.Fatalf("%s: %d extractor calls for %d scrapes; %d tool messages for %d tool calls; %d tool errors, errors %q",
				r.ID, extractorCalls, scrapes, toolMsgs, r.NumToolCalls, r.ToolErrors, r.Errors)
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

var (
	fatwikiOnce sync.Once
	fatwikiRoot string
)

// fatwiki runs the pipeline once over the whole real fatwiki dump for every
// test that reads it: 200 walks, as many as the audit of issue 13 read, on
// a small wiki that a few hub pages dominate.
// fatwikiYAML is the config of the shared fatwiki run: every walk the
// whole dump gives at the default share caps.
func fatwikiYAML(dump string) string {
	return fmt.Sprintf("seed: 7\ninput:\n  paths: [%q]\nsample:\n  walks: 200\n  min_hops: 2\n  max_hops: 4\n", dump)
}

func fatwiki(t *testing.T) (root, dump string) {
	t.Helper()
	dump = filepath.Join(sharedData(t), "wiki", "fatwiki-20240920-pages-articles-multistream.xml.bz2")
	fatwikiOnce.Do(func() {
		dir, err := os.MkdirTemp("", "miroverse-fatwiki-")
		if err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(cfg, []byte(fatwikiYAML(dump)), 0o644); err != nil {
			t.Fatal(err)
		}
		fatwikiRoot = filepath.Join(dir, "out")
		run(t, "run", "--config", cfg, "--out", fatwikiRoot)
	})
	if fatwikiRoot == "" {
		t.Fatal("fatwiki run failed in an earlier test")
	}
	return fatwikiRoot, dump
}

func TestFatwikiEndToEnd(t *testing.T) {
	root, dump := fatwiki(t)
	m, err := pipeline.ReadManifest(root)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Stages["ingest"].Kept, countArticles(t, dump); got != want {
		t.Errorf("fatwiki documents = %d, want %d (ns0 pages that are not redirects)", got, want)
	}
	checkOutputs(t, root, m)
	checkManifestInvariants(t, m)
	if m.Stages["export"].Counts["sft_rows"] == 0 {
		t.Error("fatwiki run exported no SFT rows")
	}
	checkWithPython(t, root)
}

// TestMCPModeEndToEnd runs the agent in MCP-in-text mode and exports in
// MiroThinker's ChatML style: tool calls as <use_mcp_tool> blocks in the
// assistant text, tool results as user messages.
func TestMCPModeEndToEnd(t *testing.T) {
	cfg := writeConfig(t, `
input:
  paths: [corpus/demo/demowiki-pages-articles.xml]
sample:
  walks: 16
synthesize:
  mode: mcp
export:
  style: mirothinker
  trajectory_content: retained
`)
	root := filepath.Join(t.TempDir(), "out")
	run(t, "run", "--config", cfg, "--out", root, "--quiet")
	m, err := pipeline.ReadManifest(root)
	if err != nil {
		t.Fatal(err)
	}
	checkOutputs(t, root, m)
	checkManifestInvariants(t, m)
	if m.Stages["export"].Counts["sft_rows"] == 0 {
		t.Fatal("no SFT rows in MCP mode")
	}
	for _, r := range readTrajectories(t, root) {
		if r.Mode != "mcp" {
			t.Fatalf("rollout %s mode %q", r.ID, r.Mode)
		}
		for _, msg := range r.Messages {
			if msg.Role == "tool" || len(msg.ToolCalls) > 0 {
				t.Fatalf("rollout %s has native tool messages in MCP mode", r.ID)
			}
		}
	}
	checkWithPython(t, root)
}

func TestIngestWithoutConfig(t *testing.T) {
	root := filepath.Join(t.TempDir(), "out")
	out, _ := run(t, "ingest", "--input", "corpus/demo/demowiki-pages-articles.xml", "--out", root)
	if !strings.Contains(out, "ingested 60 documents") {
		t.Errorf("ingest output: %s", out)
	}
	m, err := pipeline.ReadManifest(root)
	if err != nil {
		t.Fatal(err)
	}
	st := m.Stages["ingest"]
	if st.Skipped["redirect"] != 12 || st.Skipped["namespace"] != 3 || st.Kept != 60 {
		t.Errorf("ingest counts: kept %d, skipped %v", st.Kept, st.Skipped)
	}
}

// countArticles counts, without our reader, the pages of a bz2 dump in
// namespace 0 that are not redirects.
func countArticles(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	xml, err := io.ReadAll(bzip2.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, page := range bytes.Split(xml, []byte("<page>"))[1:] {
		if bytes.Contains(page, []byte("<ns>0</ns>")) && !bytes.Contains(page, []byte("<redirect")) {
			n++
		}
	}
	return n
}

// checkManifestInvariants: every item of every stage ends in exactly one state.
func checkManifestInvariants(t *testing.T, m *pipeline.Manifest) {
	t.Helper()
	for _, name := range pipeline.Stages {
		st := m.Stages[name]
		if st == nil || !st.Complete {
			t.Fatalf("stage %s missing or incomplete in manifest", name)
		}
		sum := st.Kept
		for _, mp := range []map[string]int64{st.Rejected, st.Failed, st.Skipped} {
			for _, n := range mp {
				sum += n
			}
		}
		if sum != st.In {
			t.Errorf("stage %s: in=%d but kept+rejected+failed+skipped=%d", name, st.In, sum)
		}
	}
	// Rollouts: one per kept question and rollout index.
	if want := m.Stages["qa"].Kept * int64(m.Config.Synthesize.Rollouts); m.Stages["synthesize"].In != want {
		t.Errorf("synthesize in=%d, want kept questions × rollouts = %d", m.Stages["synthesize"].In, want)
	}
	if m.Stages["judge"].In != m.Stages["synthesize"].In {
		t.Errorf("judge in=%d, synthesize in=%d", m.Stages["judge"].In, m.Stages["synthesize"].In)
	}
}

func checkWithPython(t *testing.T, root string) {
	t.Helper()
	py := python(t)
	cmd := exec.Command(py, filepath.Join(repoRoot(t), "scripts", "check_export.py"), root)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("check_export.py: %v\n%s", err, out)
	}
	t.Logf("python check: %s", strings.TrimSpace(string(out)))
}

func TestResumeAfterKillMatchesUninterruptedRun(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	// A slow oracle stretches the LLM stages so the kills land mid-stage.
	slow := `
llm:
  oracle:
    delay: 15ms
`
	cfg := demoConfig(t, slow)
	ref := demo(t)
	root := filepath.Join(t.TempDir(), "out")
	// Kill once in the middle of qa and once in the middle of synthesize.
	// os.Kill is SIGKILL: no cleanup runs.
	signalWhen(t, root, cfg, pipeline.StageQA, 5, os.Kill)
	signalWhen(t, root, cfg, pipeline.StageSynthesize, 20, os.Kill)
	runBinary(t, nil, "run", "--config", cfg, "--out", root)
	compareRoots(t, ref, root)
}

// signalWhen starts a run of the binary, sends it sig once stage has
// committed at least n items, and returns its stderr and how it ended.
func signalWhen(t *testing.T, root, cfg, stage string, n int, sig os.Signal) (stderr string, err error) {
	t.Helper()
	cmd := exec.Command(binary(t), "run", "--config", cfg, "--out", root, "--quiet")
	cmd.Dir = repoRoot(t)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		select {
		case err := <-done:
			t.Fatalf("run ended before %s reached %d items (err %v):\n%s", stage, n, err, errBuf.String())
		case <-ctx.Done():
			cmd.Process.Kill()
			t.Fatalf("timed out waiting for %s to commit %d items", stage, n)
		case <-time.After(5 * time.Millisecond):
		}
		if committedItems(t, root, stage) >= n {
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				return errBuf.String(), err
			case <-ctx.Done():
				cmd.Process.Kill()
				t.Fatalf("run still going 2 minutes after %v:\n%s", sig, errBuf.String())
			}
		}
	}
}

// committedItems counts a stage's checkpoints through a second reader, as
// an operator watching a run would.
func committedItems(t *testing.T, root, stage string) int {
	t.Helper()
	path := filepath.Join(root, "state.db")
	if _, err := os.Stat(path); err != nil {
		return 0
	}
	st, err := pipeline.OpenState(context.Background(), path)
	if err != nil {
		return 0
	}
	defer st.Close()
	ids, err := st.Committed(context.Background(), stage)
	if err != nil {
		return 0
	}
	return len(ids)
}

func TestWorkerCountDoesNotChangeRows(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	ref := demo(t)
	cfg := demoConfig(t, "workers: 1\n")
	root := filepath.Join(t.TempDir(), "out")
	run(t, "run", "--config", cfg, "--out", root, "--quiet")
	compareRoots(t, ref, root)
}

// A streaming endpoint yields the rows of a non-streaming one: the oracle
// streams reasoning, content and tool calls in pieces, and the client puts
// them back together exactly.
func TestStreamingEndpointKeepsRows(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	ref := demo(t)
	cfg := demoConfig(t, "llm:\n  default:\n    stream: true\n")
	root := filepath.Join(t.TempDir(), "out")
	run(t, "run", "--config", cfg, "--out", root, "--quiet")
	compareRoots(t, ref, root)
}

// compareRoots asserts two roots hold the same rows: the published Parquet
// of every stage, byte for byte, except the trajectories' wall-clock latency.
func compareRoots(t *testing.T, a, b string) {
	t.Helper()
	for _, dir := range []string{"subgraphs", "qa", "sft/data", "dpo/data"} {
		ha, hb := hashDir(t, filepath.Join(a, dir)), hashDir(t, filepath.Join(b, dir))
		if strings.Join(ha, ",") != strings.Join(hb, ",") {
			t.Errorf("%s differs between runs:\n%v\n%v", dir, ha, hb)
		}
	}
	ta, tb := trajectoryRows(t, a), trajectoryRows(t, b)
	if len(ta) != len(tb) {
		t.Fatalf("trajectories: %d vs %d rows", len(ta), len(tb))
	}
	for i := range ta {
		if ta[i] != tb[i] {
			t.Errorf("trajectory row %d differs:\n%s\n%s", i, ta[i], tb[i])
			break
		}
	}
}

func hashDir(t *testing.T, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if len(files) == 0 {
		t.Fatalf("no parquet in %s", dir)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(b)
		out = append(out, filepath.Base(f)+":"+hex.EncodeToString(s[:8]))
	}
	return out
}

// trajectoryRows renders each trajectory row without its timing as JSON.
func trajectoryRows(t *testing.T, root string) []string {
	t.Helper()
	rows := readTrajectories(t, root)
	out := make([]string, len(rows))
	for i, r := range rows {
		r.LatencyMillis = 0
		for j := range r.Calls {
			r.Calls[j].LatencyMillis = 0
		}
		b, _ := json.Marshal(r)
		out[i] = string(b)
	}
	return out
}

func TestConfigErrorsNameKeyAndLine(t *testing.T) {
	cfg := writeConfig(t, "seed: 1\nsample:\n  walkz: 3\n")
	res := runCLI(t, invocation{args: []string{"run", "--config", cfg, "--out", t.TempDir()}})
	if res.code != exitError {
		t.Fatalf("misspelt key: exit %d, want %d\n%s", res.code, exitError, res.stderr)
	}
	for _, want := range []string{"line 3", `"walkz"`, cfg} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("error %q does not mention %s", res.stderr, want)
		}
	}
}

func TestInspect(t *testing.T) {
	root := demo(t)
	out, _ := run(t, "inspect", root)
	for _, want := range []string{"questions", "rollouts", "SFT rows", "DPO pairs", filepath.Join(root, "sft", "data")} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	js, _ := run(t, "inspect", root, "--json")
	var m pipeline.Manifest
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("inspect --json is not the manifest: %v", err)
	}
	if m.ConfigHash == "" || len(m.Stages) != len(pipeline.Stages) {
		t.Errorf("inspect --json manifest incomplete: %+v", m.Stages)
	}
	// The spread of the walks and of the kept questions, and what each
	// gate cost, are in the manifest and the summary.
	smp, q := m.Stages["sample"], m.Stages["qa"]
	if d := smp.Diversity; d == nil || d.Items != smp.Kept || d.DistinctAnswers < 1 || d.TopNode == "" ||
		d.NodeCap != int64(math.Ceil(m.Config.Sample.MaxNodeShare*float64(m.Config.Sample.Walks))) || d.TopNodeItems > d.NodeCap {
		t.Errorf("sample diversity %+v (walks %d, max_node_share %v)", d, smp.Kept, m.Config.Sample.MaxNodeShare)
	}
	if d := q.Diversity; d == nil || d.Items != q.Kept || d.DistinctAnswers < 1 || d.DistinctAnswers > smp.Diversity.DistinctAnswers {
		t.Errorf("qa diversity %+v (kept %d)", d, q.Kept)
	}
	if len(q.GateRates) != len(q.Rejected) {
		t.Errorf("gate rates %v for rejections %v", q.GateRates, q.Rejected)
	}
	for reason, n := range q.Rejected {
		if got, want := q.GateRates[reason], float64(n)/float64(q.In); math.Abs(got-want) > 1e-12 {
			t.Errorf("gate rate of %s = %v, want %d/%d", reason, got, n, q.In)
		}
	}
	for _, want := range []string{"distinct answers", "largest node share"} {
		if strings.Count(out, want) < 2 {
			t.Errorf("inspect output lacks %q for walks and kept questions:\n%s", want, out)
		}
	}
	if len(q.Rejected) > 0 && !strings.Contains(out, "gate rates") {
		t.Errorf("inspect output lacks the gate rates:\n%s", out)
	}
	st, _ := run(t, "inspect", root, "--stage", "qa")
	if !strings.Contains(st, "  spread   ") {
		t.Errorf("inspect --stage qa lacks the spread:\n%s", st)
	}
}

// TestFatwikiSampleSpread samples the real Fante Wikipedia, where without
// caps most walks run through one or two pages (measured at 200 walks,
// seed 7: 141 through "New Patriotic Party", 12 distinct answers). With the
// default share caps no document may be on more than ceil(0.1 × 200) = 20
// walks; the graph then gives fewer walks (59), ending on more answers.
func TestFatwikiSampleSpread(t *testing.T) {
	data := sharedData(t)
	dump := filepath.Join(data, "wiki", "fatwiki-20240920-pages-articles-multistream.xml.bz2")
	measure := func(caps string) *pipeline.Diversity {
		cfg := writeConfig(t, fmt.Sprintf("seed: 7\ninput:\n  paths: [%q]\nsample:\n  walks: 200\n  min_hops: 2\n  max_hops: 4\n%s", dump, caps))
		root := filepath.Join(t.TempDir(), "out")
		run(t, "ingest", "--config", cfg, "--out", root, "--quiet")
		run(t, "sample", "--config", cfg, "--out", root, "--quiet")
		m, err := pipeline.ReadManifest(root)
		if err != nil {
			t.Fatal(err)
		}
		d := m.Stages["sample"].Diversity
		if d == nil {
			t.Fatal("no sample diversity in the manifest")
		}
		return d
	}
	off := measure("  max_node_share: 0\n  max_answer_share: 0\n")
	on := measure("")
	t.Logf("fatwiki, 200 walks asked: uncapped %d walks, %q on %d, %d distinct answers; capped %d walks, %q on %d, %d distinct answers",
		off.Items, off.TopNodeTitle, off.TopNodeItems, off.DistinctAnswers, on.Items, on.TopNodeTitle, on.TopNodeItems, on.DistinctAnswers)
	if off.TopNodeItems <= 20 {
		t.Fatalf("uncapped, the top node is on %d walks: fatwiki no longer shows the hub the cap is for", off.TopNodeItems)
	}
	if on.NodeCap != 20 || on.TopNodeItems > on.NodeCap {
		t.Errorf("capped, %q is on %d walks; the cap is %d, want ceil(0.1 × 200) = 20", on.TopNodeTitle, on.TopNodeItems, on.NodeCap)
	}
	// The floor is what was measured (16), so a change that loses the spread fails.
	if on.DistinctAnswers < 16 || on.DistinctAnswers <= off.DistinctAnswers {
		t.Errorf("capped, %d distinct answers (uncapped %d): want at least 16 and more than uncapped", on.DistinctAnswers, off.DistinctAnswers)
	}
}

func TestNoSecretInOutputs(t *testing.T) {
	const secret = "sk-test-0123456789abcdef-should-never-appear"
	cfg := writeConfig(t, "sample:\n  walks: 8\ninput:\n  paths: [corpus/demo/demowiki-pages-articles.xml]\n")
	root := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(binary(t), "run", "--config", cfg, "--out", root, "--log-level", "debug")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "MIROVERSE_LLM_API_KEY="+secret)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if bytes.Contains(out, []byte(secret)) {
		t.Error("API key printed")
	}
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("API key written to %s", p)
		}
		return nil
	})
}
