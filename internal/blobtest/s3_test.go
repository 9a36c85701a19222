package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/miroverse/miroverse/internal/testenv"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func write(t *testing.T, ctx context.Context, b *blob.Bucket, key string, data []byte, opts *blob.WriterOptions) error {
	t.Helper()
	w, err := b.NewWriter(ctx, key, opts)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		_ = w.Close()
		return err
	}
	return w.Close()
}

func mustWrite(t *testing.T, ctx context.Context, b *blob.Bucket, key string, data []byte) {
	t.Helper()
	if err := write(t, ctx, b, key, data, nil); err != nil {
		t.Fatalf("write %s: %v", key, err)
	}
}

func mustRead(t *testing.T, ctx context.Context, b *blob.Bucket, key string) []byte {
	t.Helper()
	data, err := b.ReadAll(ctx, key)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return data
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	p := make([]byte, n)
	if _, err := rand.Read(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// abortedWrite writes data to key, then fails as a producer would (its
// context cancelled before Close), and returns Close's error.
func abortedWrite(t *testing.T, b *blob.Bucket, key string, data []byte, opts *blob.WriterOptions) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := b.NewWriter(ctx, key, opts)
	if err != nil {
		t.Fatalf("new writer %s: %v", key, err)
	}
	if _, err := w.Write(data); err != nil {
		t.Logf("write before the abort already failed: %v", err)
	}
	cancel()
	return w.Close()
}

// TestRoundTrip: objects written under a prefix are listed (flat and by
// "directory") and read back byte for byte, with their attributes.
func TestRoundTrip(t *testing.T) {
	b, prefix := Open(t)
	ctx := testCtx(t)
	files := map[string][]byte{
		prefix + "shards/part-00000.txt": []byte("hello from miroverse\n"),
		prefix + "shards/part-00001.txt": randomBytes(t, 70_000),
		prefix + "manifest.json":         []byte(`{"shards":2}`),
	}
	for k, v := range files {
		mustWrite(t, ctx, b, k, v)
	}

	var keys []string
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("list %s: %v", prefix, err)
		}
		if want, ok := files[obj.Key]; !ok || obj.Size != int64(len(want)) {
			t.Errorf("listed %s (%d bytes); written: %v, %d bytes", obj.Key, obj.Size, ok, len(want))
		}
		keys = append(keys, obj.Key)
	}
	if len(keys) != len(files) {
		t.Errorf("listed %d keys %v, wrote %d", len(keys), keys, len(files))
	}

	var tops []string
	it = b.List(&blob.ListOptions{Prefix: prefix, Delimiter: "/"})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("list %s with delimiter: %v", prefix, err)
		}
		tops = append(tops, strings.TrimPrefix(obj.Key, prefix))
	}
	if strings.Join(tops, " ") != "manifest.json shards/" {
		t.Errorf("top level of %s: %v, want [manifest.json shards/]", prefix, tops)
	}

	for k, v := range files {
		if got := mustRead(t, ctx, b, k); !bytes.Equal(got, v) {
			t.Errorf("%s: read %d bytes that differ from the %d written", k, len(got), len(v))
		}
	}
	attrs, err := b.Attributes(ctx, prefix+"manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if attrs.Size != int64(len(files[prefix+"manifest.json"])) {
		t.Errorf("manifest.json size %d", attrs.Size)
	}
	if _, err := b.ReadAll(ctx, prefix+"absent"); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("reading a missing key: %v (code %v), want NotFound", err, gcerrors.Code(err))
	}
}

// TestAbortedWriterPublishesNothing: a writer whose context is cancelled
// before Close returns an error from Close and leaves no object, neither a
// new one nor a changed old one, for a single PUT and for a multipart upload.
func TestAbortedWriterPublishesNothing(t *testing.T) {
	b, prefix := Open(t)
	ctx := testCtx(t)
	multipart := &blob.WriterOptions{BufferSize: 5 << 20} // S3's smallest part
	// Past the transfer manager's 16 MiB threshold for a multipart upload.
	big := randomBytes(t, 24<<20)

	for _, tc := range []struct {
		name string
		data []byte
		opts *blob.WriterOptions
	}{
		{"put", []byte("half a shard"), nil},
		{"multipart", big, multipart},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := prefix + tc.name + "/new.bin"
			if err := abortedWrite(t, b, key, tc.data, tc.opts); err == nil {
				t.Fatal("Close after a cancelled context returned nil")
			}
			if ok, err := b.Exists(ctx, key); err != nil || ok {
				t.Errorf("aborted write of a new key: exists=%v err=%v, want no object", ok, err)
			}

			old := prefix + tc.name + "/old.bin"
			mustWrite(t, ctx, b, old, []byte("version 1"))
			if err := abortedWrite(t, b, old, tc.data, tc.opts); err == nil {
				t.Fatal("Close after a cancelled context returned nil")
			}
			if got := mustRead(t, ctx, b, old); string(got) != "version 1" {
				t.Errorf("aborted overwrite changed the object: %d bytes, want %q", len(got), "version 1")
			}
		})
	}

	// What an aborted multipart upload leaves on the server: invisible to
	// readers and listings either way, but parts kept until aborted.
	var client *s3.Client
	if !b.As(&client) {
		t.Fatal("the bucket is not s3blob's")
	}
	bucket, _ := Endpoint(t)
	out, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket, Prefix: &prefix})
	if err != nil {
		t.Fatalf("list multipart uploads: %v", err)
	}
	for _, u := range out.Uploads {
		t.Logf("left in progress by an aborted writer: %s (upload %s)", *u.Key, *u.UploadId)
		if _, err := client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: u.Key, UploadId: u.UploadId}); err != nil {
			t.Errorf("abort %s: %v", *u.Key, err)
		}
	}

	it := b.List(&blob.ListOptions{Prefix: prefix})
	var keys []string
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, strings.TrimPrefix(obj.Key, prefix))
	}
	if strings.Join(keys, " ") != "multipart/old.bin put/old.bin" {
		t.Errorf("listed %v, want only the two old.bin", keys)
	}
}

// TestIfNotExist: WriterOptions.IfNotExist (If-None-Match: *) writes a new
// key and refuses, with FailedPrecondition, to overwrite one that exists,
// by a single PUT and by a multipart upload.
func TestIfNotExist(t *testing.T) {
	b, prefix := Open(t)
	ctx := testCtx(t)
	for _, tc := range []struct {
		name string
		data []byte
		opts blob.WriterOptions
	}{
		{"put", []byte("second"), blob.WriterOptions{IfNotExist: true}},
		{"multipart", randomBytes(t, 24<<20), blob.WriterOptions{IfNotExist: true, BufferSize: 5 << 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := prefix + tc.name + "/once.txt"
			if err := write(t, ctx, b, key, []byte("first"), &tc.opts); err != nil {
				t.Fatalf("IfNotExist write of a new key: %v", err)
			}
			err := write(t, ctx, b, key, tc.data, &tc.opts)
			if err == nil {
				t.Fatalf("IfNotExist write over an existing key succeeded: the server ignores If-None-Match: *")
			}
			if gcerrors.Code(err) != gcerrors.FailedPrecondition {
				t.Errorf("IfNotExist over an existing key: %v (code %v), want FailedPrecondition", err, gcerrors.Code(err))
			}
			if got := mustRead(t, ctx, b, key); string(got) != "first" {
				t.Errorf("the refused write changed the object: %d bytes", len(got))
			}
		})
	}
}

// TestPyarrowReadsTheBucket: pyarrow's own S3 file system (the one training
// jobs use) writes and reads a Parquet file in the bucket and reads an object
// that gocloud wrote; Arrow's Go reader reads pyarrow's file through gocloud.
func TestPyarrowReadsTheBucket(t *testing.T) {
	b, prefix := Open(t)
	ctx := testCtx(t)
	py := testenv.Need(t, "MIROVERSE_PYTHON", "run the tests through `make test` for the pyarrow check")
	goKey := prefix + "go/hello.txt"
	mustWrite(t, ctx, b, goKey, []byte("written by gocloud"))

	bucket, endpoint := Endpoint(t)
	_, self, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(self), "..", "..", "scripts", "s3check.py")
	cmd := exec.CommandContext(ctx, py, script, "--endpoint", endpoint, "--bucket", bucket,
		"--prefix", prefix, "--expect", goKey+"=written by gocloud")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	t.Logf("s3check.py: %s", bytes.TrimSpace(out))
	var res struct {
		ParquetKey string `json:"parquet_key"`
		Rows       int    `json:"rows"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("s3check.py output %q: %v", out, err)
	}
	if res.Rows != 3 || res.ParquetKey != prefix+"py/tiny.parquet" {
		t.Fatalf("s3check.py wrote %d rows at %s", res.Rows, res.ParquetKey)
	}

	data := mustRead(t, ctx, b, res.ParquetKey)
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Arrow's Go reader on %s: %v", res.ParquetKey, err)
	}
	defer pf.Close()
	if pf.NumRows() != 3 || pf.MetaData().Schema.NumColumns() != 3 {
		t.Errorf("%s: %d rows, %d leaf columns; want 3 and 3", res.ParquetKey, pf.NumRows(), pf.MetaData().Schema.NumColumns())
	}
}

// bucketName returns the bucket and the endpoint of MIROVERSE_S3_URL.
