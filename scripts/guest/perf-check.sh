#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# In the test guest (busybox sh), with the static perf at /extra/perf and
# the VMM demo at /extra/snp_pl_demo:
#
#   perf-check.sh smoke   perf bench snp-page-lock: every benchmark runs
#                         briefly in both formats, its numbers are
#                         positive and finite, bad options are refused
#   perf-check.sh trace   the VMM demo under perf stat -e 'snp_page_lock:*'
#                         and perf record/perf script; the event counts
#                         must agree with the debugfs counters
#
# Prints "PERF-CHECK PASS|FAIL <case>" per case; exits non-zero if a case
# failed. No timing is asserted.
PERF=/extra/perf
DEMO=/extra/snp_pl_demo
STATS=/sys/kernel/debug/snp_page_lock/stats
fails=0

pass() { echo "PERF-CHECK PASS $1"; }
fail() { echo "PERF-CHECK FAIL $1${2:+: $2}"; fails=$((fails + 1)); }

# numbers_ok FILE: at least one number, every number positive and finite.
# Labels are words; a number is a field that starts with a digit or a
# sign, or reads nan/inf.
numbers_ok() {
	awk '
	{
		for (i = 1; i <= NF; i++) {
			f = $i
			if (f ~ /^[-+]?(nan|inf|NaN|Inf|INF|NAN)/) { bad++; continue }
			if (f !~ /^[-+]?[0-9.]/) continue
			n++
			if (f !~ /^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$/ || f + 0 <= 0)
				bad++
		}
	}
	END { exit !(n > 0 && !bad) }' "$1"
}

# run_bench CASE ARGS...: one benchmark in the simple format, then in
# the default one; both must exit 0, the simple output must be numbers.
run_bench() {
	c=$1
	shift
	if ! $PERF bench -f simple snp-page-lock "$@" > /tmp/bench.out 2>&1; then
		cat /tmp/bench.out
		fail "$c" "exit status"
		return
	fi
	sed 's/^/  /' /tmp/bench.out
	if ! grep -v '^#' /tmp/bench.out > /tmp/bench.num ||
	   ! numbers_ok /tmp/bench.num; then
		fail "$c" "a number is missing, zero, negative or not finite"
		return
	fi
	if ! $PERF bench snp-page-lock "$@" > /tmp/bench.out 2>&1; then
		cat /tmp/bench.out
		fail "$c" "default format: exit status"
		return
	fi
	pass "$c"
}

# refused CASE ARGS...: perf bench snp-page-lock ARGS must fail with a
# message: exit status 1, or 129 (perf's usage); a crash (128 + signal)
# is not a refusal.
refused() {
	c=$1
	shift
	$PERF bench snp-page-lock "$@" > /tmp/bench.out 2>&1
	st=$?
	case $st in
	1|129) pass "$c" ;;
	*) cat /tmp/bench.out; fail "$c" "exit status $st" ;;
	esac
}

smoke() {
	if $PERF bench snp-page-lock 2>&1 | grep -q handoff; then
		pass list
	else
		fail list "the collection lists no handoff benchmark"
	fi
	run_bench pin pin -l 20 -p 1,512 -m all
	run_bench pin-threads pin -l 10 -p 512 -m anon -t 2
	run_bench convert convert -l 5 -p 1,512
	run_bench handoff handoff -l 5
	run_bench fault fault -l 5
	refused bad-loops pin -l 0
	refused bad-pages pin -p 0
	refused bad-pages-word pin -p many
	refused bad-memory pin -m disk
	refused bad-memory-none pin --no-memory
	refused bad-fault-pages fault -p 16000000
	refused bad-threads pin -t 0
	refused bad-option convert --no-such-option
	refused bad-bench no-such-bench
}

# counter NAME: a debugfs counter.
counter() { awk -v k="$1" '$1 == k { print $2 }' $STATS; }

# pin_fails: the sum of the pin_fail_* counters.
pin_fails() { awk '$1 ~ /^pin_fail_/ { s += $2 } END { print s + 0 }' $STATS; }

# agree CASE EVENTS COUNTER: one line of the table; a mismatch fails.
agree() {
	printf '  %-28s %10s %10s  %s\n' "$1" "$2" "$3" \
		"$([ "$2" = "$3" ] && echo agree || echo DISAGREE)"
	[ "$2" = "$3" ] || fail "trace-$1" "perf counted $2, debugfs $3"
}

trace() {
	[ -d /sys/kernel/tracing/events ] ||
		mount -t tracefs tracefs /sys/kernel/tracing || return 1
	cd /tmp || return 1

	echo "== perf stat -a -e 'snp_page_lock:*' -- snp_pl_demo"
	w0=$(counter waits) f0=$(pin_fails)
	if ! $PERF stat -a -x, -o /tmp/stat.csv -e 'snp_page_lock:*' \
	     -- $DEMO > /tmp/demo.out 2>&1; then
		cat /tmp/demo.out /tmp/stat.csv
		fail trace-stat "perf stat or the demo failed"
		return
	fi
	w1=$(counter waits) f1=$(pin_fails)
	# perf stat -x,: count,unit,event,...
	ev() { awk -F, -v e="snp_page_lock:$1" '$3 == e { print $1 }' /tmp/stat.csv; }
	awk -F, '$3 ~ /^snp_page_lock:/ { printf "  %-36s %s\n", $3, $1 }' /tmp/stat.csv
	echo "  event vs counter              perf      debugfs"
	agree snp_convert_wait/waits "$(ev snp_convert_wait)" $((w1 - w0))
	agree snp_pin_fail/pin_fail_ "$(ev snp_pin_fail)" $((f1 - f0))
	if [ "$(ev snp_convert_end)" -gt 0 ] 2>/dev/null; then
		pass trace-stat
	else
		fail trace-stat "no snp_convert_end counted"
	fi

	echo "== perf record -a -e 'snp_page_lock:*' -- snp_pl_demo; perf script"
	p0=$(counter converted_to_private)
	if ! $PERF record -q -a -e 'snp_page_lock:*' -o /tmp/perf.data \
	     -- $DEMO > /tmp/demo.out 2>&1 ||
	   ! $PERF script -i /tmp/perf.data > /tmp/script.out 2>&1; then
		cat /tmp/demo.out /tmp/script.out
		fail trace-record "perf record or perf script failed"
		return
	fi
	p1=$(counter converted_to_private)
	sed 's/^ */  /' /tmp/script.out
	# The pages of the committed conversions to private, from the fields.
	pages=$(awk '/snp_convert_end:/ && /to=private/ {
		for (i = 1; i <= NF; i++)
			if ($i ~ /^nr_pages=/) { sub(/^nr_pages=/, "", $i); s += $i }
	} END { print s + 0 }' /tmp/script.out)
	agree "nr_pages(end,private)" "$pages" $((p1 - p0))
	# A conversion that waited for the VMM's pin: begin, wait, end.
	if awk '/snp_convert_begin:/ && /to=private/ { b = 1 }
		b && /snp_convert_wait:/ { w = 1 }
		w && /snp_convert_end:/ && /to=private/ { e = 1 }
		END { exit !e }' /tmp/script.out; then
		pass trace-record
	else
		fail trace-record "no begin, wait, end sequence of a conversion to private"
	fi
}

case "$1" in
smoke) smoke ;;
trace) trace || fail trace "setup" ;;
*) echo "usage: $0 smoke|trace" >&2; exit 2 ;;
esac
[ $fails -eq 0 ]
