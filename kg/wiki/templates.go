package wiki

import (
	"strconv"
	"strings"
)

// Templates are removed from the text, except the set below, whose output
// is words of the sentence they sit in: dropping them would leave holes
// ("born ." or "a  long road"). The README ("Text fidelity") lists the same
// set; keep the two in step.
//
//	birth date, death date, start date, end date, film date, dob, bda,
//	birth date and age, start date and age      {{birth date|1867|11|7}} → "November 7, 1867"
//	death date and age                          {{death date and age|1934|7|4|1867|11|7}} → "July 4, 1934 (aged 66)"
//	birth year and age, death year and age      the year(s), as above
//	birth-date, death-date, start-date, end-date (free-form forms)
//	                                            their text
//	as of                                       {{as of|2020}} → "As of 2020"
//	circa, c.                                   {{circa|1500}} → "c. 1500"
//	convert, cvt                                {{convert|1094|km|mi}} → "1094 km"
//	frac, fraction, sfrac                       {{frac|1|2}} → "1/2"
//	val                                         {{val|1.5|u=kg}} → "1.5 kg"
//	lang, lang-xx, transl, native name, nihongo the text in that language
//	ill, interlanguage link                     {{ill|Title|fr}} → a link to Title
//	nowrap, nobr, small, smaller, big, sc, abbr, sic, sup, sub, vanchor,
//	  not a typo, tooltip, keypress, math, mvar, flag, nts, url, sort, chem
//	                                            their text (abbr: the abbreviation)
//	plainlist, flatlist, ubl, unbulleted list, hlist, bulleted list
//	                                            their items (one per line; " · " for hlist in running text)
//	quote, blockquote, cquote                   the quotation
//	marriage                                    {{marriage|A|1900|1910}} → "A (m. 1900–1910)"
//	angbr                                       {{angbr|a}} → "⟨a⟩"
//	US$                                         {{US$|5}} → "US$5"
//	ndash, mdash, snd, ', 's, !, =, nbsp, ·     the character they stand for
//
// Dates follow MediaWiki's templates: month first unless the call says
// df=y or the page declares {{Use dmy dates}} ("7 November 1867"); the
// age of a living person is left out because it depends on the day the
// text is made. Infoboxes and taxoboxes become kg.Fact values instead (see
// infobox.go); {{IPA…}}, citations, navboxes and maintenance tags go.
func (c *cleaner) template(body string, inLink bool) {
	parts := splitTop(body, '|')
	name := c.templateName(parts[0])
	switch {
	case isDisambiguationTemplate(name):
		c.disamb = true
		return
	case isSetIndexTemplate(name):
		c.list = true
		return
	case isInfobox(name):
		c.infobox(name, parts[1:])
		return
	}
	a := parseArgs(parts[1:])
	text := func(s string) { c.run(s, true, inLink) }
	switch name {
	case "nowrap", "nobr", "nobreak", "small", "smaller", "big", "larger", "sc", "smallcaps",
		"small caps", "em", "strong", "not a typo", "vanchor", "visible anchor", "mvar", "math",
		"abbr", "nihongo", "flag", "flagcountry", "flagu", "tooltip", "keypress", "var", "lang-en",
		"wikt-lang", "linktext", "bold", "italic", "text", "sup", "sub", "nts", "ntsh":
		text(a.arg(0))
	case "lang", "transl", "transliteration":
		if len(a.pos) > 0 {
			text(a.pos[len(a.pos)-1])
		}
	case "native name", "native phrase":
		text(a.arg(1))
	case "sic":
		// {{sic|Ex|ample}} marks a word split in two.
		text(a.arg(0) + a.arg(1))
	case "sort":
		if len(a.pos) > 1 {
			text(a.arg(1))
		} else {
			text(a.arg(0))
		}
	case "url":
		c.url(a, inLink)
	case "ill", "interlanguage link", "interlanguage link multi", "link-interwiki":
		c.interlanguageLink(a, inLink)
	case "quote", "blockquote", "cquote", "quotation":
		if q, ok := a.named["text"]; ok {
			text(q)
		} else {
			text(a.arg(0))
		}
	case "plainlist", "plain list", "flatlist", "flat list":
		c.newline()
		c.run(a.arg(0), false, inLink)
		c.newline()
	case "ubl", "unbulleted list", "bulleted list", "blist", "bulletedlist", "hlist":
		c.itemList(a.pos, name == "hlist", inLink)
	case "convert", "cvt":
		c.convert(a, inLink)
	case "val":
		c.val(a, inLink)
	case "chem":
		text(strings.Join(a.pos, ""))
	case "frac", "fraction", "sfrac":
		switch len(a.pos) {
		case 1:
			text("1/" + a.arg(0))
		case 2:
			text(a.arg(0) + "/" + a.arg(1))
		case 3:
			text(a.arg(0) + " " + a.arg(1) + "/" + a.arg(2))
		}
	case "as of":
		c.asOf(a, inLink)
	case "circa", "c.":
		text("c. " + a.arg(0))
	case "birth date", "death date", "birth date and age", "start date", "end date", "start date and age",
		"end date and age", "dob", "bda", "film date", "birth year and age":
		c.appendText(c.dateText(a, 0))
	case "death date and age", "death year and age":
		c.appendText(c.dateText(a, 0))
		if age := ageText(a); age != "" {
			c.appendText(" (" + age + ")")
		}
	case "birth-date", "death-date", "birth-date and age", "death-date and age", "start-date", "end-date":
		text(a.arg(0))
	case "marriage":
		c.marriage(a, inLink)
	case "angbr":
		text("⟨" + a.arg(0) + "⟩")
	case "us$", "usd":
		text("US$" + a.arg(0))
	case "use dmy dates":
		c.dates = dmy
	case "use mdy dates":
		c.dates = mdy
	case "ndash", "en dash":
		c.out = append(c.out, "–"...)
	case "mdash", "em dash":
		c.out = append(c.out, "—"...)
	case "snd", "spaced ndash", "spnd", "sndash":
		c.out = append(c.out, " – "...)
	case "'":
		c.out = append(c.out, '\'')
	case "'s":
		c.out = append(c.out, "'s"...)
	case "!":
		c.out = append(c.out, '|')
	case "=":
		c.out = append(c.out, '=')
	case "nbsp", "space", "sp", "spaces":
		c.out = append(c.out, ' ')
	case "·", "dot", "middot", "dot separator":
		c.out = append(c.out, " · "...)
	default:
		if strings.HasPrefix(name, "lang-") {
			text(a.arg(0))
		}
	}
}

// isDisambiguationTemplate reports the templates that mark a page as a
// disambiguation page ("{{Disambiguation needed}}" is not one of them).
func isDisambiguationTemplate(name string) bool {
	switch name {
	case "disambiguation", "disambig", "dab", "hndis", "geodis", "disamb", "disambiguation page",
		"numberdis", "mil-unit-dis", "letter-numbercombdisambig", "letter-number combination disambiguation",
		"schooldis", "hospitaldis", "roaddis", "shipdis", "disambig-cleanup", "dab-cleanup",
		"disambiguation cleanup", "hndis-cleanup", "geodis-cleanup":
		return true
	}
	return strings.HasSuffix(name, " disambiguation")
}

// isSetIndexTemplate reports the templates of set index articles: lists of
// things of one type that share a name. Like disambiguation pages they
// lead to many subjects, so a walk must not pass through them.
func isSetIndexTemplate(name string) bool {
	switch name {
	case "set index article", "set index", "sia", "shipindex", "ship index", "mountainindex",
		"mountain index", "given name", "surname", "chemistry index", "roadindex", "road index",
		"sportindex", "sport index", "lake index", "river index", "plant common name",
		"animal common name", "fungus common name", "storm index", "molecular formula index",
		"enzyme index", "dynamic list":
		return true
	}
	return false
}

// templateName normalises the name part of a template call.
func (c *cleaner) templateName(s string) string {
	s = strings.TrimSpace(s)
	for _, p := range []string{"subst:", "safesubst:", "msgnw:", "SUBST:"} {
		s = strings.TrimPrefix(s, p)
	}
	if prefix, rest, ok := strings.Cut(s, ":"); ok {
		if key, ok := c.ns[foldName(prefix)]; ok && key == nsTemplate {
			s = rest
		}
	}
	return foldName(s)
}

// convert renders {{convert|5|km|mi}} as "5 km" and ranges such as
// {{convert|5|to|10|km}} as "5 to 10 km": the value as written, without
// the conversion, which is arithmetic rather than text of the page.
func (c *cleaner) convert(a templateArgs, inLink bool) {
	if len(a.pos) < 2 {
		return
	}
	v, unit := a.arg(0), a.arg(1)
	switch unit {
	case "-", "–":
		v, unit = v+"–"+a.arg(2), a.arg(3)
	case "to", "and", "or", "by", "x", "×", "+", "to(-)", "and(-)":
		v, unit = v+" "+unit+" "+a.arg(2), a.arg(3)
	}
	c.run(strings.TrimSpace(v+" "+unit), true, inLink)
}

// val renders {{val|1.5|0.1|e=3|u=kg}} as "1.5 ± 0.1×10^3 kg".
func (c *cleaner) val(a templateArgs, inLink bool) {
	s := a.arg(0)
	if s == "" {
		return
	}
	if u := a.arg(1); u != "" {
		s += " ± " + u
	}
	if e := a.named["e"]; e != "" {
		s += "×10^" + e
	}
	if u := a.named["u"]; u != "" {
		s += " " + u
	} else if u := a.named["ul"]; u != "" {
		s += " " + u
	}
	c.run(s, true, inLink)
}

// url renders {{URL|http://example.org/|label}} as the label or the
// address without its scheme, as the template shows it.
func (c *cleaner) url(a templateArgs, inLink bool) {
	if label := a.arg(1); label != "" {
		c.run(label, true, inLink)
		return
	}
	u := a.arg(0)
	for _, p := range []string{"https://", "http://", "//"} {
		if len(u) >= len(p) && strings.EqualFold(u[:len(p)], p) {
			u = u[len(p):]
			break
		}
	}
	c.appendText(strings.TrimSuffix(u, "/"))
}

// interlanguageLink renders {{ill|Title|fr|Titre|lt=text}}: a link to the
// local title, which may not exist yet (the template's reason to be); the
// foreign title is left out.
func (c *cleaner) interlanguageLink(a templateArgs, inLink bool) {
	title := a.arg(0)
	display := a.named["lt"]
	if display == "" {
		display = title
	}
	if title == "" || strings.ContainsAny(title, "[]{}|<>\n") || strings.Contains(display, "]]") {
		c.run(display, true, inLink)
		return
	}
	c.run("[["+title+"|"+display+"]]", true, inLink)
}

// itemList renders list templates whose items are their arguments: on
// lines of their own, or in running text as MediaWiki shows an hlist.
func (c *cleaner) itemList(items []string, horizontal bool, inLink bool) {
	sep := "\n"
	if horizontal && c.inFact == 0 {
		sep = " · "
	} else {
		c.newline()
	}
	first := true
	for _, it := range items {
		if strings.TrimSpace(it) == "" {
			continue
		}
		if !first {
			c.out = append(c.out, sep...)
		}
		first = false
		c.run(it, true, inLink)
	}
	if sep == "\n" {
		c.newline()
	}
}

// marriage renders {{marriage|Name|1900|1910|end=div}} as
// "Name (m. 1900; div. 1910)", and "Name (m. 1900–1910)" without end= (or
// reason=, its older name).
func (c *cleaner) marriage(a templateArgs, inLink bool) {
	s := a.arg(0)
	if from := a.arg(1); from != "" {
		s += " (m. " + from
		if to := a.arg(2); to != "" {
			end := a.named["end"]
			if end == "" {
				end = a.named["reason"]
			}
			switch strings.ToLower(strings.TrimSuffix(end, ".")) {
			case "":
				s += "–" + to
			case "d", "died", "death":
				s += "; died " + to
			case "div", "divorced":
				s += "; div. " + to
			case "sep", "separated":
				s += "; sep. " + to
			default:
				s += "; " + end + " " + to
			}
		}
		s += ")"
	}
	c.run(s, true, inLink)
}

// asOf renders {{as of|2020|5|1}} as "As of 1 May 2020" (the template's
// own default order is day first), {{as of|2020}} as "As of 2020".
func (c *cleaner) asOf(a templateArgs, inLink bool) {
	lead := "As of "
	if lc := strings.ToLower(a.named["lc"]); lc == "y" || lc == "yes" {
		lead = "as of "
	}
	if alt := a.named["alt"]; alt != "" {
		c.run(alt, true, inLink)
		return
	}
	order := c.dates
	if order == undeclared {
		order = dmy
	}
	if df := strings.ToLower(a.named["df"]); df == "us" || df == "mdy" {
		order = mdy
	}
	if d := formatDate(a.arg(0), a.arg(1), a.arg(2), order); d != "" {
		c.appendText(lead + d)
	}
}

// dateOrder is the order of day and month in a rendered date.
type dateOrder int

const (
	undeclared dateOrder = iota // the page says nothing: each template's default
	mdy                         // "November 7, 1867", the date templates' default
	dmy                         // "7 November 1867", {{as of}}'s default
)

// monthNames is a constant table (Go has no constant arrays).
var monthNames = [...]string{"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"}

// month reads a month given as a number or a name; 0 if it is neither.
func month(s string) int {
	if n, err := strconv.Atoi(s); err == nil {
		if n >= 1 && n <= 12 {
			return n
		}
		return 0
	}
	for i, m := range monthNames {
		if len(s) >= 3 && strings.HasPrefix(strings.ToLower(m), strings.ToLower(s)) {
			return i + 1
		}
	}
	return 0
}

// dateText renders the date in a's positional arguments from, from+1,
// from+2 (year, month, day) in the order the call or the page asks for.
func (c *cleaner) dateText(a templateArgs, from int) string {
	order := c.dates
	if order == undeclared {
		order = mdy
	}
	switch df := strings.ToLower(a.named["df"]); df {
	case "y", "yes", "1", "true":
		order = dmy
	}
	if mf := strings.ToLower(a.named["mf"]); mf == "y" || mf == "yes" {
		order = mdy
	}
	return formatDate(a.arg(from), a.arg(from+1), a.arg(from+2), order)
}

// formatDate renders a year, month and day, any of the last two missing;
// a month that is no month leaves the year alone.
func formatDate(y, m, d string, order dateOrder) string {
	if y == "" {
		return ""
	}
	mn := month(m)
	if mn == 0 {
		return y
	}
	mon := monthNames[mn-1]
	if day, err := strconv.Atoi(d); err == nil && day >= 1 && day <= 31 {
		d = strconv.Itoa(day) // "07" is shown as "7"
	} else {
		d = ""
	}
	switch {
	case d == "":
		return mon + " " + y
	case order == dmy:
		return d + " " + mon + " " + y
	default:
		return mon + " " + d + ", " + y
	}
}

// ageText is the age at death of {{death date and age|y|m|d|y|m|d}}
// ("aged 66"), or a range of two when months or days are missing, as the
// template shows it ({{death year and age|1934|1867}}: "aged 66–67").
func ageText(a templateArgs) string {
	var dy, dm, dd, by, bm, bd int
	var err error
	if dy, err = strconv.Atoi(a.arg(0)); err != nil {
		return ""
	}
	birth := 3
	if len(a.pos) < 4 {
		birth = 1 // the "year and age" form: death year, birth year
	}
	if by, err = strconv.Atoi(a.arg(birth)); err != nil || by > dy {
		return ""
	}
	if birth == 3 {
		dm, dd = month(a.arg(1)), atoiSmall(a.arg(2))
		bm, bd = month(a.arg(4)), atoiSmall(a.arg(5))
	}
	if dm == 0 || dd == 0 || bm == 0 || bd == 0 {
		if dy == by {
			return "aged 0"
		}
		return "aged " + strconv.Itoa(dy-by-1) + "–" + strconv.Itoa(dy-by)
	}
	age := dy - by
	if dm < bm || (dm == bm && dd < bd) {
		age--
	}
	return "aged " + strconv.Itoa(age)
}
