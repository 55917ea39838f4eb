#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the KCSAN + lockdep x86_64 test kernel in .build/x86-kcsan.
. "$(dirname "$0")/lib.sh"
exec "$ROOT/scripts/build-x86.sh" "$BUILD/x86-kcsan" \
	"$ROOT/configs/x86_64-base.config" "$ROOT/configs/x86_64-kvm.config" \
	"$ROOT/configs/x86_64-kcsan.config" "$ROOT/configs/snp_page_lock.config"
