package llm

// Section headings of the structured prompts. The prompt builders write them
// and the oracle reads them; a real model sees ordinary Markdown headings.
const (
	SectionInfo      = "## Information to extract"
	SectionPage      = "## Page"
	SectionQuestion  = "## Question"
	SectionGold      = "## Gold answer"
	SectionPredicted = "## Predicted answer"
)

// Roles of the pipeline, sent in RoleHeader.
const (
	RoleAgent     = "agent"
	RoleWriter    = "writer"
	RoleExtractor = "extractor"
	RoleGrader    = "grader"
)
