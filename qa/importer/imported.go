package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/qa"
)

// Item is the item of the record, read from file, before the text gates:
// kept, rejected with the record's reason, or failed when the record is
// unusable.
func (rec Record) Item(file string) qa.Item {
	it := qa.Item{
		Question: rec.Question, Answer: rec.Answer, Hops: rec.Hops, Titles: rec.Titles,
		Writer: qa.ImportedWriter + rec.Format, Status: qa.StatusKept,
	}
	if rec.Err != nil {
		// Unparsable records have no reliable id or question: their
		// position names them, so a fixed file imports the fixed record.
		sum := sha256.Sum256([]byte("bad\x00" + file + "\x00" + rec.Where))
		it.ID = "qa-" + hex.EncodeToString(sum[:8])
		it.Status, it.Reason, it.Detail = qa.StatusFailed, rec.Reason, rec.Err.Error()
		return it
	}
	it.ID = ItemID(rec.Format, rec.SourceID, rec.Question)
	if rec.Answer != "" {
		it.Gold = append([]string{rec.Answer}, rec.Aliases...)
	}
	// WalkID keeps where the question came from; imported items have no walk.
	it.WalkID = rec.Where
	if rec.Reason != "" {
		it.Status, it.Reason, it.Detail = qa.StatusRejected, rec.Reason, rec.Where
	}
	return it
}

// Docs collects imported paragraphs by title: the documents an import adds
// to the corpus. HotpotQA repeats the same lead paragraph across questions
// and MuSiQue may give several paragraphs of one article, so distinct texts
// of a title are joined in input order.
type Docs struct {
	order  []string
	source map[string]string
	texts  map[string][]string
}

// NewDocs returns an empty collection.
func NewDocs() *Docs {
	return &Docs{source: map[string]string{}, texts: map[string][]string{}}
}

// Add records paragraph p of a record of format source.
func (m *Docs) Add(source string, p Paragraph) {
	ts, ok := m.texts[p.Title]
	if !ok {
		m.order = append(m.order, p.Title)
		m.source[p.Title] = source
	}
	if !slices.Contains(ts, p.Text) {
		m.texts[p.Title] = append(ts, p.Text)
	}
}

// Titles lists the titles added, in the order first seen.
func (m *Docs) Titles() []string { return m.order }

// Doc is the document of an added title. Its id depends on the source and
// the title only, so the same title is one document across imports and files.
func (m *Docs) Doc(title string) kg.Doc {
	src := m.source[title]
	sum := sha256.Sum256([]byte(title))
	return kg.Doc{
		ID: src + ":" + hex.EncodeToString(sum[:8]), Title: title, Source: src, Lang: "en", Kind: kg.KindArticle,
		URL:  "https://en.wikipedia.org/wiki/" + url.PathEscape(strings.ReplaceAll(title, " ", "_")),
		Text: strings.Join(m.texts[title], "\n\n"),
	}
}

// TitleLookup finds a document by title; kg stores satisfy it.
type TitleLookup interface {
	DocByTitle(ctx context.Context, title string) (kg.Doc, error)
}

// ResolveDocIDs fills each item's DocIDs from its supporting titles, in
// their order; a title the corpus lacks (its paragraph was not in the
// file) is left out.
func ResolveDocIDs(ctx context.Context, docs TitleLookup, items []qa.Item) error {
	for i := range items {
		for _, t := range items[i].Titles {
			d, err := docs.DocByTitle(ctx, t)
			if errors.Is(err, kg.ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("look up %q: %w", t, err)
			}
			items[i].DocIDs = append(items[i].DocIDs, d.ID)
		}
	}
	return nil
}
