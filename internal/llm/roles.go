package llm

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
	// RoleDecontam decides whether a question is a paraphrase of one of the
	// benchmark questions retrieved for it (the contamination gate).
	RoleDecontam = "decontam"
)
