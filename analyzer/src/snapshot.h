/* Internal access to what a snapshot keeps beside its public fields. */
#ifndef GCI_SNAPSHOT_H
#define GCI_SNAPSHOT_H

#include "gcinspect.h"
#include "layout.h"

const struct gci_layout *gci_snapshot_layout(const struct gci_snapshot *snap);

/* What the collector kind keeps beside the lists (its destroy frees it). */
void *gci_snapshot_kind_data(const struct gci_snapshot *snap);
void gci_snapshot_set_kind_data(struct gci_snapshot *snap, void *data);

/*
 * The lists of an interpreter, generations first, then the permanent one
 * where the version has it: for (i = 0; (gen = gci_interp_list(in, i)); i++).
 */
static inline const struct gci_gen *gci_interp_list(const struct gci_interp *in, size_t i)
{
	if (i < in->ngens)
		return &in->gens[i];
	return i == in->ngens && in->has_permanent ? &in->permanent : NULL;
}

struct gci_pageset;
/* Live targets: pages shared with another process / exclusive (pagemap),
 * or false when not known. */
bool gci_snapshot_sharing(const struct gci_snapshot *snap,
			  const struct gci_pageset **shared,
			  const struct gci_pageset **exclusive);
/* [start, end) of the GC state of an interpreter that collections write. */
void gci_snapshot_state_range(const struct gci_snapshot *snap, const struct gci_interp *in,
			      uint64_t *start, uint64_t *end);

/*
 * The pages a collection of generation writes, into ps (which the caller
 * inits and deinits); fills the counts of ret but not the sharing.
 */
struct gci_error *gci_touch_pages(const struct gci_snapshot *snap, const struct gci_interp *in,
				  int generation, struct gci_pageset *ps, struct gci_touch *ret);

/* The collection gc.collect() runs (generation 2's, or the one named
 * "full"): what the what-ifs and workers compare with; NULL if none. */
const struct gci_collection *gci_collection_full(const struct gci_snapshot *snap,
						 const struct gci_interp *in);

struct gci_touch_plan;
/*
 * What a collection writes as parts of the walked lists (collector.h), for
 * the reports' per-type pages and page lists; *ret_known is false for a
 * collector whose objects are not on lists.
 */
struct gci_error *gci_touch_plan_of(const struct gci_snapshot *snap, const struct gci_interp *in,
				 int generation, bool *ret_known, struct gci_touch_plan *ret);

#endif
