#!/usr/bin/env python3
"""Check a miroverse output root with readers independent of the Go code.

Reads every Parquet file with pyarrow and the SFT/DPO configs with Hugging Face
`datasets` (offline), checks the invariants a training job relies on, and prints
a JSON summary. Exits non-zero with a message naming the file and row on the
first violation.

usage: check_export.py ROOT
"""
import glob
import json
import os
import re
import sys

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pyarrow.parquet as pq  # noqa: E402
from datasets.utils.logging import disable_progress_bar  # noqa: E402

disable_progress_bar()

BOX = re.compile(r"\\boxed\s*\{")


def fail(msg):
    print(f"check_export: {msg}", file=sys.stderr)
    sys.exit(1)


def read_dir(root, rel):
    files = sorted(glob.glob(os.path.join(root, rel, "*.parquet")))
    if not files:
        fail(f"{rel}: no parquet files")
    rows = []
    for f in files:
        rows.extend(pq.read_table(f).to_pylist())
    return files, rows


def has_tool_call(messages):
    for m in messages:
        if m["role"] != "assistant":
            continue
        if m.get("tool_calls"):
            return True
        if "<use_mcp_tool>" in (m.get("content") or ""):
            return True
    return False


def check_tools(where, tools):
    try:
        schemas = json.loads(tools)
    except ValueError as e:
        fail(f"{where}: tools is not JSON: {e}")
    if not isinstance(schemas, list) or not schemas:
        fail(f"{where}: tools is not a non-empty JSON list")
    for s in schemas:
        fn = s.get("function") if isinstance(s, dict) else None
        if s.get("type") != "function" or not isinstance(fn, dict) or not fn.get("name") or "parameters" not in fn:
            fail(f"{where}: tools entry is not a function schema: {s!r}")


def main():
    if len(sys.argv) != 2:
        fail("usage: check_export.py ROOT")
    root = sys.argv[1]
    with open(os.path.join(root, "manifest.json")) as f:
        manifest = json.load(f)

    # Manifest row counts equal what the files hold.
    for part, out in manifest["outputs"].items():
        n = sum(pq.ParquetFile(os.path.join(root, p)).metadata.num_rows for p in out["files"])
        if n != out["rows"]:
            fail(f"{part}: manifest says {out['rows']} rows, files hold {n}")

    _, traj = read_dir(root, "trajectories")
    by_id = {t["id"]: t for t in traj}

    sft_files, sft = read_dir(root, "sft/data")
    for i, r in enumerate(sft):
        where = f"sft row {i} ({r['id']})"
        msgs = r["messages"]
        last = msgs[-1]
        if last["role"] != "assistant" or not BOX.search(last.get("content") or ""):
            fail(f"{where}: last message is not an assistant \\boxed{{}} answer")
        if not r["correct"]:
            fail(f"{where}: not judged correct")
        if not has_tool_call(msgs):
            fail(f"{where}: no tool call")
        check_tools(where, r["tools"])
    if manifest["stages"]["export"]["counts"].get("sft_rows", 0) != len(sft):
        fail("sft: manifest export count differs from rows")

    dpo_files, dpo = read_dir(root, "dpo/data")
    for i, r in enumerate(dpo):
        where = f"dpo row {i} ({r['id']})"
        if r["chosen"] == r["rejected"]:
            fail(f"{where}: chosen equals rejected")
        c, j = by_id.get(r["chosen_rollout_id"]), by_id.get(r["rejected_rollout_id"])
        if c is None or j is None:
            fail(f"{where}: rollout not found in trajectories")
        if not c["correct"] or j["correct"]:
            fail(f"{where}: chosen must be correct and rejected incorrect")
        if c["qa_id"] != r["qa_id"] or j["qa_id"] != r["qa_id"]:
            fail(f"{where}: chosen and rejected answer different questions")
        check_tools(where, r["tools"])

    # Hugging Face datasets loads both configs as a training job would.
    from datasets import load_dataset

    ds_sft = load_dataset("parquet", data_files=sft_files, split="train")
    ds_dpo = load_dataset("parquet", data_files=dpo_files, split="train")
    if len(ds_sft) != len(sft) or len(ds_dpo) != len(dpo):
        fail("datasets and pyarrow disagree on row counts")
    for col in ("messages", "tools", "qa_id"):
        if col not in ds_sft.column_names:
            fail(f"sft: datasets sees no column {col}")
    for col in ("prompt", "chosen", "rejected"):
        if col not in ds_dpo.column_names:
            fail(f"dpo: datasets sees no column {col}")

    print(json.dumps({"sft_rows": len(sft), "dpo_pairs": len(dpo), "trajectories": len(traj)}))


if __name__ == "__main__":
    main()
