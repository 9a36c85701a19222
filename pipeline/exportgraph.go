package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/miroverse/miroverse/kg/embedded"
	kgneo4j "github.com/miroverse/miroverse/kg/neo4j"
)

// ExportGraph writes the embedded graph of an output root in a bulk-load
// format. "neo4j-admin" gives the CSV files and headers that
// `neo4j-admin database import full` takes: the path for graphs too large for
// batched transactions.
func ExportGraph(ctx context.Context, root, format, dir, database string) (kgneo4j.AdminExport, error) {
	if format != "neo4j-admin" {
		return kgneo4j.AdminExport{}, fmt.Errorf("export-graph: format %q: only \"neo4j-admin\" is supported", format)
	}
	path := filepath.Join(root, "graph", "kg.db")
	if _, err := os.Stat(path); err != nil {
		return kgneo4j.AdminExport{}, fmt.Errorf("export-graph: no embedded graph at %s (run ingest with graph.backend embedded first): %w", path, err)
	}
	st, err := embedded.Open(ctx, path)
	if err != nil {
		return kgneo4j.AdminExport{}, fmt.Errorf("export-graph: %w", err)
	}
	defer st.Close()
	if dir == "" {
		dir = filepath.Join(root, "graph", "neo4j-admin")
	}
	return kgneo4j.WriteAdminImport(ctx, st, dir, kgneo4j.AdminOptions{Database: database})
}
