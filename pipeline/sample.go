package pipeline

import (
	"fmt"

	"github.com/miroverse/miroverse/qa/sample"
)

// Defaults of the share caps (sample.max_node_share, max_answer_share).
// At 0.1 no document can be on more than a tenth of the walks; on fatwiki
// without caps one party was on 141 of 200. Answers get half that, so a
// sample has at least 20 distinct answers when the graph allows it.
const (
	DefaultMaxNodeShare   = 0.1
	DefaultMaxAnswerShare = 0.05
)

// check validates the sample section's mixes and seed pool.
func (c SampleConfig) check() error {
	if err := sample.CheckMix(c.Hops, c.AnswerTypes); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	if c.SeedPool < 0 {
		return fmt.Errorf("sample.seed_pool = %d, want >= 0", c.SeedPool)
	}
	for _, s := range []struct {
		key string
		v   float64
	}{{"max_node_share", c.MaxNodeShare}, {"max_answer_share", c.MaxAnswerShare}} {
		if !(s.v >= 0 && s.v <= 1) { // written so that NaN fails too
			return fmt.Errorf("sample.%s = %v, want a fraction between 0 (no cap) and 1", s.key, s.v)
		}
	}
	if len(c.AnswerTypes) > 0 && !c.Stratify {
		// The answer types are read from the documents, which only a
		// stratified sample looks up.
		return fmt.Errorf("sample.answer_types needs sample.stratify: true")
	}
	return nil
}

// options is the sample section as sample.Options; docs is consulted only
// when the section stratifies.
func (c SampleConfig) options(seed int64, docs sample.DocSource, links sample.LinkSource) sample.Options {
	o := sample.Options{
		Links: links, Seed: seed, Walks: c.Walks, MinHops: c.MinHops, MaxHops: c.MaxHops, HubCap: c.HubCap, Attempts: c.Attempts,
		HopMix: c.Hops, AnswerMix: c.AnswerTypes, SeedPool: c.SeedPool,
		MaxNodeShare: c.MaxNodeShare, MaxAnswerShare: c.MaxAnswerShare,
	}
	if c.Stratify {
		o.Docs = docs
	}
	return o
}
