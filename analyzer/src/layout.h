/*
 * The numbers that describe one CPython build: offsets and sizes of the
 * structures gcinspect reads.  Version quirks live here as data; the walker
 * and discovery code only ever read these fields.  An offset of -1 means the
 * field does not exist in that build.
 */
#ifndef GCI_LAYOUT_H
#define GCI_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the collector keeps its state. */
enum gci_state_kind {
	GCI_STATE_STATIC,  /* 3.6: file statics; heads from _PyGC_generation0 */
	GCI_STATE_RUNTIME, /* 3.7, 3.8: _PyRuntime.gc, one for the process */
	GCI_STATE_INTERP,  /* 3.9+: PyInterpreterState.gc, one per interpreter */
};

/* Which collector keeps the lists. */
enum gci_collector {
	GCI_COLLECTOR_GENERATIONAL, /* generations 0, 1, 2 */
	GCI_COLLECTOR_INCREMENTAL,  /* 3.14.0-3.14.4: young, old[0], old[1] */
	GCI_COLLECTOR_FREE_THREADED,/* Py_GIL_DISABLED: no lists; mimalloc heaps */
};

/*
 * Free-threaded builds (Py_GIL_DISABLED): GC objects live in the mimalloc
 * heaps of every thread state (heaps[2]: objects at the block, heaps[3]:
 * after a pre-header) and in abandoned segments of exited threads.  Offsets
 * are relative to the struct named; -1: no such field.  Two mimalloc lines
 * are vendored: 2.1.2 (3.13, 3.14.0-3.14.4: block size and page start
 * computed, abandoned segments in a per-interpreter pool) and 2.5
 * (3.14.10, 3.15: both stored in the page, abandoned segments per
 * sub-process).
 */
struct gci_ft_layout {
	/* PyObject */
	int32_t ob_tid, ob_gc_bits, ob_ref_local, ob_ref_shared;
	/* PyInterpreterState, PyThreadState, _PyThreadStateImpl */
	int32_t interp_threads_head, interp_mimalloc;
	int32_t tstate_next, tstate_thread_id, tstate_mimalloc;
	/* struct _mimalloc_thread_state */
	int32_t mts_heaps, mts_initialized;
	/* mi_heap_t: its size is the stride of heaps[] */
	uint32_t heap_size;
	int32_t heap_tld, heap_pages, heap_thread_delayed_free, heap_thread_id, heap_page_count;
	uint32_t heap_nqueues;        /* page queues: MI_BIN_FULL + 1 */
	uint32_t queue_size;          /* mi_page_queue_t (first at 0) */
	/* mi_page_t, which is also the slice stride in a segment */
	uint32_t page_size;
	int32_t page_slice_count, page_slice_offset, page_capacity, page_reserved;
	int32_t page_free, page_used, page_local_free, page_xthread_free, page_xheap, page_next;
	uint32_t page_used_bytes;     /* 4 (mimalloc 2.1) or 2 (2.5) */
	int32_t page_block_size;      /* xblock_size (2.1) or block_size (2.5) */
	uint32_t page_block_size_bytes; /* 4: 2^31 and up means a huge block */
	int32_t page_start;           /* stored page start (2.5), or -1: computed */
	int32_t page_tag;             /* byte holding the heap tag */
	uint32_t page_tag_shift, page_tag_bits;
	/* mi_segment_t */
	uint32_t segment_shift, slice_shift; /* 32 MiB segments, 64 KiB slices */
	int32_t seg_segment_slices, seg_info_slices, seg_slice_entries, seg_thread_id;
	int32_t seg_slices, seg_abandoned_next, seg_subproc, seg_abandoned_os_next;
	int32_t seg_used, seg_abandoned;  /* pages in use, of which abandoned */
	/* interp->mimalloc: the abandoned pool (2.1) or the sub-process (2.5) */
	int32_t pool_abandoned, pool_abandoned_visited;
	int32_t interp_subproc, subproc_abandoned_count, subproc_os_list;
	int32_t subproc_os_list_count;
	/* PyListObject.ob_item (a pointer), PyTupleObject.ob_item (inline):
	 * for the size of the collector's mark stack */
	int32_t list_items, tuple_items;
};

struct gci_layout {
	const char *name;       /* "CPython 3.11 release (table)" */
	const char *provenance; /* "derived from v3.11.7 DWARF, checked on 3.11.2" */

	/* PyObject / PyVarObject */
	int32_t ob_refcnt, ob_type, ob_size;
	/* PyTypeObject */
	int32_t tp_name, tp_basicsize, tp_itemsize, tp_flags;
	/* PyGC_Head: size, the next/prev words, and the mask clearing flag bits */
	uint32_t gc_head_size;
	int32_t gc_next, gc_prev;
	uint64_t gc_ptr_mask;
	/* Pre-header before the GC head: present when tp_flags & preheader_flags */
	uint64_t preheader_flags;
	uint32_t preheader_size;
	/* Bytes the allocator's debug hooks add before each block (debug builds) */
	uint32_t debug_alloc_prefix;

	/* From _PyRuntime to the GC state */
	enum gci_state_kind state_kind;
	int32_t runtime_gc;            /* GCI_STATE_RUNTIME */
	int32_t runtime_interp_head;   /* _PyRuntime.interpreters.head */
	int32_t runtime_interp_main;   /* _PyRuntime.interpreters.main */
	int32_t interp_next, interp_id, interp_gc;

	/* Inside the GC state */
	int32_t gc_enabled, gc_collecting;       /* int */
	int32_t gc_generations;                  /* generations[0] */
	int32_t gc_generation0;                  /* PyGC_Head *generation0 */
	int32_t gc_permanent;                    /* permanent_generation */
	int32_t gc_long_lived_total, gc_long_lived_pending; /* Py_ssize_t */
	int32_t gc_heap_size;                    /* Py_ssize_t, 3.14+ */
	enum gci_collector collector;
	int32_t gc_visited_space, gc_phase;      /* int, incremental only */
	int32_t gc_work_to_do;                   /* Py_ssize_t, incremental only */
	const char *const *gen_names;            /* NULL: "0", "1", "2" */
	uint32_t ngens;
	/* struct gc_generation */
	uint32_t gen_size;
	int32_t gen_head, gen_threshold, gen_count; /* threshold, count: int */

	/* GCI_COLLECTOR_FREE_THREADED only (unused otherwise) */
	struct gci_ft_layout ft;
};

/* A built-in table entry: the versions it covers and the layout. */
struct gci_layout_table {
	uint32_t min_hex, max_hex;  /* PY_VERSION_HEX range, inclusive */
	bool debug;                 /* for Py_DEBUG builds */
	bool free_threaded;         /* for Py_GIL_DISABLED builds */
	struct gci_layout layout;
};

/* The built-in layout for a version, or NULL. */
const struct gci_layout *gci_layout_table_find(uint32_t version_hex, bool debug,
					       bool free_threaded);
/* Every built-in table entry (for tests). */
const struct gci_layout_table *gci_layout_tables(size_t *ret_count);



/* Every numeric field of struct gci_layout, by name (cache files, tests). */
enum gci_field_kind { GCI_FIELD_I32, GCI_FIELD_U32, GCI_FIELD_U64, GCI_FIELD_KIND,
			  GCI_FIELD_COLLECTOR };
struct gci_layout_field {
	const char *name;
	size_t offset;
	enum gci_field_kind kind;
};
#define GCI_LAYOUT_MAX_FIELDS 128
extern const struct gci_layout_field gci_layout_fields[];
extern const size_t gci_layout_nfields;
int64_t gci_layout_get(const struct gci_layout *L, const struct gci_layout_field *f);
/* Set a field; false (and nothing set) if v does not fit it. */
bool gci_layout_set(struct gci_layout *L, const struct gci_layout_field *f, int64_t v);
/*
 * Fields where layout differs from table: every field the table has (an
 * offset of -1 in the table is "no such field", not a disagreement).
 */
int gci_layout_diff(const struct gci_layout *table, const struct gci_layout *layout);
/*
 * Whether a layout is sane enough to walk with, whatever its source (DWARF
 * and the cache come from files an attacker may control): list counts within
 * bounds, every field inside its struct.  NULL, or a static reason.
 */
const char *gci_layout_invalid(const struct gci_layout *L);

#endif
