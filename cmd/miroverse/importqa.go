package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/miroverse/miroverse/pipeline"
)

// withQAImport adds `qa import` under the qa stage command.
func withQAImport(g *globalFlags, qaCmd *cobra.Command) *cobra.Command {
	qaCmd.AddCommand(newQAImportCmd(g))
	return qaCmd
}

// qaImportOptions are the flags of `qa import`.
type qaImportOptions struct {
	g   *globalFlags
	f   stageFlags
	opt pipeline.ImportOptions
}

func newQAImportCmd(g *globalFlags) *cobra.Command {
	opts := &qaImportOptions{g: g}
	cmd := &cobra.Command{
		Use:   "import --input FILE [--format hotpotqa|musique|jsonl] [--contamination FILE]... --out ROOT",
		Short: "Import a public multi-hop QA set (HotpotQA, MuSiQue, {question, answer} JSONL) as questions of ROOT",
		Long: "Import a public QA file into ROOT: its questions become items of the qa stage, gated for contamination\n" +
			"(qa.contamination of the config plus every --contamination list) and near duplicates (qa.dedup_threshold);\n" +
			"the paragraphs of HotpotQA (context) and MuSiQue (paragraphs) become documents of the graph, one per title.\n" +
			"synthesize, judge and export then continue from the kept questions. The format is detected from the first\n" +
			"record when --format is not given. A malformed record is reported with its file and line or index,\n" +
			"counted as failed (malformed_record), and the rest is imported. Importing the same file again adds nothing.",
		Example: "  miroverse qa import --input hotpotqa_train_100.json --contamination hotpotqa_dev_7405.json --out out/hp\n" +
			"  miroverse synthesize --out out/hp && miroverse judge --out out/hp && miroverse export --out out/hp",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return qaImportRun(cmd.Context(), opts)
		},
	}
	opts.f.bind(cmd, false)
	cmd.Flags().StringVar(&opts.opt.Input, "input", "", "the QA file (JSON array or JSONL)")
	cmd.Flags().StringVar(&opts.opt.Format, "format", "", "hotpotqa, musique or jsonl (default: detected)")
	cmd.Flags().StringArrayVar(&opts.opt.Contamination, "contamination", nil, "benchmark list to reject questions against (repeatable)")
	_ = cmd.MarkFlagRequired("input")
	return cmd
}

func qaImportRun(ctx context.Context, opts *qaImportOptions) error {
	return withRunner(ctx, opts.g, &opts.f, func(ctx context.Context, _ pipeline.Config, r *pipeline.Runner) error {
		res, err := r.ImportQA(ctx, opts.opt)
		// A broken file still reports what was imported before the break.
		if res != nil {
			fmt.Fprintf(opts.g.IO.Out, "imported %s (%s): %d records, %d kept, %d rejected%s, %d failed%s, %d already imported; %d documents added\n",
				opts.opt.Input, res.Format, res.Records, res.Kept, total(res.Rejected), byReason(res.Rejected),
				total(res.Failed), byReason(res.Failed), res.AlreadyThere, res.Docs)
		}
		return err
	})
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func byReason(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func sortStrings(s []string) { sort.Strings(s) }
