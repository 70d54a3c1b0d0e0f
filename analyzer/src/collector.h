/*
 * The collector kinds: one module each, behind one interface, chosen from
 * the layout.
 *
 *   collector_generational.c  3.6-3.13 and 3.14.5+: generations 0-2 and the
 *                             permanent generation, each a list of GC heads
 *   collector_incremental.c   3.14.0-3.14.4: young, old[0], old[1] and the
 *                             permanent generation, lists of GC heads
 *   collector_freethreaded.c  free-threaded builds (Py_GIL_DISABLED): no
 *                             lists; every thread's mimalloc GC heaps and the
 *                             abandoned segments, walked by mimalloc.c
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

struct gci_walker;

/*
 * What one collection writes, as parts of the walked lists: every head of
 * some lists, the first objects of one more (the walk kept their pages
 * apart: gci_walker.prefix), single heads (a list's last object, which a
 * merge writes), and always the GC state.
 */
struct gci_touch_plan {
	const struct gci_gen *lists[GCI_MAX_GENS + 1];
	size_t nlists;
	const struct gci_gen *prefix; /* its gen->data->prefix_objects first objects */
	uint64_t heads[4];
	size_t nheads;
	const char *approximation;    /* as struct gci_touch says */
};

/*
 * Who is told about each object as an enumeration meets it
 * (gci_snapshot_take_each), and about its progress.
 */
struct gci_object_sink {
	gci_object_fn *fn;          /* NULL: nobody */
	void *arg;
	gci_progress_fn *progress;  /* NULL: nobody */
	void *progress_arg;
};

struct gci_collector_kind {
	const char *name;  /* as struct gci_interp's collector says */
	/*
	 * Enumerate every interpreter's objects into snap: each list's (or
	 * heap's) totals, pages and type counts, and with GCI_SNAPSHOT_OBJECTS
	 * the object records.  Every kind calls sink->fn for each object it
	 * counts, with a struct gci_object_info (a kind without GC heads gives
	 * gc_head 0, and a list of its own for list), and sink->progress every
	 * GCI_PROGRESS_EVERY objects and once at the end.  Broken target data
	 * becomes problems; the only errors are out of memory, and
	 * GCI_ERR_CANCELLED when sink->fn returns nonzero.
	 */
	struct gci_error *(*enumerate)(struct gci_program *prog, struct gci_snapshot *snap,
				       const struct gci_layout *L, unsigned flags,
				       const struct gci_object_sink *sink,
				       size_t *problems_cap);
	/* A target read while it ran (--no-stop): what changed under the
	 * enumeration becomes a problem. */
	struct gci_error *(*check_unchanged)(struct gci_program *prog,
					     struct gci_snapshot *snap,
					     const struct gci_layout *L, size_t *problems_cap);
	/* The lists a -g argument names (see gci_select_lists). */
	struct gci_error *(*select)(const struct gci_snapshot *snap, const struct gci_interp *in,
				    const char *which, const struct gci_gen **ret, size_t *ret_n);
	/* The collections it runs, in report order (gci_collections); NULL:
	 * none (touch then has nothing to report). */
	size_t (*collections)(const struct gci_snapshot *snap, const struct gci_interp *in,
			      const struct gci_collection **ret);
	/* The pages collection `generation` writes into ps (gci_touch_pages);
	 * the list kinds: gci_lists_touch_pages over touch_plan. */
	struct gci_error *(*touch_pages)(const struct gci_snapshot *snap,
					 const struct gci_interp *in, int generation,
					 struct gci_pageset *ps, struct gci_touch *ret);
	/* What collection `generation` writes, as parts of the lists; NULL
	 * for a kind whose objects are not on lists (the reports then show
	 * no types or page list for it). */
	struct gci_error *(*touch_plan)(const struct gci_snapshot *snap,
					const struct gci_interp *in, int generation,
					struct gci_touch_plan *ret);
	/* What gc.freeze() itself writes, where that is more than a few
	 * heads; NULL: a few. */
	bool (*freeze_plan)(const struct gci_snapshot *snap, const struct gci_interp *in,
			    struct gci_touch_plan *ret);
	void (*next_collection)(const struct gci_snapshot *snap, const struct gci_interp *in,
				struct gci_next_collection *ret);
	/* Free what enumerate kept in the snapshot's kind data (may be NULL). */
	void (*destroy)(struct gci_snapshot *snap, void *data);
};

extern const struct gci_collector_kind gci_collector_generational;
extern const struct gci_collector_kind gci_collector_incremental;
extern const struct gci_collector_kind gci_collector_freethreaded;

/* The kind a layout describes. */
const struct gci_collector_kind *gci_collector_for(const struct gci_layout *L);
/* The kind of a snapshot's target. */
const struct gci_collector_kind *gci_snapshot_collector(const struct gci_snapshot *snap);

/* collector_lists.c: what the list kinds share, and this, which every kind
 * uses.
 *
 * A walker for an enumeration: at most bound objects, the
 * records flags asks for, the sink's callbacks, the problems so far, and
 * for the progress a total where the interpreters count their GC objects
 * (3.14+).
 */
void gci_enumeration_walker(struct gci_walker *w, struct gci_program *prog,
			    const struct gci_layout *L, struct gci_snapshot *snap,
			    uint64_t bound, unsigned flags,
			    const struct gci_object_sink *sink, size_t problems_cap);

/*
 * Before list g of an interpreter is walked (the earlier ones are): how many
 * of its first objects to keep apart (gci_walker.prefix), 0 for none.
 */
typedef uint64_t gci_lists_prefix_fn(const struct gci_snapshot *snap,
				     const struct gci_interp *in, size_t g);
struct gci_error *gci_lists_enumerate(struct gci_program *prog, struct gci_snapshot *snap,
				      const struct gci_layout *L, unsigned flags,
				      gci_lists_prefix_fn *prefix,
				      const struct gci_object_sink *sink,
				      size_t *problems_cap);
/* touch_pages from the kind's touch_plan. */
struct gci_error *gci_lists_touch_pages(const struct gci_snapshot *snap,
					const struct gci_interp *in, int generation,
					struct gci_pageset *ps, struct gci_touch *ret);
/* The pages, objects and bytes of a plan (the sharing is left to the caller). */
struct gci_error *gci_plan_pages(const struct gci_snapshot *snap, const struct gci_interp *in,
				 const struct gci_touch_plan *plan, struct gci_pageset *ps,
				 struct gci_touch *ret);
struct gci_error *gci_lists_check_unchanged(struct gci_program *prog,
					    struct gci_snapshot *snap,
					    const struct gci_layout *L, size_t *problems_cap);
/* The list named exactly (its name, "permanent"), or NULL. */
const struct gci_gen *gci_lists_find(const struct gci_interp *in, const char *name);
/* "choose ..." text for an error: the names a selector takes. */
void gci_lists_choices(const struct gci_interp *in, const char *extra, char *buf, size_t n);

#endif
