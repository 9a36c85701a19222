package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/miroverse/miroverse/pipeline"
)

// inspectOptions are the argument and flags of `inspect`.
type inspectOptions struct {
	IO     IO
	root   string
	asJSON bool
	stage  string
}

func newInspectCmd(streams IO) *cobra.Command {
	opts := &inspectOptions{IO: streams}
	cmd := &cobra.Command{
		Use:   "inspect ROOT",
		Short: "Summarise a dataset version: counts by stage and reason, and where its files are",
		Long: "Summarise a dataset version. With --stage, show that stage's counts by status and reason and up to three\n" +
			"examples per reason (for qa: the rejected questions with what they leaked, duplicated or matched).",
		Example: "  miroverse inspect out/demo\n  miroverse inspect out/demo --stage qa\n  miroverse inspect out/demo --stage qa --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.root = args[0]
			return inspectRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.asJSON, "json", false, "print the manifest JSON (with --stage: that stage's stats)")
	cmd.Flags().StringVar(&opts.stage, "stage", "", "show one stage's counts by reason and examples: "+fmt.Sprint(pipeline.Stages))
	return cmd
}

func inspectRun(ctx context.Context, opts *inspectOptions) error {
	out := opts.IO.Out
	m, err := pipeline.LoadManifest(ctx, opts.root)
	if err != nil {
		return fmt.Errorf("inspect %s: %w (is it an output root of miroverse run?)", opts.root, err)
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	if opts.stage != "" {
		st, err := stageOf(m, opts.stage)
		if err != nil {
			return fmt.Errorf("inspect %s: %w", opts.root, err)
		}
		if opts.asJSON {
			return enc.Encode(st)
		}
		printStage(out, opts.stage, st)
		return nil
	}
	if opts.asJSON {
		return enc.Encode(m)
	}
	fmt.Fprint(out, pipeline.Summary(m, opts.root))
	return nil
}

// stageOf returns a stage's stats; a known stage that has not run yet is an
// error that says so rather than a page of zeros.
func stageOf(m *pipeline.Manifest, stage string) (*pipeline.StageStats, error) {
	known := false
	for _, s := range pipeline.Stages {
		known = known || s == stage
	}
	if !known {
		return nil, fmt.Errorf("unknown stage %q (stages: %v)", stage, pipeline.Stages)
	}
	st := m.Stages[stage]
	if st == nil {
		return nil, fmt.Errorf("stage %s has not run in this root", stage)
	}
	return st, nil
}

// printStage renders one stage: totals, then each reason with its count and
// examples, so a reviewer sees why items were dropped without opening files.
func printStage(w io.Writer, stage string, st *pipeline.StageStats) {
	fmt.Fprintf(w, "stage %s: %d in, %d kept", stage, st.In, st.Kept)
	if !st.Complete {
		fmt.Fprint(w, " (incomplete)")
	}
	fmt.Fprintln(w)
	for _, group := range []struct {
		name string
		m    map[string]int64
	}{{"rejected", st.Rejected}, {"failed", st.Failed}, {"skipped", st.Skipped}} {
		for _, reason := range sortedReasons(group.m) {
			fmt.Fprintf(w, "  %-8s %-28s %d\n", group.name, reason, group.m[reason])
			for _, ex := range st.Examples[reason] {
				fmt.Fprintf(w, "      e.g. %s\n", ex)
			}
		}
	}
	for _, k := range sortedReasons(st.Counts) {
		fmt.Fprintf(w, "  count    %-28s %d\n", k, st.Counts[k])
	}
	if st.Diversity != nil {
		fmt.Fprintf(w, "  spread   %s\n", pipeline.DiversityLine(st.Diversity))
	}
	if len(st.GateRates) > 0 {
		fmt.Fprintf(w, "  gates    %s of %d candidates\n", pipeline.RatesLine(st.GateRates), st.In)
	}
}

func sortedReasons(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}
