package trajectory

import "github.com/miroverse/miroverse/internal/boxed"

// LastBoxed returns the trimmed content of the last \boxed{…} in s; see
// boxed.Last for how braces, prose mentions and placeholder answers ("?",
// "unknown", "...") are read.
func LastBoxed(s string) (string, bool) { return boxed.Last(s) }
