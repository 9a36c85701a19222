// Package blobroot opens an output root, a local directory or a prefix in
// object storage, as a gocloud.dev bucket. Users name a root as a plain
// path, file:///dir, s3://bucket/prefix or gs://bucket/prefix; the query
// of an s3:// URL carries gocloud's parameters (endpoint, use_path_style,
// region) for S3-compatible stores. Credentials come from each cloud's
// standard environment, never from the URL, and String never shows the
// query.
package blobroot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/gcsblob" // gs://
	_ "gocloud.dev/blob/s3blob"  // s3://
)

// Root is an opened output root. Keys are relative to it.
type Root struct {
	*blob.Bucket
	name string // for messages: scheme, bucket and prefix, no query
}

// schemes are the URL schemes Open takes besides plain paths.
const schemes = "file, s3, gs"

// Open opens root and checks that it can be listed, so that an unreachable
// endpoint or missing credentials fail here with what to do, not at the
// first write hours later.
func Open(ctx context.Context, root string) (*Root, error) {
	if strings.TrimSpace(root) == "" {
		return nil, fmt.Errorf("output root is empty")
	}
	scheme, rest, isURL := strings.Cut(root, "://")
	if !isURL {
		return openDir(root, root)
	}
	switch scheme {
	case "file":
		u, err := url.Parse(root)
		if err != nil {
			return nil, fmt.Errorf("output root %q: %w", root, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			// file://out/v1 parses as host "out", path "/v1": refuse rather
			// than write to /v1.
			return nil, fmt.Errorf("output root %q: a file URL takes an absolute path, file:///dir (host %q is not this machine)", root, u.Host)
		}
		return openDir(u.Path, "file://"+u.Path)
	case "s3", "gs":
	default:
		return nil, fmt.Errorf("output root %q: scheme %q is not one of %s, or a plain path", root, scheme, schemes)
	}
	u, err := url.Parse(root)
	if err != nil {
		return nil, fmt.Errorf("output root %s://…: %w", scheme, err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("output root %s://%s: no bucket named", scheme, strings.SplitN(rest, "?", 2)[0])
	}
	name := scheme + "://" + u.Host + u.Path
	prefix := strings.TrimPrefix(u.Path, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	bucketURL := scheme + "://" + u.Host
	if u.RawQuery != "" {
		bucketURL += "?" + u.RawQuery
	}
	b, err := blob.OpenBucket(ctx, bucketURL)
	if err != nil {
		return nil, fmt.Errorf("open output root %s: %w", name, err)
	}
	if prefix != "" {
		b = blob.PrefixedBucket(b, prefix)
	}
	r := &Root{Bucket: b, name: name}
	if err := r.check(ctx, scheme); err != nil {
		b.Close()
		return nil, err
	}
	return r, nil
}

func openDir(dir, name string) (*Root, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("output root %s: %w", name, err)
	}
	if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("output root %s is a file, not a directory", name)
	}
	// Temporary files next to their targets: a rename across mounts (the
	// system's temp dir on another disk) would fail. No metadata sidecars:
	// the root holds the dataset's files and nothing else.
	b, err := fileblob.OpenBucket(abs, &fileblob.Options{CreateDir: true, NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		return nil, fmt.Errorf("open output root %s: %w", name, err)
	}
	return &Root{Bucket: b, name: name}, nil
}

// check lists one key: it fails for an unreachable endpoint, a bucket that
// does not exist, and credentials that are missing or refused.
func (r *Root) check(ctx context.Context, scheme string) error {
	_, err := r.List(nil).Next(ctx)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	hint := "check the bucket name, the endpoint and the credentials"
	switch scheme {
	case "s3":
		hint = "check the bucket, the endpoint (the URL's endpoint parameter or AWS_ENDPOINT_URL) and the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
	case "gs":
		hint = "check the bucket and the credentials (GOOGLE_APPLICATION_CREDENTIALS)"
	}
	return fmt.Errorf("output root %s is not reachable: %w; %s", r.name, err, hint)
}

// String names the root without its query.
func (r *Root) String() string { return r.name }

// LocalDir is the directory a plain path or file:// root names, and false
// for a root in object storage. It does not check the root.
func LocalDir(root string) (string, bool) {
	scheme, _, isURL := strings.Cut(root, "://")
	if !isURL {
		return root, true
	}
	if scheme != "file" {
		return "", false
	}
	u, err := url.Parse(root)
	if err != nil || (u.Host != "" && u.Host != "localhost") {
		return "", false // Open says why
	}
	return u.Path, true
}
