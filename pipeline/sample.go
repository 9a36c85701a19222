package pipeline

import (
	"fmt"

	"github.com/miroverse/miroverse/qa/sample"
)

// check validates the sample section's mixes and seed pool.
func (c SampleConfig) check() error {
	if err := sample.CheckMix(c.Hops, c.AnswerTypes); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	if c.SeedPool < 0 {
		return fmt.Errorf("sample.seed_pool = %d, want >= 0", c.SeedPool)
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
	}
	if c.Stratify {
		o.Docs = docs
	}
	return o
}
