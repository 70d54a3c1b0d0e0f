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
