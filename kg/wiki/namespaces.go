package wiki

import (
	"strings"
)

// Namespace keys that decide how a link is treated.
const (
	nsMedia    = -2
	nsMain     = 0
	nsFile     = 6
	nsTemplate = 10
	nsCategory = 14
)

// canonicalNamespaces returns the English names every wiki accepts
// whatever its language, with the usual aliases. A dump without <siteinfo> still gets
// its File and Category links recognised through them.
func canonicalNamespaces() map[string]int {
	return map[string]int{
		"media": -2, "special": -1,
		"talk": 1, "user": 2, "user talk": 3,
		"wikipedia": 4, "project": 4, "wp": 4,
		"wikipedia talk": 5, "project talk": 5, "wt": 5,
		"file": 6, "image": 6, "file talk": 7, "image talk": 7,
		"mediawiki": 8, "mediawiki talk": 9,
		"template": 10, "template talk": 11,
		"help": 12, "help talk": 13,
		"category": 14, "category talk": 15,
		"portal": 100, "portal talk": 101,
		"draft": 118, "draft talk": 119,
		"timedtext": 710, "timedtext talk": 711,
		"module": 828, "module talk": 829,
		"gadget": 2300, "gadget talk": 2301, "gadget definition": 2302,
		"topic": 2600,
	}
}

// isProjectInterwiki reports interwiki prefixes of sister projects. A link
// with one shows its text but leads out of the wiki; unlike a language
// prefix it is not an interlanguage link to be dropped.
func isProjectInterwiki(p string) bool {
	switch p {
	case "wikt", "wiktionary", "w", "wikipedia", "s", "wikisource", "q", "wikiquote", "b",
		"wikibooks", "n", "wikinews", "v", "wikiversity", "voy", "wikivoyage", "species",
		"wikispecies", "d", "wikidata", "c", "commons", "m", "meta", "metawikimedia", "mw",
		"mediawikiwiki", "foundation", "wmf", "incubator", "outreach", "phab", "phabricator",
		"wikimedia", "oldwikisource", "toollabs", "doi", "google", "imdbname", "imdbtitle", "iarchive":
		return true
	}
	return false
}

// namespaces resolves the prefix of a link target to a namespace key.
type namespaces map[string]int

func newNamespaces(site SiteInfo) namespaces {
	ns := namespaces(canonicalNamespaces())
	for key, name := range site.Namespaces {
		if name != "" {
			ns[foldName(name)] = key
		}
	}
	return ns
}

// foldName makes namespace names comparable: MediaWiki matches them
// ignoring case, underscores and repeated spaces.
func foldName(s string) string {
	s = strings.ReplaceAll(s, "_", " ")
	s = strings.Join(strings.Fields(s), " ")
	return strings.ToLower(s)
}

// linkKind says what a [[…]] target is.
type linkKind int

const (
	linkArticle       linkKind = iota // a main-namespace article
	linkFile                          // File:/Image:/Media: embed
	linkCategory                      // category assignment
	linkOtherNS                       // another namespace (Help:, Wikipedia:, …)
	linkInterwiki                     // a sister project (wikt:, commons:)
	linkInterlanguage                 // a language edition (fr:, de:)
)

// classify splits target into its kind and the part after the prefix.
// target has its leading colon removed already.
func (ns namespaces) classify(target string) (linkKind, string) {
	prefix, rest, ok := strings.Cut(target, ":")
	if !ok {
		return linkArticle, target
	}
	p := foldName(prefix)
	if key, ok := ns[p]; ok {
		switch key {
		case nsFile, nsMedia:
			return linkFile, rest
		case nsCategory:
			return linkCategory, rest
		case nsMain:
			return linkArticle, target
		}
		return linkOtherNS, rest
	}
	if isProjectInterwiki(p) {
		return linkInterwiki, rest
	}
	if isLanguageCode(strings.TrimSpace(prefix)) {
		return linkInterlanguage, rest
	}
	return linkArticle, target
}

// isLanguageCode recognises the shape of Wikipedia language prefixes:
// "fr", "ast", "zh-min-nan", "be-x-old", "simple". Written in lower case, as
// editors write them; "Re:Zero" or "ISO 639:fr" stay article titles.
func isLanguageCode(p string) bool {
	if p == "simple" {
		return true
	}
	parts := strings.Split(p, "-")
	if len(parts[0]) < 2 || len(parts[0]) > 3 {
		return false
	}
	for _, part := range parts {
		if part == "" || len(part) > 8 {
			return false
		}
		for i := 0; i < len(part); i++ {
			if part[i] < 'a' || part[i] > 'z' {
				return false
			}
		}
	}
	return true
}
