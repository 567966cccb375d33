#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Draw the plots of `make bench`: one PNG per kernel, <kernel>.png, with one
row per figure (first touch by writes, first touch by reads, bandwidth) and
one column per backend, so that a panel holds the five strategies and one
user-space baseline at most; the goal is drawn as a dashed line where
there is one. Only ratios measured in the same boot are drawn: a
strategy's figure against anonymous memory of that run.

Usage: scripts/bench/bench-plot.py --output DIR FILE.json...   (host.json is skipped)
"""
import argparse
import json
import pathlib

import matplotlib

matplotlib.use("Agg")  # no display: write the file only
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.ticker import FuncFormatter  # noqa: E402

STRATEGIES = ["remap", "fault", "faultaround", "prefault", "huge"]
COLOURS = {"remap": "tab:blue", "fault": "tab:red", "faultaround": "tab:green",
           "prefault": "tab:purple", "huge": "tab:orange", "memfd": "tab:brown"}

# (part, op, unit, ratio to, title, goal line, goal label, log scale)
FIGURES = [
    ("first-touch", "write", "ns/page", "anon-4k", "first touch, write: mmap + a write per page"
     " + munmap", 0.25, "goal for faultaround, prefault: 0.25", True),
    ("first-touch", "read", "ns/page", "anon-4k", "first touch, read: mmap + a read per page"
     " + munmap", 0.25, "goal for faultaround, prefault: 0.25", True),
    ("bandwidth", "sum", "GB/s", "anon", "bandwidth: sequential sum over a touched mapping",
     0.95, "goal: 0.95", False),
]


def ratio_of(row, base):
    """The row's median ratio to base, measured repetition by repetition."""
    if row["baseline"] == base and row["ratio"]:
        return row["ratio"]["median"]
    more = row.get("more_ratios", {}).get(base)
    return more["median"] if more and more["n"] else None


def size_tick(value, _):
    for unit, div in (("M", 1 << 20), ("K", 1 << 10)):
        if value >= div:
            return f"{value / div:g}{unit}"
    return f"{value:g}"


def ratio_tick(value, _):
    """1, 2, 3 and 5 times a power of ten: enough labels for a log axis."""
    return f"{value:g}" if f"{value:.0e}"[0] in "1235" else ""


def lines_of(run, part, op, unit, base):
    """{variant: [(size, ratio)]}: the strategies of one backend's run and memfd."""
    lines = {}
    for r in run["rows"]:
        if (r["part"], r["op"], r["unit"]) != (part, op, unit):
            continue
        if r["variant"] not in STRATEGIES and r["variant"] != "memfd":
            continue
        value = ratio_of(r, base)
        if value is not None:
            lines.setdefault(r["variant"], []).append((r["size"], value))
    return {k: sorted(v) for k, v in lines.items()}


def plot_kernel(doc, path):
    runs = [run for run in doc["runs"] if run["rows"]]
    fig, axes = plt.subplots(len(FIGURES), len(runs), figsize=(6 * len(runs), 4.2 * len(FIGURES)),
                             squeeze=False)
    for row, (part, op, unit, base, title, goal, goal_label, logy) in enumerate(FIGURES):
        for col, run in enumerate(runs):
            ax = axes[row][col]
            lines = lines_of(run, part, op, unit, base)
            for variant in STRATEGIES + ["memfd"]:
                if variant not in lines:
                    continue
                points = lines[variant]
                ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3,
                        color=COLOURS[variant], linestyle=":" if variant == "memfd" else "-",
                        label=variant if variant != "memfd" else "memfd (user space)")
            ax.axhline(1.0, color="black", linewidth=0.8)
            ax.axhline(goal, color="grey", linestyle="--", linewidth=1, label=goal_label)
            ax.set_xscale("log", base=2)
            ax.xaxis.set_major_formatter(FuncFormatter(size_tick))
            if logy:
                ax.set_yscale("log")
                ax.yaxis.set_major_formatter(FuncFormatter(ratio_tick))
                ax.yaxis.set_minor_formatter(FuncFormatter(ratio_tick))
            ax.set_title(f"{run['env']['label']}: {title}", fontsize=9)
            ax.set_xlabel("size")
            ax.set_ylabel(f"ratio to {base}" + (" (log)" if logy else ""))
            ax.grid(True, which="both", alpha=0.3)
            if lines:
                ax.legend(fontsize=7)
    fig.suptitle(f"{doc['kernel']} under QEMU TCG: ratios within one boot", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", required=True, type=pathlib.Path,
                        help="directory for <kernel>.png")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    drawn = 0
    for path in args.files:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        if doc["kernel"].startswith("host"):
            continue
        args.output.mkdir(parents=True, exist_ok=True)
        plot_kernel(doc, args.output / f"{doc['kernel']}.png")
        drawn += 1
    if not drawn:
        raise SystemExit("bench-plot: no guest results")


if __name__ == "__main__":
    main()
