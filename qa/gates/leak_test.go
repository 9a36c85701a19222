package gates

import (
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
		{"partial phrase is no leak", "Which state contains New York?", Leak{Answer: "New York City"}, ""},
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
