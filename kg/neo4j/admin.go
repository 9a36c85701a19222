package neo4j

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/miroverse/miroverse/internal/atomicfile"
	"github.com/miroverse/miroverse/kg"
)

// AdminSource is a graph to export for neo4j-admin; the embedded store is one.
type AdminSource interface {
	EachDoc(ctx context.Context, fn func(kg.Doc) error) error
	EachLink(ctx context.Context, fn func(kg.Link) error) error
	EachAlias(ctx context.Context, fn func(kg.Alias) error) error
	Counts(ctx context.Context) (kg.Counts, error)
}

// AdminExport lists what WriteAdminImport wrote.
type AdminExport struct {
	Dir                                  string
	Documents, Links, Aliases, MetaNodes int64
	// Args are the arguments of `neo4j-admin database import full` that load
	// the files (database name last).
	Args []string
}

// arrayDelimiter separates the values of categories:string[]. Neo4j's
// default is ';', which titles of categories may contain; the unit separator
// never occurs in wikitext.
const arrayDelimiter = "\x1f"

// adminFile is one header + data pair of the import.
type adminFile struct {
	kind   string // "nodes" or "relationships"
	label  string // node label or relationship type
	name   string
	header []string
}

// The files, in the schema of this package (see the package comment), so a
// database imported from them is one Open can serve: same properties, same
// keys. Raw links and redirects are left out: the imported graph is already
// resolved (Finish must not run on it without them).
var adminFiles = []adminFile{
	{"nodes", "Document", "documents", []string{"id:ID(Document)", "title", "title_fold", "url", "url_key", "source", "lang", "text", "categories:string[]", "kind", "facts"}},
	{"nodes", "Alias", "aliases", []string{"key:ID(Alias)", "alias", "kind", "doc", "gen:long", "title"}},
	// Meta values are typed when read (the version a string, the counters
	// integers) and one import file has one type per column: two files.
	{"nodes", "Meta", "meta_text", []string{"key:ID(Meta)", "value"}},
	{"nodes", "Meta", "meta_count", []string{"key:ID(Meta)", "value:long"}},
	{"relationships", "LINKS_TO", "links", []string{":START_ID(Document)", ":END_ID(Document)", "anchor", "sentence"}},
	{"relationships", "ALIAS_OF", "alias_of", []string{":START_ID(Alias)", ":END_ID(Document)"}},
}

// WriteAdminImport writes src as the CSV files and headers that
// `neo4j-admin database import full` takes, streaming (the graph is never held
// in memory), and returns the import arguments. For graphs too large for
// batched transactions.
func WriteAdminImport(ctx context.Context, src AdminSource, dir, database string) (AdminExport, error) {
	out := AdminExport{Dir: dir}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return out, fmt.Errorf("export neo4j-admin to %s: %w", dir, err)
	}
	writers := map[string]*csvFile{}
	for _, f := range adminFiles {
		if err := writeHeader(filepath.Join(dir, f.name+"-header.csv"), f.header); err != nil {
			return out, err
		}
		w, err := createCSV(filepath.Join(dir, f.name+".csv"))
		if err != nil {
			return out, err
		}
		defer w.abort()
		writers[f.name] = w
	}
	err := src.EachDoc(ctx, func(d kg.Doc) error {
		out.Documents++
		facts, err := marshalFacts(d.Facts)
		if err != nil {
			return fmt.Errorf("facts of %s: %w", d.ID, err)
		}
		return writers["documents"].write(d.ID, d.Title, kg.TitleKey(d.Title), d.URL, kg.URLKey(d.URL), d.Source, d.Lang, d.Text,
			strings.Join(d.Categories, arrayDelimiter), d.Kind, facts)
	})
	if err != nil {
		return out, fmt.Errorf("export neo4j-admin: %w", err)
	}
	err = src.EachLink(ctx, func(l kg.Link) error {
		out.Links++
		return writers["links"].write(l.Src, l.Dst, l.Anchor, l.Sentence)
	})
	if err != nil {
		return out, fmt.Errorf("export neo4j-admin: %w", err)
	}
	err = src.EachAlias(ctx, func(a kg.Alias) error {
		out.Aliases++
		key := rowKey(a.Alias, a.DocID, a.Kind)
		title := ""
		if a.Kind == "redirect" {
			title = a.Alias
		}
		if err := writers["aliases"].write(key, a.Alias, a.Kind, a.DocID, "1", title); err != nil {
			return err
		}
		return writers["alias_of"].write(key, a.DocID)
	})
	if err != nil {
		return out, fmt.Errorf("export neo4j-admin: %w", err)
	}
	c, err := src.Counts(ctx)
	if err != nil {
		return out, fmt.Errorf("export neo4j-admin: %w", err)
	}
	// The Meta nodes Open and Counts read: the schema version, the generation
	// the aliases carry, and the unresolved links of the source's last Finish.
	for _, kv := range [][3]string{
		{"meta_text", "schema_version", schemaVersion},
		{"meta_count", "finish_generation", "1"},
		{"meta_count", "unresolved", strconv.FormatInt(c.Unresolved, 10)},
	} {
		if err := writers[kv[0]].write(kv[1], kv[2]); err != nil {
			return out, err
		}
		out.MetaNodes++
	}
	for _, f := range adminFiles {
		if err := writers[f.name].close(); err != nil {
			return out, err
		}
		files := filepath.Join(dir, f.name+"-header.csv") + "," + filepath.Join(dir, f.name+".csv")
		out.Args = append(out.Args, fmt.Sprintf("--%s=%s=%s", f.kind, f.label, files))
	}
	out.Args = append(out.Args, "--multiline-fields=true", "--array-delimiter=U+001F", database)
	return out, nil
}

func writeHeader(path string, cols []string) error {
	w, err := createCSV(path)
	if err != nil {
		return err
	}
	if err := w.write(cols...); err != nil {
		w.abort()
		return err
	}
	return w.close()
}

// csvFile is a CSV written to a temp file and renamed into place on close.
type csvFile struct {
	path string
	f    *atomicfile.File
	buf  *bufio.Writer
	w    *csv.Writer
}

func createCSV(path string) (*csvFile, error) {
	f, err := atomicfile.Create(path)
	if err != nil {
		return nil, fmt.Errorf("export neo4j-admin: %w", err)
	}
	buf := bufio.NewWriterSize(f, 1<<20)
	return &csvFile{path: path, f: f, buf: buf, w: csv.NewWriter(buf)}, nil
}

func (c *csvFile) write(fields ...string) error {
	if err := c.w.Write(fields); err != nil {
		return fmt.Errorf("export neo4j-admin %s: %w", c.path, err)
	}
	return nil
}

func (c *csvFile) close() error {
	c.w.Flush()
	err := c.w.Error()
	if err == nil {
		err = c.buf.Flush()
	}
	if err != nil {
		c.f.Abort()
		return fmt.Errorf("export neo4j-admin %s: %w", c.path, err)
	}
	if err := c.f.Commit(); err != nil {
		return fmt.Errorf("export neo4j-admin: %w", err)
	}
	return nil
}

// abort removes an unfinished file; a no-op after close.
func (c *csvFile) abort() { c.f.Abort() }
