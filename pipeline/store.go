package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/miroverse/miroverse/internal/redact"
	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/embedded"
	kgneo4j "github.com/miroverse/miroverse/kg/neo4j"
)

// openStore opens the configured graph backend. The location it returns is
// what the manifest records: a path under the root, or the Neo4j URI and
// database (never credentials).
func openStore(ctx context.Context, cfg Config, root string, log *slog.Logger) (kg.Store, string, error) {
	switch cfg.Graph.Backend {
	case "neo4j":
		uri := cfg.Graph.URI
		if uri == "" {
			uri = os.Getenv("NEO4J_URI")
		}
		if uri == "" {
			return nil, "", fmt.Errorf("graph.backend is neo4j but neither graph.uri nor NEO4J_URI is set (scripts/neo4j start prints one)")
		}
		user := os.Getenv("NEO4J_USER")
		if user == "" {
			user = "neo4j"
		}
		opt := kgneo4j.Options{
			URI: uri, Database: cfg.Graph.Database, User: user, Password: os.Getenv("NEO4J_PASSWORD"),
			NodeBatch: cfg.Graph.NodeBatch, RelBatch: cfg.Graph.RelBatch, Workers: cfg.Graph.Workers,
		}
		// A bulk load killed while the server was down for its import left
		// a journal: finish it first, or Open could not even connect.
		if resumed, err := kgneo4j.ResumeImport(ctx, bulkDir(root), opt); err != nil {
			return nil, "", fmt.Errorf("finish the interrupted bulk import of %s: %w", root, err)
		} else if resumed {
			log.Warn("finished a bulk import that an earlier run left half done", "dir", bulkDir(root))
		}
		st, err := kgneo4j.Open(ctx, opt)
		if err != nil {
			return nil, "", err
		}
		return st, neo4jLocation(uri, cfg.Graph.Database), nil
	default:
		path := cfg.Graph.Path
		if path == "" {
			path = filepath.Join(root, "graph", "kg.db")
		}
		mem, err := planMemory(cfg.MemoryBudget)
		if err != nil {
			return nil, "", err
		}
		st, err := embedded.OpenWith(ctx, path, mem.storeOptions())
		if err != nil {
			return nil, "", fmt.Errorf("open graph store %s: %w", path, err)
		}
		return st, relTo(root, path), nil
	}
}

// neo4jLocation is where the manifest says a Neo4j graph lives: the URI
// without user info or query (a password may sit in either) and the
// database. redact.URL is the scrubber used for every URL the pipeline
// records.
func neo4jLocation(uri, database string) string {
	return redact.URL(uri) + "/" + database
}

// manifestConfig is cfg as the manifest records it: the same, but for the
// Neo4j URI, scrubbed like the graph's location. The config hash stays that
// of cfg itself.
func manifestConfig(cfg Config) Config {
	if cfg.Graph.URI != "" {
		cfg.Graph.URI = redact.URL(cfg.Graph.URI)
	}
	return cfg
}

// stamper is implemented by stores that several output roots may share (a
// Neo4j database): they remember which ingest built their graph, so a root
// never trusts a graph that was wiped or rebuilt from other inputs.
type stamper interface {
	GraphStamp(ctx context.Context) (string, error)
	SetGraphStamp(ctx context.Context, stamp string) error
}
