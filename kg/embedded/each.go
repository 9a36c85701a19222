package embedded

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

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

// EachLink calls fn for every resolved link in (src, dst, anchor,
// sentence) order. It walks the documents in id order and reads each one's
// links by its key, naming destinations through the (n, id) index, so
// only one document's links are held at a time and nothing is sorted but
// them.
func (s *Store) EachLink(ctx context.Context, fn func(kg.Link) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("embedded %s: read links: %w", s.path, err)
	}
	defer tx.Rollback()
	srcs, err := tx.QueryContext(ctx, `SELECT n, id FROM docs ORDER BY id`)
	if err != nil {
		return fmt.Errorf("embedded %s: read links: %w", s.path, err)
	}
	defer srcs.Close()
	stmt, err := tx.PrepareContext(ctx, `SELECT (SELECT id FROM docs INDEXED BY docs_n_id WHERE n = abs(r.dst)), r.anchor, `+
		sentenceSQL("r.sent", "s.text")+` FROM raw_links r JOIN docs s ON s.n = r.src
		WHERE r.src = ? AND r.dst <> 0 AND r.dst > -2147483648`)
	if err != nil {
		return fmt.Errorf("embedded %s: read links: %w", s.path, err)
	}
	defer stmt.Close()
	var group []kg.Link
	for srcs.Next() {
		var n int64
		var id string
		if err := srcs.Scan(&n, &id); err != nil {
			return fmt.Errorf("embedded %s: read links: %w", s.path, err)
		}
		if group, err = linksOf(ctx, stmt, n, id, group[:0]); err != nil {
			return fmt.Errorf("embedded %s: read links of %s: %w", s.path, id, err)
		}
		for _, l := range group {
			if err := fn(l); err != nil {
				return err
			}
		}
	}
	if err := srcs.Err(); err != nil {
		return fmt.Errorf("embedded %s: read links: %w", s.path, err)
	}
	return nil
}

// linksOf appends the links of source n (id) to dst, in (dst, anchor,
// sentence) order.
func linksOf(ctx context.Context, stmt *sql.Stmt, n int64, id string, dst []kg.Link) ([]kg.Link, error) {
	rows, err := stmt.QueryContext(ctx, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		l := kg.Link{Src: id}
		if err := rows.Scan(&l.Dst, &l.Anchor, &l.Sentence); err != nil {
			return nil, err
		}
		dst = append(dst, l)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(dst, func(a, b kg.Link) int {
		return cmp.Or(strings.Compare(a.Dst, b.Dst), strings.Compare(a.Anchor, b.Anchor), strings.Compare(a.Sentence, b.Sentence))
	})
	return dst, nil
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
	// Raw links of documents are held by reference (source n, target 0 for
	// the anchor, sentence as a span of the source's text); those still
	// waiting for their source are held as written.
	rows, err := s.db.QueryContext(ctx, `SELECT s.id, `+targetSQL("r")+`, r.anchor, `+sentenceSQL("r.sent", "s.text")+`
		FROM raw_links r JOIN docs s ON s.n = r.src
		UNION ALL SELECT src, target, anchor, sentence FROM raw_pending
		ORDER BY 1, 2, 3, 4`)
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
