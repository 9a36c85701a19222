package web

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
)

// readHTMLDir reads every .html and .htm file under dir in lexical order.
// A file's URL is its canonical link or <base>, else its file:// URL.
func readHTMLDir(ctx context.Context, dir string, x *extractor, fn func(Page) error) error {
	files, err := htmlFiles(dir)
	if err != nil {
		return fmt.Errorf("read HTML directory %s: %w", dir, err)
	}
	return ordered(ctx, x.workers, fn, func(submit func(func() Page) error) error {
		for _, f := range files {
			rel, _ := filepath.Rel(dir, f)
			p := Page{Type: "html"}
			// The directory's own name, not where it sits, so that a copy
			// elsewhere gives the same URLs and IDs.
			src := source{path: f, file: filepath.ToSlash(rel), offset: -1,
				url: (&url.URL{Scheme: "file", Path: "/" + filepath.Base(filepath.Clean(dir)) + "/" + filepath.ToSlash(rel)}).String()}
			fi, err := os.Stat(f)
			var body []byte
			switch {
			case err != nil:
			case fi.Size() > x.maxPage:
				p.Skip = ReasonTooLarge
			default:
				body, err = os.ReadFile(f)
			}
			if err != nil {
				p.Skip, p.Err = ReasonBadRecord, &RecordError{File: f, Reason: ReasonBadRecord, Err: err}
			}
			job := func() Page { return p }
			if p.Skip == "" {
				job = func() Page { return x.htmlFile(p, src, body) }
			}
			if err := submit(job); err != nil {
				return err
			}
		}
		return nil
	})
}

// htmlFile is htmlPage for a file, whose own URL is only a fallback.
func (x *extractor) htmlFile(p Page, src source, body []byte) Page {
	fileURL := src.url
	src.url = ""
	p = x.htmlPageAt(p, src, "", body, fileURL)
	return p
}

// jsonlRecord is one line of a JSONL input.
type jsonlRecord struct {
	URL   string `json:"url"`
	Title string `json:"title"`
	HTML  string `json:"html"`
	Text  string `json:"text"`
	Date  string `json:"date"`
}

// readJSONL reads {"url", "title"?, "html" | "text", "date"?} lines,
// plain, gzip or zstd. A line that is no such object is a bad record
// named by its line number.
func readJSONL(ctx context.Context, path string, x *extractor, fn func(Page) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	var r io.Reader = f
	switch lower := strings.ToLower(path); {
	case strings.HasSuffix(lower, ".gz"):
		zr, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		r = zr
	case strings.HasSuffix(lower, ".zst"):
		zr, err := zstd.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	file := filepath.Base(path)
	br := bufio.NewReaderSize(r, 1<<20)
	return ordered(ctx, x.workers, fn, func(submit func(func() Page) error) error {
		for line := int64(1); ; line++ {
			b, err := readLine(br, x.maxPage)
			if errors.Is(err, io.EOF) && len(b) == 0 {
				return nil
			}
			p := Page{Offset: line, Type: "jsonl"}
			bad := func(reason string, err error) error {
				p.Skip, p.Err = reason, &RecordError{File: path, Offset: line, Line: true, Reason: reason, Err: err}
				return submit(func() Page { return p })
			}
			switch {
			case errors.Is(err, errTooLong):
				p.Skip = ReasonTooLarge
				if err := submit(func() Page { return p }); err != nil {
					return err
				}
				continue
			case err != nil && !errors.Is(err, io.EOF):
				return fmt.Errorf("%s: line %d: %w", path, line, err)
			}
			if strings.TrimSpace(string(b)) == "" {
				continue
			}
			var rec jsonlRecord
			if err := json.Unmarshal(b, &rec); err != nil {
				if err := bad(ReasonBadJSON, err); err != nil {
					return err
				}
				continue
			}
			if rec.URL == "" || Canonical(rec.URL) == "" {
				if err := bad(ReasonNoURL, fmt.Errorf("no http(s) \"url\" (%q)", rec.URL)); err != nil {
					return err
				}
				continue
			}
			src := source{path: path, file: file, offset: line, line: true, url: rec.URL, title: rec.Title}
			if rec.Date != "" {
				if t, err := parseDate(rec.Date); err == nil {
					src.date = t
				} else {
					p.Notes = append(p.Notes, NoteInvalidDate)
				}
			}
			job := func() Page { return x.textPage(p, src, rec.Title, rec.Text) }
			if rec.HTML != "" {
				job = func() Page { return x.htmlPage(p, src, "text/html; charset=utf-8", []byte(rec.HTML)) }
			}
			if err := submit(job); err != nil {
				return err
			}
		}
	})
}

var errTooLong = errors.New("line too long")

// readLine reads one line of at most max bytes; a longer one is consumed
// and reported as errTooLong.
func readLine(br *bufio.Reader, max int64) ([]byte, error) {
	var out []byte
	long := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !long {
			if int64(len(out)+len(chunk)) > max {
				long, out = true, nil
			} else {
				out = append(out, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if long && (err == nil || errors.Is(err, io.EOF)) {
			return nil, errTooLong
		}
		return out, err
	}
}

// parseDate reads the date forms JSONL crawls use: RFC 3339, with or
// without the time.
func parseDate(s string) (string, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t.UTC().Format(time.RFC3339), nil
		}
	}
	return "", fmt.Errorf("date %q is not RFC 3339", s)
}
