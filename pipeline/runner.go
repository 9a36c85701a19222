// Package pipeline runs the stages of a dataset version: it owns the config,
// the output-root layout, the manifest, item checkpoints, worker pools,
// progress and the Parquet sinks. The stages' domain logic lives in kg, qa
// and trajectory.
package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/pipeline/oracle"
	"github.com/miroverse/miroverse/pipeline/shard"
)

// Stage names, in run order.
const (
	StageIngest     = "ingest"
	StageSample     = "sample"
	StageQA         = "qa"
	StageSynthesize = "synthesize"
	StageJudge      = "judge"
	StageExport     = "export"
)

// Stages lists the stages in run order.
var Stages = []string{StageIngest, StageSample, StageQA, StageSynthesize, StageJudge, StageExport}

// Runner runs stages against one output root.
type Runner struct {
	cfg   Config
	mem   memoryPlan // cfg.MemoryBudget shared out
	root  string     // the local work dir (see placement)
	place placement
	shard shard.Spec
	// committing is the commit step's runner: its state merges every
	// shard's checkpoints, and the stages run only their global steps.
	committing bool
	log        *slog.Logger
	progress   io.Writer

	state    *State
	store    kg.Store
	manifest *Manifest

	mu     sync.Mutex // guards oracle start, clients and limiters
	oracle *oracle.Server
	// The built-in oracle's scaffolding, nil unless the role that uses it is
	// served by the built-in oracle (builtinOracle): the answer keys of the
	// agent role and what the closed-book role "has read". A real endpoint
	// never sees either, and the pipeline spends no work on them.
	keys     *answerKeys
	memory   *oracle.LeadMemory
	clients  map[string]llm.Chatter
	limiters map[string]*llm.Limiter // per endpoint (base URL + model), shared by its roles
	// watch books every LLM call in flight, for the progress line.
	watch *llm.Watch
	// cache is the response cache of the roles on real endpoints, opened
	// by the first client that needs it (nil: llm.cache off).
	cache       *llm.Cache
	cacheCloser io.Closer
	cacheMark   [2]int64 // the cache's hits and stores when the stage began

	// digest reads a whole input file for its size and SHA-256
	// (sha256File); describeInput calls it only when a file's stat changed.
	digest func(ctx context.Context, path string) (int64, string, error)
}

// Options are the parts of a run that are not configuration.
type Options struct {
	Log      *slog.Logger
	Progress io.Writer // where progress lines go; nil discards them
	// Shard is this task's place in a sharded run; the zero value is the
	// whole run. A shard works only on the items it owns and leaves the
	// global steps to Commit.
	Shard shard.Spec
	// CacheDir holds the local state of runs whose root is in object
	// storage or that are a shard ("": CacheEnv, else the user's cache).
	CacheDir string
}

// Open prepares root (creating its layout) for cfg.
func Open(ctx context.Context, cfg Config, root string, opt Options) (*Runner, error) {
	if opt.Shard.Count == 0 {
		opt.Shard = shard.Whole()
	}
	p, err := place(ctx, root, opt.Shard, opt.CacheDir)
	if err != nil {
		return nil, err
	}
	r, err := open(ctx, cfg, p, opt, func(ctx context.Context, st *State) error {
		if p.dest == nil {
			return nil
		}
		m, err := openMirror(ctx, p.dest.Bucket, p.mirror)
		if err != nil {
			return fmt.Errorf("open output root %s: %w", p.name, err)
		}
		if err := m.restore(ctx, st); err != nil {
			return fmt.Errorf("open output root %s: %w", p.name, err)
		}
		st.mirror = m
		return nil
	})
	if err != nil {
		if p.dest != nil {
			p.dest.Close()
		}
		return nil, err
	}
	if r.store, r.manifest.Graph.Path, err = openStore(ctx, cfg, r.root, opt.Log); err != nil {
		r.closeAll()
		return nil, err
	}
	r.manifest.Graph.Backend = cfg.Graph.Backend
	return r, nil
}

// open makes the runner of placement p: its work dir, its state (which
// fill prepares: the checkpoints of the root) and its manifest. The
// caller opens the graph store, if the run needs one.
func open(ctx context.Context, cfg Config, p placement, opt Options, fill func(context.Context, *State) error) (*Runner, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opt.Progress == nil {
		opt.Progress = io.Discard
	}
	// The config as a manifest records it (JSON drops empty lists and
	// maps): the commit step reads it back from a shard's manifest and must
	// derive the very fingerprints the shards did.
	cfg, err := cfg.viaJSON()
	if err != nil {
		return nil, err
	}
	root := p.work
	if err := os.MkdirAll(filepath.Join(root, "graph"), 0o755); err != nil {
		return nil, fmt.Errorf("open output root %s: %w", p.name, err)
	}
	st, err := OpenState(ctx, filepath.Join(root, "state.db"))
	if err != nil {
		return nil, err
	}
	if err := fill(ctx, st); err != nil {
		st.Close()
		return nil, err
	}
	mem, err := planMemory(cfg.MemoryBudget)
	if err != nil {
		st.Close()
		return nil, err
	}
	r := &Runner{cfg: cfg, mem: mem, root: root, place: p, shard: opt.Shard, log: opt.Log, progress: opt.Progress, state: st, clients: map[string]llm.Chatter{}, watch: llm.NewWatch(), digest: sha256File}
	if cfg.builtinOracle(llm.RoleAgent) {
		r.keys = newAnswerKeys()
	}
	for _, role := range roleNames {
		if !cfg.builtinOracle(role) {
			// Opened now, not by the first client, so that every stage can
			// hear of a replay miss (runStage).
			r.mu.Lock()
			_, err := r.cacheLocked(ctx)
			r.mu.Unlock()
			if err != nil {
				st.Close()
				return nil, err
			}
			break
		}
	}
	if cfg.QA.Verify.ClosedBook && cfg.builtinOracle(llm.RoleClosedBook) {
		r.memory = oracle.NewLeadMemory()
	}
	if p.dest == nil {
		r.manifest, err = ReadManifest(root)
	} else {
		r.manifest, err = readManifestKey(ctx, p.dest.Bucket, p.manifest)
	}
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			st.Close()
			return nil, err
		}
		r.manifest = &Manifest{Stages: map[string]*StageStats{}}
	}
	m := r.manifest
	m.FormatVersion, m.CodeVersion, m.Config, m.ConfigHash, m.Seed = ManifestVersion, codeVersion(), manifestConfig(cfg), cfg.Hash(), cfg.Seed
	if opt.Shard.Sharded() {
		m.Shard = opt.Shard.String()
	}
	if m.Stages == nil {
		m.Stages = map[string]*StageStats{}
	}
	if m.Outputs == nil {
		m.Outputs = map[string]*Output{}
	}
	if m.Prompts == nil {
		m.Prompts = map[string]string{}
	}
	if m.Models == nil {
		m.Models = map[string]string{}
	}
	return r, nil
}

// Close stops the oracle (if started) and closes the stores.
func (r *Runner) Close() error {
	var errs []error
	if r.oracle != nil {
		// Every call has returned by now; what can remain are keep-alive
		// connections the client opened but never used, which net/http's
		// graceful shutdown waits on for seconds. Cutting them is harmless.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := r.oracle.Close(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			errs = append(errs, err)
		}
		cancel()
	}
	return errors.Join(append(errs, r.closeAll())...)
}

// closeAll closes the store, the state and the root.
func (r *Runner) closeAll() error {
	var errs []error
	if r.cacheCloser != nil {
		errs = append(errs, r.cacheCloser.Close())
	}
	if r.store != nil {
		errs = append(errs, r.store.Close())
	}
	errs = append(errs, r.state.Close())
	if r.place.dest != nil {
		errs = append(errs, r.place.dest.Close())
	}
	return errors.Join(errs...)
}

// Manifest returns the manifest as it stands.
func (r *Runner) Manifest() *Manifest { return r.manifest }

// Shard is the run's place in a sharded run.
func (r *Runner) Shard() shard.Spec { return r.shard }

// Root is the output root, as messages name it.
func (r *Runner) Root() string { return r.place.name }

// RunAll runs every stage in order; each skips the items already committed.
func (r *Runner) RunAll(ctx context.Context) error {
	// A missing sandbox would stop the synthesize stage; say so before
	// hours of ingest and question writing rather than after.
	if err := r.preflightPythonTools(ctx); err != nil {
		return err
	}
	steps := []func(context.Context) error{
		func(ctx context.Context) error { return r.Ingest(ctx, r.cfg.Input.Paths) },
		r.Sample, r.QA, r.Synthesize, r.Judge, r.Export,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// saveManifest writes the manifest after a stage, and publishes it last,
// after the files it lists.
func (r *Runner) saveManifest(ctx context.Context) error {
	if err := r.manifest.write(r.root); err != nil {
		return err
	}
	if r.place.dest == nil {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(r.root, "manifest.json"))
	if err != nil {
		return fmt.Errorf("publish the manifest: %w", err)
	}
	if err := r.place.dest.WriteAll(ctx, r.place.manifest, b, nil); err != nil {
		return fmt.Errorf("publish the manifest: %w", err)
	}
	return nil
}

// beginStage checks a stage's fingerprint. A stage whose upstream or config
// changed since its items were committed starts over, so a root never mixes
// rows of two configurations. done reports a finished stage with the same
// fingerprint.
// Starting a stage over keeps the records of keep.
func (r *Runner) beginStage(ctx context.Context, stage, fingerprint string, keep ...Record) (done bool, err error) {
	fp, ok, err := r.state.Fingerprint(ctx, stage)
	if err != nil {
		return false, err
	}
	if ok && fp != fingerprint {
		r.log.Info("stage inputs changed; starting it over", "stage", stage)
		if err := r.state.ResetStage(ctx, stage, keep...); err != nil {
			return false, err
		}
	}
	done, err = r.state.StageDone(ctx, stage, fingerprint)
	if err != nil || done {
		return done, err
	}
	return false, r.state.SetStage(ctx, stage, fingerprint, false)
}

// endStage marks a stage done and stores its stats.
func (r *Runner) endStage(ctx context.Context, stage, fingerprint string, st *StageStats) error {
	st.Complete = true
	r.manifest.Stages[stage] = st
	if err := r.saveManifest(ctx); err != nil {
		return err
	}
	return r.state.SetStage(ctx, stage, fingerprint, true)
}

// fingerprint chains a stage's own settings to its upstream's fingerprint.
func (r *Runner) fingerprint(ctx context.Context, upstream string, parts ...any) (string, error) {
	var up string
	if upstream != "" {
		fp, _, err := r.state.Fingerprint(ctx, upstream)
		if err != nil {
			return "", err
		}
		up = fp
	}
	return chainFingerprint(up, parts...)
}

// chainFingerprint hashes upstream's fingerprint with the canonical JSON of
// parts. The encoding holds values and JSON keys only (no Go type names,
// object keys sorted), so that renaming a config type, or reordering or
// renaming its fields while their JSON keys stay, keeps a root's stages
// done, while any changed value starts them over.
func chainFingerprint(upstream string, parts ...any) (string, error) {
	b, err := canonicalJSON(parts)
	if err != nil {
		return "", fmt.Errorf("stage fingerprint: %w", err)
	}
	h := sha256.New()
	h.Write([]byte(upstream))
	h.Write([]byte{0})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// canonicalJSON is v as JSON with the keys of every object sorted: a
// round trip through untyped values, whose maps encoding/json writes in key
// order. Numbers stay as written (json.Number), so no int64 loses digits.
func canonicalJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	return json.Marshal(tree)
}

// itemSeed derives the seed of one item from the run seed and its id, so an
// item's random choices do not depend on which worker runs it or when.
func itemSeed(runSeed int64, id string) int64 {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(runSeed))
	h.Write(b[:])
	h.Write([]byte(id))
	// 31 bits: JSON clients and servers everywhere read it as an int.
	return int64(binary.BigEndian.Uint64(h.Sum(nil)[:8]) >> 33)
}

// stableID is a short content hash of the given parts.
func stableID(prefix string, parts ...string) string {
	h := sha256.New()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	return prefix + hex.EncodeToString(h.Sum(nil))[:16]
}

func relTo(root, path string) string {
	if rel, err := filepath.Rel(root, path); err == nil && filepath.IsLocal(rel) {
		return rel
	}
	return path
}

// forEach runs fn over items on n workers and stops at the first error.
func forEach[T any](ctx context.Context, n int, items []T, fn func(context.Context, T) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ch := make(chan T)
	var wg sync.WaitGroup
	for range max(n, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				if err := fn(ctx, it); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
feed:
	for _, it := range items {
		select {
		case ch <- it:
		case <-ctx.Done():
			break feed
		}
	}
	close(ch)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}
