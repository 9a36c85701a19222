package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/miroverse/miroverse/internal/atomicfile"
	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/kg/embedded"
	kgneo4j "github.com/miroverse/miroverse/kg/neo4j"
)

// Export-graph formats.
const (
	GraphFormatNeo4jAdmin = "neo4j-admin"
	GraphFormatJSONL      = "jsonl"
)

// GraphExport is what ExportGraph wrote.
type GraphExport struct {
	Format string
	// Admin is the neo4j-admin export (format neo4j-admin).
	Admin kgneo4j.AdminExport
	// Files, Documents and Links describe a JSONL export.
	Files            []string
	Documents, Links int64
}

// ExportGraph writes the graph of an output root as files.
//
//   - "neo4j-admin": the embedded graph as the CSV files and headers that
//     `neo4j-admin database import full` takes, the path for graphs too
//     large for batched transactions.
//   - "jsonl": DIR/documents.jsonl (id, url, title, source, lang, date,
//     text, categories) and DIR/links.jsonl (src, dst, anchor, sentence),
//     from whichever backend the root's ingest used, in id order: how a
//     user reads and audits a corpus, and checks the extraction from
//     outside.
func ExportGraph(ctx context.Context, root, format, dir, database string) (GraphExport, error) {
	root, err := GraphDir(ctx, root, "")
	if err != nil {
		return GraphExport{}, fmt.Errorf("export-graph: %w", err)
	}
	switch format {
	case GraphFormatNeo4jAdmin:
		exp, err := exportAdmin(ctx, root, dir, database)
		return GraphExport{Format: format, Admin: exp}, err
	case GraphFormatJSONL:
		return exportJSONL(ctx, root, dir)
	}
	return GraphExport{}, fmt.Errorf("export-graph: format %q: want %q or %q", format, GraphFormatNeo4jAdmin, GraphFormatJSONL)
}

func exportAdmin(ctx context.Context, root, dir, database string) (kgneo4j.AdminExport, error) {
	path := filepath.Join(root, "graph", "kg.db")
	if _, err := os.Stat(path); err != nil {
		return kgneo4j.AdminExport{}, fmt.Errorf("export-graph: no embedded graph at %s (run ingest with graph.backend embedded first): %w", path, err)
	}
	st, err := embedded.Open(ctx, path)
	if err != nil {
		return kgneo4j.AdminExport{}, fmt.Errorf("export-graph: %w", err)
	}
	defer st.Close()
	if dir == "" {
		dir = filepath.Join(root, "graph", "neo4j-admin")
	}
	return kgneo4j.WriteAdminImport(ctx, st, dir, kgneo4j.AdminOptions{Database: database})
}

// corpusReader is a store that can be read whole, in id order: both
// backends are.
type corpusReader interface {
	EachDoc(ctx context.Context, fn func(kg.Doc) error) error
	EachLink(ctx context.Context, fn func(kg.Link) error) error
}

// jsonlDoc and jsonlLink are the records of a JSONL export.
type jsonlDoc struct {
	ID         string   `json:"id"`
	URL        string   `json:"url"`
	Title      string   `json:"title"`
	Source     string   `json:"source"`
	Lang       string   `json:"lang"`
	Date       string   `json:"date"`
	Text       string   `json:"text"`
	Categories []string `json:"categories"`
}

type jsonlLink struct {
	Src      string `json:"src"`
	Dst      string `json:"dst"`
	Anchor   string `json:"anchor"`
	Sentence string `json:"sentence"`
}

func exportJSONL(ctx context.Context, root, dir string) (GraphExport, error) {
	out := GraphExport{Format: GraphFormatJSONL}
	m, err := ReadManifest(root)
	if err != nil {
		return out, fmt.Errorf("export-graph: %w (is %s an output root after ingest?)", err, root)
	}
	store, _, err := openStore(ctx, m.Config, root, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return out, fmt.Errorf("export-graph: %w", err)
	}
	defer store.Close()
	cr, ok := store.(corpusReader)
	if !ok {
		return out, fmt.Errorf("export-graph: the %s backend cannot be read whole", m.Config.Graph.Backend)
	}
	if dir == "" {
		dir = filepath.Join(root, "graph", "jsonl")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return out, fmt.Errorf("export-graph: %w", err)
	}
	docs := filepath.Join(dir, "documents.jsonl")
	err = writeJSONL(docs, func(enc *json.Encoder) error {
		return cr.EachDoc(ctx, func(d kg.Doc) error {
			out.Documents++
			cats := d.Categories
			if cats == nil {
				cats = []string{}
			}
			return enc.Encode(jsonlDoc{ID: d.ID, URL: d.URL, Title: d.Title, Source: d.Source, Lang: d.Lang,
				Date: d.Date, Text: d.Text, Categories: cats})
		})
	})
	if err != nil {
		return out, err
	}
	links := filepath.Join(dir, "links.jsonl")
	err = writeJSONL(links, func(enc *json.Encoder) error {
		return cr.EachLink(ctx, func(l kg.Link) error {
			out.Links++
			return enc.Encode(jsonlLink(l))
		})
	})
	out.Files = []string{docs, links}
	return out, err
}

// writeJSONL publishes a JSONL file whole: a reader never sees half of one.
func writeJSONL(path string, write func(*json.Encoder) error) error {
	f, err := atomicfile.Create(path)
	if err != nil {
		return fmt.Errorf("export-graph: %w", err)
	}
	defer f.Abort()
	bw := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := write(enc); err != nil {
		return fmt.Errorf("export-graph %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export-graph %s: %w", path, err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("export-graph %s: %w", path, err)
	}
	return nil
}
