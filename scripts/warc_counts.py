"""Count the records of WARC files with warcio, independently of the Go reader.

Prints one JSON object per file: records by WARC-Type, and `html_responses`, the
response and resource records whose payload is HTML by its declared content type
(HTTP Content-Type for responses with a 2xx status, WARC Content-Type for resources).
Used by kg/web's tests: `python scripts/warc_counts.py FILE...`.
"""
import json
import sys

from warcio.archiveiterator import ArchiveIterator


def is_html(content_type):
    ct = (content_type or "").lower()
    return "text/html" in ct or "application/xhtml+xml" in ct


def count(path):
    out = {"file": path, "types": {}, "html_responses": 0}
    with open(path, "rb") as f:
        for rec in ArchiveIterator(f, arc2warc=True):
            t = rec.rec_type
            out["types"][t] = out["types"].get(t, 0) + 1
            if t == "response" and rec.http_headers is not None:
                status = rec.http_headers.get_statuscode() or ""
                if status.startswith("2") and is_html(rec.http_headers.get_header("Content-Type")):
                    out["html_responses"] += 1
            elif t == "resource" and is_html(rec.rec_headers.get_header("Content-Type")):
                out["html_responses"] += 1
    return out


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(json.dumps(count(p)))
