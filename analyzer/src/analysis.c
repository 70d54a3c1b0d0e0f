/* Analyses over a walked snapshot: per-list totals, type histograms. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "snapshot.h"
#include "collector.h"
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
	return gci_snapshot_collector(snap)->touch_pages(snap, in, generation, ps, ret);
}

void gci_next_collection(const struct gci_snapshot *snap, const struct gci_interp *in,
			 struct gci_next_collection *ret)
{
	ret->generation = -1;
	ret->allocations = -1;
	gci_snapshot_collector(snap)->next_collection(snap, in, ret);
}

struct gci_error *gci_select_lists(const struct gci_snapshot *snap, const struct gci_interp *in,
				   const char *which, const struct gci_gen **ret, size_t *ret_n)
{
	*ret_n = 0;
	if (!which) {
		const struct gci_gen *g;
		for (size_t i = 0; (g = gci_interp_list(in, i)); i++)
			ret[(*ret_n)++] = g;
		return NULL;
	}
	return gci_snapshot_collector(snap)->select(snap, in, which, ret, ret_n);
}
