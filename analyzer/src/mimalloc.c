/*
 * Walking mimalloc heaps from the outside (mimalloc.h).  What is read
 * follows mimalloc as CPython vendors it (2.1.2 in 3.13 and 3.14.0-3.14.4,
 * the 2.5 line in 3.14.10 and 3.15), with every difference in the layout
 * (layout.h, struct gci_ft_layout):
 *
 *   heap -> pages[0..MI_BIN_FULL], each a list of pages through page->next
 *   page -> blocks start + i * block_size for i < capacity; a block is free
 *           when it is on page->free, page->local_free, page->xthread_free
 *           (low two bits are a flag) or the heap's thread_delayed_free list
 *   segment (32 MiB aligned) -> slices[]; a page is the slice it starts at
 *
 * mi_heap_visit_blocks first collects the lists into page->free, which an
 * outside reader cannot do; it takes the union of all of them instead, and
 * checks mimalloc's own accounting on every page: used counts every block
 * not on free or local_free.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "mimalloc.h"
#include "walker.h"

#define MAX_DELAYED (1u << 22)   /* delayed frees of one heap */
#define MAX_SEGMENTS 65536        /* abandoned segments of one list */

/* A set of addresses: open addressing, 0 is never a member. */
struct addr_set {
	uint64_t *keys;
	size_t cap, used;
};

/* Add a; *was_there says whether it already was.  false: out of memory. */
static bool set_add(struct addr_set *s, uint64_t a, bool *was_there)
{
	if ((s->used + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		uint64_t *keys = calloc(cap, sizeof(*keys));
		if (!keys)
			return false;
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->keys[i])
				continue;
			size_t j = gci_hash_addr(s->keys[i]) & (cap - 1);
			while (keys[j])
				j = (j + 1) & (cap - 1);
			keys[j] = s->keys[i];
		}
		free(s->keys);
		s->keys = keys;
		s->cap = cap;
	}
	size_t j = gci_hash_addr(a) & (s->cap - 1);
	while (s->keys[j] && s->keys[j] != a)
		j = (j + 1) & (s->cap - 1);
	*was_there = s->keys[j] == a;
	if (!*was_there) {
		s->keys[j] = a;
		s->used++;
	}
	return true;
}

struct priv {
	struct addr_set pages, segments;
	uint64_t *delayed;          /* the current heap's delayed frees, sorted */
	size_t ndelayed, delayed_cap;
	uint64_t *bits;             /* free blocks of the current page */
	size_t bits_words;
	unsigned char *heap_buf;    /* an mi_heap_t */
	uint64_t max_pages;         /* bound on pages anywhere */
};

void gci_mi_walker_init(struct gci_mi_walker *w, struct gci_memory *mem,
			const struct gci_layout *L, struct gci_snapshot *snap,
			size_t *problems_cap)
{
	memset(w, 0, sizeof(*w));
	w->mem = mem;
	w->L = L;
	w->snap = snap;
	w->problems_cap = problems_cap;
	w->label = "";
	w->complete = true;
}

void gci_mi_walker_deinit(struct gci_mi_walker *w)
{
	struct priv *p = w->priv;
	if (!p)
		return;
	free(p->pages.keys);
	free(p->segments.keys);
	free(p->delayed);
	free(p->bits);
	free(p->heap_buf);
	free(p);
	w->priv = NULL;
}

static struct priv *priv_of(struct gci_mi_walker *w)
{
	if (!w->priv) {
		struct priv *p = calloc(1, sizeof(*p));
		if (!p)
			return NULL;
		p->heap_buf = malloc(w->L->ft.heap_size ? w->L->ft.heap_size : 1);
		if (!p->heap_buf) {
			free(p);
			return NULL;
		}
		/* Every page is at least one 64 KiB slice of memory that exists. */
		uint64_t saved = 0;
		for (size_t i = 0; i < w->mem->nsegs[GCI_TIER_PRIMARY]; i++) {
			const struct gci_segment *s = &w->mem->segs[GCI_TIER_PRIMARY][i];
			saved += s->saved_end - s->start;
		}
		p->max_pages = saved / ((uint64_t)1 << w->L->ft.slice_shift) + 64;
		if (p->max_pages > (1u << 26))
			p->max_pages = 1u << 26;
		w->priv = p;
	}
	return w->priv;
}

static struct gci_error *problem(struct gci_mi_walker *w, uint64_t address, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static struct gci_error *problem(struct gci_mi_walker *w, uint64_t address, const char *fmt, ...)
{
	char *msg;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return &gci_enomem;
	w->complete = false;
	struct gci_error *err = gci_snapshot_add_problem(w->snap, w->problems_cap, address,
							 "%s%s%s", w->label, *w->label ? ": " : "",
							 msg);
	free(msg);
	return err;
}

/*
 * Read n bytes; on failure record "WHAT at ADDR cannot be read: why" and
 * return false (*err: out of memory only).
 */
static bool rd(struct gci_mi_walker *w, uint64_t a, void *buf, size_t n, const char *what,
	       struct gci_error **err)
{
	const unsigned char *p = gci_memory_peek(w->mem, a, n);
	if (p) {
		memcpy(buf, p, n);
		return true;
	}
	struct gci_error *e = gci_memory_read(w->mem, a, buf, n);
	if (!e)
		return true;
	if (e->code == GCI_ERR_NOMEM) {
		*err = e;
		return false;
	}
	*err = problem(w, a, "%s at 0x%" PRIx64 " cannot be read: %s", what, a, e->message);
	gci_error_destroy(e);
	return false;
}

static bool rd64(struct gci_mi_walker *w, uint64_t a, uint64_t *v, const char *what,
		 struct gci_error **err)
{
	return rd(w, a, v, 8, what, err);
}

/* A little-endian unsigned field of `bytes` bytes inside buf. */
static uint64_t field(const unsigned char *buf, int32_t off, uint32_t bytes)
{
	uint64_t v = 0;
	memcpy(&v, buf + off, bytes);
	return v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool touch(struct gci_mi_walker *w, uint64_t a, uint64_t n)
{
	return !w->touch || gci_pageset_add_range(w->touch, a, n);
}

/*
 * One free list of a page: every link inside the page's blocks, at a block
 * boundary, on no other list.  Returns false (problem recorded) if not.
 */
static bool walk_free_list(struct gci_mi_walker *w, struct priv *p, const struct gci_mi_page *pg,
			   uint64_t head, const char *name, uint32_t *count, uint64_t *tail,
			   struct gci_error **err)
{
	const uint64_t end = pg->start + (uint64_t)pg->capacity * pg->block_size;
	uint64_t b = head, from = pg->address;
	uint32_t n = 0;
	*tail = 0;
	while (b) {
		if (b < pg->start || b >= end || (b - pg->start) % pg->block_size) {
			*err = problem(w, from, "page 0x%" PRIx64 ": its %s list links from 0x%"
				       PRIx64 " to 0x%" PRIx64 ", which is not one of its %u "
				       "blocks at 0x%" PRIx64, pg->address, name, from, b,
				       pg->capacity, pg->start);
			return false;
		}
		uint64_t i = (b - pg->start) / pg->block_size;
		if (p->bits[i / 64] & (1ULL << (i % 64))) {
			*err = problem(w, b, "page 0x%" PRIx64 ": block 0x%" PRIx64 " is on its %s "
				       "list twice, or on two lists (a loop?)", pg->address, b,
				       name);
			return false;
		}
		p->bits[i / 64] |= 1ULL << (i % 64);
		n++;
		*tail = b;
		from = b;
		const unsigned char *q = gci_memory_peek(w->mem, b, 8);
		if (q) {
			memcpy(&b, q, 8);
			continue;
		}
		struct gci_error *e = gci_memory_read(w->mem, from, &b, 8);
		if (e) {
			if (e->code == GCI_ERR_NOMEM) {
				*err = e;
				return false;
			}
			*err = problem(w, from, "page 0x%" PRIx64 ": block 0x%" PRIx64 " on its %s "
				       "list cannot be read: %s", pg->address, from, name,
				       e->message);
			gci_error_destroy(e);
			return false;
		}
	}
	*count = n;
	return true;
}

/* Where page pa's blocks are, from its mi_page_t in buf; false: problem. */
static bool page_geometry(struct gci_mi_walker *w, const unsigned char *buf, uint64_t pa,
			  struct gci_mi_page *pg, struct gci_error **err)
{
	const struct gci_ft_layout *F = &w->L->ft;
	const uint64_t seg_size = 1ULL << F->segment_shift, slice = 1ULL << F->slice_shift;
	uint64_t seg = pa & ~(seg_size - 1);
	uint64_t entries;
	pg->address = pa;
	pg->segment = seg;
	if (!rd64(w, seg + (uint64_t)F->seg_slice_entries, &entries, "a segment header", err))
		return false;
	uint64_t first = seg + (uint64_t)F->seg_slices;
	uint64_t max_entries = (seg_size >> F->slice_shift) + 1;
	if (entries == 0 || entries > max_entries || pa < first ||
	    (pa - first) % F->page_size || (pa - first) / F->page_size >= entries) {
		*err = problem(w, pa, "page 0x%" PRIx64 " is not a slice of the segment at 0x%"
			       PRIx64 " (%" PRIu64 " slice entries)", pa, seg, entries);
		return false;
	}
	uint64_t idx = (pa - first) / F->page_size;
	uint32_t count = (uint32_t)field(buf, F->page_slice_count, 4);
	uint32_t offset = (uint32_t)field(buf, F->page_slice_offset, 4);
	uint64_t segment_slices;
	if (!rd64(w, seg + (uint64_t)F->seg_segment_slices, &segment_slices, "a segment header",
		  err))
		return false;
	/* A huge segment may be larger than MI_SEGMENT_SIZE: its own count. */
	if (offset != 0 || count == 0 || segment_slices == 0 ||
	    segment_slices > ((uint64_t)1 << 40) >> F->slice_shift ||
	    idx + count > (segment_slices > entries ? segment_slices : entries)) {
		*err = problem(w, pa, "page 0x%" PRIx64 ": slice count %u, offset %u do not "
			       "describe a page of the segment at 0x%" PRIx64, pa, count, offset,
			       seg);
		return false;
	}
	uint64_t area = seg + idx * slice, area_end = area + (uint64_t)count * slice;
	uint64_t raw = field(buf, F->page_block_size, F->page_block_size_bytes);
	bool huge = F->page_block_size_bytes == 4 && raw >= (1ULL << 31);
	uint64_t start;
	if (F->page_start >= 0) {
		start = field(buf, F->page_start, 8);
	} else {
		/* mimalloc 2.1 _mi_segment_page_start_from_slice: small blocks
		 * start a few blocks in, off the OS page boundary. */
		uint64_t off = 0;
		if (raw >= 8 && raw <= 64)
			off = 3 * raw;
		else if (raw >= 8 && raw <= 512)
			off = raw;
		start = area + off;
	}
	if (start < area || start >= area_end) {
		*err = problem(w, pa, "page 0x%" PRIx64 ": its blocks would start at 0x%" PRIx64
			       ", outside its slices 0x%" PRIx64 "-0x%" PRIx64, pa, start, area,
			       area_end);
		return false;
	}
	uint64_t psize = area_end - start;
	pg->block_size = huge ? psize : raw;
	pg->start = start;
	pg->capacity = (uint32_t)field(buf, F->page_capacity, 2);
	pg->reserved = (uint32_t)field(buf, F->page_reserved, 2);
	pg->used = (uint32_t)field(buf, F->page_used, F->page_used_bytes);
	if (pg->block_size < 8 || pg->capacity > pg->reserved || pg->used > pg->capacity ||
	    (pg->capacity && pg->block_size > psize / pg->capacity)) {
		*err = problem(w, pa, "page 0x%" PRIx64 ": block size %" PRIu64 ", capacity %u, "
			       "reserved %u, used %u do not fit its %" PRIu64 " bytes", pa,
			       pg->block_size, pg->capacity, pg->reserved, pg->used, psize);
		return false;
	}
	return true;
}

/* What changes on every allocation and free in a page: its lists and count. */
static uint64_t digest(const struct gci_ft_layout *F, const unsigned char *buf)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL;
	const uint64_t v[4] = { field(buf, F->page_free, 8), field(buf, F->page_local_free, 8),
				field(buf, F->page_xthread_free, 8),
				field(buf, F->page_used, F->page_used_bytes) };
	for (int i = 0; i < 4; i++) {
		h ^= v[i] + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
		h *= 0xff51afd7ed558ccdULL;
	}
	return h | 1;
}

uint64_t gci_mi_page_digest(struct gci_memory *mem, const struct gci_layout *L, uint64_t page)
{
	unsigned char buf[512];
	if (L->ft.page_size > sizeof(buf))
		return 0;
	struct gci_error *err = gci_memory_read(mem, page, buf, L->ft.page_size);
	if (err) {
		gci_error_destroy(err);
		return 0;
	}
	return digest(&L->ft, buf);
}

static unsigned page_tag(const struct gci_ft_layout *F, const unsigned char *buf)
{
	return (buf[F->page_tag] >> F->page_tag_shift) & ((1u << F->page_tag_bits) - 1);
}

/*
 * One page: its free lists, mimalloc's accounting, then every allocated
 * block.  A page whose lists are broken is skipped whole (which of its
 * blocks hold objects is then unknown) and named in a problem.
 */
static struct gci_error *walk_page(struct gci_mi_walker *w, uint64_t pa, uint64_t heap,
				   bool abandoned)
{
	const struct gci_ft_layout *F = &w->L->ft;
	struct priv *p = priv_of(w);
	struct gci_error *err = NULL;
	unsigned char buf[512];
	if (!p)
		return &gci_enomem;
	if (!rd(w, pa, buf, F->page_size, "a page (mi_page_t)", &err))
		return err;
	struct gci_mi_page pg = { .heap = heap, .abandoned = abandoned, .tag = page_tag(F, buf),
				  .lists = digest(F, buf) };
	if (!page_geometry(w, buf, pa, &pg, &err))
		return err;
	uint64_t xheap = field(buf, F->page_xheap, 8);
	if (heap && xheap != heap)
		return problem(w, pa, "page 0x%" PRIx64 " is on a queue of heap 0x%" PRIx64
			       " but belongs to heap 0x%" PRIx64, pa, heap, xheap);
	w->pages++;
	size_t words = ((size_t)pg.capacity + 63) / 64;
	if (words > p->bits_words) {
		uint64_t *b = realloc(p->bits, (words ? words : 1) * sizeof(*b));
		if (!b)
			return &gci_enomem;
		p->bits = b;
		p->bits_words = words;
	}
	memset(p->bits, 0, words * sizeof(*p->bits));
	uint64_t free_tail;
	uint64_t xthread = field(buf, F->page_xthread_free, 8);
	if (!walk_free_list(w, p, &pg, field(buf, F->page_free, 8), "free", &pg.nfree,
			    &free_tail, &err) ||
	    !walk_free_list(w, p, &pg, field(buf, F->page_local_free, 8), "local_free",
			    &pg.nlocal, &pg.local_tail, &err) ||
	    !walk_free_list(w, p, &pg, xthread & ~(uint64_t)3, "xthread_free", &pg.nthread,
			    &pg.thread_tail, &err))
		return err;
	/* Blocks of this page that other threads freed while it was full. */
	const uint64_t end = pg.start + (uint64_t)pg.capacity * pg.block_size;
	size_t lo = 0, hi = p->ndelayed;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->delayed[mid] < pg.start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < p->ndelayed && p->delayed[i] < end; i++) {
		uint64_t b = p->delayed[i];
		uint64_t k = (b - pg.start) / pg.block_size;
		if ((b - pg.start) % pg.block_size || (p->bits[k / 64] & (1ULL << (k % 64))))
			return problem(w, b, "page 0x%" PRIx64 ": block 0x%" PRIx64 " on the heap's "
				       "delayed-free list is not a block, or is free already",
				       pa, b);
		p->bits[k / 64] |= 1ULL << (k % 64);
		pg.ndelayed++;
		if (!touch(w, b, 8))
			return &gci_enomem;
	}
	/* mimalloc: used counts every block not on free or local_free. */
	if ((uint64_t)pg.used + pg.nfree + pg.nlocal != pg.capacity)
		return problem(w, pa, "page 0x%" PRIx64 ": %u blocks used, %u on the free list "
			       "and %u on local_free do not add up to its capacity %u", pa,
			       pg.used, pg.nfree, pg.nlocal, pg.capacity);
	/* A collection's walk of this page: _mi_page_free_collect(page, true). */
	if (!touch(w, pa + (uint64_t)F->page_xthread_free, 8) ||
	    ((pg.nlocal || pg.nthread || pg.ndelayed) && !touch(w, pa, F->page_size)) ||
	    (pg.local_tail && !touch(w, pg.local_tail, 8)) ||
	    (pg.thread_tail && !touch(w, pg.thread_tail, 8)))
		return &gci_enomem;
	for (uint32_t i = 0; i < pg.capacity; i++) {
		if (p->bits[i / 64] & (1ULL << (i % 64)))
			continue;
		w->blocks++;
		if ((err = w->block(w->arg, &pg, pg.start + (uint64_t)i * pg.block_size)))
			return err;
	}
	return w->page_done ? w->page_done(w->arg, &pg) : NULL;
}

/* Whether the page at pa was seen before (a loop, or a page on two queues). */
static struct gci_error *seen_page(struct gci_mi_walker *w, uint64_t pa, bool *seen)
{
	struct priv *p = priv_of(w);
	if (!p || !set_add(&p->pages, pa, seen))
		return &gci_enomem;
	return NULL;
}

/* The heap's delayed-free list, sorted into p->delayed. */
static struct gci_error *read_delayed(struct gci_mi_walker *w, struct priv *p, uint64_t heap,
				      uint64_t head, bool *ok)
{
	struct gci_error *err = NULL;
	struct addr_set seen = { 0 };
	p->ndelayed = 0;
	*ok = true;
	for (uint64_t b = head, from = heap; b; ) {
		bool dup;
		if ((b & 7) || p->ndelayed >= MAX_DELAYED) {
			err = problem(w, from, "heap 0x%" PRIx64 ": its delayed-free list %s at 0x%"
				      PRIx64, heap, (b & 7) ? "links to a misaligned address"
							    : "does not end", b);
			*ok = false;
			break;
		}
		if (!set_add(&seen, b, &dup)) {
			err = &gci_enomem;
			break;
		}
		if (dup) {
			err = problem(w, b, "heap 0x%" PRIx64 ": its delayed-free list loops at 0x%"
				      PRIx64, heap, b);
			*ok = false;
			break;
		}
		if (p->ndelayed == p->delayed_cap) {
			size_t cap = p->delayed_cap ? 2 * p->delayed_cap : 64;
			uint64_t *d = gci_reallocarray(p->delayed, cap, sizeof(*d));
			if (!d) {
				err = &gci_enomem;
				break;
			}
			p->delayed = d;
			p->delayed_cap = cap;
		}
		p->delayed[p->ndelayed++] = b;
		from = b;
		if (!rd64(w, b, &b, "a block on a delayed-free list", &err)) {
			*ok = false;
			break;
		}
	}
	free(seen.keys);
	if (*ok && p->ndelayed)
		qsort(p->delayed, p->ndelayed, sizeof(*p->delayed), cmp_u64);
	return err;
}

struct gci_error *gci_mi_walk_heap(struct gci_mi_walker *w, uint64_t heap, unsigned tag,
				   uint64_t owner_thread)
{
	const struct gci_ft_layout *F = &w->L->ft;
	struct priv *p = priv_of(w);
	struct gci_error *err = NULL;
	if (!p)
		return &gci_enomem;
	w->heaps++;
	unsigned char *hb = p->heap_buf;
	if (!rd(w, heap, hb, F->heap_size, "a heap (mi_heap_t)", &err))
		return err;
	uint64_t thread = field(hb, F->heap_thread_id, 8);
	uint64_t page_count = field(hb, F->heap_page_count, 8);
	uint64_t delayed = field(hb, F->heap_thread_delayed_free, 8);
	if (owner_thread && thread != owner_thread &&
	    (err = problem(w, heap, "heap 0x%" PRIx64 " belongs to thread 0x%" PRIx64 ", not "
			   "to its thread state's thread 0x%" PRIx64 " (is the layout right?)",
			   heap, thread, owner_thread)))
		return err;
	bool delayed_ok;
	if ((err = read_delayed(w, p, heap, delayed, &delayed_ok)))
		return err;
	if (!delayed_ok)
		return NULL;  /* which blocks are free is not known: skip the heap */
	if (p->ndelayed && !touch(w, heap + (uint64_t)F->heap_thread_delayed_free, 8))
		return &gci_enomem;
	uint64_t found = 0;
	for (uint32_t q = 0; q < F->heap_nqueues; q++) {
		uint64_t pa = field(hb, F->heap_pages + (int32_t)(q * F->queue_size), 8);
		uint64_t from = heap + (uint64_t)F->heap_pages + (uint64_t)q * F->queue_size;
		while (pa) {
			bool seen;
			if ((err = seen_page(w, pa, &seen)))
				return err;
			if (seen || found >= p->max_pages) {
				err = problem(w, from, "heap 0x%" PRIx64 ", queue %u: page 0x%" PRIx64
					      " %s", heap, q, pa, seen ? "is reached a second "
					      "time (a loop, or a page on two queues)"
					      : "is one too many (a loop?)");
				break;
			}
			found++;
			if ((pa & 7) && (err = problem(w, from, "heap 0x%" PRIx64 ", queue %u: "
						       "misaligned page 0x%" PRIx64, heap, q, pa)))
				return err;
			if (pa & 7)
				break;
			if ((err = walk_page(w, pa, heap, false)))
				return err;
			/* On along the page's own next link (a broken page
			 * above was named and skipped). */
			uint64_t next;
			if (!rd64(w, pa + (uint64_t)F->page_next, &next, "a page (mi_page_t)",
				  &err))
				break;
			from = pa;
			pa = next;
		}
		if (err)
			return err;
	}
	if (found != page_count && w->complete)
		err = problem(w, heap, "heap 0x%" PRIx64 " (tag %u) counts %" PRIu64 " pages, its "
			      "queues hold %" PRIu64, heap, tag, page_count, found);
	return err;
}

/* Every used page of a segment with one of two tags. */
static struct gci_error *walk_segment(struct gci_mi_walker *w, uint64_t seg, unsigned tag_a,
				      unsigned tag_b)
{
	const struct gci_ft_layout *F = &w->L->ft;
	struct gci_error *err = NULL;
	uint64_t entries, thread;
	if (!rd64(w, seg + (uint64_t)F->seg_slice_entries, &entries, "an abandoned segment",
		  &err) ||
	    !rd64(w, seg + (uint64_t)F->seg_thread_id, &thread, "an abandoned segment", &err))
		return err;
	uint64_t max_entries = ((1ULL << F->segment_shift) >> F->slice_shift) + 1;
	if (entries == 0 || entries > max_entries)
		return problem(w, seg, "abandoned segment 0x%" PRIx64 ": %" PRIu64 " slice "
			       "entries", seg, entries);
	if (thread != 0 &&
	    (err = problem(w, seg, "abandoned segment 0x%" PRIx64 " is owned by thread 0x%"
			   PRIx64 " (reclaimed during the walk?)", seg, thread)))
		return err;
	w->segments_abandoned++;
	uint64_t first = seg + (uint64_t)F->seg_slices;
	/* Slice 0 holds the segment's own header: skip its pages. */
	uint64_t idx = 0;
	bool header = true;
	while (idx < entries) {
		uint64_t pa = first + idx * F->page_size;
		unsigned char buf[512];
		if (!rd(w, pa, buf, F->page_size, "a slice of an abandoned segment", &err))
			return err;
		uint32_t count = (uint32_t)field(buf, F->page_slice_count, 4);
		uint64_t bsize = field(buf, F->page_block_size, F->page_block_size_bytes);
		if (count == 0 || count > ((1ULL << 40) >> F->slice_shift))
			return problem(w, pa, "abandoned segment 0x%" PRIx64 ": slice %" PRIu64
				       " at 0x%" PRIx64 " spans %u slices", seg, idx, pa, count);
		unsigned tag = page_tag(F, buf);
		if (!header && bsize > 0 && (tag == tag_a || tag == tag_b)) {
			bool seen;
			if ((err = seen_page(w, pa, &seen)))
				return err;
			if (seen)
				return problem(w, pa, "abandoned segment 0x%" PRIx64 ": page 0x%"
					       PRIx64 " was walked already", seg, pa);
			if ((err = walk_page(w, pa, 0, true)))
				return err;
		}
		header = false;
		idx += count;
	}
	return NULL;
}

/* A list of abandoned segments through the link at link_off. */
static struct gci_error *walk_segment_list(struct gci_mi_walker *w, uint64_t head,
					   int32_t link_off, const char *name,
					   unsigned tag_a, unsigned tag_b, uint64_t *count)
{
	const struct gci_ft_layout *F = &w->L->ft;
	struct priv *p = priv_of(w);
	struct gci_error *err = NULL;
	if (!p)
		return &gci_enomem;
	const uint64_t mask = (1ULL << F->segment_shift) - 1;
	uint64_t seg = head, from = 0;
	*count = 0;
	while (seg) {
		bool seen;
		if (seg & mask)
			return problem(w, from ? from : seg, "%s links to 0x%" PRIx64 ", not a "
				       "segment (segments are %u MiB aligned)", name, seg,
				       1u << (F->segment_shift - 20));
		if (!set_add(&p->segments, seg, &seen))
			return &gci_enomem;
		if (seen || *count >= MAX_SEGMENTS)
			return problem(w, seg, "%s reaches segment 0x%" PRIx64 " %s", name, seg,
				       seen ? "a second time (a loop)" : "after too many (a loop?)");
		(*count)++;
		if ((err = walk_segment(w, seg, tag_a, tag_b)))
			return err;
		from = seg + (uint64_t)link_off;
		if (!rd64(w, from, &seg, "an abandoned segment's link", &err))
			return err;
	}
	return NULL;
}

/*
 * mimalloc 2.5: segments abandoned in arenas are marked only in the arenas'
 * bitmaps, and the arenas are a static array that no exported symbol names.
 * Every segment is 32 MiB aligned with its header first: look at each
 * aligned address of memory the target has for an abandoned segment of this
 * sub-process (thread 0, its subproc, pages in use that are all abandoned).
 * The sub-process's count says how many there must be.
 */
static struct gci_error *scan_arena_segments(struct gci_mi_walker *w, uint64_t subproc,
					     unsigned tag_a, unsigned tag_b, uint64_t want,
					     uint64_t *found)
{
	const struct gci_ft_layout *F = &w->L->ft;
	struct priv *p = priv_of(w);
	struct gci_error *err = NULL;
	const uint64_t seg_size = 1ULL << F->segment_shift;
	if (!p)
		return &gci_enomem;
	for (size_t i = 0; i < w->mem->nsegs[GCI_TIER_PRIMARY] && *found < want; i++) {
		const struct gci_segment *s = &w->mem->segs[GCI_TIER_PRIMARY][i];
		/* A callback program's single segment over all of memory:
		 * nothing to go by (those segments stay unvisited, said below). */
		if (s->saved_end - s->start > ((uint64_t)1 << 40))
			continue;
		uint64_t a = (s->start + seg_size - 1) & ~(seg_size - 1);
		for (; a >= s->start && a + 4096 <= s->saved_end && *found < want; a += seg_size) {
			uint64_t v[4];
			const int32_t offs[4] = { F->seg_thread_id, F->seg_subproc, F->seg_used,
						  F->seg_abandoned };
			bool ok = true;
			for (int k = 0; k < 4 && ok; k++) {
				struct gci_error *e = gci_memory_read(w->mem, a + (uint64_t)offs[k],
								      &v[k], 8);
				if (e) {
					ok = false;
					if (e->code == GCI_ERR_NOMEM)
						return e;
					gci_error_destroy(e);
				}
			}
			if (!ok || v[0] != 0 || v[1] != subproc || v[2] == 0 || v[3] != v[2])
				continue;
			bool seen;
			if (!set_add(&p->segments, a, &seen))
				return &gci_enomem;
			if (seen)
				continue;  /* on the OS list */
			(*found)++;
			if ((err = walk_segment(w, a, tag_a, tag_b)))
				return err;
		}
	}
	return NULL;
}

struct gci_error *gci_mi_walk_abandoned(struct gci_mi_walker *w, uint64_t interp_mimalloc,
					unsigned tag_a, unsigned tag_b)
{
	const struct gci_ft_layout *F = &w->L->ft;
	struct gci_error *err = NULL;
	uint64_t head, n;
	if (F->pool_abandoned >= 0) {
		/* 2.1: pool->abandoned is a tagged pointer (the low bits of a
		 * segment address count ABA), pool->abandoned_visited a plain one. */
		uint64_t pool = interp_mimalloc;
		if (!rd64(w, pool + (uint64_t)F->pool_abandoned, &head, "the abandoned pool", &err))
			return err;
		head &= ~((1ULL << F->segment_shift) - 1);
		if ((err = walk_segment_list(w, head, F->seg_abandoned_next,
					     "the abandoned-segment pool", tag_a, tag_b, &n)))
			return err;
		if (!rd64(w, pool + (uint64_t)F->pool_abandoned_visited, &head,
			  "the abandoned pool", &err))
			return err;
		return walk_segment_list(w, head, F->seg_abandoned_next,
					 "the pool's visited abandoned segments", tag_a, tag_b, &n);
	}
	uint64_t subproc, count, os_count;
	if (!rd64(w, interp_mimalloc + (uint64_t)F->interp_subproc, &subproc,
		  "the interpreter's mimalloc state", &err))
		return err;
	if (!subproc)
		return NULL;
	if (!rd64(w, subproc + (uint64_t)F->subproc_abandoned_count, &count,
		  "the mimalloc sub-process", &err) ||
	    !rd64(w, subproc + (uint64_t)F->subproc_os_list_count, &os_count,
		  "the mimalloc sub-process", &err) ||
	    !rd64(w, subproc + (uint64_t)F->subproc_os_list, &head, "the mimalloc sub-process",
		  &err))
		return err;
	if ((err = walk_segment_list(w, head, F->seg_abandoned_os_next,
				     "the sub-process's abandoned OS segments", tag_a, tag_b, &n)))
		return err;
	if (n != os_count && (err = problem(w, subproc, "mimalloc sub-process 0x%" PRIx64
					    ": %" PRIu64 " abandoned OS segments counted, %"
					    PRIu64 " on its list", subproc, os_count, n)))
		return err;
	if (count > n + MAX_SEGMENTS)
		return problem(w, subproc, "mimalloc sub-process 0x%" PRIx64 ": %" PRIu64
			       " abandoned segments is not believable", subproc, count);
	uint64_t found = 0;
	if (count > n && (err = scan_arena_segments(w, subproc, tag_a, tag_b, count - n, &found)))
		return err;
	if (n + found != count)
		err = problem(w, subproc, "mimalloc sub-process 0x%" PRIx64 ": %" PRIu64
			      " abandoned segments counted, %" PRIu64 " found (%" PRIu64 " on the "
			      "OS list, %" PRIu64 " in arenas); the objects of the others are "
			      "missing", subproc, count, n + found, n, found);
	return err;
}
