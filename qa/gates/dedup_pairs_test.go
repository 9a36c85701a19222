package gates

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/miroverse/miroverse/internal/minhash"
	"github.com/miroverse/miroverse/internal/shareddata"
)

// dedupPair is a hand-written pair of questions with their answers and
// whether the gate should call the second a duplicate of the first.
type dedupPair struct {
	q1, a1, q2, a2 string
	dup            bool
}

// dedupPairs: duplicates are near copies or light rewordings with the same
// answer; non-duplicates are template questions about other entities (the
// audit's "capital of Poland / of Hungary" case), questions about the same
// entity that ask for something else, and unrelated questions.
var dedupPairs = []dedupPair{
	// Same answer, near copies and rewordings.
	{"What is the capital of the country whose national anthem is Mazurek Dąbrowskiego?", "Warsaw",
		"What is the capital of the country whose national anthem is the Mazurek Dąbrowskiego?", "Warsaw", true},
	{"Which city hosted the Summer Olympics held alongside the World's Fair in 1900?", "Paris",
		"In 1900, which city hosted the Summer Olympics held alongside the World's Fair?", "Paris", true},
	{"Who directed the film in which the actress born in Tel Aviv in 1981 made her debut?", "Luc Besson",
		"Who directed the film in which the actress born in 1981 in Tel Aviv made her debut?", "Luc Besson", true},
	{"What river runs through the city where the composer of The Magic Flute was born?", "Salzach",
		"What river runs through the city where the composer of The Magic Flute was born", "salzach", true},
	{"Which university did the founder of the company that makes the iPhone drop out of?", "Reed College",
		"Which university did the founder of the company that makes the iPhone drop out from?", "Reed College", true},
	{"In which year was the architect of the Sydney Opera House awarded the Pritzker Prize?", "2003",
		"In what year was the architect of the Sydney Opera House awarded the Pritzker Prize?", "2003", true},
	{"Who was the father of the king who built the palace of Versailles?", "Louis XIII",
		"Who was the father of the king who had the palace of Versailles built?", "Louis XIII", true},
	{"What language is spoken in the country where the tallest building of the 1930s stands?", "English",
		"What language is spoken in the country where the tallest building of the 1930s stood?", "English", true},
	{"Which team did the player who scored the winning goal of the 2014 World Cup final start his career with?", "TSV 1860 Munich",
		"With which team did the player who scored the winning goal of the 2014 World Cup final start his career?", "TSV 1860 Munich", true},
	{"What is the birth name of the singer who recorded the album Thriller?", "Michael Joseph Jackson",
		"What is the birth name of the singer that recorded the album Thriller?", "Michael Joseph Jackson", true},
	{"Which ocean borders the country whose capital is Lisbon?", "Atlantic Ocean",
		"Which ocean borders the country whose capital city is Lisbon?", "Atlantic Ocean", true},
	{"Who wrote the novel on which the film Blade Runner is based?", "Philip K. Dick",
		"Who wrote the novel that the film Blade Runner is based on?", "Philip K. Dick", true},
	{"Where was the wife of the first man to walk on the Moon born?", "Wauwatosa",
		"Where was the wife of the first man who walked on the Moon born?", "Wauwatosa", true},
	{"What instrument did the composer of the Moonlight Sonata's teacher play?", "Organ",
		"What instrument did the teacher of the composer of the Moonlight Sonata play?", "organ", true},
	{"Which mountain range contains the highest peak of the country that hosted the 1992 Winter Olympics?", "Alps",
		"Which mountain range holds the highest peak of the country that hosted the 1992 Winter Olympics?", "Alps", true},
	{"What is the population of the town where the painter of The Starry Night died, in the 2010s?", "7,000",
		"In the 2010s, what is the population of the town where the painter of The Starry Night died?", "7,000", true},
	{"Which company acquired the studio that produced the film Toy Story?", "The Walt Disney Company",
		"Which company acquired the studio which produced the film Toy Story?", "The Walt Disney Company", true},
	{"Who succeeded the pope who convened the Second Vatican Council?", "Pope Paul VI",
		"Who succeeded the pope that convened the Second Vatican Council?", "Pope Paul VI", true},
	{"When did Cezaria Jędrzejewiczowa's father die?", "3 November 1929",
		"When did the father of Cezaria Jędrzejewiczowa die?", "3 November 1929", true},
	{"Who is Ahmose-Henutemipet's paternal grandmother?", "Tetisheri",
		"Who is the paternal grandmother of Ahmose-Henutemipet?", "Tetisheri", true},

	{"Which river runs through the city where the author of Dubliners was born?", "River Liffey",
		"Which river runs through the city where the author of Dubliners was born", "Liffey", true},
	{"Which composer wrote the symphony first performed at Carnegie Hall in the 1890s?", "Antonín Dvořák",
		"Which composer wrote the symphony first performed at Carnegie Hall in the 1890s?", "Pyotr Tchaikovsky", true},

	// Same template, other entities (other answers).
	{"What is the capital of the country whose national anthem is Mazurek Dąbrowskiego?", "Warsaw",
		"What is the capital of the country whose national anthem is Himnusz?", "Budapest", false},
	{"Which city is the capital of Poland?", "Warsaw", "Which city is the capital of Hungary?", "Budapest", false},
	{"Who is the father of Emperor Taizong Of Song?", "Zhao Hongyin",
		"Who is the father of Emperor Taizu Of Song?", "Zhao Hongyin II", false},
	{"When did Cezaria Jędrzejewiczowa's father die?", "3 November 1929",
		"When did Janina Jędrzejewiczowa's father die?", "12 May 1941", false},
	{"Who is Ahmose-Henutemipet's paternal grandmother?", "Tetisheri",
		"Who is Ahmose-Meritamun's paternal grandmother?", "Ahhotep I", false},
	{"Which film came out first, The Black Cat or The Raven?", "The Black Cat",
		"Which film came out first, The Black Hole or The Raven?", "The Raven", false},
	{"Are both Hanover Square and Berkeley Square located in the same city?", "yes",
		"Are both Hanover Square and Portman Square located in the same city?", "yes", false},
	{"Where was the director of film The Fighting Kentuckian born?", "Woodstock",
		"Where was the director of film The Fighting Seabees born?", "Los Angeles", false},
	{"What is the date of death of the director of film Night Of Terror?", "1 March 1963",
		"What is the date of death of the director of film Night Of The Eagle?", "2 June 1978", false},
	{"Which country the director of film Hollywood Hotel is from?", "American",
		"Which country the director of film Hollywood Canteen is from?", "Canadian", false},
	{"In 1900, which city hosted the Summer Olympics held alongside the World's Fair?", "Paris",
		"In 1904, which city hosted the Summer Olympics held alongside the World's Fair?", "St. Louis", false},
	{"Who was born first, Kevin Rudd or Julia Gillard?", "Kevin Rudd",
		"Who was born first, Kevin Rudd or Tony Abbott?", "Tony Abbott", false},
	{"What nationality is the director of film The Sea Wall?", "French",
		"What nationality is the director of film The Sea Hawk?", "Hungarian", false},
	{"Who is the mother of the director of film Polish Wedding?", "Rosa Connelly",
		"Who is the mother of the director of film Polish Bride?", "Anna Vos", false},

	// Same answer, but another question (a different path to it).
	{"Which city is the capital of Poland?", "Warsaw",
		"In which city was Marie Curie born?", "Warsaw", false},
	{"Who wrote the novel that the film Blade Runner is based on?", "Philip K. Dick",
		"Which author's story became the film Total Recall?", "Philip K. Dick", false},
	{"Which ocean borders the country whose capital is Lisbon?", "Atlantic Ocean",
		"Which ocean did the Titanic sink in?", "Atlantic Ocean", false},
	{"Are both Hanover Square and Berkeley Square located in the same city?", "yes",
		"Are the Danube and the Rhine both rivers of Germany?", "yes", false},

	// Unrelated.
	{"Which river flows through the birthplace of the architect of the Sydney Opera House?", "Gudenå",
		"What is the birth year of the composer of the opera first staged at La Scala in 1926?", "1858", false},
	{"Who won the Nobel Prize in Physics in the year the Eiffel Tower opened?", "nobody",
		"Which company makes the console that succeeded the PlayStation 2?", "Sony", false},
	{"What is the capital of the country whose national anthem is Mazurek Dąbrowskiego?", "Warsaw",
		"Which element has the atomic number of the year Poland joined NATO minus 1900?", "Americium", false},
}

// TestDedupPairs measures the gate on dedupPairs and asserts the figures
// measured when the answer rule was introduced: every duplicate found, no
// template or unrelated pair rejected.
func TestDedupPairs(t *testing.T) {
	var tp, fp, fn, tn int
	for i, p := range dedupPairs {
		d := NewDedup(0)
		d.Add("qa-1", p.q1, DedupKey{Answer: p.a1})
		_, j, got := d.Check(p.q2, DedupKey{Answer: p.a2})
		switch {
		case got && p.dup:
			tp++
		case got && !p.dup:
			fp++
			t.Logf("pair %d: false duplicate (jaccard %.2f): %q / %q", i, j, p.q1, p.q2)
		case !got && p.dup:
			fn++
			t.Logf("pair %d: missed duplicate (jaccard %.2f): %q / %q", i, Jaccard(p.q1, p.q2), p.q1, p.q2)
		default:
			tn++
		}
	}
	// The gate before answers and names counted, for comparison.
	var oldTP, oldFP int
	for _, p := range dedupPairs {
		if Jaccard(p.q1, p.q2) >= DefaultDedupThreshold {
			if p.dup {
				oldTP++
			} else {
				oldFP++
			}
		}
	}
	t.Logf("text alone: tp %d fp %d; precision %.3f recall %.3f", oldTP, oldFP,
		float64(oldTP)/float64(max(oldTP+oldFP, 1)), float64(oldTP)/float64(tp+fn))
	precision := float64(tp) / float64(max(tp+fp, 1))
	recall := float64(tp) / float64(max(tp+fn, 1))
	t.Logf("%d pairs: tp %d fp %d fn %d tn %d; precision %.3f recall %.3f", len(dedupPairs), tp, fp, fn, tn, precision, recall)
	if len(dedupPairs) < 40 {
		t.Fatalf("only %d pairs", len(dedupPairs))
	}
	if precision < 0.95 || recall < 0.9 {
		t.Fatalf("precision %.3f recall %.3f, want ≥ 0.95 and ≥ 0.9", precision, recall)
	}
}

// TestDedup2WikiUnedited: the 500 2Wiki questions are 500 distinct
// questions, many of one template; fed to the gate as they are, with their
// answers, none of them should be rejected.
func TestDedup2WikiUnedited(t *testing.T) {
	f, err := os.Open(filepath.Join(shareddata.Dir(t, "qa"), "2wiki_500.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	withAnswer, textOnly := NewDedup(0), minhash.New(DefaultDedupThreshold)
	var n, rejected, rejectedTextOnly int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct{ Question, Answer string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("q%d", n)
		n++
		if dup, j, ok := withAnswer.CheckAdd(id, r.Question, DedupKey{Answer: r.Answer}); ok {
			rejected++
			t.Logf("%s rejected as duplicate of %s (jaccard %.2f): %q", id, dup, j, r.Question)
		}
		// The gate before answers and names counted: text alone decides.
		if _, _, ok := textOnly.CheckAdd(id, r.Question); ok {
			rejectedTextOnly++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("2wiki_500: %d questions, %d rejected by text alone, %d with the answer rule", n, rejectedTextOnly, rejected)
	if n != 500 || rejected > 1 {
		t.Fatalf("%d questions, %d rejected; want 500 and at most 1", n, rejected)
	}
}
