// Command miroverse regenerates a MiroVerse-style agentic training set: it
// ingests wiki dumps into a knowledge graph, samples multi-hop walks, writes
// verified questions, synthesizes agent trajectories, judges them and exports
// SFT and DPO Parquet.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses; batch jobs and scripts branch on them.
const (
	exitOK          = 0
	exitError       = 1
	exitIncomplete  = 3   // ingest kept every readable page of a damaged input
	exitInterrupted = 130 // what a shell reports for Ctrl-C; the run resumes
)

// main is the only place that touches the process: its streams,
// environment, signals and exit status. Everything else runs in-process
// from execute, which is what the tests call.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, IO{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, LookupEnv: os.LookupEnv}, os.Args[1:])
	stop()
	os.Exit(code)
}

// execute runs the command line args on streams and returns the exit
// status, having reported the error on streams.ErrOut.
func execute(ctx context.Context, streams IO, args []string) int {
	root, g := newRoot(streams)
	// cobra reads os.Args when given nil, which in a test would be the test
	// binary's own flags.
	if args == nil {
		args = []string{}
	}
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if perr := g.stopProfile(); err == nil {
		err = perr
	}
	return exitStatus(err, root.ErrOrStderr())
}

// exitStatus reports err on errOut and maps it to an exit status.
func exitStatus(err error, errOut io.Writer) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(errOut, "interrupted; run the same command again to resume")
		return exitInterrupted
	}
	fmt.Fprintln(errOut, "miroverse:", err)
	var inc incompleteInput
	if errors.As(err, &inc) {
		return exitIncomplete
	}
	return exitError
}
