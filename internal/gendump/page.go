package gendump

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// linkStats counts the links a page's wikitext makes, by what their target is.
type linkStats struct {
	Links, ToRedirects, ToMissing int64
}

// pw writes one page's wikitext.
type pw struct {
	g     *gen
	rng   *rand.Rand
	b     []byte
	self  int64 // the article's index, -1 for other pages
	ty    atype
	sub   string
	st    linkStats
	refs  []string // named refs defined so far, for <ref name=… />
	title string
}

func (p *pw) s(strs ...string) {
	for _, x := range strs {
		p.b = append(p.b, x...)
	}
}

func (p *pw) pct(n int) bool { return p.rng.IntN(100) < n }

func (p *pw) pick(list []string) string { return list[p.rng.IntN(len(list))] }

// Classes of link targets, for the counts.
const (
	toArticle = iota
	toRedirect
	toMissing
)

// target draws a link target: a redirect, a red link, or an article,
// popular or of the same topic.
func (p *pw) target() (string, int) {
	g := p.g
	r := p.rng.IntN(100)
	switch {
	case r < linkToRedirectPct && g.redirects > 0:
		return g.redirectTitle(int64(zipfRank(p.rng, int(g.redirects), zipfS))), toRedirect
	case r < linkToRedirectPct+linkToMissingPct:
		return g.missingTitle(int64(zipfRank(p.rng, int(g.missing), 1.0))), toMissing
	}
	var a int64
	for range 3 {
		if p.self >= 0 && p.pct(linkLocalPct) {
			a = g.memberOf(g.topicOf(p.self), p.rng)
		} else {
			a = g.popular(p.rng)
		}
		if a != p.self {
			break
		}
	}
	return g.articleTitle(a), toArticle
}

// linkTo writes a link to t in one of the forms editors write.
func (p *pw) linkTo(t string, class int) {
	p.st.Links++
	switch class {
	case toRedirect:
		p.st.ToRedirects++
	case toMissing:
		p.st.ToMissing++
	}
	f := p.rng.IntN(100)
	switch {
	case f < 55:
		p.s("[[", t, "]]")
	case f < 77:
		p.s("[[", t, "|", p.anchor(t), "]]")
	case f < 82 && isUpperASCII(t[0]):
		// MediaWiki upper-cases a link's first letter.
		p.s("[[", strings.ToLower(t[:1]), t[1:], "]]")
	case f < 87 && isLowerASCII(t[len(t)-1]):
		// A link trail: the letters after ]] join the anchor.
		p.s("[[", t, "]]s")
	case f < 91:
		p.s("[[", t, "#", p.pick(sectionsOf[p.rng.IntN(int(numTypes))]), "|", p.anchor(t), "]]")
	case f < 95:
		p.s("[[", underscored(t), "]]")
	case f < 97:
		p.s("[[ ", t, " ]]")
	default:
		p.s("[[", t, "|''", p.anchor(t), "'']]")
	}
}

func (p *pw) link() { p.linkTo(p.target()) }

// linkArticle links to article a.
func (p *pw) linkArticle(a int64) { p.linkTo(p.g.articleTitle(a), toArticle) }

// anchor is the text a piped link shows: the title without its qualifier,
// its last word, or words of its own.
func (p *pw) anchor(t string) string {
	if i := strings.Index(t, " ("); i > 0 {
		return t[:i]
	}
	switch p.rng.IntN(3) {
	case 0:
		if i := strings.LastIndexByte(t, ' '); i > 0 && i < len(t)-1 {
			return t[i+1:]
		}
	case 1:
		return p.g.v.commonWord(p.rng) + " " + p.g.v.commonWord(p.rng)
	}
	return strings.ToLower(t)
}

func isUpperASCII(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLowerASCII(c byte) bool { return c >= 'a' && c <= 'z' }

var months = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September",
	"October", "November", "December"}

func (p *pw) year() string { return strconv.Itoa(1650 + p.rng.IntN(370)) }

func (p *pw) date() string {
	d, m, y := 1+p.rng.IntN(28), months[p.rng.IntN(12)], p.year()
	if p.rng.IntN(2) == 0 {
		return strconv.Itoa(d) + " " + m + " " + y
	}
	return m + " " + strconv.Itoa(d) + ", " + y
}

func (p *pw) noun() string { return p.g.v.commonWord(p.rng) }

func (p *pw) number() string {
	n := 2 + int(math.Exp(p.rng.Float64()*11))
	if n >= 1000 {
		return strconv.Itoa(n/1000) + "," + strconv.Itoa(1000 + n%1000)[1:]
	}
	return strconv.Itoa(n)
}

// Sentence frames: the English is ours, the nouns and names the seed's.
//
//	%L a link   %N a noun   %A two nouns   %Y a year   %D a date
//	%P the subject's pronoun   %O its possessive   %V a verb   %W a passive verb
//	%Q a number   %C a converted measure   %T a template that renders words
var frames = []string{
	"In %Y, %P %V the %N of %L.",
	"The %N of %L %V %O %N in %Y.",
	"%P %V %L and %L during the %A of %Y.",
	"According to %L, the %N %V about %Q %Ns by %Y.",
	"Between %Y and %Y, the %A was %W by %L.",
	"%L %V the %N near %L, and the %N %V %L.",
	"It is %W as one of the %As of %L.",
	"The %N %V the %A and the %N.",
	"During the %N of %L, %P %V a %A with %L.",
	"%O %N has a %N of %C.",
	"%P %V the %N %Q times before %Y.",
	"Later %Ns %V %L as the %A of the %N.",
	"On %D, the %N of %L was %W by the %A.",
	"The %A %T was %W in %Y.",
	"%Ns from %L and %L %V the %N of the %N.",
	"%P %V a %N, which %L %W in %Y.",
	"Its %As were %W by %L, %L and %L.",
	"The %N was %W on %D.",
}

var (
	verbs   = []string{"described", "joined", "founded", "visited", "built", "led", "wrote", "studied", "won", "lost", "opened", "named", "crossed", "supported", "replaced", "reached", "praised", "left"}
	units   = []string{"km", "m", "ha", "km2"}
	passive = []string{"described", "built", "founded", "named", "recorded", "listed", "rebuilt", "restored", "praised", "documented", "renamed", "granted"}
)

// sentence writes one sentence from a frame, and sometimes a reference.
func (p *pw) sentence() {
	f := frames[p.rng.IntN(len(frames))]
	start := true
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' || i+1 == len(f) {
			p.b = append(p.b, c)
			start = false
			continue
		}
		i++
		var word string
		switch f[i] {
		case 'L':
			// Not every name in prose is linked: editors link a
			// subject once, so a third of the frames' names stay text.
			if p.pct(linkedNamePct) {
				p.link()
				start = false
				continue
			}
			word = p.g.v.name(p.rng) + " " + p.g.v.name(p.rng)
		case 'N':
			word = p.noun()
		case 'A':
			word = p.noun() + " " + p.noun()
		case 'Y':
			word = p.year()
		case 'D':
			word = p.date()
		case 'P':
			word = p.pronoun()
		case 'O':
			word = p.possessive()
		case 'V':
			word = p.pick(verbs)
		case 'W':
			word = p.pick(passive)
		case 'Q':
			word = p.number()
		case 'C':
			word = "{{convert|" + p.number() + "|" + p.pick(units) + "}}"
		case 'T':
			switch p.rng.IntN(4) {
			case 0:
				word = "{{circa|" + p.year() + "}}"
			case 1:
				word = "{{lang|de|" + p.noun() + "}}"
			case 2:
				word = "{{nowrap|" + p.noun() + " " + p.noun() + "}}"
			default:
				word = "''" + p.noun() + "''"
			}
		}
		if start && word != "" && isLowerASCII(word[0]) {
			word = strings.ToUpper(word[:1]) + word[1:]
		}
		start = false
		p.s(word)
	}
	switch r := p.rng.IntN(100); {
	case r < 9:
		p.ref()
	case r < 10:
		p.s("{{citation needed|date=", months[p.rng.IntN(12)], " ", strconv.Itoa(2008+p.rng.IntN(16)), "}}")
	}
}

func (p *pw) pronoun() string {
	switch {
	case p.ty != typePerson:
		return "it"
	case p.g.hash(p.self, 0x736578)%2 == 0:
		return "he"
	}
	return "she"
}

func (p *pw) possessive() string {
	switch p.pronoun() {
	case "he":
		return "his"
	case "she":
		return "her"
	}
	return "its"
}

// ref writes a footnote: a citation template, named or not, or a reuse.
func (p *pw) ref() {
	if len(p.refs) > 0 && p.pct(20) {
		p.s(`<ref name="`, p.pick(p.refs), `" />`)
		return
	}
	open := "<ref>"
	if p.pct(30) {
		name := p.noun() + strconv.Itoa(len(p.refs))
		p.refs = append(p.refs, name)
		open = `<ref name="` + name + `">`
	}
	p.s(open)
	n1, n2 := p.g.v.name(p.rng), p.g.v.name(p.rng)
	if p.pct(60) {
		p.s("{{cite web |url=https://www.", strings.ToLower(n1), ".org/", p.noun(), "/", strconv.Itoa(p.rng.IntN(9999)),
			" |title=The ", p.noun(), " of ", n2, " |publisher=", n1, " ", p.noun(), " |access-date=", p.date(), "}}")
	} else {
		p.s("{{cite book |last=", n1, " |first=", n2, " |title=", strings.ToUpper(p.noun()[:1]), p.noun()[1:], " and ", p.noun(),
			" |year=", p.year(), " |publisher=", p.g.v.name(p.rng), " Press |page=", strconv.Itoa(1+p.rng.IntN(400)), "}}")
	}
	p.s("</ref>")
}

func (p *pw) paragraph(sentences int) {
	for k := range sentences {
		if k > 0 {
			p.s(" ")
		}
		p.sentence()
	}
	p.s("\n\n")
}

var sectionsOf = [numTypes][]string{
	{"Early life", "Career", "Later life", "Personal life", "Legacy", "Works", "Honours"},
	{"History", "Geography", "Climate", "Economy", "Demographics", "Culture", "Transport"},
	{"History", "Organisation", "Operations", "Members", "Reception", "Ownership"},
	{"Background", "Prelude", "Course", "Aftermath", "Legacy", "Results"},
	{"Background", "Production", "Release", "Reception", "Description", "Distribution"},
}

// birthDate is the {{birth date}} arguments of person i (year|month|day),
// the same in the infobox and the lead.
func (g *gen) birthDate(i int64) string {
	h := g.hash(i, 0x626461)
	return strconv.Itoa(g.year(i)) + "|" + strconv.Itoa(1+int(h%12)) + "|" + strconv.Itoa(1+int(h>>8%28))
}

func (g *gen) deathDate(i int64) string {
	h := g.hash(i, 0x646461)
	return strconv.Itoa(1+int(h%28)) + " " + months[h>>8%12] + " " + strconv.Itoa(g.deathYear(i))
}

// lognormal article sizes with a mean of about 3 KB of wikitext: many
// stubs, a long tail of long articles.
func (p *pw) targetBytes() int {
	// exp(mu + sigma²/2) ≈ 2,500: the last section overshoots the
	// target by half a section, which brings the mean to ~3 KB.
	const mu, sigma = 7.46, 0.85
	n := int(math.Exp(mu + sigma*p.rng.NormFloat64()))
	return min(max(n, 350), 60_000)
}

// article writes an article of index i.
func (g *gen) article(i int64, rng *rand.Rand) ([]byte, linkStats) {
	p := &pw{g: g, rng: rng, self: i, ty: g.typeOf(i), b: make([]byte, 0, 4096)}
	p.sub = g.subtype(i, p.ty)
	p.title = g.articleTitle(i)
	target := p.targetBytes()
	if p.pct(60) {
		p.s("{{Short description|", strings.ToUpper(p.sub[:1]), p.sub[1:], " in ", g.region(g.topicOf(i)), "}}\n")
	}
	if p.pct(25) {
		p.s("{{Use dmy dates|date=", months[p.rng.IntN(12)], " ", strconv.Itoa(2010+p.rng.IntN(14)), "}}\n")
	}
	if p.pct(30) {
		p.infobox()
	}
	if p.pct(12) {
		w1, w2 := g.v.name(rng), g.v.name(rng)
		p.s("[[File:", w1, "_", w2, ".jpg|thumb|upright|The ", p.noun(), " of ")
		p.link()
		p.s(" in ", p.year(), "]]\n")
	}
	p.lead()
	p.paragraph(1 + p.rng.IntN(3))
	heads := sectionsOf[p.ty]
	first := p.rng.IntN(len(heads))
	for k := 0; len(p.b) < target; k++ {
		if k < len(heads) {
			p.s("== ", heads[(first+k)%len(heads)], " ==\n")
		} else {
			n := p.noun()
			p.s("== ", strings.ToUpper(n[:1]), n[1:], " and ", p.noun(), " ==\n")
		}
		if p.pct(15) {
			t, _ := p.target()
			p.s("{{Main|", t, "}}\n")
		}
		for range 1 + p.rng.IntN(2) {
			p.paragraph(2 + p.rng.IntN(5))
		}
		switch r := p.rng.IntN(100); {
		case r < 12:
			p.s("=== ", strings.ToUpper(p.noun()[:1]), p.noun()[1:], " ===\n")
			p.paragraph(2 + p.rng.IntN(3))
		case r < 20:
			p.bullets(3 + p.rng.IntN(5))
		case r < 24:
			p.table()
		case r < 26:
			p.s("<!-- ", p.noun(), " ", p.noun(), " -->\n")
		}
	}
	if p.pct(35) {
		p.s("== See also ==\n")
		p.bullets(2 + p.rng.IntN(3))
	}
	p.s("== References ==\n{{Reflist}}\n\n")
	if p.pct(40) {
		w := strings.ToLower(g.v.name(rng))
		p.s("== External links ==\n* [https://www.", w, ".org/ Official website]\n\n")
	}
	if p.ty == typePerson {
		w1, w2 := g.core(spaceArticle, i)
		p.s("{{DEFAULTSORT:", w2, ", ", w1, "}}\n")
	}
	for _, c := range g.categories(i) {
		p.s("[[Category:", c, "]]\n")
	}
	if p.pct(8) {
		p.s("\n{{", g.region(g.topicOf(i)), "-stub}}\n")
	}
	return trimNL(p.b), p.st
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
	}
	return b
}

var placeWhat = map[string]string{"settlement": "a village", "region": "a region", "river": "a river",
	"lake": "a lake", "mountain": "a mountain", "town": "a town"}

// lead writes the first sentence, the one walks and questions lean on.
func (p *pw) lead() {
	g, i := p.g, p.self
	y := g.year(i)
	name := p.title
	if k := strings.Index(name, " ("); k > 0 {
		name = name[:k] // the lead names the subject, not the title's qualifier
	}
	bold := "'''" + name + "'''"
	if p.ty == typeWork && p.sub != "song" {
		bold = "'''''" + name + "'''''"
	}
	switch p.ty {
	case typePerson:
		p.s(bold, " (")
		if d := g.deathYear(i); d > 0 {
			p.s("{{birth date|", g.birthDate(i), "}} – ", g.deathDate(i), ") was a ")
		} else {
			p.s("born ", strconv.Itoa(y), ") is a ")
		}
		p.s(p.sub)
		if p.pct(40) {
			p.s(" and ", p.pick(occupations))
		}
		p.s(" from ")
		p.linkArticle(g.articleOfType(typePlace, p.rng))
		p.s(".")
	case typePlace:
		p.s(bold, " is ", placeWhat[p.sub], " in ")
		p.linkArticle(g.articleOfType(typePlace, p.rng))
		p.s(", in the ", p.noun(), " of ", g.region(g.topicOf(i)), ".")
		switch p.sub {
		case "river":
			p.s(" It is {{convert|", p.number(), "|km}} long.")
		case "mountain":
			p.s(" It is {{convert|", p.number(), "|m}} high.")
		}
	case typeOrg:
		p.s(bold, " is a ", p.sub, " founded in ", strconv.Itoa(y), " by ")
		p.linkArticle(g.articleOfType(typePerson, p.rng))
		p.s(". Its headquarters are in ")
		p.linkArticle(g.articleOfType(typePlace, p.rng))
		p.s(".")
	case typeEvent:
		p.s("The ", bold, " was a ", p.sub, " of ", strconv.Itoa(y), " in ")
		p.linkArticle(g.articleOfType(typePlace, p.rng))
		p.s(", between ")
		p.linkArticle(g.articleOfType(typeOrg, p.rng))
		p.s(" and the ", p.noun(), " of ", g.region(g.topicOf(i)), ".")
	default:
		switch p.sub {
		case "species":
			p.s(bold, " is a species of ", p.noun(), " found in ")
			p.linkArticle(g.articleOfType(typePlace, p.rng))
			p.s(".")
		default:
			p.s(bold, " is a ", strconv.Itoa(y), " ", p.sub, " by ")
			p.linkArticle(g.articleOfType(typePerson, p.rng))
			p.s(".")
		}
	}
	p.s(" ")
}

// infobox writes the infobox of the article's type; its facts become the
// document's facts.
func (p *pw) infobox() {
	g, i := p.g, p.self
	y := strconv.Itoa(g.year(i))
	w1, w2 := g.core(spaceArticle, i)
	row := func(k string, v ...string) { p.s("| ", k, " = "); p.s(v...); p.s("\n") }
	linkRow := func(k string, ty atype) {
		p.s("| ", k, " = ")
		p.linkArticle(g.articleOfType(ty, p.rng))
		p.s("\n")
	}
	switch p.ty {
	case typePerson:
		p.s("{{Infobox person\n")
		row("name", w1, " ", w2)
		row("image", w1, "_", w2, ".jpg")
		row("birth_date", "{{birth date|", g.birthDate(i), "}}")
		linkRow("birth_place", typePlace)
		if g.deathYear(i) > 0 {
			row("death_date", g.deathDate(i))
			linkRow("death_place", typePlace)
		}
		row("occupation", p.sub)
		if p.pct(40) {
			linkRow("spouse", typePerson)
		}
	case typePlace:
		if p.sub == "river" {
			p.s("{{Infobox river\n")
			row("name", p.title)
			row("length", "{{convert|", p.number(), "|km|mi|abbr=on}}")
			linkRow("source1_location", typePlace)
			linkRow("mouth_location", typePlace)
		} else {
			p.s("{{Infobox settlement\n")
			row("name", p.title)
			row("settlement_type", p.sub)
			row("coordinates", "{{coord|", strconv.Itoa(p.rng.IntN(80)), "|", strconv.Itoa(p.rng.IntN(60)), "|N|", strconv.Itoa(p.rng.IntN(170)), "|", strconv.Itoa(p.rng.IntN(60)), "|E|display=inline,title}}")
			linkRow("subdivision_name", typePlace)
			row("population_total", p.number())
			row("area_km2", p.number())
			row("elevation_m", strconv.Itoa(p.rng.IntN(3000)))
		}
	case typeOrg:
		p.s("{{Infobox company\n")
		row("name", p.title)
		row("founded", y)
		linkRow("founder", typePerson)
		linkRow("headquarters", typePlace)
		row("industry", p.noun())
		row("num_employees", p.number())
	case typeEvent:
		p.s("{{Infobox military conflict\n")
		row("conflict", p.title)
		row("date", p.date())
		linkRow("place", typePlace)
		row("result", p.noun(), " victory")
	default:
		p.s("{{Infobox album\n")
		row("name", w1, " ", w2)
		row("type", p.sub)
		linkRow("artist", typeOrg)
		row("released", y)
		row("genre", p.noun())
	}
	p.s("}}\n")
}

func (p *pw) bullets(n int) {
	for range n {
		p.s("* ")
		p.link()
		if p.pct(50) {
			p.s(", ", p.noun(), " of ", p.year())
		}
		p.s("\n")
	}
	p.s("\n")
}

func (p *pw) table() {
	p.s("{| class=\"wikitable\"\n! Year !! ", p.noun(), " !! ", p.noun(), "\n")
	for range 2 + p.rng.IntN(4) {
		p.s("|-\n| ", p.year(), " || ")
		p.link()
		p.s(" || ", p.number(), "\n")
	}
	p.s("|}\n\n")
}

// dab writes a disambiguation page: entries that share nothing with its
// title but the page's purpose, which is all the pipeline looks at.
func (g *gen) dab(i int64, rng *rand.Rand) ([]byte, linkStats) {
	p := &pw{g: g, rng: rng, self: i, ty: typeWork, b: make([]byte, 0, 1024)}
	w1, w2 := g.core(spaceArticle, i)
	p.s("'''", w1, " ", w2, "''' may refer to:\n\n")
	for range 3 + rng.IntN(6) {
		p.s("* ")
		p.linkArticle(g.popular(rng))
		p.s(", a ", p.noun(), " of ", p.year(), "\n")
	}
	p.s("\n== See also ==\n* ")
	p.link()
	p.s("\n\n{{disambiguation}}")
	return p.b, p.st
}

// list writes a list page: many links in bullets, kept out of walks.
func (g *gen) list(i int64, rng *rand.Rand) ([]byte, linkStats) {
	p := &pw{g: g, rng: rng, self: i, ty: g.typeOf(i), b: make([]byte, 0, 4096)}
	w1, w2 := g.core(spaceArticle, i)
	p.s("This is a '''list of ", typePlural[p.ty], " of ", w1, " ", w2, "'''.\n\n")
	for range 2 + rng.IntN(4) {
		p.s("== ", strings.ToUpper(p.noun()[:1]), " ==\n")
		p.bullets(5 + rng.IntN(15))
	}
	p.s("[[Category:Lists of ", typePlural[p.ty], "]]")
	return p.b, p.st
}

// redirect writes redirect j's text; its target's title is returned for
// the <redirect title=…/> element.
func (g *gen) redirect(j int64, rng *rand.Rand) ([]byte, string) {
	t, toRedirect := g.redirectTarget(j)
	var title string
	if toRedirect {
		title = g.redirectTitle(t)
	} else {
		title = g.articleTitle(t)
	}
	b := make([]byte, 0, 128)
	kw := "#REDIRECT"
	if rng.IntN(5) == 0 {
		kw = "#redirect"
	}
	b = append(b, kw+" [["+title+"]]"...)
	if rng.IntN(3) == 0 {
		b = append(b, "\n\n{{Redirect category shell|\n{{R from alternative name}}\n}}"...)
	}
	return b, title
}

// category writes a Category page (namespace 14): skipped by ingest, but
// read and counted like every page.
func (g *gen) category(k int64, rng *rand.Rand) ([]byte, string) {
	r := g.region(k % g.topics)
	p := &pw{g: g, rng: rng, self: -1, b: make([]byte, 0, 256)}
	p.s("{{Commons category|", r, "}}\nThis category holds articles about ", r, " and its ", p.noun(), ".\n\n[[Category:Places]]")
	return p.b, "Category:" + r
}

// templates are the Template pages at the head of the dump (namespace 10,
// skipped by ingest): the ones the articles call.
var templates = []struct{ name, text string }{
	{"Infobox person", "{{Infobox\n| above = {{{name|{{PAGENAME}}}}}\n| label1 = Born | data1 = {{{birth_date|}}}\n}}<noinclude>{{Documentation}}</noinclude>"},
	{"Infobox settlement", "{{Infobox\n| above = {{{name|}}}\n| label1 = Population | data1 = {{{population_total|}}}\n}}<noinclude>{{Documentation}}</noinclude>"},
	{"Infobox river", "{{Infobox\n| above = {{{name|}}}\n| label1 = Length | data1 = {{{length|}}}\n}}"},
	{"Infobox company", "{{Infobox\n| above = {{{name|}}}\n| label1 = Founded | data1 = {{{founded|}}}\n}}"},
	{"Infobox military conflict", "{{Infobox\n| above = {{{conflict|}}}\n| label1 = Date | data1 = {{{date|}}}\n}}"},
	{"Infobox album", "{{Infobox\n| above = {{{name|}}}\n| label1 = Released | data1 = {{{released|}}}\n}}"},
	{"Cite web", "<includeonly>{{#invoke:Citation/CS1|citation|CitationClass=web}}</includeonly>"},
	{"Cite book", "<includeonly>{{#invoke:Citation/CS1|citation|CitationClass=book}}</includeonly>"},
	{"Reflist", "<div class=\"reflist\">{{#tag:references|{{{refs|}}}}}</div>"},
	{"Short description", "{{#ifeq:{{{1|}}}|none||<div class=\"shortdescription\">{{{1|}}}</div>}}"},
	{"Disambiguation", "{{Dmbox|type=disambig|text=This page lists articles associated with the same title.}}"},
	{"Convert", "{{#invoke:Convert|convert}}"},
	{"Birth date", "<span>{{{1}}}-{{{2}}}-{{{3}}}</span>"},
	{"Circa", "<span title=\"circa\">c.</span>&nbsp;{{{1}}}"},
	{"Main", "<div role=\"note\" class=\"hatnote\">Main article: [[{{{1}}}]]</div>"},
	{"Citation needed", "<sup>[<i>citation needed</i>]</sup>"},
}
