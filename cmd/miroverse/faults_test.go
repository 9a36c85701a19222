package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/pipeline"
	"github.com/miroverse/miroverse/pipeline/oracle"
)

// TestFlakyOracleKeepsRows runs the demo against a built-in oracle that
// faults 20% of requests (every kind: 429 with and without Retry-After,
// 500, 502, 503, resets, hung requests, cut bodies, empty choices), with an
// API key in the environment. The client's retries must get every call
// through, so the run ends with exactly the rows of the fault-free demo,
// and the key must appear nowhere: not in stdout, not in the debug log, not
// in any file of the output root. It runs the binary, so that "nowhere"
// covers all the process prints, and the variables reach it through the
// real environment.
func TestFlakyOracleKeepsRows(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	const secret = "sk-flaky-0123456789abcdef-never-shown"
	ref := demo(t)
	// A short client timeout makes each hung request cost a second: the
	// client's read timeout fires long before the oracle's fault_hang.
	cfg := demoConfig(t, `
llm:
  default:
    timeout: 1s
  oracle:
    fault_hang: 1m
`)
	root := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(binary(t), "run", "--config", cfg, "--out", root, "--log-level", "debug", "--quiet")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), pipeline.EnvOracleFaultRate+"=0.2", "MIROVERSE_LLM_API_KEY="+secret)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("flaky run: %v\nstdout:\n%s\nstderr (tail):\n%s", err, stdout.String(), tail(stderr.String(), 4000))
	}

	compareRootsIgnoringAttempts(t, ref, root)

	m, err := pipeline.ReadManifest(root)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Config.LLM.Oracle.FaultRate; got != 0.2 {
		t.Errorf("manifest fault_rate %v, want 0.2 from %s", got, pipeline.EnvOracleFaultRate)
	}
	checkManifestInvariants(t, m)

	// The faults really happened, of every kind (the draw is seeded, so
	// this does not vary between runs), and the limiter reacted.
	log := stderr.String()
	for _, kind := range oracle.FaultKinds() {
		if !strings.Contains(log, `msg="oracle injected fault" kind=`+string(kind)+" ") {
			t.Errorf("no %s fault injected", kind)
		}
	}
	if !strings.Contains(log, "llm concurrency limit changed") || !strings.Contains(log, "after=overload") {
		t.Error("the concurrency limit never reacted to an overload")
	}

	if strings.Contains(stdout.String(), secret) || strings.Contains(log, secret) {
		t.Error("API key printed")
	}
	err = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("API key written to %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBadFaultRateEnvIsAnError: a malformed override is named, not ignored.
func TestBadFaultRateEnvIsAnError(t *testing.T) {
	res := runCLI(t, invocation{
		args: []string{"run", "--config", "configs/demo.yaml", "--out", t.TempDir()},
		env:  map[string]string{pipeline.EnvOracleFaultRate: "lots"},
	})
	if res.code != exitError {
		t.Fatalf("run with a fault rate of \"lots\": exit %d, want %d\n%s", res.code, exitError, res.stderr)
	}
	if !strings.Contains(res.stderr, pipeline.EnvOracleFaultRate) {
		t.Errorf("error does not name the variable: %s", res.stderr)
	}
}

// compareRootsIgnoringAttempts is compareRoots for a run whose calls were
// retried: the published Parquet of every stage (SFT and DPO included) must
// match byte for byte; the trajectories must match but for the wall-clock
// and attempt counts they record per rollout and per call.
func compareRootsIgnoringAttempts(t *testing.T, a, b string) {
	t.Helper()
	for _, dir := range []string{"subgraphs", "qa", "sft/data", "dpo/data"} {
		ha, hb := hashDir(t, filepath.Join(a, dir)), hashDir(t, filepath.Join(b, dir))
		if strings.Join(ha, ",") != strings.Join(hb, ",") {
			t.Errorf("%s differs between the fault-free and the flaky run:\n%v\n%v", dir, ha, hb)
		}
	}
	ta, tb := readTrajectories(t, a), readTrajectories(t, b)
	if len(ta) != len(tb) {
		t.Fatalf("trajectories: %d vs %d rows", len(ta), len(tb))
	}
	for i := range ta {
		ja, jb := withoutRetryTrace(t, ta[i]), withoutRetryTrace(t, tb[i])
		if ja != jb {
			t.Errorf("trajectory row %d differs beyond latency and attempts:\n%s\n%s", i, ja, jb)
			break
		}
	}
}

// withoutRetryTrace renders v as JSON without the fields that record how a
// call went rather than what it returned: latency and attempts, at any depth.
func withoutRetryTrace(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatal(err)
	}
	var strip func(any)
	strip = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, v := range x {
				switch strings.ToLower(k) {
				case "latencymillis", "latency_ms", "attempts":
					delete(x, k)
				default:
					strip(v)
				}
			}
		case []any:
			for _, v := range x {
				strip(v)
			}
		}
	}
	strip(x)
	out, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
