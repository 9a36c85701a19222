package pipeline

import (
	"context"
	"fmt"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/miroverse/miroverse/internal/blobroot"
	"github.com/miroverse/miroverse/internal/llm"
)

// blobCache is the response cache's store in a directory or a bucket.
// Writes through gocloud are whole-or-nothing (a file is renamed into
// place, an object appears when its upload ends), so runs and shards can
// share one cache.
type blobCache struct{ b *blob.Bucket }

func (c blobCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, err := c.b.ReadAll(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

func (c blobCache) Put(ctx context.Context, key string, entry []byte) error {
	return c.b.WriteAll(ctx, key, entry, &blob.WriterOptions{ContentType: "application/json"})
}

// cacheLocked opens the run's response cache on first use: llm.cache_path,
// or the root's cache/ (ROOT/cache locally, the cache/ prefix of a root in
// object storage). Nil when llm.cache is off. r.mu must be held.
func (r *Runner) cacheLocked(ctx context.Context) (*llm.Cache, error) {
	mode := r.cfg.LLM.Cache
	if mode == llm.CacheOff || mode == "" {
		return nil, nil
	}
	if r.cache != nil {
		return r.cache, nil
	}
	var b *blob.Bucket
	switch {
	case r.cfg.LLM.CachePath != "":
		root, err := blobroot.Open(ctx, r.cfg.LLM.CachePath)
		if err != nil {
			return nil, fmt.Errorf("llm.cache_path: %w", err)
		}
		b, r.cacheCloser = root.Bucket, root
	case r.place.dest != nil:
		b = blob.PrefixedBucket(r.place.dest.Bucket, "cache/")
		r.cacheCloser = b
	default:
		root, err := blobroot.Open(ctx, r.root+"/cache")
		if err != nil {
			return nil, fmt.Errorf("open the response cache: %w", err)
		}
		b, r.cacheCloser = root.Bucket, root
	}
	r.cache = llm.NewCache(mode, blobCache{b})
	return r.cache, nil
}
