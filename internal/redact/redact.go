// Package redact keeps credentials out of what the pipeline logs and
// stores: endpoint and database URLs are named in messages and manifests,
// and error texts of clients may echo keys. One set of rules serves every
// place that names a URL or stores an error.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// URL drops user info, query and fragment from a URL so that it can be
// named in messages and manifests: a password or key must not reach a log
// even when someone writes it into the URL. A string that is not a URL with
// a host keeps only what follows its last '@', and nothing from a '?' or
// '#' on.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		s := raw
		if i := strings.LastIndexByte(s, '@'); i >= 0 {
			s = "…@" + s[i+1:]
		}
		if i := strings.IndexAny(s, "?#"); i >= 0 {
			s = s[:i]
		}
		return s
	}
	u.User, u.RawQuery, u.Fragment, u.RawFragment = nil, "", "", ""
	u.ForceQuery = false
	return u.String()
}

// secretPatterns match credentials that error texts may echo: OpenAI-style
// keys (also masked ones such as "sk-proj-****abcd"), bearer tokens and key
// query parameters. urlUserinfo matches user:password@ in URLs.
var (
	secretPatterns = regexp.MustCompile(`(?i)\bsk-[A-Za-z0-9_*.\-]{4,}|\bbearer\s+[A-Za-z0-9._~+/=\-]+|\b(?:api[_-]?key|access[_-]?token|token|key)=[^&\s"']+`)
	urlUserinfo    = regexp.MustCompile(`//[^/\s:@]+:[^/\s@]+@`)
)

// Secrets replaces the credentials found in free text (an error message, a
// server's reply) with [REDACTED], before it is stored anywhere.
func Secrets(s string) string {
	s = secretPatterns.ReplaceAllString(s, "[REDACTED]")
	return urlUserinfo.ReplaceAllString(s, "//[REDACTED]@")
}
