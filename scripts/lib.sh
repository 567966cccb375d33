# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared helpers of the scripts: messages, the cache directory, the list of
# kernels (scripts/host/kernels.conf) and the host's Debian mirror. Sourced, never
# run; expects `set -euo pipefail` and $prog from the caller.

lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() {
	echo "${prog:-mmapdemo}: error: $*" >&2
	exit 1
}

log() {
	echo "${prog:-mmapdemo}: $*" >&2
}

# usage_exit [SYNOPSIS]: "usage: PROG SYNOPSIS" on stderr, then exit 2.
# shellcheck disable=SC2120 # SYNOPSIS is optional
usage_exit() {
	echo "usage: ${prog:-mmapdemo}${1:+ $1}" >&2
	exit 2
}

# The per-user cache: kernels, build roots, private apt state.
cache_dir() {
	local c=${MMAPDEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmapdemo}
	# Kbuild cannot cope with whitespace in paths, and callers parse our output.
	[[ $c != *[[:space:]]* ]] || die "cache path '$c' contains whitespace; set MMAPDEMO_CACHE"
	echo "$c"
}

# kernels_conf: the lines of scripts/host/kernels.conf without comments.
kernels_conf() {
	sed 's/#.*//' "$lib_dir/host/kernels.conf" | awk 'NF'
}

# kernel_series: every series, in the list's order.
kernel_series() {
	kernels_conf | awk '{ print $1 }'
}

# kernel_newest: the highest series of the list.
kernel_newest() {
	kernel_series | sort -V | tail -n 1
}

# kernel_field SERIES FIELD: suite, root or gcc of SERIES; fails for an
# unknown series.
kernel_field() {
	local col
	case $2 in
	suite) col=2 ;;
	root) col=3 ;;
	gcc) col=4 ;;
	*) die "kernel_field: unknown field $2" ;;
	esac
	kernels_conf | awk -v s="$1" -v c="$col" '$1 == s { print $c; found = 1 } END { exit !found }'
}

# is_kernel SERIES: whether SERIES is on the list.
is_kernel() {
	kernel_series | grep -qxF -- "$1"
}

# host_mirror: the Debian archive the host's apt sources use for its own
# release, so that other suites come from the same mirror or proxy.
# MMAPDEMO_MIRROR overrides it.
host_mirror() {
	if [[ -n ${MMAPDEMO_MIRROR:-} ]]; then
		echo "${MMAPDEMO_MIRROR%/}"
		return
	fi
	local codename uri
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	uri=$(
		{
			# One-line format: deb [options] URI SUITE COMPONENT...
			cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
				sed 's/#.*//; s/\[[^]]*\]//' |
				awk -v s="$codename" '$1 == "deb" && $3 == s { print $2 }'
			# deb822: one stanza per paragraph, URIs and Suites lists.
			local f
			for f in /etc/apt/sources.list.d/*.sources; do
				[[ -f $f ]] || continue
				# Comment lines go entirely: blank lines separate stanzas.
				sed '/^[[:space:]]*#/d; s/[[:space:]]#.*//' "$f" | awk -v s="$codename" -v RS= -F '\n' '{
					types = uris = suites = ""; enabled = 1
					for (i = 1; i <= NF; i++) {
						split($i, kv, ":[ \t]*")
						key = tolower(kv[1]); val = substr($i, length(kv[1]) + 2)
						gsub(/^[ \t]+|[ \t]+$/, "", val)
						if (key == "types") types = val
						else if (key == "uris") uris = val
						else if (key == "suites") suites = val
						else if (key == "enabled" && tolower(val) == "no") enabled = 0
					}
					if (!enabled || (" " types " ") !~ / deb /) next
					n = split(suites, ss, /[ \t]+/)
					for (j = 1; j <= n; j++) if (ss[j] == s) { split(uris, us, /[ \t]+/); print us[1]; next }
				}'
			done
		} | head -n 1
	)
	[[ -n $uri ]] || die "no apt source of the host names its release '$codename';" \
		"set MMAPDEMO_MIRROR to a Debian mirror"
	echo "${uri%/}"
}
