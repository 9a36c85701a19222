package qa

// WriterFixture exposes the writer tests' walk and documents to the external
// tests of qa_test.
func WriterFixture() (Walk, Docs) { return fixture() }
