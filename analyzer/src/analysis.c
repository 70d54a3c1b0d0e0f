/* Analyses over a walked snapshot: per-list totals, type histograms. */
#include <stdlib.h>
#include <stdio.h>
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

size_t gci_collections(const struct gci_snapshot *snap, const struct gci_interp *in,
		       const struct gci_collection **ret)
{
	const struct gci_collector_kind *k = gci_snapshot_collector(snap);
	if (!k->collections) {
		*ret = NULL;
		return 0;
	}
	return k->collections(snap, in, ret);
}

static const struct gci_collection *by_generation(const struct gci_snapshot *snap,
						  const struct gci_interp *in, int generation)
{
	const struct gci_collection *c;
	size_t n = gci_collections(snap, in, &c);
	for (size_t i = 0; i < n; i++)
		if (c[i].generation == generation)
			return &c[i];
	return NULL;
}

const struct gci_collection *gci_collection_full(const struct gci_snapshot *snap,
						 const struct gci_interp *in)
{
	const struct gci_collection *c;
	size_t n = gci_collections(snap, in, &c);
	for (size_t i = 0; i < n; i++)
		if (c[i].full)
			return &c[i];
	return NULL;
}

/* "0-2", or "young, increment, full; or 0-2 as gc.collect(generation=N)" */
static void collection_choices(const struct gci_snapshot *snap, const struct gci_interp *in,
			       char *buf, size_t size)
{
	const struct gci_collection *c;
	size_t n = gci_collections(snap, in, &c), len = 0;
	int lo = n ? c[0].generation : 0, hi = lo;
	bool numbered = true;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		lo = c[i].generation < lo ? c[i].generation : lo;
		hi = c[i].generation > hi ? c[i].generation : hi;
		numbered = numbered && c[i].numbered;
		if (len < size)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
						c[i].name);
	}
	if (numbered)
		snprintf(buf, size, "%d-%d", lo, hi);
	else if (len < size && lo == hi)
		snprintf(buf + len, size - len, "; or %d as gc.collect(generation=N)", lo);
	else if (len < size)
		snprintf(buf + len, size - len, "; or %d-%d as gc.collect(generation=N)", lo, hi);
}

struct gci_error *gci_collection_find(const struct gci_snapshot *snap,
				      const struct gci_interp *in, const char *which,
				      const struct gci_collection **ret)
{
	const struct gci_collection *c;
	size_t n = gci_collections(snap, in, &c);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(c[i].name, which)) {
			*ret = &c[i];
			return NULL;
		}
	}
	char *end;
	long g = strtol(which, &end, 10);
	if (*which >= '0' && *which <= '9' && !*end && g <= INT32_MAX &&
	    (*ret = by_generation(snap, in, (int)g)))
		return NULL;
	char choices[192];
	collection_choices(snap, in, choices, sizeof(choices));
	if (n && c[0].numbered)
		return gci_error_create(GCI_ERR_USAGE, "no collection of generation \"%s\" "
					"in CPython %s (choose %s)", which, snap->version,
					choices);
	return gci_error_create(GCI_ERR_USAGE, "no collection \"%s\" in CPython %s (choose "
				"one of: %s)", which, snap->version, choices);
}

static void add_sharing(const struct gci_snapshot *snap, const struct gci_pageset *ps,
			struct gci_touch *t)
{
	const struct gci_pageset *shared, *exclusive;
	if (gci_snapshot_sharing(snap, &shared, &exclusive)) {
		t->sharing_known = true;
		t->shared_pages = gci_pageset_count_and(ps, shared);
		t->exclusive_pages = gci_pageset_count_and(ps, exclusive);
		t->absent_pages = t->pages - t->shared_pages - t->exclusive_pages;
	}
}

struct gci_error *gci_touch_compute(const struct gci_snapshot *snap,
				    const struct gci_interp *in, int generation,
				    struct gci_touch *ret)
{
	if (!by_generation(snap, in, generation)) {
		char choices[192];
		collection_choices(snap, in, choices, sizeof(choices));
		return gci_error_create(GCI_ERR_USAGE, "no generation %d to collect in "
					"CPython %s (choose %s)", generation,
					snap->version, choices);
	}
	struct gci_pageset ps;
	gci_pageset_init(&ps);
	struct gci_error *err = gci_touch_pages(snap, in, generation, &ps, ret);
	if (!err)
		add_sharing(snap, &ps, ret);
	gci_pageset_deinit(&ps);
	return err;
}

struct gci_error *gci_touch_pages(const struct gci_snapshot *snap, const struct gci_interp *in,
				  int generation, struct gci_pageset *ps, struct gci_touch *ret)
{
	const struct gci_collection *c = by_generation(snap, in, generation);
	if (!c)
		return gci_error_create(GCI_ERR_USAGE, "no generation %d to collect in "
					"CPython %s", generation, snap->version);
	memset(ret, 0, sizeof(*ret));
	ret->generation = generation;
	ret->collection = c->name;
	return gci_snapshot_collector(snap)->touch_pages(snap, in, generation, ps, ret);
}

struct gci_error *gci_touch_plan_of(const struct gci_snapshot *snap, const struct gci_interp *in,
				 int generation, bool *ret_known, struct gci_touch_plan *ret)
{
	const struct gci_collector_kind *k = gci_snapshot_collector(snap);
	memset(ret, 0, sizeof(*ret));
	*ret_known = k->touch_plan != NULL;
	return k->touch_plan ? k->touch_plan(snap, in, generation, ret) : NULL;
}

struct gci_error *gci_freeze_touch(const struct gci_snapshot *snap,
				   const struct gci_interp *in, bool *ret_known,
				   struct gci_touch *ret)
{
	const struct gci_collector_kind *k = gci_snapshot_collector(snap);
	struct gci_touch_plan plan;
	memset(&plan, 0, sizeof(plan));
	*ret_known = k->freeze_plan && k->freeze_plan(snap, in, &plan);
	if (!*ret_known)
		return NULL;
	struct gci_touch t;
	memset(&t, 0, sizeof(t));
	t.generation = -1;
	t.collection = "freeze";
	struct gci_pageset ps;
	gci_pageset_init(&ps);
	struct gci_error *err = gci_plan_pages(snap, in, &plan, &ps, &t);
	if (!err) {
		add_sharing(snap, &ps, &t);
		*ret = t;
	}
	gci_pageset_deinit(&ps);
	return err;
}

void gci_next_collection(const struct gci_snapshot *snap, const struct gci_interp *in,
			 struct gci_next_collection *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->generation = -1;
	ret->allocations = -1;
	gci_snapshot_collector(snap)->next_collection(snap, in, ret);
	const struct gci_collection *c = ret->generation >= 0 ?
		by_generation(snap, in, ret->generation) : NULL;
	ret->collection = c ? c->name : NULL;
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
