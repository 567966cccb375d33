#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a debug guest kernel (KASAN, KFENCE, kmemleak, lockdep, DEBUG_VM,
# DEBUG_PAGEALLOC, PAGE_TABLE_CHECK, UBSAN, fault injection) from Debian's
# linux-source-6.1 package, with the options in scripts/host/debug-kernel.config.
#
# Usage: scripts/host/build-debug-kernel.sh
#
# Prints three shell-assignable lines on stdout (progress goes to stderr):
#   KVER=<kernelrelease>  KDIR=<build tree>  VMLINUZ=<bzImage>
# External modules build with `make -C $KDIR M=<dir> modules`.  The guest must
# pass debug_pagealloc=on and page_table_check=on to turn those checks on.
#
# Cache: ${MMAPDEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmapdemo}/debug-kernel/<key>
# <key> is the linux-source-6.1 version plus a hash of the config fragment,
# the build recipe below and the compiler version; a build (~10 minutes on two
# cores) happens only when one of them changes.
set -euo pipefail

prog=${0##*/}
src_pkg=linux-source-6.1
src_tar=/usr/src/$src_pkg.tar.xz
fragment=$(cd "$(dirname "$0")" && pwd)/debug-kernel.config
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

usage() {
	usage_exit "  (no arguments; see the header of $0)"
}

# "3m07s" for the time since $1 (a $SECONDS value).
elapsed() {
	local s=$((SECONDS - $1))
	printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# --- Build dependencies ---------------------------------------------------------

installed() {
	[[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) == ii* ]]
}

apt_get() {
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@" </dev/null >&2
}

install_deps() {
	need=()
	for p in "$src_pkg" flex bison bc libelf-dev libssl-dev dwarves xz-utils; do
		installed "$p" || need+=("$p")
	done
	command -v gcc >/dev/null && command -v make >/dev/null || need+=(build-essential)
	[[ ${#need[@]} -gt 0 ]] || return 0
	log "installing ${need[*]}"
	sudo=()
	if [[ $EUID -ne 0 ]]; then
		command -v sudo >/dev/null || die "need root or sudo to install ${need[*]}"
		sudo=(sudo)
	fi
	# A fresh machine may have no package lists yet.
	if ! apt_get install -y -q --no-install-recommends "${need[@]}"; then
		log "install failed; refreshing package lists and retrying"
		apt_get update -q || die "apt-get update failed"
		apt_get install -y -q --no-install-recommends "${need[@]}" ||
			die "apt-get install ${need[*]} failed"
	fi
}

# --- The build recipe (its text is part of the cache key) -----------------------

# Run one build phase with its output appended to the build log.  A heartbeat
# line every minute shows that a long phase is still alive.
step() {
	local what=$1 start=$SECONDS next=60
	shift
	log "$what"
	printf '\n### %s\n### %s\n' "$what" "$*" >>"$buildlog"
	"$@" >>"$buildlog" 2>&1 </dev/null &
	step_pid=$!
	while kill -0 "$step_pid" 2>/dev/null; do
		sleep 1
		if ((SECONDS - start >= next)); then
			log "  ... $(elapsed "$start"): $(tail -n 1 "$buildlog" | cut -c 1-70)"
			next=$((next + 60))
		fi
	done
	if ! wait "$step_pid"; then
		step_pid=
		echo "--- last 50 lines of $buildlog:" >&2
		tail -n 50 "$buildlog" >&2
		cp "$buildlog" "$failed_log"
		die "$what failed after $(elapsed "$start"); full log kept in $failed_log"
	fi
	step_pid=
	log "  done in $(elapsed "$start")"
}

# Compare every CONFIG_ line and "is not set" line of the fragment with the
# final .config: Kconfig silently drops requests whose dependencies are unmet.
verify_config() {
	local bad
	bad=$(awk '
		FNR == NR {
			if (match($0, /^CONFIG_[A-Za-z0-9_]+=/))
				got[substr($0, 1, RLENGTH - 1)] = substr($0, RLENGTH + 1)
			next
		}
		/^CONFIG_[A-Za-z0-9_]+=/ {
			sym = $0; sub(/=.*/, "", sym)
			want = $0; sub(/^[^=]*=/, "", want)
		}
		/^# CONFIG_[A-Za-z0-9_]+ is not set$/ { sym = $2; want = "n" }
		sym != "" {
			have = (sym in got) ? got[sym] : "n"
			if (have != want)
				printf "  %s: requested %s, got %s\n", sym, want, have
			sym = ""
		}' "$1/.config" "$fragment")
	if [[ -n $bad ]]; then
		echo "$prog: these settings of $fragment did not survive olddefconfig:" >&2
		echo "$bad" >&2
		cp "$1/.config" "$failed_config"
		die "fix the fragment (unmet dependencies?); resulting config kept in $failed_config"
	fi
}

# Runs in the (empty) tree directory; merge_config.sh puts temp files in $PWD.
recipe() {
	step "unpacking $src_tar" tar -xf "$src_tar" --strip-components=1
	cp "$fragment" ../debug-kernel.config
	# x86_64_defconfig + kvm_guest.config is the usual small guest base; the
	# fragment goes last so it wins, and olddefconfig resolves the rest.
	step "merging config" scripts/kconfig/merge_config.sh -m \
		arch/x86/configs/x86_64_defconfig kernel/configs/kvm_guest.config "$fragment"
	step "make olddefconfig" make olddefconfig
	verify_config .
	# `modules` also writes Module.symvers, which external modules link against.
	step "make -j$(nproc) bzImage modules" make -j"$(nproc)" bzImage modules
}

# --- Cache ------------------------------------------------------------------------

print_result() {
	local kver
	kver=$(sed -n 's/^KVER=//p' "$stamp")
	[[ -n $kver && -f $final/linux/Module.symvers && -f $final/linux/arch/x86/boot/bzImage ]] ||
		die "cache entry $final is incomplete; remove it and retry"
	echo "KVER=$kver"
	echo "KDIR=$final/linux"
	echo "VMLINUZ=$final/linux/arch/x86/boot/bzImage"
}

# Runs from the EXIT trap: stop a running phase, drop the unfinished tree.
# shellcheck disable=SC2317
cleanup() {
	if [[ -n $step_pid ]]; then
		kill "$step_pid" 2>/dev/null || :
		wait "$step_pid" 2>/dev/null || :
	fi
	rm -rf "$stage"
}

main() {
	[[ $# -eq 0 ]] || usage

	# When run from a make recipe, the caller's flags and command-line variables
	# would leak into the kernel build; Kbuild also reads these from the
	# environment (KBUILD_OUTPUT would even move the objects elsewhere).
	unset MAKEFLAGS MFLAGS MAKELEVEL GNUMAKEFLAGS ARCH CROSS_COMPILE LLVM \
		KBUILD_OUTPUT KBUILD_EXTMOD KCONFIG_CONFIG KCFLAGS KCPPFLAGS KAFLAGS LOCALVERSION
	[[ $(uname -m) == x86_64 ]] || die "this builds an x86_64 kernel natively; host is $(uname -m)"
	[[ -f $fragment ]] || die "config fragment $fragment not found"

	install_deps
	[[ -f $src_tar ]] || die "$src_tar missing although $src_pkg is installed"
	for tool in flock gcc make sha256sum tar; do
		command -v "$tool" >/dev/null || die "$tool not found"
	done

	cache=$(cache_dir)
	# The build runs in another directory.
	[[ $cache == /* ]] || cache=$PWD/$cache

	src_ver=$(dpkg-query -W -f='${Version}' "$src_pkg")
	# A compiler update would make every module build warn about the mismatch.
	key_hash=$({
		cat "$fragment"
		declare -f recipe step verify_config
		gcc --version | head -n 1
	} | sha256sum | cut -c 1-12)
	key=${src_ver//[^A-Za-z0-9.+-]/_}-$key_hash

	root=$cache/debug-kernel
	final=$root/$key
	stamp=$final/.mmapdemo-built
	failed_log=$root/$key.failed.log
	failed_config=$root/$key.failed.config

	# The entry only ever appears by rename after a complete build.
	if [[ -f $stamp ]]; then
		log "debug kernel $key already built in $final"
		print_result
		exit 0
	fi

	mkdir -p "$root"
	# Serialise concurrent builds; a second caller waits and then reuses the result.
	exec 9>"$root/.lock"
	if ! flock -n 9; then
		log "another build holds $root/.lock; waiting for it"
		flock 9
	fi
	if [[ -f $stamp ]]; then
		log "debug kernel $key was built meanwhile in $final"
		print_result
		exit 0
	fi

	# Staging dirs of builds that were killed outright; nothing else can hold them
	# while we have the lock.
	rm -rf "$root"/.stage.*

	# Running out of space 20 minutes in is worse than refusing now; the finished
	# tree takes about 2 GB.
	avail_kb=$(df -Pk "$root" | awk 'NR == 2 { print $4 }')
	((avail_kb >= 3 * 1024 * 1024)) ||
		die "only $((avail_kb / 1024)) MB free in $root; the build needs about 3 GB"

	stage=$(mktemp -d "$root/.stage.$key.XXXXXX")
	# mktemp makes it 0700; the tree is meant to be shared like any build tree.
	chmod 755 "$stage"
	step_pid=
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	buildlog=$stage/build.log
	: >"$buildlog"
	start=$SECONDS
	log "building debug kernel $key (log: $buildlog, renamed to $final/build.log)"
	rm -f "$failed_log" "$failed_config"

	mkdir "$stage/linux"
	cd "$stage/linux"
	recipe
	kver=$(make -s kernelrelease)
	cd /
	[[ -n $kver ]] || die "make kernelrelease printed nothing"
	printf 'KEY=%s\nKVER=%s\n' "$key" "$kver" >"$stage/.mmapdemo-built"
	rm -rf "$final"
	mv -T "$stage" "$final"
	trap - EXIT INT TERM
	log "built $kver in $(elapsed "$start"): $(du -sh "$final" | cut -f 1) in $final"
	# Older entries are not removed: a running test may still use one.
	for old in "$root"/*/; do
		old=${old%/}
		[[ $old == "$final" ]] || log "note: older entry $old can be removed to free space"
	done

	print_result
}

# Bash reads a script while running it.  With all the work inside main and the
# exit on the same line, the whole file is parsed before anything runs, so an
# edit or a `git checkout` during a half-hour build cannot derail it.
main "$@"; exit
