package neo4j

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miroverse/miroverse/internal/testenv"
	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/kgtest"
)

// faultPassword is the password of the fault test's own server.
const faultPassword = "fault-test-password"

// server is a Neo4j of the test's own, run with scripts/neo4j on its own
// port and home so that stopping it disturbs no other test.
type server struct {
	t      *testing.T
	script string
	home   string
	port   int
}

func newServer(t *testing.T) *server {
	t.Helper()
	if _, err := exec.LookPath("java"); err != nil {
		testenv.Missing(t, "java is needed to start a Neo4j: %v", err)
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "neo4j"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	srv := &server{t: t, script: script, home: t.TempDir(), port: port}
	// Stopped before TempDir removes the home it writes in (cleanups run
	// last-registered first).
	t.Cleanup(func() {
		if err := srv.run("stop"); err != nil {
			t.Errorf("stop the fault-test server: %v", err)
		}
	})
	return srv
}

// runOut runs scripts/neo4j with a command and returns its stdout.
func (s *server) runOut(command string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.script, command, "--home", s.home, "--port", strconv.Itoa(s.port))
	cmd.Env = append(os.Environ(), "NEO4J_PASSWORD="+faultPassword, "NEO4J_HEAP=768m")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	s.t.Logf("scripts/neo4j %s (%v): %s", command, time.Since(start).Round(100*time.Millisecond), strings.TrimSpace(stderr.String()))
	if err != nil {
		return "", errors.New(strings.TrimSpace(stderr.String()) + ": " + err.Error())
	}
	return stdout.String(), nil
}

func (s *server) run(command string) error {
	_, err := s.runOut(command)
	return err
}

// start starts the server and returns options for it, from the URI the
// script prints.
func (s *server) start() Options {
	s.t.Helper()
	out, err := s.runOut("start")
	if err != nil {
		s.t.Fatal(err)
	}
	var uri string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "NEO4J_URI="); ok {
			uri = v
		}
	}
	if uri != "bolt://127.0.0.1:"+strconv.Itoa(s.port) {
		s.t.Fatalf("scripts/neo4j start printed %q", out)
	}
	// Short retries: the test wants the failure, not a 30 s wait for it;
	// small batches: many transactions, so that the stop lands inside the
	// load.
	return Options{URI: uri, Password: faultPassword, NodeBatch: 100, RelBatch: 50, MaxRetryTime: 2 * time.Second}
}

// TestFaultRestart stops Neo4j in the middle of an ingest and in the middle
// of Finish and starts it again. The failed calls must say what failed and
// where; the interrupted Finish must leave each document resolved or as it
// was; re-running the load and Finish must leave exactly the graph of an
// uninterrupted load.
func TestFaultRestart(t *testing.T) {
	path := fatwikiPath(t)
	srv := newServer(t)
	ctx := context.Background()
	opt := srv.start()
	// A second start finds the running server and prints the same URI.
	if again := srv.start(); again.URI != opt.URI {
		t.Fatalf("second start printed %s, first %s", again.URI, opt.URI)
	}
	if err := srv.run("status"); err != nil {
		t.Fatalf("status of a running server: %v", err)
	}

	// The uninterrupted load on this server, and the embedded store's, as
	// references.
	s := openClean(t, opt)
	if _, err := loadDump(ctx, s, path, 200, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	wantCounts, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantGraph, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e, edb := openEmbedded(t)
	if _, err := loadDump(ctx, e, path, 200, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	sameGraph(t, ctx, e, edb, s)
	if err := s.wipe(ctx); err != nil {
		t.Fatal(err)
	}

	// Interrupted: after a few flushes the server is stopped while the
	// load goes on writing.
	stopped := make(chan error, 1)
	_, err = loadDump(ctx, s, path, 200, func(flushes int) error {
		if flushes == 3 {
			go func() { stopped <- srv.run("stop") }()
		}
		return nil
	})
	if err == nil {
		t.Fatal("the load went on although the server was stopped")
	}
	t.Logf("load failed as it should: %v", err)
	if !strings.Contains(err.Error(), opt.URI) {
		t.Errorf("error %q does not name the URI", err)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Started again, the store kept what was committed.
	opt = srv.start()
	s, err = Open(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	partial, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after the restart: %+v", partial)
	if partial.Docs == 0 || partial.Docs >= wantCounts.Docs {
		t.Errorf("after the restart %d docs; want some but not all of %d", partial.Docs, wantCounts.Docs)
	}

	// The full load again, then Finish, with the server stopped just
	// before its third write of links: Finish writes the links of a page
	// of sources per transaction, so two of those are committed and the
	// rest of the graph is not resolved yet.
	if _, err := loadDump(ctx, s, path, 200, nil); err != nil {
		t.Fatal(err)
	}
	const committed = 2
	linkWrites := 0
	s.beforeQuery = func(what string) {
		if !strings.HasPrefix(what, "finish: write links") {
			return
		}
		if linkWrites++; linkWrites == committed+1 {
			if err := srv.run("stop"); err != nil {
				t.Errorf("stop during Finish: %v", err)
			}
		}
	}
	finishErr := s.Finish(ctx)
	s.beforeQuery = nil
	if linkWrites <= committed {
		t.Fatalf("Finish wrote links %d times; the test needs more than %d to stop it in the middle", linkWrites, committed)
	}
	if finishErr == nil {
		t.Fatal("Finish succeeded although the server was stopped")
	}
	t.Logf("Finish during the stop: %v", finishErr)
	for _, want := range []string{opt.URI, "finish: write links", "cannot connect"} {
		if !strings.Contains(finishErr.Error(), want) {
			t.Errorf("Finish error %q does not say %q", finishErr, want)
		}
	}
	s.Close()

	// Started again, the store keeps what the interrupted Finish
	// committed: some documents with all their links, the others none.
	opt = srv.start()
	s, err = Open(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wantLinks := linksBySource(embeddedLinks(t, edb))
	resolved := linksBySource(neo4jLinks(t, s))
	for src, ls := range resolved {
		if !reflect.DeepEqual(ls, wantLinks[src]) {
			t.Errorf("after the interrupted Finish %s has %d links, not what an uninterrupted run gives it (%d)",
				src, len(ls), len(wantLinks[src]))
		}
	}
	if len(resolved) == 0 || len(resolved) >= len(wantLinks) {
		t.Errorf("after the interrupted Finish %d of %d linking documents are resolved; want some but not all",
			len(resolved), len(wantLinks))
	}

	// Finish again completes the graph, as an uninterrupted run left it.
	if err := s.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got != wantCounts {
		t.Errorf("counts after interruptions %+v, uninterrupted %+v", got, wantCounts)
	}
	g, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kgtest.SameGraph(t, g, wantGraph)
	sameGraph(t, ctx, e, edb, s)
	noDuplicates(t, s)
}

// linksBySource groups sorted links by their source document.
func linksBySource(links []kg.Link) map[string][]kg.Link {
	out := map[string][]kg.Link{}
	for _, l := range links {
		out[l.Src] = append(out[l.Src], l)
	}
	return out
}
