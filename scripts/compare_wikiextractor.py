#!/usr/bin/env python3
"""Compare miroverse's clean text with wikiextractor's, page by page.

usage: compare_wikiextractor.py OURS.jsonl WIKIEXTRACTOR_DIR [--diff N]

OURS.jsonl is the output of `go run ./scripts/dumptext DUMP` ({"id", "text"}
per line); WIKIEXTRACTOR_DIR is what `wikiextractor --json -o DIR DUMP` wrote
(files of {"id", "text"} lines). Pages are matched by page id; only pages in
both are compared. Prints a Markdown table (the one in README "Text
fidelity"); --diff N also prints, for the N pages of lowest token F1, the
tokens each side has that the other lacks.

Metrics, for each side:
  pages         all pages in both outputs; the article rows leave out the pages
                we mark list or disambiguation; "prose" leaves out our heading
                and list lines, which wikiextractor drops or rewrites
  tokens        words: runs of Unicode letters, digits and '_' (Python's \\w),
                lower-cased
  token F1      of the two token multisets of a page (precision: share of our
                tokens that wikiextractor's text also has; recall: share of
                wikiextractor's tokens that ours has), averaged over pages;
                "micro" sums the counts over all pages first
  residue       occurrences of the markup patterns in RESIDUE per 1,000 tokens,
                and the pages with any
  holes         what removed templates leave behind, which is no markup but
                no text either: "()", "(; born", "Akhilleus,)", " ," and the
                like (HOLES), per 1,000 tokens
  length        characters of text, ours / wikiextractor's
"""
import collections
import json
import os
import re
import statistics
import sys

TOKEN = re.compile(r"\w+")

# Wikitext or HTML left in clean text. Each pattern counts on its own; a
# "<ref>" counts once, as a tag. Markdown our text uses on purpose ("## "
# headings, "- " and "1. " list items) is not residue.
RESIDUE = [
    ("{{ / }}", re.compile(r"\{\{|\}\}")),
    ("[[ / ]]", re.compile(r"\[\[|\]\]")),
    ("[http", re.compile(r"\[(?:https?:)?//")),
    ("|", re.compile(r"\|")),
    ("<tag>", re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")),
    ("<!--", re.compile(r"<!--|-->")),
    ("&entity;", re.compile(r"&(?:[A-Za-z]+|#[0-9]+|#[xX][0-9A-Fa-f]+);")),
    ("'' / '''", re.compile(r"''+")),
    ("==", re.compile(r"==+")),
    ("__MAGIC__", re.compile(r"__[A-Z]+__")),
    ("File:/Category:", re.compile(r"\b(?:File|Image|Category):")),
]


# Holes: empty parentheses, a separator right after "(" or before ")", a
# space before a separator, two separators in a row.
HOLES = re.compile(r"\(\s*[,;:]?\s*\)|\(\s*[,;:]|[,;:]\s*\)| [,;.:](?=\s|$)|[,;:][,;:.]")


def read_jsonl(paths, kinds=None):
    """id -> text of every page in the files; kinds, if given, gets id -> kind."""
    pages = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    d = json.loads(line)
                    pages[int(d["id"])] = d["text"]
                    if kinds is not None:
                        kinds[int(d["id"])] = d.get("kind", "")
    return pages


# A line of our text that is a heading or a list item, markdown we keep and
# wikiextractor drops (lists) or writes as a sentence ("History.").
STRUCTURE = re.compile(r"^(#+ |- |1\. )")


def prose(text):
    return "\n".join(line for line in text.split("\n") if not STRUCTURE.match(line))


def tokens(text):
    return TOKEN.findall(text.lower())


def f1(ours, theirs):
    a, b = collections.Counter(ours), collections.Counter(theirs)
    overlap = sum((a & b).values())
    p = overlap / len(ours) if ours else 0.0
    r = overlap / len(theirs) if theirs else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0), overlap


def residue(text):
    return {name: len(rx.findall(text)) for name, rx in RESIDUE}


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    show = 0
    if len(argv) == 5 and argv[3] == "--diff":
        show = int(argv[4])
    kinds = {}
    ours = read_jsonl([argv[1]], kinds)
    wx_files = []
    for root, _, files in os.walk(argv[2]):
        wx_files += [os.path.join(root, f) for f in sorted(files)]
    theirs = read_jsonl(sorted(wx_files))
    ids = sorted(set(ours) & set(theirs))
    if not ids:
        print("compare: no page in both outputs", file=sys.stderr)
        return 1

    ps, rs, fs = [], [], []
    article_f1, prose_f1 = [], []
    overlap = n_ours = n_theirs = 0
    res = {"ours": collections.Counter(), "wikiextractor": collections.Counter()}
    dirty = collections.Counter()
    chars = collections.Counter()
    holes = collections.Counter()
    ratios = []
    worst = []
    for i in ids:
        ta, tb = tokens(ours[i]), tokens(theirs[i])
        p, r, f, o = f1(ta, tb)
        ps.append(p)
        rs.append(r)
        fs.append(f)
        worst.append((f, i))
        if kinds.get(i) == "article":
            article_f1.append(f)
            prose_f1.append(f1(tokens(prose(ours[i])), tb)[2])
        overlap += o
        n_ours += len(ta)
        n_theirs += len(tb)
        for side, text in (("ours", ours[i]), ("wikiextractor", theirs[i])):
            c = residue(text)
            res[side].update(c)
            dirty[side] += any(c.values())
            chars[side] += len(text)
            holes[side] += len(HOLES.findall(text))
        if theirs[i]:
            ratios.append(len(ours[i]) / len(theirs[i]))

    micro_p, micro_r = overlap / n_ours, overlap / n_theirs
    micro_f = 2 * micro_p * micro_r / (micro_p + micro_r)
    n_tokens = {"ours": n_ours, "wikiextractor": n_theirs}

    def per_k(side, names=None):
        total = sum(v for k, v in res[side].items() if names is None or k in names)
        return 1000 * total / n_tokens[side]

    print(f"pages compared: {len(ids)} (ours {len(ours)}, wikiextractor {len(theirs)})")
    print()
    print("| metric | ours | wikiextractor |")
    print("|---|---|---|")
    print(f"| tokens | {n_ours:,} | {n_theirs:,} |")
    print(f"| characters | {chars['ours']:,} | {chars['wikiextractor']:,} |")
    print(f"| token F1, mean of pages (P / R against the other side) | "
          f"{statistics.mean(fs):.3f} ({statistics.mean(ps):.3f} / {statistics.mean(rs):.3f}) | — |")
    print(f"| token F1, micro (P / R) | {micro_f:.3f} ({micro_p:.3f} / {micro_r:.3f}) | — |")
    print(f"| token F1, lowest page | {min(fs):.3f} | — |")
    print(f"| token F1, mean of the {len(article_f1)} articles (no list or disambiguation pages) | "
          f"{statistics.mean(article_f1):.3f} | — |")
    print(f"| token F1, mean of the articles, our headings and list items left out | "
          f"{statistics.mean(prose_f1):.3f} | — |")
    print(f"| length ratio ours / wikiextractor, all text (median of pages) | "
          f"{chars['ours'] / chars['wikiextractor']:.3f} ({statistics.median(ratios):.3f}) | — |")
    print(f"| markup residue per 1,000 tokens, all patterns | {per_k('ours'):.2f} | {per_k('wikiextractor'):.2f} |")
    for name, _ in RESIDUE:
        a, b = res["ours"][name], res["wikiextractor"][name]
        print(f"| &nbsp;&nbsp;`{name}` (count) | {a} | {b} |")
    print(f"| pages with any residue | {dirty['ours']} | {dirty['wikiextractor']} |")
    print(f"| holes left by removed templates per 1,000 tokens (count) | "
          f"{1000 * holes['ours'] / n_ours:.2f} ({holes['ours']}) | "
          f"{1000 * holes['wikiextractor'] / n_theirs:.2f} ({holes['wikiextractor']}) |")

    for f, i in sorted(worst)[:show]:
        a, b = collections.Counter(tokens(ours[i])), collections.Counter(tokens(theirs[i]))
        print(f"\npage {i}: F1 {f:.3f}")
        print("  only ours:", " ".join(f"{t}×{n}" for t, n in (a - b).most_common(25)))
        print("  only wikiextractor:", " ".join(f"{t}×{n}" for t, n in (b - a).most_common(25)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
