#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install what the build, boot and checks need, with apt-get, only when
# something is missing.
. "$(dirname "$0")/lib.sh"

PKGS="linux-source-6.12 qemu-system-x86 busybox-static bc flex bison
libelf-dev libssl-dev cpio sparse spin gcc make perl python3 xz-utils
kmod rsync gnuplot-nox libcap-dev libtraceevent-dev pkg-config
git patch python3-ply python3-git"

missing=()
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

log "installing: ${missing[*]}"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
