/*
 * A fake CPython 3.11 (release, x86_64) heap in a byte buffer, for the walker
 * tests: type objects with names, objects with GC heads (and pre-headers),
 * and list heads, all at target addresses inside the buffer.
 */
#ifndef GCI_TEST_FAKEHEAP_H
#define GCI_TEST_FAKEHEAP_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "memory.h"
#include "walker.h"

#define TPFLAGS_MANAGED_DICT (1ULL << 4)
#define TPFLAGS_HAVE_GC (1ULL << 14)
#define TPFLAGS_HEAPTYPE (1ULL << 9)
#define TYPE_OBJECT_SIZE 416 /* sizeof(PyTypeObject) in 3.11 */

/* The layout of CPython 3.11 release builds on x86_64, by hand. */
static inline struct gci_layout fake_layout_311(void)
{
	struct gci_layout L;
	memset(&L, 0, sizeof(L));
	L.name = "CPython 3.11 release (unit test)";
	L.provenance = "tests/unit/fakeheap.h";
	L.ob_refcnt = 0;
	L.ob_type = 8;
	L.ob_size = 16;
	L.tp_name = 24;
	L.tp_basicsize = 32;
	L.tp_itemsize = 40;
	L.tp_flags = 168;
	L.gc_head_size = 16;
	L.gc_next = 0;
	L.gc_prev = 8;
	L.gc_ptr_mask = ~3ULL;
	L.preheader_flags = TPFLAGS_MANAGED_DICT;
	L.preheader_size = 16;
	L.debug_alloc_prefix = 0;
	/* not used by gci_walk_list */
	L.state_kind = GCI_STATE_INTERP;
	L.runtime_gc = -1;
	L.runtime_interp_head = -1;
	L.runtime_interp_main = -1;
	L.interp_next = L.interp_id = L.interp_gc = -1;
	L.gc_enabled = L.gc_collecting = -1;
	L.gc_generations = L.gc_generation0 = L.gc_permanent = -1;
	L.gc_long_lived_total = L.gc_long_lived_pending = -1;
	L.ngens = 3;
	L.gen_size = 24;
	L.gen_head = 0;
	L.gen_threshold = 16;
	L.gen_count = 20;
	return L;
}

struct fake_heap {
	unsigned char *buf;
	uint64_t base;
	size_t size, used;
	uint64_t metatype; /* ob_type of every type object */
};

static inline void fake_init(struct fake_heap *h, uint64_t base, size_t size)
{
	h->buf = calloc(1, size);
	if (!h->buf) {
		perror("calloc");
		abort();
	}
	h->base = base;
	h->size = size;
	h->used = 0;
	h->metatype = 0;
}

static inline void fake_free(struct fake_heap *h)
{
	free(h->buf);
	h->buf = NULL;
}

static inline unsigned char *fake_at(struct fake_heap *h, uint64_t addr, size_t n)
{
	if (addr < h->base || addr - h->base > h->size || n > h->size - (addr - h->base)) {
		fprintf(stderr, "fake heap: 0x%llx (+%zu) is outside the buffer\n",
			(unsigned long long)addr, n);
		abort();
	}
	return h->buf + (addr - h->base);
}

static inline void fake_w64(struct fake_heap *h, uint64_t addr, uint64_t v)
{
	memcpy(fake_at(h, addr, 8), &v, 8);
}

static inline uint64_t fake_r64(struct fake_heap *h, uint64_t addr)
{
	uint64_t v;
	memcpy(&v, fake_at(h, addr, 8), 8);
	return v;
}

static inline uint64_t fake_alloc(struct fake_heap *h, size_t n, size_t align)
{
	size_t at = (h->used + align - 1) & ~(align - 1);
	if (at > h->size || n > h->size - at) {
		fprintf(stderr, "fake heap: out of space (%zu of %zu used)\n", h->used,
			h->size);
		abort();
	}
	h->used = at + n;
	return h->base + at;
}

static inline uint64_t fake_string(struct fake_heap *h, const char *s)
{
	size_t n = strlen(s) + 1;
	uint64_t a = fake_alloc(h, n, 1);
	memcpy(fake_at(h, a, n), s, n);
	return a;
}

/* A type object; name NULL leaves tp_name to be set by the caller. */
static inline uint64_t fake_type(struct fake_heap *h, const char *name, int64_t basicsize,
				 int64_t itemsize, uint64_t flags)
{
	const struct gci_layout L = fake_layout_311();
	uint64_t t = fake_alloc(h, TYPE_OBJECT_SIZE, 16);
	fake_w64(h, t + (uint64_t)L.ob_refcnt, 1);
	fake_w64(h, t + (uint64_t)L.ob_type, h->metatype ? h->metatype : t);
	fake_w64(h, t + (uint64_t)L.tp_name, name ? fake_string(h, name) : 0);
	fake_w64(h, t + (uint64_t)L.tp_basicsize, (uint64_t)basicsize);
	fake_w64(h, t + (uint64_t)L.tp_itemsize, (uint64_t)itemsize);
	fake_w64(h, t + (uint64_t)L.tp_flags, flags);
	return t;
}

/*
 * An object of this type (with a pre-header if the type's flags say so),
 * its GC head unlinked.  Returns the address of the GC head.
 */
static inline uint64_t fake_object(struct fake_heap *h, uint64_t type, int64_t ob_size)
{
	const struct gci_layout L = fake_layout_311();
	uint64_t flags = fake_r64(h, type + (uint64_t)L.tp_flags);
	int64_t basic = (int64_t)fake_r64(h, type + (uint64_t)L.tp_basicsize);
	int64_t item = (int64_t)fake_r64(h, type + (uint64_t)L.tp_itemsize);
	size_t pre = (flags & L.preheader_flags) ? L.preheader_size : 0;
	size_t body = (size_t)basic + (size_t)(item * (ob_size < 0 ? -ob_size : ob_size));
	if (body < 24)
		body = 24;
	uint64_t a = fake_alloc(h, pre + L.gc_head_size + body, 16);
	uint64_t g = a + pre;
	uint64_t op = g + L.gc_head_size;
	fake_w64(h, op + (uint64_t)L.ob_refcnt, 1);
	fake_w64(h, op + (uint64_t)L.ob_type, type);
	fake_w64(h, op + (uint64_t)L.ob_size, (uint64_t)ob_size);
	return g;
}

/* A list head (a struct gc_generation: head, threshold, count), empty. */
static inline uint64_t fake_head(struct fake_heap *h)
{
	uint64_t g = fake_alloc(h, 24, 16);
	fake_w64(h, g, g);
	fake_w64(h, g + 8, g);
	return g;
}

/* Link GC heads into the list at head, in this order. */
static inline void fake_link(struct fake_heap *h, uint64_t head, const uint64_t *gcs,
			     size_t n)
{
	uint64_t prev = head;
	for (size_t i = 0; i < n; i++) {
		fake_w64(h, prev + 0, gcs[i]);
		fake_w64(h, gcs[i] + 8, prev);
		prev = gcs[i];
	}
	fake_w64(h, prev + 0, head);
	fake_w64(h, head + 8, prev);
}

/* Map the used part of the heap (rounded up to a page) as one segment. */
static inline struct gci_error *fake_map(struct fake_heap *h, struct gci_memory *mem)
{
	size_t n = (h->used + 4095) & ~(size_t)4095;
	if (n > h->size)
		n = h->size;
	struct gci_segment s;
	memset(&s, 0, sizeof(s));
	s.start = h->base;
	s.end = h->base + n;
	s.saved_end = s.end;
	s.buf = h->buf;
	s.what = "fake heap";
	return gci_memory_add(mem, GCI_TIER_PRIMARY, &s);
}

static inline struct gci_snapshot *snap_new(void)
{
	struct gci_snapshot *snap = calloc(1, sizeof(*snap));
	if (!snap) {
		perror("calloc");
		abort();
	}
	return snap;
}

/* Free what the walker put in a snapshot (it has no program). */
static inline void snap_free(struct gci_snapshot *snap)
{
	if (!snap)
		return;
	for (size_t i = 0; i < snap->ntypes; i++)
		free(snap->types[i].name);
	for (size_t i = 0; i < snap->nproblems; i++)
		free(snap->problems[i].message);
	free(snap->objects);
	free(snap->types);
	free(snap->problems);
	free(snap->interps);
	free(snap);
}

#endif
