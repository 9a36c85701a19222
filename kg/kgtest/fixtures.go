package kgtest

import "github.com/miroverse/miroverse/kg"

// finishFixture is a corpus written in rounds, with what Finish must derive
// after each.
type finishFixture struct {
	name   string
	rounds []round
}

// finishFixtures are the corpora of the resolution rules. The wanted
// values are worked out by hand from the contract, not read off a backend.
func finishFixtures() []finishFixture {
	anchor := func(id string, names ...string) []kg.Alias { return aliases(id, "anchor", names...) }
	redirect := func(id string, names ...string) []kg.Alias { return aliases(id, "redirect", names...) }
	return []finishFixture{
		{
			// C links to titles reached in 0-4 redirect hops, through a loop,
			// to nothing, to a redirect shadowed by a document, and to itself.
			name: "redirects",
			rounds: []round{{
				records: records{
					docs: []kg.Doc{doc("w:1", "A", "Alpha text."), doc("w:2", "B", "Beta text."), doc("w:3", "C", "Gamma text.")},
					redirects: []kg.Redirect{
						{From: "X", To: "A"}, {From: "Y", To: "X"}, {From: "Z", To: "Y"}, {From: "W", To: "Z"},
						{From: "L1", To: "L2"}, {From: "L2", To: "L1"}, {From: "R", To: "Missing"}, {From: "B", To: "A"},
					},
					raw: []kg.RawLink{
						mention("w:3", "A", "A"), mention("w:3", "X", "x one"), mention("w:3", "Y", "y two"),
						mention("w:3", "Z", "z three"), mention("w:3", "W", "w four"), mention("w:3", "L1", "loop"),
						mention("w:3", "R", "dangling"), mention("w:3", "Missing", "missing"), mention("w:3", "B", "B"),
						mention("w:3", "C", "self"),
					},
				},
				want: derived{
					// W (four hops), L1 (a loop), R and Missing (no document)
					// stay unresolved; the self link is dropped, not unresolved.
					counts: kg.Counts{Docs: 3, Links: 5, Aliases: 6, RawLinks: 10, Unresolved: 4},
					edges:  []kg.Link{edge("w:3", "w:1", "A"), edge("w:3", "w:2", "B")},
					aliases: map[string][]kg.Alias{
						"w:1": append(redirect("w:1", "X", "Y", "Z"), anchor("w:1", "x one", "y two", "z three")...),
					},
					titles: map[string]string{
						"A": "w:1", "X": "w:1", "Y": "w:1", "Z": "w:1", "W": "", "L1": "", "L2": "", "R": "",
						"Missing": "", "B": "w:2", "b": "w:2", "x": "w:1", "c": "w:3", "Nothing": "",
					},
				},
			}},
		},
		{
			// Two wikis share titles: a link prefers its own wiki, then the
			// smallest ID (as strings: "enwiki:100" < "enwiki:20"); a
			// redirect alias goes to the smallest ID whatever the wiki.
			name: "wikis and duplicate titles",
			rounds: []round{{
				records: records{
					docs: []kg.Doc{
						doc("enwiki:20", "Paris", "Paris, France."), doc("enwiki:100", "Paris", "Paris again."),
						doc("frwiki:5", "Paris", "Paris, capitale."), doc("enwiki:3", "London", "London links Paris."),
						doc("frwiki:8", "Londres", "Londres et Paris."), doc("dewiki:1", "Berlin", "Berlin und Paris."),
					},
					raw: []kg.RawLink{
						mention("enwiki:3", "Paris", "Paris"), mention("frwiki:8", "Paris", "Paris"),
						mention("dewiki:1", "Paris", "Paris"), mention("frwiki:8", "Lutetia", "Lutèce"),
						mention("enwiki:20", "Paris", "itself"),
					},
					redirects: []kg.Redirect{{From: "Lutetia", To: "Paris"}},
				},
				want: derived{
					counts: kg.Counts{Docs: 6, Links: 5, Aliases: 3, RawLinks: 5},
					edges: []kg.Link{
						edge("dewiki:1", "enwiki:100", "Paris"), edge("enwiki:20", "enwiki:100", "itself"),
						edge("enwiki:3", "enwiki:100", "Paris"), edge("frwiki:8", "frwiki:5", "Lutèce"),
					},
					aliases: map[string][]kg.Alias{
						"enwiki:100": append(redirect("enwiki:100", "Lutetia"), anchor("enwiki:100", "itself")...),
						"frwiki:5":   anchor("frwiki:5", "Lutèce"),
					},
					titles: map[string]string{"Paris": "enwiki:100", "paris": "enwiki:100", "Lutetia": "enwiki:100"},
				},
			}},
		},
		{
			// Anchors equal to the title or empty make no alias; one anchor
			// from two sources is one alias; two targets resolving alike are
			// one link.
			name: "anchors and duplicate links",
			rounds: []round{{
				records: records{
					docs: []kg.Doc{doc("w:1", "Accra", "Accra text."), doc("w:2", "Ghana", "Ghana text."),
						doc("w:3", "Kumasi", "Kumasi text.")},
					raw: []kg.RawLink{
						mention("w:2", "Accra", "Accra"), mention("w:2", "Accra", ""), mention("w:2", "Accra", "the capital"),
						mention("w:3", "Accra", "the capital"), mention("w:3", "Capital of Ghana", "the capital"),
						{Src: "w:3", Target: "Accra", Anchor: "x", Sentence: "Same sentence."},
						{Src: "w:3", Target: "Capital of Ghana", Anchor: "x", Sentence: "Same sentence."},
					},
					redirects: []kg.Redirect{{From: "Capital of Ghana", To: "Accra"}},
				},
				want: derived{
					counts: kg.Counts{Docs: 3, Links: 5, Aliases: 3, RawLinks: 7},
					edges:  []kg.Link{edge("w:2", "w:1", ""), edge("w:3", "w:1", "the capital")},
					aliases: map[string][]kg.Alias{
						"w:1": append(redirect("w:1", "Capital of Ghana"), anchor("w:1", "the capital", "x")...),
					},
					titles: map[string]string{"Capital of Ghana": "w:1", "capital of Ghana": "w:1", "the capital": ""},
				},
			}},
		},
		{
			// A second round changes what resolved before: a redirect is
			// retargeted, a new document shadows a redirect, a new redirect
			// resolves a dangling link into a self link. Finish must drop
			// what no longer holds.
			name: "incremental",
			rounds: []round{
				{
					records: records{
						docs: []kg.Doc{doc("w:1", "A", "A text."), doc("w:2", "B", "B text."), doc("w:3", "C", "C text.")},
						raw: []kg.RawLink{mention("w:3", "R", "via r"), mention("w:3", "S", "via s"),
							mention("w:3", "T", "via t"), mention("w:1", "B", "bee")},
						redirects: []kg.Redirect{{From: "R", To: "A"}, {From: "S", To: "A"}},
					},
					want: derived{
						counts: kg.Counts{Docs: 3, Links: 3, Aliases: 5, RawLinks: 4, Unresolved: 1},
						edges:  []kg.Link{edge("w:1", "w:2", "bee"), edge("w:3", "w:1", "via r")},
						aliases: map[string][]kg.Alias{
							"w:1": append(redirect("w:1", "R", "S"), anchor("w:1", "via r", "via s")...),
							"w:2": anchor("w:2", "bee"),
						},
						titles: map[string]string{"R": "w:1", "S": "w:1", "T": ""},
					},
				},
				{
					records: records{
						docs:      []kg.Doc{doc("w:4", "S", "S is now an article.")},
						redirects: []kg.Redirect{{From: "R", To: "B"}, {From: "T", To: "C"}},
						raw:       []kg.RawLink{mention("w:4", "A", "a from s")},
					},
					want: derived{
						counts: kg.Counts{Docs: 4, Links: 4, Aliases: 6, RawLinks: 5},
						edges: []kg.Link{edge("w:1", "w:2", "bee"), edge("w:3", "w:2", "via r"),
							edge("w:3", "w:4", "via s"), edge("w:4", "w:1", "a from s")},
						aliases: map[string][]kg.Alias{
							"w:1": anchor("w:1", "a from s"),
							"w:2": append(redirect("w:2", "R"), anchor("w:2", "bee", "via r")...),
							"w:3": redirect("w:3", "T"),
							"w:4": anchor("w:4", "via s"),
						},
						titles: map[string]string{"R": "w:2", "S": "w:4", "T": "w:3"},
					},
				},
			},
		},
		{
			// The snapshot keeps one edge per pair with the smallest (anchor,
			// sentence), and only articles (or documents without a kind) are
			// walkable.
			name: "snapshot evidence and kinds",
			rounds: []round{{
				records: records{
					docs: func() []kg.Doc {
						dis, list, plain := doc("g:4", "D (disambiguation)", ""), doc("g:5", "List of E", ""), doc("g:6", "F", "")
						dis.Kind, list.Kind, plain.Kind = kg.KindDisambiguation, kg.KindList, ""
						return []kg.Doc{doc("g:1", "A", ""), doc("g:2", "B", ""), doc("g:3", "C", ""), dis, list, plain}
					}(),
					raw: []kg.RawLink{
						{Src: "g:1", Target: "B", Anchor: "zeta", Sentence: "s2"},
						{Src: "g:1", Target: "B", Anchor: "beta", Sentence: "s9"},
						{Src: "g:1", Target: "B", Anchor: "beta", Sentence: "s1"},
						{Src: "g:1", Target: "C", Anchor: "C", Sentence: "s"},
						{Src: "g:2", Target: "A", Anchor: "A", Sentence: "s"},
						{Src: "g:4", Target: "A", Anchor: "A", Sentence: "s"},
						{Src: "g:5", Target: "F", Anchor: "F", Sentence: "s"},
						{Src: "g:6", Target: "B", Anchor: "B", Sentence: "s"},
					},
				},
				want: derived{
					counts: kg.Counts{Docs: 6, Links: 8, Aliases: 2, RawLinks: 8},
					edges: []kg.Link{
						{Src: "g:1", Dst: "g:2", Anchor: "beta", Sentence: "s1"}, {Src: "g:1", Dst: "g:3", Anchor: "C", Sentence: "s"},
						{Src: "g:2", Dst: "g:1", Anchor: "A", Sentence: "s"}, {Src: "g:4", Dst: "g:1", Anchor: "A", Sentence: "s"},
						{Src: "g:5", Dst: "g:6", Anchor: "F", Sentence: "s"}, {Src: "g:6", Dst: "g:2", Anchor: "B", Sentence: "s"},
					},
					aliases: map[string][]kg.Alias{"g:2": anchor("g:2", "beta", "zeta")},
				},
			}},
		},
		{
			// A link whose source is no document becomes a link only once
			// the document is written; it counts as resolved or not from the
			// start.
			name: "links from no document",
			rounds: []round{
				{
					records: records{
						docs: []kg.Doc{doc("w:1", "A", "A text.")},
						raw:  []kg.RawLink{mention("w:404", "A", "to a"), mention("w:404", "Nowhere", "lost")},
					},
					want: derived{counts: kg.Counts{Docs: 1, RawLinks: 2, Unresolved: 1}},
				},
				{
					records: records{docs: []kg.Doc{doc("w:404", "Late", "Late text.")}},
					want: derived{
						counts:  kg.Counts{Docs: 2, Links: 1, Aliases: 1, RawLinks: 2, Unresolved: 1},
						edges:   []kg.Link{edge("w:404", "w:1", "to a")},
						aliases: map[string][]kg.Alias{"w:1": anchor("w:1", "to a")},
					},
				},
			},
		},
		{
			// Web pages are named by their URL key, never by their title: a
			// title link finds the wiki article even from a web page of the
			// same title, a link to a web title finds nothing, and a URL
			// redirect (a 3xx response) leads to its page.
			name: "web pages by URL",
			rounds: []round{{
				records: records{
					docs: []kg.Doc{
						doc("enwiki:1", "Paris", "Paris, France."),
						webDoc("web:a", "Paris", "https://Travel.example:443/paris#top", "A guide to Paris."),
						webDoc("web:b", "Home", "https://b.example/", "Home of b."),
						webDoc("web:c", "Home", "https://c.example/", "Home of c."),
					},
					raw: []kg.RawLink{
						mention("web:b", kg.URLKey("https://travel.example/paris"), "the guide"),
						mention("web:b", "Paris", "Paris"),
						mention("enwiki:1", "Home", "Home"),
						mention("web:c", kg.URLKey("http://old.example/p"), "old"),
						mention("web:a", kg.URLKey("https://c.example/"), "C site"),
					},
					redirects: []kg.Redirect{{From: kg.URLKey("http://old.example/p"), To: kg.URLKey("https://travel.example/paris")}},
				},
				want: derived{
					counts: kg.Counts{Docs: 4, Links: 4, Aliases: 4, RawLinks: 5, Unresolved: 1},
					edges: []kg.Link{
						edge("web:a", "web:c", "C site"), edge("web:b", "enwiki:1", "Paris"),
						edge("web:b", "web:a", "the guide"), edge("web:c", "web:a", "old"),
					},
					aliases: map[string][]kg.Alias{
						"web:a": append(redirect("web:a", kg.URLKey("http://old.example/p")), anchor("web:a", "old", "the guide")...),
						"web:c": anchor("web:c", "C site"),
					},
					titles: map[string]string{"Paris": "enwiki:1", "Home": "web:b", kg.URLKey("http://old.example/p"): "web:a"},
				},
			}},
		},
		{
			// Aliases are listed redirects first, each kind in byte order:
			// upper case before lower, U+FF5E before U+1D400 (UTF-16 order
			// would swap those two).
			name: "alias order",
			rounds: []round{{
				records: records{
					docs: []kg.Doc{doc("o:1", "Target", "Target text."), doc("o:2", "Source", "Source text.")},
					raw: []kg.RawLink{
						mention("o:2", "Target", "zeta"), mention("o:2", "Target", "～"), mention("o:2", "Target", "Zeta"),
						mention("o:2", "Target", "𝐀"), mention("o:2", "Target", "é"), mention("o:2", "Target", "e"),
					},
					redirects: []kg.Redirect{{From: "Ärger", To: "Target"}, {From: "alpha", To: "Target"},
						{From: "Zulu", To: "Target"}},
				},
				want: derived{
					counts: kg.Counts{Docs: 2, Links: 6, Aliases: 9, RawLinks: 6},
					edges:  []kg.Link{edge("o:2", "o:1", "Zeta")},
					aliases: map[string][]kg.Alias{
						"o:1": append(redirect("o:1", "Zulu", "alpha", "Ärger"), anchor("o:1", "Zeta", "e", "zeta", "é", "～", "𝐀")...),
					},
					titles: map[string]string{"Zulu": "o:1", "Ärger": "o:1"},
				},
			}},
		},
	}
}
