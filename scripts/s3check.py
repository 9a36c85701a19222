#!/usr/bin/env python3
"""Check from Python that pyarrow reads and writes the S3-compatible server.

Writes a tiny Parquet file with pyarrow through pyarrow.fs.S3FileSystem under
PREFIX, reads it back through the same file system, optionally reads objects
that another client wrote (--expect KEY=TEXT) and prints one JSON line with
what it found. Credentials and region come from AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY and AWS_REGION, as scripts/s3 prints them.

    s3check.py --endpoint http://127.0.0.1:PORT --bucket B --prefix P/ [--expect KEY=TEXT]... [--dataset DIR]...

--dataset reads every Parquet file under the key prefix DIR as one table,
straight from the bucket (a dataset version's sft/data, say), and reports
its rows, columns and ids.

Exit 0 when every check holds, 1 otherwise (the reason on stderr).
"""

import argparse
import json
import os
import sys
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", required=True, help="http://HOST:PORT of the server")
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--prefix", required=True, help="key prefix, ending in /")
    ap.add_argument("--expect", action="append", default=[], metavar="KEY=TEXT",
                    help="an object another client wrote and its exact text")
    ap.add_argument("--dataset", action="append", default=[], metavar="DIR",
                    help="a key prefix of Parquet files to read as one table")
    args = ap.parse_args()

    ep = urlsplit(args.endpoint)
    if ep.scheme not in ("http", "https") or not ep.netloc:
        print(f"s3check: --endpoint must be http(s)://HOST:PORT, not {args.endpoint!r}", file=sys.stderr)
        return 1
    fs = pafs.S3FileSystem(
        endpoint_override=ep.netloc,
        scheme=ep.scheme,
        access_key=os.environ["AWS_ACCESS_KEY_ID"],
        secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        region=os.environ.get("AWS_REGION", "us-east-1"),
        # Path-style requests: the bucket is not a host name on 127.0.0.1.
        force_virtual_addressing=False,
    )

    path = f"{args.bucket}/{args.prefix}py/tiny.parquet"
    table = pa.table({
        "id": pa.array([1, 2, 3], pa.int64()),
        "title": pa.array(["Prague", "Brno", "Ostrava"]),
        "links": pa.array([["Brno"], ["Prague", "Ostrava"], []], pa.list_(pa.string())),
    })
    pq.write_table(table, path, filesystem=fs, compression="zstd")

    info = fs.get_file_info(path)
    if info.type != pafs.FileType.File or not info.size:
        print(f"s3check: {path} is not listed as a file after the write: {info}", file=sys.stderr)
        return 1
    listed = [i.path for i in fs.get_file_info(pafs.FileSelector(f"{args.bucket}/{args.prefix}py", recursive=True))]
    if path not in listed:
        print(f"s3check: {path} missing from the listing {listed}", file=sys.stderr)
        return 1

    back = pq.read_table(path, filesystem=fs)
    if not back.equals(table):
        print(f"s3check: read back differs:\n{back}\nwanted:\n{table}", file=sys.stderr)
        return 1

    expected = {}
    for kv in args.expect:
        key, sep, text = kv.partition("=")
        if not sep:
            print(f"s3check: --expect wants KEY=TEXT, not {kv!r}", file=sys.stderr)
            return 1
        with fs.open_input_stream(f"{args.bucket}/{key}") as f:
            got = f.read().decode("utf-8")
        if got != text:
            print(f"s3check: {key} holds {got!r}, wanted {text!r}", file=sys.stderr)
            return 1
        expected[key] = len(got)

    datasets = {}
    for d in args.dataset:
        tbl = pq.read_table(f"{args.bucket}/{d.rstrip('/')}", filesystem=fs)
        datasets[d] = {
            "rows": tbl.num_rows,
            "columns": tbl.column_names,
            "ids": sorted(tbl.column("id").to_pylist()) if "id" in tbl.column_names else [],
        }

    print(json.dumps({
        "pyarrow": pa.__version__,
        "parquet_key": path.split("/", 1)[1],
        "parquet_bytes": info.size,
        "rows": back.num_rows,
        "read_from_others": expected,
        "datasets": datasets,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
