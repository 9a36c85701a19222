// Package gates rejects the questions a run must not keep, each with the
// reason it records: names or literals of the walk leaked into the question
// (Leak, which the writer runs as it composes), a benchmark question copied
// (Contamination), a near copy of another question (Dedup). The order of
// the gates is a rule of its own (Order) rather than the pipeline's
// business: a question that a cheap gate rejects must cost no LLM call, and
// a resumed stage must reach the verdicts of an uninterrupted one. The
// difficulty band (OutsideBand), the last filter before SFT and DPO rows,
// judges questions by their rollouts and lives here with the other gates.
package gates
