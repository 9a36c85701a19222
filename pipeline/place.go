package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/miroverse/miroverse/internal/blobroot"
	"github.com/miroverse/miroverse/pipeline/shard"
)

// A run works in a local directory (its work dir: state.db, the embedded
// graph, Parquet before it is published). For an unsharded run into a
// local root that directory is the root itself, as it always was. A shard
// of a sharded run, or any run into object storage, works in a cache
// directory instead and keeps what must outlive the task in the root: its
// checkpoints (mirror), and the files it publishes, uploaded whole.

// CacheEnv names the cache directory when --cache-dir does not.
const CacheEnv = "MIROVERSE_CACHE_DIR"

// ShardDir is where shard s keeps its checkpoints and manifest in the root.
func ShardDir(s shard.Spec) string { return fmt.Sprintf("shards/%d-of-%d/", s.Index, s.Count) }

// placement is where one run works and publishes.
type placement struct {
	work string         // the local work dir
	dest *blobroot.Root // where files are published; nil: work is the root
	name string         // the root as messages show it
	// mirror is the prefix of the checkpoint journals in dest, and
	// manifest the key of this run's manifest there.
	mirror, manifest string
}

// place decides where a run of spec into root works. cacheDir "" means
// CacheEnv or the user's cache directory.
func place(ctx context.Context, root string, spec shard.Spec, cacheDir string) (placement, error) {
	if dir, ok := blobroot.LocalDir(root); ok && !spec.Sharded() {
		return placement{work: dir, name: dir}, nil
	}
	dest, err := blobroot.Open(ctx, root)
	if err != nil {
		return placement{}, err
	}
	p := placement{dest: dest, name: dest.String(), mirror: "checkpoints/", manifest: "manifest.json"}
	label := "whole"
	if spec.Sharded() {
		p.mirror, p.manifest = ShardDir(spec)+"checkpoints/", ShardDir(spec)+"manifest.json"
		label = fmt.Sprintf("shard-%d-of-%d", spec.Index, spec.Count)
	}
	if p.work, err = workDir(cacheDir, dest.String(), label); err != nil {
		dest.Close()
		return placement{}, err
	}
	return p, nil
}

// workDir is the cache directory of one run (label) into root.
func workDir(cacheDir, root, label string) (string, error) {
	if cacheDir == "" {
		cacheDir = os.Getenv(CacheEnv)
	}
	if cacheDir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no cache directory for the run's local state (%v): pass --cache-dir or set %s", err, CacheEnv)
		}
		cacheDir = filepath.Join(d, "miroverse")
	}
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(cacheDir, "roots", hex.EncodeToString(sum[:8]), label)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cache directory %s: %w", dir, err)
	}
	return dir, nil
}

// upload publishes the files of the work dir named by rels (slash paths
// relative to it) under the same keys in dest. Each object appears whole
// or not at all (a blob writer publishes on Close; fileblob renames a
// temporary), so a reader never sees half a file.
func upload(ctx context.Context, dest *blob.Bucket, work string, rels ...string) error {
	for _, rel := range rels {
		b, err := os.ReadFile(filepath.Join(work, filepath.FromSlash(rel)))
		if err != nil {
			return fmt.Errorf("publish %s: %w", rel, err)
		}
		if err := dest.WriteAll(ctx, rel, b, &blob.WriterOptions{ContentType: contentType(rel)}); err != nil {
			return fmt.Errorf("publish %s: %w", rel, err)
		}
	}
	return nil
}

func contentType(key string) string {
	switch path.Ext(key) {
	case ".parquet":
		return "application/vnd.apache.parquet"
	case ".json":
		return "application/json"
	case ".md":
		return "text/markdown; charset=utf-8"
	}
	return "application/octet-stream"
}

// removeStale deletes the Parquet files under dir/ in dest that keep does
// not name: an earlier publish with more shards left them.
func removeStale(ctx context.Context, dest *blob.Bucket, dir string, keep []string) error {
	want := map[string]bool{}
	for _, k := range keep {
		want[k] = true
	}
	it := dest.List(&blob.ListOptions{Prefix: dir + "/"})
	for {
		obj, err := it.Next(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("list %s: %w", dir, err)
		}
		if obj.IsDir || !strings.HasSuffix(obj.Key, ".parquet") || want[obj.Key] {
			continue
		}
		if strings.Contains(strings.TrimPrefix(obj.Key, dir+"/"), "/") {
			continue
		}
		if err := dest.Delete(ctx, obj.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return fmt.Errorf("remove stale %s: %w", obj.Key, err)
		}
	}
}

// readManifestKey reads a manifest from dest; os.ErrNotExist when there
// is none.
func readManifestKey(ctx context.Context, dest *blob.Bucket, key string) (*Manifest, error) {
	b, err := dest.ReadAll(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("read manifest %s: %w", key, os.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", key, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", key, err)
	}
	return &m, nil
}

// LoadManifest reads the manifest of any root: a local directory or
// object storage.
func LoadManifest(ctx context.Context, root string) (*Manifest, error) {
	if dir, ok := blobroot.LocalDir(root); ok {
		return ReadManifest(dir)
	}
	dest, err := blobroot.Open(ctx, root)
	if err != nil {
		return nil, err
	}
	defer dest.Close()
	return readManifestKey(ctx, dest.Bucket, "manifest.json")
}

// GraphDir is the local directory that holds the embedded graph of root:
// root itself when it is local; for a root in object storage, whose graph
// lives only in the caches of the tasks that built it, the work dir of a
// task of root on this machine (cacheDir as in Options.CacheDir) whose
// ingest finished.
func GraphDir(ctx context.Context, root, cacheDir string) (string, error) {
	if dir, ok := blobroot.LocalDir(root); ok {
		return dir, nil
	}
	dest, err := blobroot.Open(ctx, root)
	if err != nil {
		return "", err
	}
	name := dest.String()
	dest.Close()
	base, err := workDir(cacheDir, name, "")
	if err != nil {
		return "", err
	}
	stamps, _ := filepath.Glob(filepath.Join(base, "*", "graph", "ingest.fingerprint"))
	sort.Strings(stamps)
	if len(stamps) == 0 {
		return "", fmt.Errorf("the graph of %s is not in the root but in the cache of each task that ran on it, and no task of it ran on this machine (%s): "+
			"run the command where one did, with its --cache-dir, or ingest into a local root", name, base)
	}
	return filepath.Dir(filepath.Dir(stamps[0])), nil
}
