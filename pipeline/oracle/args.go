package oracle

import (
	"strings"
)

// kv is one argument of a tool call; a slice of them keeps the argument order
// fixed, which a map would not.
type kv struct{ key, value string }

// argsJSON encodes arguments as a JSON object in their given order. spaced
// gives the `{"q": "…"}` layout of MiroThinker's MCP text; compact gives the
// `{"q":"…"}` of native function calls.
func argsJSON(args []kv, spaced bool) (string, error) {
	colon, comma := ":", ","
	if spaced {
		colon, comma = ": ", ", "
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, a := range args {
		if i > 0 {
			b.WriteString(comma)
		}
		k, err := marshal(a.key)
		if err != nil {
			return "", err
		}
		v, err := marshal(a.value)
		if err != nil {
			return "", err
		}
		b.Write(k)
		b.WriteString(colon)
		b.Write(v)
	}
	b.WriteByte('}')
	return b.String(), nil
}
