#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Unpack Debian's linux-source-6.12 once into .build/pristine and record
# the version. The pristine tree is never modified.
. "$(dirname "$0")/lib.sh"

TARBALL=/usr/src/linux-source-6.12.tar.xz
[ -f "$TARBALL" ] || "$ROOT/scripts/deps.sh"
[ -f "$TARBALL" ] || die "$TARBALL missing after apt-get install linux-source-6.12"

if [ ! -f "$PRISTINE/.unpacked" ]; then
	log "unpacking $TARBALL"
	rm -rf "$BUILD/pristine"
	mkdir -p "$BUILD/pristine"
	tar -xJf "$TARBALL" -C "$BUILD/pristine"
	touch "$PRISTINE/.unpacked"
fi

deb=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo unknown)
kv=$(make -s -C "$PRISTINE" kernelversion 2>/dev/null)
echo "linux-source-6.12 $deb (kernel $kv)" > "$BUILD/source-version"
