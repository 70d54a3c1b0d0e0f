/*
 * Searching target memory (scan.c), the same way for every source: a
 * pattern across a block boundary is seen once, an unreadable page is
 * skipped without hiding what follows it, a bounded search reads only its
 * range, a callback source is read in blocks (not words), and a buffer
 * source (a core) is searched in place.
 */
#include "unit.h"

#include "memory.h"
#include "program.h"

#define BASE 0x50000000ULL
#define SIZE (1024 * 1024)
#define BLOCK (256 * 1024)   /* scan.c's block */

static unsigned char image[SIZE];
static uint64_t hole;        /* an unreadable page, or 0 */
static unsigned calls;

static int fake_read(void *arg, uint64_t address, void *buf, size_t size)
{
	calls++;
	if (address < BASE || address + size > BASE + SIZE)
		return -1;
	if (hole && address < hole + 4096 && hole < address + size)
		return -1;
	memcpy(buf, image + (address - BASE), size);
	return 0;
}

struct hits {
	uint64_t at[16];
	size_t n;
	const char *what;
};

static bool find_all(void *arg, uint64_t address, const unsigned char *buf, size_t size)
{
	struct hits *h = arg;
	size_t len = strlen(h->what);
	for (size_t i = 0; i + len <= size; i++) {
		if (memcmp(buf + i, h->what, len))
			continue;
		uint64_t a = address + i;
		bool seen = false;
		for (size_t k = 0; k < h->n; k++)
			seen |= h->at[k] == a;
		if (!seen && h->n < 16)
			h->at[h->n++] = a;
	}
	return false;
}

static void fill(void)
{
	for (size_t i = 0; i < SIZE; i++)
		image[i] = (unsigned char)('a' + i % 23);
	/* across the first block boundary, in the middle, after the hole */
	memcpy(image + BLOCK - 4, "xdebugpy", 8);
	memcpy(image + 3 * BLOCK + 100, "xdebugpy", 8);
	memcpy(image + 2 * 4096 + 8, "xdebugpy", 8);   /* inside the hole */
	memcpy(image + 3 * 4096 + 8, "xdebugpy", 8);   /* just after it */
}

static struct gci_program *open_fake(bool with_maps)
{
	fill();
	calls = 0;
	struct gci_mapping map = { .start = BASE, .end = BASE + SIZE, .offset = 0, .path = "" };
	struct gci_program *prog = NULL;
	CU_ASSERT_FATAL(OK(gci_program_open_callback(fake_read, NULL, with_maps ? &map : NULL,
						     with_maps ? 1 : 0, NULL, &prog)));
	return prog;
}

static void test_callback_whole_memory(void)
{
	hole = BASE + 2 * 4096;
	struct gci_program *prog = open_fake(true);
	struct hits h = { .what = "xdebugpy" };
	uint64_t searched = 0;
	CU_ASSERT_FATAL(OK(gci_program_scan(prog, 0, UINT64_MAX, 7, find_all, &h, &searched)));
	CU_ASSERT_EQUAL(h.n, 3);
	bool boundary = false, middle = false, after_hole = false;
	for (size_t i = 0; i < h.n; i++) {
		boundary |= h.at[i] == BASE + BLOCK - 4;
		middle |= h.at[i] == BASE + 3 * BLOCK + 100;
		after_hole |= h.at[i] == BASE + 3 * 4096 + 8;
		CU_ASSERT(h.at[i] != BASE + 2 * 4096 + 8);
	}
	CU_ASSERT(boundary);
	CU_ASSERT(middle);
	CU_ASSERT(after_hole);
	/* Everything but the hole, and the overlaps searched twice. */
	CU_ASSERT(searched >= SIZE - 4096);
	CU_ASSERT(searched <= SIZE - 4096 + 8 * 7);
	/* Blocks, not words: a megabyte in at most a few hundred reads. */
	CU_ASSERT(calls <= 2 * SIZE / 4096);
	gci_program_destroy(prog);
}

static void test_callback_bounded(void)
{
	hole = 0;
	/* No maps: a bounded range is read itself (a module's range in gdb). */
	struct gci_program *prog = open_fake(false);
	struct hits h = { .what = "xdebugpy" };
	uint64_t searched = 0;
	CU_ASSERT_FATAL(OK(gci_program_scan(prog, BASE + BLOCK, BASE + 4 * BLOCK, 7, find_all,
					    &h, &searched)));
	CU_ASSERT_EQUAL(h.n, 1);
	CU_ASSERT_EQUAL(h.at[0], BASE + 3 * BLOCK + 100);
	CU_ASSERT(searched >= 3 * BLOCK && searched <= 3 * BLOCK + 4 * 7);
	/* Unbounded, with no maps: nothing is known to be mapped. */
	h.n = 0;
	CU_ASSERT_FATAL(OK(gci_program_scan(prog, 0, UINT64_MAX, 7, find_all, &h, &searched)));
	CU_ASSERT_EQUAL(h.n, 0);
	CU_ASSERT_EQUAL(searched, 0);
	gci_program_destroy(prog);
}

static bool stop_at_first(void *arg, uint64_t address, const unsigned char *buf, size_t size)
{
	unsigned *n = arg;
	(*n)++;
	return true;
}

static void test_buffer_in_place(void)
{
	fill();
	struct gci_program *prog = NULL;
	CU_ASSERT_FATAL(OK(gci_program_create(NULL, &prog)));
	struct gci_segment seg = { .start = BASE, .end = BASE + SIZE, .saved_end = BASE + SIZE,
				   .buf = image, .what = "test buffer" };
	CU_ASSERT_FATAL(OK(gci_memory_add(&prog->mem, GCI_TIER_PRIMARY, &seg)));
	struct hits h = { .what = "xdebugpy" };
	uint64_t searched = 0;
	CU_ASSERT_FATAL(OK(gci_program_scan(prog, 0, UINT64_MAX, 7, find_all, &h, &searched)));
	CU_ASSERT_EQUAL(h.n, 4);   /* no hole in a buffer */
	/* A search that says stop, stops. */
	unsigned n = 0;
	CU_ASSERT_FATAL(OK(gci_program_scan(prog, 0, UINT64_MAX, 0, stop_at_first, &n, NULL)));
	CU_ASSERT_EQUAL(n, 1);
	gci_program_destroy(prog);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"a callback's whole memory: across blocks, around a hole", test_callback_whole_memory},
		{"a callback's bounded range", test_callback_bounded},
		{"a buffer is searched in place", test_buffer_in_place},
		{NULL, NULL},
	};
	return unit_main("scan", tests);
}
