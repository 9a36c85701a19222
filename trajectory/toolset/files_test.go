package toolset_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/internal/tooltest"
	"github.com/miroverse/miroverse/trajectory/toolset"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestSandboxLifetime(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		mode     string
		cap      time.Duration
		create   string        // create_sandbox's arguments
		idle     time.Duration // before the first call
		thenIdle time.Duration // after the first call, before the second
		alive    [2]bool       // whether each of the two calls finds the sandbox
	}{
		{"default lifetime is 600s", "", 0, `{}`, 600 * time.Second, 0, [2]bool{true, true}},
		{"unused past the lifetime", "", 0, `{}`, 601 * time.Second, 0, [2]bool{false, false}},
		{"timeout shortens the first lifetime", "", 0, `{"timeout":30}`, 31 * time.Second, 0, [2]bool{false, false}},
		{"timeout above the cap is capped", "", 0, `{"timeout":"3600"}`, 601 * time.Second, 0, [2]bool{false, false}},
		{"a call renews to the cap, not the timeout", "", 0, `{"timeout":30}`, 20 * time.Second, 500 * time.Second, [2]bool{true, true}},
		{"renewed lifetime runs out too", "", 0, `{"timeout":30}`, 20 * time.Second, 601 * time.Second, [2]bool{true, false}},
		{"configured cap", "", 10 * time.Second, `{"timeout":600}`, 11 * time.Second, 0, [2]bool{false, false}},
		{"text results: expiry said plainly", toolset.PythonText, 0, `{}`, 601 * time.Second, 0, [2]bool{false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
			p := tooltest.NewSandboxes()
			s := toolset.New(tooltest.NewCorpus(), nil).WithSandbox(p).
				WithOptions(toolset.Options{PythonResult: tt.mode, SandboxLifetime: tt.cap, Now: clock.Now}).Open()
			defer s.Close()
			id, ok := tooltest.SandboxIDOf(s.Call(ctx, trajectory.ToolCreateSandbox, tt.create))
			if !ok {
				t.Fatal("create_sandbox failed")
			}
			for i, wait := range []time.Duration{tt.idle, tt.thenIdle} {
				clock.advance(wait)
				got := s.Call(ctx, trajectory.ToolRunCommand, tooltest.CommandArgs(id, "ls"))
				if alive := !strings.HasPrefix(got, trajectory.ToolErrorPrefix); alive != tt.alive[i] {
					t.Errorf("call %d: %q, want alive=%v", i+1, got, tt.alive[i])
				}
				if !tt.alive[i] {
					want := "Failed to connect to sandbox " + id
					if tt.mode == toolset.PythonText {
						want = "was shut down after going unused"
					}
					if !strings.Contains(got, want) {
						t.Errorf("call %d: %q lacks %q", i+1, got, want)
					}
				}
			}
			if !tt.alive[0] && p.Live() != 0 {
				t.Errorf("an expired sandbox was not removed: %d live", p.Live())
			}
		})
	}
}

func TestUploadAndDownload(t *testing.T) {
	ctx := context.Background()
	local := t.TempDir()
	if err := os.MkdirAll(filepath.Join(local, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(local, "data", "table.csv"), []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(local, "link.txt")); err != nil {
		t.Fatal(err)
	}
	const id = "sbx-1ea6328bad9fab83"
	up := func(args string) string { return `{"sandbox_id":"` + id + `",` + args + `}` }
	tests := []struct {
		name, local, tool, args string
		want                    string
		wantFile                string // "path=content" the provider must hold afterwards
	}{
		{"upload to the default directory", local, trajectory.ToolUploadFile, up(`"local_file_path":"data/table.csv"`),
			"File uploaded to /home/user/table.csv", "table.csv=a,b\n1,2\n"},
		{"upload by absolute path into /work", local, trajectory.ToolUploadFile,
			up(`"local_file_path":"` + filepath.Join(local, "data", "table.csv") + `","sandbox_file_path":"/work/in"`),
			"File uploaded to /work/in/table.csv", "in/table.csv=a,b\n1,2\n"},
		{"upload of a missing file", local, trajectory.ToolUploadFile, up(`"local_file_path":"nope.csv"`),
			"[ERROR]: Local file does not exist: nope.csv", ""},
		{"upload of a directory", local, trajectory.ToolUploadFile, up(`"local_file_path":"data"`),
			"[ERROR]: Path is not a file: data", ""},
		{"upload from outside the directory", local, trajectory.ToolUploadFile, up(`"local_file_path":"` + outside + `"`),
			"[ERROR]: Local file is outside the files provided with this task: " + outside, ""},
		{"upload through a link out of the directory", local, trajectory.ToolUploadFile, up(`"local_file_path":"link.txt"`),
			"[ERROR]: Local file is outside the files provided with this task: link.txt", ""},
		{"upload climbing out", local, trajectory.ToolUploadFile, up(`"local_file_path":"../x"`),
			"[ERROR]: Local file is outside the files provided with this task: ../x", ""},
		{"upload without local files", "", trajectory.ToolUploadFile, up(`"local_file_path":"data/table.csv"`),
			"[ERROR]: Local file does not exist: data/table.csv (no local files are provided with this task)", ""},
		{"upload outside the working directory", local, trajectory.ToolUploadFile, up(`"local_file_path":"data/table.csv","sandbox_file_path":"/tmp"`),
			"[ERROR]: Failed to upload file data/table.csv to sandbox " + id + ": only /home/user (the same directory as /work) keeps files in this sandbox", ""},
		{"upload to a placeholder id", local, trajectory.ToolUploadFile, `{"sandbox_id":"sandbox","local_file_path":"data/table.csv"}`,
			"[ERROR]: 'sandbox' is not a valid sandbox_id. Please create a real sandbox first using the create_sandbox tool.", ""},
		{"download into the default directory", "", trajectory.ToolDownloadFile, up(`"url":"https://demo.wiki/Ada_Lovelace"`),
			"File downloaded to /home/user/Ada_Lovelace",
			"Ada_Lovelace=# Ada Lovelace\n\nAda Lovelace was an English mathematician who worked with Charles Babbage on the Analytical Engine."},
		{"download to a file path", "", trajectory.ToolDownloadFile, up(`"url":"https://demo.wiki/Ada_Lovelace","sandbox_file_path":"pages/ada page.md"`),
			"File downloaded to 'pages/ada page.md'", "pages/ada page.md=# Ada Lovelace\n\n"},
		{"download of a page the corpus lacks", "", trajectory.ToolDownloadFile, up(`"url":"https://demo.wiki/Nope"`),
			"[ERROR]: Failed to download file from https://demo.wiki/Nope to /home/user/Nope. Exception: 404 Not Found: no page with this URL is in the collection the search tool searches", ""},
		{"download with an unknown id", "", trajectory.ToolDownloadFile, `{"sandbox_id":"sbx-0000000000000000","url":"https://demo.wiki/Ada_Lovelace"}`,
			"[ERROR]: Failed to connect to sandbox sbx-0000000000000000. Make sure the sandbox is created and the sandbox_id is correct.", ""},
		{"download with an unknown argument", "", trajectory.ToolDownloadFile, up(`"url":"https://demo.wiki/Ada_Lovelace","overwrite":true`),
			"[ERROR]: Error calling tool 'download_file_from_internet_to_sandbox': unexpected keyword argument 'overwrite'; download_file_from_internet_to_sandbox takes sandbox_id, url, sandbox_file_path", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tooltest.NewSandboxes()
			s := toolset.New(tooltest.NewCorpus(), nil).WithSandbox(p).WithOptions(toolset.Options{LocalFiles: tt.local}).Open()
			defer s.Close()
			if got := tooltest.CreateIn(t, s); got != id {
				t.Fatalf("first sandbox %s, want %s", got, id)
			}
			if got := s.Call(ctx, tt.tool, tt.args); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			files := p.Files()
			if tt.wantFile == "" {
				if len(files) != 0 {
					t.Errorf("files written: %v", files)
				}
				return
			}
			path, content, _ := strings.Cut(tt.wantFile, "=")
			got, ok := files["provider-1/"+path]
			if !ok || !strings.HasPrefix(got, content) {
				t.Errorf("file %s = %q (present %v), want %q; files %v", path, got, ok, content, files)
			}
		})
	}
}
