package qa

import "testing"

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
		{"answer", "Is the city in question Rome?", rome, ReasonLeakAnswer},
		{"answer cased and possessive", "What did ROME's founders build?", rome, ReasonLeakAnswer},
		{"answer as a word part is no leak", "Which play features Romeo?", rome, ""},
		{"alias phrase", "Which city is called the eternal-city?", rome, ReasonLeakAlias},
		{"short alias is skipped", "Which rm command deletes files?", rome, ""},
		{"intermediate title", "Which city did Julius Caesar rule?", rome, ReasonLeakIntermediate},
		{"intermediate alias", "Where was Caesar murdered?", rome, ReasonLeakIntermediate},
		{"intermediate without its qualifier", "Which city lies on the Tiber?", rome, ReasonLeakIntermediate},
		{"short qualifier-less title is skipped", "What is it that the river passes?", rome, ""},
		{"answer wins over intermediate", "Did Caesar die in Rome?", rome, ReasonLeakAnswer},
		{"answer qualifier removed", "Which planet is mercury?", Leak{Answer: "Mercury (planet)"}, ReasonLeakAnswer},
		{"answer with qualifier", "Is it Mercury (planet)?", Leak{Answer: "Mercury (planet)"}, ReasonLeakAnswer},
		{"diacritics folded", "Which city is Zurich?", Leak{Answer: "Zürich"}, ReasonLeakAnswer},
		{"stroke letters folded", "Who was Lodz's mayor?", Leak{Answer: "Łódź"}, ReasonLeakAnswer},
		{"partial phrase is no leak", "Which state contains New York?", Leak{Answer: "New York City"}, ""},
		{"short full title is still checked", "Which ziggurat stood at Ur?", Leak{Answer: "Ur"}, ReasonLeakAnswer},
		{"short title inside a word is no leak", "What happened during the flood?", Leak{Answer: "Ur"}, ""},
		{"empty names", "Anything at all?", Leak{Intermediate: []string{"", "  "}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckLeak(tt.question, tt.leak); got != tt.want {
				t.Errorf("CheckLeak(%q) = %q, want %q", tt.question, got, tt.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"  Rome  ", "rome"},
		{"Jean-Paul  Sartre!", "jean paul sartre"},
		{"Zürich, Genève", "zurich geneve"},
		{"Straße Œuvre Ørsted", "strasse oeuvre orsted"},
		{"AT&T (company)", "at t company"},
		{"1984 (novel)", "1984 novel"},
	}
	for _, tt := range tests {
		if got := normalize(tt.in); got != tt.want {
			t.Errorf("normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStripParenthetical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Mercury (planet)", "Mercury"},
		{"Mercury", "Mercury"},
		{"(Untitled)", "(Untitled)"},
		{"Up (2009 film) ", "Up"},
		{"Rome (Georgia)", "Rome"},
	}
	for _, tt := range tests {
		if got := stripParenthetical(tt.in); got != tt.want {
			t.Errorf("stripParenthetical(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
