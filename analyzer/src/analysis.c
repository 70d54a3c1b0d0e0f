/* Analyses over a walked snapshot: per-list totals, type histograms. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "pageset.h"
#include "snapshot.h"

struct gci_error *gci_gen_stats(const struct gci_snapshot *snap,
				const struct gci_gen *gen, struct gci_gen_stats *ret)
{
	struct gci_pageset ps;
	gci_pageset_init(&ps);
	uint64_t bytes = 0, hs = gci_snapshot_layout(snap)->gc_head_size;
	for (size_t i = gen->first; i < gen->first + gen->nobjects; i++) {
		const struct gci_object *o = &snap->objects[i];
		bytes += o->size;
		if (!gci_pageset_add_range(&ps, o->address - hs, hs)) {
			gci_pageset_deinit(&ps);
			return &gci_enomem;
		}
	}
	ret->objects = gen->nobjects;
	ret->bytes = bytes;
	ret->pages = gci_pageset_count(&ps);
	gci_pageset_deinit(&ps);
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
		const struct gci_gen *gen = gens[g];
		for (size_t i = gen->first; i < gen->first + gen->nobjects; i++) {
			const struct gci_object *o = &snap->objects[i];
			all[o->type].objects++;
			all[o->type].bytes += o->size;
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
