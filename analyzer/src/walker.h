/*
 * Walks the GC lists of one interpreter into a snapshot's compact arrays.
 * Never trusts target memory: every step is bounded, every next->prev link
 * is checked, and a broken list becomes a problem record (the list is marked
 * incomplete), not an error.  The only errors returned are out of memory.
 */
#ifndef GCI_WALKER_H
#define GCI_WALKER_H

#include "gcinspect.h"
#include "layout.h"
#include "memory.h"

#include "pageset.h"

struct gci_type_cache;

/* What a walk keeps per list, whatever the flags. */
struct gci_gen_data {
	struct gci_pageset pages;  /* pages holding the list's GC heads */
	uint64_t *type_objects;    /* per type index */
	uint64_t *type_bytes;
	struct gci_pageset *type_pages; /* with keep_type_pages */
	size_t type_cap;
	/*
	 * The first prefix_limit objects of the list (gci_walker.prefix, when
	 * a collector kind asks: the part of the pending list the incremental
	 * collector's next step takes): how many there were, their bytes and
	 * pages, and per type the objects and (keep_type_pages) pages.
	 */
	uint64_t prefix_limit, prefix_objects, prefix_bytes;
	struct gci_pageset prefix_pages;
	uint64_t *prefix_type_objects;
	struct gci_pageset *prefix_type_pages;
};

void gci_gen_data_destroy(struct gci_gen_data *d);

struct gci_walker {
	struct gci_memory *mem;
	const struct gci_layout *layout;
	struct gci_snapshot *snap;      /* objects, types, problems grow here */
	size_t objects_cap, types_cap, problems_cap;
	struct gci_type_cache *types;   /* type address -> index */
	uint64_t max_objects;           /* bound on any one list */
	bool keep_objects;              /* append to snap->objects */
	bool keep_type_pages;           /* a page set per type and list */
	uint64_t prefix;                /* the next list walked: keep the pages of
					 * its first prefix objects apart (0: no) */
	const uint64_t *heads;          /* every list head (cross-link check) */
	size_t unnamed;                 /* types whose tp_name was unreadable */
	char *unnamed_why;              /* the first reason */
	size_t nheads;
	/* Told about each object (gci_snapshot_take_each): fn(arg, ...). */
	gci_object_fn *object_fn;
	void *object_arg;
	const struct gci_interp *interp; /* whose lists are being walked */
	/* Progress: every GCI_PROGRESS_EVERY objects (walked counts them all). */
	gci_progress_fn *progress;
	void *progress_arg;
	uint64_t walked, progress_total;
};

/* Progress so far (final: the walk is over). */
void gci_walker_progress(struct gci_walker *w, bool final);

void gci_walker_init(struct gci_walker *w, struct gci_memory *mem,
		     const struct gci_layout *layout, struct gci_snapshot *snap,
		     uint64_t max_objects);
void gci_walker_deinit(struct gci_walker *w);

/*
 * gen must be zeroed before its first walk (gen->data is replaced).
 * Walk the list whose head is gen->head: fills gen->nobjects, bytes,
 * complete and data (pages, per-type totals), and with keep_objects (the
 * default) appends the objects to the snapshot from gen->first on.  With
 * object_fn, calls it for each object; when it returns nonzero, the walk
 * stops with GCI_ERR_CANCELLED.
 */
struct gci_error *gci_walk_list(struct gci_walker *w, struct gci_gen *gen);

/* Record an integrity problem in the snapshot. */
struct gci_error *gci_snapshot_add_problem(struct gci_snapshot *snap, size_t *cap,
					   uint64_t address, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
