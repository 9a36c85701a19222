package main

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/dustin/go-humanize"
)

// The English Wikipedia the costs are extrapolated to (the figures).
const (
	enwikiArticles = 6.9e6
	enwikiBz2      = 22e9
	oneMillion     = 1e6
)

// metric is one cost measured at every size.
type metric struct {
	name  string
	value func(*result) float64
	bytes bool // a size in bytes rather than seconds
}

var metrics = []metric{
	{name: "dry-run parse", value: func(r *result) float64 { return r.DryRun }},
	{name: "ingest (read + finish)", value: func(r *result) float64 { return r.Ingest }},
	{name: "finish (link resolution)", value: func(r *result) float64 { return r.Finish }},
	// CPU times: on a shared machine they move less with other load than
	// wall times, so their exponents are the steadier reading.
	{name: "dry-run parse CPU", value: func(r *result) float64 { return r.DryRunCPU }},
	{name: "ingest CPU", value: func(r *result) float64 { return r.IngestCPU }},
	{name: "kg.db size", value: func(r *result) float64 { return float64(r.KGBytes) }, bytes: true},
	{name: "ingest peak RSS", value: func(r *result) float64 { return float64(r.IngestRSS) }, bytes: true},
	{name: "sample (fixed walk count)", value: func(r *result) float64 { return r.SampleStage }},
	{name: "sample peak RSS", value: func(r *result) float64 { return float64(r.SampleRSS) }, bytes: true},
	{name: "search process peak RSS", value: func(r *result) float64 { return float64(r.Search.RSS) }, bytes: true},
	{name: "google_search p50", value: func(r *result) float64 { return r.Search.P50 }},
	{name: "google_search p99", value: func(r *result) float64 { return r.Search.P99 }},
}

// fit is a least-squares line through (ln x, ln y): y ≈ e^a · x^b.
type fit struct {
	a, b float64
	ok   bool
}

func fitLogLog(xs, ys []float64) fit {
	var lx, ly []float64
	for i := range xs {
		if xs[i] > 0 && ys[i] > 0 {
			lx, ly = append(lx, math.Log(xs[i])), append(ly, math.Log(ys[i]))
		}
	}
	n := float64(len(lx))
	if len(lx) < 2 {
		return fit{}
	}
	var sx, sy, sxx, sxy float64
	for i := range lx {
		sx, sy, sxx, sxy = sx+lx[i], sy+ly[i], sxx+lx[i]*lx[i], sxy+lx[i]*ly[i]
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return fit{}
	}
	b := (n*sxy - sx*sy) / den
	return fit{a: (sy - b*sx) / n, b: b, ok: true}
}

func (f fit) at(x float64) float64 { return math.Exp(f.a + f.b*math.Log(x)) }

// report holds the measurements and what follows from them.
type report struct {
	rs      []*result
	byN     map[string]fit // metric name → fit against articles
	byBytes map[string]fit // metric name → fit against bz2 bytes
	neo4j   bool
}

func newReport(rs []*result) *report {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Articles < rs[j].Articles })
	rep := &report{rs: rs, byN: map[string]fit{}, byBytes: map[string]fit{}}
	var ns, bs []float64
	for _, r := range rs {
		ns, bs = append(ns, float64(r.Articles)), append(bs, float64(r.Dump.Bz2Bytes))
		rep.neo4j = rep.neo4j || len(r.Neo4j) > 0
	}
	for _, m := range metrics {
		var ys []float64
		for _, r := range rs {
			ys = append(ys, m.value(r))
		}
		rep.byN[m.name], rep.byBytes[m.name] = fitLogLog(ns, ys), fitLogLog(bs, ys)
	}
	ws, ds := make([]float64, len(rs)), make([]float64, len(rs))
	for i, r := range rs {
		ws[i], ds[i] = r.WalksPerSec(), r.DrawsPerSec()
	}
	rep.byN["walks/s"], rep.byN["draws/s"] = fitLogLog(ns, ws), fitLogLog(ns, ds)
	return rep
}

func metricByName(name string) metric {
	for _, m := range metrics {
		if m.name == name {
			return m
		}
	}
	panic("no metric " + name)
}

// atMillion is a metric at 1M articles: measured when 1M was run, else
// read off the fit; the bool says whether it was extrapolated.
func (rep *report) atMillion(name string) (float64, bool, bool) {
	for _, r := range rep.rs {
		if r.Articles == oneMillion {
			switch name {
			case "walks/s":
				return r.WalksPerSec(), false, true
			case "draws/s":
				return r.DrawsPerSec(), false, true
			}
			return metricByName(name).value(r), false, true
		}
	}
	f := rep.byN[name]
	return f.at(oneMillion), true, f.ok
}

// enwiki extrapolates a metric to the English Wikipedia, by article count
// and by compressed size; the larger counts, because the generated articles
// are shorter than enwiki's (its 22 GB of bz2 hold ~3.2 KB per article,
// ours ~1 KB), so byte-bound costs outgrow the article count.
func (rep *report) enwiki(name string) (byArticles, byBytes float64, ok bool) {
	fa, fb := rep.byN[name], rep.byBytes[name]
	if !fa.ok || !fb.ok {
		return 0, 0, false
	}
	return fa.at(enwikiArticles), fb.at(enwikiBz2), true
}

func seconds(s float64) string {
	switch {
	case s <= 0:
		return "—"
	case s < 1:
		return fmt.Sprintf("%.1f ms", s*1e3)
	case s < 120:
		return fmt.Sprintf("%.1f s", s)
	case s < 7200:
		return fmt.Sprintf("%.1f min", s/60)
	}
	return fmt.Sprintf("%.1f h", s/3600)
}

func bytesOf(v float64) string {
	if v <= 0 {
		return "—"
	}
	return humanize.Bytes(uint64(v))
}

func (m metric) format(v float64) string {
	if m.bytes {
		return bytesOf(v)
	}
	return seconds(v)
}

func rate(v float64) string {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return humanize.Comma(int64(math.Round(v)))
}

func passMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// measurements is the table of figures, a row per size, then the growth
// exponents and the extrapolation to enwiki.
func (rep *report) measurements() [][]string {
	head := []string{"articles", "XML (bz2)", "dry-run parse (CPU)", "ingest (read + finish) (CPU)", "finish", "kg.db / XML",
		"ingest RSS", "sample RSS", "walks/s: stage (without snapshot)", "google_search p50 / p99"}
	if rep.neo4j {
		head = append(head, "Neo4j rels/s (loader / neo4j-admin)")
	}
	rows := [][]string{head}
	for _, r := range rep.rs {
		row := []string{label(r.Articles),
			fmt.Sprintf("%s (%s)", bytesOf(float64(r.Dump.XMLBytes)), bytesOf(float64(r.Dump.Bz2Bytes))),
			seconds(r.DryRun) + " (" + seconds(r.DryRunCPU) + ")", seconds(r.Ingest) + " (" + seconds(r.IngestCPU) + ")", seconds(r.Finish),
			fmt.Sprintf("%s / %s (%.1f×)", bytesOf(float64(r.KGBytes)), bytesOf(float64(r.Dump.XMLBytes)), float64(r.KGBytes)/float64(r.Dump.XMLBytes)),
			bytesOf(float64(r.IngestRSS)), bytesOf(float64(r.SampleRSS)),
			rate(r.WalksPerSec()) + " (" + rate(r.DrawsPerSec()) + ")",
			seconds(r.Search.P50) + " / " + seconds(r.Search.P99)}
		if rep.neo4j {
			row = append(row, neo4jCell(r))
		}
		rows = append(rows, row)
	}
	exp := func(name string) string {
		if f := rep.byN[name]; f.ok {
			return fmt.Sprintf("%.2f", f.b)
		}
		return "—"
	}
	row := []string{"growth exponent", "", exp("dry-run parse"), exp("ingest (read + finish)"), exp("finish (link resolution)"),
		exp("kg.db size"), exp("ingest peak RSS"), exp("sample peak RSS"), exp("walks/s") + " (" + exp("draws/s") + ")",
		exp("google_search p50") + " / " + exp("google_search p99")}
	if rep.neo4j {
		row = append(row, "")
	}
	rows = append(rows, row)
	en := func(name string) string {
		a, b, ok := rep.enwiki(name)
		if !ok {
			return "—"
		}
		m := metricByName(name)
		if m.format(a) == m.format(b) {
			return m.format(a)
		}
		return m.format(a) + " – " + m.format(b)
	}
	walks := "—"
	if f, d := rep.byN["walks/s"], rep.byN["draws/s"]; f.ok && d.ok {
		walks = rate(f.at(enwikiArticles)) + " (" + rate(d.at(enwikiArticles)) + ")"
	}
	row = []string{"enwiki (6.9M, by articles – by 22 GB bz2)", "", en("dry-run parse"), en("ingest (read + finish)"),
		en("finish (link resolution)"), en("kg.db size"), en("ingest peak RSS"), en("sample peak RSS"), walks,
		en("google_search p50") + " / " + en("google_search p99")}
	if rep.neo4j {
		row = append(row, "")
	}
	return append(rows, row)
}

func neo4jCell(r *result) string {
	if len(r.Neo4j) == 0 {
		return "not loaded"
	}
	var parts []string
	for _, n := range r.Neo4j {
		parts = append(parts, rate(n.RelsPerSec()))
	}
	admin := "—"
	if r.Admin != nil && r.Admin.Skipped == "" {
		admin = rate(r.Admin.RelsPerSec())
	}
	return strings.Join(parts, ", ") + " / " + admin
}

// goals is the list of goals, each measured against its target.
func (rep *report) goals() [][]string {
	rows := [][]string{{"goal (issue 11)", "measured", "target", "result"}}
	add := func(goal, measured, target string, ok bool, known bool) {
		res := passMiss(ok)
		if !known {
			res = "—"
		}
		rows = append(rows, []string{goal, measured, target, res})
	}
	// ingest ≤ 1.5× parse, kg.db ≤ 1.5× XML, at every size.
	var ratios, disk []string
	ratioOK, diskOK := true, true
	for _, r := range rep.rs {
		x := r.Ingest / r.DryRun
		ratios = append(ratios, fmt.Sprintf("%s: %.1f×", label(r.Articles), x))
		ratioOK = ratioOK && x <= 1.5
		d := float64(r.KGBytes) / float64(r.Dump.XMLBytes)
		disk = append(disk, fmt.Sprintf("%s: %.1f×", label(r.Articles), d))
		diskOK = diskOK && d <= 1.5
	}
	add("ingest time ÷ dry-run parse time, every size", strings.Join(ratios, ", "), "≤ 1.5×", ratioOK, true)
	for _, m := range metrics {
		f := rep.byN[m.name]
		measured := "needs two sizes"
		if f.ok {
			measured = fmt.Sprintf("%.2f", f.b)
		}
		add("growth exponent of "+m.name, measured, "≤ 1.1", f.ok && f.b <= 1.1, f.ok)
	}
	add("kg.db ÷ dump XML, every size", strings.Join(disk, ", "), "≤ 1.5×", diskOK, true)
	at := func(name string, fmtv func(float64) string) (string, float64, bool) {
		v, extrapolated, ok := rep.atMillion(name)
		if !ok {
			return "needs 1M or two sizes", v, false
		}
		s := fmtv(v)
		if extrapolated {
			s += " (extrapolated)"
		}
		return s, v, true
	}
	for _, name := range []string{"ingest peak RSS", "sample peak RSS", "search process peak RSS"} {
		s, v, ok := at(name, bytesOf)
		add(name+" at 1M articles", s, "≤ 2 GB", v <= 2e9, ok)
	}
	s, v, ok := at("walks/s", rate)
	add("walks/s at 1M articles, the sample stage with its snapshot", s, "≥ 20,000", v >= 20_000, ok)
	s, v, ok = at("draws/s", rate)
	add("walks/s at 1M articles, drawing alone (stage without snapshot)", s, "≥ 20,000", v >= 20_000, ok)
	s, v, ok = at("google_search p50", seconds)
	add("google_search p50 at 1M articles", s, "≤ 50 ms", v <= 0.050, ok)
	s, v, ok = at("google_search p99", seconds)
	add("google_search p99 at 1M articles", s, "≤ 250 ms", v <= 0.250, ok)
	rows = append(rows, rep.neo4jGoals()...)
	span := func(a, b float64, ok bool, f func(float64) string) string {
		if !ok {
			return "needs two sizes"
		}
		return f(a) + " – " + f(b) + " (by articles – by bz2 size)"
	}
	a, b, ok := rep.enwiki("ingest (read + finish)")
	add("extrapolated full enwiki ingest time", span(a, b, ok, seconds), "≤ 3 h", max(a, b) <= 3*3600, ok)
	a, b, ok = rep.enwiki("ingest peak RSS")
	add("extrapolated full enwiki ingest RAM", span(a, b, ok, bytesOf), "≤ 8 GB", max(a, b) <= 8e9, ok)
	return rows
}

// neo4jGoals holds each load mode to its goal at the largest size loaded.
func (rep *report) neo4jGoals() [][]string {
	var last *result
	for _, r := range rep.rs {
		if len(r.Neo4j) > 0 {
			last = r
		}
	}
	if last == nil {
		return [][]string{
			{"Neo4j transactional load", "not measured (run with -neo4j)", "≥ 20,000 rels/s", "—"},
			{"Neo4j auto on an empty database ÷ neo4j-admin import", "not measured (run with -neo4j)", "≥ 0.5×", "—"},
		}
	}
	var rows [][]string
	admin := 0.0
	if last.Admin != nil && last.Admin.Skipped == "" {
		admin = last.Admin.RelsPerSec()
	}
	bulk := false
	for _, n := range last.Neo4j {
		at := fmt.Sprintf(" at %s", label(last.Articles))
		switch n.Goal {
		case goalTransactional:
			rows = append(rows, []string{"Neo4j transactional load: " + n.Mode, rate(n.RelsPerSec()) + " rels/s" + at,
				"≥ 20,000 rels/s", passMiss(n.RelsPerSec() >= 20_000)})
		case goalBulk:
			bulk = true
			if admin == 0 {
				rows = append(rows, []string{"Neo4j " + n.Mode + " ÷ neo4j-admin import", "no neo4j-admin run", "≥ 0.5×", "—"})
				continue
			}
			x := n.RelsPerSec() / admin
			rows = append(rows, []string{"Neo4j " + n.Mode + " ÷ neo4j-admin import", fmt.Sprintf("%.2f× (%s vs %s rels/s)%s",
				x, rate(n.RelsPerSec()), rate(admin), at), "≥ 0.5×", passMiss(x >= 0.5)})
		}
	}
	if !bulk {
		m := "this build has no bulk load mode"
		if admin > 0 {
			m += fmt.Sprintf("; neo4j-admin import: %s rels/s at %s", rate(admin), label(last.Articles))
		}
		rows = append(rows, []string{"Neo4j auto on an empty database ÷ neo4j-admin import", m, "≥ 0.5×", "—"})
	}
	return rows
}

func (rep *report) caption() string {
	var sizes []string
	for _, r := range rep.rs {
		sizes = append(sizes, label(r.Articles))
	}
	var loads []string
	for _, r := range rep.rs {
		loads = append(loads, fmt.Sprintf("%.1f", r.Load))
	}
	return fmt.Sprintf("generated dumps of %s articles (seed %d), %d CPUs, load average %s at the start of each size",
		strings.Join(sizes, ", "), seedOf(rep.rs), runtime.NumCPU(), strings.Join(loads, ", "))
}

func seedOf(rs []*result) int64 {
	if len(rs) == 0 {
		return 0
	}
	return rs[0].Dump.Seed
}

func (rep *report) text(w io.Writer) {
	fmt.Fprintf(w, "\nScale measurements, %s:\n\n", rep.caption())
	table(w, rep.measurements())
	fmt.Fprintln(w)
	table(w, rep.goals())
}

func table(w io.Writer, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t")+"\t")
	}
	tw.Flush()
}

func (rep *report) markdown(w io.Writer) {
	fmt.Fprintf(w, "Measured on %s.\n\n", rep.caption())
	mdTable(w, rep.measurements())
	fmt.Fprintln(w)
	mdTable(w, rep.goals())
}

func mdTable(w io.Writer, rows [][]string) {
	for i, r := range rows {
		fmt.Fprintln(w, "| "+strings.Join(r, " | ")+" |")
		if i == 0 {
			fmt.Fprintln(w, "|"+strings.Repeat("---|", len(r)))
		}
	}
}
