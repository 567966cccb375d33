#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/check/check-semantics.py, which `make lint` runs: the committed table
# passes, and a table whose row names no test case, or a test case the
# suite does not have, fails naming that row.
#
# Usage: tests/semantics-table.sh   (CTest runs it on the host)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
check=$here/../scripts/check/check-semantics.py
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=0

fail() {
	echo "FAIL: $*" >&2
	failed=1
}

# expect STATUS TEXT TABLE: the checker's exit status and a line of its output.
expect() {
	local want=$1 text=$2 table=$3 status=0
	python3 "$check" --table "$table" --tests "$here" >"$scratch/out" 2>&1 || status=$?
	[[ $status -eq $want ]] || fail "$table: exit status $status, expected $want"
	grep -qF -- "$text" "$scratch/out" || fail "$table: no line with '$text' in: $(cat "$scratch/out")"
}

expect 0 "rows, each pinned" "$here/../docs/semantics.md"

cat >"$scratch/unpinned.md" <<'TABLE'
| operation | result | pinned by |
|---|---|---|
| `mmap()` with `PROT_EXEC` | `EPERM` | `errors: exec mappings are refused with EPERM` |
| `mmap()` of nothing | `EINVAL` | |
TABLE
expect 1 "unpinned.md:4: row \`mmap()\` of nothing names no test case" "$scratch/unpinned.md"

cat >"$scratch/missing.md" <<'TABLE'
| operation | result | pinned by |
|---|---|---|
| `mmap()` with `PROT_EXEC` | `EPERM` | `errors: exec mappings are refused with EPERM`, `errors: no such test` |
TABLE
expect 1 "names 'errors: no such test', not a test case of the suite" "$scratch/missing.md"

cat >"$scratch/none.md" <<'TABLE'
| operation | result |
|---|---|
| `mmap()` with `PROT_EXEC` | `EPERM` |
TABLE
expect 1 "no table with a 'pinned by' column" "$scratch/none.md"

exit "$failed"
