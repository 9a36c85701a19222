package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/miroverse/miroverse/pipeline"
	"github.com/miroverse/miroverse/pipeline/oracle"
)

// oracleServeOptions are the flags of `oracle serve`.
type oracleServeOptions struct {
	g           *globalFlags
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
}

func newOracleCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "oracle",
		Short: "The built-in deterministic teacher LLM (an OpenAI-compatible server)",
	}
	opts := &oracleServeOptions{g: g}
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
			return oracleServeRun(cmd.Context(), opts)
		},
	}
	f := serve.Flags()
	f.StringVar(&opts.addr, "addr", "127.0.0.1:0", "listen address (loopback; port 0 picks a free one)")
	f.StringVar(&opts.root, "root", "", "output root whose kept questions the agent role can solve")
	f.Float64Var(&opts.errorRate, "error-rate", 0.35, "fraction of rollouts (by seed) that answer wrongly")
	f.Float64Var(&opts.detourRate, "detour-rate", 0.25, "fraction of rollouts that take a detour search")
	f.DurationVar(&opts.delay, "delay", 0, "added latency per reply")
	f.Float64Var(&opts.faultRate, "fault-rate", 0, "fraction of chat requests answered with an injected fault (0 to 1; 0: none)")
	f.StringVar(&opts.faultKinds, "fault-kinds", "all", "comma-separated fault kinds to draw from: "+oracle.FaultKindNames())
	f.DurationVar(&opts.faultHang, "fault-hang", oracle.DefaultFaultHang, "longest a timeout fault holds a request the client has not given up on")
	f.IntVar(&opts.faultStreak, "fault-max-streak", oracle.DefaultMaxStreak, "most faults in a row for one request; clients need at least this many retries")
	f.Int64Var(&opts.faultSeed, "fault-seed", 0, "seed of the choice of faulted requests and kinds")
	cmd.AddCommand(serve)
	return cmd
}

// oracleServeRun serves until ctx ends (an interrupt, in main).
func oracleServeRun(ctx context.Context, opts *oracleServeOptions) error {
	log, err := opts.g.logger()
	if err != nil {
		return err
	}
	kinds, err := oracle.ParseFaultKinds(opts.faultKinds)
	if err != nil {
		return fmt.Errorf("oracle serve --fault-kinds: %w", err)
	}
	cfg := oracle.Config{
		ErrorRate: opts.errorRate, DetourRate: opts.detourRate, Delay: opts.delay,
		Faults: oracle.Faults{
			Rate: opts.faultRate, Kinds: kinds, MaxStreak: opts.faultStreak, Hang: opts.faultHang, Seed: opts.faultSeed, Log: log,
		},
	}
	if opts.faultStreak == 0 && opts.faultRate > 0 {
		return fmt.Errorf("oracle serve: --fault-max-streak 0 with --fault-rate %v would fail requests forever; want >= 1", opts.faultRate)
	}
	if opts.root != "" {
		keys, n, err := pipeline.LoadAnswerKeys(ctx, opts.root)
		if err != nil {
			return fmt.Errorf("oracle serve --root %s: %w", opts.root, err)
		}
		cfg.Keys = keys
		log.Info("loaded answer keys", "root", opts.root, "questions", n)
	}
	srv, err := oracle.Start(ctx, cfg, opts.addr)
	if err != nil {
		return fmt.Errorf("oracle serve: %w", err)
	}
	if opts.faultRate > 0 {
		log.Info("injecting faults", "rate", opts.faultRate, "kinds", fmt.Sprint(kinds), "max_in_a_row", opts.faultStreak, "hang", opts.faultHang)
	}
	fmt.Fprintf(opts.g.IO.Out, "OPENAI_BASE_URL=%s\n", srv.URL())
	<-ctx.Done()
	if opts.faultRate > 0 {
		log.Info("faults injected", "by_kind", fmt.Sprint(srv.FaultCounts()))
	}
	return srv.Close(ctx)
}
