package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/miroverse/miroverse/pipeline"
)

func newInspectCmd() *cobra.Command {
	var asJSON bool
	var stage string
	cmd := &cobra.Command{
		Use:   "inspect ROOT",
		Short: "Summarise a dataset version: counts by stage and reason, and where its files are",
		Long: "Summarise a dataset version. With --stage, show that stage's counts by status and reason and up to three\n" +
			"examples per reason (for qa: the rejected questions with what they leaked, duplicated or matched).",
		Example: "  miroverse inspect out/demo\n  miroverse inspect out/demo --stage qa\n  miroverse inspect out/demo --stage qa --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			m, err := pipeline.ReadManifest(args[0])
			if err != nil {
				return fmt.Errorf("inspect %s: %w (is it an output root of miroverse run?)", args[0], err)
			}
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			if stage != "" {
				st, err := stageOf(m, stage)
				if err != nil {
					return fmt.Errorf("inspect %s: %w", args[0], err)
				}
				if asJSON {
					return enc.Encode(st)
				}
				printStage(os.Stdout, stage, st)
				return nil
			}
			if asJSON {
				return enc.Encode(m)
			}
			fmt.Fprint(os.Stdout, pipeline.Summary(m, args[0]))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the manifest JSON (with --stage: that stage's stats)")
	cmd.Flags().StringVar(&stage, "stage", "", "show one stage's counts by reason and examples: "+fmt.Sprint(pipeline.Stages))
	return cmd
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
}

func sortedReasons(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}
