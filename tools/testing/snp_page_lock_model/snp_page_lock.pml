/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Promela model of the snp_page_lock state word protocol for one page
 * (mm/snp/snp_page_lock.c). Each step names the C function and statement
 * it stands for. Memory ordering is not modelled: Promela interleaves
 * atomically under sequential consistency, which the C code gets from
 * fully ordered atomics (pin: fetch_add, unpin and back-off: sub_return),
 * set_current_state() (the waiter) and the full barrier of those atomics
 * before wake_up_var()'s waitqueue_active() check.
 *
 * Processes: NPIN pinners (snp_pin_shared / snp_unpin_shared), one
 * converter that, CYCLES times, makes the page private (snp_convert_begin
 * with a wait, snp_convert_end commit) or aborts on timeout, then makes it
 * shared again.
 *
 * A pin is the fast path's fetch_add: it adds to the count first and
 * looks at the flags after; if any is set it backs off (takes its pin away
 * again and wakes a converter waiting for the count to reach zero). So the
 * count "pins" includes such transient pins; "held" (a ghost variable)
 * counts the pins that succeeded, which is what safety is about.
 *
 * Checked:
 *  - safety: a pin holder never sees the page private (assert in
 *    pinner), the page never becomes private while a pin is held
 *    (commit), the pin count never goes below zero (unpin, back-off);
 *  - no lost wake-up: without timeouts every run ends with the converter
 *    done (a converter asleep forever is an invalid end state), and the
 *    LTL property "converter eventually done" under weak fairness.
 *
 * Bug variants (-D...), each must be caught:
 *  BUG_NO_WAKE         unpin never wakes the converter
 *  BUG_NO_CONVERTING   pin ignores CONVERTING (2021 SRCU design)
 *  BUG_WAKE_BEFORE_DEC unpin checks WAITER and wakes before it drops its pin
 *  BUG_BACKOFF_NO_WAKE a backed-off pin never wakes the converter
 */

#ifndef NPIN
#define NPIN 2
#endif
#ifndef ROUNDS
#define ROUNDS 2
#endif
#ifndef CYCLES
#define CYCLES 2
#endif

/* The state word: one byte each, updated only inside atomic blocks. */
bool private = false;
bool converting = false;
bool waiter = false;
byte pins = 0;		/* the count in the word, transient pins included */
byte held = 0;		/* ghost: pins that succeeded and are not dropped */

/* The wait queue of the struct page (wait_var_event / wake_up_var). */
bool queued = false;	/* prepare_to_wait() done, not yet finish_wait() */
bool woken = false;	/* autoremove_wake_function() ran */

bool conv_done = false;
bool timeouts_allowed = false;

inline wake_up_var()
{
	/* __wake_up_bit(): if (waitqueue_active(wq)) __wake_up(...) */
	atomic { if :: queued -> woken = true :: else -> skip fi }
}

proctype pinner()
{
	byte r = 0;
	bool held_one;
	bool need_wake;

	do
	:: r < ROUNDS ->
		r++;
		/* snp_pin_word(): old = atomic_fetch_add(PIN_BIAS); flags? */
		atomic {
			pins++;
#ifdef BUG_NO_CONVERTING
			held_one = !private
#else
			held_one = !converting && !private && !waiter
#endif
			;
			if :: held_one -> held++ :: else -> skip fi
		}
		if
		:: held_one ->
			/* the host maps and touches the page under its pin */
			assert(!private);
#ifdef BUG_WAKE_BEFORE_DEC
			need_wake = waiter;
			if :: need_wake -> wake_up_var() :: else -> skip fi;
			atomic { assert(pins > 0); pins--; held-- }
#else
			/* snp_unpin_word(): new = atomic_sub_return(PIN_BIAS) */
			atomic {
				assert(pins > 0);
				pins--;
				held--;
				need_wake = (waiter && pins == 0)
			}
			/* __snp_unpin_slow(): WAITER and no pins: wake_up_var() */
#ifndef BUG_NO_WAKE
			if :: need_wake -> wake_up_var() :: else -> skip fi
#endif
#endif
		:: else ->
			/* __snp_pin_backoff(): sub_return, then wake as unpin */
			atomic {
				assert(pins > 0);
				pins--;
				need_wake = (waiter && pins == 0)
			}
#ifndef BUG_BACKOFF_NO_WAKE
			if :: need_wake -> wake_up_var() :: else -> skip fi
#endif
		fi
	:: else -> break
	od
}

proctype converter()
{
	byte c = 0;
	bool had_pins;
	bool ok;

	do
	:: c < CYCLES ->
		c++;
		ok = true;
		/* snp_convert_begin() phase 1, snp_mark_one(): cmpxchg sets
		 * CONVERTING, and WAITER if the count (transient pins
		 * included) is not zero */
		atomic {
			assert(!converting && !private);
			converting = true;
			had_pins = (pins > 0);
			if :: had_pins -> waiter = true :: else -> skip fi
		}

		/* phase 2, snp_wait_drained(): ___wait_var_event() loop */
		if
		:: had_pins ->
			do
			:: /* prepare_to_wait_event(): queue, set_current_state() */
			   atomic { queued = true; woken = false };
			   /* condition: !snp_page_pins() */
			   if
			   :: pins == 0 -> break
			   :: else ->
				/* schedule_timeout(): until woken or timeout */
				if
				:: woken -> skip
				:: timeouts_allowed -> ok = false; break
				fi
			   fi
			od;
			/* finish_wait() */
			queued = false
		:: else -> skip
		fi;

		if
		:: ok ->
			/* snp_convert_end() -> snp_finish(commit): the backend
			 * ran; the flags become PRIVATE, the count (only
			 * transient pins now) is kept. */
			atomic {
				assert(held == 0);
				private = true;
				converting = false;
				waiter = false
			}
			/* snp_make_shared(): snp_mark_one(), snp_finish() */
			atomic { converting = true };
			atomic { assert(held == 0); private = false; converting = false }
		:: else ->
			/* timeout: snp_unmark(): andnot CONVERTING | WAITER */
			atomic { converting = false; waiter = false }
		fi
	:: else -> break
	od;
	conv_done = true
}

init {
	byte i;

	if
	:: true -> timeouts_allowed = false
#ifdef WITH_TIMEOUTS
	:: true -> timeouts_allowed = true
#endif
	fi;
	atomic {
		for (i : 1 .. NPIN) {
			run pinner()
		}
		run converter()
	}
}

/* Safety, also as a global invariant: private implies no pin held. */
ltl safe { [] (private -> held == 0) }
/* No lost wake-up: the converter always finishes (weak fairness). */
ltl live { <> conv_done }
