// Package gates rejects the questions a run must not keep, each with the
// reason it records. The gates are many and cheap ones run first, so their
// order is a rule of its own (Order) rather than the pipeline's business: a
// question that a text gate rejects must cost no LLM call, and a resumed
// stage must reach the same verdicts as an uninterrupted one.
package gates
