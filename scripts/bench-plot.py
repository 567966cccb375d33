#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Draw the PNG of `make bench`: per kernel, first touch by writes and by
reads (ns/page) and bandwidth (sum, ratio to anon) against size, one line
per variant.

Usage: scripts/bench-plot.py --output PNG FILE.json...
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")  # no display: write the file only
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)


def series(doc, part, op, unit, field):
    """{label: [(size, value)]} of a kernel's rows, device variants per backend."""
    lines = {}
    for run in doc["runs"]:
        for r in run["rows"]:
            if r["part"] != part or r["op"] != op or r["unit"] != unit:
                continue
            value = r[field]["median"] if r[field] else None
            if value is None:
                continue
            label = f"{r['backend']}/{r['variant']}" if r["backend"] else r["variant"]
            points = lines.setdefault(label, {})
            points[r["size"]] = value  # user-space rows repeat per run: same figure kind
    return {k: sorted(v.items()) for k, v in lines.items()}


# One colour per variant, one line style per backend: 17 lines stay apart.
COLOURS = {"remap": "tab:blue", "fault": "tab:red", "faultaround": "tab:green",
           "prefault": "tab:purple", "huge": "tab:orange", "anon": "black",
           "anon-4k": "tab:gray", "memfd": "tab:brown"}
LINES = {"kmalloc": "-", "vmalloc": "--", "chunked": ":"}


def style(label):
    backend, _, variant = label.rpartition("/")
    return {"color": COLOURS.get(variant), "linestyle": LINES.get(backend, "-."),
            "linewidth": 2 if not backend else 1.3}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--output", required=True)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    docs = []
    for path in args.files:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        if not doc["kernel"].startswith("host"):
            docs.append(doc)
    if not docs:
        raise SystemExit("bench-plot: no guest results")

    fig, axes = plt.subplots(len(docs), 3, figsize=(19, 5.5 * len(docs)), squeeze=False)
    for row, doc in enumerate(docs):
        panels = [
            (series(doc, "first-touch", "write", "ns/page", "value"),
             "first touch: mmap + write per page + munmap", "ns/page (log)", True),
            (series(doc, "first-touch", "read", "ns/page", "value"),
             "first touch: mmap + read per page + munmap", "ns/page (log)", True),
            (series(doc, "bandwidth", "sum", "GB/s", "ratio"),
             "bandwidth, sequential sum: ratio to anon", "ratio to anon", False),
        ]
        for col, (lines, title, ylabel, logy) in enumerate(panels):
            ax = axes[row][col]
            for label, points in sorted(lines.items()):
                ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3,
                        label=label, **style(label))
            ax.set_xscale("log", base=2)
            if logy:
                ax.set_yscale("log")
            else:
                ax.axhline(0.95, color="grey", linestyle="--", linewidth=1)
            ax.set_title(f"{doc['kernel']} (TCG): {title}", fontsize=9)
            ax.set_xlabel("size (bytes)")
            ax.set_ylabel(ylabel)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(args.output, dpi=100)


if __name__ == "__main__":
    main()
