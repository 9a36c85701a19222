package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/miroverse/miroverse/pipeline"
	"github.com/miroverse/miroverse/pipeline/oracle"
)

func newOracleCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "oracle",
		Short: "The built-in deterministic teacher LLM (an OpenAI-compatible server)",
	}
	var (
		addr        string
		root        string
		errorRate   float64
		detourRate  float64
		delay       time.Duration
		faultRate   float64
		faultKinds  string
		faultHang   time.Duration
		faultStreak int
		faultSeed   int64
	)
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve the oracle on a loopback address until interrupted",
		Long: "Serve the oracle as an OpenAI-compatible chat endpoint. Point llm.default.base_url at the printed URL to\n" +
			"run the pipeline against it as against any remote endpoint. With --root, the agent role knows the answer\n" +
			"paths of that dataset version's kept questions.\n\n" +
			"Fault injection: with --fault-rate R, a fraction R of chat requests is answered with a fault drawn from\n" +
			"--fault-kinds: " + oracle.FaultKindNames() + ".\n" +
			"429-retry-after sends Retry-After: 1 (as seconds or as an HTTP-date); reset closes the connection with a TCP\n" +
			"reset; timeout holds the request unanswered until the client gives up or --fault-hang passes; truncated\n" +
			"sends half of the real JSON reply with status 200; empty-choices sends 200 with \"choices\": [].\n" +
			"A request (same role and body) meets at most --fault-max-streak faults in a row and is then answered, and\n" +
			"never faulted again; so a client retrying at least that many times always gets the same answer a fault-free\n" +
			"oracle gives. Which requests fail and how is drawn from --fault-seed and the request, so it is the same on\n" +
			"every run.\n\n" +
			"A pipeline run that starts the built-in oracle itself takes the same settings from llm.oracle.fault_rate,\n" +
			"fault_kinds and fault_hang, and from the environment variable " + pipeline.EnvOracleFaultRate + ".",
		Example: "  miroverse oracle serve --addr 127.0.0.1:8000 --root out/demo\n" +
			"  miroverse oracle serve --fault-rate 0.2 --fault-kinds 429-retry-after,503,reset,timeout --fault-hang 5s",
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			kinds, err := oracle.ParseFaultKinds(faultKinds)
			if err != nil {
				return fmt.Errorf("oracle serve --fault-kinds: %w", err)
			}
			cfg := oracle.Config{
				ErrorRate: errorRate, DetourRate: detourRate, Delay: delay,
				Faults: oracle.Faults{
					Rate: faultRate, Kinds: kinds, MaxStreak: faultStreak, Hang: faultHang, Seed: faultSeed, Log: log,
				},
			}
			if faultStreak == 0 && faultRate > 0 {
				return fmt.Errorf("oracle serve: --fault-max-streak 0 with --fault-rate %v would fail requests forever; want >= 1", faultRate)
			}
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
			if faultRate > 0 {
				log.Info("injecting faults", "rate", faultRate, "kinds", fmt.Sprint(kinds), "max_in_a_row", faultStreak, "hang", faultHang)
			}
			fmt.Fprintf(os.Stdout, "OPENAI_BASE_URL=%s\n", srv.URL())
			<-ctx.Done()
			if faultRate > 0 {
				log.Info("faults injected", "by_kind", fmt.Sprint(srv.FaultCounts()))
			}
			return srv.Close(cmd.Context())
		},
	}
	f := serve.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:0", "listen address (loopback; port 0 picks a free one)")
	f.StringVar(&root, "root", "", "output root whose kept questions the agent role can solve")
	f.Float64Var(&errorRate, "error-rate", 0.35, "fraction of rollouts (by seed) that answer wrongly")
	f.Float64Var(&detourRate, "detour-rate", 0.25, "fraction of rollouts that take a detour search")
	f.DurationVar(&delay, "delay", 0, "added latency per reply")
	f.Float64Var(&faultRate, "fault-rate", 0, "fraction of chat requests answered with an injected fault (0 to 1; 0: none)")
	f.StringVar(&faultKinds, "fault-kinds", "all", "comma-separated fault kinds to draw from: "+oracle.FaultKindNames())
	f.DurationVar(&faultHang, "fault-hang", oracle.DefaultFaultHang, "longest a timeout fault holds a request the client has not given up on")
	f.IntVar(&faultStreak, "fault-max-streak", oracle.DefaultMaxStreak, "most faults in a row for one request; clients need at least this many retries")
	f.Int64Var(&faultSeed, "fault-seed", 0, "seed of the choice of faulted requests and kinds")
	cmd.AddCommand(serve)
	return cmd
}
