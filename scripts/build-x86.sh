#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build an x86_64 test kernel: tinyconfig + configs/ fragments.
#
#   build-x86.sh [OUT [FRAGMENT...]]
#
# Defaults to the main test kernel (.build/x86: KASAN + lockdep). The
# config is regenerated only when a fragment changes; every option a
# fragment asks for must survive olddefconfig, or the build stops.
. "$(dirname "$0")/lib.sh"

OUT=$(realpath -m "${1:-$X86_OUT}")
shift || true
[ $# -gt 0 ] || set -- "${X86_TEST_FRAGMENTS[@]}"
FRAGS=()
for f in "$@"; do FRAGS+=("$(realpath "$f")"); done

"$ROOT/scripts/deps.sh"
build_lock
"$ROOT/scripts/overlay.sh"

mkdir -p "$OUT"
KMAKE=(make -s -C "$SRC" O="$OUT" ARCH=x86_64 -j"$JOBS")

sum=$(cat "${FRAGS[@]}" "$ROOT/scripts/build-x86.sh" | sha1sum | cut -d' ' -f1)
if [ ! -f "$OUT/.config" ] || [ "$(cat "$OUT/.fragments.sha" 2>/dev/null)" != "$sum" ]; then
	log "configuring $OUT: tinyconfig + ${FRAGS[*]##*/}"
	rm -f "$OUT/.fragments.sha"
	x86_config "$SRC" "$OUT" "${FRAGS[@]}"
fi
# New Kconfig symbols in the overlay take their defaults, never a prompt.
"${KMAKE[@]}" olddefconfig >/dev/null
config_satisfied "$OUT/.config" "${FRAGS[@]}" ||
	die "config fragments not satisfied (missing dependency?)"
echo "$sum" > "$OUT/.fragments.sha"

log "building $OUT"
"${KMAKE[@]}" bzImage
"${KMAKE[@]}" headers_install >/dev/null
cp "$BUILD/source-version" "$OUT/source-version"
