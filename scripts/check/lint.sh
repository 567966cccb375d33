#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Every static check of the project; exits non-zero on any finding:
#   driver:  checkpatch --strict, sparse (C=2) and W=1 on every kernel of
#            scripts/host/kernels.conf, kernel-doc; the uapi header as C99 and C++20
#   C++:     clang-format (the repo's .clang-format), clang-tidy (.clang-tidy)
#   scripts: shellcheck
#   docs:    every row of the semantics table names test cases that exist
#            (scripts/check/check-semantics.py)
#
# Usage: scripts/check/lint.sh
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
[[ $# -eq 0 ]] || {
	echo "usage: $prog" >&2
	exit 2
}

failed=()
step() { printf '%s: %s\n' "$prog" "$*" >&2; }
check() {
	local name=$1 start=$SECONDS
	shift
	step "$name"
	if ! "$@"; then
		failed+=("$name")
		step "FAILED: $name ($((SECONDS - start))s)"
	else
		step "ok: $name ($((SECONDS - start))s)"
	fi
}

# shellcheck source=scripts/lib.sh
. "$here/../lib.sh"
eval "$("$here/../host/fetch-kernel-tools.sh")"
driver_sources=(driver/*.c driver/*.h driver/uapi/*.h)

checkpatch() {
	local cp=("$TOOLS/scripts/checkpatch.pl" --strict --no-tree --quiet --show-types --terse -f)
	# compat.h is where the version tests live by design. checkpatch flags
	# every LINUX_VERSION_CODE, and reads "LINUX_VERSION_CODE < KERNEL_VERSION()"
	# as a constant on the left of a comparison.
	local others=() f
	for f in "${driver_sources[@]}"; do
		[[ $f == driver/compat.h ]] || others+=("$f")
	done
	"${cp[@]}" --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON driver/compat.h &&
		"${cp[@]}" "${others[@]}"
}

kernel_doc() {
	local out
	out=$("$TOOLS/scripts/kernel-doc" -none "${driver_sources[@]}" 2>&1)
	[[ -z $out ]] || {
		echo "$out"
		return 1
	}
}

uapi_header() {
	local flags=(-Wall -Wextra -Wpedantic -Werror -fsyntax-only -I driver/uapi)
	echo '#include <mmapdemo.h>' | gcc -std=c99 "${flags[@]}" -x c - &&
		echo '#include <mmapdemo.h>' | g++ -std=c++20 "${flags[@]}" -x c++ -
}

# Build noise is expected; any other line is a compiler or sparse finding.
kernel_build() {
	local series=$1 KVER KDIR VMLINUZ out
	eval "$("$here/../host/fetch-kernel.sh" "$series")"
	: "$VMLINUZ"
	rm -rf "build/lint/kmod/$KVER"
	out=$(make -s -C "$root" module KVER="$KVER" KDIR="$KDIR" BUILD="$root/build/lint" C=2 2>&1 |
		grep -vE '^(make(\[[0-9]+\])?: (Entering|Leaving) directory|module: |Skipping BTF generation)' || :)
	[[ -z $out ]] || {
		echo "$out"
		return 1
	}
}

cxx_sources() { git ls-files '*.cpp' '*.hpp'; }

clang_format() {
	cxx_sources | xargs clang-format --dry-run --Werror
}

# tidy_keys DB: "FILE KEY" for each source of the compile database DB, KEY a
# hash of all that clang-tidy's verdict on it depends on: the preprocessed
# source (every header included), the compile command, .clang-tidy and
# clang-tidy's version; the checkout's own path left out, so that another
# clone of the same tree finds the same keys.
tidy_keys() {
	python3 - "$1" "$(clang-tidy --version)" "$(cat .clang-tidy)" <<'EOF'
import hashlib, json, os, shlex, subprocess, sys
from concurrent.futures import ThreadPoolExecutor

db, version, config = sys.argv[1], sys.argv[2], sys.argv[3]
top = os.getcwd()


def key(entry):
    args = entry.get("arguments") or shlex.split(entry["command"])
    # The same command, preprocessing only, to stdout.
    pre, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a == "-o":
            skip = True
        elif a != "-c":
            pre.append(a)
    out = subprocess.run(pre + ["-E", "-o", "-"], cwd=entry["directory"], check=True,
                         capture_output=True).stdout
    h = hashlib.sha256()
    for part in (version, config, " ".join(args).replace(top, "@")):
        h.update(part.encode() + b"\0")
    h.update(out.replace(top.encode(), b"@"))
    return entry["file"], h.hexdigest()[:32]


with open(db) as f:
    entries = json.load(f)
with ThreadPoolExecutor() as pool:
    for file, k in pool.map(key, entries):
        print(file, k)
EOF
}

# clang-tidy is the slowest check: a file that passed it is not checked
# again until something its verdict depends on changes (tidy_keys).
clang_tidy() {
	local db=build/lint/tidy cache total todo
	cache=$(cache_dir)/clang-tidy
	mkdir -p "$cache"
	cmake -S . -B "$db" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DMMAPDEMO_WERROR=OFF >/dev/null
	tidy_keys "$db/compile_commands.json" >"$db/keys"
	total=$(wc -l <"$db/keys")
	awk -v c="$cache" '{ if (system("test -e " c "/" $2) != 0) print $1, c, $2 }' \
		"$db/keys" >"$db/todo"
	todo=$(wc -l <"$db/todo")
	step "clang-tidy: $todo of $total files changed since they last passed"
	[[ $todo -gt 0 ]] || return 0
	# One file per clang-tidy, so that each one that passes is remembered.
	# shellcheck disable=SC2016
	xargs -P "$(nproc)" -L 1 sh -c 'clang-tidy -p "$0" --quiet "$1" && touch "$2/$3"' \
		"$db" <"$db/todo"
}

shell_scripts() {
	git ls-files '*.sh' .ci/run | xargs shellcheck -x
}

check "semantics table pinned by the suite" python3 "$here/check-semantics.py"
check checkpatch checkpatch
check kernel-doc kernel_doc
check "uapi header as C99 and C++20" uapi_header
# Every kernel's headers (and build root) at once, before their checks:
# mostly downloads and unpacking. A failure shows in the check that follows.
step "fetching every kernel's headers"
for series in $("$here/../host/kernels.sh" list); do
	"$here/../host/fetch-kernel.sh" "$series" >/dev/null 2>&1 &
done
wait
for series in $("$here/../host/kernels.sh" list); do
	check "sparse and W=1 on $series" kernel_build "$series"
done
check clang-format clang_format
check clang-tidy clang_tidy
check shellcheck shell_scripts

if [[ ${#failed[@]} -gt 0 ]]; then
	step "failed: ${failed[*]}"
	exit 1
fi
step "all checks clean"
