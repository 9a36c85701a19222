package neo4j

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/miroverse/miroverse/internal/atomicfile"
	"github.com/miroverse/miroverse/kg"
)

// AdminSource is a graph to export for neo4j-admin: a finished embedded
// store is one.
type AdminSource interface {
	EachDoc(ctx context.Context, fn func(kg.Doc) error) error
	EachLink(ctx context.Context, fn func(kg.Link) error) error
	EachAlias(ctx context.Context, fn func(kg.Alias) error) error
	EachRawLink(ctx context.Context, fn func(kg.RawLink) error) error
	EachRedirect(ctx context.Context, fn func(kg.Redirect) error) error
	Counts(ctx context.Context) (kg.Counts, error)
}

// AdminOptions shape an export.
type AdminOptions struct {
	// Database is the database the import command names (default "neo4j").
	Database string
	// Stamp, when set, is written as the graph's ingest stamp (see
	// SetGraphStamp), so that the imported graph says which ingest it
	// completes from the moment it exists.
	Stamp string
}

// AdminExport lists what WriteAdminImport wrote.
type AdminExport struct {
	Dir                                                       string
	Documents, Links, Aliases, RawLinks, Redirects, MetaNodes int64
	// Database is the database the files are for.
	Database string
	// Args are the arguments of `neo4j-admin database import full` that load
	// the files into an empty or stopped database, absolute paths, database
	// name last.
	Args []string
	// Script is import.sh in Dir: the same command with paths relative to
	// the directory, for running on another machine after copying it.
	Script string
}

// arrayDelimiter separates the values of the list columns (categories,
// raw links). Neo4j's default is ';', which titles of categories may
// contain; the unit separator never occurs in wikitext, and raw links are
// JSON, which escapes it.
const arrayDelimiter = "\x1f"

// adminFile is one header + data pair of the import.
type adminFile struct {
	kind   string // "nodes" or "relationships"
	label  string // node label or relationship type
	name   string
	header []string
}

var docHeader = []string{"id:ID(Document)", "title", "title_fold", "url", "url_key", "name", "source", "lang", "text",
	"categories:string[]", "kind", "facts", "date", "hash", "origin"}

// The files, in the schema of this package (see the package comment), so a
// database imported from them is one Open serves and Finish can resolve
// again after more writes: same nodes, same properties, same keys.
var adminFiles = []adminFile{
	{"nodes", "Document", "documents", docHeader},
	// Web pages carry a second label, the one their URL constraint is on.
	{"nodes", "Document:WebPage", "web_documents", docHeader},
	{"nodes", "RawLinks", "raw_links", []string{"src:ID(RawLinks)", "links:string[]", "n:long"}},
	{"nodes", "Redirect", "redirects", []string{"from:ID(Redirect)", "to"}},
	{"nodes", "Alias", "aliases", []string{"key:ID(Alias)", "alias", "kind", "doc", "gen:long", "title"}},
	// Meta values are typed when read (the version a string, the counters
	// integers) and one import file has one type per column: two files.
	{"nodes", "Meta", "meta_text", []string{"key:ID(Meta)", "value"}},
	{"nodes", "Meta", "meta_count", []string{"key:ID(Meta)", "value:long"}},
	{"relationships", "LINKS_TO", "links", []string{":START_ID(Document)", ":END_ID(Document)", "anchor", "sentence"}},
	{"relationships", "ALIAS_OF", "alias_of", []string{":START_ID(Alias)", ":END_ID(Document)"}},
}

// WriteAdminImport writes src as the CSV files and headers that
// `neo4j-admin database import full` takes, streaming (the graph is never
// held in memory), and returns the import arguments. Every file is
// published whole (temp file and rename), so a directory whose files all
// exist holds one complete export.
func WriteAdminImport(ctx context.Context, src AdminSource, dir string, opt AdminOptions) (AdminExport, error) {
	database := cmp.Or(opt.Database, DefaultDatabase)
	out := AdminExport{Dir: dir, Database: database}
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
	fail := func(err error) (AdminExport, error) { return out, fmt.Errorf("export neo4j-admin to %s: %w", dir, err) }
	err := src.EachDoc(ctx, func(d kg.Doc) error {
		out.Documents++
		facts, err := marshalFacts(d.Facts)
		if err != nil {
			return fmt.Errorf("facts of %s: %w", d.ID, err)
		}
		w := writers["documents"]
		if d.Source == kg.SourceWeb {
			w = writers["web_documents"]
		}
		return w.write(d.ID, d.Title, kg.TitleKey(d.Title), d.URL, kg.URLKey(d.URL), d.Name(), d.Source, d.Lang, d.Text,
			strings.Join(d.Categories, arrayDelimiter), d.Kind, facts, d.Date, d.Hash, d.Origin)
	})
	if err != nil {
		return fail(err)
	}
	if err := writeRawLinks(ctx, src, writers["raw_links"], &out.RawLinks); err != nil {
		return fail(err)
	}
	err = src.EachRedirect(ctx, func(r kg.Redirect) error {
		out.Redirects++
		return writers["redirects"].write(r.From, r.To)
	})
	if err != nil {
		return fail(err)
	}
	err = src.EachLink(ctx, func(l kg.Link) error {
		out.Links++
		return writers["links"].write(l.Src, l.Dst, l.Anchor, l.Sentence)
	})
	if err != nil {
		return fail(err)
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
		return fail(err)
	}
	c, err := src.Counts(ctx)
	if err != nil {
		return fail(err)
	}
	// The Meta nodes Open and Counts read: the schema version, the generation
	// the aliases carry, the unresolved links of the source's last Finish,
	// and the ingest this graph completes.
	meta := [][3]string{
		{"meta_text", "schema_version", schemaVersion},
		{"meta_count", "finish_generation", "1"},
		{"meta_count", "unresolved", strconv.FormatInt(c.Unresolved, 10)},
	}
	if opt.Stamp != "" {
		meta = append(meta, [3]string{"meta_text", stampKey, opt.Stamp})
	}
	for _, kv := range meta {
		if err := writers[kv[0]].write(kv[1], kv[2]); err != nil {
			return out, err
		}
		out.MetaNodes++
	}
	var rel []string
	for _, f := range adminFiles {
		if err := writers[f.name].close(); err != nil {
			return out, err
		}
		files := func(dir string) string {
			return filepath.Join(dir, f.name+"-header.csv") + "," + filepath.Join(dir, f.name+".csv")
		}
		out.Args = append(out.Args, fmt.Sprintf("--%s=%s=%s", f.kind, f.label, files(dir)))
		rel = append(rel, fmt.Sprintf("--%s=%s=%s", f.kind, f.label, files("")))
	}
	// Documents' text has line breaks; the other columns may.
	flags := []string{"--multiline-fields=true", "--array-delimiter=U+001F"}
	out.Args = append(append(out.Args, flags...), database)
	out.Script = filepath.Join(dir, "import.sh")
	if err := writeScript(out.Script, append(append(rel, flags...), database)); err != nil {
		return out, err
	}
	return out, nil
}

// writeRawLinks writes one RawLinks row per source: src's raw links arrive
// in order of source, so a source's links are consecutive.
func writeRawLinks(ctx context.Context, src AdminSource, w *csvFile, count *int64) error {
	cur := ""
	var links []string
	flush := func() error {
		if len(links) == 0 {
			return nil
		}
		err := w.write(cur, strings.Join(links, arrayDelimiter), strconv.Itoa(len(links)))
		links = links[:0]
		return err
	}
	err := src.EachRawLink(ctx, func(l kg.RawLink) error {
		if l.Src != cur {
			if err := flush(); err != nil {
				return err
			}
			cur = l.Src
		}
		enc, err := encodeRawLink(l)
		if err != nil {
			return fmt.Errorf("raw link of %s: %w", l.Src, err)
		}
		// The source lists each raw link once, so no duplicate is added.
		links = append(links, enc)
		*count++
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// writeScript writes import.sh: the import of the files next to it, run
// with the database stopped.
func writeScript(path string, args []string) error {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	b.WriteString("# Written by miroverse: imports the graph in this directory into an empty Neo4j database.\n")
	b.WriteString("# Run it on the Neo4j server with the server stopped (neo4j stop), then start it (neo4j start).\n")
	b.WriteString("# NEO4J_ADMIN names the tool when neo4j-admin is not on PATH.\n")
	b.WriteString("set -e\ncd \"$(dirname \"$0\")\"\n")
	b.WriteString("exec \"${NEO4J_ADMIN:-neo4j-admin}\" database import full --overwrite-destination --report-file=import.report")
	for _, a := range args {
		b.WriteString(" \\\n  " + shellQuote(a))
	}
	b.WriteString("\n")
	if err := atomicfile.WriteFile(path, []byte(b.String())); err != nil {
		return fmt.Errorf("export neo4j-admin: %w", err)
	}
	if err := os.Chmod(path, 0o755); err != nil {
		return fmt.Errorf("export neo4j-admin: %w", err)
	}
	return nil
}

// shellQuote quotes s for sh when it holds anything but safe characters.
func shellQuote(s string) string {
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_=.,/+:@", r)) {
			safe = false
			break
		}
	}
	if safe && s != "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
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
// csvFile writes one neo4j-admin CSV file. encoding/csv is not used: it
// writes an empty string as an empty field, which neo4j-admin imports as
// no property at all, so a document with an empty text or URL would come
// back without one. Here an empty string is written quoted ("").
type csvFile struct {
	path string
	f    *atomicfile.File
	buf  *bufio.Writer
}

func createCSV(path string) (*csvFile, error) {
	f, err := atomicfile.Create(path)
	if err != nil {
		return nil, fmt.Errorf("export neo4j-admin: %w", err)
	}
	buf := bufio.NewWriterSize(f, 1<<20)
	return &csvFile{path: path, f: f, buf: buf}, nil
}

func (c *csvFile) write(fields ...string) error {
	for i, f := range fields {
		if i > 0 {
			c.buf.WriteByte(',')
		}
		if f != "" && !strings.ContainsAny(f, ",\"\r\n") && f[0] != ' ' && f[0] != '\t' {
			c.buf.WriteString(f)
			continue
		}
		c.buf.WriteByte('"')
		c.buf.WriteString(strings.ReplaceAll(f, `"`, `""`))
		c.buf.WriteByte('"')
	}
	if _, err := c.buf.WriteString("\n"); err != nil {
		return fmt.Errorf("export neo4j-admin %s: %w", c.path, err)
	}
	return nil
}

func (c *csvFile) close() error {
	err := c.buf.Flush()
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
