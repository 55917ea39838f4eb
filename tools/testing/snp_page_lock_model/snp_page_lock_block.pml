/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Promela model of the block level of the snp_page_lock state words
 * (issue 14, huge ranges): the protocol the C code is to follow, checked
 * before it is written. snp_page_lock.pml models one page's word; this
 * model adds the word of the naturally aligned 2 MiB block around it.
 *
 * The block word holds:
 *  - bpins: pins of the whole block (a range pin of an aligned 2 MiB
 *    block is one fetch_add here instead of 512 on the page words),
 *    transient back-off pins included, as the page word's count;
 *  - unshared: how many pages of the block are private or converting,
 *    the per-block twin of the global snp_nr_unshared: a block pin
 *    succeeds only while it is zero;
 *  - bwaiter: a converter waits for bpins to drain.
 *
 * A conversion of a page inside the block first adds itself to unshared
 * (one fetch_add: block pins after it back off), then, if block pins were
 * held, waits for them as for page pins (WAITER, wake on the last unpin,
 * timeout), and only then marks the page word. It stays counted while the
 * page is private; a conversion back to shared takes it out at its
 * commit, an aborted one at its abort. A 4 KiB pin never touches the
 * block word.
 *
 * Several converters may wait on one block word, so a converter clears
 * bwaiter only while bpins is zero (a cmpxchg), so as not to leave it set
 * at rest: the unpin (or back-off) that takes bpins to zero with bwaiter
 * set clears it and wakes the block's wait queue, and a waiting converter
 * sets it again (fetch_or) after prepare_to_wait() and before each look
 * at bpins: a back-off pin that comes between a wake-up and that look
 * would otherwise leave it asleep (the model found that). Clearing it
 * whatever bpins is loses a wake-up (BUG_BLOCK_CLEAR_WAITER).
 *
 * Processes: a page pinner (4 KiB pins of page 0), a block pinner, and a
 * converter for each of pages 0 and 1, each making its page private and
 * shared again CYCLES times (or giving up on a timeout).
 *
 * Checked:
 *  - safety: a block pin holder never sees page 0 or 1 private, a page
 *    never becomes private while a pin of it or of its block is held,
 *    counts never go below zero;
 *  - no lost wake-up: without timeouts every run ends with both
 *    converters done; LTL "both converters eventually done" under weak
 *    fairness.
 *
 * Bug variants (-D...), each must be caught:
 *  BUG_BLOCK_NO_MARK     the converter does not count itself in unshared
 *  BUG_BLOCK_NO_WAKE     the last block unpin does not wake
 *  BUG_BLOCK_CLEAR_WAITER a converter clears bwaiter once it stops waiting,
 *                        whatever bpins is
 *  BUG_BLOCK_WAIT_ONCE   a converter sets bwaiter only once, not before
 *                        every look at bpins
 */

#ifndef ROUNDS
#define ROUNDS 2
#endif
#ifndef CYCLES
#define CYCLES 1
#endif

/* Page words (pages 0 and 1 of the block). */
bool private[2];
bool converting[2];
bool waiter[2];
byte pins[2];
byte held[2];		/* ghost: page pins that succeeded, not dropped */

/* The block word. */
byte bpins = 0;
byte unshared = 0;
bool bwaiter = false;
byte bheld = 0;		/* ghost: block pins that succeeded, not dropped */

/* Wait queues: one per page (only page 0 is pinned) and the block's. */
bool queued = false;
bool woken = false;
byte bqueued = 0;	/* converters between prepare_to_wait and finish */
bool bwoken[2];

byte done = 0;
bool timeouts_allowed = false;

inline wake_page()
{
	atomic { if :: queued -> woken = true :: else -> skip fi }
}

/* wake_up_var(block): every converter queued on the block wakes. */
inline wake_block()
{
	atomic {
		if :: bqueued > 0 -> bwoken[0] = true; bwoken[1] = true
		   :: else -> skip
		fi
	}
}

/* 4 KiB pins of page 0, as in snp_page_lock.pml. */
proctype page_pinner()
{
	byte r = 0;
	bool ok;
	bool need_wake;

	do
	:: r < ROUNDS ->
		r++;
		atomic {
			pins[0]++;
			ok = !converting[0] && !private[0] && !waiter[0];
			if :: ok -> held[0]++ :: else -> skip fi
		}
		if
		:: ok -> assert(!private[0])
		:: else -> skip
		fi;
		atomic {
			assert(pins[0] > 0);
			pins[0]--;
			if :: ok -> held[0]-- :: else -> skip fi;
			need_wake = (waiter[0] && pins[0] == 0)
		}
		if :: need_wake -> wake_page() :: else -> skip fi
	:: else -> break
	od
}

/* Range pins of the whole block: one fetch_add on the block word. */
proctype block_pinner()
{
	byte r = 0;
	bool ok;
	bool need_wake;

	do
	:: r < ROUNDS ->
		r++;
		/* snp_pin_block(): old = fetch_add(PIN_BIAS); unshared? */
		atomic {
			bpins++;
			ok = (unshared == 0);
			if :: ok -> bheld++ :: else -> skip fi
		}
		if
		:: ok ->
			/* the host maps the 2 MiB under its pin */
			assert(!private[0] && !private[1])
		:: else -> skip
		fi;
		/* unpin or back-off: new = sub_return(PIN_BIAS) */
		atomic {
			assert(bpins > 0);
			bpins--;
			if :: ok -> bheld-- :: else -> skip fi;
			need_wake = (bwaiter && bpins == 0)
		}
		/* the slow path: andnot(WAITER), then wake the block's queue */
#ifndef BUG_BLOCK_NO_WAKE
		if
		:: need_wake -> atomic { bwaiter = false }; wake_block()
		:: else -> skip
		fi
#endif
	:: else -> break
	od
}

proctype converter(byte p)
{
	byte c = 0;
	bool had_pins;
	bool drained;
	bool ok;
#ifdef BUG_BLOCK_WAIT_ONCE
	bool first;
#endif

	do
	:: c < CYCLES ->
		c++;
		ok = true;

		/* Phase 0, snp_block_mark(): count the page in unshared;
		 * block pins held now must drain. */
		atomic {
#ifndef BUG_BLOCK_NO_MARK
			unshared++;
#endif
			had_pins = (bpins > 0)
		}
		if
		:: had_pins ->
#ifdef BUG_BLOCK_WAIT_ONCE
			first = true;
#endif
			do
			:: /* prepare_to_wait(), then fetch_or(WAITER): whatever
			    * the count is when the condition is looked at, its
			    * last unpin or back-off sees WAITER and wakes */
			   atomic {
				bqueued++;
				bwoken[p] = false;
#ifdef BUG_BLOCK_WAIT_ONCE
				if :: first -> bwaiter = true :: else -> skip fi;
				first = false;
#else
				bwaiter = true;
#endif
				/* fetch_or returns the pins with WAITER set */
				drained = (bpins == 0)
			   };
			   if
			   :: drained -> atomic { bqueued-- }; break
			   :: else ->
				if
				:: bwoken[p] -> atomic { bqueued-- }
				:: timeouts_allowed -> atomic { bqueued-- }; ok = false; break
				fi
			   fi
			od;
#ifdef BUG_BLOCK_CLEAR_WAITER
			bwaiter = false
#else
			/* snp_block_waiter_clear(): a cmpxchg that clears
			 * WAITER only while no block pin is counted (any
			 * converter that set it seeing pins was woken by the
			 * unpin that took them to zero) */
			atomic { if :: bpins == 0 -> bwaiter = false :: else -> skip fi }
#endif
		:: else -> skip
		fi;

		if
		:: ok ->
			/* Phase 1 on the page word, as snp_page_lock.pml. */
			atomic {
				assert(!converting[p] && !private[p]);
				converting[p] = true;
				had_pins = (pins[p] > 0);
				if :: had_pins -> waiter[p] = true :: else -> skip fi
			}
			if
			:: had_pins ->
				do
				:: atomic { queued = true; woken = false };
				   if
				   :: pins[p] == 0 -> break
				   :: else ->
					if
					:: woken -> skip
					:: timeouts_allowed -> ok = false; break
					fi
				   fi
				od;
				queued = false
			:: else -> skip
			fi
		:: else -> skip
		fi;

		if
		:: ok ->
			/* Commit: nothing pins the page or its block. */
			atomic {
				assert(held[p] == 0 && bheld == 0);
				private[p] = true;
				converting[p] = false;
				waiter[p] = false
			}
			/* Back to shared: converting, commit, out of unshared. */
			atomic { converting[p] = true };
			atomic {
				assert(held[p] == 0);
				private[p] = false;
				converting[p] = false;
#ifndef BUG_BLOCK_NO_MARK
				assert(unshared > 0);
				unshared--
#endif
			}
		:: else ->
			/* Abort: the page word if marked, then the block. */
			atomic {
				converting[p] = false;
				waiter[p] = false;
#ifndef BUG_BLOCK_NO_MARK
				assert(unshared > 0);
				unshared--
#endif
			}
		fi
	:: else -> break
	od;
	atomic { done++ }
}

init {
	if
	:: true -> timeouts_allowed = false
#ifdef WITH_TIMEOUTS
	:: true -> timeouts_allowed = true
#endif
	fi;
	atomic {
		run page_pinner();
		run block_pinner();
		run converter(0);
		run converter(1)
	}
}

/* Safety: a private page has no pin of its own or of its block. */
ltl safe { [] ((private[0] -> (held[0] == 0 && bheld == 0)) &&
	       (private[1] -> bheld == 0)) }
/* No lost wake-up: both converters finish (weak fairness). */
ltl live { <> (done == 2) }
