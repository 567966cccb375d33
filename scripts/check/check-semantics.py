#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check that the semantics table and the suite agree: every row of each
table with a "pinned by" column in docs/semantics.md names at least one
Catch2 test case, as `backquoted` names in that column, and every name is
a TEST_CASE of tests/*.cpp. `make lint` runs it.

Usage: scripts/check/check-semantics.py [--table FILE] [--tests DIR]
Exit status: 0 when every row is pinned, 1 on a finding (one line each), 2 on
a usage error or a file that cannot be read.
"""
import argparse
import pathlib
import re
import sys

COLUMN = "pinned by"
# TEST_CASE("name", "[tag]") and TEST_CASE_METHOD(Fixture, "name", "[tag]"),
# the name possibly on the next line.
TEST_CASE = re.compile(r'\bTEST_CASE(?:_METHOD)?\s*\(\s*(?:[\w:<>]+\s*,\s*)?"((?:[^"\\]|\\.)*)"')
NAME = re.compile(r"`([^`]+)`")


def cells(line):
    """The cells of a Markdown table row, without the outer pipes."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def test_cases(directory):
    names = set()
    for path in sorted(pathlib.Path(directory).glob("*.cpp")):
        names.update(TEST_CASE.findall(path.read_text(encoding="utf-8")))
    return names


def findings(table_path, known):
    """(line number, message) for every row that names no test case or one
    that does not exist; also the number of rows checked."""
    found, rows, column = [], 0, None
    lines = table_path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.lstrip().startswith("|"):
            column = None  # a table ends at its first line that is not a row
            continue
        row = cells(line)
        if column is None:
            header = [c.lower() for c in row]
            column = header.index(COLUMN) if COLUMN in header else -1
            continue
        if column < 0 or set(line.replace("|", "").strip()) <= set("-: "):
            continue  # another table, or the header's separator line
        rows += 1
        what = row[0] if row else line
        names = NAME.findall(row[column]) if column < len(row) else []
        if not names:
            found.append((number, f"row {what} names no test case"))
        for name in names:
            if name not in known:
                found.append((number, f"row {what} names '{name}', not a test case of the suite"))
    if rows == 0:
        found.append((0, f"no table with a '{COLUMN}' column"))
    return found, rows


def main():
    root = pathlib.Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", default=root / "docs" / "semantics.md", type=pathlib.Path)
    parser.add_argument("--tests", default=root / "tests", type=pathlib.Path)
    args = parser.parse_args()
    try:
        known = test_cases(args.tests)
        found, rows = findings(args.table, known)
    except OSError as e:
        print(f"check-semantics: {e.filename}: {e.strerror}", file=sys.stderr)
        return 2
    if not known:
        found.append((0, f"no TEST_CASE in {args.tests}/*.cpp"))
    for number, message in found:
        print(f"{args.table}:{number}: {message}", file=sys.stderr)
    if found:
        return 1
    print(f"check-semantics: {rows} rows, each pinned by test cases of {args.tests}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
