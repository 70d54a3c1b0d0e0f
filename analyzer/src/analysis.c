/* Analyses over a walked snapshot: per-list totals, type histograms. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "snapshot.h"
#include "walker.h"

struct gci_error *gci_gen_stats(const struct gci_snapshot *snap,
				const struct gci_gen *gen, struct gci_gen_stats *ret)
{
	ret->objects = gen->nobjects;
	ret->bytes = gen->bytes;
	ret->pages = gen->data ? gci_pageset_count(&gen->data->pages) : 0;
	return NULL;
}

static int count_compare(const void *a, const void *b)
{
	const struct gci_type_count *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->objects != y->objects)
		return x->objects > y->objects ? -1 : 1;
	return x->type < y->type ? -1 : x->type > y->type;
}

struct gci_error *gci_type_histogram(const struct gci_snapshot *snap,
				     const struct gci_gen *const *gens, size_t ngens,
				     struct gci_type_count **ret, size_t *ret_count)
{
	struct gci_type_count *all = calloc(snap->ntypes ? snap->ntypes : 1, sizeof(*all));
	if (!all)
		return &gci_enomem;
	for (size_t g = 0; g < ngens; g++) {
		const struct gci_gen_data *d = gens[g]->data;
		for (size_t t = 0; d && t < d->type_cap && t < snap->ntypes; t++) {
			all[t].objects += d->type_objects[t];
			all[t].bytes += d->type_bytes[t];
		}
	}
	size_t n = 0;
	for (size_t t = 0; t < snap->ntypes; t++) {
		if (!all[t].objects)
			continue;
		all[n] = all[t];
		all[n].type = (uint32_t)t;
		n++;
	}
	qsort(all, n, sizeof(*all), count_compare);
	*ret = all;
	*ret_count = n;
	return NULL;
}

struct gci_error *gci_touch_compute(const struct gci_snapshot *snap,
				    const struct gci_interp *in, int generation,
				    struct gci_touch *ret)
{
	if (!strcmp(in->collector, "incremental"))
		return gci_error_create(GCI_ERR_UNSUPPORTED, "the touch model of CPython %s's "
					"incremental collector is not implemented: its first step "
					"of each cycle writes nearly every live GC head "
					"(docs/touch-model.md)", snap->version);
	if (generation < 0 || (size_t)generation >= in->ngens)
		return gci_error_create(GCI_ERR_USAGE, "no generation %d to collect in "
					"CPython %s (choose 0-%zu)", generation,
					snap->version, in->ngens - 1);
	struct gci_pageset ps;
	gci_pageset_init(&ps);
	struct gci_error *err = gci_touch_pages(snap, in, generation, &ps, ret);
	if (err) {
		gci_pageset_deinit(&ps);
		return err;
	}
	const struct gci_pageset *shared, *exclusive;
	if (gci_snapshot_sharing(snap, &shared, &exclusive)) {
		ret->sharing_known = true;
		ret->shared_pages = gci_pageset_count_and(&ps, shared);
		ret->exclusive_pages = gci_pageset_count_and(&ps, exclusive);
		ret->absent_pages = ret->pages - ret->shared_pages - ret->exclusive_pages;
	}
	gci_pageset_deinit(&ps);
	return NULL;
}

struct gci_error *gci_touch_pages(const struct gci_snapshot *snap, const struct gci_interp *in,
				  int generation, struct gci_pageset *ps, struct gci_touch *ret)
{
	const struct gci_layout *L = gci_snapshot_layout(snap);
	memset(ret, 0, sizeof(*ret));
	ret->generation = generation;
	bool ok = true;
	/* Every head of generations 0..N. */
	for (int g = 0; g <= generation && ok; g++) {
		const struct gci_gen *gen = &in->gens[g];
		ret->objects += gen->nobjects;
		ret->object_bytes += gen->bytes;
		if (gen->data)
			ok = gci_pageset_merge(ps, &gen->data->pages);
	}
	/* Survivors are merged onto the next older list: its last object's
	 * _gc_next is written. */
	if (ok && (size_t)generation + 1 < in->ngens && in->gens[generation + 1].last_head) {
		ret->objects++;
		ok = gci_pageset_add_range(ps, in->gens[generation + 1].last_head, L->gc_head_size);
	}
	uint64_t heads_pages = ok ? gci_pageset_count(ps) : 0;
	/* Counts, list heads, long_lived_*: the GC state itself. */
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

/*
 * The automatic choice (collect_generations 3.6-3.9, gc_collect_generations
 * 3.10-3.12, gc_select_generation 3.13+): when an allocation takes count[0]
 * past threshold[0], the oldest generation whose count exceeds its threshold
 * is collected, except that generation 2 waits while long_lived_pending <
 * long_lived_total / 4.  count[1] and count[2] do not change before then.
 */
void gci_next_collection(const struct gci_snapshot *snap, const struct gci_interp *in,
			 struct gci_next_collection *ret)
{
	ret->generation = -1;
	ret->allocations = -1;
	if (in->enabled == 0) {
		ret->reason = "the collector is disabled (gc.disable()): no automatic "
			      "collection until gc.enable()";
		return;
	}
	if (!strcmp(in->collector, "incremental")) {
		ret->reason = "the incremental collector of 3.14.0-3.14.4 works in "
			      "increments, not by generation: not modelled";
		return;
	}
	if (in->ngens != 3 || in->gens[0].threshold < 0 || in->gens[0].count < 0) {
		ret->reason = "unknown for this collector";
		return;
	}
	if (in->gens[0].threshold == 0) {
		ret->reason = "threshold 0 disables automatic collection";
		return;
	}
	int64_t need = in->gens[0].threshold - in->gens[0].count + 1;
	ret->allocations = need > 0 ? need : 0;
	for (int i = 2; i >= 1; i--) {
		if (in->gens[i].count <= in->gens[i].threshold)
			continue;
		if (i == 2 && in->long_lived_total >= 0 &&
		    in->long_lived_pending < in->long_lived_total / 4) {
			continue;
		}
		ret->generation = i;
		ret->reason = i == 2 ? "generation 2's count exceeds its threshold and "
				       "long_lived_pending >= long_lived_total / 4"
				     : "generation 1's count exceeds its threshold";
		return;
	}
	ret->generation = 0;
	ret->reason = in->gens[2].count > in->gens[2].threshold
		? "generation 2 is due by count but waits while long_lived_pending < "
		  "long_lived_total / 4; generation 1 is not due"
		: "no older generation's count exceeds its threshold";
}
