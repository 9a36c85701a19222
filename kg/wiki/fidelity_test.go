package wiki

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/kg"
)

// TestTemplateSet covers the templates rendered to text (templates.go),
// each in a sentence so that the spacing around it is checked too.
func TestTemplateSet(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"birth date", "Born {{birth date|1867|11|7}}.", "Born November 7, 1867."},
		{"birth date df", "Born {{Birth date|df=yes|1867|11|7}}.", "Born 7 November 1867."},
		{"birth date mf", "{{Use dmy dates}}Born {{birth date|1867|11|7|mf=y}}.", "Born November 7, 1867."},
		{"page declares dmy", "{{Use dmy dates|date=May 2012}}Born {{birth date|1867|11|7}}.", "Born 7 November 1867."},
		{"leading zeros", "On {{start date|1990|05|03}}.", "On May 3, 1990."},
		{"month only", "In {{start date|1990|5}}.", "In May 1990."},
		{"year only", "In {{start date|1990}}.", "In 1990."},
		{"month name", "On {{start date|1990|May|3}}.", "On May 3, 1990."},
		{"birth date and age has no age", "Born {{birth date and age|1950|5|17}}.", "Born May 17, 1950."},
		{"death date and age", "Died {{death date and age|1934|7|4|1867|11|7|df=y}}.", "Died 4 July 1934 (aged 66)."},
		{"death on the birthday", "Died {{death date and age|1934|11|7|1867|11|7}}.", "Died November 7, 1934 (aged 67)."},
		{"death year and age", "Died {{death year and age|1934|1867}}.", "Died 1934 (aged 66–67)."},
		{"free-form date", "Born {{birth-date|7 November 1867}}.", "Born 7 November 1867."},
		{"film date", "Released {{film date|df=yes|1997|1|17|[[Spain]]}}.", "Released 17 January 1997."},
		{"convert", "A {{convert|1094|km|mi}} road.", "A 1094 km road."},
		{"convert range", "A {{cvt|5|-|10|kg}} load.", "A 5–10 kg load."},
		{"lang", "Named {{lang|fr|Jeanne d'Arc}}.", "Named Jeanne d'Arc."},
		{"lang-xx", "Named {{lang-fr|Jeanne d'Arc}}.", "Named Jeanne d'Arc."},
		{"native name", "Called {{native name|fr|La Défense}}.", "Called La Défense."},
		{"nihongo", "In {{nihongo|Tokyo|東京|Tōkyō}}.", "In Tokyo."},
		{"nowrap", "A {{nowrap|5 km}} walk.", "A 5 km walk."},
		{"nobr", "A {{nobr|5 km}} walk.", "A 5 km walk."},
		{"small", "A {{small|quiet}} word.", "A quiet word."},
		{"abbr", "The {{abbr|UN|United Nations}} met.", "The UN met."},
		{"IPA dropped", "Joan ({{IPA-fr|ʒan daʁk}}) was.", "Joan was."},
		{"IPAc dropped", "Joan ({{IPAc-en|dʒ|oʊ|n}}; born 1412) was.", "Joan (born 1412) was."},
		{"circa", "Built {{circa|1500}}.", "Built c. 1500."},
		{"as of", "{{as of|2020}}, it grew.", "As of 2020, it grew."},
		{"as of full date", "{{As of|2020|5|1}}, it grew.", "As of 1 May 2020, it grew."},
		{"as of lower case", "It grew {{as of|2020|5|lc=y}}.", "It grew as of May 2020."},
		{"frac", "A {{frac|1|2}} share.", "A 1/2 share."},
		{"mixed frac", "A {{frac|2|1|2}} share.", "A 2 1/2 share."},
		{"ill", "By {{ill|Jean Dupont|fr}}.", "By Jean Dupont."},
		{"ill with lt", "By {{ill|Jean Dupont|fr|lt=Dupont}}.", "By Dupont."},
		{"sic", "A {{sic|mispeled}} word.", "A mispeled word."},
		{"sic split", "An {{sic|Ex|ample}}.", "An Example."},
		{"hlist", "Fields: {{hlist|[[Physics]]|Chemistry}}.", "Fields: Physics · Chemistry."},
		{"ubl", "Fields:{{ubl|Physics|Chemistry}}", "Fields:\nPhysics\nChemistry"},
		{"plainlist", "Fields:{{plainlist|\n* Physics\n* Chemistry\n}}", "Fields:\n- Physics\n- Chemistry"},
		{"val", "It weighs {{val|1.5|u=kg}}.", "It weighs 1.5 kg."},
		{"chem", "Water is {{chem|H|2|O}}.", "Water is H2O."},
		{"marriage", "Wed {{marriage|Mary Todd|1842|1865}}.", "Wed Mary Todd (m. 1842–1865)."},
		{"marriage divorced", "Wed {{marriage|A|1900|1910|end=div}}.", "Wed A (m. 1900; div. 1910)."},
		{"url", "See {{URL|https://example.org/}}.", "See example.org."},
		{"angbr", "The letter {{angbr|a}}.", "The letter ⟨a⟩."},
		{"US$", "It cost {{US$|5}}.", "It cost US$5."},
		{"possessive", "Smith{{'s}} book.", "Smith's book."},
		{"dashes", "1990{{ndash}}2000{{snd}}later", "1990–2000 – later"},
		{"unknown template dropped", "A {{foo|bar|baz=1}} B.", "A B."},
		{"citation needed dropped", "A fact.{{citation needed|date=May 2020}} B.", "A fact. B."},
		{"infobox dropped from text", "{{Infobox person|name=A}}'''A''' is.", "A is."},
		{"magic word template dropped", "{{DEFAULTSORT:Curie, Marie}}Text.", "Text."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := parseText(tt.in)
			if d.Text != tt.want {
				t.Errorf("clean(%q)\n got %q\nwant %q", tt.in, d.Text, tt.want)
			}
		})
	}
}

// TestInfoboxFacts parses hand-made infoboxes.
func TestInfoboxFacts(t *testing.T) {
	// F is a fact as a pair, to keep the table short; kg.Fact has keyed
	// fields only.
	type F [2]string
	curie := `{{Infobox scientist
| name        = Marie Curie
| image       = [[File:Marie Curie c1920.jpg|200px]]
| birth_name  = Maria Salomea Skłodowska
| birth_date  = {{birth date|1867|11|7|df=y}}
| birth_place = [[Warsaw]], [[Congress Poland|Kingdom of Poland]]<ref>{{cite web|url=http://x|title=a|b}}</ref>
| death_date  = {{death date and age|1934|7|4|1867|11|7|df=y}}
| spouse      = [[Pierre Curie]] (m. 1895)<br />
| children    = [[Irène Joliot-Curie|Irène]]<br/>[[Ève Curie|Ève]]
| awards      = {{plainlist|
* [[Nobel Prize in Physics]] (1903)
* [[Nobel Prize in Chemistry]] (1911)
}}
| Known for   = Radioactivity <!-- a comment -->
| known_for   = a duplicate key
| signature   =
| stray pipe
| residence   = {{nowrap|Paris, France}} | Warsaw
| fields      = {{hlist|[[Physics]]|[[Chemistry]]}}
| notes       = A long note
over two lines
}}
'''Marie Curie''' was a physicist.`
	tests := []struct {
		name string
		in   string
		want []F
	}{
		{"person", curie, []F{
			{"name", "Marie Curie"},
			{"birth_name", "Maria Salomea Skłodowska"},
			{"birth_date", "7 November 1867"},
			{"birth_place", "Warsaw, Kingdom of Poland"},
			{"death_date", "4 July 1934 (aged 66)"},
			{"spouse", "Pierre Curie (m. 1895)"},
			{"children", "Irène; Ève"},
			{"awards", "Nobel Prize in Physics (1903); Nobel Prize in Chemistry (1911)"},
			{"known_for", "Radioactivity"},
			{"residence", "Paris, France"},
			{"fields", "Physics; Chemistry"},
			{"notes", "A long note over two lines"},
		}},
		{"key normalisation", "{{Infobox x| Birth  Date = a |birth_date=b| _odd_ key_ = c|ÉTAT=d}}",
			[]F{{"birth_date", "a"}, {"odd_key", "c"}, {"état", "d"}}},
		{"no facts without a box", "{{Navbox|name=X|title=Y}}{{cite web|title=T|url=http://x}} Text.", nil},
		{"empty and punctuation values", "{{Infobox x|a=|b=–|c= ? |d=<ref>only a ref</ref>|e=x}}", []F{{"e", "x"}}},
		{"nested module", "{{Infobox person|name=A|module={{Infobox officeholder|embed=yes|office=[[Mayor]]|name=B}}|spouse=C}}",
			[]F{{"name", "A"}, {"embed", "yes"}, {"office", "Mayor"}, {"spouse", "C"}}},
		{"nested box holding the outer key", "{{Infobox a|x={{Infobox b|x=inner|y=2}} outer}}", []F{{"x", "outer"}, {"y", "2"}}},
		{"two boxes, first key wins", "{{Infobox a|k=1|l=2}}\n{{Infobox b|k=3|m=4}}", []F{{"k", "1"}, {"l", "2"}, {"m", "4"}}},
		{"taxobox", "{{Taxobox\n| regnum = [[Animal]]ia\n| genus = ''[[Proteles]]''\n| binomial = ''Proteles cristata''\n}}",
			[]F{{"regnum", "Animalia"}, {"genus", "Proteles"}, {"binomial", "Proteles cristata"}}},
		{"speciesbox with namespace", "{{Template:Speciesbox|genus=Orycteropus|species=afer}}",
			[]F{{"genus", "Orycteropus"}, {"species", "afer"}}},
		{"automatic taxobox", "{{automatic taxobox|taxon=Amphibia|authority=Gray 1825}}",
			[]F{{"taxon", "Amphibia"}, {"authority", "Gray 1825"}}},
		{"generic infobox", "{{Infobox|title=X|label1=Born|data1=1900|label2=Died|data2=|data3=no label|label4=[[Spouse]]|data4=[[Y]]}}",
			[]F{{"born", "1900"}, {"spouse", "Y"}}},
		{"pipe inside a ref", "{{Infobox x|a=1<ref>see [http://x a|b]</ref>|b=2}}", []F{{"a", "1"}, {"b", "2"}}},
		{"pipe inside nowiki", "{{Infobox x|a=<nowiki>x|y</nowiki>|b=2}}", []F{{"a", "x|y"}, {"b", "2"}}},
		{"box inside a ref is no fact", "Text.<ref>{{Infobox x|a=1}}</ref>", nil},
		{"entities and breaks", "{{Infobox x|a=1&nbsp;km<br>2&nbsp;km|b=Petersen House,<br />Washington|c=3 months<br/>(1832)}}",
			[]F{{"a", "1 km; 2 km"}, {"b", "Petersen House, Washington"}, {"c", "3 months (1832)"}}},
		{"list lines", "{{Infobox x|a=\n* one\n* two\n# three}}", []F{{"a", "one; two; three"}}},
		{"external link", "{{Infobox x|website=[http://example.org Example site]}}", []F{{"website", "Example site"}}},
		{"marriage with reason", "{{Infobox x|spouse={{marriage|[[Mary Todd Lincoln|Mary Todd]]|November 4, 1842|1865|reason=his death}}}}",
			[]F{{"spouse", "Mary Todd (m. November 4, 1842; his death 1865)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := parseText(tt.in)
			var got []F
			for _, f := range d.Facts {
				got = append(got, F{f.Key, f.Value})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("facts of %q\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
	// The box leaves no text and its links make no raw links.
	d, links := parseText(curie)
	if d.Text != "Marie Curie was a physicist." || links != nil {
		t.Errorf("text %q, links %+v; want the sentence alone and no links", d.Text, links)
	}
}

// eachArticle parses every main-namespace article of a dump.
func eachArticle(t *testing.T, path string, fn func(p Page, parse func(Page) (kg.Doc, []kg.RawLink))) {
	t.Helper()
	ctx := context.Background()
	r, err := OpenContext(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	parser := NewParser(r.SiteInfo())
	for {
		p, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if p.NS == 0 && p.Redirect == "" {
			fn(p, parser.Parse)
		}
	}
}

var (
	// literalElem is markup shown as written: what it holds may be "{{".
	literalElem = regexp.MustCompile(`(?is)<(nowiki|pre|syntaxhighlight|source|code)\b[^>]*>.*?</(nowiki|pre|syntaxhighlight|source|code)\s*>`)
	infoboxCall = regexp.MustCompile(`(?i)\{\{\s*(template:\s*)?(infobox|[a-z ]*taxobox|speciesbox)`)
	factKeyForm = regexp.MustCompile(`^[^\sA-Z_]+(_[^\sA-Z_]+)*$`)
)

// TestSharedDumpResidue: with the content of <nowiki> and the like taken
// out of the source, no article of any shared dump keeps template, link or
// ref markup in its text or its facts; and every fact is well formed.
func TestSharedDumpResidue(t *testing.T) {
	residue := []string{"{{", "}}", "[[", "]]", "<ref", "</ref", "<!--"}
	for _, path := range sharedDumps(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			articles, facts := 0, 0
			eachArticle(t, path, func(p Page, parse func(Page) (kg.Doc, []kg.RawLink)) {
				articles++
				p.Text = literalElem.ReplaceAllString(p.Text, "")
				d, _ := parse(p)
				check := func(where, s string) {
					for _, r := range residue {
						if i := strings.Index(s, r); i >= 0 {
							t.Errorf("%q %s: %q left in …%s…", p.Title, where, r, s[max(0, i-60):min(len(s), i+60)])
						}
					}
				}
				check("text", d.Text)
				seen := map[string]bool{}
				for _, f := range d.Facts {
					facts++
					where := fmt.Sprintf("fact %q", f.Key)
					check(where, f.Value)
					switch {
					case !factKeyForm.MatchString(f.Key):
						t.Errorf("%q: %s: key not normalised", p.Title, where)
					case seen[f.Key]:
						t.Errorf("%q: %s: key repeated", p.Title, where)
					case strings.TrimSpace(f.Value) != f.Value || f.Value == "" || strings.Contains(f.Value, "\n"):
						t.Errorf("%q: %s: value %q not one trimmed line", p.Title, where, f.Value)
					}
					seen[f.Key] = true
				}
			})
			t.Logf("%d articles, %d facts", articles, facts)
		})
	}
}

// TestSharedDumpFacts checks facts of real pages of the 2016 English
// excerpt (people, a place, a mission, a film, a taxobox and a
// speciesbox), and that every page calling an infobox gets facts.
func TestSharedDumpFacts(t *testing.T) {
	path := sharedFile(t, enwiki2016)
	want := map[string][]kg.Fact{
		"Albert Einstein": {
			{Key: "birth_date", Value: "14 March 1879"},
			{Key: "birth_place", Value: "Ulm, Kingdom of Württemberg, German Empire"},
			{Key: "death_date", Value: "18 April 1955 (aged 76)"},
			{Key: "spouse", Value: "Mileva Marić (1903–1919); Elsa Löwenthal (1919–1936)"},
			{Key: "doctoral_advisor", Value: "Alfred Kleiner"},
		},
		"Abraham Lincoln": {
			{Key: "office", Value: "President of the United States"},
			{Key: "birth_date", Value: "February 12, 1809"},
			{Key: "death_date", Value: "April 15, 1865 (aged 56)"},
			{Key: "death_place", Value: "Petersen House, Washington, D.C., U.S."},
			{Key: "spouse", Value: "Mary Todd (m. November 4, 1842; his death 1865)"},
		},
		"Apollo 11": {
			{Key: "operator", Value: "NASA"},
			{Key: "launch_date", Value: "July 16, 1969, 13:32:00 UTC"},
			{Key: "crew_members", Value: `Neil A. Armstrong; Michael Collins; Edwin E. "Buzz" Aldrin, Jr.`},
		},
		"Actrius":  {{Key: "director", Value: "Ventura Pons"}, {Key: "released", Value: "17 January 1997"}},
		"Alabama":  {{Key: "capital", Value: "Montgomery"}},
		"Aardwolf": {{Key: "familia", Value: "Hyaenidae"}, {Key: "genus", Value: "Proteles"}, {Key: "binomial", Value: "Proteles cristata"}},
		"Aardvark": {{Key: "genus", Value: "Orycteropus"}, {Key: "species", Value: "afer"}},
	}
	withBox, withFacts := 0, 0
	eachArticle(t, path, func(p Page, parse func(Page) (kg.Doc, []kg.RawLink)) {
		d, _ := parse(p)
		if len(d.Facts) > 0 {
			withFacts++
		}
		if infoboxCall.MatchString(stripComments(p.Text)) {
			withBox++
			if len(d.Facts) == 0 {
				t.Errorf("%q calls an infobox but has no facts", p.Title)
			}
		}
		w, ok := want[p.Title]
		if !ok {
			return
		}
		delete(want, p.Title)
		got := map[string]string{}
		for _, f := range d.Facts {
			got[f.Key] = f.Value
		}
		for _, f := range w {
			if got[f.Key] != f.Value {
				t.Errorf("%q: fact %q = %q, want %q", p.Title, f.Key, got[f.Key], f.Value)
			}
		}
	})
	for title := range want {
		t.Errorf("page %q not found", title)
	}
	t.Logf("%d articles call an infobox, %d have facts", withBox, withFacts)
}

// BenchmarkParseArticles parses the articles of the 2016 English excerpt,
// read into memory first: the cost of cleaning and fact extraction alone.
func BenchmarkParseArticles(b *testing.B) {
	path := sharedFile(b, enwiki2016)
	ctx := context.Background()
	r, err := OpenContext(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var pages []Page
	size := 0
	for {
		p, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		if p.NS == 0 && p.Redirect == "" {
			pages = append(pages, p)
			size += len(p.Text)
		}
	}
	parser := NewParser(r.SiteInfo())
	b.SetBytes(int64(size))
	b.ResetTimer()
	for b.Loop() {
		for _, p := range pages {
			parser.Parse(p)
		}
	}
}
