/*
 * The generational collector (3.6-3.13, 3.14.5+): generations 0-2 and the
 * permanent generation, each a doubly linked list of GC heads.  Its touch
 * model is docs/touch-model.md's "Generational collector" section.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "snapshot.h"
#include "walker.h"

/* -g N: generation N, as gc.get_objects(generation=N); or "permanent". */
static struct gci_error *select_lists(const struct gci_snapshot *snap,
				      const struct gci_interp *in, const char *which,
				      const struct gci_gen **ret, size_t *ret_n)
{
	const struct gci_gen *g = gci_lists_find(in, which);
	if (!g) {
		char names[128];
		gci_lists_choices(in, NULL, names, sizeof(names));
		return gci_error_create(GCI_ERR_USAGE, "no generation \"%s\" in CPython %s "
					"(choose one of: %s)", which, snap->version, names);
	}
	ret[0] = g;
	*ret_n = 1;
	return NULL;
}

static const struct gci_collection collections_list[] = {
	{ "0", 0, true, false, "collection of generation 0" },
	{ "1", 1, true, false, "collection of generation 1" },
	{ "2", 2, true, true, "collection of generation 2" },
};

/* Generations 0..ngens-1 (3 in every version). */
static size_t collections(const struct gci_snapshot *snap, const struct gci_interp *in,
			  const struct gci_collection **ret)
{
	size_t n = in->ngens < 3 ? in->ngens : 3;
	*ret = collections_list;
	return n;
}

/*
 * A collection of generation N writes every head of generations 0..N, the
 * last object of generation N+1 (the survivors are merged onto that list:
 * its last object's _gc_next is written), and the GC state.
 */
static struct gci_error *touch_plan(const struct gci_snapshot *snap, const struct gci_interp *in,
				    int generation, struct gci_touch_plan *ret)
{
	for (int g = 0; g <= generation && (size_t)g < in->ngens; g++)
		ret->lists[ret->nlists++] = &in->gens[g];
	if ((size_t)generation + 1 < in->ngens && in->gens[generation + 1].last_head)
		ret->heads[ret->nheads++] = in->gens[generation + 1].last_head;
	return NULL;
}

/*
 * The automatic choice (collect_generations 3.6-3.9, gc_collect_generations
 * 3.10-3.12, gc_select_generation 3.13+): when an allocation takes count[0]
 * past threshold[0], the oldest generation whose count exceeds its threshold
 * is collected, except that generation 2 waits while long_lived_pending <
 * long_lived_total / 4.  count[1] and count[2] do not change before then.
 */
static void next_collection(const struct gci_snapshot *snap, const struct gci_interp *in,
			    struct gci_next_collection *ret)
{
	ret->generation = -1;
	ret->allocations = -1;
	if (in->enabled == 0) {
		ret->reason = "the collector is disabled (gc.disable()): no automatic "
			      "collection until gc.enable()";
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

static struct gci_error *enumerate(struct gci_program *prog, struct gci_snapshot *snap,
				   const struct gci_layout *L, unsigned flags,
				   const struct gci_object_sink *sink, size_t *problems_cap)
{
	return gci_lists_enumerate(prog, snap, L, flags, NULL, sink, problems_cap);
}

const struct gci_collector_kind gci_collector_generational = {
	.name = "generational",
	.enumerate = enumerate,
	.check_unchanged = gci_lists_check_unchanged,
	.select = select_lists,
	.collections = collections,
	.touch_pages = gci_lists_touch_pages,
	.touch_plan = touch_plan,
	.next_collection = next_collection,
};
