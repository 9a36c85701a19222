package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/miroverse/miroverse/pipeline"
)

func newInspectCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect ROOT",
		Short: "Summarise a dataset version: counts by stage and reason, and where its files are",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			m, err := pipeline.ReadManifest(args[0])
			if err != nil {
				return fmt.Errorf("inspect %s: %w (is it an output root of miroverse run?)", args[0], err)
			}
			if asJSON {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(m)
			}
			fmt.Fprint(os.Stdout, pipeline.Summary(m, args[0]))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the manifest JSON")
	return cmd
}
