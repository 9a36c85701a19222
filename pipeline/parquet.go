package pipeline

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/miroverse/miroverse/internal/atomicfile"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// shardName names shard i of n in the Hugging Face layout.
func shardName(i, n int) string { return fmt.Sprintf("train-%05d-of-%05d.parquet", i, n) }

// partName names part i of a stage's output.
func partName(i, _ int) string { return fmt.Sprintf("part-%05d.parquet", i) }

// writeShards writes rows to dir as shards of at most shardRows rows, each
// file atomically, and removes files of an earlier run that the new set does
// not overwrite. It returns the file names relative to dir. An empty row set
// still gets one (empty) file so that readers find the schema.
func writeShards[T any](dir string, rows []T, shardRows, rowGroupRows int, name func(i, n int) string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write shards %s: %w", dir, err)
	}
	if shardRows <= 0 {
		shardRows = len(rows) + 1
	}
	n := (len(rows) + shardRows - 1) / shardRows
	if n == 0 {
		n = 1
	}
	keep := map[string]bool{}
	var files []string
	for i := 0; i < n; i++ {
		lo := i * shardRows
		hi := min(lo+shardRows, len(rows))
		if lo > hi {
			lo = hi
		}
		fname := name(i, n)
		if err := writeParquet(filepath.Join(dir, fname), rows[lo:hi], rowGroupRows); err != nil {
			return nil, err
		}
		keep[fname] = true
		files = append(files, fname)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.parquet"))
	for _, f := range old {
		if !keep[filepath.Base(f)] {
			if err := os.Remove(f); err != nil {
				return nil, fmt.Errorf("remove stale shard %s: %w", f, err)
			}
		}
	}
	return files, nil
}

// writeParquet writes one zstd-compressed file with bounded row groups.
func writeParquet[T any](path string, rows []T, rowGroupRows int) error {
	if rowGroupRows <= 0 {
		rowGroupRows = 1000
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		f.Abort()
		return fmt.Errorf("write %s: %w", path, err)
	}
	w := parquet.NewGenericWriter[T](f, parquet.Compression(&zstd.Codec{}), parquet.CreatedBy("miroverse", "1", ""))
	for lo := 0; lo < len(rows); lo += rowGroupRows {
		hi := min(lo+rowGroupRows, len(rows))
		if _, err := w.Write(rows[lo:hi]); err != nil {
			return fail(err)
		}
		if err := w.Flush(); err != nil {
			return fail(err)
		}
	}
	if err := w.Close(); err != nil {
		return fail(err)
	}
	return f.Commit()
}
