// Package tooltest holds the fakes that the tests of the agent loop and of
// the tool set both need: a corpus, an extractor and a sandbox provider, in
// memory, each recording what it was asked so that a test can prove a tool
// did or did not run. Only tests import it.
package tooltest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/sandbox"
)

// Corpus is an in-memory corpus of three linked documents.
type Corpus struct {
	Docs []kg.Doc

	mu       sync.Mutex
	searches []string
	fetches  []string
}

// NewCorpus returns the three documents about the Analytical Engine.
func NewCorpus() *Corpus {
	return &Corpus{Docs: []kg.Doc{
		{ID: "d1", Title: "Ada Lovelace", URL: "https://demo.wiki/Ada_Lovelace",
			Text: "Ada Lovelace was an English mathematician who worked with Charles Babbage on the Analytical Engine."},
		{ID: "d2", Title: "Charles Babbage", URL: "https://demo.wiki/Charles_Babbage",
			Text: "Charles Babbage was an English polymath who designed the Analytical Engine."},
		{ID: "d3", Title: "Analytical Engine", URL: "https://demo.wiki/Analytical_Engine",
			Text: "The Analytical Engine was a proposed mechanical general-purpose computer & a milestone."},
	}}
}

// Search ranks documents by how many query words they contain, then by
// title, which is enough ranking for tests.
func (c *Corpus) Search(_ context.Context, query string, limit int) ([]kg.SearchHit, error) {
	c.mu.Lock()
	c.searches = append(c.searches, query)
	c.mu.Unlock()
	words := strings.Fields(strings.ToLower(query))
	var hits []kg.SearchHit
	for _, d := range c.Docs {
		hay := strings.ToLower(d.Title + " " + d.Text)
		score := 0
		for _, w := range words {
			if strings.Contains(hay, w) {
				score++
			}
		}
		if score > 0 {
			hits = append(hits, kg.SearchHit{DocID: d.ID, Title: d.Title, URL: d.URL,
				Snippet: d.Text[:min(40, len(d.Text))], Score: float64(score)})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].Score != hits[j].Score {
			return hits[i].Score > hits[j].Score
		}
		return hits[i].Title < hits[j].Title
	})
	if len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, nil
}

// DocByURL returns the document with url, or an error wrapping
// kg.ErrNotFound.
func (c *Corpus) DocByURL(_ context.Context, url string) (kg.Doc, error) {
	c.mu.Lock()
	c.fetches = append(c.fetches, url)
	c.mu.Unlock()
	for _, d := range c.Docs {
		if d.URL == url {
			return d, nil
		}
	}
	return kg.Doc{}, fmt.Errorf("doc %s: %w", url, kg.ErrNotFound)
}

// Searches are the queries searched so far, in order.
func (c *Corpus) Searches() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.searches)
}

// Fetches are the URLs fetched so far, in order.
func (c *Corpus) Fetches() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.fetches)
}

// Calls counts the searches and fetches so far.
func (c *Corpus) Calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.searches) + len(c.fetches)
}

// Extractor answers extractor calls with "EXTRACTED", or fails with Err,
// and records the prompts it got. Tokens is the total its replies report.
type Extractor struct {
	Err    error
	Tokens int

	mu      sync.Mutex
	prompts []string
}

// Chat records the last message of req and answers it.
func (e *Extractor) Chat(_ context.Context, req openai.ChatCompletionRequest) (llm.Reply, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.prompts = append(e.prompts, req.Messages[len(req.Messages)-1].Content)
	if e.Err != nil {
		return llm.Reply{}, e.Err
	}
	return llm.Reply{Message: openai.ChatCompletionMessage{Role: "assistant", Content: "EXTRACTED"},
		Usage: openai.Usage{TotalTokens: e.Tokens}}, nil
}

// Model names the extractor in recorded calls.
func (e *Extractor) Model() string { return "extractor" }

// Prompts are the prompts received so far, in order.
func (e *Extractor) Prompts() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.prompts)
}

// Sandboxes is a sandbox provider without processes: each sandbox keeps
// the log of the commands run in it, and a command's output is that log, so
// a repeated command shows state and a lost sandbox shows up as a lost log.
// The command "silent" prints nothing; in ExecCommand, "fail" exits with
// status 2 and "fail" on stderr. Written files are logged as "write:PATH"
// and kept for Files.
type Sandboxes struct {
	mu      sync.Mutex
	next    int
	live    map[string][]string
	files   map[string]string // "provider id/path" → content
	removed []string
}

// NewSandboxes returns a provider with no sandboxes.
func NewSandboxes() *Sandboxes {
	return &Sandboxes{live: map[string][]string{}, files: map[string]string{}}
}

// Create makes an empty sandbox.
func (f *Sandboxes) Create(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	id := fmt.Sprintf("provider-%d", f.next)
	f.live[id] = nil
	return id, nil
}

// RunPython runs code as the command "python:<code>".
func (f *Sandboxes) RunPython(_ context.Context, id, code string) string {
	return f.RunCommand(context.Background(), id, "python:"+code)
}

// RunCommand appends command to the sandbox's log and returns the log.
func (f *Sandboxes) RunCommand(_ context.Context, id, command string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	log, ok := f.live[id]
	if !ok {
		return "[ERROR]: provider does not know " + id
	}
	if command == "silent" {
		return ""
	}
	log = append(log, command)
	f.live[id] = log
	return strings.Join(log, "|")
}

// ExecPython is RunPython with the log as stdout.
func (f *Sandboxes) ExecPython(ctx context.Context, id, code string) sandbox.Execution {
	return f.exec(ctx, id, "python:"+code)
}

// ExecCommand is RunCommand with the log as stdout.
func (f *Sandboxes) ExecCommand(ctx context.Context, id, command string) sandbox.Execution {
	if command == "fail" {
		if ex := f.exec(ctx, id, command); ex.Failure != "" {
			return ex
		}
		return sandbox.Execution{Stderr: "fail", ExitCode: 2}
	}
	return f.exec(ctx, id, command)
}

func (f *Sandboxes) exec(ctx context.Context, id, command string) sandbox.Execution {
	out := f.RunCommand(ctx, id, command)
	if strings.HasPrefix(out, trajectory.ToolErrorPrefix) {
		return sandbox.Execution{Failure: out}
	}
	return sandbox.Execution{Stdout: out}
}

// WriteFile keeps data as the file path of sandbox id.
func (f *Sandboxes) WriteFile(_ context.Context, id, path string, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	log, ok := f.live[id]
	if !ok {
		return fmt.Errorf("provider does not know %s", id)
	}
	f.live[id] = append(log, "write:"+path)
	f.files[id+"/"+path] = string(data)
	return nil
}

// Files are the files written so far, by "provider id/path"; removed
// sandboxes keep theirs here.
func (f *Sandboxes) Files() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.files)
}

// Remove deletes one sandbox.
func (f *Sandboxes) Remove(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.live, id)
	f.removed = append(f.removed, id)
	return nil
}

// Live counts the sandboxes not removed yet.
func (f *Sandboxes) Live() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.live)
}

// Removed lists the removed sandboxes' ids, in order.
func (f *Sandboxes) Removed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.removed)
}

// sandboxIDRe matches a create_sandbox result; its group is the sandbox_id.
// The tests read results with their own pattern rather than the toolset's
// reader, so that a change of wording shows.
var sandboxIDRe = regexp.MustCompile(`^Sandbox created with sandbox_id: (\S+)$`)

// SandboxIDOf reads the sandbox_id of a create_sandbox result.
func SandboxIDOf(result string) (string, bool) {
	m := sandboxIDRe.FindStringSubmatch(result)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// Caller runs tool calls: a tool session.
type Caller interface {
	Call(ctx context.Context, name, argsJSON string) string
}

// CreateIn creates a sandbox in s and returns its sandbox_id.
func CreateIn(t *testing.T, s Caller) string {
	t.Helper()
	got := s.Call(context.Background(), trajectory.ToolCreateSandbox, `{}`)
	id, ok := SandboxIDOf(got)
	if !ok {
		t.Fatalf("create_sandbox: %q", got)
	}
	return id
}

// CommandArgs are run_command's arguments for command in sandbox id.
func CommandArgs(id, command string) string {
	b, _ := json.Marshal(map[string]string{"command": command, "sandbox_id": id})
	return string(b)
}
