package blobroot

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miroverse/miroverse/internal/blobtest"
)

func TestLocalRoots(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	tests := []struct{ name, root, dir string }{
		{"plain path, created", filepath.Join(dir, "out", "v1"), filepath.Join(dir, "out", "v1")},
		{"file URL", "file://" + filepath.Join(dir, "v2"), filepath.Join(dir, "v2")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Open(ctx, tt.root)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if err := r.WriteAll(ctx, "sft/data/train-00000-of-00001.parquet", []byte("rows"), nil); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(tt.dir, "sft", "data", "train-00000-of-00001.parquet"))
			if err != nil || string(got) != "rows" {
				t.Fatalf("file on disk: %q, %v", got, err)
			}
			// The root holds the dataset's files and nothing else: no
			// metadata sidecars, no temporary files left behind.
			var extra []string
			filepath.WalkDir(tt.dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".parquet") {
					extra = append(extra, p)
				}
				return nil
			})
			if len(extra) > 0 {
				t.Errorf("files besides the dataset's: %v", extra)
			}
		})
	}
}

func TestBadRoots(t *testing.T) {
	ctx := t.Context()
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ root, want string }{
		{"", "empty"},
		{"ftp://host/x", `scheme "ftp" is not one of file, s3, gs`},
		{"s3:///prefix", "no bucket named"},
		{"file://out/v1", "file:///dir"},
		{file, "is a file, not a directory"},
	}
	for _, tt := range tests {
		if _, err := Open(ctx, tt.root); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%q) = %v, want an error saying %q", tt.root, err, tt.want)
		}
	}
}

// withPrefix puts a key prefix into the s3:// URL of scripts/s3.
func withPrefix(u, prefix string) string {
	base, query, _ := strings.Cut(u, "?")
	return base + "/" + strings.TrimSuffix(prefix, "/") + "?" + query
}

func TestS3Root(t *testing.T) {
	ctx := t.Context()
	bucket, prefix := blobtest.Open(t)
	r, err := Open(ctx, withPrefix(blobtest.URL(t), prefix+"v1"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.WriteAll(ctx, "README.md", []byte("card"), nil); err != nil {
		t.Fatal(err)
	}
	got, err := bucket.ReadAll(ctx, prefix+"v1/README.md")
	if err != nil || string(got) != "card" {
		t.Errorf("key under the root's prefix: %q, %v", got, err)
	}
	if s := r.String(); strings.Contains(s, "?") || !strings.HasSuffix(s, prefix+"v1") {
		t.Errorf("String() = %q, want the bucket and prefix without the query", s)
	}
}

// An unreachable endpoint and refused credentials fail at Open, naming what
// to check and never the secret.
func TestS3RootUnreachable(t *testing.T) {
	u := blobtest.URL(t)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	base, query, _ := strings.Cut(u, "?")
	var params []string
	for _, p := range strings.Split(query, "&") {
		if !strings.HasPrefix(p, "endpoint=") {
			params = append(params, p)
		}
	}
	closed := base + "/v1?" + strings.Join(append(params, "endpoint=http://127.0.0.1:1"), "&")
	const secret = "wrong-secret-0123456789"
	tests := []struct {
		name, root string
		env        map[string]string
		want       string
	}{
		{"closed port", closed, nil, "connection refused"},
		{"refused credentials", withPrefix(u, "v1"), map[string]string{"AWS_SECRET_ACCESS_KEY": secret}, "403"},
		{"no such bucket", strings.Replace(withPrefix(u, "v1"), "s3://"+strings.TrimPrefix(base, "s3://"), "s3://no-such-bucket-miroverse", 1), nil, "NoSuchBucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			r, err := Open(ctx, tt.root)
			if err == nil {
				r.Close()
				t.Fatalf("Open(%s) succeeded", tt.root)
			}
			msg := err.Error()
			if !strings.Contains(msg, "not reachable") || !strings.Contains(msg, tt.want) || !strings.Contains(msg, "check the bucket") {
				t.Errorf("error %q, want it to say the root is not reachable, why (%q) and what to check", msg, tt.want)
			}
			if strings.Contains(msg, secret) || strings.Contains(msg, "use_path_style") {
				t.Errorf("error shows the secret or the URL's query: %q", msg)
			}
		})
	}
}
