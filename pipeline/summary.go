package pipeline

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dustin/go-humanize"
)

// under names key (a slash path) in root: a file path for a local root,
// a URL for one in object storage.
func under(root, key string) string {
	if strings.Contains(root, "://") {
		return strings.TrimSuffix(root, "/") + "/" + key
	}
	return filepath.Join(root, filepath.FromSlash(key))
}

// Summary renders a dataset version for a person: what each stage kept and
// rejected by reason, and where the files are.
func Summary(m *Manifest, root string) string {
	var b strings.Builder
	get := func(s string) *StageStats {
		if st := m.Stages[s]; st != nil {
			return st
		}
		return newStageStats()
	}
	ing, smp, q, syn, jdg, exp := get(StageIngest), get(StageSample), get(StageQA), get(StageSynthesize), get(StageJudge), get(StageExport)
	fmt.Fprintf(&b, "dataset version %s (config %s, seed %d)\n", root, short(m.ConfigHash), m.Seed)
	fmt.Fprintf(&b, "  graph       %s documents, %s links, %s aliases (%s)\n",
		humanize.Comma(m.Graph.Docs), humanize.Comma(m.Graph.Links), humanize.Comma(m.Graph.Aliases), m.Graph.Backend)
	if n := ing.Failed["malformed_page"]; n > 0 || ing.Counts["truncated_inputs"] > 0 {
		fmt.Fprintf(&b, "  ingest      %d malformed pages skipped, %d truncated inputs\n", n, ing.Counts["truncated_inputs"])
	}
	fmt.Fprintf(&b, "  walks       %s%s\n", humanize.Comma(smp.Kept), spreadNote(smp.Diversity))
	fmt.Fprintf(&b, "  questions   %s kept, %s rejected%s, %s failed%s\n",
		humanize.Comma(q.Kept), humanize.Comma(sum(q.Rejected)), reasons(q.Rejected), humanize.Comma(sum(q.Failed)), reasons(q.Failed))
	if d := q.Diversity; d != nil {
		fmt.Fprintf(&b, "  kept        %s\n", DiversityLine(d))
	}
	if len(q.GateRates) > 0 {
		fmt.Fprintf(&b, "  gate rates  %s\n", RatesLine(q.GateRates))
	}
	fmt.Fprintf(&b, "  rollouts    %s: %s correct, %s incorrect; %s without a final answer, %s failed%s\n",
		humanize.Comma(syn.In), humanize.Comma(jdg.Kept), humanize.Comma(sum(jdg.Rejected)),
		humanize.Comma(syn.Rejected["format_error"]), humanize.Comma(sum(syn.Failed)), reasons(syn.Failed))
	fmt.Fprintf(&b, "  SFT rows    %s\n", humanize.Comma(exp.Counts["sft_rows"]))
	fmt.Fprintf(&b, "  DPO pairs   %s\n", humanize.Comma(exp.Counts["dpo_pairs"]))
	if tok := q.PromptTokens + q.CompletionTokens + syn.PromptTokens + syn.CompletionTokens; tok > 0 {
		fmt.Fprintf(&b, "  tokens      %s\n", humanize.Comma(tok))
	}
	b.WriteString("files\n")
	for _, part := range []string{"sft/data", "dpo/data", "trajectories", "qa", "subgraphs"} {
		if out := m.Outputs[part]; out != nil {
			fmt.Fprintf(&b, "  %-13s %s (%d files, %s rows)\n", part, under(root, part), len(out.Files), humanize.Comma(out.Rows))
		}
	}
	fmt.Fprintf(&b, "  %-13s %s\n", "card", under(root, "README.md"))
	fmt.Fprintf(&b, "  %-13s %s\n", "manifest", under(root, "manifest.json"))
	return b.String()
}

// spreadNote is the walks line's tail: " (…)" with the spread, or "".
func spreadNote(d *Diversity) string {
	if d == nil {
		return ""
	}
	return " (" + DiversityLine(d) + ")"
}

// DiversityLine renders a Diversity on one line: distinct answers, distinct
// final clauses when the questions listed them, and the document on most
// items with its share.
func DiversityLine(d *Diversity) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s distinct answers", humanize.Comma(d.DistinctAnswers))
	if d.DistinctFinalClauses > 0 {
		fmt.Fprintf(&b, ", %s distinct final clauses", humanize.Comma(d.DistinctFinalClauses))
	}
	if d.TopNode != "" {
		name := d.TopNodeTitle
		if name == "" {
			name = d.TopNode
		}
		fmt.Fprintf(&b, "; largest node share %.1f%% (%q, on %d of %d", 100*d.TopNodeShare, name, d.TopNodeItems, d.Items)
		if d.NodeCap > 0 {
			fmt.Fprintf(&b, ", cap %d", d.NodeCap)
		}
		b.WriteString(")")
	}
	return b.String()
}

// RatesLine renders gate rates by reason, largest first (ties by name), as
// percentages of the candidates.
func RatesLine(rates map[string]float64) string {
	keys := sortedKeys(rates)
	sort.SliceStable(keys, func(i, j int) bool { return rates[keys[i]] > rates[keys[j]] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.1f%%", k, 100*rates[k])
	}
	return strings.Join(parts, ", ")
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func reasons(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// IngestSummary renders the counts of an ingest (or dry run) by reason.
func IngestSummary(st *StageStats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "pages       %s in %.1fs\n", humanize.Comma(st.Counts["pages"]), st.Seconds)
	fmt.Fprintf(&b, "documents   %s", humanize.Comma(st.Kept))
	if n := st.Counts["disambiguation"] + st.Counts["list"]; n > 0 {
		fmt.Fprintf(&b, " (%s disambiguation, %s list pages: kept out of walks)", humanize.Comma(st.Counts["disambiguation"]), humanize.Comma(st.Counts["list"]))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "skipped     %s%s\n", humanize.Comma(sum(st.Skipped)), reasons(st.Skipped))
	fmt.Fprintf(&b, "failed      %s%s\n", humanize.Comma(sum(st.Failed)), reasons(st.Failed))
	var ns []string
	for _, k := range sortedKeys(st.Counts) {
		if strings.HasPrefix(k, "ns_") {
			ns = append(ns, fmt.Sprintf("%s %s", strings.TrimPrefix(k, "ns_"), humanize.Comma(st.Counts[k])))
		}
	}
	fmt.Fprintf(&b, "namespaces  %s\n", strings.Join(ns, ", "))
	for _, reason := range sortedKeys(st.Examples) {
		for _, ex := range st.Examples[reason] {
			fmt.Fprintf(&b, "  %s: %s\n", reason, ex)
		}
	}
	if st.Incomplete() {
		fmt.Fprintf(&b, "input ended early (truncated): %d, corrupt streams: %d\n", st.Counts["truncated_inputs"], st.Counts["corrupt_streams"])
	} else {
		b.WriteString("input complete\n")
	}
	return b.String()
}
