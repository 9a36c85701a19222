// Command miroverse regenerates a MiroVerse-style agentic training set: it
// ingests wiki dumps into a knowledge graph, samples multi-hop walks, writes
// verified questions, synthesizes agent trajectories, judges them and exports
// SFT and DPO Parquet.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newRootCmd().ExecuteContext(ctx)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "interrupted; run the same command again to resume")
			os.Exit(130)
		}
		var inc incompleteInput
		if errors.As(err, &inc) {
			fmt.Fprintln(os.Stderr, "miroverse:", err)
			os.Exit(3)
		}
		fmt.Fprintln(os.Stderr, "miroverse:", err)
		os.Exit(1)
	}
}
