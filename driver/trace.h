/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of mmapdemo: mmapdemo:mmap, mmapdemo:fault, mmapdemo:resize.
 * Enable them in tracefs, e.g.
 *	echo 1 > /sys/kernel/tracing/events/mmapdemo/enable
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM mmapdemo

#if !defined(MMAPDEMO_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define MMAPDEMO_TRACE_H

#include <linux/mm_types.h>
#include <linux/tracepoint.h>

#include "uapi/mmapdemo.h"

#define mmapdemo_show_strategy(strategy)				\
	__print_symbolic(strategy,					\
			 { MMAPDEMO_STRATEGY_REMAP, "remap" },		\
			 { MMAPDEMO_STRATEGY_FAULT, "fault" },		\
			 { MMAPDEMO_STRATEGY_FAULTAROUND, "faultaround" }, \
			 { MMAPDEMO_STRATEGY_PREFAULT, "prefault" },	\
			 { MMAPDEMO_STRATEGY_HUGE, "huge" })

TRACE_EVENT(mmap,
	    TP_PROTO(pid_t pid, unsigned long start, unsigned long length,
		     unsigned long pgoff, int strategy),
	    TP_ARGS(pid, start, length, pgoff, strategy),
	    TP_STRUCT__entry(__field(pid_t, pid)
			     __field(unsigned long, start)
			     __field(unsigned long, length)
			     __field(unsigned long, pgoff)
			     __field(int, strategy)),
	    TP_fast_assign(__entry->pid = pid;
			   __entry->start = start;
			   __entry->length = length;
			   __entry->pgoff = pgoff;
			   __entry->strategy = strategy;),
	    TP_printk("pid=%d start=0x%lx length=%lu pgoff=%lu strategy=%s",
		      __entry->pid, __entry->start, __entry->length,
		      __entry->pgoff,
		      mmapdemo_show_strategy(__entry->strategy))
);

TRACE_EVENT(fault,
	    TP_PROTO(unsigned long pgoff, unsigned long address, int strategy,
		     bool sigbus),
	    TP_ARGS(pgoff, address, strategy, sigbus),
	    TP_STRUCT__entry(__field(unsigned long, pgoff)
			     __field(unsigned long, address)
			     __field(int, strategy)
			     __field(bool, sigbus)),
	    TP_fast_assign(__entry->pgoff = pgoff;
			   __entry->address = address;
			   __entry->strategy = strategy;
			   __entry->sigbus = sigbus;),
	    TP_printk("pgoff=%lu address=0x%lx strategy=%s result=%s",
		      __entry->pgoff, __entry->address,
		      mmapdemo_show_strategy(__entry->strategy),
		      __entry->sigbus ? "sigbus" : "mapped")
);

TRACE_EVENT(resize,
	    TP_PROTO(size_t old_size, size_t new_size, int mappings),
	    TP_ARGS(old_size, new_size, mappings),
	    TP_STRUCT__entry(__field(size_t, old_size)
			     __field(size_t, new_size)
			     __field(int, mappings)),
	    TP_fast_assign(__entry->old_size = old_size;
			   __entry->new_size = new_size;
			   __entry->mappings = mappings;),
	    TP_printk("old=%zu new=%zu mappings=%d",
		      __entry->old_size, __entry->new_size, __entry->mappings)
);

#endif /* MMAPDEMO_TRACE_H */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
