package web

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/andybalholm/brotli"
	gowarc "github.com/nlnwa/gowarc/v3"
)

// readWARC reads a WARC file record by record. gowarc parses the records
// (WARC 1.0, 1.1 and 0.18, one gzip member per record or one for the
// file); header defects are ignored by gowarc and judged here, so that a
// record with a bad date or a wrapped URI is kept with a note.
func readWARC(ctx context.Context, path string, x *extractor, fn func(Page) error) error {
	opts := []gowarc.WarcRecordOption{
		// ErrWarn, not ErrIgnore, for spec violations: gowarc v3.1.0 cuts
		// payloads short under ErrIgnore (a test holds the lengths to
		// warcio's).
		gowarc.WithSyntaxErrorPolicy(gowarc.ErrIgnore), gowarc.WithSpecViolationPolicy(gowarc.ErrWarn),
		gowarc.WithBlockErrorPolicy(gowarc.ErrIgnore), gowarc.WithUnknownRecordTypePolicy(gowarc.ErrIgnore),
		gowarc.WithBufferMaxMemBytes(1 << 20)}
	var size int64 = -1
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	whole, err := wholeFileGzip(path, size)
	if err != nil {
		return fmt.Errorf("open WARC %s: %w", path, err)
	}
	var r *gowarc.WarcFileReader
	if whole {
		// gowarc reads gzip one member per record, as the WARC standard
		// recommends; a file compressed as one member is read as the
		// stream it decompresses to, offsets counted in that stream.
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("open WARC %s: %w", path, err)
		}
		defer f.Close()
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
		if err != nil {
			return fmt.Errorf("open WARC %s: %w", path, err)
		}
		if r, err = gowarc.NewWarcFileReaderFromStream(zr, 0, opts...); err != nil {
			return fmt.Errorf("open WARC %s: %w", path, err)
		}
		size = -1 // the decompressed length is not known up front
	} else if r, err = gowarc.NewWarcFileReader(path, 0, opts...); err != nil {
		return fmt.Errorf("open WARC %s: %w", path, err)
	}
	defer r.Close()
	file := filepath.Base(path)
	return ordered(ctx, x.workers, fn, func(submit func(func() Page) error) error {
		var next int64 // where the record after the last one read starts
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				if size >= 0 && next < size {
					// gowarc ends quietly at a record whose Content-Length
					// runs past the end of the file.
					return fmt.Errorf("%s: byte offset %d: a record runs past the end of the file (%d bytes): %w",
						path, next, size, io.ErrUnexpectedEOF)
				}
				return nil
			}
			if err != nil {
				// The reader cannot find the next record after a break: the
				// records before it are kept and the input is incomplete.
				return fmt.Errorf("%s: byte offset %d: the input ends inside a record (%v): %w", path, next, err, io.ErrUnexpectedEOF)
			}
			next = rec.Offset + rec.Size
			job, err := warcJob(path, file, rec, x, whole)
			rec.Close()
			if err != nil {
				return err
			}
			if err := submit(job); err != nil {
				return err
			}
		}
	})
}

// warcJob reads what it needs of one record (the block must be read
// before the next record) and returns the work that makes its Page.
func warcJob(path, file string, rec gowarc.Record, x *extractor, whole bool) (func() Page, error) {
	w := rec.WarcRecord
	p := Page{Offset: rec.Offset, Type: w.Type().String()}
	done := func() Page { return p }
	bad := func(reason string, err error) func() Page {
		p.Skip, p.Err = reason, &RecordError{File: path, Offset: rec.Offset, Reason: reason, Err: err}
		return done
	}
	for _, v := range rec.Validation {
		var cl *gowarc.ContentLengthError
		if errors.As(v, &cl) {
			// The block is shorter than its Content-Length says: the record
			// ran past the end of the file, or into the next record.
			return bad(ReasonContentLength, v), nil
		}
	}
	switch w.Type() {
	case gowarc.Revisit:
		p.Skip = ReasonRevisit
		return done, nil
	case gowarc.Request:
		p.Skip = ReasonRequest
		return done, nil
	case gowarc.Metadata:
		p.Skip = ReasonMetadata
		return done, nil
	case gowarc.Warcinfo:
		p.Skip = ReasonWarcinfo
		return done, nil
	case gowarc.Response, gowarc.Resource, gowarc.Conversion:
	default:
		p.Skip = ReasonOtherRecord
		return done, nil
	}
	uri := strings.TrimSpace(w.WarcHeader().Get(gowarc.WarcTargetURI))
	if uri == "" && len(rec.Validation) > 0 {
		uri = rawTargetURI(path, rec.Offset, whole)
	}
	if strings.HasPrefix(uri, "<") && strings.HasSuffix(uri, ">") {
		// wget 1.21 writes the URI as in the WARC 1.0 grammar's example.
		uri = strings.TrimSpace(uri[1 : len(uri)-1])
		p.Notes = append(p.Notes, NoteWrappedURI)
	}
	if uri == "" {
		p.Skip = ReasonNoURL
		return done, nil
	}
	date := ""
	if t, err := w.Date(); err == nil {
		date = t.UTC().Format(time.RFC3339)
	} else {
		p.Notes = append(p.Notes, NoteInvalidDate)
	}
	src := source{path: path, file: file, offset: rec.Offset, url: uri, date: date}
	switch w.Type() {
	case gowarc.Conversion:
		body, skip, err := readPayload(w.Block().RawBytes, x.maxPage)
		if err != nil {
			return bad(ReasonBadRecord, err), nil
		}
		if skip != "" {
			p.Skip = skip
			return done, nil
		}
		return func() Page { return x.textPage(p, src, "", string(body)) }, nil
	case gowarc.Resource:
		ct := w.WarcHeader().Get(gowarc.ContentType)
		body, skip, err := readPayload(w.Block().RawBytes, x.maxPage)
		if err != nil {
			return bad(ReasonBadRecord, err), nil
		}
		if skip != "" {
			p.Skip = skip
			return done, nil
		}
		return func() Page { return x.htmlPage(p, src, ct, body) }, nil
	}
	hb, ok := w.Block().(gowarc.HttpResponseBlock)
	if !ok {
		p.Skip = ReasonNotHTML // a response that is no HTTP response (dns:, ...)
		return done, nil
	}
	status := hb.HttpStatusCode()
	switch {
	case status >= 300 && status < 400:
		if to := resolveRef(uri, hb.HttpHeader().Get("Location")); to != "" {
			p.Redirects = append(p.Redirects, redirect(uri, to))
		}
		p.Skip = ReasonRedirect
		return done, nil
	case status < 200 || status >= 300:
		p.Skip = ReasonHTTPStatus
		return done, nil
	}
	body, skip, err := readPayload(hb.PayloadBytes, x.maxPage)
	if err != nil {
		return bad(ReasonBadRecord, err), nil
	}
	if skip != "" {
		p.Skip = skip
		return done, nil
	}
	body, err = decodeHTTP(body, hb.HttpHeader())
	if err != nil {
		return bad(ReasonUndecodable, err), nil
	}
	if int64(len(body)) > x.maxPage {
		p.Skip = ReasonTooLarge
		return done, nil
	}
	ct := hb.HttpHeader().Get("Content-Type")
	return func() Page { return x.htmlPage(p, src, ct, body) }, nil
}

// rawTargetURI reads the WARC-Target-URI of the record at offset as
// written: under ErrWarn gowarc drops a value it finds invalid, such as
// wget's "<https://…>". Only the header is read, so the short payloads
// of ErrIgnore do not matter here.
func rawTargetURI(path string, offset int64, whole bool) string {
	opts := []gowarc.WarcRecordOption{gowarc.WithSyntaxErrorPolicy(gowarc.ErrIgnore),
		gowarc.WithSpecViolationPolicy(gowarc.ErrIgnore), gowarc.WithBlockErrorPolicy(gowarc.ErrIgnore),
		gowarc.WithUnknownRecordTypePolicy(gowarc.ErrIgnore), gowarc.WithSkipParseBlock()}
	var r *gowarc.WarcFileReader
	var err error
	if whole {
		// offset is in the decompressed stream: decompress up to it (rare:
		// a defective header in a file compressed as one member).
		f, ferr := os.Open(path)
		if ferr != nil {
			return ""
		}
		defer f.Close()
		zr, zerr := gzip.NewReader(bufio.NewReader(f))
		if zerr != nil {
			return ""
		}
		if _, err := io.CopyN(io.Discard, zr, offset); err != nil {
			return ""
		}
		r, err = gowarc.NewWarcFileReaderFromStream(zr, 0, opts...)
	} else {
		r, err = gowarc.NewWarcFileReader(path, offset, opts...)
	}
	if err != nil {
		return ""
	}
	defer r.Close()
	rec, err := r.Next()
	if err != nil {
		return ""
	}
	defer rec.Close()
	return strings.TrimSpace(rec.WarcRecord.WarcHeader().Get(gowarc.WarcTargetURI))
}

// wholeFileGzip tells whether path is gzip whose first member runs to the
// end of the file: a WARC compressed as a whole rather than per record.
// It decompresses that first member, one record in the usual layout.
func wholeFileGzip(path string, size int64) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if magic, err := br.Peek(2); err != nil || magic[0] != 0x1f || magic[1] != 0x8b {
		return false, nil
	}
	// gzip reads a bufio.Reader byte by byte past the member's end no
	// further than its trailer, so the file position minus what is still
	// buffered is where the member ends.
	zr, err := gzip.NewReader(br)
	if err != nil {
		return false, nil // not gzip after all: gowarc will say what it is
	}
	zr.Multistream(false)
	if _, err := io.Copy(io.Discard, zr); errors.Is(err, io.ErrUnexpectedEOF) {
		// The first member is cut short by the end of the file: read as a
		// stream, every record before the break is kept.
		return true, nil
	} else if err != nil {
		return false, nil // a damaged first member: gowarc reports it
	}
	pos, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return false, err
	}
	end := pos - int64(br.Buffered())
	return size >= 0 && end >= size && size > 0, nil
}

// readPayload reads at most max bytes of a block; a larger one is skipped
// unread past the bound.
func readPayload(open func() (io.Reader, error), max int64) ([]byte, string, error) {
	r, err := open()
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, "", err
	}
	if int64(len(b)) > max {
		return nil, ReasonTooLarge, nil
	}
	return b, "", nil
}

// decodeHTTP undoes the transfer and content encodings of an HTTP body as
// crawlers store it. net/http drops the Transfer-Encoding header when it
// parses one, so a chunked body is recognised by its first chunk line.
func decodeHTTP(body []byte, h *http.Header) ([]byte, error) {
	if looksChunked(body) {
		if b, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(body))); err == nil || len(b) > 0 {
			body = b
		}
	}
	for _, enc := range reversedEncodings(h.Get("Content-Encoding")) {
		var r io.Reader
		var err error
		switch enc {
		case "gzip", "x-gzip":
			r, err = gzip.NewReader(bytes.NewReader(body))
		case "deflate":
			r = deflateReader(body)
		case "br":
			r = brotli.NewReader(bytes.NewReader(body))
		case "identity", "":
			continue
		default:
			return nil, fmt.Errorf("content encoding %q is not supported", enc)
		}
		if err != nil {
			return nil, fmt.Errorf("content encoding %s: %w", enc, err)
		}
		b, err := io.ReadAll(r)
		if err != nil && len(b) == 0 {
			return nil, fmt.Errorf("content encoding %s: %w", enc, err)
		}
		body = b
	}
	return body, nil
}

// looksChunked: a hex chunk size, perhaps extensions, then CRLF.
func looksChunked(b []byte) bool {
	i := 0
	for i < len(b) && i < 16 && isHex(b[i]) {
		i++
	}
	if i == 0 || i >= len(b) {
		return false
	}
	j := bytes.Index(b[i:min(len(b), i+64)], []byte("\r\n"))
	return j >= 0 && (j == 0 || b[i] == ';' || b[i] == ' ')
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// reversedEncodings lists the codings of a Content-Encoding header in the
// order they are undone: the last applied first.
func reversedEncodings(v string) []string {
	var out []string
	for _, e := range strings.Split(v, ",") {
		out = append([]string{strings.ToLower(strings.TrimSpace(e))}, out...)
	}
	return out
}

// deflateReader reads "deflate" bodies, which servers send either as zlib
// streams (as the RFC says) or as raw deflate.
func deflateReader(b []byte) io.Reader {
	if len(b) >= 2 && b[0]&0x0f == 8 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0 {
		if zr, err := zlibReader(b); err == nil {
			return zr
		}
	}
	return flate.NewReader(bufio.NewReader(bytes.NewReader(b)))
}
