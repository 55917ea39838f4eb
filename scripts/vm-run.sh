#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot a test kernel under QEMU TCG, run CMD as root, power off.
#
#   vm-run.sh CMD [DIR]
#
# DIR is copied into the guest at /extra (CMD runs there). The console
# is printed and kept in $LOG (default .build/logs/vm-run.log), scanned
# for splats, and the exit status is CMD's, or 1 if the scan failed, or
# 124 on timeout, 125 if the guest died before CMD finished.
#
# Environment: KERNEL (bzImage, default the main test kernel), APPEND
# (extra kernel command line), TIMEOUT (seconds, default 900), SMP
# (default 2), MEM (default 2G), EXPECT (regex: this boot must splat
# with it), QUIET=1 (do not print the console, only keep the log),
# ACCEL (QEMU -accel, default tcg).
. "$(dirname "$0")/lib.sh"

CMD=$1
DIR=${2:-}
KERNEL=${KERNEL:-$X86_OUT/arch/x86/boot/bzImage}
LOG=${LOG:-$LOGS/vm-run.log}
TIMEOUT=${TIMEOUT:-900}
SMP=${SMP:-2}
MEM=${MEM:-2G}
APPEND=${APPEND:-}
EXPECT=${EXPECT:-}

[ -f "$KERNEL" ] || die "no kernel at $KERNEL: run 'make x86' first"
command -v qemu-system-x86_64 >/dev/null || "$ROOT/scripts/deps.sh"

mkdir -p "$(dirname "$LOG")"
: > "$LOG"	# never judge a run by an older log
initrd=$(mktemp "$BUILD/initrd.XXXXXX")
trap 'rm -f "$initrd"' EXIT
"$ROOT/scripts/mkinitramfs.sh" "$initrd" "$CMD" "$DIR"

cmdline="console=ttyS0 panic=-1 oops=panic panic_on_warn=0 loglevel=7"
cmdline+=" kunit.enable=0 rdinit=/init $APPEND"

set +e
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel "${ACCEL:-tcg}" -cpu max \
	-smp "$SMP" -m "$MEM" -display none -monitor none -serial stdio \
	-no-reboot -kernel "$KERNEL" -initrd "$initrd" \
	-append "$cmdline" < /dev/null 2>&1 | stdbuf -oL tr -d '\r' |
	if [ "${QUIET:-0}" = 1 ]; then cat > "$LOG"; else tee "$LOG"; fi
qemu_rc=${PIPESTATUS[0]}
set -e

status=$(sed -n 's/^SNP-VM-EXIT: \([0-9]*\)$/\1/p' "$LOG" | tail -1)
if [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
	echo "vm-run: TIMEOUT after ${TIMEOUT}s (log: $LOG)"
	status=124
elif [ -z "$status" ]; then
	echo "vm-run: guest died before the command finished (log: $LOG)"
	status=125
fi

if [ -n "$EXPECT" ]; then
	"$ROOT/scripts/scan-log.sh" --expect "$EXPECT" "$LOG" || status=1
elif ! "$ROOT/scripts/scan-log.sh" "$LOG"; then
	[ "$status" -ne 0 ] || status=1
fi
exit "$status"
