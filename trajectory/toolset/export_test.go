package toolset

// MaxPageChars lets the external tests check the page cap.
const MaxPageChars = maxPageChars
