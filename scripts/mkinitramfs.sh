#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build an initramfs: busybox-static + scripts/guest/init, plus DIR at
# /extra and CMD as /run.sh.
#
#   mkinitramfs.sh OUT.cpio CMD [DIR]
#
# Uses the kernel's gen_init_cpio, so device nodes need no root.
. "$(dirname "$0")/lib.sh"

OUT=$1
CMD=$2
DIR=${3:-}

GEN=$BUILD/tools/gen_init_cpio
if [ ! -x "$GEN" ] || [ "$SRC/usr/gen_init_cpio.c" -nt "$GEN" ]; then
	mkdir -p "$BUILD/tools"
	gcc -O2 -o "$GEN" "$SRC/usr/gen_init_cpio.c"
fi
[ -x /bin/busybox ] || "$ROOT/scripts/deps.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%s\n' "$CMD" > "$work/run.sh"

{
	for d in /bin /sbin /usr /usr/bin /usr/sbin /dev /proc /sys /tmp \
		 /root /etc /extra; do
		echo "dir $d 755 0 0"
	done
	echo "nod /dev/console 600 0 0 c 5 1"
	echo "nod /dev/null 666 0 0 c 1 3"
	echo "file /bin/busybox /bin/busybox 755 0 0"
	echo "slink /bin/sh /bin/busybox 777 0 0"
	echo "file /init $ROOT/scripts/guest/init 755 0 0"
	echo "file /run.sh $work/run.sh 755 0 0"
	echo "file /etc/passwd $ROOT/scripts/guest/passwd 644 0 0"
	echo "file /etc/group $ROOT/scripts/guest/group 644 0 0"
	if [ -n "$DIR" ]; then
		DIR=$(realpath "$DIR")
		(cd "$DIR" && find . -mindepth 1 | sort) | while read -r p; do
			p=${p#./}
			if [ -d "$DIR/$p" ]; then
				echo "dir /extra/$p 755 0 0"
			elif [ -L "$DIR/$p" ]; then
				echo "slink /extra/$p $(readlink "$DIR/$p") 777 0 0"
			else
				echo "file /extra/$p $DIR/$p $(stat -c %a "$DIR/$p") 0 0"
			fi
		done
	fi
} > "$work/list"
"$GEN" "$work/list" > "$OUT"
