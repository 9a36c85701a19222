package embedded

import (
	"context"
	"fmt"

	"github.com/miroverse/miroverse/kg"
)

// EachDoc calls fn for every document in id order, streaming: the graph is
// never held in memory whole (export-graph walks enwiki-sized stores).
func (s *Store) EachDoc(ctx context.Context, fn func(kg.Doc) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT `+docColumns+` FROM docs ORDER BY id`)
	if err != nil {
		return fmt.Errorf("embedded %s: read documents: %w", s.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDoc(rows)
		if err != nil {
			return fmt.Errorf("embedded %s: read documents: %w", s.path, err)
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	return rows.Err()
}

// EachLink calls fn for every resolved link in (src, dst, anchor, sentence) order.
func (s *Store) EachLink(ctx context.Context, fn func(kg.Link) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT src, dst, anchor, sentence FROM links ORDER BY src, dst, anchor, sentence`)
	if err != nil {
		return fmt.Errorf("embedded %s: read links: %w", s.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var l kg.Link
		if err := rows.Scan(&l.Src, &l.Dst, &l.Anchor, &l.Sentence); err != nil {
			return fmt.Errorf("embedded %s: read links: %w", s.path, err)
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	return rows.Err()
}

// EachAlias calls fn for every alias in (doc id, alias, kind) order.
func (s *Store) EachAlias(ctx context.Context, fn func(kg.Alias) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT doc_id, alias, kind FROM aliases ORDER BY doc_id, alias, kind`)
	if err != nil {
		return fmt.Errorf("embedded %s: read aliases: %w", s.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a kg.Alias
		if err := rows.Scan(&a.DocID, &a.Alias, &a.Kind); err != nil {
			return fmt.Errorf("embedded %s: read aliases: %w", s.path, err)
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	return rows.Err()
}

// EachRawLink calls fn for every raw link as written, in source order (and
// then target, anchor, sentence): the bulk path to Neo4j keeps raw links
// so that a later Finish there can run on them.
func (s *Store) EachRawLink(ctx context.Context, fn func(kg.RawLink) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT src, target, anchor, sentence FROM raw_links ORDER BY src, target, anchor, sentence`)
	if err != nil {
		return fmt.Errorf("embedded %s: read raw links: %w", s.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var l kg.RawLink
		if err := rows.Scan(&l.Src, &l.Target, &l.Anchor, &l.Sentence); err != nil {
			return fmt.Errorf("embedded %s: read raw links: %w", s.path, err)
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	return rows.Err()
}

// EachRedirect calls fn for every redirect in order of its source title.
func (s *Store) EachRedirect(ctx context.Context, fn func(kg.Redirect) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT from_title, to_title FROM redirects ORDER BY from_title`)
	if err != nil {
		return fmt.Errorf("embedded %s: read redirects: %w", s.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r kg.Redirect
		if err := rows.Scan(&r.From, &r.To); err != nil {
			return fmt.Errorf("embedded %s: read redirects: %w", s.path, err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}
