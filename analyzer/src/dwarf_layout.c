/* Layout from DWARF: struct member offsets by name, through libdw. */
#include <dwarf.h>
#include <string.h>

#include "dwarf_layout.h"

enum { T_OBJECT, T_VAROBJECT, T_TYPE, T_GCHEAD, T_GCSTATE, T_GEN, T_RUNTIME,
       T_INTERP,
       /* free-threaded builds: thread states and mimalloc */
       T_TSTATE, T_TSTATE_IMPL, T_MI_THREAD, T_MI_INTERP, T_MI_HEAP, T_MI_QUEUE,
       T_MI_PAGE, T_MI_SEGMENT, T_MI_SUBPROC, T_LIST, T_TUPLE, T_COUNT };

static const struct {
	const char *name;
	int tag;
} wanted[T_COUNT] = {
	[T_OBJECT] = { "_object", DW_TAG_structure_type },
	[T_VAROBJECT] = { "PyVarObject", DW_TAG_typedef },
	[T_TYPE] = { "_typeobject", DW_TAG_structure_type },
	[T_GCHEAD] = { "PyGC_Head", DW_TAG_typedef },
	[T_GCSTATE] = { "_gc_runtime_state", DW_TAG_structure_type },
	[T_GEN] = { "gc_generation", DW_TAG_structure_type },
	[T_RUNTIME] = { "pyruntimestate", DW_TAG_structure_type },
	[T_INTERP] = { "_is", DW_TAG_structure_type },
	[T_TSTATE] = { "_ts", DW_TAG_structure_type },
	[T_TSTATE_IMPL] = { "_PyThreadStateImpl", DW_TAG_typedef },
	[T_MI_THREAD] = { "_mimalloc_thread_state", DW_TAG_structure_type },
	[T_MI_INTERP] = { "_mimalloc_interp_state", DW_TAG_structure_type },
	[T_MI_HEAP] = { "mi_heap_s", DW_TAG_structure_type },
	[T_MI_QUEUE] = { "mi_page_queue_s", DW_TAG_structure_type },
	[T_MI_PAGE] = { "mi_page_s", DW_TAG_structure_type },
	[T_MI_SEGMENT] = { "mi_segment_s", DW_TAG_structure_type },
	[T_MI_SUBPROC] = { "mi_subproc_s", DW_TAG_structure_type },
	[T_LIST] = { "PyListObject", DW_TAG_typedef },
	[T_TUPLE] = { "PyTupleObject", DW_TAG_typedef },
};

/* One pass over the top-level DIEs of every unit, stopping when every
 * wanted one is found. */
static void find_types(Dwarf *dw, Dwarf_Die *dies, bool *found, const bool *want)
{
	Dwarf_Off off = 0, next;
	size_t hsize;
	size_t left = 0;
	for (int i = 0; i < T_COUNT; i++)
		left += want[i];
	while (left && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, child;
		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &child) == 0) {
			do {
				int tag = dwarf_tag(&child);
				if (tag != DW_TAG_typedef && tag != DW_TAG_structure_type)
					continue;
				const char *name = dwarf_diename(&child);
				if (!name)
					continue;
				for (int i = 0; i < T_COUNT; i++) {
					if (!want[i] || found[i] || wanted[i].tag != tag ||
					    strcmp(wanted[i].name, name) != 0)
						continue;
					if (tag == DW_TAG_structure_type &&
					    dwarf_hasattr(&child, DW_AT_declaration))
						continue;
					dies[i] = child;
					found[i] = true;
					left--;
				}
			} while (dwarf_siblingof(&child, &child) == 0);
		}
		off = next;
	}
}

/* The struct or union a DIE's type is, with typedefs and qualifiers peeled. */
static bool die_type(Dwarf_Die *die, Dwarf_Die *ret)
{
	Dwarf_Attribute attr;
	Dwarf_Die t;
	if (!dwarf_attr_integrate(die, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &t))
		return false;
	return dwarf_peel_type(&t, ret) == 0;
}

/*
 * A member by dotted path ("interpreters.head"), looking through anonymous
 * struct/union members: its byte offset (-1 if absent), and its DIE.
 */
static int64_t member_find(Dwarf_Die *agg, const char *path, int depth, Dwarf_Die *ret)
{
	if (depth > 8)
		return -1;  /* nesting that deep is not CPython's, or is a loop */
	const char *dot = strchr(path, '.');
	size_t len = dot ? (size_t)(dot - path) : strlen(path);
	Dwarf_Die m;
	if (dwarf_child(agg, &m) != 0)
		return -1;
	do {
		if (dwarf_tag(&m) != DW_TAG_member)
			continue;
		Dwarf_Attribute attr;
		Dwarf_Word loc = 0;
		if (dwarf_attr(&m, DW_AT_data_member_location, &attr))
			dwarf_formudata(&attr, &loc);
		const char *name = dwarf_diename(&m);
		Dwarf_Die t;
		if (!name) {
			/* anonymous struct or union: search inside */
			if (!die_type(&m, &t))
				continue;
			int64_t inner = member_find(&t, path, depth + 1, ret);
			if (inner >= 0)
				return (int64_t)loc + inner;
			continue;
		}
		if (strlen(name) != len || strncmp(name, path, len) != 0)
			continue;
		if (!dot) {
			*ret = m;
			return (int64_t)loc;
		}
		if (!die_type(&m, &t))
			return -1;
		int64_t inner = member_find(&t, dot + 1, depth + 1, ret);
		return inner < 0 ? -1 : (int64_t)loc + inner;
	} while (dwarf_siblingof(&m, &m) == 0);
	return -1;
}

static int64_t member_offset(Dwarf_Die *agg, const char *path, int depth)
{
	Dwarf_Die m;
	return member_find(agg, path, depth, &m);
}

/* The byte size of a member's type (arrays: the whole array), or -1. */
static int64_t member_size(Dwarf_Die *m)
{
	Dwarf_Attribute attr;
	Dwarf_Die t;
	Dwarf_Word size;
	if (!dwarf_attr_integrate(m, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &t) ||
	    dwarf_aggregate_size(&t, &size) != 0)
		return -1;
	return (int64_t)size;
}

/*
 * A bit field's place: the byte holding it, its shift and width (DWARF 4+
 * DW_AT_data_bit_offset, or the older DW_AT_bit_offset counted from the most
 * significant bit of the storage unit); false if not a bit field in one byte.
 */
static bool member_bits(Dwarf_Die *m, int64_t byte_off, int64_t *ret_byte, uint32_t *ret_shift,
			uint32_t *ret_bits)
{
	Dwarf_Attribute attr;
	Dwarf_Word bits, bitoff;
	if (!dwarf_attr(m, DW_AT_bit_size, &attr) || dwarf_formudata(&attr, &bits) != 0)
		return false;
	uint64_t at;
	if (dwarf_attr(m, DW_AT_data_bit_offset, &attr) && dwarf_formudata(&attr, &bitoff) == 0) {
		at = bitoff;
	} else if (dwarf_attr(m, DW_AT_bit_offset, &attr) &&
		   dwarf_formudata(&attr, &bitoff) == 0) {
		int64_t unit = member_size(m);
		if (unit <= 0 || bitoff + bits > (uint64_t)unit * 8)
			return false;
		at = (uint64_t)byte_off * 8 + (uint64_t)unit * 8 - bitoff - bits;
	} else {
		return false;
	}
	if (bits == 0 || (at % 8) + bits > 8)
		return false;
	*ret_byte = (int64_t)(at / 8);
	*ret_shift = (uint32_t)(at % 8);
	*ret_bits = (uint32_t)bits;
	return true;
}

struct field {
	const char *what;
	int type;
	const char *path;     /* first choice */
	const char *alt;      /* older spelling, or NULL */
	size_t offset;        /* of the int32_t in struct gci_layout */
};

#define F(t, p, a, f) { #f, t, p, a, offsetof(struct gci_layout, f) }
static const struct field fields[] = {
	F(T_OBJECT, "ob_refcnt", NULL, ob_refcnt),
	F(T_OBJECT, "ob_type", NULL, ob_type),
	F(T_VAROBJECT, "ob_size", NULL, ob_size),
	F(T_TYPE, "tp_name", NULL, tp_name),
	F(T_TYPE, "tp_basicsize", NULL, tp_basicsize),
	F(T_TYPE, "tp_itemsize", NULL, tp_itemsize),
	F(T_TYPE, "tp_flags", NULL, tp_flags),
	F(T_GCHEAD, "_gc_next", "gc.gc_next", gc_next),
	F(T_GCHEAD, "_gc_prev", "gc.gc_prev", gc_prev),
	F(T_GCSTATE, "enabled", NULL, gc_enabled),
	F(T_GCSTATE, "collecting", NULL, gc_collecting),
	F(T_GCSTATE, "generations", "young", gc_generations),
	F(T_GCSTATE, "generation0", NULL, gc_generation0),
	F(T_GCSTATE, "permanent_generation", NULL, gc_permanent),
	F(T_GCSTATE, "long_lived_total", NULL, gc_long_lived_total),
	F(T_GCSTATE, "long_lived_pending", NULL, gc_long_lived_pending),
	F(T_GCSTATE, "heap_size", NULL, gc_heap_size),
	F(T_GCSTATE, "visited_space", NULL, gc_visited_space),
	F(T_GCSTATE, "phase", NULL, gc_phase),
	F(T_GCSTATE, "work_to_do", NULL, gc_work_to_do),
	F(T_GEN, "head", NULL, gen_head),
	F(T_GEN, "threshold", NULL, gen_threshold),
	F(T_GEN, "count", NULL, gen_count),
	F(T_RUNTIME, "interpreters.head", NULL, runtime_interp_head),
	F(T_RUNTIME, "interpreters.main", NULL, runtime_interp_main),
	F(T_RUNTIME, "gc", NULL, runtime_gc),
	F(T_INTERP, "next", NULL, interp_next),
	F(T_INTERP, "id", NULL, interp_id),
	F(T_INTERP, "gc", NULL, interp_gc),
};

/* Free-threaded builds: read only when the table is a free-threaded one. */
static const struct field ft_fields[] = {
	F(T_OBJECT, "ob_tid", NULL, ft.ob_tid),
	F(T_OBJECT, "ob_gc_bits", NULL, ft.ob_gc_bits),
	F(T_OBJECT, "ob_ref_local", NULL, ft.ob_ref_local),
	F(T_OBJECT, "ob_ref_shared", NULL, ft.ob_ref_shared),
	F(T_OBJECT, "ob_ref_local", NULL, ob_refcnt),
	F(T_INTERP, "threads.head", NULL, ft.interp_threads_head),
	F(T_INTERP, "mimalloc", NULL, ft.interp_mimalloc),
	F(T_TSTATE, "next", NULL, ft.tstate_next),
	F(T_TSTATE, "thread_id", NULL, ft.tstate_thread_id),
	F(T_TSTATE_IMPL, "mimalloc", NULL, ft.tstate_mimalloc),
	F(T_MI_THREAD, "heaps", NULL, ft.mts_heaps),
	F(T_MI_THREAD, "initialized", NULL, ft.mts_initialized),
	F(T_MI_HEAP, "tld", NULL, ft.heap_tld),
	F(T_MI_HEAP, "pages", NULL, ft.heap_pages),
	F(T_MI_HEAP, "thread_delayed_free", NULL, ft.heap_thread_delayed_free),
	F(T_MI_HEAP, "thread_id", NULL, ft.heap_thread_id),
	F(T_MI_HEAP, "page_count", NULL, ft.heap_page_count),
	F(T_MI_PAGE, "slice_count", NULL, ft.page_slice_count),
	F(T_MI_PAGE, "slice_offset", NULL, ft.page_slice_offset),
	F(T_MI_PAGE, "capacity", NULL, ft.page_capacity),
	F(T_MI_PAGE, "reserved", NULL, ft.page_reserved),
	F(T_MI_PAGE, "free", NULL, ft.page_free),
	F(T_MI_PAGE, "used", NULL, ft.page_used),
	F(T_MI_PAGE, "local_free", NULL, ft.page_local_free),
	F(T_MI_PAGE, "xthread_free", NULL, ft.page_xthread_free),
	F(T_MI_PAGE, "xheap", NULL, ft.page_xheap),
	F(T_MI_PAGE, "next", NULL, ft.page_next),
	F(T_MI_PAGE, "page_start", NULL, ft.page_start),
	F(T_MI_PAGE, "xblock_size", "block_size", ft.page_block_size),
	F(T_MI_SEGMENT, "segment_slices", NULL, ft.seg_segment_slices),
	F(T_MI_SEGMENT, "segment_info_slices", NULL, ft.seg_info_slices),
	F(T_MI_SEGMENT, "slice_entries", NULL, ft.seg_slice_entries),
	F(T_MI_SEGMENT, "thread_id", NULL, ft.seg_thread_id),
	F(T_MI_SEGMENT, "slices", NULL, ft.seg_slices),
	F(T_MI_SEGMENT, "abandoned_next", NULL, ft.seg_abandoned_next),
	F(T_MI_SEGMENT, "subproc", NULL, ft.seg_subproc),
	F(T_MI_SEGMENT, "abandoned_os_next", NULL, ft.seg_abandoned_os_next),
	F(T_MI_SEGMENT, "used", NULL, ft.seg_used),
	F(T_MI_SEGMENT, "abandoned", NULL, ft.seg_abandoned),
	F(T_MI_INTERP, "abandoned_pool.abandoned", NULL, ft.pool_abandoned),
	F(T_MI_INTERP, "abandoned_pool.abandoned_visited", NULL, ft.pool_abandoned_visited),
	F(T_MI_INTERP, "subproc", NULL, ft.interp_subproc),
	F(T_MI_SUBPROC, "abandoned_count", NULL, ft.subproc_abandoned_count),
	F(T_MI_SUBPROC, "abandoned_os_list_count", NULL, ft.subproc_os_list_count),
	F(T_MI_SUBPROC, "abandoned_os_list", NULL, ft.subproc_os_list),
	F(T_LIST, "ob_item", NULL, ft.list_items),
	F(T_TUPLE, "ob_item", NULL, ft.tuple_items),
};
#undef F

/* One offset from DWARF into its slot; -1: absent (the table's value stays). */
static struct gci_error *take_field(struct gci_program *prog, Dwarf_Die *dies, const bool *found,
				    const struct field *f, struct gci_layout *L, int *disagree)
{
	int32_t *slot = (int32_t *)(void *)((char *)L + f->offset);
	int64_t v = found[f->type] ? member_offset(&dies[f->type], f->path, 0) : -1;
	if (v < 0 && f->alt && found[f->type])
		v = member_offset(&dies[f->type], f->alt, 0);
	if (v >= (1 << 20))
		return gci_error_create(GCI_ERR_UNSUPPORTED, "the DWARF places %s at "
					"%" PRId64 ", out of range", f->what, v);
	if (v < 0) {
		if (*slot >= 0)
			gci_log(prog, GCI_LOG_DEBUG, "DWARF has no %s; keeping the "
				"table's %d", f->path, *slot);
		return NULL;
	}
	if (*slot >= 0 && *slot != v) {
		gci_log(prog, GCI_LOG_INFO, "layout: DWARF and the table disagree "
			"on %s: %" PRId64 " vs %d (using DWARF)", f->what, v, *slot);
		(*disagree)++;
	}
	*slot = (int32_t)v;
	return NULL;
}

/* A size or width from DWARF into a uint32_t slot, counting disagreements. */
static void take_size(struct gci_program *prog, const char *what, int64_t v, uint32_t *slot,
		      int *disagree)
{
	if (v <= 0 || v > (1 << 20)) {
		gci_log(prog, GCI_LOG_DEBUG, "DWARF gives no %s; keeping the table's %u", what,
			*slot);
		return;
	}
	if (*slot != (uint32_t)v) {
		gci_log(prog, GCI_LOG_INFO, "layout: DWARF and the table disagree on %s: %"
			PRId64 " vs %u (using DWARF)", what, v, *slot);
		(*disagree)++;
	}
	*slot = (uint32_t)v;
}

/* The free-threaded part: thread states, mimalloc's heaps, pages, segments. */
static struct gci_error *ft_from_dwarf(struct gci_program *prog, Dwarf_Die *dies,
				       const bool *found, struct gci_layout *L, int *disagree)
{
	static const int required[] = { T_TSTATE, T_TSTATE_IMPL, T_MI_THREAD, T_MI_INTERP,
					T_MI_HEAP, T_MI_QUEUE, T_MI_PAGE, T_MI_SEGMENT, T_LIST,
					T_TUPLE };
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!found[required[i]])
			return gci_error_create(GCI_ERR_UNSUPPORTED, "the DWARF of this "
						"free-threaded build has no definition of %s",
						wanted[required[i]].name);
	struct gci_error *err;
	for (size_t i = 0; i < sizeof(ft_fields) / sizeof(ft_fields[0]); i++)
		if ((err = take_field(prog, dies, found, &ft_fields[i], L, disagree)))
			return err;
	struct gci_ft_layout *F = &L->ft;
	Dwarf_Die m;
	take_size(prog, "sizeof(mi_heap_t)", dwarf_bytesize(&dies[T_MI_HEAP]), &F->heap_size,
		  disagree);
	take_size(prog, "sizeof(mi_page_queue_t)", dwarf_bytesize(&dies[T_MI_QUEUE]),
		  &F->queue_size, disagree);
	take_size(prog, "sizeof(mi_page_t)", dwarf_bytesize(&dies[T_MI_PAGE]), &F->page_size,
		  disagree);
	if (member_find(&dies[T_MI_HEAP], "pages", 0, &m) >= 0 && F->queue_size)
		take_size(prog, "the page queues of mi_heap_t", member_size(&m) / F->queue_size,
			  &F->heap_nqueues, disagree);
	if (member_find(&dies[T_MI_PAGE], "used", 0, &m) >= 0)
		take_size(prog, "the size of mi_page_t.used", member_size(&m), &F->page_used_bytes,
			  disagree);
	if (member_find(&dies[T_MI_PAGE], "xblock_size", 0, &m) >= 0 ||
	    member_find(&dies[T_MI_PAGE], "block_size", 0, &m) >= 0)
		take_size(prog, "the size of mi_page_t's block size", member_size(&m),
			  &F->page_block_size_bytes, disagree);
	/* The heap tag: a 4-bit field (2.1) or a byte (2.5). */
	int64_t at = member_find(&dies[T_MI_PAGE], "tag", 0, &m);
	if (at < 0)
		at = member_find(&dies[T_MI_PAGE], "heap_tag", 0, &m);
	if (at >= 0) {
		int64_t byte = at;
		uint32_t shift = 0, bits = 8;
		if (!member_bits(&m, at, &byte, &shift, &bits) && member_size(&m) != 1)
			return gci_error_create(GCI_ERR_UNSUPPORTED, "mi_page_t's heap tag is "
						"neither a byte nor a bit field in one");
		if (byte != F->page_tag || shift != F->page_tag_shift || bits != F->page_tag_bits) {
			gci_log(prog, GCI_LOG_INFO, "layout: DWARF and the table disagree on "
				"mi_page_t's tag: byte %" PRId64 " bits %u-%u vs byte %d bits "
				"%u-%u (using DWARF)", byte, shift, shift + bits - 1, F->page_tag,
				F->page_tag_shift, F->page_tag_shift + F->page_tag_bits - 1);
			(*disagree)++;
		}
		F->page_tag = (int32_t)byte;
		F->page_tag_shift = shift;
		F->page_tag_bits = bits;
	}
	return NULL;
}

struct gci_error *gci_layout_from_dwarf(struct gci_program *prog, Dwarf *dw,
					const struct gci_layout *base,
					struct gci_layout *ret, int *ret_disagree)
{
	Dwarf_Die dies[T_COUNT];
	bool found[T_COUNT] = { false }, want[T_COUNT] = { false };
	const bool ft = base->collector == GCI_COLLECTOR_FREE_THREADED;
	for (int i = 0; i < T_COUNT; i++)
		want[i] = i <= T_INTERP || (ft && (i != T_MI_SUBPROC || base->ft.interp_subproc >= 0));
	find_types(dw, dies, found, want);
	/* The typedef'd ones: peel to the struct/union. */
	for (int i = 0; i < T_COUNT; i++) {
		if (found[i] && wanted[i].tag == DW_TAG_typedef) {
			Dwarf_Die t;
			if (dwarf_peel_type(&dies[i], &t) == 0)
				dies[i] = t;
			else
				found[i] = false;
		}
	}
	/* 3.6 keeps its GC state in file statics: no struct for it. */
	static const int required[] = { T_OBJECT, T_VAROBJECT, T_TYPE, T_GCHEAD,
					T_GEN, T_GCSTATE };
	size_t nrequired = sizeof(required) / sizeof(required[0]);
	if (base->state_kind == GCI_STATE_STATIC)
		nrequired--;
	for (size_t i = 0; i < nrequired; i++) {
		if (!found[required[i]])
			return gci_error_create(GCI_ERR_UNSUPPORTED,
						"the DWARF has no definition of %s",
						wanted[required[i]].name);
	}
	struct gci_layout L = *base;
	int disagree = 0;
	struct gci_error *err;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field *f = &fields[i];
		if (base->state_kind == GCI_STATE_STATIC &&
		    (f->type == T_GCSTATE || f->type == T_RUNTIME || f->type == T_INTERP))
			continue;
		/* Free-threaded objects have no GC head (the type exists). */
		if (ft && f->type == T_GCHEAD)
			continue;
		if ((err = take_field(prog, dies, found, f, &L, &disagree)))
			return err;
	}
	if (ft && (err = ft_from_dwarf(prog, dies, found, &L, &disagree)))
		return err;
	/* Free-threaded builds have the member but never set it. */
	if (ft)
		L.gc_generation0 = -1;
	int gh = ft ? 0 : dwarf_bytesize(&dies[T_GCHEAD]);
	int gs = dwarf_bytesize(&dies[T_GEN]);
	if ((gh <= 0 && !ft) || gs <= 0)
		return gci_error_create(GCI_ERR_UNSUPPORTED,
					"the DWARF gives no size for PyGC_Head or gc_generation");
	if (L.gc_head_size != (uint32_t)gh || L.gen_size != (uint32_t)gs) {
		gci_log(prog, GCI_LOG_INFO, "layout: DWARF sizes PyGC_Head %d, "
			"gc_generation %d; the table says %u, %u (using DWARF)", gh, gs,
			L.gc_head_size, L.gen_size);
		disagree++;
	}
	L.gc_head_size = (uint32_t)gh;
	L.gen_size = (uint32_t)gs;
	*ret = L;
	*ret_disagree = disagree;
	return NULL;
}
