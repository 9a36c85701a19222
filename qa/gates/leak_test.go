package gates

import (
	"strings"
	"testing"

	"github.com/miroverse/miroverse/qa"
)

func TestCheckLeak(t *testing.T) {
	rome := Leak{
		Answer:        "Rome",
		AnswerAliases: []string{"Eternal City", "RM"},
		Intermediate:  []string{"Julius Caesar", "Tiber (river)", "It (novel)", "Caesar"},
	}
	tests := []struct {
		name     string
		question string
		leak     Leak
		want     string
	}{
		{"clean", "Which capital grew up beside the river a dictator crossed?", rome, ""},
		{"answer", "Is the city in question Rome?", rome, qa.ReasonLeakAnswer},
		{"answer cased and possessive", "What did ROME's founders build?", rome, qa.ReasonLeakAnswer},
		{"answer as a word part is no leak", "Which play features Romeo?", rome, ""},
		{"alias phrase", "Which city is called the eternal-city?", rome, qa.ReasonLeakAlias},
		{"short alias is skipped", "Which rm command deletes files?", rome, ""},
		{"intermediate title", "Which city did Julius Caesar rule?", rome, qa.ReasonLeakIntermediate},
		{"intermediate alias", "Where was Caesar murdered?", rome, qa.ReasonLeakIntermediate},
		{"intermediate without its qualifier", "Which city lies on the Tiber?", rome, qa.ReasonLeakIntermediate},
		{"short qualifier-less title is skipped", "What is it that the river passes?", rome, ""},
		{"answer wins over intermediate", "Did Caesar die in Rome?", rome, qa.ReasonLeakAnswer},
		{"answer qualifier removed", "Which planet is mercury?", Leak{Answer: "Mercury (planet)"}, qa.ReasonLeakAnswer},
		{"answer with qualifier", "Is it Mercury (planet)?", Leak{Answer: "Mercury (planet)"}, qa.ReasonLeakAnswer},
		{"diacritics folded", "Which city is Zurich?", Leak{Answer: "Zürich"}, qa.ReasonLeakAnswer},
		{"stroke letters folded", "Who was Lodz's mayor?", Leak{Answer: "Łódź"}, qa.ReasonLeakAnswer},
		{"part of a multi-word name is a name part", "Which state contains New York?", Leak{Answer: "New York City"}, qa.ReasonLeakNamePart},
		{"short full title is still checked", "Which ziggurat stood at Ur?", Leak{Answer: "Ur"}, qa.ReasonLeakAnswer},
		{"short title inside a word is no leak", "What happened during the flood?", Leak{Answer: "Ur"}, ""},
		{"empty names", "Anything at all?", Leak{Intermediate: []string{"", "  "}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := CheckLeak(tt.question, tt.leak); got != tt.want {
				t.Errorf("CheckLeak(%q) = %q, want %q", tt.question, got, tt.want)
			}
		})
	}
}

func TestCheckLeakLiteral(t *testing.T) {
	path := []string{
		"The tower was completed on 31 March 1889 and is 330 metres tall.", // evidence sentence
		"Its lifts date from the 1880s and were renewed in 1890; 18 engineers built it.",
		"1,665 steps", // a fact value with a thousands separator
		"opened 1889-05-15; 3 restaurants",
	}
	tests := []struct {
		name, q, want, detail string
	}{
		{"literal year", "Which tower, finished in 1889, stands in a European capital?", qa.ReasonLeakLiteral, "1889"},
		{"full date", "What structure was completed on March 31, 1889?", qa.ReasonLeakLiteral, "31"},
		{"height", "Which landmark rises 330 metres above its city?", qa.ReasonLeakLiteral, "330"},
		{"thousands separator folded", "Which tower has 1665 steps?", qa.ReasonLeakLiteral, "1665"},
		{"obfuscated period", "Which tower was finished in the late 19th century?", "", ""},
		{"decade is not the year", "Which tower was finished in the 1880s?", "", ""},
		{"decade of the path's own year", "Which tower was finished in the 1880s, a decade before the 1890s?", "", ""},
		{"ordinal century is a period", "Which tower of the 18th century stands by the Seine?", "", ""},
		{"year right before a word is still literal", "Which tower, in 1889 said to be tallest?", qa.ReasonLeakLiteral, "1889"},
		{"single digit ignored", "Which tower has 3 restaurants?", "", ""},
		{"number not on the path", "Which tower was repainted in 2010?", "", ""},
		{"part of a number is no match", "Which tower is 33 storeys tall?", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, detail := CheckLeak(tt.q, Leak{Answer: "Eiffel Tower", PathText: path})
			if reason != tt.want || detail != tt.detail {
				t.Fatalf("CheckLeak(%q) = %q, %q; want %q, %q", tt.q, reason, detail, tt.want, tt.detail)
			}
		})
	}
	// Without PathText the literal check is off: existing callers keep
	// their behaviour.
	if got, _ := CheckLeak("Which tower was finished in 1889?", Leak{Answer: "Eiffel Tower"}); got != "" {
		t.Fatalf("no path text: got %q", got)
	}
	// Names are checked before literals.
	if got, _ := CheckLeak("Was the Eiffel Tower finished in 1889?", Leak{Answer: "Eiffel Tower", PathText: path}); got != qa.ReasonLeakAnswer {
		t.Fatalf("got %q, want %q", got, qa.ReasonLeakAnswer)
	}
}

// TestCheckLeakNameParts covers the audit's examples of questions that keep
// part of a name, and fluent questions that share only ordinary words with
// the path's names and must pass.
func TestCheckLeakNameParts(t *testing.T) {
	dvorak := Leak{
		Answer:       "New World Symphony",
		Intermediate: []string{"Antonín Leopold Dvořák", "Pierre Curie", "Tetisheri"},
	}
	ghana := Leak{
		Answer:       "John Kufuor",
		Intermediate: []string{"New Patriotic Party", "Paris (Texas)", "The Black Cat (1934 film)", "Louis XIV", "University of Texas at Austin"},
		Anchors:      []string{"his party", "Kuffour's government"},
	}
	tests := []struct {
		name, q string
		leak    Leak
		want    string // reason
		detail  string // substring of the detail
	}{
		// Leaks the audit found.
		{"first names of a title", "Which symphony did Antonín Leopold the first figure write in America?", dvorak, qa.ReasonLeakNamePart, `"Antonín"`},
		{"middle name alone", "Which symphony did Leopold the first figure write in America?", dvorak, qa.ReasonLeakNamePart, `"Leopold"`},
		{"first name of an intermediate", "Which prize did Pierre the fourth figure share?", dvorak, qa.ReasonLeakNamePart, `"Pierre"`},
		{"accents dropped", "Which symphony did the composer Dvorak write?", dvorak, qa.ReasonLeakNamePart, `"Dvořák"`},
		{"one letter changed", "Which pharaoh was the grandson of Tetishiri?", dvorak, qa.ReasonLeakNamePart, "one letter changed"},
		{"one letter dropped", "Which pharaoh was the grandson of Tetisher?", dvorak, qa.ReasonLeakNamePart, "one letter changed"},
		{"initialism", "Which leader of the NPP became president in the 2000s?", ghana, qa.ReasonLeakNamePart, `"NPP" (initialism of "New Patriotic Party")`},
		{"dotted initialism", "Which leader of the N.P.P. became president in the 2000s?", ghana, qa.ReasonLeakNamePart, "initialism"},
		{"qualifier", "Which town in Texas shares its name with a European capital?", Leak{Answer: "Paris (Texas)"}, qa.ReasonLeakNamePart, `"Texas" (part of "Paris (Texas)")`},
		{"anchor word", "Who led the Kuffour government?", ghana, qa.ReasonLeakNamePart, `"Kuffour"`},
		{"anchor one letter off the title", "Who was Kufuer's successor?", Leak{Answer: "John Agyekum Kufuor"}, qa.ReasonLeakNamePart, "one letter changed"},
		{"whole names keep their reason", "Which party did John Kufuor lead?", ghana, qa.ReasonLeakAnswer, "John Kufuor"},

		// Fluent questions that must pass.
		{"ordinary title words", "Which new party won the elections of the 2000s in a West African country?", ghana, "", ""},
		{"ordinary words of a film title", "Which black cat appears in a horror film of the 1930s?", ghana, "", ""},
		{"qualifier of ordinary words", "Which film of the 1930s starred two horror actors?", ghana, "", ""},
		{"university as a word", "Which university in a southern state has a longhorn mascot?", ghana, "", ""},
		{"roman numeral", "Which king, the fourteenth of his name, was called the Sun King, unlike Henry VIII?", ghana, "", ""},
		{"initialism in lower case is a word", "Which npp figure led the country?", ghana, "", ""},
		{"sentence-initial word one letter off", "Parts of which city did the fourth figure map?", Leak{Answer: "Paris"}, "", ""},
		{"other capitalised words", "Which symphony did a Bohemian composer write while living in the United States?", dvorak, "", ""},
		{"common abbreviation", "Which empire fell in 476 AD?", Leak{Answer: "Anno Domini"}, "", ""},
		{"short common words", "Which leader of his party became president?", ghana, "", ""},
		{"a word near a short name", "Which home did the emperor build?", Leak{Answer: "Rome"}, "", ""},
		{"the place after of names another entity", "Which college of the university in Paris is best known?", Leak{Answer: "University of Paris"}, "", ""},
		{"members of a compound name another entity", "Which river flows through Hungary and Austria?", Leak{Answer: "Austria-Hungary"}, "", ""},
		{"nationality one letter off a country", "Which Austrian neurologist founded psychoanalysis?", Leak{Intermediate: []string{"Austria-Hungary", "Austria"}}, "", ""},
		{"a title's descriptor", "Which King of Bohemia became Holy Roman Emperor?", Leak{Answer: "Charles IV, Holy Roman Emperor"}, "", ""},
		{"a compound in full", "Which empire was Austria-Hungary?", Leak{Intermediate: []string{"Austria-Hungary"}}, qa.ReasonLeakIntermediate, "Austria-Hungary"},
		{"a first name of a comma title", "Which university did Charles the first figure found?", Leak{Answer: "Charles IV, Holy Roman Emperor"}, qa.ReasonLeakNamePart, `"Charles"`},
		{"qualifier naming a person", "Which symphony did Dvořák finish last?", Leak{Answer: "Symphony No. 9 (Dvořák)"}, qa.ReasonLeakNamePart, `"Dvořák"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, detail := CheckLeak(tt.q, tt.leak)
			if got != tt.want || !strings.Contains(detail, tt.detail) {
				t.Fatalf("CheckLeak(%q) = %q, %q; want %q with %q", tt.q, got, detail, tt.want, tt.detail)
			}
		})
	}
}

func TestEditDistanceOne(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"tetisheri", "tetishiri", true}, {"tetisheri", "tetisher", true}, {"kufuor", "kuffuor", true},
		{"paris", "paris", false}, {"paris", "pairs", false}, {"paris", "parisian", false}, {"", "a", true},
	}
	for _, tt := range tests {
		if got := editDistanceOne(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistanceOne(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}
