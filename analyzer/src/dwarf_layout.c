/* Layout from DWARF: struct member offsets by name, through libdw. */
#include <dwarf.h>
#include <string.h>

#include "dwarf_layout.h"

enum { T_OBJECT, T_VAROBJECT, T_TYPE, T_GCHEAD, T_GCSTATE, T_GEN, T_RUNTIME,
       T_INTERP, T_COUNT };

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
};

/* One pass over the top-level DIEs of every unit, stopping when all found. */
static void find_types(Dwarf *dw, Dwarf_Die *dies, bool *found)
{
	Dwarf_Off off = 0, next;
	size_t hsize;
	size_t left = T_COUNT;
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
					if (found[i] || wanted[i].tag != tag ||
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
 * Offset of a member by dotted path ("interpreters.head"), looking through
 * anonymous struct/union members.  Returns -1 if absent.
 */
static int64_t member_offset(Dwarf_Die *agg, const char *path, int depth)
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
			int64_t inner = member_offset(&t, path, depth + 1);
			if (inner >= 0)
				return (int64_t)loc + inner;
			continue;
		}
		if (strlen(name) != len || strncmp(name, path, len) != 0)
			continue;
		if (!dot)
			return (int64_t)loc;
		if (!die_type(&m, &t))
			return -1;
		int64_t inner = member_offset(&t, dot + 1, depth + 1);
		return inner < 0 ? -1 : (int64_t)loc + inner;
	} while (dwarf_siblingof(&m, &m) == 0);
	return -1;
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
#undef F

struct gci_error *gci_layout_from_dwarf(struct gci_program *prog, Dwarf *dw,
					const struct gci_layout *base,
					struct gci_layout *ret, int *ret_disagree)
{
	Dwarf_Die dies[T_COUNT];
	bool found[T_COUNT] = { false };
	find_types(dw, dies, found);
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
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field *f = &fields[i];
		int32_t *slot = (int32_t *)(void *)((char *)&L + f->offset);
		if (base->state_kind == GCI_STATE_STATIC &&
		    (f->type == T_GCSTATE || f->type == T_RUNTIME || f->type == T_INTERP))
			continue;
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
			continue;
		}
		if (*slot >= 0 && *slot != v) {
			gci_log(prog, GCI_LOG_INFO, "layout: DWARF and the table disagree "
				"on %s: %" PRId64 " vs %d (using DWARF)", f->what, v, *slot);
			disagree++;
		}
		*slot = (int32_t)v;
	}
	int gh = dwarf_bytesize(&dies[T_GCHEAD]);
	int gs = dwarf_bytesize(&dies[T_GEN]);
	if (gh <= 0 || gs <= 0)
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
