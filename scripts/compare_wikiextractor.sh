#!/usr/bin/env bash
# Compare miroverse's clean text with wikiextractor's on the same dump and print
# the table of README "Text fidelity" (token overlap, markup residue, length).
#
#   scripts/compare_wikiextractor.sh [DUMP] [--diff N]
#
# DUMP defaults to ../shared/data/wiki/enwiki-2016-excerpt-206p.xml.bz2. Ours is
# `go run ./scripts/dumptext` (articles of namespace 0, no redirects);
# wikiextractor runs with --json --no-templates and one process, as in the
# throughput benchmark of `make bench`, and with --html-safe "" (its
# default escapes & < > as entities, for its <doc> format; JSON needs no
# escaping, and the entities would count as residue that is not its
# cleaner's doing). wikiextractor is installed into the
# repository's venv (.venv, made if missing) when it is not there. --diff N
# also prints, for the N pages that agree least, the words only one side has.
# Nothing is written outside a temporary directory, removed at exit.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dump=$repo/../shared/data/wiki/enwiki-2016-excerpt-206p.xml.bz2
diff=()
while [ $# -gt 0 ]; do
	case $1 in
	--diff) [ $# -ge 2 ] || { echo "compare_wikiextractor: --diff needs a number" >&2; exit 2; }; diff=(--diff "$2"); shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
	*) dump=$1; shift ;;
	esac
done
[ -r "$dump" ] || { echo "compare_wikiextractor: cannot read dump $dump" >&2; exit 1; }

# The version the README's figures were made with; 3.0.x does not run on
# Python 3.11 and later (a regular expression with a global flag mid-pattern).
wikiextractor_version=3.1.0
venv=$repo/.venv
py=$venv/bin/python
[ -x "$py" ] || python3 -m venv "$venv"
if ! "$py" -m pip show wikiextractor 2>/dev/null | grep -qx "Version: $wikiextractor_version"; then
	"$py" -m pip install --quiet --disable-pip-version-check "wikiextractor==$wikiextractor_version"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$repo" && go run ./scripts/dumptext -o "$work/ours.jsonl" "$dump")
"$py" -m wikiextractor.WikiExtractor --json --no-templates --html-safe "" --processes 1 --quiet \
	-o "$work/wikiextractor" "$dump"
echo "dump: $(basename "$dump"); wikiextractor $wikiextractor_version --json --no-templates --html-safe \"\" --processes 1"
"$py" "$repo/scripts/compare_wikiextractor.py" "$work/ours.jsonl" "$work/wikiextractor" "${diff[@]}"
