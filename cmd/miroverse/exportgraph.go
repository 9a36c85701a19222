package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/miroverse/miroverse/pipeline"
)

// exportGraphOptions are the flags of `export-graph`.
type exportGraphOptions struct {
	IO                          IO
	root, format, dir, database string
}

func newExportGraphCmd(streams IO) *cobra.Command {
	opts := &exportGraphOptions{IO: streams}
	cmd := &cobra.Command{
		Use:   "export-graph --format neo4j-admin --root ROOT [--dir DIR]",
		Short: "Write the graph of an output root as files for a bulk loader (neo4j-admin import)",
		Long: "Write the embedded graph of ROOT (after ingest) as the CSV files and headers that\n" +
			"`neo4j-admin database import full` takes, and print the import command. For graphs too large\n" +
			"for batched transactions; the imported database is one the neo4j backend serves directly.",
		Example: "  miroverse export-graph --format neo4j-admin --root out/v1",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exportGraphRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.root, "root", "", "output root whose graph/kg.db to export")
	cmd.Flags().StringVar(&opts.format, "format", "neo4j-admin", "output format: neo4j-admin")
	cmd.Flags().StringVar(&opts.dir, "dir", "", "where to write the files (default ROOT/graph/neo4j-admin)")
	cmd.Flags().StringVar(&opts.database, "database", "neo4j", "database name for the import command")
	_ = cmd.MarkFlagRequired("root")
	return cmd
}

func exportGraphRun(ctx context.Context, opts *exportGraphOptions) error {
	exp, err := pipeline.ExportGraph(ctx, opts.root, opts.format, opts.dir, opts.database)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "wrote %d documents, %d links, %d aliases to %s\n", exp.Documents, exp.Links, exp.Aliases, exp.Dir)
	fmt.Fprintf(opts.IO.Out, "import with (Neo4j stopped; add --overwrite-destination to replace a database):\n  neo4j-admin database import full %s\n", strings.Join(exp.Args, " "))
	return nil
}
