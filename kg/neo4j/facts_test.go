package neo4j

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/kgtest"
)

// Unit tests: no server needed.

func TestFactsJSON(t *testing.T) {
	facts := []kg.Fact{{Key: "birth_date", Value: "7 November 1867"}, {Key: "spouse", Value: `Pierre "P." Curie; ü`}}
	tests := []struct {
		name string
		in   []kg.Fact
		json string
	}{
		{"none", nil, "[]"},
		{"empty", []kg.Fact{}, "[]"},
		{"some", facts, `[{"key":"birth_date","value":"7 November 1867"},{"key":"spouse","value":"Pierre \"P.\" Curie; ü"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := marshalFacts(tt.in)
			if err != nil || got != tt.json {
				t.Fatalf("marshalFacts = %q, %v; want %q", got, err, tt.json)
			}
			back, err := unmarshalFacts(got)
			want := tt.in
			if len(want) == 0 {
				want = nil
			}
			if err != nil || !reflect.DeepEqual(back, want) {
				t.Errorf("unmarshalFacts(%q) = %+v, %v; want %+v", got, back, err, want)
			}
		})
	}
	for _, v := range []any{nil, ""} {
		if f, err := unmarshalFacts(v); f != nil || err != nil {
			t.Errorf("unmarshalFacts(%#v) = %+v, %v; want none", v, f, err)
		}
	}
	for _, v := range []any{int64(1), "{", `{"key":"a"}`} {
		if _, err := unmarshalFacts(v); err == nil {
			t.Errorf("unmarshalFacts(%#v) accepted", v)
		}
	}
}

// TestAdminExportFacts: the documents file of the neo4j-admin export has a
// facts column holding the embedded store's JSON. (cmd/miroverse runs the
// real import of such files.)
func TestAdminExportFacts(t *testing.T) {
	ctx := context.Background()
	e, _ := openEmbedded(t)
	withFacts := doc("w:1", "A", "A text.")
	withFacts.Facts = []kg.Fact{{Key: "capital", Value: "Montgomery"}, {Key: "motto", Value: `"We dare", defend`}}
	putDocs(t, e, withFacts, doc("w:2", "B", "B text."))
	dir := t.TempDir()
	if _, err := WriteAdminImport(ctx, e, dir, AdminOptions{}); err != nil {
		t.Fatal(err)
	}
	read := func(name string) [][]string {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	header := read("documents-header.csv")[0]
	col := -1
	for i, h := range header {
		if h == "facts" {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("documents header %q has no facts column", header)
	}
	want := map[string]string{
		"w:1": `[{"key":"capital","value":"Montgomery"},{"key":"motto","value":"\"We dare\", defend"}]`,
		"w:2": "[]",
	}
	for _, row := range read("documents.csv") {
		if len(row) != len(header) {
			t.Fatalf("row %q has %d fields, header %d", row, len(row), len(header))
		}
		if row[col] != want[row[0]] {
			t.Errorf("facts of %s = %q, want %q", row[0], row[col], want[row[0]])
		}
	}
}

// Integration tests: a Neo4j server (NEO4J_URI).

// TestDocWithoutFactsProperty: a Document written before facts existed
// has no facts property and reads as having none. (How documents with
// facts read back is the conformance suite's.)
func TestDocWithoutFactsProperty(t *testing.T) {
	opt := serverOptions(t)
	ctx := context.Background()
	s := openClean(t, opt)
	in := doc("w:1", "Marie Curie", "Marie Curie was a physicist.")
	in.Facts = []kg.Fact{{Key: "birth_date", Value: "7 November 1867"}}
	putDocs(t, s, in)
	if err := s.write(ctx, "test: drop facts", `MATCH (d:Document {id: 'w:1'}) REMOVE d.facts`, nil); err != nil {
		t.Fatal(err)
	}
	in.Facts = nil
	for name, read := range map[string]func() (kg.Doc, error){
		"Doc":        func() (kg.Doc, error) { return s.Doc(ctx, in.ID) },
		"DocByTitle": func() (kg.Doc, error) { return s.DocByTitle(ctx, in.Title) },
		"DocByURL":   func() (kg.Doc, error) { return s.DocByURL(ctx, in.URL) },
	} {
		if got, err := read(); err != nil || !reflect.DeepEqual(got, in) {
			t.Errorf("%s of a document without a facts property = %+v, %v; want %+v", name, got, err, in)
		}
	}
}

// TestDumpFactsMatchEmbedded loads the 2016 English excerpt, whose
// articles carry infobox facts, into both stores: every document reads
// back whole and equal from both.
func TestDumpFactsMatchEmbedded(t *testing.T) {
	opt := serverOptions(t)
	path := kgtest.SharedDump(t, "enwiki-2016-excerpt-206p.xml.bz2")
	ctx := context.Background()
	s := openClean(t, opt)
	e, _ := openEmbedded(t)
	articles, err := loadDump(ctx, s, path, ingestBatch, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loadDump(ctx, e, path, ingestBatch, nil); err != nil {
		t.Fatal(err)
	}
	facts := 0
	for _, want := range articles {
		facts += len(want.Facts)
		got, err := s.Doc(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("neo4j Doc(%s) differs from the parsed document: %d facts read, %d written", want.ID, len(got.Facts), len(want.Facts))
		}
		if ed := mustDoc(t, ctx, e, want.ID); !reflect.DeepEqual(ed, got) {
			t.Errorf("Doc(%s): embedded and neo4j differ", want.ID)
		}
	}
	if facts == 0 {
		t.Fatal("no facts in the dump's articles")
	}
	t.Logf("%d articles, %d facts read back from both stores", len(articles), facts)
}
