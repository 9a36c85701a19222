// Package blobtest gives tests a real S3-compatible bucket through
// gocloud.dev/blob: the one that scripts/s3 (or scripts/with-s3) starts and
// names in MIROVERSE_S3_URL, a gocloud URL such as
// s3://miroverse-test?endpoint=http://127.0.0.1:PORT&use_path_style=true&region=us-east-1.
//
// Tests share the bucket; each one works under a prefix of its own, which
// Open removes again when the test ends.
package blobtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob" // the s3:// scheme

	"github.com/miroverse/miroverse/internal/testenv"
)

// URL returns MIROVERSE_S3_URL. When it is unset the test fails under
// CI=true, where nothing may silently skip, and is skipped elsewhere.
func URL(t testing.TB) string {
	t.Helper()
	return testenv.Need(t, "MIROVERSE_S3_URL", "run the tests under scripts/with-s3 (or eval \"$(scripts/s3 start --sh)\")")
}

// Open opens the bucket of URL(t) and returns it with a fresh prefix
// ("miroverse-test/<test name>-<random>/") for the test's keys. At the end of
// the test every key under the prefix is deleted and the bucket closed.
func Open(t testing.TB) (*blob.Bucket, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := blob.OpenBucket(ctx, URL(t))
	if err != nil {
		t.Fatalf("open %s: %v", os.Getenv("MIROVERSE_S3_URL"), err)
	}
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		t.Fatal(err)
	}
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	prefix := "miroverse-test/" + name + "-" + hex.EncodeToString(r[:]) + "/"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := DeletePrefix(ctx, b, prefix); err != nil {
			t.Errorf("clean up %s: %v", prefix, err)
		}
		if err := b.Close(); err != nil {
			t.Errorf("close bucket: %v", err)
		}
	})
	return b, prefix
}

// DeletePrefix deletes every key under prefix.
func DeletePrefix(ctx context.Context, b *blob.Bucket, prefix string) error {
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := b.Delete(ctx, obj.Key); err != nil {
			return err
		}
	}
}

// Endpoint is the bucket of URL(t) and the server's http(s) endpoint, for
// clients that take them apart (pyarrow's S3 file system).
func Endpoint(t testing.TB) (bucket, endpoint string) {
	t.Helper()
	u, err := url.Parse(URL(t))
	if err != nil {
		t.Fatal(err)
	}
	endpoint = u.Query().Get("endpoint")
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	return u.Host, endpoint
}

// RootURL is an s3:// output root under prefix of the test bucket, with
// the server's query parameters.
func RootURL(t testing.TB, prefix string) string {
	t.Helper()
	u, err := url.Parse(URL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + strings.TrimSuffix(prefix, "/")
	return u.String()
}
