/*
 * Unit tests of the GC list walker (walker.c) over a fake CPython 3.11 heap:
 * well-formed lists, flag bits, and every kind of broken list it must
 * survive and report.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fakeheap.h"
#include "unit.h"

#define HEAP_BASE 0x10000000ULL
#define HEAP_SIZE (1u << 20)
#define UNMAPPED 0x20000000ULL

struct fix {
	struct fake_heap h;
	struct gci_layout L;
	struct gci_memory mem;
	struct gci_snapshot *snap;
	struct gci_walker w;
	bool mapped;
	/* what walks left in their gci_gen, freed by fix_end */
	struct gci_gen_data *data[16];
	size_t ndata;
};

static void fix_init(struct fix *f)
{
	memset(f, 0, sizeof(*f));
	fake_init(&f->h, HEAP_BASE, HEAP_SIZE);
	f->L = fake_layout_311();
	gci_memory_init(&f->mem);
}

/* Map the heap built so far and set up a walker with this bound. */
static bool fix_start(struct fix *f, uint64_t max_objects)
{
	if (!f->mapped && !OK(fake_map(&f->h, &f->mem)))
		return false;
	f->mapped = true;
	f->snap = snap_new();
	gci_walker_init(&f->w, &f->mem, &f->L, f->snap, max_objects);
	return true;
}

/* Walk with the fixture's walker; the list's data is freed by fix_end. */
static struct gci_error *walk(struct fix *f, struct gci_gen *gen)
{
	struct gci_error *err = gci_walk_list(&f->w, gen);
	if (gen->data) {
		if (f->ndata == sizeof(f->data) / sizeof(f->data[0]))
			abort();
		f->data[f->ndata++] = gen->data;
	}
	return err;
}

static void fix_end(struct fix *f)
{
	for (size_t i = 0; i < f->ndata; i++)
		gci_gen_data_destroy(f->data[i]);
	f->ndata = 0;
	if (f->snap)
		gci_walker_deinit(&f->w);
	snap_free(f->snap);
	gci_memory_deinit(&f->mem);
	fake_free(&f->h);
}

static struct gci_gen gen_for(uint64_t head, const char *name)
{
	struct gci_gen g;
	memset(&g, 0, sizeof(g));
	snprintf(g.name, sizeof(g.name), "%s", name);
	g.head = head;
	g.threshold = -1;
	g.count = -1;
	/* junk the walker must overwrite */
	g.first = 12345;
	g.nobjects = 678;
	g.complete = true;
	return g;
}

static void dump_problems(const struct gci_snapshot *snap)
{
	for (size_t i = 0; i < snap->nproblems; i++)
		fprintf(stderr, "    problem %zu at 0x%" PRIx64 ": %s\n", i,
			snap->problems[i].address, snap->problems[i].message);
}

/*
 * Whether some problem's message contains every one of up to three strings
 * (NULL: unused) and, unless want_address is ANY_ADDRESS, has this address.
 */
static bool has_problem(const struct gci_snapshot *snap, int want_address,
			uint64_t address, const char *s1, const char *s2, const char *s3)
{
	for (size_t i = 0; i < snap->nproblems; i++) {
		const struct gci_problem *p = &snap->problems[i];
		if (!p->message)
			continue;
		if (want_address != ANY_ADDRESS && p->address != address)
			continue;
		if ((s1 && !strstr(p->message, s1)) || (s2 && !strstr(p->message, s2)) ||
		    (s3 && !strstr(p->message, s3)))
			continue;
		return true;
	}
	fprintf(stderr, "\n    no problem%s%s with \"%s\"%s%s%s%s; have:\n",
		want_address != ANY_ADDRESS ? " at " : "",
		want_address != ANY_ADDRESS ? hex(address) : "", s1 ? s1 : "",
		s2 ? " and \"" : "", s2 ? s2 : "", s2 ? "\"" : "", s3 ? " (and more)" : "");
	dump_problems(snap);
	return false;
}

/* Whether objects[first..first+n) are exactly the objects of these heads. */
static bool objects_are(const struct gci_snapshot *snap, size_t first,
			const uint64_t *gcs, size_t n)
{
	if (snap->nobjects < first + n) {
		fprintf(stderr, "\n    %zu objects, expected at least %zu\n", snap->nobjects,
			first + n);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (snap->objects[first + i].address != gcs[i] + 16) {
			fprintf(stderr, "\n    object %zu at 0x%" PRIx64 ", expected 0x%" PRIx64
				"\n", first + i, snap->objects[first + i].address, gcs[i] + 16);
			return false;
		}
	}
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The number of distinct 4 KiB pages the 16-byte GC heads at gcs touch. */
static uint64_t distinct_pages(const uint64_t *gcs, size_t n)
{
	uint64_t *pages = calloc(2 * n + 1, sizeof(*pages));
	size_t np = 0;
	if (!pages)
		abort();
	for (size_t i = 0; i < n; i++) {
		pages[np++] = gcs[i] >> 12;
		if ((gcs[i] + 15) >> 12 != gcs[i] >> 12)
			pages[np++] = (gcs[i] + 15) >> 12;
	}
	qsort(pages, np, sizeof(*pages), cmp_u64);
	uint64_t count = 0;
	for (size_t i = 0; i < np; i++)
		if (i == 0 || pages[i] != pages[i - 1])
			count++;
	free(pages);
	return count;
}

/* Whether the page set holds this page number. */
static bool pageset_has(const struct gci_pageset *ps, uint64_t page)
{
	for (size_t i = 0; i < ps->cap; i++) {
		if (ps->chunks[i].key != (page >> 12) + 1)
			continue;
		uint64_t bit = page & (GCI_CHUNK_PAGES - 1);
		return (ps->chunks[i].bits[bit / 64] >> (bit % 64)) & 1;
	}
	return false;
}

/* A list of n objects of one plain type at a fresh head. */
static uint64_t simple_list(struct fix *f, size_t n, uint64_t *gcs)
{
	uint64_t t = fake_type(&f->h, "simple", 32, 0, TPFLAGS_HAVE_GC);
	uint64_t head = fake_head(&f->h);
	for (size_t i = 0; i < n; i++)
		gcs[i] = fake_object(&f->h, t, 0);
	fake_link(&f->h, head, gcs, n);
	return head;
}

static void test_well_formed(void)
{
	struct fix f;
	fix_init(&f);
	uint64_t tA = fake_type(&f.h, "tuple", 24, 8, TPFLAGS_HAVE_GC);
	uint64_t tB = fake_type(&f.h, "A", 16, 0,
				TPFLAGS_HAVE_GC | TPFLAGS_HEAPTYPE | TPFLAGS_MANAGED_DICT);
	uint64_t tC = fake_type(&f.h, "list", 40, 0, TPFLAGS_HAVE_GC);
	uint64_t head = fake_head(&f.h);
	uint64_t g[6];
	g[0] = fake_object(&f.h, tA, 3);
	g[1] = fake_object(&f.h, tB, 0);
	g[2] = fake_object(&f.h, tC, 0);
	g[3] = fake_object(&f.h, tA, -2);
	g[4] = fake_object(&f.h, tB, 0);
	g[5] = fake_object(&f.h, tA, 0);
	fake_link(&f.h, head, g, 6);
	/* a second list, with one type new and one already seen */
	uint64_t tD = fake_type(&f.h, "dict", 48, 0, TPFLAGS_HAVE_GC);
	uint64_t head2 = fake_head(&f.h);
	uint64_t g2[2] = {fake_object(&f.h, tD, 0), fake_object(&f.h, tC, 0)};
	fake_link(&f.h, head2, g2, 2);
	CU_ASSERT_FATAL(fix_start(&f, 1000));

	struct gci_gen gen = gen_for(head, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT_EQUAL(gen.first, 0);
	CU_ASSERT_EQUAL(gen.nobjects, 6);
	CU_ASSERT(gen.complete);
	CU_ASSERT_EQUAL(f.snap->nobjects, 6);
	CU_ASSERT_EQUAL(f.snap->nproblems, 0);
	dump_problems(f.snap);
	CU_ASSERT(objects_are(f.snap, 0, g, 6));
	CU_ASSERT_EQUAL_FATAL(f.snap->ntypes, 3);
	static const uint32_t want_type[6] = {0, 1, 2, 0, 1, 0};
	/* body + itemsize * |ob_size| + 16 GC head + 16 pre-header if MANAGED_DICT */
	static const uint32_t want_size[6] = {24 + 24 + 16, 16 + 16 + 16, 40 + 16,
					      24 + 16 + 16, 16 + 16 + 16, 24 + 16};
	for (size_t i = 0; i < 6 && i < f.snap->nobjects; i++) {
		CU_ASSERT_EQUAL(f.snap->objects[i].type, want_type[i]);
		CU_ASSERT_EQUAL(f.snap->objects[i].size, want_size[i]);
	}
	const struct gci_type *T = f.snap->types;
	CU_ASSERT_EQUAL(T[0].address, tA);
	CU_ASSERT_EQUAL(T[1].address, tB);
	CU_ASSERT_EQUAL(T[2].address, tC);
	CU_ASSERT(T[0].name_known && T[1].name_known && T[2].name_known);
	CU_ASSERT(T[0].name && strcmp(T[0].name, "tuple") == 0);
	CU_ASSERT(T[1].name && strcmp(T[1].name, "A") == 0);
	CU_ASSERT(T[2].name && strcmp(T[2].name, "list") == 0);
	CU_ASSERT_EQUAL(T[0].basicsize, 24);
	CU_ASSERT_EQUAL(T[0].itemsize, 8);
	CU_ASSERT_EQUAL(T[0].flags, TPFLAGS_HAVE_GC);
	CU_ASSERT_EQUAL(T[1].flags, TPFLAGS_HAVE_GC | TPFLAGS_HEAPTYPE | TPFLAGS_MANAGED_DICT);
	CU_ASSERT_EQUAL(T[2].basicsize, 40);
	/* totals: bytes, per type, and the pages holding the GC heads */
	CU_ASSERT_EQUAL(gen.bytes, 64 + 48 + 56 + 56 + 48 + 40);
	CU_ASSERT_PTR_NOT_NULL_FATAL(gen.data);
	CU_ASSERT_FATAL(gen.data->type_cap >= 3);
	CU_ASSERT_EQUAL(gen.data->type_objects[0], 3);
	CU_ASSERT_EQUAL(gen.data->type_objects[1], 2);
	CU_ASSERT_EQUAL(gen.data->type_objects[2], 1);
	CU_ASSERT_EQUAL(gen.data->type_bytes[0], 64 + 56 + 40);
	CU_ASSERT_EQUAL(gen.data->type_bytes[1], 48 + 48);
	CU_ASSERT_EQUAL(gen.data->type_bytes[2], 56);
	CU_ASSERT_EQUAL(gci_pageset_count(&gen.data->pages), distinct_pages(g, 6));

	/* the second list is appended; types stay deduplicated */
	struct gci_gen gen2 = gen_for(head2, "1");
	CU_ASSERT(OK(walk(&f, &gen2)));
	CU_ASSERT_EQUAL(gen2.first, 6);
	CU_ASSERT_EQUAL(gen2.nobjects, 2);
	CU_ASSERT(gen2.complete);
	CU_ASSERT_EQUAL(f.snap->nobjects, 8);
	CU_ASSERT(objects_are(f.snap, 6, g2, 2));
	CU_ASSERT_EQUAL_FATAL(f.snap->ntypes, 4);
	CU_ASSERT_EQUAL(f.snap->types[3].address, tD);
	CU_ASSERT(f.snap->types[3].name && strcmp(f.snap->types[3].name, "dict") == 0);
	CU_ASSERT_EQUAL(f.snap->objects[6].type, 3);
	CU_ASSERT_EQUAL(f.snap->objects[6].size, 48 + 16);
	CU_ASSERT_EQUAL(f.snap->objects[7].type, 2);
	CU_ASSERT_EQUAL(f.snap->objects[7].size, 40 + 16);
	CU_ASSERT_EQUAL(gen2.bytes, 48 + 16 + 40 + 16);
	CU_ASSERT_PTR_NOT_NULL_FATAL(gen2.data);
	CU_ASSERT_FATAL(gen2.data->type_cap >= 4);
	CU_ASSERT_EQUAL(gen2.data->type_objects[0], 0);
	CU_ASSERT_EQUAL(gen2.data->type_objects[2], 1);
	CU_ASSERT_EQUAL(gen2.data->type_objects[3], 1);
	CU_ASSERT_EQUAL(gen2.data->type_bytes[3], 48 + 16);
	/* the first generation's record is untouched */
	CU_ASSERT_EQUAL(gen.nobjects, 6);
	CU_ASSERT_EQUAL(gen.bytes, 64 + 48 + 56 + 56 + 48 + 40);
	CU_ASSERT_EQUAL(gen.data->type_objects[0], 3);
	CU_ASSERT_EQUAL(f.snap->nproblems, 0);
	fix_end(&f);
}

static void test_many_objects_and_types(void)
{
	/* more objects and types than the arrays' and the cache's first sizes */
	enum { NT = 600, NO = 10000 };
	struct fix f;
	fix_init(&f);
	static uint64_t types[NT];
	char name[32];
	for (int i = 0; i < NT; i++) {
		snprintf(name, sizeof(name), "T%d", i);
		types[i] = fake_type(&f.h, name, 16 + 8 * (i % 4), 0, TPFLAGS_HAVE_GC);
	}
	uint64_t head = fake_head(&f.h);
	uint64_t *g = calloc(NO, sizeof(*g));
	CU_ASSERT_FATAL(g != NULL);
	for (int i = 0; i < NO; i++)
		g[i] = fake_object(&f.h, types[(i * 7) % NT], 0);
	fake_link(&f.h, head, g, NO);
	CU_ASSERT_FATAL(fix_start(&f, NO));
	struct gci_gen gen = gen_for(head, "2");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT(gen.complete);
	CU_ASSERT_EQUAL(gen.nobjects, NO);
	CU_ASSERT_EQUAL(f.snap->ntypes, NT);
	CU_ASSERT(objects_are(f.snap, 0, g, NO));
	size_t bad = 0;
	for (int i = 0; i < NO && (size_t)i < f.snap->nobjects; i++) {
		const struct gci_object *o = &f.snap->objects[i];
		int ti = (i * 7) % NT;
		if (o->type >= f.snap->ntypes || f.snap->types[o->type].address != types[ti] ||
		    o->size != (uint32_t)(16 + 8 * (ti % 4) + 16))
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	for (size_t i = 0; i < f.snap->ntypes; i++) {
		snprintf(name, sizeof(name), "T%d", (int)(i * 7 % NT));
		/* types are numbered in order of first appearance */
		if (!f.snap->types[i].name || strcmp(f.snap->types[i].name, name) != 0)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(gen.data && gci_pageset_count(&gen.data->pages) == distinct_pages(g, NO));
	free(g);
	fix_end(&f);
}

/* A list's pages are those of its GC heads, not of the object bodies. */
static void test_pages_of_heads(void)
{
	struct fix f;
	fix_init(&f);
	uint64_t t = fake_type(&f.h, "big", 8000, 0, TPFLAGS_HAVE_GC);
	uint64_t head = fake_head(&f.h);
	/* a GC head in the last 16 bytes of a page, its body on the next two */
	size_t page = (f.h.used + 64 + 4095) & ~(size_t)4095;
	f.h.used = page - 16;
	uint64_t g[2];
	g[0] = fake_object(&f.h, t, 0);
	g[1] = fake_object(&f.h, t, 0);
	fake_link(&f.h, head, g, 2);
	CU_ASSERT_FATAL(fix_start(&f, 1000));
	struct gci_gen gen = gen_for(head, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT_EQUAL(gen.nobjects, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(gen.data);
	const struct gci_pageset *ps = &gen.data->pages;
	uint64_t p0 = g[0] >> 12, p1 = g[1] >> 12;
	CU_ASSERT_EQUAL(p1, p0 + 2);
	CU_ASSERT_EQUAL(gci_pageset_count(ps), 2);
	CU_ASSERT(pageset_has(ps, p0));
	CU_ASSERT_FALSE(pageset_has(ps, p0 + 1));
	CU_ASSERT(pageset_has(ps, p1));
	CU_ASSERT_FALSE(pageset_has(ps, p1 + 1));
	CU_ASSERT_EQUAL(gen.bytes, 2 * (8000 + 16));
	fix_end(&f);
}

/*
 * Not every type with tp_itemsize keeps a count at ob_size (3.11+ generators
 * keep a pointer there): a count that would put the object's end outside
 * mapped memory is not believed.
 */
static void test_implausible_ob_size(void)
{
	struct fix f;
	fix_init(&f);
	uint64_t t = fake_type(&f.h, "gen", 24, 8, TPFLAGS_HAVE_GC);
	uint64_t head = fake_head(&f.h);
	uint64_t g[5];
	for (int i = 0; i < 5; i++)
		g[i] = fake_object(&f.h, t, 0);
	fake_w64(&f.h, g[0] + 16 + 16, 3);                       /* believable */
	fake_w64(&f.h, g[1] + 16 + 16, 1ULL << 30);              /* 8 GiB: no */
	fake_w64(&f.h, g[2] + 16 + 16, HEAP_BASE + 0x100);       /* a pointer: no */
	fake_w64(&f.h, g[3] + 16 + 16, (uint64_t)INT64_MIN);     /* no */
	fake_w64(&f.h, g[4] + 16 + 16, (uint64_t)(int64_t)-5);   /* |-5| */
	fake_link(&f.h, head, g, 5);
	CU_ASSERT_FATAL(fix_start(&f, 1000));
	struct gci_gen gen = gen_for(head, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT_EQUAL_FATAL(gen.nobjects, 5);
	CU_ASSERT_EQUAL(f.snap->objects[0].size, 24 + 3 * 8 + 16);
	CU_ASSERT_EQUAL(f.snap->objects[1].size, 24 + 16);
	CU_ASSERT_EQUAL(f.snap->objects[2].size, 24 + 16);
	CU_ASSERT_EQUAL(f.snap->objects[3].size, 24 + 16);
	CU_ASSERT_EQUAL(f.snap->objects[4].size, 24 + 5 * 8 + 16);
	fix_end(&f);
}

/* Without keep_objects the walk counts but does not list the objects. */
static void test_keep_objects_off(void)
{
	struct fix f;
	fix_init(&f);
	uint64_t g[7];
	uint64_t head = simple_list(&f, 7, g);
	CU_ASSERT_FATAL(fix_start(&f, 1000));
	f.w.keep_objects = false;
	struct gci_gen gen = gen_for(head, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT(gen.complete);
	CU_ASSERT_EQUAL(gen.nobjects, 7);
	CU_ASSERT_EQUAL(gen.bytes, 7 * (32 + 16));
	CU_ASSERT_EQUAL(f.snap->nobjects, 0);
	CU_ASSERT_EQUAL(f.snap->ntypes, 1);
	CU_ASSERT(gen.data && gen.data->type_objects && gen.data->type_objects[0] == 7);
	CU_ASSERT(gen.data && gci_pageset_count(&gen.data->pages) == distinct_pages(g, 7));
	fix_end(&f);
}

static void test_empty(void)
{
	struct fix f;
	fix_init(&f);
	uint64_t head = fake_head(&f.h);
	/* an empty list whose self-links carry flag bits */
	uint64_t head2 = fake_head(&f.h);
	fake_w64(&f.h, head2, head2 | 1);
	fake_w64(&f.h, head2 + 8, head2 | 2);
	CU_ASSERT_FATAL(fix_start(&f, 1000));
	struct gci_gen gen = gen_for(head, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT_EQUAL(gen.nobjects, 0);
	CU_ASSERT_EQUAL(gen.first, 0);
	CU_ASSERT(gen.complete);
	struct gci_gen gen2 = gen_for(head2, "1");
	CU_ASSERT(OK(walk(&f, &gen2)));
	CU_ASSERT_EQUAL(gen2.nobjects, 0);
	CU_ASSERT(gen2.complete);
	CU_ASSERT_EQUAL(f.snap->nobjects, 0);
	CU_ASSERT_EQUAL(f.snap->ntypes, 0);
	CU_ASSERT_EQUAL(f.snap->nproblems, 0);
	fix_end(&f);
}

static void test_flag_bits(void)
{
	struct fix f;
	fix_init(&f);
	uint64_t g[5];
	uint64_t head = simple_list(&f, 5, g);
	/* _gc_prev: finalized (bit 0), collecting (bit 1); _gc_next: bit 0, bit 1 */
	fake_w64(&f.h, g[0] + 8, fake_r64(&f.h, g[0] + 8) | 1);
	fake_w64(&f.h, g[1] + 8, fake_r64(&f.h, g[1] + 8) | 3);
	fake_w64(&f.h, g[2] + 0, fake_r64(&f.h, g[2] + 0) | 1);
	fake_w64(&f.h, g[3] + 0, fake_r64(&f.h, g[3] + 0) | 2);
	fake_w64(&f.h, g[4] + 0, fake_r64(&f.h, g[4] + 0) | 3);
	fake_w64(&f.h, head + 0, fake_r64(&f.h, head + 0) | 3);
	fake_w64(&f.h, head + 8, fake_r64(&f.h, head + 8) | 1);
	CU_ASSERT_FATAL(fix_start(&f, 1000));
	struct gci_gen gen = gen_for(head, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT(gen.complete);
	CU_ASSERT_EQUAL(gen.nobjects, 5);
	CU_ASSERT(objects_are(f.snap, 0, g, 5));
	CU_ASSERT_EQUAL(f.snap->nproblems, 0);
	dump_problems(f.snap);
	fix_end(&f);
}

static void test_loop(void)
{
	struct fix f;
	fix_init(&f);
	uint64_t g[4];
	uint64_t head = simple_list(&f, 4, g);
	/* the last object links back to the first, not to the head */
	fake_w64(&f.h, g[3], g[0]);
	CU_ASSERT_FATAL(fix_start(&f, 1u << 20)); /* not what stops it */
	struct gci_gen gen = gen_for(head, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT_FALSE(gen.complete);
	CU_ASSERT_EQUAL(gen.nobjects, 4);
	CU_ASSERT(objects_are(f.snap, 0, g, 4));
	CU_ASSERT(f.snap->nproblems >= 1);
	CU_ASSERT(has_problem(f.snap, 1, g[0], "back-link", hex(g[0]), NULL));
	fix_end(&f);
}

static void test_loop_to_middle(void)
{
	struct fix f;
	fix_init(&f);
	uint64_t g[5];
	uint64_t head = simple_list(&f, 5, g);
	fake_w64(&f.h, g[4], g[2] | 1);
	CU_ASSERT_FATAL(fix_start(&f, 1u << 20)); /* not what stops it */
	struct gci_gen gen = gen_for(head, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT_FALSE(gen.complete);
	CU_ASSERT_EQUAL(gen.nobjects, 5);
	CU_ASSERT(has_problem(f.snap, 1, g[2], "back-link", hex(g[2]), NULL));
	/* a self-loop */
	struct fix f2;
	fix_init(&f2);
	uint64_t g2[3];
	uint64_t head2 = simple_list(&f2, 3, g2);
	fake_w64(&f2.h, g2[1], g2[1]);
	CU_ASSERT_FATAL(fix_start(&f2, 1u << 20));
	struct gci_gen gen2 = gen_for(head2, "0");
	CU_ASSERT(OK(walk(&f2, &gen2)));
	CU_ASSERT_FALSE(gen2.complete);
	CU_ASSERT_EQUAL(gen2.nobjects, 2);
	CU_ASSERT(has_problem(f2.snap, 1, g2[1], "back-link", hex(g2[1]), NULL));
	fix_end(&f2);
	fix_end(&f);
}

static void test_broken_backlink(void)
{
	struct fix f;
	fix_init(&f);
	uint64_t g[6];
	uint64_t head = simple_list(&f, 6, g);
	fake_w64(&f.h, g[3] + 8, g[1]);
	CU_ASSERT_FATAL(fix_start(&f, 1000));
	struct gci_gen gen = gen_for(head, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT_FALSE(gen.complete);
	CU_ASSERT_EQUAL(gen.nobjects, 3);
	CU_ASSERT(objects_are(f.snap, 0, g, 3));
	CU_ASSERT(has_problem(f.snap, 1, g[3], "back-link", hex(g[3]), NULL));
	/* the first object's back-link must be the head */
	struct fix f2;
	fix_init(&f2);
	uint64_t g2[3];
	uint64_t head2 = simple_list(&f2, 3, g2);
	fake_w64(&f2.h, g2[0] + 8, g2[2]);
	CU_ASSERT_FATAL(fix_start(&f2, 1000));
	struct gci_gen gen2 = gen_for(head2, "0");
	CU_ASSERT(OK(walk(&f2, &gen2)));
	CU_ASSERT_FALSE(gen2.complete);
	CU_ASSERT_EQUAL(gen2.nobjects, 0);
	CU_ASSERT(has_problem(f2.snap, 1, g2[0], "back-link", hex(g2[0]), NULL));
	fix_end(&f2);
	fix_end(&f);
}

static void test_head_prev_mismatch(void)
{
	struct fix f;
	fix_init(&f);
	uint64_t g[5];
	uint64_t head = simple_list(&f, 5, g);
	fake_w64(&f.h, head + 8, g[1]);
	CU_ASSERT_FATAL(fix_start(&f, 1000));
	struct gci_gen gen = gen_for(head, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT_EQUAL(gen.nobjects, 5);
	CU_ASSERT_FALSE(gen.complete);
	CU_ASSERT(has_problem(f.snap, 1, head, hex(head), NULL, NULL));
	fix_end(&f);
}

static void test_next_unmapped(void)
{
	struct fix f;
	fix_init(&f);
	uint64_t g[5];
	uint64_t head = simple_list(&f, 5, g);
	fake_w64(&f.h, g[2], UNMAPPED);
	CU_ASSERT_FATAL(fix_start(&f, 1000));
	struct gci_gen gen = gen_for(head, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT_FALSE(gen.complete);
	CU_ASSERT_EQUAL(gen.nobjects, 3);
	CU_ASSERT(objects_are(f.snap, 0, g, 3));
	CU_ASSERT(has_problem(f.snap, ANY_ADDRESS, 0, hex(UNMAPPED), NULL, NULL));
	fix_end(&f);

	/* NULL */
	fix_init(&f);
	head = simple_list(&f, 5, g);
	fake_w64(&f.h, g[1], 0);
	CU_ASSERT_FATAL(fix_start(&f, 1000));
	gen = gen_for(head, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT_FALSE(gen.complete);
	CU_ASSERT_EQUAL(gen.nobjects, 2);
	CU_ASSERT(has_problem(f.snap, 1, g[1], hex(g[1]), NULL, NULL));
	fix_end(&f);

	/* the head's own next unmapped */
	fix_init(&f);
	head = simple_list(&f, 2, g);
	fake_w64(&f.h, head, UNMAPPED + 0x1000);
	CU_ASSERT_FATAL(fix_start(&f, 1000));
	gen = gen_for(head, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT_FALSE(gen.complete);
	CU_ASSERT_EQUAL(gen.nobjects, 0);
	CU_ASSERT(has_problem(f.snap, ANY_ADDRESS, 0, hex(UNMAPPED + 0x1000), NULL, NULL));
	fix_end(&f);
}

/* A GC head readable at the very end of the mapping, its PyObject not. */
static void test_object_half_mapped(void)
{
	struct fix f;
	fix_init(&f);
	uint64_t g[3];
	uint64_t head = simple_list(&f, 3, g);
	uint64_t end = HEAP_BASE + ((f.h.used + 16 + 4095) & ~(uint64_t)4095);
	uint64_t edge = end - 16;
	fake_w64(&f.h, g[2], edge);
	fake_w64(&f.h, edge, head);
	fake_w64(&f.h, edge + 8, g[2]);
	fake_w64(&f.h, head + 8, edge);
	struct gci_segment s = {
		.start = HEAP_BASE, .end = end, .saved_end = end, .buf = f.h.buf, .what = "heap",
	};
	CU_ASSERT_FATAL(OK(gci_memory_add(&f.mem, GCI_TIER_PRIMARY, &s)));
	f.mapped = true;
	CU_ASSERT_FATAL(fix_start(&f, 1000));
	struct gci_gen gen = gen_for(head, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT_FALSE(gen.complete);
	CU_ASSERT_EQUAL(gen.nobjects, 3);
	CU_ASSERT(has_problem(f.snap, 1, edge, hex(edge + 16), NULL, NULL));
	fix_end(&f);
}

static void test_max_objects(void)
{
	enum { N = 50 };
	uint64_t g[N];
	static const struct {
		uint64_t max;
		size_t want;
		bool complete;
	} cases[] = {{10, 10, false}, {49, 49, false}, {50, 50, true}, {51, 50, true},
		     {0, 0, false}};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct fix f;
		fix_init(&f);
		uint64_t head = simple_list(&f, N, g);
		CU_ASSERT_FATAL(fix_start(&f, cases[c].max));
		struct gci_gen gen = gen_for(head, "2");
		CU_ASSERT(OK(walk(&f, &gen)));
		CU_ASSERT_EQUAL(gen.nobjects, cases[c].want);
		CU_ASSERT_EQUAL(gen.complete, cases[c].complete);
		CU_ASSERT(objects_are(f.snap, 0, g, cases[c].want));
		if (cases[c].complete) {
			CU_ASSERT_EQUAL(f.snap->nproblems, 0);
		} else {
			CU_ASSERT(has_problem(f.snap, ANY_ADDRESS, 0, "does not end", hex(head),
					      NULL));
		}
		fix_end(&f);
	}
}

static void test_runs_into_other_head(void)
{
	struct fix f;
	fix_init(&f);
	uint64_t t = fake_type(&f.h, "x", 32, 0, TPFLAGS_HAVE_GC);
	uint64_t h1 = fake_head(&f.h), h2 = fake_head(&f.h);
	uint64_t a[3], b[2];
	for (int i = 0; i < 3; i++)
		a[i] = fake_object(&f.h, t, 0);
	for (int i = 0; i < 2; i++)
		b[i] = fake_object(&f.h, t, 0);
	fake_link(&f.h, h1, a, 3);
	fake_link(&f.h, h2, b, 2);
	/* the first list's last object links to the second list's head */
	fake_w64(&f.h, a[2], h2);
	CU_ASSERT_FATAL(fix_start(&f, 1000));
	uint64_t heads[2] = {h1, h2};
	f.w.heads = heads;
	f.w.nheads = 2;
	struct gci_gen gen = gen_for(h1, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT_FALSE(gen.complete);
	CU_ASSERT_EQUAL(gen.nobjects, 3);
	CU_ASSERT(objects_are(f.snap, 0, a, 3));
	CU_ASSERT(has_problem(f.snap, 1, a[2], "another list", hex(h2), NULL));
	size_t np = f.snap->nproblems;
	/* its own head in the list of heads is no problem */
	struct gci_gen gen2 = gen_for(h2, "1");
	CU_ASSERT(OK(walk(&f, &gen2)));
	CU_ASSERT(gen2.complete);
	CU_ASSERT_EQUAL(gen2.nobjects, 2);
	CU_ASSERT(objects_are(f.snap, 3, b, 2));
	CU_ASSERT_EQUAL(f.snap->nproblems, np);
	fix_end(&f);
}

static void test_type_unreadable(void)
{
	struct fix f;
	fix_init(&f);
	uint64_t good = fake_type(&f.h, "good", 32, 0, TPFLAGS_HAVE_GC);
	/* tp_name points nowhere */
	uint64_t noname = fake_type(&f.h, NULL, 40, 0, TPFLAGS_HAVE_GC);
	fake_w64(&f.h, noname + 24, 0x7fff00001000ULL);
	/* tp_name NULL */
	uint64_t nullname = fake_type(&f.h, NULL, 48, 0, TPFLAGS_HAVE_GC);
	/* the type object itself is not mapped */
	uint64_t ghost = UNMAPPED + 0x100;
	uint64_t head = fake_head(&f.h);
	uint64_t g[5] = {
		fake_object(&f.h, good, 0),  fake_object(&f.h, noname, 0),
		fake_object(&f.h, good, 0),  fake_object(&f.h, nullname, 0),
		fake_object(&f.h, good, 0),
	};
	fake_w64(&f.h, g[4] + 16 + 8, ghost);
	fake_link(&f.h, head, g, 5);
	CU_ASSERT_FATAL(fix_start(&f, 1000));
	struct gci_gen gen = gen_for(head, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT(gen.complete);
	CU_ASSERT_EQUAL_FATAL(gen.nobjects, 5);
	CU_ASSERT(objects_are(f.snap, 0, g, 5));
	CU_ASSERT_EQUAL_FATAL(f.snap->ntypes, 4);
	const struct gci_type *T = f.snap->types;
	const struct gci_object *O = f.snap->objects;
	CU_ASSERT(T[0].name_known && T[0].name && strcmp(T[0].name, "good") == 0);

	CU_ASSERT_EQUAL(O[1].type, 1);
	CU_ASSERT_EQUAL(T[1].address, noname);
	CU_ASSERT_FALSE(T[1].name_known);
	CU_ASSERT(T[1].name && strstr(T[1].name, hex(noname)));
	/* the rest of the type was readable */
	CU_ASSERT_EQUAL(T[1].basicsize, 40);
	CU_ASSERT_EQUAL(O[1].size, 40 + 16);

	CU_ASSERT_EQUAL(O[3].type, 2);
	CU_ASSERT_FALSE(T[2].name_known);
	CU_ASSERT(T[2].name && strstr(T[2].name, hex(nullname)));

	CU_ASSERT_EQUAL(O[4].type, 3);
	CU_ASSERT_EQUAL(T[3].address, ghost);
	CU_ASSERT_FALSE(T[3].name_known);
	CU_ASSERT(T[3].name && strstr(T[3].name, hex(ghost)));
	CU_ASSERT_EQUAL(O[4].size, 16);
	/* the two unnamed types are counted, with the first reason */
	CU_ASSERT_EQUAL(f.w.unnamed, 2);
	CU_ASSERT(f.w.unnamed_why && strstr(f.w.unnamed_why, "0x7fff00001000"));
	CU_ASSERT(has_problem(f.snap, 1, ghost, hex(ghost), NULL, NULL));
	fix_end(&f);
}

static void test_misaligned_next(void)
{
	struct fix f;
	fix_init(&f);
	uint64_t g[4];
	uint64_t head = simple_list(&f, 4, g);
	/* bit 2 is not a flag bit: this pointer is misaligned */
	fake_w64(&f.h, g[1], g[2] + 4);
	CU_ASSERT_FATAL(fix_start(&f, 1000));
	struct gci_gen gen = gen_for(head, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT_FALSE(gen.complete);
	CU_ASSERT_EQUAL(gen.nobjects, 2);
	CU_ASSERT(objects_are(f.snap, 0, g, 2));
	CU_ASSERT(has_problem(f.snap, 1, g[1], hex(g[2] + 4), NULL, NULL));
	fix_end(&f);

	/* 8-aligned but not a GC head: the back-link check catches it */
	fix_init(&f);
	head = simple_list(&f, 4, g);
	fake_w64(&f.h, g[1], g[2] + 8);
	CU_ASSERT_FATAL(fix_start(&f, 1000));
	gen = gen_for(head, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT_FALSE(gen.complete);
	CU_ASSERT_EQUAL(gen.nobjects, 2);
	CU_ASSERT(f.snap->nproblems >= 1);
	fix_end(&f);
}

static void test_head_unreadable(void)
{
	struct fix f;
	fix_init(&f);
	uint64_t g[2];
	(void)simple_list(&f, 2, g);
	CU_ASSERT_FATAL(fix_start(&f, 1000));
	struct gci_gen gen = gen_for(UNMAPPED + 0x40, "permanent");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT_FALSE(gen.complete);
	CU_ASSERT_EQUAL(gen.nobjects, 0);
	CU_ASSERT_EQUAL(gen.first, 0);
	CU_ASSERT(has_problem(f.snap, 1, UNMAPPED + 0x40, hex(UNMAPPED + 0x40), NULL, NULL));
	fix_end(&f);
}

/*
 * Objects whose GC head and PyObject lie in different segments take the
 * walker's slow path; the result must be the same as over one segment.
 */
static void test_split_segments(void)
{
	struct fix f;
	fix_init(&f);
	uint64_t tv = fake_type(&f.h, "tuple", 24, 8, TPFLAGS_HAVE_GC);
	uint64_t tm = fake_type(&f.h, "M", 16, 0, TPFLAGS_HAVE_GC | TPFLAGS_MANAGED_DICT);
	uint64_t head = fake_head(&f.h);
	uint64_t g[6];
	g[0] = fake_object(&f.h, tv, 1);
	/* the next GC head takes the last 16 bytes of a page */
	size_t page = (f.h.used + 64 + 4095) & ~(size_t)4095;
	f.h.used = page - 16;
	g[1] = fake_object(&f.h, tv, 5);
	g[2] = fake_object(&f.h, tm, 0);
	/* a pre-header ending at the page boundary: GC head at its start */
	size_t page2 = (f.h.used + 64 + 4095) & ~(size_t)4095;
	f.h.used = page2 - 16;
	g[3] = fake_object(&f.h, tm, 0);
	/* ob_type before the page boundary, ob_size after it */
	size_t page3 = (f.h.used + 64 + 4095) & ~(size_t)4095;
	f.h.used = page3 - 32;
	g[4] = fake_object(&f.h, tv, 2);
	g[5] = fake_object(&f.h, tv, 0);
	fake_link(&f.h, head, g, 6);
	CU_ASSERT_EQUAL(g[1], HEAP_BASE + page - 16);
	CU_ASSERT_EQUAL(g[3], HEAP_BASE + page2);
	CU_ASSERT_EQUAL(g[4], HEAP_BASE + page3 - 32);

	/* one segment */
	CU_ASSERT_FATAL(fix_start(&f, 1000));
	struct gci_gen gen = gen_for(head, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT(gen.complete);
	CU_ASSERT_EQUAL_FATAL(gen.nobjects, 6);
	CU_ASSERT_EQUAL(f.snap->objects[1].size, 24 + 40 + 16);
	CU_ASSERT_EQUAL(f.snap->objects[2].size, 16 + 16 + 16);
	CU_ASSERT_EQUAL(f.snap->objects[4].size, 24 + 16 + 16);
	/* the pages are those of the GC heads, not of the objects */
	CU_ASSERT_PTR_NOT_NULL_FATAL(gen.data);
	CU_ASSERT_EQUAL(gci_pageset_count(&gen.data->pages), distinct_pages(g, 6));
	CU_ASSERT(pageset_has(&gen.data->pages, g[1] >> 12));
	CU_ASSERT(pageset_has(&gen.data->pages, g[3] >> 12));
	for (int i = 0; i < 6; i++)
		CU_ASSERT(pageset_has(&gen.data->pages, g[i] >> 12));

	/* four segments split at the page boundaries */
	struct gci_memory split;
	gci_memory_init(&split);
	size_t end = (f.h.used + 4095) & ~(size_t)4095;
	size_t cuts[5] = {0, page, page2, page3, end};
	for (int i = 0; i < 4; i++) {
		struct gci_segment s = {
			.start = HEAP_BASE + cuts[i],
			.end = HEAP_BASE + cuts[i + 1],
			.saved_end = HEAP_BASE + cuts[i + 1],
			.buf = f.h.buf + cuts[i],
			.what = "heap part",
		};
		CU_ASSERT_FATAL(OK(gci_memory_add(&split, GCI_TIER_PRIMARY, &s)));
	}
	struct gci_snapshot *snap2 = snap_new();
	struct gci_walker w2;
	gci_walker_init(&w2, &split, &f.L, snap2, 1000);
	struct gci_gen gen2 = gen_for(head, "0");
	CU_ASSERT(OK(gci_walk_list(&w2, &gen2)));
	CU_ASSERT(gen2.complete);
	CU_ASSERT_EQUAL(gen2.nobjects, 6);
	CU_ASSERT_EQUAL(snap2->nproblems, 0);
	dump_problems(snap2);
	CU_ASSERT_EQUAL(snap2->ntypes, f.snap->ntypes);
	for (size_t i = 0; i < 6 && i < snap2->nobjects; i++) {
		CU_ASSERT_EQUAL(snap2->objects[i].address, f.snap->objects[i].address);
		CU_ASSERT_EQUAL(snap2->objects[i].type, f.snap->objects[i].type);
		CU_ASSERT_EQUAL(snap2->objects[i].size, f.snap->objects[i].size);
	}
	gci_gen_data_destroy(gen2.data);
	gci_walker_deinit(&w2);
	snap_free(snap2);
	gci_memory_deinit(&split);
	fix_end(&f);
}

static void test_debug_prefix(void)
{
	struct fix f;
	fix_init(&f);
	f.L.debug_alloc_prefix = 16;
	uint64_t t = fake_type(&f.h, "M", 16, 0, TPFLAGS_HAVE_GC | TPFLAGS_MANAGED_DICT);
	uint64_t u = fake_type(&f.h, "bytesish", 33, 1, TPFLAGS_HAVE_GC);
	uint64_t head = fake_head(&f.h);
	uint64_t g[2] = {fake_object(&f.h, t, 0), fake_object(&f.h, u, 7)};
	fake_link(&f.h, head, g, 2);
	CU_ASSERT_FATAL(fix_start(&f, 1000));
	struct gci_gen gen = gen_for(head, "0");
	CU_ASSERT(OK(walk(&f, &gen)));
	CU_ASSERT_EQUAL_FATAL(gen.nobjects, 2);
	CU_ASSERT_EQUAL(f.snap->objects[0].size, 16 + 16 + 16 + 16);
	CU_ASSERT_EQUAL(f.snap->objects[1].size, 33 + 7 + 16 + 16);
	fix_end(&f);
}

static void test_problem_bound(void)
{
	struct gci_snapshot *snap = snap_new();
	size_t cap = 0;
	for (int i = 0; i < 1500; i++)
		CU_ASSERT_PTR_NULL(gci_snapshot_add_problem(snap, &cap, (uint64_t)i,
							    "problem %d", i));
	CU_ASSERT_EQUAL(snap->nproblems, 1000);
	CU_ASSERT(cap >= snap->nproblems);
	CU_ASSERT(snap->problems[0].message &&
		  strcmp(snap->problems[0].message, "problem 0") == 0);
	CU_ASSERT_EQUAL(snap->problems[500].address, 500);
	CU_ASSERT(snap->problems[998].message &&
		  strcmp(snap->problems[998].message, "problem 998") == 0);
	CU_ASSERT(snap->problems[999].message &&
		  strstr(snap->problems[999].message, "too many"));
	snap_free(snap);

	/* exactly as many as are kept: the last one is a real problem */
	snap = snap_new();
	cap = 0;
	for (int i = 0; i < 1000; i++)
		CU_ASSERT_PTR_NULL(gci_snapshot_add_problem(snap, &cap, (uint64_t)i,
							    "problem %d", i));
	CU_ASSERT_EQUAL(snap->nproblems, 1000);
	CU_ASSERT(snap->problems[999].message &&
		  strcmp(snap->problems[999].message, "problem 999") == 0);
	snap_free(snap);

	/* through the walker: the same broken list walked over and over */
	struct fix f;
	fix_init(&f);
	uint64_t g[3];
	uint64_t head = simple_list(&f, 3, g);
	fake_w64(&f.h, g[2] + 8, g[0]);
	CU_ASSERT_FATAL(fix_start(&f, 1000));
	size_t bad = 0;
	for (int i = 0; i < 1200; i++) {
		struct gci_gen gen = gen_for(head, "0");
		struct gci_error *err = gci_walk_list(&f.w, &gen);
		if (err || gen.complete || gen.nobjects != 2)
			bad++;
		gci_error_destroy(err);
		gci_gen_data_destroy(gen.data);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(f.snap->nproblems, 1000);
	CU_ASSERT_EQUAL(f.snap->nobjects, 2400);
	CU_ASSERT_EQUAL(f.snap->ntypes, 1);
	fix_end(&f);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"well-formed lists", test_well_formed},
		{"10000 objects of 600 types", test_many_objects_and_types},
		{"implausible ob_size", test_implausible_ob_size},
		{"keep_objects off", test_keep_objects_off},
		{"pages are those of the GC heads", test_pages_of_heads},
		{"empty list", test_empty},
		{"flag bits are masked", test_flag_bits},
		{"loop back to the first object", test_loop},
		{"loop into the middle, self-loop", test_loop_to_middle},
		{"broken back-link", test_broken_backlink},
		{"head's _gc_prev is not the last object", test_head_prev_mismatch},
		{"next pointer unmapped or NULL", test_next_unmapped},
		{"GC head mapped, object not", test_object_half_mapped},
		{"max_objects bound", test_max_objects},
		{"list runs into another list's head", test_runs_into_other_head},
		{"unreadable types and names", test_type_unreadable},
		{"misaligned next pointer", test_misaligned_next},
		{"list head unreadable", test_head_unreadable},
		{"objects across segment boundaries", test_split_segments},
		{"debug allocator prefix", test_debug_prefix},
		{"problem count bounded", test_problem_bound},
		{NULL, NULL},
	};
	return unit_main("walker", tests);
}
