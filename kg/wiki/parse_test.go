package wiki

import (
	"reflect"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/kg"
)

var testSite = SiteInfo{
	DBName: "testwiki",
	Base:   "https://xx.wikipedia.org/wiki/Main_Page",
	Lang:   "xx",
	Namespaces: map[int]string{
		0: "", 6: "Fael", 10: "Nhwɛdo", 14: "Nkyekyεmu", 4: "Wikipedia",
	},
}

func parseText(text string) (kg.Doc, []kg.RawLink) {
	return Parse(testSite, Page{ID: 7, Title: "Sample", Text: text})
}

func TestCleanText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Just text.", "Just text."},
		{"nested templates", "A {{foo|{{bar|x}}|y={{baz}}}} B.", "A B."},
		{"multiline template", "{{Infobox person\n| name = {{nowrap|X}}\n| spouse = [[Y]]\n}}\n'''Foo''' is a [[bar]].", "Foo is a bar."},
		{"parameter braces", "A {{foo|{{{1|}}}}} B.", "A B."},
		{"lone brace inside template", "A {{quote|x { y}} B.", "A x { y B."},
		{"unclosed template", "A {{foo B.", "A foo B."},
		{"ref with template", "Paris is big.<ref>{{cite web|url=http://x|title=Y}}</ref> It is old.", "Paris is big. It is old."},
		{"self-closing ref", `It is old.<ref name="a" /> Yes.`, "It is old. Yes."},
		{"ref with attributes", `A<ref name=x group="n">see [[Z]]</ref>.`, "A."},
		{"references list", "Text.\n<references>\n<ref name=a>x</ref>\n</references>", "Text."},
		{"file caption with links", "[[File:Foo.jpg|thumb|A [[caption]] with {{tpl}} and [[link|text]]]] Text [[here]].", "Text here."},
		{"image alias", "[[Image:Foo.png|left|200px]]Body.", "Body."},
		{"localised file", "[[Fael:Foo.jpg|thumb|x]]Body.", "Body."},
		{"multiline file caption", "[[File:F.jpg|thumb|Line {{a\n|b}} [[c]]\nmore]]\nBody.", "Body."},
		{"link trail", "[[apple]]s and [[Banana|ban]]anas", "apples and bananas"},
		{"comment across lines", "A<!-- x\ny -->B<!-- unclosed\nzzz", "AB"},
		{"table", "Before.\n{| class=wikitable\n|-\n| [[a]] || b\n|}\nAfter.", "Before.\n\nAfter."},
		{"nested table", "Before.\n{|\n|\n{|\n| inner\n|}\n| outer\n|}\nAfter.", "Before.\n\nAfter."},
		{"indented table", "Before.\n:{|\n| x\n|}\nAfter.", "Before.\n\nAfter."},
		{"table closing inside template", "A.\n{|\n| {{t\n|}}\n| z\n|}\nB.", "A.\n\nB."},
		{"fragment link", "See [[Paris#History|history of Paris]].", "See history of Paris."},
		{"fragment only", "See [[#History]].", "See History."},
		{"category", "Text.\n[[Category:Foo|sort]]\n[[category:bar baz]]", "Text."},
		{"interlanguage", "Text.[[fr:Paris]][[zh-min-nan:Paris]]", "Text."},
		{"colon interlanguage", "[[:fr:Paris|Paris in French]]", "Paris in French"},
		{"interwiki", "a [[wikt:word|word]] b", "a word b"},
		{"other namespace", "a [[Wikipedia:Foo|bar]] b", "a bar b"},
		{"category link shown", "See [[:Category:Foo]].", "See Category:Foo."},
		{"external links", "[http://x.com label here] and [http://y.com] and [//z.org z]", "label here and and z"},
		{"external link with wikilink", `[http://x "T" (at [[UC Berkeley|UCB]], 1962)] ok`, `"T" (at UCB, 1962) ok`},
		{"bare bracket", "a [b] c", "a [b] c"},
		{"magic words", "__TOC__Text __NOTOC__ here.", "Text here."},
		{"gallery", "A.\n<gallery>\nFile:a.jpg|[[cap]]\n</gallery>\nB.", "A.\n\nB."},
		{"html tags", `<b>bold</b> <span style="x">in</span> m<sup>2</sup>`, "bold in m2"},
		{"br", "a<br/>b<br>c", "a\nb\nc"},
		{"not a tag", "a < b and c<d", "a < b and c<d"},
		{"quotes", "'''''both''''' '''b''' ''i'' don't", "both b i don't"},
		{"headings", "Intro.\n== H ==\ntext\n=== H3 ===\nmore", "Intro.\n## H\ntext\n### H3\nmore"},
		{"heading with link", "== [[Foo]] history ==\nx", "## Foo history\nx"},
		{"lists", "* a\n* b\n# c\n## d\n: e\n; f", "- a\n- b\n1. c\n1. d\ne\nf"},
		{"empty section dropped", "Text.\n\n== References ==\n{{reflist}}\n\n== External links ==\n* {{official|x}}", "Text."},
		{"empty subsection keeps parent with text", "A.\n== H ==\n=== Empty ===\n{{x}}\n=== Full ===\nB.", "A.\n## H\n\n### Full\nB."},
		{"entities", "A&nbsp;B &amp; C &mdash; D &bogus; E", "A B & C — D &bogus; E"},
		{"nowiki", "<nowiki>[[not a link]]</nowiki> x", "[[not a link]] x"},
		{"pre", "<pre>{{x}} y</pre>", "{{x}} y"},
		{"pipe trick", "[[Paris, Texas|]] and [[Mercury (planet)|]]", "Paris and Mercury"},
		{"convert", "It is {{convert|5|km|mi}} long and {{convert|2|to|3|m}} wide.", "It is 5 km long and 2 to 3 m wide."},
		{"lang template", "{{lang|fr|le texte}} and {{nowrap|kept}}", "le texte and kept"},
		{"birth date", "born {{birth date|1950|5|17}}", "born May 17, 1950"},
		{"parenthesis leftovers", "'''Foo''' ({{IPAc-en|x}}; born 1950) is. Bar ({{x}}) too.", "Foo (born 1950) is. Bar too."},
		{"separators before a closing parenthesis", "Achilles ({{lang|grc|Ἀχιλλεύς}}, ''Akhilleus'', {{IPA-el|axilɛ́ws}}) was. Albania ({{lang|sq|Shqipëri}}; {{IPA|x}}) is.", "Achilles (Ἀχιλλεύς, Akhilleus) was. Albania (Shqipëri) is."},
		{"space before punctuation", "Paris {{citation needed}}. Next", "Paris. Next"},
		{"paragraph lines join", "Line one\ncontinues here.\n\nNew para.", "Line one continues here.\n\nNew para."},
		{"rule", "A.\n----\nB.", "A.\n\nB."},
		{"rows of a template table", "A.\n{{awards table}}\n|-\n|2005\n! Best\n|{{Won}}\n{{end}}\nB.", "A.\n\nB."},
		{"bar lines without rows are text", "A.\n|i|: front\n\nB.", "A.\n|i|: front\n\nB."},
		{"stray table end", "A.\n|}\nB.", "A.\n\nB."},
		{"invisible characters", "a\u00a0b\u200ec\u00add", "a bcd"},
		{"unclosed link", "a [[b c\nd", "a b c d"},
		{"stray closers", "a }} b ]] c", "a b c"},
		{"math dropped", "Area <math>\\pi r^2</math> here.", "Area here."},
		{"literal wiki text inside template args is dropped", "{{cite|[[a]]}}", ""},
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

func TestParseLinks(t *testing.T) {
	type link struct{ Target, Anchor, Sentence string }
	tests := []struct {
		name string
		in   string
		want []link
	}{
		{"simple", "Foo is a [[bar]]. It is [[Baz|big]].",
			[]link{{"Bar", "bar", "Foo is a bar."}, {"Baz", "big", "It is big."}}},
		{"trail", "Some [[apple]]s here.", []link{{"Apple", "apples", "Some apples here."}}},
		{"fragment and case", "See [[paris_france#History|the city]].", []link{{"Paris france", "the city", "See the city."}}},
		{"duplicates kept out", "A [[b]] and [[b]] again.", []link{{"B", "b", "A b and b again."}}},
		{"same target other sentence", "A [[b]]. Then [[b]].", []link{{"B", "b", "A b."}, {"B", "b", "Then b."}}},
		{"no links from removed parts", "{{t|[[a]]}}<ref>[[b]]</ref>[[File:x.jpg|[[c]]]]\n{|\n|[[d]]\n|}\n[[Category:E]][[fr:F]][[Wikipedia:G]] Text.", nil},
		{"abbreviation inside sentence", "Dr. Smith met [[John Doe|J. Doe]] in St. Louis. He left.",
			[]link{{"John Doe", "J. Doe", "Dr. Smith met J. Doe in St. Louis."}}},
		{"initials", "J. R. R. Tolkien wrote [[The Hobbit]]. It sold.",
			[]link{{"The Hobbit", "The Hobbit", "J. R. R. Tolkien wrote The Hobbit."}}},
		{"abbreviation in anchor", "He lived in [[Washington, D.C.|Washington D.C.]] today. Then he left.",
			[]link{{"Washington, D.C.", "Washington D.C.", "He lived in Washington D.C. today."}}},
		{"anchor holding a sentence end", "A [[X|one. Two]] three.", []link{{"X", "one. Two", "A one. Two three."}}},
		{"heading and list", "== [[Foo]] history ==\n* [[Bar]] item\n# [[Baz]]",
			[]link{{"Foo", "Foo", "Foo history"}, {"Bar", "Bar", "Bar item"}, {"Baz", "Baz", "Baz"}}},
		{"question and exclamation", "Why [[a]]? Because [[b]]! Yes.",
			[]link{{"A", "a", "Why a?"}, {"B", "b", "Because b!"}}},
		{"quote closes sentence", `He said "go [[home]]." Then left.`, []link{{"Home", "home", `He said "go home."`}}},
		{"lower case after period", "Approx. [[ten]] e.g. [[nine]] here.", []link{{"Ten", "ten", "Approx. ten e.g. nine here."}, {"Nine", "nine", "Approx. ten e.g. nine here."}}},
		{"link in template text", "It is {{nowrap|[[Far]] away}}.", []link{{"Far", "Far", "It is Far away."}}},
		{"link in external label", "[http://x the [[Moon]] page]", []link{{"Moon", "Moon", "the Moon page"}}},
		{"interwiki has no link", "[[wikt:go|go]] [[:fr:X|x]]", nil},
		{"bold anchor", "[[Foo|'''Foo''']] bar.", []link{{"Foo", "Foo", "Foo bar."}}},
		{"anchor whitespace trimmed", "a [[Foo| foo ]] b.", []link{{"Foo", "foo", "a foo b."}}},
		{"interlanguage link template", "By {{ill|jean Dupont|fr|lt=Dupont}} here.", []link{{"Jean Dupont", "Dupont", "By Dupont here."}}},
		{"no links from infobox values", "{{Infobox x|a=[[B]]}}A [[c]].", []link{{"C", "c", "A c."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, links := parseText(tt.in)
			var got []link
			for _, l := range links {
				if l.Src != d.ID {
					t.Errorf("src %q, want %q", l.Src, d.ID)
				}
				if !strings.Contains(l.Sentence, l.Anchor) || !strings.Contains(d.Text, l.Sentence) {
					t.Errorf("link %+v not in its sentence or text %q", l, d.Text)
				}
				got = append(got, link{l.Target, l.Anchor, l.Sentence})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("links of %q\n got %q\nwant %q\ntext %q", tt.in, got, tt.want, d.Text)
			}
		})
	}
}

func TestParseDoc(t *testing.T) {
	tests := []struct {
		name     string
		site     SiteInfo
		page     Page
		wantID   string
		wantURL  string
		wantKind string
		wantCats []string
	}{
		{"article", testSite, Page{ID: 12, Title: "Foo bar", Text: "x [[Category:A]] [[Nkyekyεmu:B b|key]] [[Category:A]]"},
			"testwiki:12", "https://xx.wikipedia.org/wiki/Foo_bar", kg.KindArticle, []string{"A", "B b"}},
		{"disambiguation template", testSite, Page{ID: 1, Title: "Mercury", Text: "'''Mercury''' may be:\n* [[Mercury (planet)]]\n{{Disambiguation|geo}}"},
			"testwiki:1", "https://xx.wikipedia.org/wiki/Mercury", kg.KindDisambiguation, nil},
		{"dab", testSite, Page{ID: 2, Title: "X", Text: "{{dab}}"}, "testwiki:2", "https://xx.wikipedia.org/wiki/X", kg.KindDisambiguation, nil},
		{"hndis lower", testSite, Page{ID: 3, Title: "Y", Text: "{{ hndis |name}}"}, "testwiki:3", "https://xx.wikipedia.org/wiki/Y", kg.KindDisambiguation, nil},
		{"geodis localised ns", testSite, Page{ID: 4, Title: "Z", Text: "{{Nhwɛdo:Geodis}}"}, "testwiki:4", "https://xx.wikipedia.org/wiki/Z", kg.KindDisambiguation, nil},
		{"magic word", testSite, Page{ID: 5, Title: "W", Text: "__DISAMBIG__"}, "testwiki:5", "https://xx.wikipedia.org/wiki/W", kg.KindDisambiguation, nil},
		{"title suffix", testSite, Page{ID: 6, Title: "V (disambiguation)"}, "testwiki:6", "https://xx.wikipedia.org/wiki/V_(disambiguation)", kg.KindDisambiguation, nil},
		{"disambiguation needed is an article", testSite, Page{ID: 7, Title: "U", Text: "a [[b]]{{disambiguation needed}}"}, "testwiki:7", "https://xx.wikipedia.org/wiki/U", kg.KindArticle, nil},
		{"list", testSite, Page{ID: 8, Title: "List of rivers"}, "testwiki:8", "https://xx.wikipedia.org/wiki/List_of_rivers", kg.KindList, nil},
		{"lists", testSite, Page{ID: 9, Title: "Lists of rivers"}, "testwiki:9", "https://xx.wikipedia.org/wiki/Lists_of_rivers", kg.KindList, nil},
		{"disambiguation by kind", testSite, Page{ID: 13, Title: "T", Text: "{{Airport disambiguation}}"}, "testwiki:13", "https://xx.wikipedia.org/wiki/T", kg.KindDisambiguation, nil},
		{"set index article", testSite, Page{ID: 14, Title: "S", Text: "* [[S (ship)]]\n{{Set index article}}"}, "testwiki:14", "https://xx.wikipedia.org/wiki/S", kg.KindList, nil},
		{"surname", testSite, Page{ID: 15, Title: "Smith", Text: "{{surname}}"}, "testwiki:15", "https://xx.wikipedia.org/wiki/Smith", kg.KindList, nil},
		{"list category", testSite, Page{ID: 16, Title: "Rivers", Text: "[[Category:Lists of rivers]]"}, "testwiki:16", "https://xx.wikipedia.org/wiki/Rivers", kg.KindList, []string{"Lists of rivers"}},
		{"outline", testSite, Page{ID: 17, Title: "Outline of Angola"}, "testwiki:17", "https://xx.wikipedia.org/wiki/Outline_of_Angola", kg.KindList, nil},
		{"index of articles", testSite, Page{ID: 18, Title: "Index of Angola-related articles"}, "testwiki:18", "https://xx.wikipedia.org/wiki/Index_of_Angola-related_articles", kg.KindList, nil},
		{"an index is an article", testSite, Page{ID: 19, Title: "Index of Economic Freedom"}, "testwiki:19", "https://xx.wikipedia.org/wiki/Index_of_Economic_Freedom", kg.KindArticle, nil},
		{"disambiguation beats list", testSite, Page{ID: 20, Title: "List of X (disambiguation)"}, "testwiki:20", "https://xx.wikipedia.org/wiki/List_of_X_(disambiguation)", kg.KindDisambiguation, nil},
		{"no base", SiteInfo{DBName: "dewiki", Lang: "de"}, Page{ID: 10, Title: "Größe?"}, "dewiki:10", "https://de.wikipedia.org/wiki/Größe%3F", kg.KindArticle, nil},
		{"percent in title", testSite, Page{ID: 11, Title: "100% (song)"}, "testwiki:11", "https://xx.wikipedia.org/wiki/100%25_(song)", kg.KindArticle, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := Parse(tt.site, tt.page)
			if d.ID != tt.wantID || d.URL != tt.wantURL || d.Kind != tt.wantKind || !reflect.DeepEqual(d.Categories, tt.wantCats) {
				t.Errorf("got id %q url %q kind %q cats %q\nwant %q %q %q %q", d.ID, d.URL, d.Kind, d.Categories,
					tt.wantID, tt.wantURL, tt.wantKind, tt.wantCats)
			}
			if d.Title != tt.page.Title || d.Source != tt.site.DBName || d.Lang != tt.site.Lang {
				t.Errorf("title/source/lang = %q %q %q", d.Title, d.Source, d.Lang)
			}
		})
	}
}

func TestNormalizeTitle(t *testing.T) {
	tests := []struct{ in, want string }{
		{"foo", "Foo"},
		{"  foo_bar   baz  ", "Foo bar baz"},
		{"Paris#History", "Paris"},
		{"#History", ""},
		{"éclair", "Éclair"},
		{"ωmega", "Ωmega"},
		{"ß", "ß"},
		{"AT&amp;T", "AT&T"},
		{"Caf%C3%A9", "Café"},
		{"100%", "100%"},
		{":foo", "Foo"},
		{"a\u200eb", "Ab"},
		{"new\u00a0york", "New york"},
		{"iPhone", "IPhone"},
	}
	for _, tt := range tests {
		if got := NormalizeTitle(tt.in); got != tt.want {
			t.Errorf("NormalizeTitle(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedirectOf(t *testing.T) {
	tests := []struct {
		name string
		page Page
		want kg.Redirect
		ok   bool
	}{
		{"article redirect", Page{Title: "USA", Redirect: "united_States#History"}, kg.Redirect{From: "USA", To: "United States"}, true},
		{"not a redirect", Page{Title: "USA"}, kg.Redirect{}, false},
		{"other namespace", Page{NS: 10, Title: "Template:A", Redirect: "Template:B"}, kg.Redirect{}, false},
		{"self", Page{Title: "A", Redirect: "a"}, kg.Redirect{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RedirectOf(tt.page)
			if got != tt.want || ok != tt.ok {
				t.Errorf("RedirectOf = %+v %v, want %+v %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
