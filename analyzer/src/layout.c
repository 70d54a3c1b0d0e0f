/*
 * Built-in layout tables.  Every entry names the CPython build it was
 * derived from; the facts are in ../shared notes form in docs/layouts.md.
 * Offsets of the GC state are relative to the state, interpreter fields to
 * PyInterpreterState, runtime fields to _PyRuntime.  -1: no such field.
 */
#include "layout.h"

#define PY_HEX(maj, min, mic) (((uint32_t)(maj) << 24) | ((uint32_t)(min) << 16) | \
			       ((uint32_t)(mic) << 8))
#define PY_HEX_END(maj, min, mic) (PY_HEX(maj, min, mic) | 0xff)

/* PyObject, PyTypeObject and PyGC_Head of 3.8+ release (GIL) builds. */
#define OBJECT_38                                                              \
	.ob_refcnt = 0, .ob_type = 8, .ob_size = 16, .tp_name = 24,            \
	.tp_basicsize = 32, .tp_itemsize = 40, .tp_flags = 168,                \
	.gc_head_size = 16, .gc_next = 0, .gc_prev = 8, .gc_ptr_mask = ~(uint64_t)3

/* struct gc_generation of 3.8+: PyGC_Head head; int threshold, count. */
#define GENERATIONS_38                                                         \
	.ngens = 3, .gen_size = 24, .gen_head = 0, .gen_threshold = 16, .gen_count = 20

/* Generational collectors have no incremental state. */
#define NOT_INCREMENTAL                                                        \
	.collector = GCI_COLLECTOR_GENERATIONAL, .gc_visited_space = -1, .gc_phase = -1, \
	.gc_work_to_do = -1

#define MANAGED_DICT (1ULL << 4)
#define MANAGED_WEAKREF (1ULL << 3)

static const char *const incremental_names[] = { "young", "old[0]", "old[1]" };

/*
 * Free-threaded builds: PyObject is 32 bytes (ob_tid, flags, ob_mutex,
 * ob_gc_bits, ob_ref_local, ob_ref_shared, ob_type), so every type field
 * is 16 bytes further; no GC head.  ob_refcnt names ob_ref_local (the
 * refcount is ob_ref_local + (ob_ref_shared >> 2), see ft.ob_ref_shared).
 */
#define OBJECT_FT                                                              \
	.ob_refcnt = 12, .ob_type = 24, .ob_size = 32, .tp_name = 40,          \
	.tp_basicsize = 48, .tp_itemsize = 56, .tp_flags = 184,                \
	.gc_head_size = 0, .gc_next = -1, .gc_prev = -1, .gc_ptr_mask = ~(uint64_t)0, \
	.collector = GCI_COLLECTOR_FREE_THREADED, .gc_visited_space = -1, .gc_phase = -1

#define FT_OBJECT_FIELDS .ob_tid = 0, .ob_gc_bits = 11, .ob_ref_local = 12, .ob_ref_shared = 16, \
	.list_items = 40

/*
 * mimalloc 2.1.2 as CPython 3.13 and 3.14.0-3.14.4 vendor it
 * (Include/internal/mimalloc/mimalloc/types.h; MI_PADDING and
 * MI_ENCODE_FREELIST off in release builds): the block size is
 * mi_page_t.xblock_size (u32, 2^31 and up: huge), the page start is
 * computed from the slice index, abandoned segments hang off a
 * per-interpreter pool through segment->abandoned_next.
 */
#define MIMALLOC_21                                                            \
	.mts_heaps = 8, .mts_initialized = 13872,                              \
	.heap_size = 3064, .heap_tld = 0, .heap_pages = 1040,                  \
	.heap_thread_delayed_free = 2840, .heap_thread_id = 2848,             \
	.heap_page_count = 3024, .heap_nqueues = 75, .queue_size = 24,        \
	.page_size = 96, .page_slice_count = 0, .page_slice_offset = 4,       \
	.page_capacity = 10, .page_reserved = 12, .page_free = 16,            \
	.page_used = 24, .page_used_bytes = 4, .page_block_size = 28,         \
	.page_block_size_bytes = 4, .page_local_free = 32,                    \
	.page_xthread_free = 40, .page_xheap = 48, .page_next = 56,           \
	.page_start = -1, .page_tag = 8, .page_tag_shift = 3, .page_tag_bits = 4, \
	.segment_shift = 25, .slice_shift = 16,                               \
	.seg_segment_slices = 224, .seg_info_slices = 232,                    \
	.seg_slice_entries = 248, .seg_thread_id = 256, .seg_slices = 264,    \
	.seg_abandoned_next = 176, .seg_subproc = -1, .seg_abandoned_os_next = -1, \
	.seg_used = 208, .seg_abandoned = 192,                                \
	.pool_abandoned = 64, .pool_abandoned_visited = 0,                    \
	.interp_subproc = -1, .subproc_abandoned_count = -1,                  \
	.subproc_os_list = -1, .subproc_os_list_count = -1

/*
 * The mimalloc 2.5 line that 3.14.10 and 3.15.2 vendor (MI_MALLOC_VERSION
 * 20502): block size and page start stored in mi_page_t, a one-byte heap
 * tag, abandoned segments per sub-process: in arenas' bitmaps and, for
 * segments from the OS, on subproc->abandoned_os_list.
 */
#define MIMALLOC_25                                                            \
	.mts_heaps = 8, .mts_initialized = 17480,                              \
	.heap_size = 3088, .heap_tld = 0, .heap_pages = 1288,                  \
	.heap_thread_delayed_free = 8, .heap_thread_id = 16,                  \
	.heap_page_count = 192, .heap_nqueues = 75, .queue_size = 24,         \
	.page_size = 112, .page_slice_count = 0, .page_slice_offset = 4,      \
	.page_capacity = 10, .page_reserved = 12, .page_free = 16,            \
	.page_used = 32, .page_used_bytes = 2, .page_block_size = 40,         \
	.page_block_size_bytes = 8, .page_local_free = 24,                    \
	.page_xthread_free = 56, .page_xheap = 64, .page_next = 72,           \
	.page_start = 48, .page_tag = 35, .page_tag_shift = 0, .page_tag_bits = 8, \
	.segment_shift = 25, .slice_shift = 16,                               \
	.seg_segment_slices = 248, .seg_info_slices = 256,                    \
	.seg_slice_entries = 272, .seg_thread_id = 280, .seg_slices = 288,    \
	.seg_abandoned_next = -1, .seg_subproc = 40, .seg_abandoned_os_next = 232, \
	.seg_used = 216, .seg_abandoned = 200,                                \
	.pool_abandoned = -1, .pool_abandoned_visited = -1,                   \
	.interp_subproc = 0, .subproc_abandoned_count = 0,                    \
	.subproc_os_list = 96, .subproc_os_list_count = 8

static const struct gci_layout_table tables[] = {
	{ PY_HEX(3, 6, 0), PY_HEX_END(3, 6, 255), false, false, {
		NOT_INCREMENTAL, .gc_heap_size = -1,
		.name = "CPython 3.6 release",
		.provenance = "table derived from v3.6.15 DWARF",
		.ob_refcnt = 0, .ob_type = 8, .ob_size = 16, .tp_name = 24,
		.tp_basicsize = 32, .tp_itemsize = 40, .tp_flags = 168,
		.gc_head_size = 32, .gc_next = 0, .gc_prev = 8, .gc_ptr_mask = ~(uint64_t)0,
		/* file statics of Modules/gcmodule.c: the generations array is
		 * found through the exported _PyGC_generation0, the rest by
		 * symbol (enabled, collecting, long_lived_*). */
		.state_kind = GCI_STATE_STATIC, .runtime_gc = -1,
		.runtime_interp_head = -1, .runtime_interp_main = -1,
		.interp_next = -1, .interp_id = -1, .interp_gc = -1,
		.gc_enabled = -1, .gc_collecting = -1, .gc_generations = 0,
		.gc_generation0 = -1, .gc_permanent = -1,
		.gc_long_lived_total = -1, .gc_long_lived_pending = -1,
		.ngens = 3, .gen_size = 48, .gen_head = 0, .gen_threshold = 32,
		.gen_count = 36,
	} },
	{ PY_HEX(3, 7, 0), PY_HEX_END(3, 7, 255), false, false, {
		NOT_INCREMENTAL, .gc_heap_size = -1,
		.name = "CPython 3.7 release",
		.provenance = "table derived from v3.7.16 DWARF",
		.ob_refcnt = 0, .ob_type = 8, .ob_size = 16, .tp_name = 24,
		.tp_basicsize = 32, .tp_itemsize = 40, .tp_flags = 168,
		/* union of three words and a long double: 32 bytes, clean pointers */
		.gc_head_size = 32, .gc_next = 0, .gc_prev = 8, .gc_ptr_mask = ~(uint64_t)0,
		.state_kind = GCI_STATE_RUNTIME, .runtime_gc = 320,
		.runtime_interp_head = 24, .runtime_interp_main = 32,
		.interp_next = 0, .interp_id = 16, .interp_gc = -1,
		.gc_enabled = 12, .gc_collecting = 312, .gc_generations = 32,
		.gc_generation0 = 176, .gc_permanent = 192,
		.gc_long_lived_total = 336, .gc_long_lived_pending = 344,
		.ngens = 3, .gen_size = 48, .gen_head = 0, .gen_threshold = 32,
		.gen_count = 36,
	} },
	{ PY_HEX(3, 8, 0), PY_HEX_END(3, 8, 255), false, false, {
		NOT_INCREMENTAL, .gc_heap_size = -1,
		.name = "CPython 3.8 release",
		.provenance = "table derived from v3.8.18 DWARF",
		OBJECT_38,
		.state_kind = GCI_STATE_RUNTIME, .runtime_gc = 344,
		.runtime_interp_head = 32, .runtime_interp_main = 40,
		.interp_next = 0, .interp_id = 16, .interp_gc = -1,
		.gc_enabled = 12, .gc_collecting = 200, .gc_generations = 24,
		.gc_generation0 = 96, .gc_permanent = 104,
		.gc_long_lived_total = 224, .gc_long_lived_pending = 232,
		GENERATIONS_38,
	} },
	{ PY_HEX(3, 9, 0), PY_HEX_END(3, 10, 255), false, false, {
		NOT_INCREMENTAL, .gc_heap_size = -1,
		.name = "CPython 3.9-3.10 release",
		.provenance = "table derived from v3.9.18 and v3.10.13 DWARF, "
			      "checked against 3.9.2 headers",
		OBJECT_38,
		.state_kind = GCI_STATE_INTERP, .runtime_gc = -1,
		.runtime_interp_head = 32, .runtime_interp_main = 40,
		.interp_next = 0, .interp_id = 24, .interp_gc = 616,
		.gc_enabled = 12, .gc_collecting = 200, .gc_generations = 24,
		.gc_generation0 = 96, .gc_permanent = 104,
		.gc_long_lived_total = 224, .gc_long_lived_pending = 232,
		GENERATIONS_38,
	} },
	{ PY_HEX(3, 11, 0), PY_HEX_END(3, 11, 255), false, false, {
		NOT_INCREMENTAL, .gc_heap_size = -1,
		.name = "CPython 3.11 release",
		.provenance = "table derived from v3.11.7 DWARF, checked against "
			      "3.11.2 (Debian bookworm) DWARF",
		OBJECT_38,
		.preheader_flags = MANAGED_DICT, .preheader_size = 16,
		.state_kind = GCI_STATE_INTERP, .runtime_gc = -1,
		.runtime_interp_head = 40, .runtime_interp_main = 48,
		.interp_next = 0, .interp_id = 48, .interp_gc = 648,
		.gc_enabled = 12, .gc_collecting = 200, .gc_generations = 24,
		.gc_generation0 = 96, .gc_permanent = 104,
		.gc_long_lived_total = 224, .gc_long_lived_pending = 232,
		GENERATIONS_38,
	} },
	{ PY_HEX(3, 12, 0), PY_HEX_END(3, 12, 255), false, false, {
		NOT_INCREMENTAL, .gc_heap_size = -1,
		.name = "CPython 3.12 release",
		.provenance = "table derived from v3.12.1 DWARF",
		OBJECT_38,
		.preheader_flags = MANAGED_DICT | MANAGED_WEAKREF, .preheader_size = 16,
		.state_kind = GCI_STATE_INTERP, .runtime_gc = -1,
		.runtime_interp_head = 40, .runtime_interp_main = 48,
		.interp_next = 0, .interp_id = 8, .interp_gc = 112,
		.gc_enabled = 12, .gc_collecting = 200, .gc_generations = 24,
		.gc_generation0 = 96, .gc_permanent = 104,
		.gc_long_lived_total = 224, .gc_long_lived_pending = 232,
		GENERATIONS_38,
	} },
	{ PY_HEX(3, 13, 0), PY_HEX_END(3, 13, 255), false, false, {
		NOT_INCREMENTAL, .gc_heap_size = -1,
		.name = "CPython 3.13 release",
		.provenance = "table derived from v3.13.0 DWARF and the debug offsets "
			      "of 3.13.5 (Debian trixie)",
		OBJECT_38,
		.preheader_flags = MANAGED_DICT | MANAGED_WEAKREF, .preheader_size = 16,
		.state_kind = GCI_STATE_INTERP, .runtime_gc = -1,
		.runtime_interp_head = 632, .runtime_interp_main = 640,
		.interp_next = 7264, .interp_id = 7272, .interp_gc = 7400,
		.gc_enabled = 12, .gc_collecting = 200, .gc_generations = 24,
		.gc_generation0 = 96, .gc_permanent = 104,
		.gc_long_lived_total = 224, .gc_long_lived_pending = 232,
		GENERATIONS_38,
	} },
	{ PY_HEX(3, 14, 0), PY_HEX_END(3, 14, 4), false, false, {
		/* The incremental collector: young plus two old spaces; bit 0
		 * of _gc_next is the old-space bit (masked with the flags);
		 * no generation0.  gc.get_objects(0) is young, (1) empty, (2)
		 * both old lists. */
		.collector = GCI_COLLECTOR_INCREMENTAL, .gen_names = incremental_names,
		.gc_visited_space = 232, .gc_phase = 236, .gc_heap_size = 216,
		.gc_work_to_do = 224,
		.name = "CPython 3.14.0-3.14.4 release (incremental collector)",
		.provenance = "table derived from the v3.14.0 sources "
			      "(pycore_interp_structs.h), checked against the DWARF of "
			      "a 3.14.4 build",
		OBJECT_38,
		.preheader_flags = MANAGED_DICT | MANAGED_WEAKREF, .preheader_size = 16,
		.state_kind = GCI_STATE_INTERP, .runtime_gc = -1,
		.runtime_interp_head = 808, .runtime_interp_main = 816,
		.interp_next = 7272, .interp_id = 7280, .interp_gc = 7408,
		.gc_enabled = 12, .gc_collecting = 192, .gc_generations = 24,
		.gc_generation0 = -1, .gc_permanent = 96,
		.gc_long_lived_total = -1, .gc_long_lived_pending = -1,
		GENERATIONS_38,
	} },
	{ PY_HEX(3, 14, 5), PY_HEX_END(3, 14, 255), false, false, {
		NOT_INCREMENTAL, .gc_heap_size = 216,
		.name = "CPython 3.14.5+ release",
		.provenance = "table derived from 3.14.10 (Debian sid) headers and "
			      "debug offsets",
		OBJECT_38,
		.preheader_flags = MANAGED_DICT | MANAGED_WEAKREF, .preheader_size = 16,
		.state_kind = GCI_STATE_INTERP, .runtime_gc = -1,
		.runtime_interp_head = 808, .runtime_interp_main = 816,
		.interp_next = 7272, .interp_id = 7280, .interp_gc = 7408,
		.gc_enabled = 12, .gc_collecting = 192, .gc_generations = 24,
		.gc_generation0 = 256, .gc_permanent = 96,
		.gc_long_lived_total = 240, .gc_long_lived_pending = 248,
		GENERATIONS_38,
	} },
	{ PY_HEX(3, 15, 0), PY_HEX_END(3, 15, 255), false, false, {
		NOT_INCREMENTAL, .gc_heap_size = 144,
		.name = "CPython 3.15 release",
		.provenance = "table derived from 3.15.2 (Debian sid) headers and "
			      "debug offsets",
		OBJECT_38,
		.preheader_flags = MANAGED_DICT | MANAGED_WEAKREF, .preheader_size = 16,
		.state_kind = GCI_STATE_INTERP, .runtime_gc = -1,
		.runtime_interp_head = 936, .runtime_interp_main = 944,
		.interp_next = 7264, .interp_id = 7272, .interp_gc = 7400,
		.gc_enabled = 0, .gc_collecting = 112, .gc_generations = 8,
		.gc_generation0 = 168, .gc_permanent = 80,
		.gc_long_lived_total = 152, .gc_long_lived_pending = 160,
		GENERATIONS_38,
	} },
	/* Free-threaded builds.  The GC state keeps the three generations'
	 * thresholds and counts (and, in 3.13, generation0 and the permanent
	 * generation's head) but no object is ever on a list. */
	{ PY_HEX(3, 13, 0), PY_HEX_END(3, 13, 255), false, true, {
		OBJECT_FT, .gc_heap_size = -1,
		.name = "CPython 3.13 free-threaded release",
		.provenance = "table derived from the DWARF of 3.13.15t (Debian's 3.13.15 "
			      "sources built with --disable-gil), with upstream's generations "
			      "at +24",
		.preheader_flags = MANAGED_DICT | MANAGED_WEAKREF, .preheader_size = 16,
		.state_kind = GCI_STATE_INTERP, .runtime_gc = -1,
		.runtime_interp_head = 632, .runtime_interp_main = 640,
		.interp_next = 7264, .interp_id = 7272, .interp_gc = 7400,
		/* generation0 exists but is never set in free-threaded builds; the
		 * list heads are never initialised (all zero).  Builds from
		 * Debian's sources carry its PyGC_Head alignment patch, which moves
		 * the generations to +20: discovery.c finds that by the zero heads. */
		.gc_enabled = 12, .gc_collecting = 200, .gc_generations = 24,
		.gc_generation0 = -1, .gc_permanent = 104,
		.gc_long_lived_total = 224, .gc_long_lived_pending = 232,
		GENERATIONS_38,
		.ft = { FT_OBJECT_FIELDS, MIMALLOC_21,
			.interp_threads_head = 7344, .interp_mimalloc = 10816,
			.tstate_next = 8, .tstate_thread_id = 152, .tstate_mimalloc = 352,
			.tuple_items = 40 },
	} },
	/* Which 3.14 release after 3.14.4 moved to mimalloc 2.5 is not known
	 * here: for 3.14.5-3.14.9 both tables apply, and layout_choose.c takes
	 * the one whose heaps belong to their threads. */
	{ PY_HEX(3, 14, 0), PY_HEX_END(3, 14, 9), false, true, {
		OBJECT_FT, .gc_heap_size = 216,
		.name = "CPython 3.14.0-3.14.4 free-threaded release",
		.provenance = "table derived from the headers of 3.14.4 compiled with "
			      "-DPy_GIL_DISABLED (mimalloc 2.1.2; also tried on 3.14.5-3.14.9); "
			      "no free-threaded 3.14 binary was available to check it",
		.preheader_flags = MANAGED_DICT | MANAGED_WEAKREF, .preheader_size = 16,
		.state_kind = GCI_STATE_INTERP, .runtime_gc = -1,
		.runtime_interp_head = 808, .runtime_interp_main = 816,
		.interp_next = 7272, .interp_id = 7280, .interp_gc = 7408,
		.gc_enabled = 12, .gc_collecting = 192, .gc_generations = 24,
		.gc_generation0 = -1, .gc_permanent = 96,
		.gc_long_lived_total = 240, .gc_long_lived_pending = 248,
		GENERATIONS_38,
		.ft = { FT_OBJECT_FIELDS, MIMALLOC_21,
			.interp_threads_head = 7344, .interp_mimalloc = 10944,
			.tstate_next = 8, .tstate_thread_id = 152, .tstate_mimalloc = 936,
			.tuple_items = 48 /* after the cached ob_hash (3.14) */ },
	} },
	{ PY_HEX(3, 14, 5), PY_HEX_END(3, 14, 255), false, true, {
		OBJECT_FT, .gc_heap_size = 216,
		.name = "CPython 3.14.5+ free-threaded release",
		.provenance = "table derived from the headers of 3.14.10 (Debian sid) "
			      "compiled with -DPy_GIL_DISABLED (mimalloc 2.5; also tried on "
			      "3.14.5-3.14.9); no free-threaded 3.14 binary was available to "
			      "check it",
		.preheader_flags = MANAGED_DICT | MANAGED_WEAKREF, .preheader_size = 16,
		.state_kind = GCI_STATE_INTERP, .runtime_gc = -1,
		.runtime_interp_head = 808, .runtime_interp_main = 816,
		.interp_next = 7272, .interp_id = 7280, .interp_gc = 7408,
		.gc_enabled = 12, .gc_collecting = 192, .gc_generations = 24,
		.gc_generation0 = -1, .gc_permanent = 96,
		.gc_long_lived_total = 240, .gc_long_lived_pending = 248,
		GENERATIONS_38,
		.ft = { FT_OBJECT_FIELDS, MIMALLOC_25,
			.interp_threads_head = 7344, .interp_mimalloc = 10928,
			.tstate_next = 8, .tstate_thread_id = 152, .tstate_mimalloc = 936,
			.tuple_items = 48 },
	} },
	{ PY_HEX(3, 15, 0), PY_HEX_END(3, 15, 255), false, true, {
		OBJECT_FT, .gc_heap_size = 144,
		.name = "CPython 3.15 free-threaded release",
		.provenance = "table derived from the headers of 3.15.2 (Debian sid) "
			      "compiled with -DPy_GIL_DISABLED (mimalloc 2.5); no "
			      "free-threaded 3.15 binary was available to check it",
		.preheader_flags = MANAGED_DICT | MANAGED_WEAKREF, .preheader_size = 16,
		.state_kind = GCI_STATE_INTERP, .runtime_gc = -1,
		.runtime_interp_head = 936, .runtime_interp_main = 944,
		.interp_next = 7264, .interp_id = 7272, .interp_gc = 7400,
		.gc_enabled = 0, .gc_collecting = 112, .gc_generations = 8,
		.gc_generation0 = -1, .gc_permanent = 80,
		.gc_long_lived_total = 152, .gc_long_lived_pending = 160,
		GENERATIONS_38,
		.ft = { FT_OBJECT_FIELDS, MIMALLOC_25,
			.interp_threads_head = 7336, .interp_mimalloc = 10880,
			.tstate_next = 8, .tstate_thread_id = 176, .tstate_mimalloc = 1104,
			.tuple_items = 48 },
	} },
};

const struct gci_layout_table *gci_layout_tables(size_t *ret_count)
{
	*ret_count = sizeof(tables) / sizeof(tables[0]);
	return tables;
}

const struct gci_layout *gci_layout_table_find(uint32_t version_hex, bool debug,
					       bool free_threaded)
{
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (version_hex >= tables[i].min_hex && version_hex <= tables[i].max_hex &&
		    tables[i].debug == debug && tables[i].free_threaded == free_threaded)
			return &tables[i].layout;
	}
	return NULL;
}

#define FIELD(f, k) { #f, offsetof(struct gci_layout, f), k }
const struct gci_layout_field gci_layout_fields[] = {
	FIELD(ob_refcnt, GCI_FIELD_I32), FIELD(ob_type, GCI_FIELD_I32),
	FIELD(ob_size, GCI_FIELD_I32), FIELD(tp_name, GCI_FIELD_I32),
	FIELD(tp_basicsize, GCI_FIELD_I32), FIELD(tp_itemsize, GCI_FIELD_I32),
	FIELD(tp_flags, GCI_FIELD_I32), FIELD(gc_head_size, GCI_FIELD_U32),
	FIELD(gc_next, GCI_FIELD_I32), FIELD(gc_prev, GCI_FIELD_I32),
	FIELD(gc_ptr_mask, GCI_FIELD_U64), FIELD(preheader_flags, GCI_FIELD_U64),
	FIELD(preheader_size, GCI_FIELD_U32), FIELD(debug_alloc_prefix, GCI_FIELD_U32),
	FIELD(state_kind, GCI_FIELD_KIND), FIELD(runtime_gc, GCI_FIELD_I32),
	FIELD(runtime_interp_head, GCI_FIELD_I32), FIELD(runtime_interp_main, GCI_FIELD_I32),
	FIELD(interp_next, GCI_FIELD_I32), FIELD(interp_id, GCI_FIELD_I32),
	FIELD(interp_gc, GCI_FIELD_I32), FIELD(gc_enabled, GCI_FIELD_I32),
	FIELD(gc_collecting, GCI_FIELD_I32), FIELD(gc_generations, GCI_FIELD_I32),
	FIELD(gc_generation0, GCI_FIELD_I32), FIELD(gc_permanent, GCI_FIELD_I32),
	FIELD(gc_long_lived_total, GCI_FIELD_I32), FIELD(gc_long_lived_pending, GCI_FIELD_I32),
	FIELD(ngens, GCI_FIELD_U32), FIELD(gen_size, GCI_FIELD_U32),
	FIELD(gen_head, GCI_FIELD_I32), FIELD(gen_threshold, GCI_FIELD_I32),
	FIELD(gen_count, GCI_FIELD_I32), FIELD(gc_heap_size, GCI_FIELD_I32),
	FIELD(collector, GCI_FIELD_COLLECTOR), FIELD(gc_visited_space, GCI_FIELD_I32),
	FIELD(gc_phase, GCI_FIELD_I32), FIELD(gc_work_to_do, GCI_FIELD_I32),
	/* free-threaded builds */
	FIELD(ft.ob_tid, GCI_FIELD_I32), FIELD(ft.ob_gc_bits, GCI_FIELD_I32),
	FIELD(ft.ob_ref_local, GCI_FIELD_I32), FIELD(ft.ob_ref_shared, GCI_FIELD_I32),
	FIELD(ft.interp_threads_head, GCI_FIELD_I32),
	FIELD(ft.interp_mimalloc, GCI_FIELD_I32), FIELD(ft.tstate_next, GCI_FIELD_I32),
	FIELD(ft.tstate_thread_id, GCI_FIELD_I32), FIELD(ft.tstate_mimalloc, GCI_FIELD_I32),
	FIELD(ft.mts_heaps, GCI_FIELD_I32), FIELD(ft.mts_initialized, GCI_FIELD_I32),
	FIELD(ft.heap_tld, GCI_FIELD_I32), FIELD(ft.heap_pages, GCI_FIELD_I32),
	FIELD(ft.heap_thread_delayed_free, GCI_FIELD_I32),
	FIELD(ft.heap_thread_id, GCI_FIELD_I32), FIELD(ft.heap_page_count, GCI_FIELD_I32),
	FIELD(ft.page_slice_count, GCI_FIELD_I32), FIELD(ft.page_slice_offset, GCI_FIELD_I32),
	FIELD(ft.page_capacity, GCI_FIELD_I32), FIELD(ft.page_reserved, GCI_FIELD_I32),
	FIELD(ft.page_free, GCI_FIELD_I32), FIELD(ft.page_used, GCI_FIELD_I32),
	FIELD(ft.page_local_free, GCI_FIELD_I32), FIELD(ft.page_xthread_free, GCI_FIELD_I32),
	FIELD(ft.page_xheap, GCI_FIELD_I32), FIELD(ft.page_next, GCI_FIELD_I32),
	FIELD(ft.page_block_size, GCI_FIELD_I32), FIELD(ft.page_start, GCI_FIELD_I32),
	FIELD(ft.page_tag, GCI_FIELD_I32), FIELD(ft.seg_segment_slices, GCI_FIELD_I32),
	FIELD(ft.seg_info_slices, GCI_FIELD_I32), FIELD(ft.seg_slice_entries, GCI_FIELD_I32),
	FIELD(ft.seg_thread_id, GCI_FIELD_I32), FIELD(ft.seg_slices, GCI_FIELD_I32),
	FIELD(ft.seg_abandoned_next, GCI_FIELD_I32), FIELD(ft.seg_subproc, GCI_FIELD_I32),
	FIELD(ft.seg_abandoned_os_next, GCI_FIELD_I32), FIELD(ft.seg_used, GCI_FIELD_I32),
	FIELD(ft.seg_abandoned, GCI_FIELD_I32), FIELD(ft.list_items, GCI_FIELD_I32),
	FIELD(ft.tuple_items, GCI_FIELD_I32),
	FIELD(ft.pool_abandoned, GCI_FIELD_I32),
	FIELD(ft.pool_abandoned_visited, GCI_FIELD_I32),
	FIELD(ft.interp_subproc, GCI_FIELD_I32),
	FIELD(ft.subproc_abandoned_count, GCI_FIELD_I32),
	FIELD(ft.subproc_os_list, GCI_FIELD_I32),
	FIELD(ft.subproc_os_list_count, GCI_FIELD_I32), FIELD(ft.heap_size, GCI_FIELD_U32),
	FIELD(ft.heap_nqueues, GCI_FIELD_U32), FIELD(ft.queue_size, GCI_FIELD_U32),
	FIELD(ft.page_size, GCI_FIELD_U32), FIELD(ft.page_used_bytes, GCI_FIELD_U32),
	FIELD(ft.page_block_size_bytes, GCI_FIELD_U32),
	FIELD(ft.page_tag_shift, GCI_FIELD_U32), FIELD(ft.page_tag_bits, GCI_FIELD_U32),
	FIELD(ft.segment_shift, GCI_FIELD_U32), FIELD(ft.slice_shift, GCI_FIELD_U32),
};
#undef FIELD
const size_t gci_layout_nfields = sizeof(gci_layout_fields) / sizeof(gci_layout_fields[0]);

int64_t gci_layout_get(const struct gci_layout *L, const struct gci_layout_field *f)
{
	const void *p = (const char *)L + f->offset;
	switch (f->kind) {
	case GCI_FIELD_I32: return *(const int32_t *)p;
	case GCI_FIELD_U32: return *(const uint32_t *)p;
	case GCI_FIELD_U64: return (int64_t)*(const uint64_t *)p;
	case GCI_FIELD_KIND: return *(const enum gci_state_kind *)p;
	case GCI_FIELD_COLLECTOR: return *(const enum gci_collector *)p;
	}
	return 0;
}

bool gci_layout_set(struct gci_layout *L, const struct gci_layout_field *f, int64_t v)
{
	void *p = (char *)L + f->offset;
	switch (f->kind) {
	case GCI_FIELD_I32:
		if (v < INT32_MIN || v > INT32_MAX)
			return false;
		*(int32_t *)p = (int32_t)v;
		return true;
	case GCI_FIELD_U32:
		if (v < 0 || v > UINT32_MAX)
			return false;
		*(uint32_t *)p = (uint32_t)v;
		return true;
	case GCI_FIELD_U64:
		*(uint64_t *)p = (uint64_t)v;
		return true;
	case GCI_FIELD_KIND:
		if (v != GCI_STATE_STATIC && v != GCI_STATE_RUNTIME && v != GCI_STATE_INTERP)
			return false;
		*(enum gci_state_kind *)p = (enum gci_state_kind)v;
		return true;
	case GCI_FIELD_COLLECTOR:
		if (v != GCI_COLLECTOR_GENERATIONAL && v != GCI_COLLECTOR_INCREMENTAL)
			return false;
		*(enum gci_collector *)p = (enum gci_collector)v;
		return true;
	}
	return false;
}

int gci_layout_diff(const struct gci_layout *table, const struct gci_layout *layout)
{
	int n = 0;
	for (size_t i = 0; i < gci_layout_nfields; i++) {
		const struct gci_layout_field *f = &gci_layout_fields[i];
		int64_t t = gci_layout_get(table, f), l = gci_layout_get(layout, f);
		if (t != l && !(f->kind == GCI_FIELD_I32 && t < 0))
			n++;
	}
	return n;
}

/* The free-threaded part: sizes bounded, every field inside its struct. */
static const char *ft_invalid(const struct gci_layout *L)
{
	const struct gci_ft_layout *F = &L->ft;
	if (F->ob_tid < 0 || F->ob_tid > 24 || F->ob_gc_bits < 0 || F->ob_gc_bits > 31 ||
	    F->ob_ref_local < 0 || F->ob_ref_local > 28 || F->ob_ref_shared < 0 ||
	    F->ob_ref_shared > 24)
		return "PyObject's free-threaded fields are out of range";
	if (F->interp_threads_head < 0 || F->interp_mimalloc < 0 || F->tstate_next < 0 ||
	    F->tstate_thread_id < 0 || F->tstate_mimalloc < 0 || F->mts_heaps < 0 ||
	    F->mts_initialized < 0)
		return "the thread states' mimalloc fields are missing";
	if (F->heap_size < 256 || F->heap_size > 65536 || F->heap_nqueues < 1 ||
	    F->heap_nqueues > 256 || F->queue_size < 8 || F->queue_size > 64 ||
	    F->heap_pages < 0 ||
	    (uint64_t)F->heap_pages + (uint64_t)F->heap_nqueues * F->queue_size > F->heap_size ||
	    F->heap_thread_delayed_free < 0 || F->heap_thread_delayed_free + 8 > (int32_t)F->heap_size ||
	    F->heap_page_count < 0 || F->heap_page_count + 8 > (int32_t)F->heap_size)
		return "mi_heap_t's fields do not fit in it";
	int32_t ps = (int32_t)F->page_size;
	if (ps < 48 || ps > 512 || F->page_free < 0 || F->page_free + 8 > ps ||
	    F->page_local_free < 0 || F->page_local_free + 8 > ps || F->page_xthread_free < 0 ||
	    F->page_xthread_free + 8 > ps || F->page_next < 0 || F->page_next + 8 > ps ||
	    F->page_capacity < 0 || F->page_capacity + 2 > ps || F->page_reserved < 0 ||
	    F->page_reserved + 2 > ps || F->page_slice_count < 0 || F->page_slice_count + 4 > ps ||
	    F->page_slice_offset < 0 || F->page_slice_offset + 4 > ps ||
	    F->page_used < 0 || (F->page_used_bytes != 2 && F->page_used_bytes != 4) ||
	    F->page_used + (int32_t)F->page_used_bytes > ps || F->page_block_size < 0 ||
	    (F->page_block_size_bytes != 4 && F->page_block_size_bytes != 8) ||
	    F->page_block_size + (int32_t)F->page_block_size_bytes > ps ||
	    F->page_start + 8 > ps || F->page_tag < 0 || F->page_tag >= ps ||
	    F->page_tag_bits < 1 || F->page_tag_shift + F->page_tag_bits > 8)
		return "mi_page_t's fields do not fit in it";
	if (F->segment_shift < 20 || F->segment_shift > 32 || F->slice_shift < 12 ||
	    F->slice_shift >= F->segment_shift || F->seg_slices < 0 ||
	    F->seg_slices + ps > (1 << 16) || F->seg_slice_entries < 0 ||
	    F->seg_slice_entries + 8 > F->seg_slices || F->seg_info_slices < 0 ||
	    F->seg_thread_id < 0 || F->seg_thread_id + 8 > F->seg_slices)
		return "mi_segment_t's fields are out of range";
	bool pool = F->pool_abandoned >= 0 && F->pool_abandoned_visited >= 0 &&
		    F->seg_abandoned_next >= 0;
	bool subproc = F->interp_subproc >= 0 && F->subproc_abandoned_count >= 0 &&
		       F->subproc_os_list >= 0 && F->seg_subproc >= 0 &&
		       F->seg_abandoned_os_next >= 0;
	if (pool == subproc)
		return "neither (or both) of the abandoned pool and the sub-process are described";
	if (F->list_items < 32 || F->list_items > 64 || F->tuple_items < 32 ||
	    F->tuple_items > 64)
		return "the list and tuple item fields are out of range";
	return NULL;
}

const char *gci_layout_invalid(const struct gci_layout *L)
{
	/* Every offset is -1 (absent) or below 1 MiB. */
	for (size_t i = 0; i < gci_layout_nfields; i++) {
		const struct gci_layout_field *f = &gci_layout_fields[i];
		int64_t v = gci_layout_get(L, f);
		if (f->kind == GCI_FIELD_I32 && (v < -1 || v >= (1 << 20)))
			return "an offset is out of range";
	}
	if (L->ngens < 1 || L->ngens > 3)
		return "the number of generation lists is not 1-3";
	if (L->collector == GCI_COLLECTOR_FREE_THREADED) {
		const char *bad = ft_invalid(L);
		if (bad)
			return bad;
		if (L->gc_head_size != 0)
			return "a free-threaded object has no GC head";
	} else if (L->gc_head_size < 16 || L->gc_head_size > 64 || L->gc_next < 0 ||
		   L->gc_prev < 0 || L->gc_next + 8 > (int32_t)L->gc_head_size ||
		   L->gc_prev + 8 > (int32_t)L->gc_head_size) {
		return "PyGC_Head's fields do not fit in it";
	}
	if (L->ob_type < 0 || L->ob_type > 32 || L->ob_refcnt < 0 || L->ob_refcnt > 32 ||
	    L->ob_size > 48)
		return "PyObject's fields are out of range";
	if (L->tp_name < 0 || L->tp_basicsize < 0 || L->tp_itemsize < 0 || L->tp_flags < 0)
		return "PyTypeObject fields are missing";
	if (L->gen_size < 16 || L->gen_size > 256 || L->gen_head < 0 ||
	    L->gen_head + (int32_t)L->gc_head_size > (int32_t)L->gen_size ||
	    L->gen_threshold + 4 > (int32_t)L->gen_size || L->gen_count + 4 > (int32_t)L->gen_size)
		return "struct gc_generation's fields do not fit in it";
	if (L->gc_generations < 0)
		return "the generation lists are missing";
	if (L->preheader_size > 64)
		return "the pre-header is too large";
	return NULL;
}
