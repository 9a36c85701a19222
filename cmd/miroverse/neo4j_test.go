package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/parquet-go/parquet-go"

	"github.com/miroverse/miroverse/internal/testenv"
	"github.com/miroverse/miroverse/kg/embedded"
	kgneo4j "github.com/miroverse/miroverse/kg/neo4j"
	"github.com/miroverse/miroverse/pipeline"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/export"
)

// neo4jOrSkip returns the URI of the Neo4j that `make test` started; in CI a
// missing server fails the test instead of skipping it.
func neo4jOrSkip(t *testing.T) string {
	t.Helper()
	return testenv.Need(t, "NEO4J_URI", "run the tests through `make test`, which starts Neo4j")
}

// emptyNeo4j deletes everything in the database, so that this test's ingest
// is not refused as a different graph.
func emptyNeo4j(t *testing.T, uri string) {
	t.Helper()
	user := os.Getenv("NEO4J_USER")
	if user == "" {
		user = "neo4j"
	}
	ctx := context.Background()
	drv, err := neo4j.NewDriverWithContext(uri, neo4j.BasicAuth(user, os.Getenv("NEO4J_PASSWORD"), ""))
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close(ctx)
	// CALL … IN TRANSACTIONS needs an implicit (auto-commit) transaction.
	sess := drv.NewSession(ctx, neo4j.SessionConfig{DatabaseName: "neo4j"})
	defer sess.Close(ctx)
	res, err := sess.Run(ctx, "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS", nil)
	if err == nil {
		_, err = res.Consume(ctx)
	}
	if err != nil {
		t.Fatalf("empty neo4j: %v", err)
	}
}

// TestNeo4jRunMatchesEmbedded: the neo4j demo config gives the same walks,
// questions, verdicts and SFT/DPO row ids as the embedded one, except where
// the single-clause gate, which asks the store's search, decides otherwise:
// Lucene weighs a word by its rarity in each field and SQLite's bm25 over
// the whole row, so the top hits for a clause may differ. Those questions
// are counted and bounded; the rest must match exactly. Tool-result text
// may differ where the two search engines rank differently, and so may the
// end of a rollout whose route follows the ranking (counted and bounded too).
func TestNeo4jRunMatchesEmbedded(t *testing.T) {
	uri := neo4jOrSkip(t)
	emptyNeo4j(t, uri)
	ref := demo(t)
	root := filepath.Join(t.TempDir(), "out")
	run(t, "run", "--config", "configs/neo4j.yaml", "--out", root, "--quiet")
	m, err := pipeline.ReadManifest(root)
	if err != nil {
		t.Fatal(err)
	}
	if m.Graph.Backend != "neo4j" {
		t.Fatalf("graph backend %q", m.Graph.Backend)
	}
	// graph.load auto on the emptied database: the bulk path, since the
	// server make test starts has its neo4j-admin beside it.
	if m.Graph.Load != pipeline.LoadBulk {
		t.Errorf("graph.load auto on an empty database loaded %q (%s), want bulk", m.Graph.Load, m.Graph.LoadReason)
	}
	checkOutputs(t, root, m)

	// Equal walks for the same seed: the published subgraphs are byte-identical.
	if a, b := hashDir(t, filepath.Join(ref, "subgraphs")), hashDir(t, filepath.Join(root, "subgraphs")); strings.Join(a, ",") != strings.Join(b, ",") {
		t.Errorf("walks differ between backends: %v vs %v", a, b)
	}

	type question struct{ ID, Question, Status, Reason string }
	qs := func(root string) []question {
		rows, err := parquet.ReadFile[pipeline.QARow](filepath.Join(root, "qa", "part-00000.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		out := make([]question, len(rows))
		for i, r := range rows {
			out[i] = question{r.ID, r.Question, r.Status, r.Reason}
		}
		return out
	}
	embQ, neoQ := qs(ref), qs(root)
	if len(embQ) != len(neoQ) {
		t.Fatalf("%d questions on the embedded store, %d on neo4j", len(embQ), len(neoQ))
	}
	// same: the questions both backends ended alike, whose rows must match.
	same := map[string]bool{}
	singleClause, searchDiffers := 0, 0
	for i, a := range embQ {
		b := neoQ[i]
		if a.Reason == qa.ReasonSingleClause {
			singleClause++
		}
		switch {
		case a == b:
			same[a.ID] = true
		case a.ID == b.ID && a.Question == b.Question && (a.Reason == qa.ReasonSingleClause || b.Reason == qa.ReasonSingleClause) &&
			(a.Status == qa.StatusKept || b.Status == qa.StatusKept):
			searchDiffers++
		default:
			t.Errorf("question %d differs between backends:\nembedded %v\nneo4j    %v", i, a, b)
		}
	}
	t.Logf("single_clause: %d rejections on the embedded store, %d questions decided otherwise on neo4j", singleClause, searchDiffers)
	if singleClause == 0 || searchDiffers*4 > singleClause {
		t.Errorf("single_clause decided otherwise on neo4j for %d questions of the embedded store's %d rejections, want at most a quarter", searchDiffers, singleClause)
	}

	type verdict struct {
		ID, Answer string
		Correct    bool
	}
	// A rollout may end otherwise on neo4j only where its searches were
	// ranked otherwise (a failing rollout's wrong turn reads the
	// highest-ranked result it has not read yet); such rollouts are counted
	// and bounded, every other one must end alike.
	type ended struct {
		verdict verdict
		ranking string
	}
	ends := func(root string) map[string]ended {
		out := map[string]ended{}
		for _, r := range readTrajectories(t, root) {
			if same[r.QAID] {
				out[r.ID] = ended{verdict{r.ID, r.Answer, r.Correct}, searchRanking(r.Messages)}
			}
		}
		return out
	}
	embEnds, neoEnds := ends(ref), ends(root)
	if len(embEnds) != len(neoEnds) {
		t.Fatalf("%d rollouts of the shared questions on the embedded store, %d on neo4j", len(embEnds), len(neoEnds))
	}
	otherEnd := 0
	for id, e := range embEnds {
		n, ok := neoEnds[id]
		switch {
		case !ok:
			t.Errorf("rollout %s missing on neo4j", id)
		case e.verdict == n.verdict:
		case e.ranking == n.ranking:
			t.Errorf("rollout %s saw the same search rankings on both backends but ended %v on the embedded store, %v on neo4j", id, e.verdict, n.verdict)
		default:
			otherEnd++
			t.Logf("rollout %s ended %v on the embedded store, %v on neo4j, after other search rankings", id, e.verdict, n.verdict)
		}
	}
	t.Logf("rollouts: %d of %d ended otherwise on neo4j, each after other search rankings", otherEnd, len(embEnds))
	if otherEnd*8 > len(embEnds) {
		t.Errorf("%d of %d rollouts ended otherwise on neo4j, want at most an eighth", otherEnd, len(embEnds))
	}
	if a, b := rowIDs[export.SFTRow](t, ref, "sft/data", same), rowIDs[export.SFTRow](t, root, "sft/data", same); !equalSlices(a, b) {
		t.Errorf("SFT ids differ: %v vs %v", a, b)
	}
	if a, b := rowIDs[export.DPORow](t, ref, "dpo/data", same), rowIDs[export.DPORow](t, root, "dpo/data", same); !equalSlices(a, b) {
		t.Errorf("DPO ids differ: %v vs %v", a, b)
	}

	// The database now holds the demo graph: another root ingesting other
	// inputs into it is refused instead of mixing two graphs.
	other := writeConfig(t, "graph:\n  backend: neo4j\ninput:\n  paths: [corpus/demo/demowiki-pages-articles.xml, "+
		"corpus/demo/demowiki-pages-articles.xml]\n")
	res := runCLI(t, invocation{args: []string{"ingest", "--config", other, "--out", filepath.Join(t.TempDir(), "other"), "--quiet"}})
	if res.code != exitError || !strings.Contains(res.stderr, "other inputs") || !strings.Contains(res.stderr, uri) {
		t.Errorf("ingest of other inputs into the same database: exit %d, stderr:\n%s", res.code, res.stderr)
	}
}

// searchRanking is the titles of every google_search result of a log, in
// order, one search per line: what the search engine decided for the
// rollout, without the snippets (which the two engines cut differently).
func searchRanking(msgs []trajectory.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		if m.Content == nil || !strings.HasPrefix(*m.Content, `{"organic":`) {
			continue
		}
		var r struct {
			Organic []struct {
				Title string `json:"title"`
			} `json:"organic"`
		}
		if json.Unmarshal([]byte(*m.Content), &r) != nil {
			continue
		}
		for _, o := range r.Organic {
			b.WriteString(o.Title + "\t")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// rowIDs lists the ids of the rows in root/dir whose question is in keep.
func rowIDs[T any](t *testing.T, root, dir string, keep map[string]bool) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, dir, "*.parquet"))
	var ids []string
	for _, f := range files {
		rows, err := parquet.ReadFile[T](f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			switch v := any(r).(type) {
			case export.SFTRow:
				if keep[v.QAID] {
					ids = append(ids, v.ID)
				}
			case export.DPORow:
				if keep[v.QAID] {
					ids = append(ids, v.ID)
				}
			}
		}
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		t.Fatalf("no rows in %s/%s", root, dir)
	}
	return ids
}

func equalSlices[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestExportGraphImportsWithNeo4jAdmin: the CSV files of export-graph go
// through the real `neo4j-admin database import full` (the import tool on the
// neo4j-harness classpath), and a Neo4j started on the imported store serves
// the same graph as the embedded store it came from.
func TestExportGraphImportsWithNeo4jAdmin(t *testing.T) {
	neo4jOrSkip(t) // make test has resolved the harness classpath by now
	repo := repoRoot(t)
	cpBytes, err := os.ReadFile(filepath.Join(repo, "scripts", "neo4j-harness", "target", "classpath.txt"))
	if err != nil {
		t.Fatalf("harness classpath (made by scripts/neo4j start): %v", err)
	}
	root := filepath.Join(t.TempDir(), "out")
	run(t, "ingest", "--input", "corpus/demo/demowiki-pages-articles.xml", "--out", root, "--quiet")
	csvDir := filepath.Join(t.TempDir(), "csv")
	out, _ := run(t, "export-graph", "--format", "neo4j-admin", "--root", root, "--dir", csvDir)
	args := strings.Fields(out[strings.Index(out, "import full ")+len("import full "):])

	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "conf", "neo4j.conf"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cp := strings.TrimSpace(string(cpBytes))
	imp := exec.Command("java", append([]string{"-cp", cp, "org.neo4j.cli.AdminTool", "database", "import", "full"}, args...)...)
	imp.Env = append(os.Environ(), "NEO4J_HOME="+home, "NEO4J_CONF="+filepath.Join(home, "conf"))
	imp.Dir = home // the import tool writes its import.report into the working directory
	if b, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("neo4j-admin import: %v\n%s", err, b)
	}

	start := exec.Command(filepath.Join(repo, "scripts", "neo4j"), "start", "--home", home)
	startOut, err := start.Output()
	if err != nil {
		t.Fatalf("scripts/neo4j start on the imported store: %v\n%s", err, startOut)
	}
	t.Cleanup(func() { exec.Command(filepath.Join(repo, "scripts", "neo4j"), "stop", "--home", home).Run() })
	var uri string
	for _, line := range strings.Split(string(startOut), "\n") {
		if v, ok := strings.CutPrefix(line, "NEO4J_URI="); ok {
			uri = v
		}
	}
	ctx := context.Background()
	imported, err := kgneo4j.Open(ctx, kgneo4j.Options{URI: uri, Database: "neo4j", User: "neo4j", Password: neo4jPassword()})
	if err != nil {
		t.Fatal(err)
	}
	defer imported.Close()
	source, err := embedded.Open(ctx, filepath.Join(root, "graph", "kg.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer source.Close()

	ca, _ := source.Counts(ctx)
	cb, err := imported.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ca.Docs != cb.Docs || ca.Links != cb.Links || ca.Aliases != cb.Aliases || ca.Unresolved != cb.Unresolved {
		t.Errorf("counts: embedded %+v, imported %+v", ca, cb)
	}
	ga, _ := source.Snapshot(ctx)
	gb, err := imported.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ga, gb) {
		t.Error("snapshots of the embedded and the imported graph differ")
	}
	for _, title := range []string{"Marie Curie", "Mozart", "Praha"} { // a title and two redirect aliases
		a, errA := source.DocByTitle(ctx, title)
		b, errB := imported.DocByTitle(ctx, title)
		if errA != nil || errB != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("DocByTitle(%q): embedded %v %v, imported %v %v", title, a.ID, errA, b.ID, errB)
		}
	}
	hits, err := imported.Search(ctx, "Marie Curie", 3)
	if err != nil || len(hits) == 0 || hits[0].Title != "Marie Curie" {
		t.Errorf("search on the imported graph: %v %v", hits, err)
	}
}

func neo4jPassword() string {
	if p := os.Getenv("NEO4J_PASSWORD"); p != "" {
		return p
	}
	return "miroverse-test"
}

// neo4jConfig is configs/neo4j.yaml with graph.load set to mode.
func neo4jConfig(t *testing.T, mode string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "configs", "neo4j.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.Replace(string(b), "\n  load: auto\n", "\n  load: "+mode+"\n", 1)
	if yaml == string(b) && mode != pipeline.LoadAuto {
		t.Fatal("configs/neo4j.yaml has no graph.load: auto line to replace")
	}
	return writeConfig(t, yaml)
}

// TestNeo4jLoadModes: graph.load transactional fills an empty database over
// Bolt, and a bulk load killed with SIGKILL while the server is down for
// its import is finished by the same command run again. Both end with the
// walks of the embedded demo, as the bulk load does
// (TestNeo4jRunMatchesEmbedded).
func TestNeo4jLoadModes(t *testing.T) {
	uri := neo4jOrSkip(t)
	ref := hashDir(t, filepath.Join(demo(t), "subgraphs"))
	ingestAndSample := func(cfg, root string) *pipeline.Manifest {
		t.Helper()
		runBinary(t, nil, "ingest", "--config", cfg, "--out", root, "--quiet")
		runBinary(t, nil, "sample", "--config", cfg, "--out", root, "--quiet")
		m, err := pipeline.ReadManifest(root)
		if err != nil {
			t.Fatal(err)
		}
		if got := hashDir(t, filepath.Join(root, "subgraphs")); strings.Join(got, ",") != strings.Join(ref, ",") {
			t.Errorf("%s: walks differ from the embedded demo's:\n%v\n%v", root, got, ref)
		}
		return m
	}

	emptyNeo4j(t, uri)
	m := ingestAndSample(neo4jConfig(t, pipeline.LoadTransactional), filepath.Join(t.TempDir(), "out"))
	if m.Graph.Load != pipeline.LoadTransactional {
		t.Errorf("graph.load transactional loaded %q (%s)", m.Graph.Load, m.Graph.LoadReason)
	}

	emptyNeo4j(t, uri)
	cfg := neo4jConfig(t, pipeline.LoadAuto)
	root := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(binary(t), "ingest", "--config", cfg, "--out", root)
	cmd.Dir = repoRoot(t)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	var seen strings.Builder
	stopping := false
	for !stopping && sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		stopping = strings.Contains(sc.Text(), "bulk import: stopping the server")
	}
	if !stopping {
		cmd.Wait()
		t.Fatalf("ingest ended without starting a bulk import:\n%s", tail(seen.String(), 2000))
	}
	// The server's stop takes a few seconds; the kill lands while it is
	// down or importing, the window a crash costs the most in.
	time.Sleep(4 * time.Second)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, stderr)
	cmd.Wait()
	m = ingestAndSample(cfg, root)
	if ing := m.Stages[pipeline.StageIngest]; ing == nil || !ing.Complete || ing.Counts["links"] == 0 {
		t.Errorf("the resumed bulk ingest did not complete: %+v", ing)
	}
	// The server is back and serves the imported graph to other clients.
	emptyNeo4j(t, uri)
}
