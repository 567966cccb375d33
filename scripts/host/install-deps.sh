#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the build and test dependencies on Debian bookworm, idempotently:
# adds the bookworm-backports apt source if missing, on the mirror the host's
# own sources use, and installs only the packages that are not installed yet.
# Never installs a kernel package (the kernels for the QEMU guests come from
# scripts/host/fetch-kernel.sh instead) nor adds a source of another release
# (kernels of newer suites build in roots of their own, scripts/host/build-root.sh).
#
# Usage: scripts/host/install-deps.sh   (as root, or as a user with sudo)
set -euo pipefail

prog=${0##*/}
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

[[ $# -eq 0 ]] || usage_exit

bookworm_pkgs=(
	build-essential g++ cmake make qemu-system-x86 busybox-static cpio kmod
	gzip dwarves libcli11-dev libfmt-dev nlohmann-json3-dev sparse flex bison
	bc libelf-dev libssl-dev shellcheck xz-utils zstd clang-format clang-tidy dkms
	stress-ng python3 python3-matplotlib debootstrap ccache
	# The debug kernel's sources (scripts/host/build-debug-kernel.sh): installed
	# here, so that its build can start beside make lint without apt.
	linux-source-6.1
)
# bookworm's own Catch2 is v2; the suite needs v3.
backports_pkgs=(libcatch2-dev)
catch2_min=3

backports_file=/etc/apt/sources.list.d/bookworm-backports.sources

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[[ $codename == bookworm ]] ||
	die "this script supports Debian bookworm only (found '${codename:-unknown}')"

sudo=()
if [[ $(id -u) -ne 0 ]]; then
	command -v sudo >/dev/null || die "not root and sudo is not installed"
	sudo=(sudo)
fi

installed() {
	[[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) == "ii"* ]]
}

need_update=false

# Any active (uncommented) source line or deb822 stanza naming the suite counts.
if ! grep -rqsE '^[^#]*\bbookworm-backports\b' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	mirror=$(host_mirror)
	echo "$prog: adding the bookworm-backports apt source ($backports_file, $mirror)" >&2
	"${sudo[@]}" tee "$backports_file" >/dev/null <<SRC
Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	need_update=true
elif ! apt-cache policy 2>/dev/null | grep -q 'n=bookworm-backports'; then
	# Source present but never fetched: fetch-kernel.sh needs its lists too.
	need_update=true
fi

missing=()
for p in "${bookworm_pkgs[@]}"; do
	installed "$p" || missing+=("$p")
done

missing_bpo=()
for p in "${backports_pkgs[@]}"; do
	if ! installed "$p" ||
		dpkg --compare-versions "$(dpkg-query -W -f='${Version}' "$p")" lt "$catch2_min"; then
		missing_bpo+=("$p")
	fi
done

if [[ ${#missing[@]} -eq 0 && ${#missing_bpo[@]} -eq 0 && $need_update == false ]]; then
	echo "$prog: all dependencies are installed" >&2
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confold)

# sudo drops DEBIAN_FRONTEND unless it is passed explicitly.
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
if [[ ${#missing[@]} -gt 0 ]]; then
	echo "$prog: installing ${missing[*]}" >&2
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install "${apt_opts[@]}" "${missing[@]}" </dev/null
fi
if [[ ${#missing_bpo[@]} -gt 0 ]]; then
	echo "$prog: installing ${missing_bpo[*]} from bookworm-backports" >&2
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install "${apt_opts[@]}" -t bookworm-backports "${missing_bpo[@]}" </dev/null
fi
echo "$prog: done" >&2
