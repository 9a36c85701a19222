package neo4j

import (
	"context"

	n4j "github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// stampKey is the Meta node of the ingest stamp.
const stampKey = "ingest_stamp"

// GraphStamp returns what the last complete ingest recorded as the identity
// of its inputs, or "" for a graph no ingest finished. A Neo4j database
// outlives the output roots that fill it: the stamp lets a root notice that
// the graph was wiped or rebuilt from other inputs since it last looked.
func (s *Store) GraphStamp(ctx context.Context) (string, error) {
	stamp := ""
	err := s.read(ctx, "read graph stamp", `OPTIONAL MATCH (m:Meta {key: $key}) RETURN m.value`,
		map[string]any{"key": stampKey},
		func() { stamp = "" },
		func(r *n4j.Record) error {
			stamp, _ = r.Values[0].(string)
			return nil
		})
	return stamp, err
}

// SetGraphStamp records the identity of the inputs of a finished ingest.
func (s *Store) SetGraphStamp(ctx context.Context, stamp string) error {
	return s.write(ctx, "write graph stamp", `MERGE (m:Meta {key: $key}) SET m.value = $stamp`,
		map[string]any{"key": stampKey, "stamp": stamp})
}
