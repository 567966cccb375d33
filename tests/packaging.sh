#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side packaging checks: `make install DESTDIR=` lays down exactly the
# expected files and `make uninstall` removes them, `dkms build` works for
# every kernel of scripts/host/kernels.conf without touching the system's DKMS
# tree (inside the kernel's build root where it has one),
# modinfo documents the module, and a guest running the installed files
# loads the module and applies the node's permissions. Needs `make
# userspace` first.
#
# Usage: tests/packaging.sh
set -euo pipefail

# shellcheck source=tests/host-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/host-lib.sh" packaging
[[ $# -eq 0 ]] || usage_exit

# result STATUS NAME: a check of several steps, each of which set STATUS
# to 1 if it failed.
result() {
	check "$2" test "$1" -eq 0
}

# Runs "$@" quietly; shows its output only when it fails.
quiet() {
	local log=$work/log
	"$@" >"$log" 2>&1 || {
		cat "$log"
		return 1
	}
}

kernel() {
	local KVER KDIR VMLINUZ
	eval "$("$root/scripts/host/fetch-kernel.sh" "$1" 2>/dev/null)"
	: "$VMLINUZ"
	echo "$KVER $KDIR"
}

# install, then uninstall, into a staging root
read -r -a kernels <<<"$("$root/scripts/host/kernels.sh" list)"
read -r kver kdir < <(kernel "${kernels[0]}")
stage=$work/stage
expected=$(sort <<EOF_FILES
etc/modules-load.d/mmapdemo.conf
etc/udev/rules.d/70-mmapdemo.rules
lib/modules/$kver/updates/mmapdemo.ko
usr/local/bin/mmapdemo
usr/local/include/mmapdemo.h
usr/local/include/mmapdemo/device.hpp
usr/local/include/mmapdemo/mapping.hpp
usr/local/include/mmapdemo/mmapdemo.hpp
usr/local/include/mmapdemo/types.hpp
usr/local/lib/cmake/mmapdemo/mmapdemoConfig.cmake
usr/local/lib/cmake/mmapdemo/mmapdemoConfigVersion.cmake
usr/local/lib/cmake/mmapdemo/mmapdemoTargets-relwithdebinfo.cmake
usr/local/lib/cmake/mmapdemo/mmapdemoTargets.cmake
usr/local/lib/libmmapdemo.a
EOF_FILES
)
# depmod's index files belong to the kernel's module tree, not to us.
ours() { (cd "$stage" && find . -type f ! -name 'modules.*' | sed 's|^\./||' | sort); }

status=0
quiet make -C "$root" install DESTDIR="$stage" KVER="$kver" KDIR="$kdir" || status=1
if [[ $status -eq 0 && $(ours) != "$expected" ]]; then
	diff <(echo "$expected") <(ours) || :
	status=1
fi
result $status "make install DESTDIR= installs exactly the expected files"

status=0
grep -qx 'KERNEL=="mmapdemo", SUBSYSTEM=="misc", GROUP="mmapdemo", MODE="0660"' \
	"$stage/etc/udev/rules.d/70-mmapdemo.rules" || status=1
grep -q '^updates/mmapdemo.ko:' "$stage/lib/modules/$kver/modules.dep" || status=1
result $status "the udev rule and depmod's modules.dep name the device and the module"

status=0
quiet make -C "$root" uninstall DESTDIR="$stage" KVER="$kver" || status=1
[[ -z $(ours) ]] || {
	ours
	status=1
}
result $status "make uninstall removes every installed file"

# modinfo documents the module
status=0
info=$(modinfo "$root/build/kmod/$kver/mmapdemo.ko")
for field in description author license version 'parm: *size:' 'parm: *backend:' 'parm: *strategy:'; do
	grep -qE "^$field" <<<"$info" || {
		echo "modinfo lacks '$field'"
		status=1
	}
done
result $status "modinfo shows description, author, license, version and every parameter"

# dkms build, in private trees so the system's DKMS state is untouched
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$root/dkms.conf")
src=$work/dkms-src/mmapdemo-$version
mkdir -p "$src" "$work/dkms-tree"
(cd "$root" && git ls-files Kbuild Makefile dkms.conf driver | xargs cp --parents -t "$src")
for series in "${kernels[@]}"; do
	read -r kver kdir < <(kernel "$series")
	status=0
	# Headers in a build root (KDIR <root>/usr/src/...) build with its dkms.
	in_root=()
	broot=${kdir%/usr/src/*}
	if [[ -f $broot/.mmapdemo-root ]]; then
		in_root=("$root/scripts/host/in-root.sh" "$broot" --bind "$work" --)
		kdir=${kdir#"$broot"}
	fi
	quiet "${in_root[@]}" dkms build "mmapdemo/$version" -k "$kver" --kernelsourcedir "$kdir" \
		--dkmstree "$work/dkms-tree" --sourcetree "$work/dkms-src" || status=1
	ko=$work/dkms-tree/mmapdemo/$version/$kver/x86_64/module/mmapdemo.ko
	if [[ $status -eq 0 ]]; then
		[[ -f $ko && $(modinfo -F vermagic "$ko") == "$kver "* ]] || status=1
	fi
	result $status "dkms build for $kver"
done

# The installed files on a running system: a guest boots with them as its
# root, loads the module through modules-load.d with modprobe.d options and
# gives the node the udev rule's group and mode (scripts/guest/install-check.sh).
for series in "${kernels[@]}"; do
	status=0
	quiet "$root/scripts/vm/guest.sh" "$series" install || status=1
	result $status "guest $series: modprobe with modprobe.d options, node 0660 for the group"
done

summary
