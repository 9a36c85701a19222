package oracle

import (
	"slices"
	"testing"

	"github.com/miroverse/miroverse/qa/writer"
)

func TestObfuscateDates(t *testing.T) {
	tests := []struct{ in, want string }{
		{"born 7 November 1867 in Warsaw", "born the autumn of the 1860s in Warsaw"},
		{"born on 7 November 1867", "born in the autumn of the 1860s"},
		{"On 7th November 1867 she", "In the autumn of the 1860s she"},
		{"born November 7, 1867.", "born the autumn of the 1860s."},
		{"died on March 14, 1955", "died in the spring of the 1950s"},
		{"in Nov. 1867", "in the autumn of the 1860s"},
		{"on March 15, 2023", "in the spring of the 2020s"},
		{"in Jan 1990 and 2 August 1914", "in the winter of the 1990s and the summer of the 1910s"},
		{"signed 1867-11-07", "signed the autumn of the 1860s"},
		{"(7 November 1867 – 4 July 1934)", "(the autumn of the 1860s – the summer of the 1930s)"},
		{"in 1867", "in the 1860s"},
		{"in 2001 and 1999", "in the 2000s and the 1990s"},
		{"from 1861–1865", "from the 1860s"},
		{"from 1867–1872", "from the 1860s–1870s"},
		{"from 1867–72", "from the 1860s–1870s"},
		{"from 1998 to 2003", "from the 1990s–2000s"},
		{"in the 19th century and the 1860s", "in the 19th century and the 1860s"},
		{"you may come in May", "you may come in May"},
		{"number 42 and 867 and 12345", "number 42 and 867 and 12345"},
	}
	for _, tc := range tests {
		if got := obfuscateDates(tc.in); got != tc.want {
			t.Errorf("obfuscateDates(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPeriod(t *testing.T) {
	tests := []struct {
		year int
		want string
	}{
		{1860, "the early 1860s"}, {1863, "the early 1860s"}, {1864, "the mid 1860s"},
		{1866, "the mid 1860s"}, {1867, "the late 1860s"}, {2023, "the early 2020s"},
	}
	for _, tc := range tests {
		if got := period(tc.year); got != tc.want {
			t.Errorf("period(%d) = %q, want %q", tc.year, got, tc.want)
		}
	}
}

func TestStripParentheticals(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Marie Curie (born Maria Skłodowska; 1867 – 1934) was a physicist.", "Marie Curie was a physicist."},
		{"X (a (nested) aside), then more", "X, then more"},
		{"no asides", "no asides"},
		{"unbalanced ) stays", "unbalanced ) stays"},
	}
	for _, tc := range tests {
		if got := stripParentheticals(tc.in); got != tc.want {
			t.Errorf("stripParentheticals(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNameVariants(t *testing.T) {
	tests := []struct {
		title  string
		person bool
		want   []string
	}{
		{"Warsaw", false, []string{"Warsaw"}},
		{"Mercury (planet)", false, []string{"Mercury (planet)", "Mercury"}},
		{"Paris, Texas", false, []string{"Paris, Texas", "Paris"}},
		{"The Beatles", false, []string{"The Beatles", "Beatles"}},
		{"Marie Curie", true, []string{"Marie Curie", "Curie"}},
		{"Marie Curie", false, []string{"Marie Curie"}},
		{"Johann Sebastian Bach (composer)", true, []string{"Johann Sebastian Bach (composer)", "Johann Sebastian Bach", "Bach"}},
		{"U2 (band)", false, []string{"U2 (band)"}}, // "U2" is too short to hunt for alone
		{"It (novel)", false, []string{"It (novel)"}},
		{"  ", false, nil},
	}
	for _, tc := range tests {
		if got := nameVariants(tc.title, tc.person); !slices.Equal(got, tc.want) {
			t.Errorf("nameVariants(%q, %v) = %q, want %q", tc.title, tc.person, got, tc.want)
		}
	}
}

func TestDocKind(t *testing.T) {
	tests := []struct {
		doc  writer.PassDoc
		want int
	}{
		{writer.PassDoc{Title: "Marie Curie", Categories: []string{"1867 births"}}, kindPerson},
		{writer.PassDoc{Title: "X", Description: "X (born 1950) is a writer."}, kindPerson},
		{writer.PassDoc{Title: "Warsaw", Categories: []string{"Cities in Poland"}}, kindPlace},
		{writer.PassDoc{Title: "Ulm", Description: "Ulm is a small town on the Danube."}, kindPlace},
		{writer.PassDoc{Title: "Texas", Description: "Texas is a state in the South Central region of the United States."}, kindPlace},
		{writer.PassDoc{Title: "Radium", Description: "Radium is a chemical element.", Categories: []string{"Chemical elements"}}, kindOther},
		// A biography that mentions a town is still about a person.
		{writer.PassDoc{Title: "Y", Description: "Y was a painter from a town near Lyon.", Categories: []string{"French painters", "People from Lyon"}}, kindPerson},
	}
	for _, tc := range tests {
		if got := docKind(tc.doc); got != tc.want {
			t.Errorf("docKind(%s) = %d, want %d", tc.doc.Title, got, tc.want)
		}
	}
}

func TestNamerReplace(t *testing.T) {
	var n namer
	n.add("University of Paris", "the old school", 0)
	n.add("Paris", "the capital", 1)
	n.add("Łódź", "the mill town", 2)
	n.add("Curie", "the chemist", 3)
	n.sort()
	tests := []struct{ in, want string }{
		{"She studied at the University of Paris.", "She studied at the old school."},
		{"Paris is large. paris is old.", "The capital is large. The capital is old."},
		{"It rained in Paris, in Parisian streets.", "It rained in the capital, in Parisian streets."},
		{"Curie's lab was in Lodz and in LODZ.", "The chemist's lab was in the mill town and in the mill town."},
		{"nothing to hide", "nothing to hide"},
	}
	for _, tc := range tests {
		if got := n.replace(tc.in, nil); got != tc.want {
			t.Errorf("replace(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if !n.mentions("a trip to paris") || n.mentions("Parisian") {
		t.Errorf("mentions disagrees with replace")
	}
}

// TestNamerMentions checks the reading aids of replace: articles merge,
// a place swallows its generic noun, and later mentions turn definite.
func TestNamerMentions(t *testing.T) {
	var n namer
	n.addTerm("Vistula", "a place categorised as Rivers of Poland", 0, true)
	n.addTerm("Marie Curie", "the first figure", 1, false)
	n.sort()
	seen := map[string]bool{}
	got := n.replace("The Vistula River is long. Marie Curie saw the Vistula. A Vistula boat.", seen)
	want := "A place categorised as Rivers of Poland is long. The first figure saw the place categorised as Rivers of Poland. " +
		"The place categorised as Rivers of Poland boat."
	if got != want {
		t.Errorf("replace:\n got %q\nwant %q", got, want)
	}
	if got := n.replace("Sparta and Vistula", nil); got != "Sparta and a place categorised as Rivers of Poland" {
		t.Errorf("replace without seen: %q", got)
	}
}

func TestPlaceholder(t *testing.T) {
	var names namer
	names.add("Texas", "", 0)
	names.add("Subject", "", 1)
	tests := []struct {
		name       string
		i, kind    int
		categories []string
		want       string
	}{
		{"place by first clean category", 0, kindPlace, []string{"Cities in Texas", "Category:County seats", "Other"}, "a place categorised as County seats"},
		{"place without categories", 1, kindPlace, nil, "the second place"},
		{"dates in categories are blurred", 0, kindPlace, []string{"Populated places established in 1867"}, "a place categorised as Populated places established in the 1860s"},
		{"person", 2, kindPerson, []string{"1867 births"}, "the third figure"},
		{"placeholder naming an entity falls back", 0, kindOther, nil, "entity A"},
	}
	for _, tc := range tests {
		if got := placeholder(tc.i, tc.kind, tc.categories, &names, map[string]bool{}); got != tc.want {
			t.Errorf("%s: placeholder = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestFairCaps(t *testing.T) {
	tests := []struct {
		lengths []int
		budget  int
		want    []int
	}{
		{[]int{100, 10, 100}, 150, []int{70, 10, 70}},
		{[]int{300, 50}, 200, []int{150, 50}},
		{[]int{500, 500, 500}, 60, []int{40, 40, 40}}, // never below minPieceRunes
	}
	for _, tc := range tests {
		if got := fairCaps(tc.lengths, tc.budget); !slices.Equal(got, tc.want) {
			t.Errorf("fairCaps(%v, %d) = %v, want %v", tc.lengths, tc.budget, got, tc.want)
		}
	}
}
