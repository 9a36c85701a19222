package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/miroverse/miroverse/internal/oracle"
	"github.com/miroverse/miroverse/pipeline"
)

func newOracleCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "oracle",
		Short: "The built-in deterministic teacher LLM (an OpenAI-compatible server)",
	}
	var (
		addr       string
		root       string
		errorRate  float64
		detourRate float64
		delay      time.Duration
	)
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve the oracle on a loopback address until interrupted",
		Long: "Serve the oracle as an OpenAI-compatible chat endpoint. Point llm.default.base_url at the printed URL to\n" +
			"run the pipeline against it as against any remote endpoint. With --root, the agent role knows the answer\n" +
			"paths of that dataset version's kept questions.",
		Example: "  miroverse oracle serve --addr 127.0.0.1:8000 --root out/demo",
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cfg := oracle.Config{ErrorRate: errorRate, DetourRate: detourRate, Delay: delay}
			if root != "" {
				keys, n, err := pipeline.LoadAnswerKeys(ctx, root)
				if err != nil {
					return fmt.Errorf("oracle serve --root %s: %w", root, err)
				}
				cfg.Keys = keys
				log.Info("loaded answer keys", "root", root, "questions", n)
			}
			srv, err := oracle.Start(ctx, cfg, addr)
			if err != nil {
				return fmt.Errorf("oracle serve: %w", err)
			}
			fmt.Fprintf(os.Stdout, "OPENAI_BASE_URL=%s\n", srv.URL())
			<-ctx.Done()
			return srv.Close(cmd.Context())
		},
	}
	serve.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "listen address (loopback; port 0 picks a free one)")
	serve.Flags().StringVar(&root, "root", "", "output root whose kept questions the agent role can solve")
	serve.Flags().Float64Var(&errorRate, "error-rate", 0.35, "fraction of rollouts (by seed) that answer wrongly")
	serve.Flags().Float64Var(&detourRate, "detour-rate", 0.25, "fraction of rollouts that take a detour search")
	serve.Flags().DurationVar(&delay, "delay", 0, "added latency per reply")
	cmd.AddCommand(serve)
	return cmd
}
