package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNeo4jLocationHasNoCredentials(t *testing.T) {
	tests := []struct {
		name, uri, want string
	}{
		{"plain", "neo4j://db.example:7687", "neo4j://db.example:7687/neo4j"},
		{"user and password", "neo4j://alice:s3cret@db.example:7687", "neo4j://db.example:7687/neo4j"},
		{"user only", "bolt+s://alice@db.example", "bolt+s://db.example/neo4j"},
		{"password in the query", "neo4j+s://db.example:7687?password=s3cret&policy=eu", "neo4j+s://db.example:7687/neo4j"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := neo4jLocation(tc.uri, "neo4j"); got != tc.want {
				t.Errorf("neo4jLocation(%q) = %q, want %q", tc.uri, got, tc.want)
			}
		})
	}
}

// TestManifestHasNoGraphCredentials: a URI with credentials in the config
// reaches the manifest scrubbed, while the config hash is still that of the
// config as given.
func TestManifestHasNoGraphCredentials(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Graph.URI = "neo4j://alice:s3cret@db.example:7687?password=s3cret"
	root := t.TempDir()
	r, err := Open(t.Context(), cfg, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.saveManifest(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "s3cret") || strings.Contains(string(b), "alice") {
		t.Errorf("manifest holds the graph credentials:\n%s", b)
	}
	m, err := ReadManifest(root)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Graph.URI != "neo4j://db.example:7687" || m.ConfigHash != cfg.Hash() {
		t.Errorf("manifest graph.uri %q, config hash %s; want the scrubbed URI and %s", m.Config.Graph.URI, m.ConfigHash, cfg.Hash())
	}
}
