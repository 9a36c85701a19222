package pipeline

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// racyWindow: a file whose mtime is this close to the moment it was hashed
// is not cached, because a write within the same timestamp tick (2 s on
// FAT, 1 s on some network file systems) would leave its stat unchanged.
const racyWindow = 2 * time.Second

// describeInput identifies an input by size and content hash, so a changed
// file re-runs ingest and everything after it. Hashing a dump means reading
// all of it (tens of GB for English Wikipedia), so the hash is kept in
// state.db with the file's stat (statKey: size and mtime, and on Linux
// ctime, inode and device, the way git's index tells a file unchanged) and
// read again only when that stat differs: a re-run of a finished ingest
// only stats its inputs.
func (r *Runner) describeInput(ctx context.Context, path string) (InputFile, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return InputFile{}, fmt.Errorf("ingest: %w", err)
	}
	if fi.IsDir() {
		// A directory's stat does not change when a file in it is
		// rewritten, so its digest is never cached.
		n, sum, err := digestDir(ctx, path)
		return InputFile{Path: path, Bytes: n, SHA256: sum}, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return InputFile{}, fmt.Errorf("ingest: %w", err)
	}
	key := statKey(fi)
	if in, ok, err := r.state.inputDigest(ctx, abs, key); err != nil || ok {
		in.Path = path
		return in, err
	}
	started := time.Now()
	n, sum, err := r.digest(ctx, path)
	if err != nil {
		return InputFile{}, err
	}
	in := InputFile{Path: path, Bytes: n, SHA256: sum}
	// Cache only a file that did not change while it was read and whose
	// next change is sure to show in its stat.
	if after, err := os.Stat(path); err == nil && statKey(after) == key && started.Sub(after.ModTime()) >= racyWindow {
		if err := r.state.recordInputDigest(ctx, abs, key, in); err != nil {
			return InputFile{}, err
		}
	}
	return in, nil
}

// sha256File reads a whole file and returns its size and SHA-256.
func sha256File(ctx context.Context, path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", fmt.Errorf("ingest: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, f})
	if err != nil {
		return 0, "", fmt.Errorf("ingest: read %s: %w", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// digestDir identifies a directory input by its files: the SHA-256 of
// every file's relative path and content hash, in lexical order.
func digestDir(ctx context.Context, dir string) (int64, string, error) {
	h := sha256.New()
	var total int64
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n, sum, err := sha256File(ctx, p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		total += n
		fmt.Fprintf(h, "%s\x00%s\n", filepath.ToSlash(rel), sum)
		return nil
	})
	if err != nil {
		return 0, "", fmt.Errorf("ingest: %w", err)
	}
	return total, hex.EncodeToString(h.Sum(nil)), nil
}

// ctxReader stops a long read when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// inputDigest returns the recorded size and hash of the file at path when
// its stat is still key.
func (s *State) inputDigest(ctx context.Context, path, key string) (InputFile, bool, error) {
	var in InputFile
	var k string
	err := s.db.QueryRowContext(ctx, `SELECT stat, bytes, sha256 FROM inputs WHERE path = ?`, path).Scan(&k, &in.Bytes, &in.SHA256)
	if errors.Is(err, sql.ErrNoRows) {
		return InputFile{}, false, nil
	}
	if err != nil {
		return InputFile{}, false, fmt.Errorf("read input digest of %s: %w", path, err)
	}
	if k != key {
		return InputFile{}, false, nil
	}
	return in, true, nil
}

// recordInputDigest records the size and hash of the file at path with its stat.
func (s *State) recordInputDigest(ctx context.Context, path, key string, in InputFile) error {
	if _, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO inputs(path, stat, bytes, sha256) VALUES (?, ?, ?, ?)`,
		path, key, in.Bytes, in.SHA256); err != nil {
		return fmt.Errorf("record input digest of %s: %w", path, err)
	}
	return nil
}
