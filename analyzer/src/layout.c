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

static const struct gci_layout_table tables[] = {
	{ PY_HEX(3, 6, 0), PY_HEX_END(3, 6, 255), false, {
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
	{ PY_HEX(3, 7, 0), PY_HEX_END(3, 7, 255), false, {
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
	{ PY_HEX(3, 8, 0), PY_HEX_END(3, 8, 255), false, {
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
	{ PY_HEX(3, 9, 0), PY_HEX_END(3, 10, 255), false, {
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
	{ PY_HEX(3, 11, 0), PY_HEX_END(3, 11, 255), false, {
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
	{ PY_HEX(3, 12, 0), PY_HEX_END(3, 12, 255), false, {
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
	{ PY_HEX(3, 13, 0), PY_HEX_END(3, 13, 255), false, {
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
	{ PY_HEX(3, 14, 0), PY_HEX_END(3, 14, 4), false, {
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
	{ PY_HEX(3, 14, 5), PY_HEX_END(3, 14, 255), false, {
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
	{ PY_HEX(3, 15, 0), PY_HEX_END(3, 15, 255), false, {
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
};

const struct gci_layout_table *gci_layout_tables(size_t *ret_count)
{
	*ret_count = sizeof(tables) / sizeof(tables[0]);
	return tables;
}

const struct gci_layout *gci_layout_table_find(uint32_t version_hex, bool debug)
{
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (version_hex >= tables[i].min_hex && version_hex <= tables[i].max_hex &&
		    tables[i].debug == debug)
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
	if (L->gc_head_size < 16 || L->gc_head_size > 64 || L->gc_next < 0 || L->gc_prev < 0 ||
	    L->gc_next + 8 > (int32_t)L->gc_head_size || L->gc_prev + 8 > (int32_t)L->gc_head_size)
		return "PyGC_Head's fields do not fit in it";
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
