package llm

// Section headings of the structured prompts. The prompt builders write them
// and the oracle reads them; a real model sees ordinary Markdown headings.
const (
	SectionInfo      = "## Information to extract"
	SectionPage      = "## Page"
	SectionQuestion  = "## Question"
	SectionGold      = "## Gold answer"
	SectionPredicted = "## Predicted answer"
	// SectionDocuments holds the verifier's documents, each opened by a
	// "### " heading with its title.
	SectionDocuments = "## Documents"
)

// Roles of the pipeline, sent in RoleHeader.
const (
	RoleAgent     = "agent"
	RoleWriter    = "writer"
	RoleExtractor = "extractor"
	RoleGrader    = "grader"
	// RoleVerifier reads a question and documents and lists every document
	// that answers it (the uniqueness and masked-hop gates).
	RoleVerifier = "verifier"
	// RoleClosedBook answers a question from memory, without tools or
	// documents (the closed-book gate).
	RoleClosedBook = "closed_book"
)
