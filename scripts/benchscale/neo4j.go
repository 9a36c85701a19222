package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/miroverse/miroverse/pipeline"
)

// goalKind is which of the Neo4j goals a load mode answers to.
type goalKind int

const (
	// goalTransactional: ≥ 20k relationships/s, for appending to a live
	// database.
	goalTransactional goalKind = iota
	// goalBulk: ≥ 0.5× the relationships/s of neo4j-admin import, for a
	// load into an empty database (the import path itself).
	goalBulk
)

// neo4jMode is one way of loading the graph: the lines it adds to the
// config's graph section and the goal it is held to. Each mode loads into
// an emptied database with `miroverse ingest`; auto on the empty database
// takes the bulk path where the test server's neo4j-admin can run.
type neo4jMode struct {
	name  string
	graph string // YAML under graph:, indented by four spaces per line
	goal  goalKind
}

var neo4jModes = []neo4jMode{
	{name: "transactional", graph: "load: transactional", goal: goalTransactional},
	{name: "auto (empty database: bulk)", graph: "load: auto", goal: goalBulk},
}

// neo4jResult is one mode's load.
type neo4jResult struct {
	Mode    string   `json:"mode"`
	Goal    goalKind `json:"goal"`
	Rels    int64    `json:"relationships"`
	Seconds float64  `json:"seconds"` // the ingest stage: read, write, resolve
	RSS     int64    `json:"rss"`
}

func (r neo4jResult) RelsPerSec() float64 { return float64(r.Rels) / r.Seconds }

// adminResult is neo4j-admin database import full on the CSV export of the
// embedded graph.
type adminResult struct {
	Rels    int64   `json:"relationships"`
	Export  float64 `json:"export_s"` // miroverse export-graph --format neo4j-admin
	Import  float64 `json:"import_s"` // the import tool alone
	Skipped string  `json:"skipped,omitempty"`
}

func (a adminResult) RelsPerSec() float64 { return float64(a.Rels) / a.Import }

func measureNeo4j(ctx context.Context, log *slog.Logger, o options, r *result, embeddedRoot string) error {
	drv, err := neo4j.NewDriverWithContext(os.Getenv("NEO4J_URI"), neo4j.BasicAuth(neo4jUser(), os.Getenv("NEO4J_PASSWORD"), ""))
	if err != nil {
		return err
	}
	defer drv.Close(ctx)
	for _, mode := range neo4jModes {
		if err := emptyDatabase(ctx, drv); err != nil {
			return err
		}
		root := embeddedRoot + "-neo4j"
		if err := os.RemoveAll(root); err != nil {
			return err
		}
		cfg := filepath.Join(o.dir, "config-neo4j.yaml")
		yaml := fmt.Sprintf("seed: %d\ngraph:\n  backend: neo4j\n  database: neo4j\n", o.seed)
		for _, l := range strings.Split(mode.graph, "\n") {
			if l != "" {
				yaml += "  " + l + "\n"
			}
		}
		if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
			return err
		}
		log.Info("neo4j load", "mode", mode.name, "size", label(r.Articles))
		c, err := runChild(ctx, nil, o.bin, "--log-format", "json", "ingest", "--config", cfg, "--input", r.Dump.Dump, "--out", root)
		if err != nil {
			return err
		}
		m, err := pipeline.ReadManifest(root)
		os.RemoveAll(root)
		if err != nil {
			return err
		}
		res := neo4jResult{Mode: mode.name, Goal: mode.goal, Rels: m.Graph.Links, Seconds: m.Stages[pipeline.StageIngest].Seconds, RSS: c.rss}
		log.Info("neo4j loaded", "mode", mode.name, "relationships", res.Rels, "rels_per_s", fmt.Sprintf("%.0f", res.RelsPerSec()))
		r.Neo4j = append(r.Neo4j, res)
	}
	if err := emptyDatabase(ctx, drv); err != nil {
		return err
	}
	a, err := adminImport(ctx, log, o, embeddedRoot)
	if err != nil {
		return err
	}
	a.Rels = r.Links
	r.Admin = &a
	return nil
}

func neo4jUser() string {
	if u := os.Getenv("NEO4J_USER"); u != "" {
		return u
	}
	return "neo4j"
}

// emptyDatabase deletes every node; CALL … IN TRANSACTIONS keeps each
// transaction small, and it needs an auto-commit transaction, which the
// driver does not retry. A bulk load restarts the server under the
// driver's pooled connections, so a failed attempt is tried again for up
// to a minute, each on a fresh connection.
func emptyDatabase(ctx context.Context, drv neo4j.DriverWithContext) error {
	try := func() error {
		sess := drv.NewSession(ctx, neo4j.SessionConfig{DatabaseName: "neo4j"})
		defer sess.Close(ctx)
		res, err := sess.Run(ctx, "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS", nil)
		if err == nil {
			_, err = res.Consume(ctx)
		}
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		err := try()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("empty the Neo4j database: %w", err)
		}
		select {
		case <-time.After(2 * time.Second):
		case <-ctx.Done():
		}
	}
}

// adminImport exports the embedded graph as neo4j-admin CSV and times
// `neo4j-admin database import full` on it into a fresh home, with the
// import tool of the neo4j-harness classpath that scripts/neo4j resolves.
func adminImport(ctx context.Context, log *slog.Logger, o options, root string) (adminResult, error) {
	_, file, _, _ := runtime.Caller(0)
	cpFile := filepath.Join(filepath.Dir(file), "..", "neo4j-harness", "target", "classpath.txt")
	cp, err := os.ReadFile(cpFile)
	if err != nil {
		return adminResult{Skipped: "no neo4j-harness classpath (scripts/neo4j start makes it)"}, nil
	}
	csv := filepath.Join(o.dir, "neo4j-admin-csv")
	os.RemoveAll(csv)
	defer os.RemoveAll(csv)
	start := time.Now()
	c, err := runChild(ctx, nil, o.bin, "export-graph", "--format", "neo4j-admin", "--root", root, "--dir", csv)
	if err != nil {
		return adminResult{}, err
	}
	var a adminResult
	a.Export = time.Since(start).Seconds()
	_, argText, ok := strings.Cut(c.stdout, "import full ")
	if !ok {
		return a, fmt.Errorf("export-graph printed no import command: %s", c.stdout)
	}
	home, err := os.MkdirTemp(o.dir, "neo4j-admin-home-")
	if err != nil {
		return a, err
	}
	defer os.RemoveAll(home)
	if err := os.MkdirAll(filepath.Join(home, "conf"), 0o755); err != nil {
		return a, err
	}
	if err := os.WriteFile(filepath.Join(home, "conf", "neo4j.conf"), nil, 0o644); err != nil {
		return a, err
	}
	log.Info("neo4j-admin import", "csv", csv)
	args := append([]string{"-cp", strings.TrimSpace(string(cp)), "org.neo4j.cli.AdminTool", "database", "import", "full"}, strings.Fields(argText)...)
	// The import tool writes its import.report into its working directory.
	imp, err := runChildIn(ctx, home, []string{"NEO4J_HOME=" + home, "NEO4J_CONF=" + filepath.Join(home, "conf")}, "java", args...)
	if err != nil {
		return a, err
	}
	a.Import = imp.wall.Seconds()
	return a, nil
}
