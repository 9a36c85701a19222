package writer

import "github.com/miroverse/miroverse/qa"

// Fixture exposes the writer tests' walk and documents to the external
// tests of writer_test.
func Fixture() (qa.Walk, qa.Docs) { return fixture() }
