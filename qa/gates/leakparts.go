package gates

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/miroverse/miroverse/internal/text"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/qa/internal/names"
)

// A question that keeps part of a name still gives the entity away: a
// search for "Antonín Leopold" finds Antonín Leopold Dvořák, "NPP" finds the
// New Patriotic Party. The checks here look at the pieces of each name
// (title, alias, anchor text): its distinctive words, those words with one
// letter changed, its initialism and its parenthetical qualifier.

// minPartLen is the shortest name word that counts as a part: two-letter
// words ("Al", "Le", "Wu") collide with too many other words and names.
const minPartLen = 3

// minFuzzyLen is the shortest name word matched with one letter changed:
// below five letters one edit turns a name into ordinary words ("Rome" →
// "Home", "Iran" → "Iron").
const minFuzzyLen = 5

// namePart is one part of a name the question must not contain.
type namePart struct {
	part string // as the name spells it
	name string // the whole name
}

// nameWord reports whether w, a word of a name, is distinctive enough that
// a question repeating it gives the name away: capitalised in the name (a
// lowercase word of a title is an ordinary word: "List of rivers"), at
// least minPartLen letters, not a Roman numeral and not an ordinary English
// word or a function word that titles capitalise ("New", "Party", "The").
func nameWord(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	if !unicode.IsUpper(r) {
		return false
	}
	f := text.FoldName(w)
	if utf8.RuneCountInString(f) < minPartLen || ordinaryWords[f] || romanNumeral(f) {
		return false
	}
	return true
}

// words splits s into its runs of letters and digits, keeping their case.
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !isWordRune(r) })
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// partsOf returns the distinctive words of name, without its qualifier.
// Two kinds of word are left out because they name another entity rather
// than a piece of this one: the words after "of" ("University of Paris",
// where a question may well name Paris, the city), and the members of a
// hyphenated compound ("Austria-Hungary", "Joliot-Curie"), which is
// looked for whole.
func partsOf(name string) []namePart {
	var out []namePart
	for _, f := range strings.Fields(names.StripParenthetical(name)) {
		if strings.EqualFold(f, "of") {
			break
		}
		if compound := words(f); len(compound) > 1 && strings.Contains(f, "-") {
			whole := strings.Join(compound, " ")
			if nameWord(compound[0]) {
				out = append(out, namePart{part: whole, name: name})
			}
			continue
		}
		for _, w := range words(f) {
			if nameWord(w) {
				out = append(out, namePart{part: w, name: name})
			}
		}
	}
	return out
}

// qualifierOf returns the distinctive words of name's parenthetical
// qualifier: "Paris (Texas)" → "Texas", while "Mercury (planet)" and
// "It (1990 film)" give nothing, their qualifiers being ordinary words.
func qualifierOf(name string) []namePart {
	base := names.StripParenthetical(name)
	if base == name {
		return nil
	}
	q := strings.TrimSpace(name)[len(base):]
	var out []namePart
	for _, w := range words(q) {
		if nameWord(w) {
			out = append(out, namePart{part: w, name: name})
		}
	}
	return out
}

// initialismOf returns the initials of name's capitalised words ("New
// Patriotic Party" → "NPP", "United States of America" → "USA"), or "" when
// fewer than two words are capitalised.
func initialismOf(name string) string {
	var b strings.Builder
	for _, w := range words(names.StripParenthetical(name)) {
		r, _ := utf8.DecodeRuneInString(w)
		if unicode.IsUpper(r) {
			b.WriteRune(r)
		}
	}
	if utf8.RuneCountInString(b.String()) < 2 {
		return ""
	}
	return b.String()
}

// commonAbbreviations are initialisms that questions use for other things:
// "300 BC" must not leak "Bill Clinton".
var commonAbbreviations = map[string]bool{
	"AD": true, "BC": true, "BCE": true, "CE": true, "AM": true, "PM": true, "TV": true, "ID": true, "OK": true,
}

// questionWords is the question as checkNameParts reads it.
type questionWords struct {
	upper  map[string]bool // folded words capitalised in the question
	capped []string        // folded words capitalised in the question after a sentence's first word, in order
	raw    map[string]bool // every word as written, dots removed ("N.P.P." → "NPP"), for initialisms
}

func readQuestion(q string) questionWords {
	qw := questionWords{upper: map[string]bool{}, raw: map[string]bool{}}
	// A word opening a sentence is capitalised whatever it is ("Parts of
	// which city…" is not "Paris" misspelt), so only later words count as
	// written like names.
	sentenceStart := true
	rest := q
	for rest != "" {
		i := strings.IndexFunc(rest, isWordRune)
		if i < 0 {
			break
		}
		if strings.ContainsAny(rest[:i], ".?!") {
			sentenceStart = true
		}
		rest = rest[i:]
		j := strings.IndexFunc(rest, func(r rune) bool { return !isWordRune(r) })
		if j < 0 {
			j = len(rest)
		}
		w := rest[:j]
		rest = rest[j:]
		f := text.FoldName(w)
		if r, _ := utf8.DecodeRuneInString(w); unicode.IsUpper(r) {
			qw.upper[f] = true
			if !sentenceStart {
				qw.capped = append(qw.capped, f)
			}
		}
		sentenceStart = false
	}
	for _, w := range strings.FieldsFunc(q, func(r rune) bool {
		return r != '.' && !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		qw.raw[strings.ReplaceAll(w, ".", "")] = true
	}
	return qw
}

// checkNameParts returns the first part of one of names that question
// contains: a distinctive word, that word with one letter changed, the
// initialism (whole word, case-sensitive: "npp" and "Npp" are not it) or a
// distinctive word of the qualifier. detail names the part and the name.
//
// Words match only where the question capitalises them, as it writes a
// name: no word list covers every ordinary word a title uses ("Symphony",
// "Cat"), and a question that uses one in lower case ("which symphony…")
// means the word, not the name. A near spelling must also stand after a
// sentence's first word, which is capitalised whatever it is.
func checkNameParts(question string, names []string) (detail string) {
	qw := readQuestion(question)
	for _, name := range names {
		for _, p := range append(partsOf(name), qualifierOf(name)...) {
			f := text.FoldName(p.part)
			if strings.Contains(f, " ") {
				// a hyphenated compound, matched as a phrase
				if strings.Contains(" "+text.FoldName(question)+" ", " "+f+" ") {
					return fmt.Sprintf("%q (part of %q)", p.part, p.name)
				}
				continue
			}
			if qw.upper[f] {
				return fmt.Sprintf("%q (part of %q)", p.part, p.name)
			}
			if utf8.RuneCountInString(f) < minFuzzyLen {
				continue
			}
			for _, w := range qw.capped {
				if !ordinaryWords[w] && editDistanceOne(f, w) {
					return fmt.Sprintf("%q (%q of %q with one letter changed)", w, p.part, p.name)
				}
			}
		}
		if ini := initialismOf(name); ini != "" && !commonAbbreviations[ini] && qw.raw[ini] {
			return fmt.Sprintf("%q (initialism of %q)", ini, name)
		}
	}
	return ""
}

// editDistanceOne reports whether a and b differ by exactly one inserted,
// deleted or substituted rune.
func editDistanceOne(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > len(rb) {
		ra, rb = rb, ra
	}
	if len(rb)-len(ra) > 1 {
		return false
	}
	i := 0
	for i < len(ra) && ra[i] == rb[i] {
		i++
	}
	if len(ra) == len(rb) {
		return i < len(ra) && string(ra[i+1:]) == string(rb[i+1:])
	}
	return string(ra[i:]) == string(rb[i+1:])
}

// romanNumeral reports whether a folded word is a Roman numeral ("iii",
// "viii"), which regnal names share ("Louis XIV", "Henry VIII").
func romanNumeral(f string) bool { return f != "" && romanRE.MatchString(f) }

var romanRE = regexp.MustCompile(`^m{0,3}(cm|cd|d?c{0,3})(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$`)

// WalkAnchors returns the anchor texts of walk's hops: the words its pages
// use for the walk's documents, which a question can copy as easily as a
// title ("NPP" linked to New Patriotic Party). Hop i links into DocIDs[i+1],
// so the last hop's anchor names the answer.
func WalkAnchors(walk qa.Walk) []string {
	var out []string
	for _, h := range walk.Hops {
		if strings.TrimSpace(h.Anchor) != "" {
			out = append(out, h.Anchor)
		}
	}
	return out
}

// ordinaryWords are English words that capitalised title words often are
// ("New Patriotic Party", "The Black Cat", "University of Texas"); a
// question may use them for their ordinary meaning. Nationality adjectives
// are here too: questions say "American" without naming the United States.
var ordinaryWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
the and for from with into onto over under upon about after before between
this that these those there their them they then than what which who whom whose
when where why how not but all any each every some other another such one two
three four five six seven eight nine ten hundred thousand first second third
fourth fifth last next new old young great little big small long short high
low upper lower north south east west northern southern eastern western
central middle grand royal national international united republic kingdom
empire federal state states province county district city town village
island islands lake river sea ocean bay gulf mount mountain mountains hill
hills valley park forest street road avenue square bridge station airport
port castle palace tower church cathedral abbey chapel temple house hall
museum library school college university academy institute hospital
center centre party front movement union league association society
council committee club team football cup championship games olympics
world war battle siege treaty act law order army navy air force corps
company group records band film movie album song single book novel series
show episode game award prize festival day night year years time life love
man men woman women king queen prince princess duke earl lord lady sir
saint san santa emperor pope president general captain doctor father
mother brother sister son daughter family people house home land water fire
black white red blue green yellow golden gold silver star stars sun moon
light dark heart soul spirit dream story stories part volume chapter
american british english french german italian spanish russian chinese
japanese indian african european asian australian canadian irish scottish
welsh dutch polish swedish greek roman catholic christian jewish muslim
czech austrian hungarian swiss belgian danish norwegian finnish portuguese
brazilian mexican argentine egyptian turkish persian korean vietnamese
israeli arab arabic latin slavic bohemian prussian soviet holy sacred
democratic republican liberal conservative socialist communist labour
workers people's popular progressive patriotic independent
`) {
		m[w] = true
	}
	return m
}()
