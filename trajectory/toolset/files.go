package toolset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/internal/clip"
)

// maxUploadBytes bounds a file copied into a sandbox: it is read into
// memory on the way.
const maxUploadBytes = 64 << 20

// The sandbox's working directory as the model may name it: /work is
// where this sandbox mounts it, /home/user where E2B's sandboxes keep it
// and so where MiroThinker's tools put files by default.
const (
	sandboxWorkDir = "/work"
	sandboxHomeDir = "/home/user"
)

// sandboxRel maps a path in the sandbox to one relative to its working
// directory. A relative path is relative to the working directory, as in
// E2B. Only the working directory keeps files between calls, so a path
// elsewhere is refused with the reason.
func sandboxRel(p string) (string, error) {
	if !path.IsAbs(p) {
		p = path.Join(sandboxHomeDir, p)
	}
	p = path.Clean(p)
	for _, dir := range []string{sandboxHomeDir, sandboxWorkDir} {
		if p == dir {
			return ".", nil
		}
		if rest, ok := strings.CutPrefix(p, dir+"/"); ok {
			return rest, nil
		}
	}
	return "", fmt.Errorf("only %s (the same directory as %s) keeps files in this sandbox", sandboxHomeDir, sandboxWorkDir)
}

// looksLikeDir is MiroThinker's rule for where a download goes
// (python_mcp_server.py, looks_like_dir): a path that ends with a slash or
// has no extension is a directory to put the file in. Its other case, an
// existing directory, is judged there on the tool server's own disk rather
// than the sandbox's, so it is left out.
func looksLikeDir(p string) bool {
	return strings.HasSuffix(p, "/") || path.Ext(p) == ""
}

// upload is upload_file_from_local_to_sandbox. "Local" files are the run's
// own: those under Options.LocalFiles, named by their path there (or by
// an absolute path inside that directory). Checks and texts follow
// MiroThinker's server in its order: sandbox_id, the local file, then the
// destination.
func (s *Session) upload(ctx context.Context, a uploadArgs) string {
	t := s.tools
	id := strings.TrimSpace(a.SandboxID)
	local := strings.TrimSpace(a.LocalFilePath)
	dest := strings.TrimSpace(a.SandboxFilePath)
	if dest == "" {
		dest = sandboxHomeDir
	}
	if local == "" {
		return toolErrorf("%s needs a non-empty local_file_path (the file to upload)", trajectory.ToolUploadFile)
	}
	return s.withSandbox(trajectory.ToolUploadFile, id, func(pid string) string {
		data, msg := t.readLocalFile(local)
		if msg != "" {
			return msg
		}
		target := path.Clean(path.Join(dest, path.Base(filepath.ToSlash(local))))
		rel, err := sandboxRel(target)
		if err == nil {
			err = t.sandbox.WriteFile(ctx, pid, rel, data)
		}
		if err != nil {
			return fmt.Sprintf("%s Failed to upload file %s to sandbox %s: %s", trajectory.ToolErrorPrefix, local, id,
				clip.Runes(err.Error(), maxErrorDetailChars))
		}
		return "File uploaded to " + target
	})
}

// readLocalFile reads one of the exposed files, or returns the error text
// that names the path. The directory is opened as an os.Root, so a link
// inside it cannot lead out of it.
func (t *Toolset) readLocalFile(local string) ([]byte, string) {
	dir := t.opts.LocalFiles
	if dir == "" {
		return nil, fmt.Sprintf("%s Local file does not exist: %s (no local files are provided with this task)", trajectory.ToolErrorPrefix, local)
	}
	rel := filepath.Clean(filepath.FromSlash(local))
	if filepath.IsAbs(rel) {
		absDir, err := filepath.Abs(dir)
		if err != nil {
			return nil, toolErrorf("local files: %v", err)
		}
		r, err := filepath.Rel(absDir, rel)
		if err != nil || !filepath.IsLocal(r) {
			return nil, fmt.Sprintf("%s Local file is outside the files provided with this task: %s", trajectory.ToolErrorPrefix, local)
		}
		rel = r
	}
	if !filepath.IsLocal(rel) {
		return nil, fmt.Sprintf("%s Local file is outside the files provided with this task: %s", trajectory.ToolErrorPrefix, local)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, toolErrorf("local files: %v", err)
	}
	defer root.Close()
	fi, err := root.Stat(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Sprintf("%s Local file does not exist: %s", trajectory.ToolErrorPrefix, local)
	case err != nil:
		// os.Root refuses a link that leads out of the directory.
		return nil, fmt.Sprintf("%s Local file is outside the files provided with this task: %s", trajectory.ToolErrorPrefix, local)
	case !fi.Mode().IsRegular():
		return nil, fmt.Sprintf("%s Path is not a file: %s", trajectory.ToolErrorPrefix, local)
	case fi.Size() > maxUploadBytes:
		return nil, fmt.Sprintf("%s Local file %s is %d bytes, over the %d-byte upload limit", trajectory.ToolErrorPrefix, local, fi.Size(), maxUploadBytes)
	}
	f, err := root.Open(rel)
	if err != nil {
		return nil, fmt.Sprintf("%s Local file does not exist: %s", trajectory.ToolErrorPrefix, local)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxUploadBytes+1))
	if err != nil {
		return nil, toolErrorf("reading local file %s: %v", local, err)
	}
	return data, ""
}

// download is download_file_from_internet_to_sandbox. The internet here is
// the corpus: the page with that URL, as the scrape tool reads it, is
// written to the file.
func (s *Session) download(ctx context.Context, a downloadArgs) string {
	t := s.tools
	id := strings.TrimSpace(a.SandboxID)
	rawURL := strings.TrimSpace(a.URL)
	dest := strings.TrimSpace(a.SandboxFilePath)
	if dest == "" {
		dest = sandboxHomeDir
	}
	if rawURL == "" {
		return toolErrorf("%s needs a non-empty url", trajectory.ToolDownloadFile)
	}
	return s.withSandbox(trajectory.ToolDownloadFile, id, func(pid string) string {
		target := dest
		if looksLikeDir(dest) {
			base := "downloaded_file"
			if u, err := url.Parse(rawURL); err == nil && path.Base(u.Path) != "/" && path.Base(u.Path) != "." {
				base = path.Base(u.Path)
			}
			target = path.Join(dest, base)
		}
		target = path.Clean(target)
		fail := func(detail string) string {
			return fmt.Sprintf("%s Failed to download file from %s to %s. Exception: %s", trajectory.ToolErrorPrefix, rawURL, target,
				clip.Runes(detail, maxErrorDetailChars))
		}
		rel, err := sandboxRel(target)
		if err != nil {
			return fail(err.Error())
		}
		doc, err := t.corpus.DocByURL(ctx, rawURL)
		switch {
		case errors.Is(err, kg.ErrNotFound):
			return fail("404 Not Found: no page with this URL is in the collection the search tool searches")
		case err != nil:
			return fail(err.Error())
		}
		if err := t.sandbox.WriteFile(ctx, pid, rel, []byte(pageText(doc))); err != nil {
			return fail(err.Error())
		}
		return "File downloaded to " + shlexQuote(target)
	})
}
