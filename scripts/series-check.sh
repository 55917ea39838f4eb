#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make series-check: the series of make series is fit to post.
#
#   series-check.sh [--quick]
#
# 1. make series generates it (every file, hunk and Kconfig entry placed
#    once; the last patch's tree is the tree make builds);
# 2. checkpatch.pl --strict is silent on every patch;
# 3. git am applies the whole series onto a fresh checkout of the base,
#    and ends with the same tree;
# 4. (not with --quick) the x86 test kernel (the fragments of .build/x86)
#    builds at every patch of the series: it is bisectable. This takes
#    long (a full build, then one incremental build per patch), so make
#    test runs only the --quick part.
. "$(dirname "$0")/lib.sh"

quick=0
# make test runs the quick part (SERIES_CHECK=quick, set by scripts/test.sh).
if [ "${1:-}" = --quick ] || [ "${SERIES_CHECK:-}" = quick ]; then
	quick=1
fi
name=series
TREE=$BUILD/series-tree
SERIES=$BUILD/series
AM=$BUILD/series-am
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() { echo "series-check: FAIL: $*"; failed=$((failed + 1)); }

if "$ROOT/scripts/series.sh"; then
	ok
else
	bad "make series"
	record "$name" 0 1 0
	exit 1
fi

# The manifest check can fail: without one of our files, make series
# must refuse, naming it.
bad_manifest=$(mktemp)
grep -v '^files mm/snp/snp_word_map.c' "$ROOT/series/MANIFEST" > "$bad_manifest"
echo 'files mm/snp/snp_revocable_pin.c' >> "$bad_manifest"
if out=$(python3 "$ROOT/scripts/series.py" "$ROOT" "$BUILD" "$bad_manifest" 2>&1); then
	bad "make series accepted a manifest without mm/snp/snp_word_map.c"
elif echo "$out" | grep -q "snp_word_map.c"; then
	ok
else
	bad "make series refused a manifest without mm/snp/snp_word_map.c, but said: $out"
fi
rm -f "$bad_manifest"

mapfile -t patches < <(find "$SERIES" -name 'v1-*.patch' ! -name 'v1-0000-*' | sort)
[ ${#patches[@]} -gt 0 ] || { bad "no patches in $SERIES"; record "$name" 0 1 0; exit 1; }

# checkpatch, as a reviewer runs it: in the tree, on the mail.
for p in "$SERIES"/v1-*.patch; do
	case "$p" in *-0000-cover-letter.patch) continue ;; esac
	out=$(run_checkpatch "$TREE" "$p")
	if [ -n "$out" ]; then
		bad "checkpatch: $(basename "$p")"
		echo "$out" | head -40
	else
		ok
	fi
done

# git am onto a fresh checkout of the base.
rm -rf "$AM"
git clone -q --shared --no-checkout "$TREE" "$AM"
git -C "$AM" checkout -q --detach base
if git -C "$AM" -c user.name=series-check -c user.email=series-check@localhost \
	am -q "${patches[@]}" > "$LOGS/series-am.log" 2>&1; then
	want=$(git -C "$TREE" rev-parse 'HEAD^{tree}')
	got=$(git -C "$AM" rev-parse 'HEAD^{tree}')
	if [ "$want" = "$got" ]; then
		ok
	else
		bad "git am ends with tree $got, the series with $want"
	fi
else
	bad "git am: $(tail -5 "$LOGS/series-am.log")"
fi

if [ $quick -eq 0 ] && [ $failed -eq 0 ]; then
	# Bisectable: the test kernel builds at every patch.
	OUT=$BUILD/series-x86
	mkdir -p "$OUT"
	KMAKE=(make -s -C "$AM" O="$OUT" ARCH=x86_64 -j"$JOBS")
	build_lock
	i=0
	for c in $(git -C "$AM" rev-list --reverse base..HEAD); do
		i=$((i + 1))
		git -C "$AM" checkout -q --detach "$c"
		log "series-check: building patch $i: $(git -C "$AM" log -1 --format=%s "$c")"
		x86_config "$AM" "$OUT" "${X86_TEST_FRAGMENTS[@]}"
		"${KMAKE[@]}" olddefconfig > /dev/null
		if "${KMAKE[@]}" bzImage > "$LOGS/series-build-$i.log" 2>&1 &&
		   ! grep -q "warning:" "$LOGS/series-build-$i.log"; then
			ok
		else
			bad "patch $i does not build cleanly (log: $LOGS/series-build-$i.log)"
			grep -m5 -E "error|warning" "$LOGS/series-build-$i.log"
		fi
	done
	# The last patch configures everything the test kernel asks for.
	if config_satisfied "$OUT/.config" "${X86_TEST_FRAGMENTS[@]}"; then
		ok
	else
		bad "the last patch lacks the config above"
	fi
	flock -u 9
fi

echo "series-check: $passed passed, $failed failed"
record "$name" "$passed" "$failed" 0
[ $failed -eq 0 ]
