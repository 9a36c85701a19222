package web

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Kinds of web input.
const (
	KindWARC    = "warc"
	KindHTMLDir = "html"
	KindJSONL   = "jsonl"
)

// Detect tells which kind of web input path is, from its content as the
// wiki reader does for dumps: a file whose (gunzipped) first bytes are a
// WARC version line is a WARC file; a .jsonl, .jsonl.gz or .jsonl.zst file
// is JSONL; a directory holding .html or .htm files is an HTML directory.
// Anything else is an error that wraps ErrNotWeb.
func Detect(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		files, err := htmlFiles(path)
		if err != nil {
			return "", err
		}
		if len(files) == 0 {
			return "", fmt.Errorf("%s: a directory without .html or .htm files: %w", path, ErrNotWeb)
		}
		return KindHTMLDir, nil
	}
	name := strings.ToLower(filepath.Base(path))
	for _, ext := range []string{".jsonl", ".jsonl.gz", ".jsonl.zst"} {
		if strings.HasSuffix(name, ext) {
			return KindJSONL, nil
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	head, _ := br.Peek(2)
	var first []byte
	if bytes.Equal(head, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err == nil {
			first = make([]byte, 16)
			n, _ := zr.Read(first)
			first = first[:n]
		}
	} else {
		first, _ = br.Peek(16)
	}
	if bytes.HasPrefix(first, []byte("WARC/")) {
		return KindWARC, nil
	}
	return "", fmt.Errorf("%s: %w", path, ErrNotWeb)
}

// ErrNotWeb is wrapped by Detect's error for an input that is no web input.
var ErrNotWeb = errNotWeb{}

type errNotWeb struct{}

func (errNotWeb) Error() string {
	return "not a web input (a WARC file, a .jsonl[.gz|.zst] file or a directory of .html files)"
}

// htmlFiles lists the .html and .htm files under dir, sorted, so that a
// directory is read in one order everywhere.
func htmlFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".html", ".htm":
			out = append(out, p)
		}
		return nil
	})
	return out, err // WalkDir visits in lexical order
}
