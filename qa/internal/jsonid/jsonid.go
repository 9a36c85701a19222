// Package jsonid reads the id of a record of a public QA or benchmark file.
// Some sets write ids as strings and others as numbers; the importer and the
// contamination lists must name a record the same way.
package jsonid

import "encoding/json"

// Text renders a JSON string or number id; "" when v is absent or null.
func Text(v json.RawMessage) string {
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}
