#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Extract the kernel's source checkers (checkpatch.pl with its data files, and
# kernel-doc) from Debian's linux-source-6.1 into the cache, once per source
# version. Installs linux-source-6.1 if it is missing.
#
# Usage: scripts/host/fetch-kernel-tools.sh
# Prints one shell-assignable line on stdout: TOOLS=<dir holding scripts/>.
set -euo pipefail

prog=${0##*/}
[[ $# -eq 0 ]] || {
	echo "usage: $prog" >&2
	exit 2
}

pkg=linux-source-6.1
tarball=/usr/src/linux-source-6.1.tar.xz
files=(scripts/checkpatch.pl scripts/spelling.txt scripts/const_structs.checkpatch scripts/kernel-doc)

if [[ ! -f $tarball ]]; then
	sudo=()
	[[ $(id -u) -eq 0 ]] || sudo=(sudo)
	echo "$prog: installing $pkg" >&2
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "$pkg" </dev/null >&2
fi

version=$(dpkg-query -W -f='${Version}' "$pkg")
cache=${MMAPDEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmapdemo}
dir=$cache/kernel-tools/$version
if [[ ! -f $dir/.complete ]]; then
	echo "$prog: extracting checkpatch and kernel-doc from $pkg $version" >&2
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/kernel-tools.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	tar -xJf "$tarball" -C "$tmp" --strip-components=1 "${files[@]/#/linux-source-6.1/}"
	touch "$tmp/.complete"
	rm -rf "$dir"
	mkdir -p "${dir%/*}"
	mv "$tmp" "$dir"
	trap - EXIT
fi
echo "TOOLS=$dir"
