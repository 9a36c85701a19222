package gendump

import (
	"crypto/sha1"
	"math/big"
	"strconv"
	"time"
)

// The XML is MediaWiki's export format 0.11, as Wikimedia's dumps write it.

const (
	dbName = "genwiki"
	// base is a host under .invalid, the name reserved for names that
	// resolve nowhere: these documents are no real wiki's.
	base = "https://gen.wikipedia.invalid/wiki/Main_Page"
)

// namespaces are the English Wikipedia's; the reader takes link prefixes
// ("Category:", "File:") from them.
var namespaces = []struct {
	key  int
	name string
}{
	{-2, "Media"}, {-1, "Special"}, {0, ""}, {1, "Talk"}, {2, "User"}, {3, "User talk"}, {4, "Wikipedia"},
	{5, "Wikipedia talk"}, {6, "File"}, {7, "File talk"}, {8, "MediaWiki"}, {9, "MediaWiki talk"},
	{10, "Template"}, {11, "Template talk"}, {12, "Help"}, {13, "Help talk"}, {14, "Category"},
	{15, "Category talk"}, {100, "Portal"}, {101, "Portal talk"}, {118, "Draft"}, {119, "Draft talk"},
	{710, "TimedText"}, {711, "TimedText talk"}, {828, "Module"}, {829, "Module talk"},
}

func header() []byte {
	b := []byte(`<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.mediawiki.org/xml/export-0.11/ http://www.mediawiki.org/xml/export-0.11.xsd" version="0.11" xml:lang="en">` + "\n")
	b = append(b, "  <siteinfo>\n    <sitename>Wikipedia</sitename>\n    <dbname>"+dbName+"</dbname>\n    <base>"+base+"</base>\n"...)
	b = append(b, "    <generator>MediaWiki 1.44.0-wmf.5</generator>\n    <case>first-letter</case>\n    <namespaces>\n"...)
	for _, ns := range namespaces {
		k := strconv.Itoa(ns.key)
		if ns.name == "" {
			b = append(b, `      <namespace key="`+k+`" case="first-letter" />`+"\n"...)
			continue
		}
		b = append(b, `      <namespace key="`+k+`" case="first-letter">`+ns.name+"</namespace>\n"...)
	}
	return append(b, "    </namespaces>\n  </siteinfo>\n"...)
}

const footer = "</mediawiki>\n"

// appendEscaped writes s as XML text the way MediaWiki does
// (htmlspecialchars: & < > and ").
func appendEscaped(b []byte, s []byte) []byte {
	last := 0
	for i, c := range s {
		var esc string
		switch c {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&quot;"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

// sha1Base36 is the revision checksum of the dumps: SHA-1 in base 36,
// zero-padded to 31 digits.
func sha1Base36(text []byte) string {
	sum := sha1.Sum(text)
	s := new(big.Int).SetBytes(sum[:]).Text(36)
	for len(s) < 31 {
		s = "0" + s
	}
	return s
}

// epoch and span bound revision timestamps: the English Wikipedia's years.
var epoch = time.Date(2002, 1, 1, 0, 0, 0, 0, time.UTC)

const span = 22 * 365 * 24 * 3600

// pageXML appends one <page> element.
func (g *gen) pageXML(b []byte, e entry, title, redirect string, text []byte) []byte {
	h := g.hash(e.id, 0x726576)
	rev := 1_000_000 + e.id*7 + int64(h%7)
	b = append(b, "  <page>\n    <title>"...)
	b = appendEscaped(b, []byte(title))
	b = append(b, "</title>\n    <ns>"...)
	b = strconv.AppendInt(b, int64(e.ns()), 10)
	b = append(b, "</ns>\n    <id>"...)
	b = strconv.AppendInt(b, e.id, 10)
	b = append(b, "</id>\n"...)
	if redirect != "" {
		b = append(b, `    <redirect title="`...)
		b = appendEscaped(b, []byte(redirect))
		b = append(b, "\" />\n"...)
	}
	b = append(b, "    <revision>\n      <id>"...)
	b = strconv.AppendInt(b, rev, 10)
	b = append(b, "</id>\n"...)
	if h%5 != 0 {
		b = append(b, "      <parentid>"...)
		b = strconv.AppendInt(b, rev-1-int64(h>>8%1000), 10)
		b = append(b, "</parentid>\n"...)
	}
	b = append(b, "      <timestamp>"...)
	b = epoch.Add(time.Duration(h>>16%span)*time.Second).AppendFormat(b, "2006-01-02T15:04:05Z")
	b = append(b, "</timestamp>\n      <contributor>\n"...)
	if h>>40%10 == 0 {
		b = append(b, "        <ip>192.0.2."...)
		b = strconv.AppendInt(b, int64(h>>44%250+1), 10)
		b = append(b, "</ip>\n"...)
	} else {
		b = append(b, "        <username>"...)
		b = append(b, g.v.names[h>>20%nameWords]...)
		b = append(b, g.v.names[h>>33%nameWords]...)
		b = append(b, "</username>\n        <id>"...)
		b = strconv.AppendInt(b, int64(h>>24%5_000_000+1), 10)
		b = append(b, "</id>\n"...)
	}
	b = append(b, "      </contributor>\n"...)
	if h>>50%4 == 0 {
		b = append(b, "      <minor />\n"...)
	}
	b = append(b, "      <comment>"...)
	b = append(b, comments[h>>52%uint64(len(comments))]...)
	b = append(b, "</comment>\n      <origin>"...)
	b = strconv.AppendInt(b, rev, 10)
	b = append(b, "</origin>\n      <model>wikitext</model>\n      <format>text/x-wiki</format>\n      <text bytes=\""...)
	b = strconv.AppendInt(b, int64(len(text)), 10)
	sha := sha1Base36(text)
	b = append(b, "\" sha1=\""+sha+"\" xml:space=\"preserve\">"...)
	b = appendEscaped(b, text)
	b = append(b, "</text>\n      <sha1>"+sha+"</sha1>\n    </revision>\n  </page>\n"...)
	return b
}

var comments = []string{"/* History */ expanded", "copyedit", "Reverted edits by [[Special:Contributions/192.0.2.7|192.0.2.7]]",
	"add citation", "/* References */", "[[WP:AES|←]]Redirected page", "tidy infobox", "fix link", "category"}
