#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest job after `make install DESTDIR=<guest root>` (scripts/vm/guest.sh
# SERIES install): the installed module tree, modules-load.d entry and udev
# rule work on a running system. The guest has busybox, not udev: its mdev
# gets the installed rule's group and mode (the udev-equivalent), and
# modules-load.d is read the way systemd-modules-load reads it.
#
# Checks, one PASS/FAIL line each:
#   - modprobe loads every module modules-load.d names, with the options of
#     a modprobe.d file (size and backend differ from the defaults);
#   - the node gets the rule's group and mode (0660), a group member can use
#     it, a user outside the group gets EACCES;
#   - the installed `mmapdemo info` reports the configured size and backend;
#   - modprobe -r unloads it.
#
# Usage: install-check.sh KVER
set -u

# shellcheck source=scripts/guest/guest-lib.sh
. "${MMAPDEMO_GUEST_LIB:-/bin/guest-lib.sh}"
work=$guest_work

[ $# -eq 1 ] || {
	echo "usage: ${0##*/} KVER" >&2
	exit 2
}
kver=$1
rule=/etc/udev/rules.d/70-mmapdemo.rules
# Not the defaults (1 MiB, kmalloc): proves the options were applied.
want_size=3145728
want_backend=vmalloc

# check NAME COMMAND...: one result line; on failure the command's output.
check() {
	name=$1
	shift
	run_step "install/$name" "$@" || {
		indent <"$work/out"
		cat "$work/kernel"
	}
}

[ "$(uname -r)" = "$kver" ] || echo "note: running $(uname -r), installed for $kver"

# The administrator's part: a group with one member, one user outside it, and
# module options in modprobe.d.
group=$(sed -n 's/.*GROUP="\([^"]*\)".*/\1/p' "$rule" 2>/dev/null)
echo "root:x:0:0:root:/root:/bin/sh" >/etc/passwd
echo "member:x:1000:1000::/tmp:/bin/sh" >>/etc/passwd
echo "outsider:x:1001:1001::/tmp:/bin/sh" >>/etc/passwd
{
	echo "root:x:0:"
	echo "member:x:1000:"
	echo "outsider:x:1001:"
	echo "${group:-mmapdemo}:x:990:member"
} >/etc/group
mkdir -p /etc/modprobe.d
echo "options mmapdemo size=$want_size backend=$want_backend" >/etc/modprobe.d/mmapdemo.conf

# udev rule -> mdev.conf line: "<device> root:<group> <mode>".
rule_to_mdev() {
	sed -n 's/^KERNEL=="\([^"]*\)".*GROUP="\([^"]*\)".*MODE="0*\([0-7]*\)".*/\1 root:\2 \3/p' "$rule"
}

# Kbuild compresses installed modules when the kernel says so (6.12: .ko.xz).
installed_files() {
	ko=$(sed -n 's/^\(updates\/mmapdemo\.ko[.a-z]*\):.*/\1/p' "/lib/modules/$kver/modules.dep")
	[ -n "$ko" ] || {
		echo "modules.dep does not list updates/mmapdemo.ko"
		return 1
	}
	[ -f "/lib/modules/$kver/$ko" ] || {
		echo "modules.dep lists $ko, but /lib/modules/$kver/$ko is missing"
		return 1
	}
	echo "module: /lib/modules/$kver/$ko"
	[ -f /etc/modules-load.d/mmapdemo.conf ] || {
		echo "no /etc/modules-load.d/mmapdemo.conf"
		return 1
	}
	[ -n "$(rule_to_mdev)" ] || {
		echo "cannot read group and mode from $rule:"
		cat "$rule"
		return 1
	}
	rule_to_mdev >/etc/mdev.conf
	echo "mdev.conf: $(cat /etc/mdev.conf)"
}

# systemd-modules-load: one module name per line, # and ; start comments.
# (Busybox modprobe hands a compressed module to the kernel as is first, so
# 6.12 logs one "Invalid ELF header magic" before it loads the unpacked one.)
modules_load() {
	for conf in /etc/modules-load.d/*.conf; do
		sed 's/[#;].*//' "$conf" | while read -r module; do
			[ -n "$module" ] || continue
			echo "modprobe $module"
			modprobe "$module" || return 1
		done || return 1
	done
	loaded || {
		echo "mmapdemo is not loaded"
		return 1
	}
}

options_applied() {
	size=$(cat /sys/module/mmapdemo/parameters/size)
	backend=$(cat /sys/module/mmapdemo/parameters/backend)
	echo "parameters: size=$size backend=$backend"
	[ "$size" = $want_size ] && [ "$backend" = $want_backend ]
}

# udev applies the rule on the device's "add" event. These kernels have no
# uevent helper, so mdev gets that event as a helper would: the device's
# uevent variables plus ACTION, DEVPATH and SUBSYSTEM in its environment.
node_permissions() {
	wait_dev || {
		echo "/dev/mmapdemo did not appear"
		return 1
	}
	sysdev=$(cd /sys/class/misc/mmapdemo && pwd -P)
	# shellcheck disable=SC2046 # one VAR=value word per line of the file
	env $(cat /sys/class/misc/mmapdemo/uevent) ACTION=add SUBSYSTEM=misc \
		DEVPATH="${sysdev#/sys}" mdev || return 1
	got=$(stat -c '%a %U:%G' /dev/mmapdemo)
	echo "/dev/mmapdemo: $got"
	[ "$got" = "660 root:${group:-mmapdemo}" ]
}

member_uses_it() {
	su member -s /bin/sh -c '/usr/local/bin/mmapdemo info' >"$work/info" 2>&1
	rc=$?
	cat "$work/info"
	[ $rc -eq 0 ] &&
		grep -q "^size: *$want_size bytes" "$work/info" &&
		grep -q "^backend: *$want_backend" "$work/info"
}

outsider_refused() {
	rc=0
	su outsider -s /bin/sh -c '/usr/local/bin/mmapdemo info' >"$work/info" 2>&1 || rc=$?
	cat "$work/info"
	echo "exit status $rc"
	[ $rc -eq 1 ] && grep -q 'Permission denied' "$work/info"
}

modprobe_remove() {
	modprobe -r mmapdemo || return 1
	! loaded && [ ! -e /dev/mmapdemo ]
}

check installed-files installed_files
check modules-load-d-and-modprobe-d modules_load
check options-applied options_applied
check node-group-and-mode node_permissions
check group-member-opens member_uses_it
check outsider-gets-eacces outsider_refused
check modprobe-r modprobe_remove
guest_summary
