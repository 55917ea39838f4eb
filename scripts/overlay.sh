#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Make .build/src = pristine linux-source-6.12 + our files + patches/.
#
# Our files are new files at kernel paths (OVERLAY_DIRS); upstream files
# change only through patches/*.patch, applied in order onto pristine
# copies. Files are only rewritten when their content changes, so warm
# kernel builds stay incremental.
. "$(dirname "$0")/lib.sh"

"$ROOT/scripts/fetch-source.sh"

if [ ! -f "$SRC/.overlay-base" ]; then
	log "copying pristine tree to .build/src"
	rm -rf "$SRC"
	cp -a "$PRISTINE" "$SRC"
	rm -f "$SRC/.unpacked"
	touch "$SRC/.overlay-base"
fi

# copy_if_changed SRCFILE DSTFILE: never rewrite an identical file.
copy_if_changed() {
	if ! cmp -s "$1" "$2"; then
		mkdir -p "$(dirname "$2")"
		rm -f "$2"
		cp "$1" "$2"
		chmod "$(stat -c %a "$1")" "$2"
	fi
}

# 1. Our own files.
cd "$ROOT"
new_manifest=$(mktemp)
trap 'rm -f "$new_manifest"' EXIT
# shellcheck disable=SC2086
git ls-files -co --exclude-standard -- $OVERLAY_DIRS | sort -u |
while read -r f; do
	[ -f "$f" ] || continue
	[ -e "$PRISTINE/$f" ] &&
		die "$f exists upstream: change it through a patch in patches/"
	echo "$f"
done > "$new_manifest"

while read -r f; do
	copy_if_changed "$ROOT/$f" "$SRC/$f"
done < "$new_manifest"

if [ -f "$BUILD/overlay.manifest" ]; then
	comm -23 "$BUILD/overlay.manifest" "$new_manifest" | while read -r f; do
		[ -e "$PRISTINE/$f" ] || rm -f "$SRC/$f"
	done
fi
cp "$new_manifest" "$BUILD/overlay.manifest"

# 2. Patches, applied in order on pristine copies of the files they touch.
STAGE=$BUILD/stage
rm -rf "$STAGE"
mkdir -p "$STAGE"
touched=$BUILD/patched.list.new
: > "$touched"
for p in patches/*.patch; do
	[ -e "$p" ] || continue
	sed -n 's|^+++ b/\([^\t ]*\).*|\1|p' "$p" >> "$touched"
done
sort -u -o "$touched" "$touched"

while read -r f; do
	if [ -f "$PRISTINE/$f" ]; then
		mkdir -p "$STAGE/$(dirname "$f")"
		cp "$PRISTINE/$f" "$STAGE/$f"
	fi
done < "$touched"

for p in patches/*.patch; do
	[ -e "$p" ] || continue
	if ! out=$(patch -p1 -d "$STAGE" -F0 -N --no-backup-if-mismatch \
			-r - < "$p" 2>&1); then
		echo "$out" >&2
		die "$p does not apply to $(cat "$BUILD/source-version") (see the FAILED hunk above)"
	fi
done

while read -r f; do
	if [ -f "$STAGE/$f" ]; then
		copy_if_changed "$STAGE/$f" "$SRC/$f"
	else
		rm -f "$SRC/$f"
	fi
done < "$touched"

# Files patched last time but no longer: back to pristine.
if [ -f "$BUILD/patched.list" ]; then
	comm -23 "$BUILD/patched.list" "$touched" | while read -r f; do
		if [ -f "$PRISTINE/$f" ]; then
			copy_if_changed "$PRISTINE/$f" "$SRC/$f"
		else
			rm -f "$SRC/$f"
		fi
	done
fi
mv "$touched" "$BUILD/patched.list"
