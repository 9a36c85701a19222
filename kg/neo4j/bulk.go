package neo4j

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/miroverse/miroverse/internal/atomicfile"

	n4j "github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// Bulk import: `neo4j-admin database import full` writes a database's store
// files directly, at tens of times the rate of transactions, but only into a
// database that is stopped. Community edition cannot stop one database
// (STOP DATABASE is an Enterprise command), so the whole server is stopped,
// the files are imported with --overwrite-destination, and the server is
// started again. That needs the server's own installation on this machine:
// its bin/neo4j-admin and bin/neo4j, and its data directory. It is only
// ever done to an empty database (the caller checks Empty), so nothing is
// lost if an import fails half-way: the database is imported again.

// Admin is the installation of the store's server on this machine, as
// LocalAdmin found it.
type Admin struct {
	// Home is the server's NEO4J_HOME.
	Home string
	// Tool and Control are Home's bin/neo4j-admin and bin/neo4j.
	Tool, Control string
}

// BulkUnavailableError says why a bulk import cannot run from here.
type BulkUnavailableError struct {
	URI    string
	Reason string
}

func (e *BulkUnavailableError) Error() string {
	return "neo4j " + e.URI + ": no bulk import from this machine: " + e.Reason
}

// Empty reports whether the database holds no graph: no node at all apart
// from the Meta nodes that Open itself writes (the schema version) and a
// previous graph's counters. nodes is the number of nodes it holds, Meta
// included, for messages.
func (s *Store) Empty(ctx context.Context) (empty bool, nodes int64, err error) {
	err = s.read(ctx, "check for an empty database", `
		CALL { MATCH (n) RETURN count(n) AS nodes }
		CALL { MATCH (n) WHERE NOT n:Meta RETURN n LIMIT 1 }
		RETURN nodes`, nil,
		func() { empty, nodes = true, 0 },
		func(r *n4j.Record) error {
			// A row means the subquery found a node that is not Meta.
			empty = false
			nodes, _ = r.Values[0].(int64)
			return nil
		})
	if err != nil || !empty {
		return empty, nodes, err
	}
	err = s.read(ctx, "count nodes", `MATCH (n) RETURN count(n)`, nil, nil, func(r *n4j.Record) error {
		nodes, _ = r.Values[0].(int64)
		return nil
	})
	return empty, nodes, err
}

// LocalAdmin finds the installation of the store's server on this machine.
// home overrides the installation directory; by default it is the one the
// server reports (server.directories.neo4j_home). The server must listen on
// an address of this machine, and home must hold bin/neo4j-admin and
// bin/neo4j and a data directory this process can write: otherwise a
// *BulkUnavailableError says which.
func (s *Store) LocalAdmin(ctx context.Context, home string) (*Admin, error) {
	unavailable := func(format string, args ...any) (*Admin, error) {
		return nil, &BulkUnavailableError{URI: s.uri, Reason: fmt.Sprintf(format, args...)}
	}
	local, err := isLocalAddress(ctx, s.opt.URI)
	if err != nil {
		return unavailable("%v", err)
	}
	if !local {
		return unavailable("the server is on another machine")
	}
	dirs := map[string]string{}
	err = s.read(ctx, "read the server's directories", `
		SHOW SETTINGS YIELD name, value
		WHERE name IN ['server.directories.neo4j_home', 'server.directories.data']
		RETURN name, value`, nil,
		func() { clear(dirs) },
		func(r *n4j.Record) error {
			k, _ := r.Values[0].(string)
			v, _ := r.Values[1].(string)
			dirs[k] = v
			return nil
		})
	if err != nil {
		return unavailable("cannot read the server's directories (SHOW SETTINGS): %v", err)
	}
	reported := dirs["server.directories.neo4j_home"]
	if home == "" {
		home = reported
	}
	if home == "" {
		return unavailable("the server does not report its home directory")
	}
	if fi, err := os.Stat(home); err != nil || !fi.IsDir() {
		return unavailable("the server's home %s is not a directory on this machine (a container or another host's path?)", home)
	}
	a := &Admin{Home: home, Tool: filepath.Join(home, "bin", "neo4j-admin"), Control: filepath.Join(home, "bin", "neo4j")}
	for _, p := range []string{a.Tool, a.Control} {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return unavailable("%s is not an executable (a package install without bin/ in its home? then set graph.neo4j_home)", p)
		}
	}
	// The server's data directory, when it names one here and home is the
	// server's own; an overriding home keeps its data where its config says,
	// which the import tool reads itself.
	data := filepath.Join(home, "data")
	if d := dirs["server.directories.data"]; d != "" && home == reported {
		data = d
	}
	databases := filepath.Join(data, "databases")
	probe, err := os.CreateTemp(databases, ".miroverse-write-test-*")
	if err != nil {
		return unavailable("cannot write the server's data directory %s: %v", databases, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return a, nil
}

// isLocalAddress reports whether the host of a bolt:// or neo4j:// URI is an
// address of this machine.
func isLocalAddress(ctx context.Context, uri string) (bool, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return false, fmt.Errorf("parse the URI: %w", err)
	}
	host := u.Hostname()
	if host == "" {
		return false, errors.New("the URI names no host")
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return false, fmt.Errorf("resolve %s: %w", host, err)
	}
	ifaces, err := net.InterfaceAddrs()
	if err != nil {
		return false, fmt.Errorf("list this machine's addresses: %w", err)
	}
	for _, a := range addrs {
		if a.IP.IsLoopback() {
			return true, nil
		}
		for _, ia := range ifaces {
			if n, ok := ia.(*net.IPNet); ok && n.IP.Equal(a.IP) {
				return true, nil
			}
		}
	}
	return false, nil
}

// ImportReport is how long each step of an Import took.
type ImportReport struct {
	Stop, Import, Start, Schema time.Duration
}

// The phases an import journal records. A journal in phaseStopping means
// the server may be stopped and the database half-imported; in
// phaseImported, that the import is complete but the server may be down.
const (
	phaseStopping = "stopping"
	phaseImported = "imported"
)

// importJournal is import.json in the export directory: written before the
// server is stopped and removed once it serves the imported graph, so that
// a process killed in between leaves what ResumeImport needs.
type importJournal struct {
	Phase    string   `json:"phase"`
	Home     string   `json:"home"`
	Tool     string   `json:"tool"`
	Control  string   `json:"control"`
	Database string   `json:"database"`
	Args     []string `json:"args"`
}

const journalName = "import.json"

// Import loads an export into the store's database with the server's
// neo4j-admin: the server is stopped, the files imported over the
// database, the server started, and the schema created on the new graph
// (Open's constraints and indexes, built from the imported data). The
// database must be empty (see Empty): the import replaces it. The server
// is down for the import, so every client of the server waits or fails
// meanwhile.
//
// If the process dies on the way, the journal in the export directory lets
// ResumeImport finish the job. If a step fails, the server is started again
// before the error returns.
func (s *Store) Import(ctx context.Context, a *Admin, exp AdminExport) (ImportReport, error) {
	var rep ImportReport
	j := importJournal{Phase: phaseStopping, Home: a.Home, Tool: a.Tool, Control: a.Control, Database: exp.Database, Args: exp.Args}
	if err := writeJournal(exp.Dir, j); err != nil {
		return rep, err
	}
	step := func(d *time.Duration, fn func() error) error {
		start := time.Now()
		err := fn()
		*d = time.Since(start)
		return err
	}
	if err := step(&rep.Stop, func() error { return j.control(ctx, exp.Dir, "stop", s.opt.Password) }); err != nil {
		return rep, s.restartAfter(ctx, j, exp.Dir, err)
	}
	if err := step(&rep.Import, func() error { return j.importFiles(ctx, exp.Dir) }); err != nil {
		return rep, s.restartAfter(ctx, j, exp.Dir, err)
	}
	j.Phase = phaseImported
	if err := writeJournal(exp.Dir, j); err != nil {
		return rep, s.restartAfter(ctx, j, exp.Dir, err)
	}
	if err := step(&rep.Start, func() error { return s.startAndWait(ctx, j, exp.Dir) }); err != nil {
		return rep, err
	}
	if err := step(&rep.Schema, func() error { return s.init(ctx) }); err != nil {
		return rep, err
	}
	if err := s.checkImported(ctx, exp); err != nil {
		return rep, err
	}
	if err := os.Remove(filepath.Join(exp.Dir, journalName)); err != nil {
		return rep, fmt.Errorf("neo4j: import: remove the journal: %w", err)
	}
	return rep, nil
}

// restartAfter starts the server after a failed step, so that a failed
// import does not leave it down, and returns the step's error.
func (s *Store) restartAfter(ctx context.Context, j importJournal, dir string, err error) error {
	if serr := s.startAndWait(context.WithoutCancel(ctx), j, dir); serr != nil {
		return fmt.Errorf("%w; and starting the server again failed: %v", err, serr)
	}
	return err
}

// checkImported verifies that the server serves what was imported, which
// fails when the installation imported into is not the server's own.
func (s *Store) checkImported(ctx context.Context, exp AdminExport) error {
	c, err := s.Counts(ctx)
	if err != nil {
		return err
	}
	if c.Docs != exp.Documents || c.Links != exp.Links {
		return fmt.Errorf("neo4j %s: after the import the database holds %d documents and %d links, the import had %d and %d: "+
			"the installation imported into is not the server's (set graph.neo4j_home to it)", s.uri, c.Docs, c.Links, exp.Documents, exp.Links)
	}
	return nil
}

// startAndWait starts the server and waits until the database answers.
func (s *Store) startAndWait(ctx context.Context, j importJournal, dir string) error {
	if err := j.control(ctx, dir, "start", s.opt.Password); err != nil {
		return err
	}
	s.forgetBookmarks()
	return waitOnline(ctx, s.driver, s.opt.Database, s.uri)
}

// startTimeout bounds the wait for a started server to serve the database.
const startTimeout = 10 * time.Minute

// waitOnline polls until the database answers a query.
func waitOnline(ctx context.Context, drv n4j.DriverWithContext, database, uri string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	var last error
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 10*time.Second)
		_, err := n4j.ExecuteQuery(attempt, drv, "RETURN 1", nil, n4j.EagerResultTransformer,
			n4j.ExecuteQueryWithDatabase(database), n4j.ExecuteQueryWithReadersRouting(), n4j.ExecuteQueryWithoutBookmarkManager())
		cancelAttempt()
		if err == nil {
			return nil
		}
		var ne *n4j.Neo4jError
		if errors.As(err, &ne) && ne.Code == "Neo.ClientError.Security.Unauthorized" {
			return fmt.Errorf("neo4j %s: after the import the server refuses the login: %w", uri, err)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("neo4j %s: the database did not come online after the import (%v): %w", uri, last, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// control runs the installation's bin/neo4j with "stop" or "start".
// NEO4J_PASSWORD is the one the store logs in with: the test harness's
// bin/neo4j sets the password of user neo4j from it at every start (a real
// installation ignores it), and the journal must not keep it.
func (j importJournal) control(ctx context.Context, dir, command, password string) error {
	cmd := exec.CommandContext(ctx, j.Control, command)
	cmd.Env = append(os.Environ(), "NEO4J_HOME="+j.Home)
	if password != "" {
		cmd.Env = append(cmd.Env, "NEO4J_PASSWORD="+password)
	}
	return runLogged(cmd, dir, fmt.Sprintf("neo4j: %s the server (%s %s)", command, j.Control, command), false)
}

// importFiles runs neo4j-admin database import full over the database.
func (j importJournal) importFiles(ctx context.Context, dir string) error {
	args := append([]string{"database", "import", "full", "--overwrite-destination",
		"--report-file=" + filepath.Join(dir, "import.report")}, j.Args...)
	cmd := exec.CommandContext(ctx, j.Tool, args...)
	env := append(os.Environ(), "NEO4J_HOME="+j.Home)
	if _, set := os.LookupEnv("NEO4J_CONF"); !set {
		if fi, err := os.Stat(filepath.Join(j.Home, "conf")); err == nil && fi.IsDir() {
			env = append(env, "NEO4J_CONF="+filepath.Join(j.Home, "conf"))
		}
	}
	cmd.Env = env
	cmd.Dir = dir
	return runLogged(cmd, dir, "neo4j: import with "+j.Tool, true)
}

// runLogged runs cmd with its output appended to import.log in dir, and on
// failure returns what failed with the output's last lines. The import
// tool dies with this process (dieWithParent): a killed ingest must not
// leave it writing into a database that the resumed run imports again.
func runLogged(cmd *exec.Cmd, dir, what string, dieWithParent bool) error {
	logf, err := os.OpenFile(filepath.Join(dir, "import.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== %s %s\n", time.Now().UTC().Format(time.RFC3339), strings.Join(cmd.Args, " "))
	var tail bytes.Buffer
	cmd.Stdout = &tailWriter{w: logf, tail: &tail}
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = sysProcAttr(dieWithParent)
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w; its last output (all of it in %s):\n%s", what, err,
			filepath.Join(dir, "import.log"), lastLines(tail.String(), 15))
	}
	return nil
}

// tailWriter copies output to w and keeps its last 64 kB.
type tailWriter struct {
	w    *os.File
	tail *bytes.Buffer
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.tail.Write(p)
	if t.tail.Len() > 64<<10 {
		b := t.tail.Bytes()
		keep := append([]byte(nil), b[len(b)-32<<10:]...)
		t.tail.Reset()
		t.tail.Write(keep)
	}
	return t.w.Write(p)
}

// lastLines is the last n non-progress lines of out (the import tool draws
// progress bars of dots).
func lastLines(out string, n int) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "..........") {
			keep = append(keep, "  "+t)
		}
	}
	return strings.Join(keep[max(0, len(keep)-n):], "\n")
}

func writeJournal(dir string, j importJournal) error {
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("neo4j: import journal: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, journalName), b); err != nil {
		return fmt.Errorf("neo4j: import journal: %w", err)
	}
	return nil
}

// ResumeImport finishes an import that a killed process left in dir (its
// journal says how far it got), so that the server serves the imported
// graph again: an import that may not have completed is run again (the
// database was empty before it, so nothing else is overwritten), a server
// that may be down is started. It reports whether there was anything to
// resume. opt reaches the server, as for Open.
func ResumeImport(ctx context.Context, dir string, opt Options) (bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, journalName))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("neo4j: resume import: %w", err)
	}
	var j importJournal
	if err := json.Unmarshal(b, &j); err != nil {
		return false, fmt.Errorf("neo4j: resume import: %s: %w", filepath.Join(dir, journalName), err)
	}
	opt = withDefaults(opt)
	drv, err := n4j.NewDriverWithContext(opt.URI, n4j.BasicAuth(opt.User, opt.Password, ""))
	if err != nil {
		return false, fmt.Errorf("neo4j: resume import: %w", err)
	}
	defer drv.Close(context.WithoutCancel(ctx))
	shown := redactedURI(opt.URI)
	if j.Phase == phaseStopping {
		// The stop may not have happened or finished, the import may be
		// half done: stop (a no-op on a stopped server) and import again.
		if err := j.control(ctx, dir, "stop", opt.Password); err != nil {
			return true, err
		}
		if err := j.importFiles(ctx, dir); err != nil {
			j.control(context.WithoutCancel(ctx), dir, "start", opt.Password)
			return true, err
		}
		j.Phase = phaseImported
		if err := writeJournal(dir, j); err != nil {
			return true, err
		}
	}
	if !reachable(ctx, drv, j.Database) {
		if err := j.control(ctx, dir, "start", opt.Password); err != nil {
			return true, err
		}
	}
	if err := waitOnline(ctx, drv, j.Database, shown); err != nil {
		return true, err
	}
	if err := os.Remove(filepath.Join(dir, journalName)); err != nil {
		return true, fmt.Errorf("neo4j: resume import: remove the journal: %w", err)
	}
	return true, nil
}

// reachable reports whether the database answers at once.
func reachable(ctx context.Context, drv n4j.DriverWithContext, database string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := n4j.ExecuteQuery(ctx, drv, "RETURN 1", nil, n4j.EagerResultTransformer,
		n4j.ExecuteQueryWithDatabase(database), n4j.ExecuteQueryWithReadersRouting(), n4j.ExecuteQueryWithoutBookmarkManager())
	return err == nil
}
