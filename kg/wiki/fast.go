package wiki

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The fast path decodes a <page> as encoding/xml would, for the XML that
// MediaWiki writes: elements, attributes in quotes, character data with
// the five predefined entities and character references, line ends of
// either kind. On anything else (comments, CDATA, processing
// instructions, another entity, a child element inside a field, an odd name, mismatched
// tags, a field that does not parse) it gives up and decodePage, built on
// encoding/xml, decodes the page or says what is wrong with it. The two
// are checked against each other on every page of the shared dumps and by
// a fuzz test. encoding/xml decodes about 45 MB/s; this path several
// hundred, so the reader costs little next to decompression.

// maxFastDepth is deeper than any element of a MediaWiki export
// (page > revision > contributor > username).
const maxFastDepth = 8

// fastPage decodes chunk, which holds <page>…</page> and nothing else,
// with its invalid characters already replaced (see repairText). ok is
// false when the page needs decodePage.
func fastPage(c []byte) (p Page, ok bool) {
	var stack [maxFastDepth][]byte // raw element names
	var locals [maxFastDepth]string
	depth := 0
	isRedirect := false
	n := len(c)
	i := 0
	for i < n {
		if c[i] != '<' {
			k := bytes.IndexByte(c[i:], '<')
			if k < 0 || !checkCharData(c[i:i+k]) {
				return p, false
			}
			i += k
			continue
		}
		if i+1 >= n {
			return p, false
		}
		if c[i+1] == '/' {
			name, j, ok := scanName(c, i+2)
			if !ok {
				return p, false
			}
			j = skipSpace(c, j)
			if j >= n || c[j] != '>' || depth == 0 || !bytes.Equal(stack[depth-1], name) {
				return p, false
			}
			depth--
			i = j + 1
			if depth == 0 {
				if i != n {
					return p, false
				}
				break
			}
			continue
		}
		if c[i+1] == '!' || c[i+1] == '?' {
			return p, false
		}
		name, j, ok := scanName(c, i+1)
		if !ok || depth == maxFastDepth {
			return p, false
		}
		local, ok := localName(name)
		if !ok {
			return p, false
		}
		redirect := depth == 1 && local == "redirect"
		selfClose := false
		for {
			j0 := j
			j = skipSpace(c, j)
			if j >= n {
				return p, false
			}
			if c[j] == '>' {
				j++
				break
			}
			if c[j] == '/' {
				if j+1 < n && c[j+1] == '>' {
					selfClose = true
					j += 2
					break
				}
				return p, false
			}
			if j == j0 {
				return p, false // attributes are separated by space
			}
			var aname []byte
			aname, j, ok = scanName(c, j)
			if !ok {
				return p, false
			}
			j = skipSpace(c, j)
			if j >= n || c[j] != '=' {
				return p, false
			}
			j = skipSpace(c, j+1)
			if j >= n || (c[j] != '"' && c[j] != '\'') {
				return p, false
			}
			k := bytes.IndexByte(c[j+1:], c[j])
			if k < 0 {
				return p, false
			}
			val := c[j+1 : j+1+k]
			if bytes.IndexByte(val, '<') >= 0 {
				return p, false
			}
			alocal, ok := localName(aname)
			if !ok {
				return p, false
			}
			if redirect && alocal == "title" {
				s, ok := decodeEntities(val, true)
				if !ok {
					return p, false
				}
				p.Redirect = s
			} else if !validEntities(val) {
				return p, false
			}
			j += k + 2
		}
		stack[depth], locals[depth] = name, local
		depth++
		field := ""
		switch {
		case depth == 1:
			if local != "page" {
				return p, false
			}
		case depth == 2 && local == "redirect":
			isRedirect = true
		case depth == 2 && (local == "title" || local == "ns" || local == "id"),
			depth == 3 && locals[1] == "revision" && local == "text":
			field = local
		}
		if field != "" {
			// The value is the character data up to the next tag, which
			// must close the element.
			var seg []byte
			if !selfClose {
				k := bytes.IndexByte(c[j:], '<')
				if k < 0 || j+k+1 >= n || c[j+k+1] != '/' {
					return p, false
				}
				seg = c[j : j+k]
				j += k
			}
			s, ok := decodeEntities(seg, false)
			if !ok {
				return p, false
			}
			switch field {
			case "title":
				p.Title = s
			case "ns":
				v, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil {
					return p, false
				}
				p.NS = v
			case "id":
				v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
				if err != nil {
					return p, false
				}
				p.ID = v
			default:
				p.Text = s
			}
		}
		if selfClose {
			depth--
			if depth == 0 {
				return p, false // <page/>: no title
			}
		}
		i = j
	}
	if depth != 0 || p.Title == "" {
		return p, false
	}
	if isRedirect && p.Redirect == "" {
		p.Redirect = redirectFromText(p.Text)
	}
	return p, true
}

// scanName reads an XML name at c[j:] as encoding/xml does for ASCII
// names; ok is false for an empty or non-ASCII name.
func scanName(c []byte, j int) (name []byte, end int, ok bool) {
	k := j
	for k < len(c) && isNameByte(c[k]) {
		k++
	}
	if k == j || k < len(c) && c[k] >= utf8.RuneSelf {
		return nil, j, false
	}
	if b := c[j]; !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || b == '_') {
		return nil, j, false
	}
	return c[j:k], k, true
}

func isNameByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
		b == '_' || b == ':' || b == '.' || b == '-'
}

// localName is the part of a name encoding/xml reports as Name.Local.
func localName(name []byte) (string, bool) {
	switch bytes.Count(name, []byte(":")) {
	case 0:
		return string(name), true
	case 1:
		space, local, _ := bytes.Cut(name, []byte(":"))
		if len(space) == 0 || len(local) == 0 {
			return string(name), true
		}
		return string(local), true
	}
	return "", false
}

func skipSpace(c []byte, j int) int {
	for j < len(c) && (c[j] == ' ' || c[j] == '\n' || c[j] == '\t' || c[j] == '\r') {
		j++
	}
	return j
}

// checkCharData validates character data that is not kept: its entities,
// and no "]]>" outside CDATA.
func checkCharData(seg []byte) bool {
	if bytes.IndexByte(seg, '>') >= 0 && bytes.Contains(seg, []byte("]]>")) {
		return false
	}
	return validEntities(seg)
}

func validEntities(seg []byte) bool {
	for {
		k := bytes.IndexByte(seg, '&')
		if k < 0 {
			return true
		}
		_, _, m := entity(seg[k:])
		if m == 0 {
			return false
		}
		seg = seg[k+m:]
	}
}

// decodeEntities returns seg with its entities decoded and, as
// encoding/xml does, its line ends ("\r\n" or "\r") turned into "\n"; ok
// is false when encoding/xml would reject it. In attribute values "]]>"
// is allowed.
func decodeEntities(seg []byte, attr bool) (string, bool) {
	if !attr && bytes.IndexByte(seg, '>') >= 0 && bytes.Contains(seg, []byte("]]>")) {
		return "", false
	}
	if bytes.IndexByte(seg, '\r') >= 0 {
		return decodeWithCR(seg)
	}
	k := bytes.IndexByte(seg, '&')
	if k < 0 {
		return string(seg), true
	}
	var b strings.Builder
	b.Grow(len(seg))
	for k >= 0 {
		b.Write(seg[:k])
		r, s, m := entity(seg[k:])
		if m == 0 {
			return "", false
		}
		if s != "" {
			b.WriteString(s)
		} else {
			b.WriteRune(r)
		}
		seg = seg[k+m:]
		k = bytes.IndexByte(seg, '&')
	}
	b.Write(seg)
	return b.String(), true
}

// decodeWithCR is decodeEntities for text with carriage returns, byte by
// byte: a "\n" right after a raw "\r" is dropped, one after a reference
// is not.
func decodeWithCR(seg []byte) (string, bool) {
	var b strings.Builder
	b.Grow(len(seg))
	cr := false
	for i := 0; i < len(seg); {
		switch c := seg[i]; c {
		case '&':
			r, s, m := entity(seg[i:])
			if m == 0 {
				return "", false
			}
			if s != "" {
				b.WriteString(s)
			} else {
				b.WriteRune(r)
			}
			i += m
			cr = false
			continue
		case '\r':
			b.WriteByte('\n')
			cr = true
		case '\n':
			if !cr {
				b.WriteByte('\n')
			}
			cr = false
		default:
			b.WriteByte(c)
			cr = false
		}
		i++
	}
	return b.String(), true
}

// entity decodes the reference that starts e ("&…;"): the text as a
// string for the named ones, as a rune for character references, and the
// reference's length, 0 when encoding/xml would reject it.
func entity(e []byte) (rune, string, int) {
	if len(e) < 3 {
		return 0, "", 0
	}
	switch e[1] {
	case 'l':
		if len(e) >= 4 && e[2] == 't' && e[3] == ';' {
			return 0, "<", 4
		}
	case 'g':
		if len(e) >= 4 && e[2] == 't' && e[3] == ';' {
			return 0, ">", 4
		}
	case 'a':
		if len(e) >= 5 && string(e[1:5]) == "amp;" {
			return 0, "&", 5
		}
		if len(e) >= 6 && string(e[1:6]) == "apos;" {
			return 0, "'", 6
		}
	case 'q':
		if len(e) >= 6 && string(e[1:6]) == "quot;" {
			return 0, "\"", 6
		}
	case '#':
		base, j := uint64(10), 2
		if e[2] == 'x' {
			base, j = 16, 3
		}
		start := j
		var v uint64
		for ; j < len(e); j++ {
			d := uint64(0)
			switch b := e[j]; {
			case '0' <= b && b <= '9':
				d = uint64(b - '0')
			case base == 16 && 'a' <= b && b <= 'f':
				d = uint64(b-'a') + 10
			case base == 16 && 'A' <= b && b <= 'F':
				d = uint64(b-'A') + 10
			default:
				goto end
			}
			if v > (1<<63)/base {
				return 0, "", 0 // strconv.ParseUint would overflow
			}
			v = v*base + d
		}
	end:
		if j == start || j >= len(e) || e[j] != ';' || v > unicode.MaxRune {
			return 0, "", 0
		}
		r := rune(v)
		if !utf8.ValidRune(r) {
			r = utf8.RuneError // string(rune(v)) of a surrogate
		}
		if !inXMLRange(r) {
			return 0, "", 0
		}
		return r, "", j + 1
	}
	return 0, "", 0
}

// inXMLRange is the Char production of XML 1.0, which encoding/xml
// enforces.
func inXMLRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// repairText replaces, in the raw XML of a page, each byte that is not
// part of valid UTF-8 and each character XML forbids (control characters
// other than tab and line ends, U+FFFE, U+FFFF) with U+FFFD, and returns
// how many it replaced. Such bytes come from damaged or badly converted
// dumps; replacing them keeps the page, as a browser would show it, where
// encoding/xml would reject the whole page. Text that needs no repair (all
// of a sound dump) is returned as is, after one pass that checks eight
// ASCII bytes at a time.
func repairText(b []byte) ([]byte, int) {
	bad := firstInvalid(b)
	if bad < 0 {
		return b, 0
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b[:bad]...)
	count := 0
	for i := bad; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				out = append(out, "\uFFFD"...)
				count++
			} else {
				out = append(out, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
			out = append(out, "\uFFFD"...)
			count++
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out, count
}

// firstInvalid returns the offset of the first byte repairText would
// replace, or -1.
func firstInvalid(b []byte) int {
	const hi, lo = 0x8080808080808080, 0x2020202020202020
	i := 0
	for {
		// Skip words of printable ASCII: no byte ≥ 0x80 and none < 0x20
		// (the subtraction borrows into the top bit of such a byte).
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			if (w|(w-lo))&hi != 0 {
				break
			}
			i += 8
		}
		if i >= len(b) {
			return -1
		}
		// Look at this word (or the tail) byte by byte.
		end := min(i+8, len(b))
		for i < end {
			c := b[i]
			if c < utf8.RuneSelf {
				if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
					return i
				}
				i++
				continue
			}
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
				return i
			}
			i += size
		}
	}
}
