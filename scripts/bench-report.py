#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print the tables of `make bench` from its JSON files.

One table per kernel (part, op, size, backend, variant, median, spread,
ratio to the baseline), its notes, the issue's three goals with how far
each is from being met, and the host calibration: the user-space baselines
measured on the host next to the same ones in the guest, so that readers
see how far TCG distorts a ratio.

Usage: scripts/bench-report.py FILE.json...   (host.json is the calibration)
"""
import json
import math
import sys

PARTS = ["bandwidth", "first-touch", "mmap-only", "seed-002", "ipc", "scaling"]
TITLES = {
    "bandwidth": "1. bandwidth parity: GB/s over a pre-touched region; ratio to anon",
    "first-touch": "2. first touch: mmap + one write per page + munmap; ratio to anon",
    "mmap-only": "2b. mmap() alone: microseconds per call, and its slope per page",
    "seed-002": "3. seed 002: read/write vs mmap, microseconds per run; ratio read/write / mmap",
    "ipc": "4. IPC ping-pong: one-way messages/s; ratio to pipe",
    "scaling": "5. process scaling: pages/s of N processes on disjoint slices; ratio to 1 process"
               " (INFORMATIONAL under TCG)",
}


def size_label(n):
    if n == 0:
        return "-"
    for unit, div in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div and n % div == 0:
            return f"{n // div} {unit}"
    return f"{n} B"


def num(x):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    a = abs(x)
    if a >= 1e5:
        return f"{x:.3g}"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    return f"{x:.3f}" if a < 1 else f"{x:.2f}"


def pct(x):
    return "-" if x is None else f"{100 * x:.0f}%"


def load(paths):
    host, kernels = None, []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        if doc["kernel"].startswith("host"):
            host = doc
        else:
            kernels.append(doc)
    return host, kernels


def env_line(run):
    e = run["env"]
    return (f"kernel {e['kernel']}, {e['vcpus']} vCPUs, accelerator {e['accelerator']}, "
            f"cpu '{e['cpu']}', THP {e['thp']}, fault_around_bytes {e['fault_around_bytes']}, "
            f"{e['reps']} repetitions")


def print_table(rows):
    head = ("op", "size", "backend", "variant", "median", "unit", "spread", "ratio", "r.spread",
            "vs")
    lines = [head]
    for r in rows:
        ratio = r["ratio"]
        lines.append((r["op"], size_label(r["size"]), r["shown_backend"],
                      r["variant"], num(r["value"]["median"]), r["unit"],
                      pct(r["value"]["spread"]), num(ratio["median"]) if ratio else "",
                      pct(ratio["spread"]) if ratio else "", r["baseline"]))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    right = {1, 4, 6, 7, 8}
    for line in lines:
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w)
                 for i, (c, w) in enumerate(zip(line, widths))]
        print("  " + "  ".join(cells).rstrip())


def all_rows(doc):
    """Rows of every run of a kernel. Each run has its own user-space
    baselines (its ratios are to them), so those rows are kept per run and
    named by it in the backend column, e.g. "(kmalloc)"."""
    rows = []
    for run in doc["runs"]:
        for r in run["rows"]:
            rows.append(dict(r, shown_backend=r["backend"] or f"({run['env']['label']})"))
    order = {p: i for i, p in enumerate(PARTS)}
    rows.sort(key=lambda r: (order.get(r["part"], 99), r["op"] != "10,000 ints", r["op"],
                             r["size"], r["shown_backend"].strip("()"), r["backend"] != ""))
    return rows


def goals(rows):
    """(name, goal text, worst figure, where, distance): distance > 1 is missed by that factor."""
    out = []
    bw = [r for r in rows if r["part"] == "bandwidth" and r["backend"] and r["ratio"]]
    if bw:
        w = min(bw, key=lambda r: r["ratio"]["median"])
        v = w["ratio"]["median"]
        out.append(("mapping bandwidth >= 0.95 x anon", v,
                    f"{w['op']} {w['backend']}/{w['variant']} {size_label(w['size'])}", 0.95 / v))
    ft = [r for r in rows if r["part"] == "first-touch" and r["variant"] == "fault"
          and r["ratio"]]
    if ft:
        w = max(ft, key=lambda r: r["ratio"]["median"])
        v = w["ratio"]["median"]
        out.append((".fault first touch <= 1.0 x anon", v,
                    f"{w['backend']} {size_label(w['size'])}", v / 1.0))
    ipc = [r for r in rows if r["part"] == "ipc" and r["backend"] and r["ratio"]
           and r["variant"].endswith("-spin") and r["size"] == 100]
    if ipc:
        w = min(ipc, key=lambda r: r["ratio"]["median"])
        v = w["ratio"]["median"]
        out.append(("IPC >= 10 x pipe (100 B, spin through the mapping)", v,
                    f"{w['backend']}/{w['variant']}", 10 / v))
    return out


def calibration(host, doc):
    """User-space rows present on the host and in the guest, side by side."""
    guest = {}
    # The run with the largest buffer has every size.
    for r in sorted(all_rows(doc), key=lambda r: r["shown_backend"] == "(vmalloc)"):
        if r["backend"] == "":
            guest[(r["part"], r["op"], r["size"], r["variant"], r["unit"])] = r
    lines = [("part", "op", "size", "variant", "unit", "host", "guest", "guest/host",
              "host ratio", "guest ratio", "distortion")]
    for r in host["runs"][0]["rows"]:
        g = guest.get((r["part"], r["op"], r["size"], r["variant"], r["unit"]))
        if g is None or r["part"] == "mmap-only":
            continue
        hv, gv = r["value"]["median"], g["value"]["median"]
        hr = r["ratio"]["median"] if r["ratio"] else None
        gr = g["ratio"]["median"] if g["ratio"] else None
        base = r["baseline"] == r["variant"]
        lines.append((r["part"], r["op"], size_label(r["size"]), r["variant"], r["unit"],
                      num(hv), num(gv), num(gv / hv if hv else None),
                      "" if base or hr is None else num(hr), "" if base or gr is None else num(gr),
                      "" if base or not hr or gr is None else f"{gr / hr:.2f}x"))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        cells = [str(c).rjust(w) if i >= 5 or i == 2 else str(c).ljust(w)
                 for i, (c, w) in enumerate(zip(line, widths))]
        print("  " + "  ".join(cells).rstrip())


def main(paths):
    host, kernels = load(paths)
    furthest = None
    for doc in kernels:
        rows = all_rows(doc)
        print(f"=== {doc['kernel']}")
        for run in doc["runs"]:
            print(f"  [{run['env']['label']}: {env_line(run)}; "
                  f"buffer {size_label(run['env']['buffer_size'])}, "
                  f"strategies {', '.join(run['env']['strategies'])}]")
        print("  median of the repetitions; spread = interquartile range / median; ratio = median"
              " of per-repetition ratios (variants interleaved) to 'vs'; backend '(kmalloc)':"
              " a user-space baseline measured in the kmalloc run")
        for part in PARTS:
            part_rows = [r for r in rows if r["part"] == part]
            if not part_rows:
                continue
            print()
            print(f" {TITLES[part]}")
            print_table(part_rows)
        notes = [n for run in doc["runs"] for n in run["notes"]]
        if notes:
            print()
            print(" notes:")
            for n in notes:
                print(f"  - {n}")
        print()
        print(" goals:")
        for name, value, where, distance in goals(rows):
            state = "met" if distance <= 1 else f"missed by {distance:.2f}x"
            print(f"  {name:<52} worst {num(value):>7}  ({where})  {state}")
            if furthest is None or distance > furthest[0]:
                furthest = (distance, name, doc["kernel"], value, where)
        if host:
            print()
            print(f" 6. host calibration: user-space baselines, host ({env_line(host['runs'][0])})"
                  " vs this guest; distortion = guest ratio / host ratio")
            calibration(host, doc)
        print()
    if furthest:
        distance, name, kernel, value, where = furthest
        print(f"furthest from its goal: {name}: {num(value)} ({where}, {kernel}); "
              + ("met" if distance <= 1 else f"missed by {distance:.2f}x"))
    if not kernels:
        print("no guest results", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
