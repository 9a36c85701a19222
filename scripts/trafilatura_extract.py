"""Extract the main text of every HTML response of WARC files with Python trafilatura.

Prints one JSON object per page, {"uri", "text"}, for kg/web's agreement test and the
web row of `make bench` (which also reads the "seconds" object printed last: the time
spent in trafilatura.extract alone, and the page count).
Usage: python scripts/trafilatura_extract.py [--repeat N] FILE...
"""
import json
import sys
import time

import trafilatura
from warcio.archiveiterator import ArchiveIterator


def pages(path):
    with open(path, "rb") as f:
        for rec in ArchiveIterator(f):
            if rec.rec_type != "response" or rec.http_headers is None:
                continue
            if not (rec.http_headers.get_statuscode() or "").startswith("2"):
                continue
            ct = (rec.http_headers.get_header("Content-Type") or "").lower()
            if "html" not in ct:
                continue
            uri = rec.rec_headers.get_header("WARC-Target-URI").strip("<>")
            yield uri, rec.content_stream().read()


def main(argv):
    repeat = 1
    if argv and argv[0] == "--repeat":
        repeat, argv = int(argv[1]), argv[2:]
    docs = [p for path in argv for p in pages(path)]
    spent = 0.0
    for i in range(repeat):
        for uri, body in docs:
            start = time.perf_counter()
            text = trafilatura.extract(body, url=uri, include_comments=False) or ""
            spent += time.perf_counter() - start
            if i == 0:
                print(json.dumps({"uri": uri, "text": text}, ensure_ascii=False))
    print(json.dumps({"seconds": spent, "pages": len(docs) * repeat}))


if __name__ == "__main__":
    main(sys.argv[1:])
