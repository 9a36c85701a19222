package oracle

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/trajectory"
)

// reBoxedName is a final answer that boxes some name.
var reBoxedName = regexp.MustCompile(`\\boxed\{[^{}\s][^{}]*\}`)

// fakeCorpus is a small linked corpus for the failing routes: a search
// returns the page of that title first, then every page whose text names
// the query, in corpus order; a scrape returns the page's whole text.
type fakeCorpus struct {
	titles []string
	text   map[string]string
}

var testCorpus = newFakeCorpus(
	"Marie Curie", "Marie Curie was a physicist and chemist. She was born in Warsaw and worked in Paris with Pierre Curie.",
	"Warsaw", "Warsaw is the capital of Poland. It lies on the Vistula. The composer Frédéric Chopin grew up in Warsaw.",
	"Vistula", "The Vistula is the longest river of Poland. It flows through Kraków and Warsaw.",
	"Paris", "Paris is the capital of France. It lies on the Seine.",
	"Pierre Curie", "Pierre Curie was a physicist. He married Marie Curie in Paris.",
	"Frédéric Chopin", "Frédéric Chopin was a composer from Poland. He died in Paris.",
	"Poland", "Poland is a country in Central Europe. Its capital is Warsaw.",
	"Kraków", "Kraków lies on the Vistula. It was the capital of Poland.",
	"Seine", "The Seine is a river of France. It flows through Paris.",
	"France", "France is a country in Western Europe. Its capital is Paris.",
)

func newFakeCorpus(pairs ...string) fakeCorpus {
	c := fakeCorpus{text: map[string]string{}}
	for i := 0; i+1 < len(pairs); i += 2 {
		c.titles = append(c.titles, pairs[i])
		c.text[pairs[i]] = pairs[i+1]
	}
	return c
}

func (c fakeCorpus) search(q string) string {
	var hits []string
	if _, ok := c.text[q]; ok {
		hits = append(hits, q)
	}
	for _, t := range c.titles {
		if t != q && strings.Contains(strings.ToLower(c.text[t]), strings.ToLower(q)) {
			hits = append(hits, t)
		}
	}
	type organic struct {
		Title    string `json:"title"`
		Link     string `json:"link"`
		Snippet  string `json:"snippet"`
		Position int    `json:"position"`
	}
	out := struct {
		Organic []organic `json:"organic"`
	}{Organic: []organic{}}
	for i, t := range hits {
		out.Organic = append(out.Organic, organic{Title: t, Link: linkOf(t), Snippet: c.text[t], Position: i + 1})
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(err) // strings always encode
	}
	return string(b)
}

func (c fakeCorpus) scrape(url, _ string) string {
	for _, t := range c.titles {
		if linkOf(t) == url {
			return c.text[t]
		}
	}
	return "[ERROR]: no page at " + url
}

// seedFor finds a rollout seed whose failure is f on the test path.
func seedFor(t *testing.T, cfg Config, f failure) int {
	t.Helper()
	n := len(testKeys()[testQuestion].Path)
	for seed := range 2000 {
		d := decide(seed, testQuestion, cfg)
		if d.wrong && !d.detour && failureOf(d, n) == f {
			return seed
		}
	}
	t.Fatalf("no seed of 2000 fails as %+v", f)
	return 0
}

// TestAgentFailureModes checks every failure mode at every hop it can
// happen: the route differs from the correct one in its tool calls (not
// only in the final box), where and how the mode says, stays valid
// protocol (every page read is a link a search returned, no query is
// repeated) and ends on a page it read that is not the gold answer.
func TestAgentFailureModes(t *testing.T) {
	path := testKeys()[testQuestion].Path
	good := startOracle(t, Config{Keys: testKeys()})
	bad := Config{Keys: testKeys(), ErrorRate: 1}
	s := startOracle(t, bad)

	correct := map[string][]string{}
	for _, mode := range modes {
		r := newRollout(t, client(good, llm.RoleAgent), mode, 1, testQuestion)
		r.search, r.scrape = testCorpus.search, testCorpus.scrape
		if final := r.run(); !strings.Contains(final, `\boxed{Vistula}`) {
			t.Fatalf("%s: correct rollout answered %q", mode, final)
		}
		correct[mode] = callStrings(r.calls)
	}

	var cases []failure
	for h := range len(path) {
		cases = append(cases, failure{failWrongTurn, h}, failure{failMisread, h})
		if h < len(path)-1 {
			cases = append(cases, failure{failEarlyStop, h})
		}
	}
	for _, f := range cases {
		seed := seedFor(t, bad, f)
		for _, mode := range modes {
			for _, keep := range []int{0, 1} {
				t.Run(fmt.Sprintf("%s/%s/%s/keep%d", f.mode, path[f.hop], mode, keep), func(t *testing.T) {
					r := newRollout(t, client(s, llm.RoleAgent), mode, seed, testQuestion)
					r.search, r.scrape = testCorpus.search, testCorpus.scrape
					r.keep = keep // 1: the route is read back with old results omitted
					final := r.run()
					got, want := callStrings(r.calls), correct[mode]
					if slices.Equal(got, want) {
						t.Fatalf("same tool calls as the correct rollout: %v", got)
					}
					m := reBoxedName.FindString(final)
					answer := strings.TrimSuffix(strings.TrimPrefix(m, `\boxed{`), "}")
					if answer == "" || answer == "Vistula" {
						t.Fatalf("final answer %q: want a wrong name boxed", final)
					}
					checkValidRoute(t, r.calls, answer)
					t.Logf("calls %v, answer %s", got, answer)

					// The route follows the correct one up to where the mode
					// leaves it, and leaves it the mode's way.
					h := f.hop
					switch f.mode {
					case failWrongTurn:
						if !slices.Equal(got[:2*h+1], want[:2*h+1]) {
							t.Errorf("calls before the wrong turn:\n got %v\nwant %v", got[:2*h+1], want[:2*h+1])
						}
						if got[2*h+1] == want[2*h+1] || !strings.HasPrefix(got[2*h+1], "scrape(") {
							t.Errorf("call %d is %s: want a scrape of another result than %s", 2*h+1, got[2*h+1], want[2*h+1])
						}
						// The chain goes on for the hops the path had, unless it
						// runs into pages it has read.
						if reads := countPrefix(got, "scrape("); reads < h+1 || reads > len(path) {
							t.Errorf("%d pages read, want %d to %d: %v", reads, h+1, len(path), got)
						}
					case failEarlyStop:
						if !slices.Equal(got, want[:2*h+2]) {
							t.Errorf("calls:\n got %v\nwant %v", got, want[:2*h+2])
						}
						if answer != path[h] {
							t.Errorf("answer %q, want the last page read, %q", answer, path[h])
						}
					case failMisread:
						if !slices.Equal(got[:2*h+2], want[:2*h+2]) {
							t.Errorf("calls before the misreading:\n got %v\nwant %v", got[:2*h+2], want[:2*h+2])
						}
						next := got[2*h+2]
						q := strings.TrimSuffix(strings.TrimPrefix(next, "search("), ")")
						if !strings.HasPrefix(next, "search(") || slices.Contains(path[h:], q) || !strings.Contains(testCorpus.text[path[h]], q) {
							t.Errorf("call %d is %s: want a search for another entity the page of %s names", 2*h+2, next, path[h])
						}
					}
					if sum := r.summary(); sum.Message.Content != `\boxed{`+answer+`}` {
						t.Errorf("summary %q, want \\boxed{%s}", sum.Message.Content, answer)
					}
				})
			}
		}
	}
}

// checkValidRoute checks that a route is valid protocol over the corpus:
// every scrape reads a link that an earlier search returned, no search is
// repeated, and the answer is the title of a page read.
func checkValidRoute(t *testing.T, calls []toolCall, answer string) {
	t.Helper()
	offered := map[string]bool{}
	queries := map[string]bool{}
	var read []string
	for _, c := range calls {
		switch c.Name {
		case trajectory.ToolGoogleSearch:
			q := c.Args["q"]
			if queries[q] {
				t.Errorf("query %q searched twice: %v", q, calls)
			}
			queries[q] = true
			for _, o := range parseSearch(testCorpus.search(q)).Organic {
				offered[o.Link] = true
			}
		case trajectory.ToolScrape:
			if !offered[c.Args["url"]] {
				t.Errorf("read %s, which no search returned: %v", c.Args["url"], calls)
			}
			for _, title := range testCorpus.titles {
				if linkOf(title) == c.Args["url"] {
					read = append(read, title)
				}
			}
		}
	}
	if !slices.Contains(read, answer) {
		t.Errorf("answer %q is not a page the rollout read (%v)", answer, read)
	}
}

func countPrefix(calls []string, prefix string) int {
	n := 0
	for _, c := range calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

// TestFailureModesDrawn checks that failing rollouts spread over all three
// modes and that a mode and hop are a function of the seed alone.
func TestFailureModesDrawn(t *testing.T) {
	cfg := Config{ErrorRate: 1}
	count := map[string]int{}
	for seed := range 300 {
		d := decide(seed, testQuestion, cfg)
		f := failureOf(d, 3)
		if f.hop < 0 || f.hop > 2 || (f.mode == failEarlyStop && f.hop > 1) {
			t.Fatalf("seed %d: failure %+v out of range for 3 docs", seed, f)
		}
		if failureOf(decide(seed, testQuestion, cfg), 3) != f {
			t.Fatalf("seed %d: failure drawn differently twice", seed)
		}
		count[f.mode]++
	}
	for _, m := range failureModes {
		if count[m] < 60 {
			t.Errorf("mode %s drawn %d times of 300, want about 100 (%v)", m, count[m], count)
		}
	}
	if f := failureOf(decision{failure: failEarlyStop, at: 0.9}, 1); f.mode != failWrongTurn || f.hop != 0 {
		t.Errorf("early stop on a one-doc path: %+v, want a wrong turn at 0", f)
	}
}

func TestFailingAnswer(t *testing.T) {
	sol := testKeys()[testQuestion]
	scrape := func(title string, last bool) call {
		a, err := argsJSON([]kv{{"url", linkOf(title)}, {"info_to_extract", scrapeInfo(step{title: title, last: last})}}, false)
		if err != nil {
			t.Fatal(err)
		}
		return call{name: trajectory.ToolScrape, args: a}
	}
	tests := []struct {
		name  string
		sol   Solution
		calls []call
		want  string
	}{
		{"the last page read", sol, []call{scrape("Marie Curie", false), scrape("Poland", true)}, "Poland"},
		{"gold read last: the key's wrong answer", sol, []call{scrape("Vistula", true)}, "Warsaw"},
		{"nothing read, no wrong answer: the previous hop", Solution{Answer: "Vistula", Path: sol.Path}, nil, "Warsaw"},
		{"a request in other words names no page", sol, []call{{name: trajectory.ToolScrape, args: `{"url":"x","info_to_extract":"anything"}`}}, "Warsaw"},
	}
	for _, tc := range tests {
		if got := failingAnswer(tc.sol, tc.calls); got != tc.want {
			t.Errorf("%s: failingAnswer = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestCapitalisedRuns(t *testing.T) {
	got := capitalisedRuns("Warsaw is the capital of Poland. It lies on the Vistula, near the Palace of Culture. She met Pierre Curie. The Seine flows through Paris.")
	want := []string{"Poland", "Vistula", "Palace of Culture", "Pierre Curie", "Seine", "Paris"}
	if !slices.Equal(got, want) {
		t.Errorf("capitalisedRuns = %q, want %q", got, want)
	}
}

// scrapeJSON answers as the scrape tool does by default: MiroThinker's
// JSON object around the page text, success false for a missing page.
func (c fakeCorpus) scrapeJSON(url, info string) string {
	text := c.scrape(url, info)
	r := map[string]any{"success": true, "url": url, "extracted_info": text, "error": "",
		"scrape_stats": map[string]any{"line_count": 1, "char_count": len(text), "last_char_line": 1, "all_content_displayed": true},
		"model_used":   "oracle", "tokens_used": 7}
	if strings.HasPrefix(text, trajectory.ToolErrorPrefix) {
		r = map[string]any{"success": false, "url": url, "extracted_info": "", "error": "Scraping failed: no page at " + url,
			"scrape_stats": map[string]any{}, "tokens_used": 0}
	}
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestAgentReadsJSONScrapes: the teacher reads the facts inside the JSON
// scrape answer, so every route, correct or failing, takes the same calls
// and ends on the same answer as with the plain-text answers.
func TestAgentReadsJSONScrapes(t *testing.T) {
	path := testKeys()[testQuestion].Path
	bad := Config{Keys: testKeys(), ErrorRate: 1}
	s := startOracle(t, bad)
	good := startOracle(t, Config{Keys: testKeys()})
	type run struct {
		srv  *Server
		seed int
		name string
	}
	runs := []run{{good, 1, "correct"}}
	for h := range len(path) {
		for _, f := range []failure{{failWrongTurn, h}, {failMisread, h}} {
			runs = append(runs, run{s, seedFor(t, bad, f), fmt.Sprintf("%s/%s", f.mode, path[h])})
		}
	}
	for _, rn := range runs {
		for _, mode := range modes {
			t.Run(rn.name+"/"+mode, func(t *testing.T) {
				var calls [2][]string
				var finals [2]string
				for i, scrape := range []func(string, string) string{testCorpus.scrape, testCorpus.scrapeJSON} {
					r := newRollout(t, client(rn.srv, llm.RoleAgent), mode, rn.seed, testQuestion)
					r.search, r.scrape = testCorpus.search, scrape
					finals[i] = r.run()
					calls[i] = callStrings(r.calls)
				}
				if !slices.Equal(calls[0], calls[1]) || finals[0] != finals[1] {
					t.Errorf("text scrapes: %v → %q\nJSON scrapes: %v → %q", calls[0], finals[0], calls[1], finals[1])
				}
			})
		}
	}
}
