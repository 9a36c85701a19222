package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/miroverse/miroverse/internal/atomicfile"
	"github.com/miroverse/miroverse/kg/embedded"
	kgneo4j "github.com/miroverse/miroverse/kg/neo4j"
)

// bulkLoader is a store that a bulk import can fill: the Neo4j store.
type bulkLoader interface {
	stamper
	Empty(ctx context.Context) (bool, int64, error)
	LocalAdmin(ctx context.Context, home string) (*kgneo4j.Admin, error)
	Import(ctx context.Context, a *kgneo4j.Admin, exp kgneo4j.AdminExport) (kgneo4j.ImportReport, error)
}

// What ingest does to a Neo4j graph, besides the modes of graph.load:
// nothing when the database already holds this ingest's graph.
const loadNone = "none"

// bulkDir is where a bulk load writes the neo4j-admin files (and the
// import's journal); stagingDir is the embedded store it resolves the graph
// in first.
func bulkDir(root string) string    { return filepath.Join(root, "graph", "neo4j-admin") }
func stagingDir(root string) string { return filepath.Join(root, "graph", "staging") }

// loadPlan is the decision of planLoad.
type loadPlan struct {
	mode, why string
	// admin runs the import; nil with mode bulk when graph.load says bulk
	// but this machine cannot run it (unavailable says why): the files are
	// written for the user to import.
	admin       *kgneo4j.Admin
	unavailable error
}

// loadGraph reads the dumps into the graph and resolves it. The embedded
// store is written directly; a Neo4j graph is loaded as planLoad decides.
func (r *Runner) loadGraph(ctx context.Context, paths []string, fp string, st *StageStats) error {
	bl, ok := r.store.(bulkLoader)
	if !ok {
		return r.loadTransactional(ctx, paths, st)
	}
	plan, err := r.planLoad(ctx, bl, fp)
	if err != nil {
		return err
	}
	r.manifest.Graph.Load, r.manifest.Graph.LoadReason = plan.mode, plan.why
	if plan.mode == LoadTransactional && plan.unavailable != nil {
		r.log.Warn("graph load", "mode", plan.mode, "why", plan.why)
	} else {
		r.log.Info("graph load", "mode", plan.mode, "why", plan.why)
	}
	switch plan.mode {
	case loadNone:
		// The counts of the manifest come from reading the dumps; nothing
		// is written.
		if err := readInputs(ctx, paths, discard{}, r.cfg, max(r.cfg.Graph.BatchSize, 1), st, r.log, r.progress, webSpillDir(r.root)); err != nil {
			return err
		}
		return r.removeBulkFiles()
	case LoadBulk:
		return r.loadBulk(ctx, bl, plan, paths, fp, st)
	default:
		return r.loadTransactional(ctx, paths, st)
	}
}

// planLoad chooses how to fill a Neo4j graph. The database is empty when
// it holds no node at all apart from the Meta nodes the store writes when
// it opens (kgneo4j.Store.Empty).
//
//   - A database stamped with this ingest's fingerprint already holds its
//     graph (an earlier run finished loading it and was stopped before it
//     recorded so): nothing to load.
//   - transactional: always batched transactions.
//   - bulk: a bulk import, which replaces the whole database, so only an
//     empty one; where this machine cannot run the import, the files are
//     still written and the stage fails saying what to do.
//   - auto: bulk on an empty database where the import can run here,
//     otherwise transactional (with a warning when only the tooling is
//     missing).
func (r *Runner) planLoad(ctx context.Context, bl bulkLoader, fp string) (loadPlan, error) {
	stamp, err := bl.GraphStamp(ctx)
	if err != nil {
		return loadPlan{}, fmt.Errorf("ingest: %w", err)
	}
	if stamp == fp {
		return loadPlan{mode: loadNone, why: "the database already holds this ingest's graph"}, nil
	}
	mode := r.cfg.Graph.Load
	if mode == LoadTransactional {
		return loadPlan{mode: LoadTransactional, why: "graph.load is transactional"}, nil
	}
	empty, nodes, err := bl.Empty(ctx)
	if err != nil {
		return loadPlan{}, fmt.Errorf("ingest: %w", err)
	}
	if !empty {
		if mode == LoadBulk {
			return loadPlan{}, fmt.Errorf("ingest: graph.load is bulk, which replaces the whole database, and %s holds %d nodes: "+
				"empty it (MATCH (n) DETACH DELETE n), or set graph.load: transactional (or auto) to add to it",
				r.manifest.Graph.Path, nodes)
		}
		return loadPlan{mode: LoadTransactional, why: fmt.Sprintf("the database is not empty (%d nodes)", nodes)}, nil
	}
	admin, err := bl.LocalAdmin(ctx, r.cfg.Graph.Neo4jHome)
	var unavailable *kgneo4j.BulkUnavailableError
	switch {
	case errors.As(err, &unavailable) && mode == LoadAuto:
		return loadPlan{mode: LoadTransactional, unavailable: err,
			why: "the database is empty, but bulk import cannot run here: " + unavailable.Reason}, nil
	case errors.As(err, &unavailable):
		return loadPlan{mode: LoadBulk, unavailable: err, why: "graph.load is bulk; " + unavailable.Reason}, nil
	case err != nil:
		return loadPlan{}, fmt.Errorf("ingest: %w", err)
	}
	why := "the database is empty and the server's neo4j-admin is at " + admin.Tool
	if mode == LoadBulk {
		why = "graph.load is bulk; " + why
	}
	return loadPlan{mode: LoadBulk, why: why, admin: admin}, nil
}

// loadTransactional writes the dumps into the store and resolves them.
func (r *Runner) loadTransactional(ctx context.Context, paths []string, st *StageStats) error {
	readStart := time.Now()
	if err := readInputs(ctx, paths, r.store, r.cfg, max(r.cfg.Graph.BatchSize, 1), st, r.log, r.progress, webSpillDir(r.root)); err != nil {
		return err
	}
	// Reading and resolution scale differently; the log tells them apart
	// (scripts/benchscale reads these two lines).
	r.log.Info("ingest read done", "seconds", time.Since(readStart).Seconds())
	finishStart := time.Now()
	if err := r.store.Finish(ctx); err != nil {
		return fmt.Errorf("ingest: resolve links: %w", err)
	}
	r.log.Info("links resolved", "seconds", time.Since(finishStart).Seconds())
	return nil
}

// loadBulk resolves the graph in an embedded staging store under the root,
// writes it as neo4j-admin files with the ingest's fingerprint as stamp,
// and has the server's neo4j-admin import them. Every step is one that a
// re-run after kill -9 repeats or finds done: the staging store's writes
// are idempotent (and a staging store of other inputs is dropped), the
// files are published whole, the import keeps a journal that the next
// Open finishes (kgneo4j.ResumeImport), and the imported graph carries the
// stamp, which planLoad takes for "loaded".
func (r *Runner) loadBulk(ctx context.Context, bl bulkLoader, plan loadPlan, paths []string, fp string, st *StageStats) error {
	start := time.Now()
	staging, err := r.openStaging(ctx, fp)
	if err != nil {
		return err
	}
	defer staging.Close()
	if err := readInputs(ctx, paths, staging, r.cfg, max(r.cfg.Graph.BatchSize, 1), st, r.log, r.progress, webSpillDir(r.root)); err != nil {
		return err
	}
	read := time.Since(start)
	r.log.Info("ingest read done", "seconds", read.Seconds())
	if err := staging.Finish(ctx); err != nil {
		return fmt.Errorf("ingest: resolve links in the staging store: %w", err)
	}
	resolved := time.Since(start)
	r.log.Info("links resolved", "seconds", (resolved - read).Seconds())
	exp, err := kgneo4j.WriteAdminImport(ctx, staging, bulkDir(r.root), kgneo4j.AdminOptions{Database: r.cfg.Graph.Database, Stamp: fp})
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	exported := time.Since(start)
	if err := staging.Close(); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	if plan.admin == nil {
		return bulkByHand(plan.unavailable, exp, r.manifest.Graph.Path)
	}
	// Hours may have passed since planLoad looked: the import replaces the
	// database, so it must still be empty.
	empty, nodes, err := bl.Empty(ctx)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	if !empty {
		return fmt.Errorf("ingest: %s received %d nodes while the graph was staged for a bulk import, which would replace them: "+
			"run again with graph.load: transactional to add to them", r.manifest.Graph.Path, nodes)
	}
	r.log.Info("bulk import: stopping the server to import into its database", "home", plan.admin.Home, "files", exp.Dir,
		"documents", exp.Documents, "links", exp.Links)
	rep, err := bl.Import(ctx, plan.admin, exp)
	if err != nil {
		return fmt.Errorf("ingest: bulk import: %w", err)
	}
	r.log.Info("bulk import done", "read", read.Round(time.Millisecond), "resolve", (resolved - read).Round(time.Millisecond),
		"export", (exported - resolved).Round(time.Millisecond), "stop", rep.Stop.Round(time.Millisecond),
		"import", rep.Import.Round(time.Millisecond), "start", rep.Start.Round(time.Millisecond),
		"schema", rep.Schema.Round(time.Millisecond), "links", exp.Links)
	return r.removeBulkFiles()
}

// openStaging opens the staging store, dropping one that holds another
// ingest's records: its fingerprint is kept beside it.
func (r *Runner) openStaging(ctx context.Context, fp string) (*embedded.Store, error) {
	dir := stagingDir(r.root)
	stampFile := filepath.Join(dir, "fingerprint")
	if b, err := os.ReadFile(stampFile); err != nil || strings.TrimSpace(string(b)) != fp {
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("ingest: drop the old staging store: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ingest: staging store: %w", err)
	}
	if err := atomicfile.WriteFile(stampFile, []byte(fp+"\n")); err != nil {
		return nil, fmt.Errorf("ingest: staging store: %w", err)
	}
	// Neo4j indexes the text itself once the graph is imported.
	opt := r.mem.storeOptions()
	opt.NoSearchIndex = true
	st, err := embedded.OpenWith(ctx, filepath.Join(dir, "kg.db"), opt)
	if err != nil {
		return nil, fmt.Errorf("ingest: staging store: %w", err)
	}
	return st, nil
}

// removeBulkFiles deletes the staging store and the import files once the
// database holds the graph: they are a copy of it.
func (r *Runner) removeBulkFiles() error {
	for _, dir := range []string{stagingDir(r.root), bulkDir(r.root)} {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("ingest: remove the bulk-load files: %w", err)
		}
	}
	return nil
}

// bulkByHand is the error of graph.load bulk where this machine cannot run
// the import: the files are ready, and it says how to finish.
func bulkByHand(why error, exp kgneo4j.AdminExport, graph string) error {
	return fmt.Errorf("ingest: graph.load is bulk, but %v.\n"+
		"The graph (%d documents, %d links) is ready for neo4j-admin in %s. To finish the ingest:\n"+
		"  1. copy that directory to the Neo4j server of %s, if it is another machine;\n"+
		"  2. there, stop Neo4j (neo4j stop), run %s (neo4j-admin database import full --overwrite-destination … %s;\n"+
		"     set NEO4J_ADMIN to the tool's path when neo4j-admin is not on PATH), and start Neo4j again (neo4j start);\n"+
		"  3. run this same command again: it finds the imported graph and goes on.\n"+
		"Or set graph.load: transactional to load the graph over Bolt instead",
		why, exp.Documents, exp.Links, exp.Dir, graph, exp.Script, exp.Database)
}
