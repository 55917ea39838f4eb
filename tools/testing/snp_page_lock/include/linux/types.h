/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim of <linux/types.h> for the native fast-path harness. */
#ifndef _SHIM_LINUX_TYPES_H
#define _SHIM_LINUX_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

typedef struct { int counter; } atomic_t;

/* x86_64's atomic64_t: naturally aligned, so one lock-prefixed RMW. */
typedef struct { s64 counter; } atomic64_t;

#endif
