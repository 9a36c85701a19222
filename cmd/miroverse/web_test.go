package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/pipeline"
	"github.com/miroverse/miroverse/trajectory/export"
	"github.com/miroverse/miroverse/trajectory/toolset"
)

// TestMixedWebAndWikiEndToEnd runs configs/mixed.yaml (the demo wiki and
// the demo web corpus): the web pages become documents with their URLs,
// the WARC's redirect, revisit and second capture are counted and not
// duplicated, walks cross from web pages to wiki articles, and questions
// of such walks reach SFT rows. export-graph --format jsonl shows the
// graph from outside.
func TestMixedWebAndWikiEndToEnd(t *testing.T) {
	root := filepath.Join(t.TempDir(), "out")
	run(t, "run", "--config", "configs/mixed.yaml", "--out", root)
	m, err := pipeline.ReadManifest(root)
	if err != nil {
		t.Fatal(err)
	}
	checkOutputs(t, root, m)
	checkManifestInvariants(t, m)
	ing := m.Stages["ingest"]
	// corpus/web/site.txt: 25 pages and a second capture of one; one page
	// is under min_words, the second capture is an exact duplicate; one
	// 301, one revisit.
	for key, want := range map[string]int64{"web_documents": 24, "web_response": 27, "web_revisit": 1, "web_request": 28} {
		if got := ing.Counts[key]; got != want {
			t.Errorf("ingest count %s = %d, want %d", key, got, want)
		}
	}
	for key, want := range map[string]int64{"filter:min_words": 1, "duplicate:exact": 1} {
		if got := ing.Rejected[key]; got != want {
			t.Errorf("ingest rejected %s = %d, want %d (%v)", key, got, want, ing.Rejected)
		}
	}
	if ing.Skipped["redirect"] < 1 || ing.Skipped["revisit"] != 1 {
		t.Errorf("ingest skipped %v: want the 301 and the revisit counted", ing.Skipped)
	}

	// The agent's tools find web pages and read them by their real URLs,
	// and by the URL of a redirect or a duplicate capture too.
	out := toolsRun(t, []string{
		callLine("google_search", map[string]string{"q": "Max Brod manuscripts Kafka walk"}),
	}, "--root", root)
	var serp struct {
		Organic []struct {
			Title string `json:"title"`
			Link  string `json:"link"`
		} `json:"organic"`
	}
	if err := json.Unmarshal([]byte(out.results[1]), &serp); err != nil || len(serp.Organic) == 0 {
		t.Fatalf("search result %q: %v", out.results[1], err)
	}
	if got := serp.Organic[0]; got.Link != "https://www.praguewalks.example/kafka" || got.Title != "Franz Kafka's Old Town" {
		t.Errorf("first search hit %+v, want the Kafka walk page by its URL", got)
	}
	out = toolsRun(t, []string{
		callLine("scrape_and_extract_info", map[string]string{"url": "https://www.praguewalks.example/kafka", "info_to_extract": "anything"}),
		callLine("scrape_and_extract_info", map[string]string{"url": "https://www.praguewalks.example/kafka?print=1", "info_to_extract": "anything"}),
		callLine("scrape_and_extract_info", map[string]string{"url": "http://radium-history.example/lab", "info_to_extract": "anything"}),
	}, "--root", root)
	for i, want := range map[int]string{1: "# Franz Kafka's Old Town\n\n", 2: "# Franz Kafka's Old Town\n\n", 3: "# Inside the Curie laboratory\n\n"} {
		if got, ok := toolset.ScrapeResult(out.results[i]); !ok || !strings.HasPrefix(got, want) || !strings.Contains(got, "laboratory") && !strings.Contains(got, "Max Brod") {
			t.Errorf("scrape call %d: %q, want the page %q", i, clipTest(got), want)
		}
	}

	dir := filepath.Join(t.TempDir(), "jsonl")
	run(t, "export-graph", "--format", "jsonl", "--root", root, "--dir", dir)
	docs := map[string]map[string]any{}
	for _, d := range readJSONLFile(t, filepath.Join(dir, "documents.jsonl")) {
		docs[d["id"].(string)] = d
	}
	if int64(len(docs)) != m.Graph.Docs {
		t.Errorf("documents.jsonl has %d documents, manifest %d", len(docs), m.Graph.Docs)
	}
	byURL := map[string]string{}
	for id, d := range docs {
		if d["source"] == kg.SourceWeb {
			byURL[d["url"].(string)] = id
			if d["date"] == "" || d["lang"] != "en" {
				t.Errorf("web document %s: date %q lang %q, want the WARC-Date and en", d["url"], d["date"], d["lang"])
			}
		}
	}
	if byURL["https://www.praguewalks.example/kafka"] == "" || byURL["https://www.praguewalks.example/kafka?print=1"] != "" {
		t.Errorf("want the Kafka page once, under its first URL; web documents %v", byURL)
	}
	links := readJSONLFile(t, filepath.Join(dir, "links.jsonl"))
	if int64(len(links)) != m.Graph.Links {
		t.Errorf("links.jsonl has %d links, manifest %d", len(links), m.Graph.Links)
	}
	var webToWiki, webToWeb, via301, viaDuplicate int
	for _, l := range links {
		src, dst := docs[l["src"].(string)], docs[l["dst"].(string)]
		if !strings.Contains(src["text"].(string), l["sentence"].(string)) || !strings.Contains(l["sentence"].(string), l["anchor"].(string)) {
			t.Errorf("link %v: the sentence is not in its source's text, or the anchor not in the sentence", l)
		}
		switch {
		case src["source"] == kg.SourceWeb && dst["source"] != kg.SourceWeb:
			webToWiki++
		case src["source"] == kg.SourceWeb:
			webToWeb++
		}
		// The Becquerel page links to the Curie lab through its old URL (a
		// 301); Charles University to the Kafka page's print copy (a
		// duplicate, with a tracking parameter).
		if src["url"] == "https://www.radium-history.example/becquerel" && dst["url"] == "https://www.radium-history.example/curie-lab" {
			via301++
		}
		if src["url"] == "https://www.praguewalks.example/charles-university" && dst["url"] == "https://www.praguewalks.example/kafka" {
			viaDuplicate++
		}
	}
	if webToWiki < 20 || webToWeb < 20 || via301 != 1 || viaDuplicate != 1 {
		t.Errorf("links web→wiki %d, web→web %d, through the 301 %d, to the duplicate %d: want a connected mixed graph",
			webToWiki, webToWeb, via301, viaDuplicate)
	}

	// Walks that hold a web page and a wiki article, and the SFT rows of
	// their questions.
	mixed := map[string]bool{}
	for _, w := range readRows[pipeline.SubgraphRow](t, root, "subgraphs") {
		var web, wiki bool
		for _, id := range w.DocIDs {
			if docs[id]["source"] == kg.SourceWeb {
				web = true
			} else {
				wiki = true
			}
		}
		if web && wiki {
			mixed[w.ID] = true
		}
	}
	questions := map[string]bool{}
	for _, q := range readRows[pipeline.QARow](t, root, "qa") {
		if mixed[q.WalkID] && q.Status == "kept" {
			questions[q.ID] = true
		}
	}
	sft := 0
	for _, r := range readRows[export.SFTRow](t, root, filepath.Join("sft", "data")) {
		if questions[r.QAID] {
			sft++
		}
	}
	t.Logf("%d walks cross web and wiki, %d of their questions kept, %d SFT rows", len(mixed), len(questions), sft)
	if len(mixed) == 0 || sft == 0 {
		t.Errorf("%d mixed walks, %d kept questions of them, %d SFT rows: want web↔wiki walks to reach SFT", len(mixed), len(questions), sft)
	}
}

func readJSONLFile(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func readRows[T any](t *testing.T, root, dir string) []T {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, dir, "*.parquet"))
	if len(files) == 0 {
		t.Fatalf("no Parquet files in %s", filepath.Join(root, dir))
	}
	var out []T
	for _, f := range files {
		rows, err := parquet.ReadFile[T](f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		out = append(out, rows...)
	}
	return out
}
