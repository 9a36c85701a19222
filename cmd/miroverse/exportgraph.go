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
		Use:   "export-graph --format neo4j-admin|jsonl --root ROOT [--dir DIR]",
		Short: "Write the graph of an output root as files: JSONL to read and audit, or CSV for neo4j-admin import",
		Long: "--format jsonl writes DIR/documents.jsonl (id, url, title, source, lang, date, text, categories)\n" +
			"and DIR/links.jsonl (src, dst, anchor, sentence) from the graph of ROOT, whichever backend its\n" +
			"ingest used (default DIR: ROOT/graph/jsonl).\n\n" +
			"--format neo4j-admin writes the embedded graph of ROOT (after ingest) as the CSV files and headers\n" +
			"that `neo4j-admin database import full` takes, and prints the import command. For graphs too large\n" +
			"for batched transactions; the imported database is one the neo4j backend serves directly.",
		Example: "  miroverse export-graph --format jsonl --root out/v1 --dir audit/\n" +
			"  miroverse export-graph --format neo4j-admin --root out/v1",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exportGraphRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.root, "root", "", "output root whose graph to export")
	cmd.Flags().StringVar(&opts.format, "format", "neo4j-admin", "output format: jsonl or neo4j-admin")
	cmd.Flags().StringVar(&opts.dir, "dir", "", "where to write the files (default ROOT/graph/jsonl or ROOT/graph/neo4j-admin)")
	cmd.Flags().StringVar(&opts.database, "database", "neo4j", "database name for the import command")
	_ = cmd.MarkFlagRequired("root")
	return cmd
}

func exportGraphRun(ctx context.Context, opts *exportGraphOptions) error {
	out, err := pipeline.ExportGraph(ctx, opts.root, opts.format, opts.dir, opts.database)
	if err != nil {
		return err
	}
	if out.Format == pipeline.GraphFormatJSONL {
		fmt.Fprintf(opts.IO.Out, "wrote %d documents and %d links:\n  %s\n", out.Documents, out.Links, strings.Join(out.Files, "\n  "))
		return nil
	}
	exp := out.Admin
	fmt.Fprintf(opts.IO.Out, "wrote %d documents, %d links, %d aliases to %s\n", exp.Documents, exp.Links, exp.Aliases, exp.Dir)
	fmt.Fprintf(opts.IO.Out, "import with (Neo4j stopped; add --overwrite-destination to replace a database):\n  neo4j-admin database import full %s\n", strings.Join(exp.Args, " "))
	return nil
}
