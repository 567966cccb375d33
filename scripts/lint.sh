#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Every static check of the project; exits non-zero on any finding:
#   driver:  checkpatch --strict, sparse (C=2) and W=1 on every kernel of
#            scripts/kernels.conf, kernel-doc; the uapi header as C99 and C++20
#   C++:     clang-format (the repo's .clang-format), clang-tidy (.clang-tidy)
#   scripts: shellcheck
#   docs:    every row of the semantics table names test cases that exist
#            (scripts/check-semantics.py)
#
# Usage: scripts/lint.sh
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
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

eval "$("$here/fetch-kernel-tools.sh")"
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
	eval "$("$here/fetch-kernel.sh" "$series")"
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

clang_tidy() {
	cmake -S . -B build/lint/tidy -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DMMAPDEMO_WERROR=OFF >/dev/null &&
		cxx_sources | grep '\.cpp$' | xargs -P "$(nproc)" -n 4 clang-tidy -p build/lint/tidy --quiet
}

shell_scripts() {
	git ls-files '*.sh' .ci/run | xargs shellcheck -x
}

check "semantics table pinned by the suite" python3 "$here/check-semantics.py"
check checkpatch checkpatch
check kernel-doc kernel_doc
check "uapi header as C99 and C++20" uapi_header
for series in $("$here/kernels.sh" list); do
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
