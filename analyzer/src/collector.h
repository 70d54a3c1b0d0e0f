/*
 * The collector kinds: one module each, behind one interface, chosen from
 * the layout.
 *
 *   collector_generational.c  3.6-3.13 and 3.14.5+: generations 0-2 and the
 *                             permanent generation, each a list of GC heads
 *   collector_incremental.c   3.14.0-3.14.4: young, old[0], old[1] and the
 *                             permanent generation, lists of GC heads
 *
 * A kind says how a target's objects are enumerated, which lists a -g
 * selector names, and what a collection writes (its touch model,
 * docs/touch-model.md) and which comes next.  The list kinds share the
 * list walk of collector_lists.c.
 */
#ifndef GCI_COLLECTOR_H
#define GCI_COLLECTOR_H

#include "layout.h"
#include "pageset.h"
#include "program.h"

struct gci_collector_kind {
	const char *name;  /* as struct gci_interp's collector says */
	/*
	 * Enumerate every interpreter's objects into snap: each list's (or
	 * heap's) totals, pages and type counts, and with GCI_SNAPSHOT_OBJECTS
	 * the object records.  Broken target data becomes problems; the only
	 * errors are out of memory.
	 */
	struct gci_error *(*enumerate)(struct gci_program *prog, struct gci_snapshot *snap,
				       const struct gci_layout *L, unsigned flags,
				       size_t *problems_cap);
	/* A target read while it ran (--no-stop): what changed under the
	 * enumeration becomes a problem. */
	struct gci_error *(*check_unchanged)(struct gci_program *prog,
					     struct gci_snapshot *snap,
					     const struct gci_layout *L, size_t *problems_cap);
	/* The lists a -g argument names (see gci_select_lists). */
	struct gci_error *(*select)(const struct gci_snapshot *snap, const struct gci_interp *in,
				    const char *which, const struct gci_gen **ret, size_t *ret_n);
	/* The pages collection `generation` writes into ps (gci_touch_pages). */
	struct gci_error *(*touch_pages)(const struct gci_snapshot *snap,
					 const struct gci_interp *in, int generation,
					 struct gci_pageset *ps, struct gci_touch *ret);
	void (*next_collection)(const struct gci_snapshot *snap, const struct gci_interp *in,
				struct gci_next_collection *ret);
};

extern const struct gci_collector_kind gci_collector_generational;
extern const struct gci_collector_kind gci_collector_incremental;

/* The kind a layout describes. */
const struct gci_collector_kind *gci_collector_for(const struct gci_layout *L);
/* The kind of a snapshot's target. */
const struct gci_collector_kind *gci_snapshot_collector(const struct gci_snapshot *snap);

/* collector_lists.c: what the list kinds share. */
struct gci_error *gci_lists_enumerate(struct gci_program *prog, struct gci_snapshot *snap,
				      const struct gci_layout *L, unsigned flags,
				      size_t *problems_cap);
struct gci_error *gci_lists_check_unchanged(struct gci_program *prog,
					    struct gci_snapshot *snap,
					    const struct gci_layout *L, size_t *problems_cap);
/* The list named exactly (its name, "permanent"), or NULL. */
const struct gci_gen *gci_lists_find(const struct gci_interp *in, const char *name);
/* "choose ..." text for an error: the names a selector takes. */
void gci_lists_choices(const struct gci_interp *in, const char *extra, char *buf, size_t n);

#endif
