/*
 * What the list-keeping collectors share (generational and incremental):
 * walking every interpreter's lists, and checking, for a target read while
 * it ran, that they held still.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockcache.h"
#include "collector.h"
#include "snapshot.h"
#include "walker.h"

const struct gci_gen *gci_lists_find(const struct gci_interp *in, const char *name)
{
	const struct gci_gen *g;
	for (size_t i = 0; (g = gci_interp_list(in, i)); i++)
		if (!strcmp(g->name, name))
			return g;
	return NULL;
}

void gci_lists_choices(const struct gci_interp *in, const char *extra, char *buf, size_t n)
{
	size_t len = 0;
	const struct gci_gen *g;
	buf[0] = '\0';
	for (size_t i = 0; (g = gci_interp_list(in, i)) && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", g->name);
	if (extra && len < n)
		snprintf(buf + len, n - len, "%s", extra);
}

const struct gci_collector_kind *gci_collector_for(const struct gci_layout *L)
{
	switch (L->collector) {
	case GCI_COLLECTOR_INCREMENTAL:
		return &gci_collector_incremental;
	case GCI_COLLECTOR_FREE_THREADED:
		return &gci_collector_freethreaded;
	case GCI_COLLECTOR_GENERATIONAL:
	default:
		return &gci_collector_generational;
	}
}

void gci_enumeration_walker(struct gci_walker *w, struct gci_program *prog,
			    const struct gci_layout *L, struct gci_snapshot *snap,
			    uint64_t bound, unsigned flags,
			    const struct gci_object_sink *sink, size_t problems_cap)
{
	gci_walker_init(w, &prog->mem, L, snap, bound);
	w->keep_objects = flags & GCI_SNAPSHOT_OBJECTS;
	w->keep_type_pages = flags & GCI_SNAPSHOT_TYPE_PAGES;
	w->problems_cap = problems_cap;
	w->object_fn = sink->fn;
	w->object_arg = sink->arg;
	w->progress = sink->progress;
	w->progress_arg = sink->progress_arg;
	for (size_t i = 0; i < snap->ninterps; i++)
		if (snap->interps[i].heap_size > 0)
			w->progress_total += (uint64_t)snap->interps[i].heap_size;
}

struct gci_error *gci_lists_enumerate(struct gci_program *prog, struct gci_snapshot *snap,
				      const struct gci_layout *L, unsigned flags,
				      gci_lists_prefix_fn *prefix,
				      const struct gci_object_sink *sink,
				      size_t *problems_cap)
{
	struct gci_walker w;
	uint64_t bound = gci_program_saved_bytes(prog) / (L->gc_head_size + 16) + 1;
	size_t nheads = 0;
	uint64_t *heads = gci_reallocarray(NULL, snap->ninterps * (GCI_MAX_GENS + 1),
					   sizeof(*heads));
	if (!heads)
		return &gci_enomem;
	for (size_t i = 0; i < snap->ninterps; i++) {
		struct gci_interp *in = &snap->interps[i];
		const struct gci_gen *gen;
		for (size_t g = 0; (gen = gci_interp_list(in, g)); g++)
			heads[nheads++] = gen->head;
	}
	gci_enumeration_walker(&w, prog, L, snap, bound, flags, sink, *problems_cap);
	w.heads = heads;
	w.nheads = nheads;
	struct gci_error *err = NULL;
	for (size_t i = 0; i < snap->ninterps && !err; i++) {
		struct gci_interp *in = &snap->interps[i];
		w.interp = in;
		if (in->collecting > 0)
			err = gci_snapshot_add_problem(snap, &w.problems_cap, in->gc_state,
						       "interpreter %" PRId64 ": a collection "
						       "was running when the snapshot was "
						       "taken; the lists may be inconsistent",
						       in->id);
		for (size_t g = 0; g < in->ngens && !err; g++) {
			w.prefix = prefix ? prefix(snap, in, g) : 0;
			err = gci_walk_list(&w, &in->gens[g]);
		}
		w.prefix = 0;
		if (in->has_permanent && !err)
			err = gci_walk_list(&w, &in->permanent);
		if (!err)
			gci_log(prog, GCI_LOG_INFO, "interpreter %" PRId64 ": walked", in->id);
	}
	*problems_cap = w.problems_cap;
	if (!err)
		gci_walker_progress(&w, true);
	if (w.unnamed)
		gci_program_warn(prog, "the names of %zu type%s could not be read (first: %s)",
				 w.unnamed, w.unnamed == 1 ? "" : "s", w.unnamed_why);
	gci_walker_deinit(&w);
	free(heads);
	return err;
}

/*
 * A target read while running (--no-stop): if any list's count or last
 * object changed during the walk, the numbers mix two moments; say so as a
 * problem rather than report them as a snapshot.
 */
struct gci_error *gci_lists_check_unchanged(struct gci_program *prog,
					    struct gci_snapshot *snap,
					    const struct gci_layout *L, size_t *problems_cap)
{
	gci_block_cache_invalidate(prog->cache);
	for (size_t i = 0; i < snap->ninterps; i++) {
		struct gci_interp *in = &snap->interps[i];
		const struct gci_gen *gen;
		for (size_t g = 0; (gen = gci_interp_list(in, g)); g++) {
			int64_t count = gen->count;
			uint64_t prev = 0;
			uint64_t base = gen->head - (uint64_t)L->gen_head;
			struct gci_error *err;
			if (g < in->ngens && (err = gci_read_int(&prog->mem, base + (uint64_t)L->gen_count, 4, true, &count))) {
				gci_error_destroy(err);
				continue;
			}
			if ((err = gci_read_u64(&prog->mem, gen->head + L->gc_prev, &prev))) {
				gci_error_destroy(err);
				continue;
			}
			prev &= L->gc_ptr_mask;
			uint64_t last = gen->last_head ? gen->last_head : gen->head;
			if (count == gen->count && prev == last)
				continue;
			char what[160];
			if (count != gen->count && prev != last)
				snprintf(what, sizeof(what), "its count went from %" PRId64 " to %"
					 PRId64 " and its last object from 0x%" PRIx64 " to 0x%"
					 PRIx64, gen->count, count, last, prev);
			else if (count != gen->count)
				snprintf(what, sizeof(what), "its count went from %" PRId64 " to %"
					 PRId64, gen->count, count);
			else
				snprintf(what, sizeof(what), "its last object went from 0x%" PRIx64
					 " to 0x%" PRIx64, last, prev);
			err = gci_snapshot_add_problem(
				snap, problems_cap, gen->head, "interpreter %" PRId64 ", list %s: "
				"the target ran during the walk (--no-stop): %s; the numbers mix "
				"two moments", in->id, gen->name, what);
			if (err)
				return err;
		}
	}
	return NULL;
}


struct gci_error *gci_plan_pages(const struct gci_snapshot *snap, const struct gci_interp *in,
				 const struct gci_touch_plan *plan, struct gci_pageset *ps,
				 struct gci_touch *ret)
{
	const struct gci_layout *L = gci_snapshot_layout(snap);
	bool ok = true;
	ret->approximation = plan->approximation;
	for (size_t i = 0; i < plan->nlists && ok; i++) {
		const struct gci_gen *gen = plan->lists[i];
		ret->objects += gen->nobjects;
		ret->object_bytes += gen->bytes;
		if (gen->data)
			ok = gci_pageset_merge(ps, &gen->data->pages);
	}
	const struct gci_gen_data *pd = plan->prefix ? plan->prefix->data : NULL;
	if (ok && pd) {
		ret->objects += pd->prefix_objects;
		ret->object_bytes += pd->prefix_bytes;
		ok = gci_pageset_merge(ps, &pd->prefix_pages);
	}
	for (size_t i = 0; i < plan->nheads && ok; i++) {
		ret->objects++;
		ok = gci_pageset_add_range(ps, plan->heads[i], L->gc_head_size);
	}
	uint64_t heads_pages = ok ? gci_pageset_count(ps) : 0;
	/* Counts, list heads, work_to_do, long_lived_*: the GC state itself. */
	uint64_t a, b;
	gci_snapshot_state_range(snap, in, &a, &b);
	ok = ok && gci_pageset_add_range(ps, a, b - a);
	if (!ok)
		return &gci_enomem;
	ret->pages = gci_pageset_count(ps);
	ret->state_pages = ret->pages - heads_pages;
	uint64_t head_bytes = ret->objects * L->gc_head_size;
	ret->packed_pages = (head_bytes + 4095) / 4096 + ret->state_pages;
	return NULL;
}

struct gci_error *gci_lists_touch_pages(const struct gci_snapshot *snap,
					const struct gci_interp *in, int generation,
					struct gci_pageset *ps, struct gci_touch *ret)
{
	struct gci_touch_plan plan;
	memset(&plan, 0, sizeof(plan));
	struct gci_error *err = gci_snapshot_collector(snap)->touch_plan(snap, in, generation,
									 &plan);
	if (err)
		return err;
	return gci_plan_pages(snap, in, &plan, ps, ret);
}
