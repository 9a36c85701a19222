package main

import (
	"bytes"
	"compress/bzip2"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miroverse/miroverse/pipeline"
)

// The damaged dumps of these tests are built from the real shared dumps.

// sharedXML returns the decompressed XML of a shared dump.
func sharedXML(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedData(t), "wiki", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(bzip2.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pageSpans returns the byte spans of every <page>…</page>.
func pageSpans(xml []byte) [][2]int {
	var spans [][2]int
	for off := 0; ; {
		i := bytes.Index(xml[off:], []byte("<page>"))
		if i < 0 {
			return spans
		}
		j := bytes.Index(xml[off+i:], []byte("</page>"))
		spans = append(spans, [2]int{off + i, off + i + j + len("</page>")})
		off += i + j
	}
}

func isArticle(page []byte) bool {
	return bytes.Contains(page, []byte("<ns>0</ns>")) && !bytes.Contains(page, []byte("<redirect"))
}

// dryRun runs `ingest --dry-run` and returns stdout, stderr and exit code.
func dryRun(t *testing.T, path string) (string, string, int) {
	t.Helper()
	res := runCLI(t, invocation{args: []string{"ingest", "--dry-run", "--input", path}})
	return res.stdout, res.stderr, res.code
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadInput(t *testing.T) {
	xml := sharedXML(t, "enwiki-2016-excerpt-206p.xml.bz2")
	spans := pageSpans(xml)
	articles := 0
	for _, s := range spans {
		if isArticle(xml[s[0]:s[1]]) {
			articles++
		}
	}
	// A page to damage: the 10th article.
	var victim [2]int
	for n, s := range spans {
		if isArticle(xml[s[0]:s[1]]) && n >= 10 {
			victim = s
			break
		}
	}
	mid := victim[0] + (victim[1]-victim[0])/2
	splice := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

	tests := []struct {
		name         string
		data         []byte
		wantCode     int
		wantDocs     int
		wantReason   string // a reason key of the counts
		wantInOutput []string
	}{
		{
			name:     "truncated mid-page",
			data:     xml[:mid],
			wantCode: exitIncomplete, wantDocs: articlesBefore(xml, spans, victim[0]),
			wantInOutput: []string{"truncated", "offset"},
		},
		{
			name:     "one page of malformed XML",
			data:     splice(xml[:victim[0]], bytes.Replace(xml[victim[0]:victim[1]], []byte("</title>"), []byte("</titel>"), 1), xml[victim[1]:]),
			wantCode: exitOK, wantDocs: articles - 1, wantReason: "malformed_xml",
			wantInOutput: []string{"malformed_xml", "offset " + fmt.Sprint(victim[0])},
		},
		{
			name:     "duplicated page ids",
			data:     splice(xml[:victim[1]], []byte("\n  "), xml[victim[0]:victim[1]], xml[victim[1]:]),
			wantCode: exitOK, wantDocs: articles, wantReason: "duplicate_page_id",
			wantInOutput: []string{"duplicate_page_id", "repeats an earlier page id"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTemp(t, "dump.xml", tc.data)
			out, errOut, code := dryRun(t, path)
			all := out + errOut
			if code != tc.wantCode {
				t.Fatalf("exit code %d, want %d\n%s", code, tc.wantCode, all)
			}
			if want := fmt.Sprintf("documents   %d", tc.wantDocs); !strings.Contains(out, want) {
				t.Errorf("want %q in output:\n%s", want, out)
			}
			for _, w := range append(tc.wantInOutput, "dump.xml") {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
			if tc.wantCode == exitOK && !strings.Contains(out, "input complete") {
				t.Errorf("complete input not reported as such:\n%s", out)
			}
		})
	}
}

// articlesBefore counts the articles that end before offset.
func articlesBefore(xml []byte, spans [][2]int, offset int) int {
	n := 0
	for _, s := range spans {
		if s[1] <= offset && isArticle(xml[s[0]:s[1]]) {
			n++
		}
	}
	return n
}

// TestTruncatedInputInManifest: a real ingest of a truncated dump keeps the
// pages before the break, records the reason in the manifest and exits
// with exitIncomplete.
func TestTruncatedInputInManifest(t *testing.T) {
	xml := sharedXML(t, "enwiki-2016-excerpt-206p.xml.bz2")
	spans := pageSpans(xml)
	cut := spans[len(spans)/2]
	path := writeTemp(t, "cut.xml", xml[:cut[0]+(cut[1]-cut[0])/2])
	root := filepath.Join(t.TempDir(), "out")
	res := runCLI(t, invocation{args: []string{"ingest", "--input", path, "--out", root, "--quiet"}})
	if res.code != exitIncomplete {
		t.Fatalf("exit %d, want %d:\n%s%s", res.code, exitIncomplete, res.stdout, res.stderr)
	}
	b, err := os.ReadFile(filepath.Join(root, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m pipeline.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	st := m.Stages["ingest"]
	if st.Counts["truncated_inputs"] != 1 || st.Kept != int64(articlesBefore(xml, spans, cut[0]+1)) {
		t.Errorf("manifest ingest counts %v kept %d, want 1 truncated input and %d documents", st.Counts, st.Kept, articlesBefore(xml, spans, cut[0]+1))
	}
}

// TestCorruptStream: bytes flipped inside one bz2 stream of the real fatwiki
// multistream dump cost that stream's pages only; the run says which byte,
// counts the corrupt stream and exits 3.
func TestCorruptStream(t *testing.T) {
	dir := filepath.Join(sharedData(t), "wiki")
	dump, err := os.ReadFile(filepath.Join(dir, "fatwiki-20240920-pages-articles-multistream.xml.bz2"))
	if err != nil {
		t.Fatal(err)
	}
	index, err := os.ReadFile(filepath.Join(dir, "fatwiki-20240920-pages-articles-multistream-index.txt.bz2"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(index)))
	if err != nil {
		t.Fatal(err)
	}
	// Stream starts from the index; damage the middle of the 10th.
	var starts []int
	for _, line := range strings.Split(string(idx), "\n") {
		off, _, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var n int
		fmt.Sscan(off, &n)
		if len(starts) == 0 || starts[len(starts)-1] != n {
			starts = append(starts, n)
		}
	}
	victim := starts[10]
	bad := append([]byte(nil), dump...)
	for i := victim + 200; i < victim+232; i++ {
		bad[i] ^= 0x55
	}
	tmp := t.TempDir()
	path := filepath.Join(tmp, "fatwiki-20240920-pages-articles-multistream.xml.bz2")
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "fatwiki-20240920-pages-articles-multistream-index.txt.bz2"), index, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := dryRun(t, path)
	if code != exitIncomplete {
		t.Fatalf("exit %d, want %d (incomplete input)\n%s%s", code, exitIncomplete, out, errOut)
	}
	for _, w := range []string{"corrupt_stream", fmt.Sprintf("byte %d", victim), "corrupt streams: 1"} {
		if !strings.Contains(out+errOut, w) {
			t.Errorf("output lacks %q:\n%s%s", w, out, errOut)
		}
	}
	var docs int
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "documents   "); ok {
			fmt.Sscan(strings.ReplaceAll(v, ",", ""), &docs)
		}
	}
	// One stream holds at most 100 pages: everything else is kept.
	if docs >= 1466 || docs < 1466-100 {
		t.Errorf("documents %d: want the 1466 articles less one stream's", docs)
	}
}
