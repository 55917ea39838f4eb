/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim of <linux/compiler.h>: what the fast path uses. */
#ifndef _SHIM_LINUX_COMPILER_H
#define _SHIM_LINUX_COMPILER_H

#include <sys/cdefs.h>		/* __always_inline */

#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)
/* Relaxed atomics: one plain load or store, and no volatile. */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
/* x86 (TSO): a load is an acquire, as the kernel's smp_load_acquire(). */
#define smp_load_acquire(p)	__atomic_load_n(p, __ATOMIC_ACQUIRE)

#endif
