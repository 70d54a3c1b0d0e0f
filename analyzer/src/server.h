/*
 * Pre-fork servers: a master and the workers it forked, read one at a time
 * (server.c), what each worker has copied of the master's memory and what
 * lives on those pages (copied.c), and the reports over them
 * (server_report.c).  Each process is read, reduced to the numbers below,
 * and closed before the next is opened, so memory does not grow with the
 * number of workers.
 */
#ifndef GCI_SERVER_H
#define GCI_SERVER_H

#include <json-c/json.h>

#include "gcinspect.h"
#include "pageset.h"

struct gci_program;

/* What lives on a copied page, in order of precedence (docs/workers.md). */
enum gci_copy_cause {
	GCI_COPY_GC_OBJECTS,  /* GC heads of tracked objects, from the walk */
	GCI_COPY_GC_STATE,    /* the interpreter's GC state */
	GCI_COPY_ALLOCATOR,   /* a pool of the object allocator without a GC head */
	GCI_COPY_MALLOC,      /* malloc: [heap], its mmap'd chunks, thread heaps */
	GCI_COPY_STACKS,      /* a thread's stack */
	GCI_COPY_OTHER,
	GCI_COPY_NCAUSES
};
extern const char *const gci_copy_cause_names[GCI_COPY_NCAUSES];
extern const char *const gci_copy_cause_text[GCI_COPY_NCAUSES];

struct gci_copied_count {
	char *name;           /* a list name, or a type's tp_name */
	uint64_t pages;
};

/* What a worker has copied of its master's memory. */
struct gci_copied {
	bool known;
	/* "frames" (physical frame numbers compared: root), or "exclusive"
	 * (frames hidden: a page mapped only by the worker, where the master
	 * has one too, counts as copied) */
	const char *method;
	uint64_t compared_pages;  /* present in the worker and in the master */
	uint64_t shared_pages;    /* of those, the same frame */
	uint64_t copied_pages;    /* of those, another frame */
	/* of the copied, those the worker still shares with another process:
	 * the master wrote its own copy after the fork, not the worker */
	uint64_t master_moved_pages;
	uint64_t own_pages;       /* present in the worker where the master has none */
	uint64_t cause_pages[GCI_COPY_NCAUSES];
	/* GCI_COPY_GC_OBJECTS by list and by type: a page that holds heads
	 * of several lists or types counts for each */
	size_t nlists;
	struct gci_copied_count lists[GCI_MAX_GENS + 1];
	size_t ntypes;            /* largest first */
	struct gci_copied_count *types;
	/* copied pages holding heads of objects a collection writes (not
	 * permanent): what gc.freeze() before the fork would have spared */
	uint64_t young_heads_pages;
};

/* /proc/PID/smaps_rollup, in kB. */
struct gci_rollup {
	bool known;
	uint64_t rss, pss, shared_clean, shared_dirty, private_clean, private_dirty;
	uint64_t anonymous, swap;
};

/* One process, reduced to what the reports need. */
struct gci_server_proc {
	int pid, ppid;
	bool master;
	char comm[17];
	struct gci_rollup rollup;
	struct gci_error *error;   /* could not be read: why (then nothing below) */
	bool have_snapshot;
	char version[32];
	bool stopped;
	double stopped_ms;
	int enabled;               /* 1, 0, -1 unknown */
	size_t ngens;              /* generations; lists[ngens] is permanent */
	size_t nlists;
	struct {
		char name[16];
		int64_t threshold, count;
		uint64_t objects, bytes, pages;
		bool complete;
	} lists[GCI_MAX_GENS + 1];
	int64_t frozen;            /* objects in the permanent generation, -1: none */
	uint64_t gc_pages;         /* distinct pages holding any GC head */
	bool touch_known;          /* full was computed (every collector kind has a
				    * full collection: "2", or "full") */
	struct gci_touch full;     /* a full collection (gc.collect()) */
	uint64_t full_shared_state_pages; /* of full.shared_pages, the GC state's */
	int next_generation;       /* as gc.collect(generation=N); -1: none */
	const char *next_collection; /* its name (struct gci_collection); NULL: none */
	const char *next_step;     /* 3.14.0-3.14.4: what the step does; else NULL */
	int64_t next_allocations;
	const char *next_reason;
	struct gci_touch next;     /* the next automatic collection */
	size_t nproblems;
	char *first_problem;
	size_t nwarnings;
	char **warnings;
	json_object *json;         /* target, python, gc, collections, ... */
	struct gci_copied copied;  /* workers */
};

/* The master's private writable pages, to compare workers with. */
struct gci_master_pages;

struct gci_server {
	struct gci_options opts;
	int asked_pid;             /* the pid the caller named */
	struct gci_server_proc master;
	size_t nworkers;
	struct gci_server_proc *workers;
	size_t nskipped;           /* children that share nothing: not workers */
	const char *how;           /* how the master was found */
	char *exe;                 /* the master's executable */
	uint64_t master_private_pages; /* present private writable pages */
	struct gci_master_pages *mpages;
	bool frames_known;         /* physical frame numbers readable */
	bool read_done;
	double sample_time;        /* wall clock of the read, seconds */
	char **warnings;
	size_t nwarnings;
	char **all_warnings;       /* gci_server_warnings' answer */
	/* the blocks the master's stopped walk read, in order: the workers'
	 * prefetch hint (live.c) */
	uint64_t *hint;
	size_t nhint;
};

void gci_server_warn(struct gci_server *srv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* copied.c */
/* Read the master's pagemap over its private writable mappings. */
struct gci_error *gci_master_pages_read(int pid, struct gci_master_pages **ret,
					uint64_t *ret_present, bool *ret_frames);
void gci_master_pages_destroy(struct gci_master_pages *mp);
/* Whether child pid maps any present page to the same frame as the master
 * at the same address (frames unknown: a page it does not map exclusively). */
struct gci_error *gci_master_pages_shared_with(const struct gci_master_pages *mp, int pid,
					       bool *ret);
/* Compare a worker with the master and attribute every copied page, using
 * the worker's snapshot (still open). */
struct gci_error *gci_copied_compute(const struct gci_master_pages *mp,
				     const struct gci_snapshot *snap, struct gci_copied *ret);
void gci_copied_deinit(struct gci_copied *c);

/* server_report.c: reduce a snapshot to a process record (and its JSON). */
struct gci_error *gci_server_proc_fill(struct gci_server_proc *p, const struct gci_snapshot *snap);
void gci_server_proc_deinit(struct gci_server_proc *p);

#endif
