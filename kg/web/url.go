package web

import (
	"bytes"
	"compress/zlib"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/miroverse/miroverse/kg"
)

func zlibReader(b []byte) (io.Reader, error) { return zlib.NewReader(bytes.NewReader(b)) }

// trackingParams are query parameters that only say where a click came
// from; a URL is the same page without them.
var trackingPrefixes = []string{"utm_"}

var trackingParams = map[string]bool{
	"fbclid": true, "gclid": true, "dclid": true, "msclkid": true, "mc_cid": true, "mc_eid": true,
	"yclid": true, "_ga": true, "_hsenc": true, "_hsmi": true, "igshid": true, "ref_src": true,
}

// Canonical is the form of a URL that the graph keeps: an absolute http or
// https URL with scheme and host lower-cased, no default port, no
// fragment, no tracking parameters and "/" for an empty path; a file: URL
// without fragment and query. "" for any other URL.
func Canonical(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil {
		return ""
	}
	p.Scheme = strings.ToLower(p.Scheme)
	if p.Scheme == "file" && p.Path != "" {
		// Pages of an HTML directory link to each other by relative paths.
		p.Fragment, p.RawFragment, p.RawQuery = "", "", ""
		return p.String()
	}
	if (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	p.Host = strings.ToLower(p.Host)
	if h, port, ok := strings.Cut(p.Host, ":"); ok && (p.Scheme == "http" && port == "80" || p.Scheme == "https" && port == "443") {
		p.Host = h
	}
	p.Fragment, p.RawFragment = "", ""
	p.User = nil
	if p.Path == "" {
		p.Path = "/"
	}
	if p.RawQuery != "" {
		q := strings.Split(p.RawQuery, "&")
		q = slices.DeleteFunc(q, func(kv string) bool {
			k, _, _ := strings.Cut(kv, "=")
			k = strings.ToLower(k)
			if trackingParams[k] || k == "" {
				return true
			}
			for _, pre := range trackingPrefixes {
				if strings.HasPrefix(k, pre) {
					return true
				}
			}
			return false
		})
		p.RawQuery = strings.Join(q, "&")
	}
	p.ForceQuery = false
	return p.String()
}

// resolveRef resolves ref against base and canonicalises it; "" when it
// is no http(s) URL (mailto:, javascript:, a bad reference).
func resolveRef(base, ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ""
	}
	b, err := url.Parse(base)
	if err != nil {
		return ""
	}
	r, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	return Canonical(b.ResolveReference(r).String())
}

// redirect is the kg.Redirect from one URL to another.
func redirect(from, to string) kg.Redirect {
	return kg.Redirect{From: kg.URLKey(Canonical(from)), To: kg.URLKey(to)}
}

// wikiTitle is the title a link to an article of an ingested wiki names:
// https://HOST/wiki/Title on one of hosts (or its mobile host) → "Title".
func wikiTitle(u string, hosts map[string]bool) (string, bool) {
	p, err := url.Parse(u)
	if err != nil {
		return "", false
	}
	host := strings.Replace(p.Host, ".m.wikipedia.org", ".wikipedia.org", 1)
	if !hosts[host] {
		return "", false
	}
	title, ok := strings.CutPrefix(p.Path, "/wiki/")
	if !ok || title == "" {
		if p.Path == "/w/index.php" {
			title = p.Query().Get("title")
		}
		if title == "" {
			return "", false
		}
	}
	t := kg.NormalizeTitle(title)
	return t, t != ""
}
