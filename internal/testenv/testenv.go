// Package testenv is the project's one rule for tests that need a real
// component (Neo4j, an S3 server, Slurm, the Python venv) or the shared
// data: a developer without it gets a skip that says what is missing and
// how to provide it, but under CI=true, where nothing may silently skip,
// the test fails.
package testenv

import (
	"fmt"
	"os"
	"runtime"
	"testing"
)

// CI reports whether the tests run under CI=true.
func CI() bool { return os.Getenv("CI") == "true" }

// Missing ends the test for a missing component: t.Fatal under CI, t.Skip
// elsewhere. The message says what is missing and how to provide it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("%s (required under CI=true)", msg)
	}
	t.Skipf("%s (CI=true makes this a failure)", msg)
}

// Need returns the environment variable name, ending the test with
// Missing when it is unset; hint says how to set it.
func Need(t testing.TB, name, hint string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		Missing(t, "%s is not set: %s", name, hint)
	}
	return v
}

// Probe runs fn with a TB that records how fn ended the test instead of
// ending it, so that helpers built on Missing can themselves be tested:
// ended is "fatal", "skip", or "" when fn returned; msg is the message.
func Probe(t testing.TB, fn func(testing.TB)) (ended, msg string) {
	t.Helper()
	o := &probeTB{TB: t}
	done := make(chan struct{})
	go func() { // Fatalf and Skipf end this goroutine, as they end a test's
		defer close(done)
		fn(o)
	}()
	<-done
	return o.ended, o.msg
}

type probeTB struct {
	testing.TB
	ended, msg string
}

func (o *probeTB) Helper() {}

func (o *probeTB) Fatalf(format string, args ...any) {
	o.ended, o.msg = "fatal", fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (o *probeTB) Skipf(format string, args ...any) {
	o.ended, o.msg = "skip", fmt.Sprintf(format, args...)
	runtime.Goexit()
}
