#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Check the Promela models of the state word protocol with spin
# (tools/testing/snp_page_lock_model): the page word
# (snp_page_lock.pml) and the block level of huge ranges
# (snp_page_lock_block.pml, issue 14). Each model must pass every check;
# each bug variant must be caught by the check named for it.
. "$(dirname "$0")/lib.sh"

command -v spin >/dev/null || "$ROOT/scripts/deps.sh"
MODELS=$ROOT/tools/testing/snp_page_lock_model
W=$BUILD/model
rm -rf "$W"
mkdir -p "$W"
cd "$W"

# model name  expect(pass|fail)  spin -D flags  cc flags  pan flags
CHECKS=(
"deadlock        pass -                                  -DNOCLAIM -"
"deadlock-tmo    pass -DWITH_TIMEOUTS                    -DNOCLAIM -"
"deadlock-3pin   pass -DNPIN=3,-DROUNDS=3,-DWITH_TIMEOUTS -DNOCLAIM -"
"safe-ltl        pass -DWITH_TIMEOUTS                    -DSAFETY  -N,safe"
"live-ltl        pass -                                  -         -a,-f,-N,live"
"bug-no-wake     fail -DBUG_NO_WAKE                      -DNOCLAIM -"
"bug-no-wake-ltl fail -DBUG_NO_WAKE                      -         -a,-f,-N,live"
"bug-no-conv     fail -DBUG_NO_CONVERTING                -DNOCLAIM -"
"bug-no-conv-ltl fail -DBUG_NO_CONVERTING                -DSAFETY  -N,safe"
"bug-wake-early  fail -DBUG_WAKE_BEFORE_DEC              -DNOCLAIM -"
"bug-backoff     fail -DBUG_BACKOFF_NO_WAKE              -DNOCLAIM -"
"bug-backoff-ltl fail -DBUG_BACKOFF_NO_WAKE              -         -a,-f,-N,live"
)
# The block level: a block pinner, a 4 KiB pinner, two converters of
# pages in the block.
BLOCK_CHECKS=(
"block-deadlock        pass -                              -DNOCLAIM -"
"block-deadlock-tmo    pass -DWITH_TIMEOUTS                -DNOCLAIM -"
"block-deadlock-2cyc   pass -DCYCLES=2,-DWITH_TIMEOUTS     -DNOCLAIM -"
"block-safe-ltl        pass -DWITH_TIMEOUTS                -DSAFETY  -N,safe"
"block-live-ltl        pass -                              -         -a,-f,-N,live"
"block-bug-no-mark     fail -DBUG_BLOCK_NO_MARK            -DNOCLAIM -"
"block-bug-no-mark-ltl fail -DBUG_BLOCK_NO_MARK            -DSAFETY  -N,safe"
"block-bug-no-wake     fail -DBUG_BLOCK_NO_WAKE            -DNOCLAIM -"
"block-bug-no-wake-ltl fail -DBUG_BLOCK_NO_WAKE            -         -a,-f,-N,live"
"block-bug-clear       fail -DBUG_BLOCK_CLEAR_WAITER       -DNOCLAIM -"
"block-bug-wait-once   fail -DBUG_BLOCK_WAIT_ONCE          -DNOCLAIM -"
"block-bug-wait-once-ltl fail -DBUG_BLOCK_WAIT_ONCE        -         -a,-f,-N,live"
)

p=0 f=0
for c in "${CHECKS[@]/#/snp_page_lock.pml }" \
	 "${BLOCK_CHECKS[@]/#/snp_page_lock_block.pml }"; do
	read -r model name want sflags cflags pflags <<< "$c"
	MODEL=$MODELS/$model
	sflags=${sflags//,/ }; [ "$sflags" = - ] && sflags=
	cflags=${cflags//,/ }; [ "$cflags" = - ] && cflags=
	pflags=${pflags//,/ }; [ "$pflags" = - ] && pflags=
	mkdir -p "$name"
	# shellcheck disable=SC2086
	(cd "$name" && spin $sflags -a "$MODEL" >spin.log 2>&1 &&
	 gcc -O2 $cflags -o pan pan.c 2>cc.log &&
	 ./pan $pflags > pan.log 2>&1) || true
	errs=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$name/pan.log" | head -1)
	why=$(grep -m1 -E "pan:1: (assertion violated|invalid end state|acceptance cycle)" \
		"$name/pan.log" || true)
	states=$(sed -n 's/^ *\([0-9]*\) states, stored.*/\1/p' "$name/pan.log" | head -1)
	if [ -z "$errs" ]; then
		got=broken
	elif [ "$errs" = 0 ]; then
		got=pass
	else
		got=fail
	fi
	if [ "$got" = "$want" ]; then
		p=$((p + 1))
		echo "ok: model $name: $got ($states states) ${why}"
	else
		f=$((f + 1))
		echo "FAIL: model $name: expected $want, got $got ${why}"
		tail -20 "$name/pan.log" "$name/spin.log" "$name/cc.log" 2>/dev/null
	fi
done
record model $p $f 0
[ $f -eq 0 ]
