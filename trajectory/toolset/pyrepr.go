package toolset

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// This file writes values as the Python code behind MiroThinker's tools
// prints them, so that a result reads byte for byte like the one a model
// trained on MiroThinker's traces has seen: repr() of str and lists (the
// E2B objects' str()), json.dumps of a dict, shlex.quote.

// pyRepr is Python 3's repr() of a str: single quotes unless the text has a
// single quote and no double one, backslash escapes for the quote, the
// backslash and \t \n \r, \xhh, \uhhhh or \Uhhhhhhhh for other characters
// that are not printable, everything printable as it is. s is valid UTF-8.
func pyRepr(s string) string {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case unicode.IsPrint(r):
			// Go's IsPrint, like Python's isprintable, refuses the
			// control, format, private-use, surrogate and unassigned
			// characters and every space but U+0020.
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// pyList is the repr() of a list of already written items.
func pyList(items []string) string { return "[" + strings.Join(items, ", ") + "]" }

// pyStrList is the repr() of a list of str.
func pyStrList(xs []string) string {
	items := make([]string, len(xs))
	for i, x := range xs {
		items[i] = pyRepr(x)
	}
	return pyList(items)
}

// pyItem is one key and value of a dict for pyObject. The value is a
// string, bool, int or the output of pyObject (pyRaw).
type pyItem struct {
	key   string
	value any
}

// pyRaw is JSON text that pyObject writes as it is.
type pyRaw string

// pyObject writes a dict as json.dumps(d, ensure_ascii=False) does.
func pyObject(items ...pyItem) pyRaw {
	var b strings.Builder
	b.WriteByte('{')
	for i, it := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pyJSONString(it.key))
		b.WriteString(": ")
		switch v := it.value.(type) {
		case string:
			b.WriteString(pyJSONString(v))
		case bool:
			b.WriteString(strconv.FormatBool(v))
		case int:
			b.WriteString(strconv.Itoa(v))
		case pyRaw:
			b.WriteString(string(v))
		default:
			panic(fmt.Sprintf("toolset: pyObject: value of type %T", v)) // the callers are this package's own
		}
	}
	b.WriteByte('}')
	return pyRaw(b.String())
}

// pyJSONString is a JSON string as json.dumps(..., ensure_ascii=False)
// writes it: \" \\ \n \r \t \b \f, other control characters as \u00hh,
// everything else as it is.
func pyJSONString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// shlexSafe are the strings shlex.quote leaves unquoted.
var shlexSafe = regexp.MustCompile(`^[\w@%+=:,./-]+$`)

// shlexQuote is Python's shlex.quote (whose safe set is ASCII-only, as
// Go's \w is), which MiroThinker's download tool applies to the path it
// reports.
func shlexQuote(s string) string {
	if s == "" {
		return "''"
	}
	if shlexSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
