package web

import (
	"context"
	"testing"
)

// BenchmarkReadSharedWARCs reads the HTML pages of the shared WARCs: the
// per-page cost of extraction (scripts/benchweb compares it with Python
// trafilatura).
func BenchmarkReadSharedWARCs(b *testing.B) {
	files := sharedWARCs(&testing.T{})
	opt := Options{Workers: 1, Filters: DefaultFilters()}
	pages := 0
	for b.Loop() {
		for _, f := range files {
			if err := Read(context.Background(), f, opt, func(p Page) error {
				if p.Doc != nil {
					pages++
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
}
