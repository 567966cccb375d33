#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print the tables of `make bench` from its JSON files.

One table per kernel (part, op, size, backend, variant, median, spread,
ratio to the baseline); first touch as one line per variant with its
ratios to anon, remap and fault, its faults per page, the driver's own
fault counts and the share of them served under the per-VMA lock; a
summary of the strategies at 4 MiB and the huge strategy's faults per
2 MiB; its notes, the goals with how far each is from being met, and the
host calibration: the user-space baselines measured on the host next to
the same ones in the guest, so that readers see how far TCG distorts a
ratio.

With --summary, a Markdown table instead, one column per kernel: each
goal's worst figure and whether it is met, and each strategy's first touch
at the summary size against anon-4k (ranges over the backends), the rows
docs/benchmarks.md shows.

Usage: scripts/bench/bench-report.py [--summary] FILE.json...   (host.json is the calibration)
"""
import json
import math
import sys

PARTS = ["bandwidth", "first-touch", "mmap-only", "seed-002", "ipc", "scaling"]
TITLES = {
    "bandwidth": "1. bandwidth parity: GB/s over a pre-touched region; ratio to anon",
    "first-touch": "2. first touch: mmap + one write (or one read) per page + munmap; ns/page and"
                   " ratios to anon (THP as configured; same access), anon-4k (4 KiB pages only),"
                   " remap and fault; faults per page (ru_minflt) and the driver's own (a"
                   " fault-around or huge fault counts once); share of the driver's faults served"
                   " under the per-VMA lock",
    "mmap-only": "2d. mmap() alone: microseconds per call, and its slope per page",
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


FIRST_TOUCH_UNITS = ["ns/page", "faults/page", "driver faults/page", "VMA-lock share",
                     "faults/2MiB"]
HUGE_PAGE = 2 << 20


def first_touch_lines(rows):
    """{(op, size, shown_backend, variant): {unit: row}} of the first-touch rows, in order."""
    lines = {}
    for r in rows:
        if r["part"] == "first-touch":
            lines.setdefault((r["op"], r["size"], r["shown_backend"], r["variant"]),
                             {})[r["unit"]] = r
    return lines


def more_ratio(row, name):
    """The median ratio of a row to another variant ("" for none or itself)."""
    if row is None or row["variant"] == name:
        return None
    ratio = row.get("more_ratios", {}).get(name)
    return ratio["median"] if ratio and ratio["n"] else None


def ratio_cell(row, name):
    value = more_ratio(row, name)
    return "" if value is None else num(value)


def median_of(units, unit):
    r = units.get(unit)
    return r["value"]["median"] if r and r["value"]["n"] else None


def print_lines(head, lines, right):
    widths = [max(len(str(line[i])) for line in [head] + lines) for i in range(len(head))]
    for line in [head] + lines:
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w)
                 for i, (c, w) in enumerate(zip(line, widths))]
        print("  " + "  ".join(cells).rstrip())


def print_first_touch(rows):
    """One line per variant: ns/page with its ratios, then the fault counts."""
    head = ("op", "size", "backend", "variant", "ns/page", "spread", "x anon", "r.spread",
            "x anon-4k", "x remap", "x fault", "faults/page", "driver f/page", "VMA-lock",
            "faults/2MiB")
    lines = []
    for (op, size, backend, variant), units in first_touch_lines(rows).items():
        t = units.get("ns/page")
        ratio = t["ratio"] if t else None
        anon = "" if variant == "anon" or not ratio else num(ratio["median"])
        share = units.get("VMA-lock share")
        lines.append((op, size_label(size), backend, variant,
                      num(median_of(units, "ns/page")),
                      pct(t["value"]["spread"]) if t else "",
                      anon, "" if not anon else pct(ratio["spread"]),
                      ratio_cell(t, "anon-4k"), ratio_cell(t, "remap"), ratio_cell(t, "fault"),
                      num(median_of(units, "faults/page")),
                      num(median_of(units, "driver faults/page"))
                      if "driver faults/page" in units else "",
                      (pct(share["value"]["median"]) if share["value"]["n"] else "none")
                      if share else "",
                      num(median_of(units, "faults/2MiB")) if "faults/2MiB" in units else ""))
    print_lines(head, lines, set(range(4, len(head))) | {1})


def summary_size(rows):
    """The largest first-touch size every device run measured."""
    per_backend = {}
    for r in rows:
        if r["part"] == "first-touch" and r["backend"]:
            per_backend.setdefault(r["backend"], set()).add(r["size"])
    common = set.intersection(*per_backend.values()) if per_backend else set()
    return max(common) if common else None


def print_strategy_summary(rows, size):
    """Per backend and strategy at one size: read and write side by side."""
    lines_by_key = first_touch_lines(rows)
    head = ("backend", "variant", "read x anon", "x anon-4k", "x fault", "write x anon",
            "x anon-4k", "x fault", "read f/page", "write f/page", "read drv f/page",
            "VMA-lock read", "VMA-lock write")
    lines = []
    keys = sorted({(b, v) for (op, sz, b, v) in lines_by_key if sz == size and op == "read"},
                  key=lambda k: (k[0].strip("()"), not k[0].startswith("("), k[1] != "anon",
                                 k[1] != "memfd", k[1]))
    for backend, variant in keys:
        rd = lines_by_key.get(("read", size, backend, variant), {})
        wr = lines_by_key.get(("write", size, backend, variant), {})

        def anon_ratio(units):
            t = units.get("ns/page")
            return num(t["ratio"]["median"]) if t and t["ratio"] and variant != "anon" else ""

        def share(units):
            r = units.get("VMA-lock share")
            if r is None:
                return ""
            return pct(r["value"]["median"]) if r["value"]["n"] else "none"

        lines.append((backend, variant,
                      anon_ratio(rd), ratio_cell(rd.get("ns/page"), "anon-4k"),
                      ratio_cell(rd.get("ns/page"), "fault"),
                      anon_ratio(wr), ratio_cell(wr.get("ns/page"), "anon-4k"),
                      ratio_cell(wr.get("ns/page"), "fault"),
                      num(median_of(rd, "faults/page")), num(median_of(wr, "faults/page")),
                      num(median_of(rd, "driver faults/page"))
                      if "driver faults/page" in rd else "",
                      share(rd), share(wr)))
    print_lines(head, lines, set(range(2, len(head))))


def kernel_version(kernel):
    """(6, 12) of "6.12.95+deb12-amd64"."""
    parts = kernel.split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return 0, 0


def print_huge(rows, kernel):
    """Faults per 2 MiB of the huge strategy (and anon's, THP) at sizes of 2 MiB and more."""
    pmd = kernel_version(kernel) >= (6, 12)
    print("  expected for huge: 1 per 2 MiB on kmalloc and chunked memory "
          + ("(this kernel maps page frames with PMD entries)" if pmd else
             "on 6.12; 512 on this kernel, which has no PMD entries for page frames")
          + "; 512 on vmalloc memory (not physically contiguous); anon: THP's for comparison")
    head = ("op", "size", "backend", "variant", "faults/2MiB", "driver faults/2MiB", "ns/page",
            "x anon")
    lines = []
    for (op, size, backend, variant), units in first_touch_lines(rows).items():
        if "faults/2MiB" not in units or size < HUGE_PAGE:
            continue
        drv = median_of(units, "driver faults/page")
        t = units.get("ns/page")
        lines.append((op, size_label(size), backend, variant, num(median_of(units, "faults/2MiB")),
                      num(drv * HUGE_PAGE / 4096) if drv is not None else "",
                      num(median_of(units, "ns/page")),
                      num(t["ratio"]["median"]) if t and t["ratio"] and variant != "anon" else ""))
    print_lines(head, lines, {1, 4, 5, 6, 7})


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


def goals(rows, kernel):
    """(name, worst figure, where, distance): distance > 1 is missed by that factor, None
    when the goal does not apply to this kernel (the name says why)."""
    out = []
    bw = [r for r in rows if r["part"] == "bandwidth" and r["backend"] and r["ratio"]]
    if bw:
        w = min(bw, key=lambda r: r["ratio"]["median"])
        v = w["ratio"]["median"]
        out.append(("mapping bandwidth >= 0.95 x anon", v,
                    f"{w['op']} {w['backend']}/{w['variant']} {size_label(w['size'])}", 0.95 / v))
    ft = [r for r in rows if r["part"] == "first-touch" and r["variant"] == "fault"
          and r["op"] == "write" and r["ratio"]]
    if ft:
        w = max(ft, key=lambda r: r["ratio"]["median"])
        v = w["ratio"]["median"]
        out.append((".fault first touch (write) <= 1.0 x anon", v,
                    f"{w['backend']} {size_label(w['size'])}", v / 1.0))
    # Against anon as the kernel maps it (THP: one fault per 2 MiB from
    # 2 MiB on) and against anon in 4 KiB pages, the per-page comparison.
    for variant in ("faultaround", "prefault"):
        for op in ("read", "write"):
            ft = [r for r in rows if r["part"] == "first-touch" and r["variant"] == variant
                  and r["op"] == op and r["ratio"]]
            for base in ("anon-4k", "anon"):
                def ratio(r, base=base):
                    return r["ratio"]["median"] if base == "anon" else more_ratio(r, base)
                known = [r for r in ft if ratio(r) is not None]
                if known:
                    w = max(known, key=ratio)
                    v = ratio(w)
                    out.append((f"{variant} first touch ({op}) <= 0.25 x {base} {op}", v,
                                f"{w['backend']} {size_label(w['size'])}", v / 0.25))
    huge = [r for r in rows if r["part"] == "first-touch" and r["variant"] == "huge"
            and r["unit"] == "faults/2MiB" and r["backend"] in ("kmalloc", "chunked")]
    if huge:
        w = max(huge, key=lambda r: r["value"]["median"])
        v = w["value"]["median"]
        where = f"{w['op']} {w['backend']} {size_label(w['size'])}"
        if kernel_version(kernel) >= (6, 12):
            out.append(("huge: 1 fault per 2 MiB (kmalloc, chunked)", v, where, v / 1.0))
        else:
            out.append(("huge: 1 fault per 2 MiB (n/a: no PFN PMDs before 6.12)", v, where, None))
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


def goal_state(distance):
    if distance is None:
        return "not applicable"
    return "met" if distance <= 1 else f"missed by {distance:.2f}x"


def ratio_range(values):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    low, high = num(min(values)), num(max(values))
    return low if low == high else f"{low}-{high}"


def print_summary(paths):
    """The goals and the strategies' first touch, one Markdown column per kernel."""
    _, kernels = load(paths)
    if not kernels:
        print("no guest results", file=sys.stderr)
        return 1
    kernels.sort(key=lambda doc: kernel_version(doc["kernel"]))
    cells = {}  # row name -> {kernel: cell}
    order = []

    def put(name, kernel, cell):
        if name not in cells:
            cells[name] = {}
            order.append(name)
        cells[name][kernel] = cell

    for doc in kernels:
        rows = all_rows(doc)
        kernel = doc["kernel"]
        for name, value, where, distance in goals(rows, kernel):
            # The huge goal's name says why it does not apply; its row is one.
            put("huge: 1 fault per 2 MiB (kmalloc, chunked)" if name.startswith("huge:") else name,
                kernel,
                f"{num(value)} ({where}): {goal_state(distance)}")
        ft = [r for r in rows if r["part"] == "first-touch" and r["backend"]
              and r["unit"] == "ns/page"]
        size = summary_size(ft)
        if size is None:
            continue
        for variant in ("remap", "fault", "faultaround", "prefault", "huge"):
            name = f"`{variant}` first touch at {size_label(size)}, read / write x anon-4k"
            ratios = {op: ratio_range(more_ratio(r, "anon-4k") for r in ft
                                      if r["variant"] == variant and r["op"] == op
                                      and r["size"] == size) for op in ("read", "write")}
            put(name, kernel, f"{ratios['read']} / {ratios['write']}")
    names = [doc["kernel"] for doc in kernels]
    print("| figure | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for name in order:
        print(f"| {name} | " + " | ".join(cells[name].get(k, "-") for k in names) + " |")
    return 0


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
            if part != "first-touch":
                print_table(part_rows)
                continue
            print_first_touch(part_rows)
            size = summary_size(part_rows)
            if size:
                print()
                print(f" 2b. first touch at {size_label(size)}, the largest size every backend"
                      " has: ratios of ns/page, faults per page, share under the per-VMA lock")
                print_strategy_summary(part_rows, size)
            if any(r["unit"] == "faults/2MiB" and r["size"] >= HUGE_PAGE for r in part_rows):
                print()
                print(" 2c. huge mappings: faults per 2 MiB at sizes of 2 MiB and more"
                      " (ru_minflt, and the driver's own count)")
                print_huge(part_rows, doc["kernel"])
        notes = [n for run in doc["runs"] for n in run["notes"]]
        if notes:
            print()
            print(" notes:")
            for n in notes:
                print(f"  - {n}")
        print()
        print(" goals:")
        for name, value, where, distance in goals(rows, doc["kernel"]):
            state = goal_state(distance)
            print(f"  {name:<56} worst {num(value):>7}  ({where})  {state}")
            if distance is not None and (furthest is None or distance > furthest[0]):
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
    args = sys.argv[1:]
    summary = bool(args) and args[0] == "--summary"
    if summary:
        args = args[1:]
    if not args:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        sys.exit(2)
    sys.exit(print_summary(args) if summary else main(args))
