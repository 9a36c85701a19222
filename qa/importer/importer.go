// Package importer brings the questions of public multi-hop QA sets
// (HotpotQA, MuSiQue, plain {question, answer} lines) into a run, the
// report's second source of questions beside the walks. An imported record
// must end as one item like a written question, and its paragraphs must
// become documents the agent can find, so the rules for both live here
// rather than in the pipeline that calls them.
package importer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/qa/internal/jsonid"
)

// Import formats.
const (
	FormatHotpotQA = "hotpotqa" // HotpotQA's original format: context, supporting_facts
	FormatMuSiQue  = "musique"  // paragraphs, question_decomposition, answer_aliases, answerable
	FormatJSONL    = "jsonl"    // {question, answer}: questions only
)

// Paragraph is one titled text of an imported record: a document of the
// corpus once imported.
type Paragraph struct {
	Title, Text string
}

// Record is one record of a public QA file, parsed. Err is set when the
// record is unusable; Reason then says why, and Where names the file and
// line or index.
type Record struct {
	Format     string
	Where      string // "file:line N" (JSONL) or "file[index]" (JSON array)
	SourceID   string // the record's own id, else its position
	Question   string
	Answer     string
	Aliases    []string
	Titles     []string // supporting titles in reasoning order, deduplicated
	Hops       int
	Paragraphs []Paragraph
	Answerable bool
	Reason     string
	Err        error
}

// ItemID is the item id of an imported question: it depends on the
// format, the record's id and its question, not on the file's name or the
// record's position, so re-importing a renamed or reordered file commits
// nothing new.
func ItemID(format, sourceID, question string) string {
	sum := sha256.Sum256([]byte("import\x00" + format + "\x00" + sourceID + "\x00" + question))
	return "qa-" + hex.EncodeToString(sum[:8])
}

// Read parses a public QA file and calls fn for every record in
// order, including unusable ones (with Err set), so each ends in exactly one
// state. format "" detects it from the first record's fields: "context" is
// HotpotQA, "paragraphs" MuSiQue, anything else {question, answer}. The file
// may be a JSON array or JSONL whatever its format. A JSON array that is not
// syntactically valid stops the read with an error naming the file and the
// offset, because no later record can be located; a bad JSONL line costs
// only that line.
func Read(r io.Reader, name, format string, fn func(Record) error) error {
	switch format {
	case "", FormatHotpotQA, FormatMuSiQue, FormatJSONL:
	default:
		return fmt.Errorf("import %s: unknown format %q (want hotpotqa, musique or jsonl)", name, format)
	}
	br := bufio.NewReaderSize(r, 1<<20)
	first, err := firstByte(br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("import %s: empty file", name)
		}
		return fmt.Errorf("import %s: %w", name, err)
	}
	emit := func(where, pos string, raw []byte) error {
		rec := parseRecord(raw, &format, pos)
		rec.Where = where
		if rec.Err != nil {
			rec.Err = fmt.Errorf("%s: %w", where, rec.Err)
		}
		return fn(rec)
	}
	if first == '[' {
		dec := json.NewDecoder(br)
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("import %s: %w", name, err)
		}
		for i := 0; dec.More(); i++ {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fmt.Errorf("import %s: record %d (byte %d): %w; the records before it were read", name, i, dec.InputOffset(), err)
			}
			if err := emit(fmt.Sprintf("%s[%d]", name, i), strconv.Itoa(i), raw); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("import %s: after the last record (byte %d): %w", name, dec.InputOffset(), err)
		}
		return nil
	}
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if t := bytes.TrimSpace(b); len(t) > 0 {
			if err := emit(fmt.Sprintf("%s:line %d", name, line), strconv.Itoa(line-1), t); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("import %s: line %d: %w", name, line, err)
		}
	}
}

func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = br.ReadByte()
			continue
		case 0xEF: // a UTF-8 byte-order mark
			if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\ufeff")) {
				_, _ = br.Discard(3)
				continue
			}
		}
		return b[0], nil
	}
}

// rawRecord holds every field the three formats use.
type rawRecord struct {
	ID              json.RawMessage   `json:"id"`
	UID             json.RawMessage   `json:"_id"`
	Idx             json.RawMessage   `json:"idx"`
	Question        *string           `json:"question"`
	Answer          json.RawMessage   `json:"answer"`
	AnswerAliases   []string          `json:"answer_aliases"`
	Answerable      *bool             `json:"answerable"`
	Context         []json.RawMessage `json:"context"`
	SupportingFacts []json.RawMessage `json:"supporting_facts"`
	Paragraphs      []struct {
		Title string `json:"title"`
		Text  string `json:"paragraph_text"`
	} `json:"paragraphs"`
	Decomposition []struct {
		SupportIdx *int `json:"paragraph_support_idx"`
	} `json:"question_decomposition"`
}

// parseRecord parses one record; *format is fixed by the first record when
// it was "" so a file is read in one format throughout.
func parseRecord(raw []byte, format *string, pos string) Record {
	rec := Record{Format: *format, SourceID: pos, Answerable: true}
	fail := func(err error) Record {
		rec.Reason, rec.Err = qa.ReasonMalformedRecord, err
		return rec
	}
	var r rawRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return fail(err)
	}
	if *format == "" {
		switch {
		case r.Context != nil:
			*format = FormatHotpotQA
		case r.Paragraphs != nil:
			*format = FormatMuSiQue
		default:
			*format = FormatJSONL
		}
		rec.Format = *format
	}
	for _, v := range []json.RawMessage{r.UID, r.ID, r.Idx} {
		if s := jsonid.Text(v); s != "" {
			rec.SourceID = s
			break
		}
	}
	if r.Question == nil || strings.TrimSpace(*r.Question) == "" {
		return fail(errors.New(`no "question"`))
	}
	rec.Question = strings.TrimSpace(*r.Question)
	if len(r.Answer) > 0 && string(r.Answer) != "null" {
		var a string
		if err := json.Unmarshal(r.Answer, &a); err != nil {
			// Some sets give numeric or list answers; keep their JSON text
			// rather than lose the question.
			var list []string
			if json.Unmarshal(r.Answer, &list) == nil && len(list) > 0 {
				a, rec.Aliases = list[0], list[1:]
			} else {
				a = string(r.Answer)
			}
		}
		rec.Answer = strings.TrimSpace(a)
	}
	rec.Aliases = append(rec.Aliases, r.AnswerAliases...)
	switch *format {
	case FormatHotpotQA:
		if err := parseHotpot(&rec, r); err != nil {
			return fail(err)
		}
	case FormatMuSiQue:
		if err := parseMuSiQue(&rec, r); err != nil {
			return fail(err)
		}
	}
	switch {
	case r.Answerable != nil && !*r.Answerable:
		rec.Answerable, rec.Reason = false, qa.ReasonMarkedUnanswerable
	case rec.Answer == "":
		rec.Reason = qa.ReasonNoAnswer
	}
	return rec
}

func parseHotpot(rec *Record, r rawRecord) error {
	if r.Context == nil {
		return errors.New(`hotpotqa record without "context"`)
	}
	for i, c := range r.Context {
		var pair []json.RawMessage
		if err := json.Unmarshal(c, &pair); err != nil || len(pair) != 2 {
			return fmt.Errorf("context[%d]: want [title, [sentences]]", i)
		}
		var p Paragraph
		var sents []string
		if err := json.Unmarshal(pair[0], &p.Title); err != nil {
			return fmt.Errorf("context[%d] title: %w", i, err)
		}
		if err := json.Unmarshal(pair[1], &sents); err != nil {
			return fmt.Errorf("context[%d] sentences: %w", i, err)
		}
		// HotpotQA's sentences carry their own leading spaces.
		p.Title, p.Text = strings.TrimSpace(p.Title), strings.TrimSpace(strings.Join(sents, ""))
		if p.Title != "" && p.Text != "" {
			rec.Paragraphs = append(rec.Paragraphs, p)
		}
	}
	for i, f := range r.SupportingFacts {
		var pair []json.RawMessage
		var title string
		if err := json.Unmarshal(f, &pair); err != nil || len(pair) < 1 || json.Unmarshal(pair[0], &title) != nil {
			return fmt.Errorf("supporting_facts[%d]: want [title, sentence index]", i)
		}
		rec.Titles = appendNew(rec.Titles, strings.TrimSpace(title))
	}
	rec.Hops = len(rec.Titles)
	return nil
}

func parseMuSiQue(rec *Record, r rawRecord) error {
	for _, p := range r.Paragraphs {
		t, x := strings.TrimSpace(p.Title), strings.TrimSpace(p.Text)
		if t != "" && x != "" {
			rec.Paragraphs = append(rec.Paragraphs, Paragraph{Title: t, Text: x})
		}
	}
	for i, d := range r.Decomposition {
		if d.SupportIdx == nil {
			continue // an unanswerable sub-question may have none
		}
		j := *d.SupportIdx
		if j < 0 || j >= len(r.Paragraphs) {
			return fmt.Errorf("question_decomposition[%d]: paragraph_support_idx %d out of range (%d paragraphs)", i, j, len(r.Paragraphs))
		}
		rec.Titles = appendNew(rec.Titles, strings.TrimSpace(r.Paragraphs[j].Title))
	}
	rec.Hops = len(r.Decomposition)
	return nil
}

func appendNew(list []string, s string) []string {
	if s == "" {
		return list
	}
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
