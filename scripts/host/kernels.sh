#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel list of scripts/host/kernels.conf for make and for users.
#
# Usage: scripts/host/kernels.sh list         every series, in the list's order
#        scripts/host/kernels.sh newest       the highest series
#        scripts/host/kernels.sh has SERIES   exit status 0 if SERIES is listed
set -euo pipefail

prog=${0##*/}
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

case ${1:-} in
list) kernel_series | paste -sd ' ' ;;
newest) kernel_newest ;;
has) [[ $# -eq 2 ]] && is_kernel "$2" ;;
*)
	echo "usage: $prog list|newest|has SERIES" >&2
	exit 2
	;;
esac
