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
	cfg      Config
	mem      memoryPlan // cfg.MemoryBudget shared out
	root     string
	log      *slog.Logger
	progress io.Writer

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

	// digest reads a whole input file for its size and SHA-256
	// (sha256File); describeInput calls it only when a file's stat changed.
	digest func(ctx context.Context, path string) (int64, string, error)
}

// Options are the parts of a run that are not configuration.
type Options struct {
	Log      *slog.Logger
	Progress io.Writer // where progress lines go; nil discards them
}

// Open prepares root (creating its layout) for cfg.
func Open(ctx context.Context, cfg Config, root string, opt Options) (*Runner, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opt.Progress == nil {
		opt.Progress = io.Discard
	}
	if err := os.MkdirAll(filepath.Join(root, "graph"), 0o755); err != nil {
		return nil, fmt.Errorf("open output root %s: %w", root, err)
	}
	st, err := OpenState(ctx, filepath.Join(root, "state.db"))
	if err != nil {
		return nil, err
	}
	mem, err := planMemory(cfg.MemoryBudget)
	if err != nil {
		st.Close()
		return nil, err
	}
	r := &Runner{cfg: cfg, mem: mem, root: root, log: opt.Log, progress: opt.Progress, state: st, clients: map[string]llm.Chatter{}, digest: sha256File}
	if cfg.builtinOracle(llm.RoleAgent) {
		r.keys = newAnswerKeys()
	}
	if cfg.QA.Verify.ClosedBook && cfg.builtinOracle(llm.RoleClosedBook) {
		r.memory = oracle.NewLeadMemory()
	}
	r.manifest, err = ReadManifest(root)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			st.Close()
			return nil, err
		}
		r.manifest = &Manifest{Stages: map[string]*StageStats{}}
	}
	m := r.manifest
	m.FormatVersion, m.CodeVersion, m.Config, m.ConfigHash, m.Seed = ManifestVersion, codeVersion(), manifestConfig(cfg), cfg.Hash(), cfg.Seed
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
	store, where, err := openStore(ctx, cfg, root, opt.Log)
	if err != nil {
		st.Close()
		return nil, err
	}
	r.store = store
	m.Graph.Backend, m.Graph.Path = cfg.Graph.Backend, where
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
	errs = append(errs, r.store.Close(), r.state.Close())
	return errors.Join(errs...)
}

// Manifest returns the manifest as it stands.
func (r *Runner) Manifest() *Manifest { return r.manifest }

// Root is the output root.
func (r *Runner) Root() string { return r.root }

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

// saveManifest writes the manifest after a stage.
func (r *Runner) saveManifest() error { return r.manifest.write(r.root) }

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
	if err := r.saveManifest(); err != nil {
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
