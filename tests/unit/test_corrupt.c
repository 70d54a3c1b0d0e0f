/*
 * Random corruption of a valid fake heap: whatever the bytes, the walker must
 * not crash, must stop, and must report only distinct objects it could read,
 * within its bound.  Deterministic (fixed seed); meant to run under ASan too.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "fakeheap.h"
#include "unit.h"

#define HEAP_BASE 0x10000000ULL
#define HEAP_SIZE (64u * 1024)
#define SPLIT 0x4000 /* the heap is mapped as two segments split here */
#define NOBJ 200
#define NTYPES 6
#ifndef ITERATIONS
#define ITERATIONS 5000
#endif
#define MAX_OBJECTS 1000

struct model {
	struct fake_heap h;
	unsigned char *pristine;
	size_t mapped;
	uint64_t head, other_head;
	uint64_t gcs[NOBJ];
	uint64_t types[NTYPES];
};

static void build(struct model *m)
{
	static const struct {
		const char *name;
		int64_t basic, item;
		uint64_t flags;
	} tt[NTYPES] = {
		{"tuple", 24, 8, TPFLAGS_HAVE_GC},
		{"list", 40, 0, TPFLAGS_HAVE_GC},
		{"dict", 48, 0, TPFLAGS_HAVE_GC},
		{"A", 16, 0, TPFLAGS_HAVE_GC | TPFLAGS_HEAPTYPE | TPFLAGS_MANAGED_DICT},
		{"function", 136, 0, TPFLAGS_HAVE_GC},
		{"cell", 24, 0, TPFLAGS_HAVE_GC},
	};
	fake_init(&m->h, HEAP_BASE, HEAP_SIZE);
	m->h.metatype = HEAP_BASE; /* the first type stands in for `type` */
	for (int i = 0; i < NTYPES; i++)
		m->types[i] = fake_type(&m->h, tt[i].name, tt[i].basic, tt[i].item, tt[i].flags);
	m->head = fake_head(&m->h);
	m->other_head = fake_head(&m->h);
	uint64_t rng = 12345;
	for (int i = 0; i < NOBJ; i++) {
		int t = (int)(unit_rand(&rng) % NTYPES);
		int64_t n = tt[t].item ? (int64_t)(unit_rand(&rng) % 5) : 0;
		m->gcs[i] = fake_object(&m->h, m->types[t], n);
	}
	/* link in a shuffled order so that next pointers jump around */
	uint64_t order[NOBJ];
	memcpy(order, m->gcs, sizeof(order));
	for (int i = NOBJ - 1; i > 0; i--) {
		int j = (int)(unit_rand(&rng) % (uint64_t)(i + 1));
		uint64_t t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	memcpy(m->gcs, order, sizeof(order));
	fake_link(&m->h, m->head, m->gcs, NOBJ);
	m->mapped = (m->h.used + 4095) & ~(size_t)4095;
	m->pristine = malloc(m->mapped);
	if (!m->pristine)
		abort();
	memcpy(m->pristine, m->h.buf, m->mapped);
}

/* An interesting value to store in a pointer-sized field. */
static uint64_t wild_value(struct model *m, uint64_t *rng)
{
	uint64_t r = unit_rand(rng);
	uint64_t some_gc = m->gcs[unit_rand(rng) % NOBJ];
	switch (r % 12) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX;
	case 2:
		return some_gc;
	case 3:
		return some_gc + 8 * (unit_rand(rng) % 8);
	case 4:
		return some_gc | (unit_rand(rng) % 8);
	case 5:
		return m->head;
	case 6:
		return m->other_head;
	case 7:
		return HEAP_BASE + m->mapped - 8 * (1 + unit_rand(rng) % 4);
	case 8:
		return 0x20000000ULL; /* unmapped */
	case 9:
		return (uint64_t)(int64_t)-(int64_t)(unit_rand(rng) % 100000);
	case 10:
		return unit_rand(rng) % 1000;
	default:
		return unit_rand(rng);
	}
}

/* Corrupt one thing: a random byte, or a field of an object, head or type. */
static void corrupt_once(struct model *m, uint64_t *rng)
{
	unsigned char *buf = m->h.buf;
	uint64_t r = unit_rand(rng) % 4;
	if (r == 0) {
		/* a random byte anywhere */
		size_t off = (size_t)(unit_rand(rng) % m->mapped);
		buf[off] = (unsigned char)unit_rand(rng);
		return;
	}
	uint64_t field;
	if (r == 1 || r == 2) {
		/* a field of a random object, or of the head */
		static const int offs[] = {0, 8, 16, 24, 32}; /* next, prev, refcnt, type, size */
		uint64_t g = (unit_rand(rng) % 20 == 0) ? m->head
							 : m->gcs[unit_rand(rng) % NOBJ];
		field = g + (uint64_t)offs[unit_rand(rng) % 5];
		if (g == m->head)
			field = g + 8 * (unit_rand(rng) % 2);
	} else {
		/* a field of a random type */
		static const int offs[] = {8, 24, 32, 40, 168};
		field = m->types[unit_rand(rng) % NTYPES] + (uint64_t)offs[unit_rand(rng) % 5];
	}
	if (unit_rand(rng) % 3 == 0) {
		/* one byte of it */
		buf[field - HEAP_BASE + unit_rand(rng) % 8] = (unsigned char)unit_rand(rng);
	} else {
		uint64_t v = wild_value(m, rng);
		memcpy(buf + (field - HEAP_BASE), &v, 8);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void on_alarm(int sig)
{
	static const char msg[] = "test_corrupt: timed out (the walker does not stop?)\n";
	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(3);
}

static void test_random_corruption(void)
{
	struct model m;
	build(&m);
	const struct gci_layout L = fake_layout_311();
	struct gci_memory mem;
	gci_memory_init(&mem);
	struct gci_segment s1 = {
		.start = HEAP_BASE, .end = HEAP_BASE + SPLIT, .saved_end = HEAP_BASE + SPLIT,
		.buf = m.h.buf, .what = "heap 1",
	};
	struct gci_segment s2 = {
		.start = HEAP_BASE + SPLIT, .end = HEAP_BASE + m.mapped,
		.saved_end = HEAP_BASE + m.mapped, .buf = m.h.buf + SPLIT, .what = "heap 2",
	};
	CU_ASSERT_FATAL(m.mapped > SPLIT);
	CU_ASSERT_FATAL(OK(gci_memory_add(&mem, GCI_TIER_PRIMARY, &s1)));
	CU_ASSERT_FATAL(OK(gci_memory_add(&mem, GCI_TIER_PRIMARY, &s2)));
	uint64_t heads[2] = {m.head, m.other_head};

	/* the uncorrupted heap walks completely */
	{
		struct gci_snapshot *snap = snap_new();
		struct gci_walker w;
		gci_walker_init(&w, &mem, &L, snap, MAX_OBJECTS);
		struct gci_gen gen = {.name = "2", .head = m.head};
		CU_ASSERT(OK(gci_walk_list(&w, &gen)));
		CU_ASSERT(gen.complete);
		CU_ASSERT_EQUAL(gen.nobjects, NOBJ);
		CU_ASSERT_EQUAL(snap->nproblems, 0);
		CU_ASSERT_EQUAL(snap->ntypes, NTYPES);
		gci_gen_data_destroy(gen.data);
		gci_walker_deinit(&w);
		snap_free(snap);
	}

#ifndef SEED
#define SEED 0xc0ffee
#endif
	uint64_t rng = SEED;
	size_t n_complete = 0, n_incomplete = 0, n_changed = 0;
	size_t bad_err = 0, bad_bound = 0, bad_dup = 0, bad_range = 0, bad_type = 0;
	size_t bad_problem = 0, bad_gen = 0, bad_repeat = 0, bad_totals = 0;
	uint64_t *addrs = malloc(sizeof(uint64_t) * (MAX_OBJECTS + 1));
	CU_ASSERT_FATAL(addrs != NULL);
	signal(SIGALRM, on_alarm);
	alarm(240);
	for (int it = 0; it < ITERATIONS; it++) {
		memcpy(m.h.buf, m.pristine, m.mapped);
		int k = 1 + (int)(unit_rand(&rng) % 4);
		for (int i = 0; i < k; i++)
			corrupt_once(&m, &rng);
		if (memcmp(m.h.buf, m.pristine, m.mapped) != 0)
			n_changed++;

		struct gci_snapshot *snap = snap_new();
		struct gci_walker w;
		gci_walker_init(&w, &mem, &L, snap, MAX_OBJECTS);
		if (it % 2) {
			w.heads = heads;
			w.nheads = 2;
		}
		struct gci_gen gen = {.name = "2", .head = m.head};
		struct gci_error *err = gci_walk_list(&w, &gen);
		if (err) {
			fprintf(stderr, "\n  iteration %d: error %s\n", it, err->message);
			gci_error_destroy(err);
			bad_err++;
		}
		if (gen.complete)
			n_complete++;
		else
			n_incomplete++;
		if (gen.first != 0 || gen.nobjects != snap->nobjects)
			bad_gen++;
		if (snap->nobjects > MAX_OBJECTS)
			bad_bound++;
		/* an incomplete list always says why */
		if (!gen.complete && snap->nproblems == 0)
			bad_problem++;
		/* every object is distinct, 8-aligned, its GC head and type word mapped */
		size_t n = snap->nobjects < MAX_OBJECTS ? snap->nobjects : MAX_OBJECTS;
		for (size_t i = 0; i < n; i++) {
			uint64_t a = snap->objects[i].address;
			addrs[i] = a;
			if ((a & 7) || a < HEAP_BASE + 16 || a + 16 > HEAP_BASE + m.mapped)
				bad_range++;
			if (snap->objects[i].type >= snap->ntypes)
				bad_type++;
		}
		qsort(addrs, n, sizeof(*addrs), cmp_u64);
		for (size_t i = 1; i < n; i++)
			if (addrs[i] == addrs[i - 1])
				bad_dup++;
		for (size_t i = 0; i < snap->ntypes; i++)
			if (!snap->types[i].name)
				bad_type++;
		/* the totals agree with the objects */
		uint64_t bytes = 0, per_type = 0;
		for (size_t i = 0; i < n; i++)
			bytes += snap->objects[i].size;
		if (gen.data)
			for (size_t i = 0; i < gen.data->type_cap; i++)
				per_type += gen.data->type_objects[i];
		if (!gen.data || bytes != gen.bytes || per_type != gen.nobjects ||
		    gci_pageset_count(&gen.data->pages) > gen.nobjects)
			bad_totals++;
		/* walking the same bytes again gives the same answer */
		if (it % 50 == 0) {
			struct gci_snapshot *again = snap_new();
			struct gci_walker w2;
			gci_walker_init(&w2, &mem, &L, again, MAX_OBJECTS);
			w2.heads = w.heads;
			w2.nheads = w.nheads;
			struct gci_gen gen2 = {.name = "2", .head = m.head};
			struct gci_error *err2 = gci_walk_list(&w2, &gen2);
			gci_error_destroy(err2);
			gci_gen_data_destroy(gen2.data);
			if (gen2.nobjects != gen.nobjects || gen2.complete != gen.complete ||
			    again->nproblems != snap->nproblems ||
			    (gen.nobjects && memcmp(again->objects, snap->objects,
						    gen.nobjects * sizeof(*snap->objects))))
				bad_repeat++;
			gci_walker_deinit(&w2);
			snap_free(again);
		}
		gci_gen_data_destroy(gen.data);
		gci_walker_deinit(&w);
		snap_free(snap);
	}
	alarm(0);
	fprintf(stderr, "\n  %d iterations: %zu changed the heap, %zu complete, %zu incomplete\n",
		ITERATIONS, n_changed, n_complete, n_incomplete);
	CU_ASSERT_EQUAL(bad_err, 0);
	CU_ASSERT_EQUAL(bad_gen, 0);
	CU_ASSERT_EQUAL(bad_bound, 0);
	CU_ASSERT_EQUAL(bad_problem, 0);
	CU_ASSERT_EQUAL(bad_range, 0);
	CU_ASSERT_EQUAL(bad_dup, 0);
	CU_ASSERT_EQUAL(bad_type, 0);
	CU_ASSERT_EQUAL(bad_repeat, 0);
	CU_ASSERT_EQUAL(bad_totals, 0);
	/* the corruption really did break lists, and not all of them */
	CU_ASSERT(n_changed > ITERATIONS / 2);
	CU_ASSERT(n_incomplete > ITERATIONS / 10);
	CU_ASSERT(n_complete > ITERATIONS / 10);
	free(addrs);
	free(m.pristine);
	fake_free(&m.h);
	gci_memory_deinit(&mem);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"random corruption", test_random_corruption},
		{NULL, NULL},
	};
	return unit_main("corrupt", tests);
}
