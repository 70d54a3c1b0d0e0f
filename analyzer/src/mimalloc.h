/*
 * Walking the mimalloc heaps of a free-threaded CPython from the outside
 * (mimalloc.c): a heap's page queues, a page's blocks, the abandoned
 * segments of exited threads.  Which blocks are free is known from the free
 * lists only (the page's free, local_free and xthread_free lists and the
 * heap's delayed-free list), never from what a block holds: a freed block
 * keeps its stale object header.
 *
 * Target memory is hostile: every list is bounded by what it can hold, every
 * address checked against the page or segment it must lie in, and a broken
 * page or list becomes a problem naming the address, never a crash or a
 * hang.  The only errors returned are out of memory.
 */
#ifndef GCI_MIMALLOC_H
#define GCI_MIMALLOC_H

#include "layout.h"
#include "memory.h"
#include "pageset.h"

struct gci_snapshot;

/* One mimalloc page as read (the mi_page_t and where its blocks are). */
struct gci_mi_page {
	uint64_t address;      /* the mi_page_t, inside its segment's header */
	uint64_t segment;
	uint64_t start;        /* first block */
	uint64_t block_size;
	uint32_t capacity, reserved, used;
	uint32_t nfree, nlocal, nthread, ndelayed; /* blocks on each free list */
	uint64_t local_tail, thread_tail; /* last block of those lists (0: empty) */
	unsigned tag;          /* the heap tag (CPython: 2 GC objects, 3 with pre-header) */
	bool abandoned;        /* in a segment of an exited thread */
	uint64_t heap;         /* the owning mi_heap_t (0: abandoned) */
	uint64_t lists;        /* a digest of the page's lists and counts */
};

/* The digest of a page's lists and counts as they are now (0: unreadable). */
uint64_t gci_mi_page_digest(struct gci_memory *mem, const struct gci_layout *L, uint64_t page);

/*
 * Called for every allocated block of a page, in address order; returns
 * NULL or an out-of-memory error.
 */
typedef struct gci_error *gci_mi_block_fn(void *arg, const struct gci_mi_page *page,
					  uint64_t block);

struct gci_mi_walker {
	struct gci_memory *mem;
	const struct gci_layout *L;
	struct gci_snapshot *snap;   /* problems are added here */
	size_t *problems_cap;
	const char *label;           /* "interpreter 0": prefixes every problem */
	gci_mi_block_fn *block;
	void *arg;
	/*
	 * If not NULL: the allocator metadata a collection's own heap walk
	 * writes (docs/touch-model.md): the compare-and-swap on xthread_free
	 * of every page it visits, the rest of an mi_page_t whose lists it
	 * splices, the links of the blocks it relinks (list tails, delayed
	 * frees) and the delayed-free list head of the heap.
	 */
	struct gci_pageset *touch;
	/* Called for every page whose lists were read, after its blocks
	 * (may be NULL). */
	struct gci_error *(*page_done)(void *arg, const struct gci_mi_page *page);
	/* Totals over the walk. */
	uint64_t pages, blocks, segments_abandoned;
	uint64_t heaps;
	bool complete;               /* false once a problem was recorded */
	/* private */
	void *priv;
};

void gci_mi_walker_init(struct gci_mi_walker *w, struct gci_memory *mem,
			const struct gci_layout *L, struct gci_snapshot *snap,
			size_t *problems_cap);
void gci_mi_walker_deinit(struct gci_mi_walker *w);

/*
 * The pages of heap (an mi_heap_t) whose tag is `tag`: every page queue,
 * each a list through page->next; blocks on the heap's delayed-free list
 * count as free.  owner_thread: the thread id the heap must belong to (0:
 * not checked).
 */
struct gci_error *gci_mi_walk_heap(struct gci_mi_walker *w, uint64_t heap, unsigned tag,
				   uint64_t owner_thread);

/*
 * The abandoned segments of an interpreter whose mimalloc state (its
 * `mimalloc` member) is at interp_mimalloc: the pages with tag tag_a or
 * tag_b.  mimalloc 2.1: the pool's two lists; 2.5: the sub-process's
 * abandoned OS list and, in arenas, the segments found by their header.
 */
struct gci_error *gci_mi_walk_abandoned(struct gci_mi_walker *w, uint64_t interp_mimalloc,
					unsigned tag_a, unsigned tag_b);

#endif
