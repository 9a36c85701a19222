package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/miroverse/miroverse/internal/blobroot"
	"github.com/miroverse/miroverse/pipeline/shard"
)

// A Neo4j graph is one database that every shard reads, so its ingest can
// itself be split: each of N tasks reads a slice of the multistream dumps'
// streams into it (IngestSlice; the store's writes are idempotent and
// name documents by id, so the slices need no coordination), and one
// resolution step after all of them (ResolveIngest) resolves the links and
// redirects over the whole graph and stamps it as this ingest's. The shards
// of the run then find the graph stamped and load nothing. The embedded
// store is a file each task builds whole in its own cache instead.

// stageIngestRead is a shard's slice of a sharded Neo4j ingest. It is no
// stage of the run (Stages): its settings differ from shard to shard.
const stageIngestRead = "ingest-read"

// IngestSlice reads this shard's slice of the streams of the multistream
// dumps paths into the Neo4j graph, without resolving links.
func (r *Runner) IngestSlice(ctx context.Context, paths []string) error {
	if !r.shard.Sharded() {
		return errors.New("ingest: a slice of the streams is a shard's: pass --shard I/N")
	}
	stamps, ok := r.store.(stamper)
	if !ok {
		return fmt.Errorf("ingest: shard %s: a sharded read of the streams is for graph.backend neo4j; with the embedded store each shard builds the whole graph in its cache (miroverse run --shard)", r.shard)
	}
	if len(paths) == 0 {
		return fmt.Errorf("ingest: no input paths (set input.paths in the config or pass --input)")
	}
	if _, webs, err := splitInputs(paths); err != nil {
		return err
	} else if len(webs) > 0 {
		return fmt.Errorf("ingest: shard %s: %s is not a wiki dump; a sharded ingest reads multistream dumps only (ingest web inputs in one process)", r.shard, webs[0])
	}
	inputs, err := r.describeInputs(ctx, paths)
	if err != nil {
		return err
	}
	whole, err := chainFingerprint("", ingestSettings(inputs, r.cfg.Graph.Backend, r.cfg.Input)...)
	if err != nil {
		return err
	}
	slice := r.cfg
	slice.Input.Shard, slice.Input.Shards = r.shard.Index, r.shard.Count
	return runStage(ctx, r, stage[noItems]{
		name: stageIngestRead, settings: ingestSettings(inputs, r.cfg.Graph.Backend, slice.Input),
		global: func(ctx context.Context, _ string) (*StageStats, error) {
			stamp, err := stamps.GraphStamp(ctx)
			if err != nil {
				return nil, fmt.Errorf("ingest: %w", err)
			}
			if stamp != "" && stamp != whole {
				return nil, fmt.Errorf("ingest: graph %s already holds a graph built from other inputs; "+
					"empty it (MATCH (n) DETACH DELETE n) or use another database (graph.database)", r.manifest.Graph.Path)
			}
			st := newStageStats()
			if stamp == whole {
				r.log.Info("the graph is resolved already; nothing to read", "shard", r.shard.String())
				return st, nil
			}
			start := time.Now()
			if err := readInputs(ctx, paths, r.store, slice, max(r.cfg.Graph.BatchSize, 1), st, r.log, r.progress, webSpillDir(r.root)); err != nil {
				return nil, err
			}
			r.log.Info("ingest slice read", "shard", r.shard.String(), "seconds", time.Since(start).Seconds(), "pages", st.In)
			return st, nil
		},
	})
}

// ResolveIngest is the resolution step after the N slices of IngestSlice:
// once every shard has read its slice (their manifests under the root
// say so), it resolves the links over the whole graph and stamps the graph
// with the fingerprint of this config's unsharded ingest, which the
// shards' ingest stage then finds.
func (r *Runner) ResolveIngest(ctx context.Context, paths []string, n int) error {
	stamps, ok := r.store.(stamper)
	if !ok {
		return errors.New("ingest --resolve: the resolution step of a sharded ingest is for graph.backend neo4j")
	}
	if n < 2 {
		return fmt.Errorf("ingest --resolve: --shards %d: want the number of slices the ingest was split into", n)
	}
	dest := r.place.dest
	if dest == nil {
		local, err := blobroot.Open(ctx, r.place.name)
		if err != nil {
			return err
		}
		defer local.Close()
		dest = local
	}
	var missing []string
	for i := range n {
		spec := shard.Spec{Index: i, Count: n}
		m, err := readManifestKey(ctx, dest.Bucket, ShardDir(spec)+"manifest.json")
		switch {
		case errors.Is(err, os.ErrNotExist):
			missing = append(missing, fmt.Sprintf("shard %s has not run", spec))
		case err != nil:
			return fmt.Errorf("ingest --resolve: %w", err)
		case m.Stages[stageIngestRead] == nil || !m.Stages[stageIngestRead].Complete:
			missing = append(missing, fmt.Sprintf("shard %s has not read its slice", spec))
		case m.ConfigHash != r.manifest.ConfigHash:
			missing = append(missing, fmt.Sprintf("shard %s read with another config (%.12s)", spec, m.ConfigHash))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("ingest --resolve: %s; run `miroverse ingest --config FILE --out ROOT --shard I/%d` for them first",
			strings.Join(missing, "; "), n)
	}
	inputs, err := r.describeInputs(ctx, paths)
	if err != nil {
		return err
	}
	fp, err := chainFingerprint("", ingestSettings(inputs, r.cfg.Graph.Backend, r.cfg.Input)...)
	if err != nil {
		return err
	}
	stamp, err := stamps.GraphStamp(ctx)
	if err != nil {
		return fmt.Errorf("ingest --resolve: %w", err)
	}
	if stamp == fp {
		r.log.Info("the graph is resolved already")
		return nil
	}
	start := time.Now()
	if err := r.store.Finish(ctx); err != nil {
		return fmt.Errorf("ingest --resolve: resolve links: %w", err)
	}
	r.log.Info("links resolved", "seconds", time.Since(start).Seconds())
	if err := stamps.SetGraphStamp(ctx, fp); err != nil {
		return fmt.Errorf("ingest --resolve: %w", err)
	}
	return nil
}
