package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"unicode/utf8"
)

// ftsTokenize is the tokenizer of the fts table. The search index cuts and
// folds text exactly as it does, so that both index the same words.
const ftsTokenize = `unicode61 remove_diacritics 2`

// maxTokenBytes is FTS5's bound on a token; a longer one is cut.
const maxTokenBytes = 32768

// runeClass is how FTS5's tokenizer treats one code point beyond ASCII.
type runeClass struct {
	kind uint8 // classSep, classStart or classJoin
	fold rune  // what the token holds for it; 0: nothing (a diacritic)
}

const (
	classUnknown = iota
	classSep     // ends a token
	classStart   // a letter, digit or private-use character: starts or continues a token
	classJoin    // a combining diacritic: continues a token, never starts one
)

// tokenizer cuts text into the words of ftsTokenize. ASCII is fixed
// (letters and digits are words, lower-cased); every other code point is
// classified the first time it is seen by asking SQLite's own tokenizer
// (probe), so the Unicode tables are SQLite's and nothing here copies them.
type tokenizer struct {
	mu    sync.RWMutex
	class map[rune]runeClass
	probe *sql.DB // an in-memory database with one FTS5 table; nil until needed
}

func newTokenizer() *tokenizer { return &tokenizer{class: map[rune]runeClass{}} }

func (t *tokenizer) close() error {
	if t.probe != nil {
		return t.probe.Close()
	}
	return nil
}

// asciiWord reports whether an ASCII byte belongs to a word.
func asciiWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// learn makes sure every code point of the texts is classified.
func (t *tokenizer) learn(ctx context.Context, texts ...string) error {
	var unknown []rune
	seen := map[rune]bool{}
	t.mu.RLock()
	for _, s := range texts {
		for i := 0; i < len(s); {
			if s[i] < utf8.RuneSelf {
				i++
				continue
			}
			r, n := utf8.DecodeRuneInString(s[i:])
			i += n
			if _, ok := t.class[r]; !ok && !seen[r] {
				seen[r] = true
				unknown = append(unknown, r)
			}
		}
	}
	t.mu.RUnlock()
	if len(unknown) == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.probeRunes(ctx, unknown)
}

// probeRunes classifies code points with FTS5 itself: row i holds
// "a" r "b " r. A token char joins "a" and "b" into one token whose middle
// is its fold; one that also makes a token alone starts words.
func (t *tokenizer) probeRunes(ctx context.Context, rs []rune) error {
	if t.probe == nil {
		db, err := sql.Open("sqlite", "file::memory:")
		if err != nil {
			return fmt.Errorf("tokenizer probe: %w", err)
		}
		db.SetMaxOpenConns(1) // one connection at a time: the probe is serialised
		t.probe = db
	}
	conn, err := t.probe.Conn(ctx)
	if err != nil {
		return fmt.Errorf("tokenizer probe: %w", err)
	}
	defer conn.Close()
	// Each connection has its own in-memory database: the tables are made
	// where they are missing, and emptied.
	for _, stmt := range []string{
		`CREATE VIRTUAL TABLE IF NOT EXISTS p USING fts5(x, tokenize='` + ftsTokenize + `')`,
		`CREATE VIRTUAL TABLE IF NOT EXISTS pv USING fts5vocab(p, instance)`,
		`DELETE FROM p`,
	} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("tokenizer probe: %w", err)
		}
	}
	for lo := 0; lo < len(rs); lo += maxParams / 2 {
		hi := min(len(rs), lo+maxParams/2)
		var args []any
		for i := lo; i < hi; i++ {
			r := string(rs[i])
			args = append(args, i, "a"+r+"b "+r)
		}
		if _, err := conn.ExecContext(ctx, insertSQL(`INSERT INTO p(rowid, x)`, "(?,?)", "", hi-lo), args...); err != nil {
			return fmt.Errorf("tokenizer probe: %w", err)
		}
	}
	rows, err := conn.QueryContext(ctx, `SELECT doc, "offset", term FROM pv ORDER BY doc, "offset"`)
	if err != nil {
		return fmt.Errorf("tokenizer probe: %w", err)
	}
	defer rows.Close()
	tokens := make([][]string, len(rs))
	for rows.Next() {
		var doc, off int
		var term string
		if err := rows.Scan(&doc, &off, &term); err != nil {
			return fmt.Errorf("tokenizer probe: %w", err)
		}
		if doc >= 0 && doc < len(rs) {
			tokens[doc] = append(tokens[doc], term)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("tokenizer probe: %w", err)
	}
	for i, r := range rs {
		c := runeClass{kind: classSep}
		if tk := tokens[i]; len(tk) > 0 && len(tk[0]) >= 2 && tk[0][0] == 'a' && tk[0][len(tk[0])-1] == 'b' {
			mid := tk[0][1 : len(tk[0])-1]
			if mid != "" {
				f, n := utf8.DecodeRuneInString(mid)
				if n != len(mid) {
					return fmt.Errorf("tokenizer probe: U+%04X folds to %q, more than one code point", r, mid)
				}
				c.fold = f
			}
			c.kind = classJoin
			if len(tk) > 1 {
				c.kind = classStart
			}
		}
		t.class[r] = c
	}
	return nil
}

// tokens calls fn with each word of s, folded, and the byte offsets of
// its first character and past its last, in order; the slice is reused.
// Every code point of s must have been learnt.
func (t *tokenizer) tokens(s string, buf []byte, fn func(tok []byte, start, end int)) []byte {
	t.mu.RLock()
	defer t.mu.RUnlock()
	i := 0
	for i < len(s) {
		// Skip separators.
		var c runeClass
		for i < len(s) {
			if b := s[i]; b < utf8.RuneSelf {
				if asciiWord(b) {
					break
				}
				i++
				continue
			}
			r, n := utf8.DecodeRuneInString(s[i:])
			if c = t.class[r]; c.kind == classStart {
				break
			}
			i += n
		}
		if i >= len(s) {
			break
		}
		start := i
		buf = buf[:0]
		for i < len(s) {
			b := s[i]
			if b < utf8.RuneSelf {
				if !asciiWord(b) {
					break
				}
				if b >= 'A' && b <= 'Z' {
					b += 'a' - 'A'
				}
				buf = append(buf, b)
				i++
				continue
			}
			r, n := utf8.DecodeRuneInString(s[i:])
			c = t.class[r]
			if c.kind != classStart && c.kind != classJoin {
				break
			}
			if c.fold != 0 {
				buf = utf8.AppendRune(buf, c.fold)
			}
			i += n
		}
		if len(buf) > maxTokenBytes {
			buf = buf[:maxTokenBytes]
		}
		fn(buf, start, i)
	}
	return buf
}
