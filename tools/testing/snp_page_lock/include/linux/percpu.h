/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim of <linux/percpu.h>: a per-CPU variable is a thread-local
 * one (each benchmark thread is bound to its own CPU), and this_cpu_inc()
 * one non-atomic add through the thread pointer, as the kernel's %gs add.
 */
#ifndef _SHIM_LINUX_PERCPU_H
#define _SHIM_LINUX_PERCPU_H

/* The fast path's one per-CPU variable is a struct. */
#define DECLARE_PER_CPU(struct_type, name)	extern __thread struct_type name
#define DEFINE_PER_CPU(struct_type, name)	__thread struct_type name
#define this_cpu_inc(var)		((var)++)

#endif
