package pipeline

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// State is the item checkpoint log of one output root. Each stage commits
// every finished item under its id, in its own transaction, so that a crash
// loses at most the items in flight and a re-run skips what is committed.
// Published Parquet is always rebuilt from here, sorted by id, which is what
// makes the rows independent of worker count and of interruptions.
type State struct {
	db *sql.DB
	// mirror, when set, holds the checkpoints in the output root too and
	// is written first: the root is the truth, state.db its cache.
	mirror *mirror
}

// Record is one committed item.
type Record struct {
	ID      string
	Status  string // kept, rejected, failed, or a stage-specific terminal state
	Reason  string
	Payload []byte // JSON of the stage's item
}

// OpenState opens (creating if needed) the checkpoint database at path.
func OpenState(ctx context.Context, path string) (*State, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	// One writer connection: SQLite serialises writers anyway, and a single
	// connection avoids SQLITE_BUSY between our own goroutines.
	db.SetMaxOpenConns(1)
	const schema = `
CREATE TABLE IF NOT EXISTS items (
  stage TEXT NOT NULL, id TEXT NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL,
  payload BLOB NOT NULL, PRIMARY KEY (stage, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stages (stage TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, done INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS inputs (path TEXT PRIMARY KEY, stat TEXT NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL);`
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	return &State{db: db}, nil
}

// Close closes the database.
func (s *State) Close() error { return s.db.Close() }

// Commit records items of a stage atomically. Committing an id again replaces
// it, which keeps re-runs idempotent.
func (s *State) Commit(ctx context.Context, stage string, recs ...Record) error {
	if s.mirror != nil && len(recs) > 0 {
		fp, ok, err := s.Fingerprint(ctx, baseStage(stage))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("commit %s: the stage has not been started", stage)
		}
		if err := s.mirror.commit(ctx, stage, fp, recs); err != nil {
			return err
		}
	}
	return s.commitLocal(ctx, stage, recs...)
}

func (s *State) commitLocal(ctx context.Context, stage string, recs ...Record) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("commit %s: %w", stage, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, r := range recs {
		if _, err := tx.ExecContext(ctx,
			`INSERT OR REPLACE INTO items(stage, id, status, reason, payload) VALUES (?, ?, ?, ?, ?)`,
			stage, r.ID, r.Status, r.Reason, r.Payload); err != nil {
			return fmt.Errorf("commit %s %s: %w", stage, r.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit %s: %w", stage, err)
	}
	return nil
}

// Committed returns the ids a stage has committed.
func (s *State) Committed(ctx context.Context, stage string) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM items WHERE stage = ?`, stage)
	if err != nil {
		return nil, fmt.Errorf("read %s checkpoints: %w", stage, err)
	}
	defer rows.Close()
	ids := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read %s checkpoints: %w", stage, err)
		}
		ids[id] = true
	}
	return ids, rows.Err()
}

// Each calls fn for every record of a stage in id order.
func (s *State) Each(ctx context.Context, stage string, fn func(Record) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT id, status, reason, payload FROM items WHERE stage = ? ORDER BY id`, stage)
	if err != nil {
		return fmt.Errorf("read %s items: %w", stage, err)
	}
	// Collect first: fn may write to the same single-connection database.
	var recs []Record
	for rows.Next() {
		var r Record
		if err := rows.Scan(&r.ID, &r.Status, &r.Reason, &r.Payload); err != nil {
			rows.Close()
			return fmt.Errorf("read %s items: %w", stage, err)
		}
		recs = append(recs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s items: %w", stage, err)
	}
	for _, r := range recs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// StageDone reports whether a stage finished with the given fingerprint.
func (s *State) StageDone(ctx context.Context, stage, fingerprint string) (bool, error) {
	var fp string
	var done int
	err := s.db.QueryRowContext(ctx, `SELECT fingerprint, done FROM stages WHERE stage = ?`, stage).Scan(&fp, &done)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read stage %s: %w", stage, err)
	}
	return done == 1 && fp == fingerprint, nil
}

// Fingerprint returns the fingerprint a stage was started or finished with.
func (s *State) Fingerprint(ctx context.Context, stage string) (string, bool, error) {
	var fp string
	err := s.db.QueryRowContext(ctx, `SELECT fingerprint FROM stages WHERE stage = ?`, stage).Scan(&fp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read stage %s: %w", stage, err)
	}
	return fp, true, nil
}

// SetStage records a stage's fingerprint and whether it is done.
func (s *State) SetStage(ctx context.Context, stage, fingerprint string, done bool) error {
	if s.mirror != nil {
		if err := s.mirror.setStage(ctx, stage, fingerprint, done); err != nil {
			return err
		}
	}
	return s.setStageLocal(ctx, stage, fingerprint, done)
}

func (s *State) setStageLocal(ctx context.Context, stage, fingerprint string, done bool) error {
	d := 0
	if done {
		d = 1
	}
	if _, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO stages(stage, fingerprint, done) VALUES (?, ?, ?)`, stage, fingerprint, d); err != nil {
		return fmt.Errorf("record stage %s: %w", stage, err)
	}
	return nil
}

// ResetStage forgets a stage's items, for a stage whose inputs changed,
// except keep, which it commits again in the same transaction: a crash
// between forgetting and keeping would lose them for good.
func (s *State) ResetStage(ctx context.Context, stage string, keep ...Record) error {
	if s.mirror != nil && len(keep) > 0 {
		// The mirror starts the stage's new journal only at SetStage; the
		// kept records (imported questions) have no place before it.
		return fmt.Errorf("reset stage %s: questions of qa import cannot be kept in a sharded or object-storage root", stage)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("reset stage %s: %w", stage, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, `DELETE FROM items WHERE stage = ? OR stage LIKE ? || '.%'`, stage, stage); err != nil {
		return fmt.Errorf("reset stage %s: %w", stage, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM stages WHERE stage = ?`, stage); err != nil {
		return fmt.Errorf("reset stage %s: %w", stage, err)
	}
	for _, r := range keep {
		if _, err := tx.ExecContext(ctx,
			`INSERT OR REPLACE INTO items(stage, id, status, reason, payload) VALUES (?, ?, ?, ?, ?)`,
			stage, r.ID, r.Status, r.Reason, r.Payload); err != nil {
			return fmt.Errorf("reset stage %s: keep %s: %w", stage, r.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("reset stage %s: %w", stage, err)
	}
	return nil
}

// Forget drops the records of ids from a stage (locally only: the commit
// step's merged state, which has no journal of its own).
func (s *State) Forget(ctx context.Context, stage string, ids ...string) error {
	if s.mirror != nil {
		return fmt.Errorf("forget %s items: the root's journal cannot forget", stage)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("forget %s items: %w", stage, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `DELETE FROM items WHERE stage = ? AND id = ?`, stage, id); err != nil {
			return fmt.Errorf("forget %s %s: %w", stage, id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("forget %s items: %w", stage, err)
	}
	return nil
}

// forgetAll drops every item and stage (not the input digests, which are
// a cache of the files' content and cost a full read to rebuild).
func (s *State) forgetAll(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM items; DELETE FROM stages;`); err != nil {
		return fmt.Errorf("clear the local checkpoint cache: %w", err)
	}
	return nil
}
