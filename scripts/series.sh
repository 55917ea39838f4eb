#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make series: the patch series of everything on main, on the pristine
# Debian source, in .build/series/ (git format-patch -v1 --cover-letter
# --base). series/MANIFEST says which file and hunk goes into which
# patch; scripts/series.py does the work and its checks.
. "$(dirname "$0")/lib.sh"

"$ROOT/scripts/deps.sh"
build_lock
"$ROOT/scripts/overlay.sh"
flock -u 9
python3 "$ROOT/scripts/series.py" "$ROOT" "$BUILD"
