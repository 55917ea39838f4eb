/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM snp_page_lock

#if !defined(_TRACE_SNP_PAGE_LOCK_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_SNP_PAGE_LOCK_H

#include <linux/snp_page_lock.h>
#include <linux/tracepoint.h>
#include <linux/types.h>

TRACE_DEFINE_ENUM(SNP_PAGE_SHARED);
TRACE_DEFINE_ENUM(SNP_PAGE_PRIVATE);

/* A conversion's target state (never SNP_PAGE_CONVERTING). */
#define show_snp_state(to)					\
	__print_symbolic(to,					\
			 { SNP_PAGE_SHARED, "shared" },		\
			 { SNP_PAGE_PRIVATE, "private" })

/* A pin (or a range pin) failed on @bad_pfn; nothing stays pinned. */
TRACE_EVENT(snp_pin_fail,
	    TP_PROTO(unsigned long pfn, unsigned long nr_pages,
		     unsigned long bad_pfn, int err),
	    TP_ARGS(pfn, nr_pages, bad_pfn, err),
	    TP_STRUCT__entry(__field(unsigned long, pfn)
			     __field(unsigned long, nr_pages)
			     __field(unsigned long, bad_pfn)
			     __field(int, err)),
	    TP_fast_assign(__entry->pfn = pfn;
			   __entry->nr_pages = nr_pages;
			   __entry->bad_pfn = bad_pfn;
			   __entry->err = err;),
	    TP_printk("pfn=0x%lx nr_pages=%lu bad_pfn=0x%lx err=%d",
		      __entry->pfn, __entry->nr_pages, __entry->bad_pfn,
		      __entry->err)
);

DECLARE_EVENT_CLASS(snp_convert_template,
		    TP_PROTO(unsigned long pfn, unsigned long nr_pages, int to,
			     int ret),
		    TP_ARGS(pfn, nr_pages, to, ret),
		    TP_STRUCT__entry(__field(unsigned long, pfn)
				     __field(unsigned long, nr_pages)
				     __field(int, to)
				     __field(int, ret)),
		    TP_fast_assign(__entry->pfn = pfn;
				   __entry->nr_pages = nr_pages;
				   __entry->to = to;
				   __entry->ret = ret;),
		    TP_printk("pfn=0x%lx nr_pages=%lu to=%s ret=%d",
			      __entry->pfn, __entry->nr_pages,
			      show_snp_state(__entry->to), __entry->ret)
);

/* A conversion starts; the template's ret field carries its flags. */
DEFINE_EVENT_PRINT(snp_convert_template, snp_convert_begin,
		   TP_PROTO(unsigned long pfn, unsigned long nr_pages, int to,
			    int flags),
		   TP_ARGS(pfn, nr_pages, to, flags),
		   TP_printk("pfn=0x%lx nr_pages=%lu to=%s flags=%#x",
			     __entry->pfn, __entry->nr_pages,
			     show_snp_state(__entry->to), __entry->ret)
);

/* A conversion committed. */
DEFINE_EVENT(snp_convert_template, snp_convert_end,
	     TP_PROTO(unsigned long pfn, unsigned long nr_pages, int to,
		      int ret),
	     TP_ARGS(pfn, nr_pages, to, ret)
);

/* A conversion failed or was aborted; the pages keep their old state. */
DEFINE_EVENT(snp_convert_template, snp_convert_abort,
	     TP_PROTO(unsigned long pfn, unsigned long nr_pages, int to,
		      int ret),
	     TP_ARGS(pfn, nr_pages, to, ret)
);

/* A converter goes to sleep until the pins of @pfn drain. */
TRACE_EVENT(snp_convert_wait,
	    TP_PROTO(unsigned long pfn, unsigned int pins,
		     unsigned int timeout_ms),
	    TP_ARGS(pfn, pins, timeout_ms),
	    TP_STRUCT__entry(__field(unsigned long, pfn)
			     __field(unsigned int, pins)
			     __field(unsigned int, timeout_ms)),
	    TP_fast_assign(__entry->pfn = pfn;
			   __entry->pins = pins;
			   __entry->timeout_ms = timeout_ms;),
	    TP_printk("pfn=0x%lx pins=%u timeout_ms=%u",
		      __entry->pfn, __entry->pins, __entry->timeout_ms)
);

/*
 * A converter to private found a folio with references beyond its owner's
 * (a pipe, an in-flight I/O, a GUP user) and polls until they are dropped.
 */
TRACE_EVENT(snp_convert_ref_wait,
	    TP_PROTO(unsigned long pfn, int refs, int expected),
	    TP_ARGS(pfn, refs, expected),
	    TP_STRUCT__entry(__field(unsigned long, pfn)
			     __field(int, refs)
			     __field(int, expected)),
	    TP_fast_assign(__entry->pfn = pfn;
			   __entry->refs = refs;
			   __entry->expected = expected;),
	    TP_printk("pfn=0x%lx refs=%d expected=%d",
		      __entry->pfn, __entry->refs, __entry->expected)
);

#endif /* _TRACE_SNP_PAGE_LOCK_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
