/*
 * Unit tests of the address space (memory.c): segments over plain byte
 * buffers and callbacks, typed reads, faults, the fallback tier, strings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "memory.h"
#include "unit.h"

static struct gci_segment seg(uint64_t start, uint64_t end, uint64_t saved_end,
			      const void *buf, const char *what, const char *why)
{
	struct gci_segment s = {
		.start = start,
		.end = end,
		.saved_end = saved_end,
		.buf = buf,
		.what = what,
		.why_unsaved = why,
	};
	return s;
}

/* A fully saved buffer-backed segment. */
static struct gci_error *add_buf(struct gci_memory *mem, enum gci_tier tier,
				 uint64_t start, const void *buf, size_t size)
{
	struct gci_segment s = seg(start, start + size, start + size, buf, "test", NULL);
	return gci_memory_add(mem, tier, &s);
}

static void test_typed_reads(void)
{
	static unsigned char b[64];
	struct gci_memory mem;
	gci_memory_init(&mem);
	memset(b, 0, sizeof(b));
	b[0] = 0xfe;
	/* u32 / i32 at 4: 0x89abcdef, little-endian */
	b[4] = 0xef, b[5] = 0xcd, b[6] = 0xab, b[7] = 0x89;
	/* u64 at 8: 0x0123456789abcdef */
	for (int i = 0; i < 8; i++)
		b[8 + i] = (unsigned char)(0x0123456789abcdefULL >> (8 * i));
	/* i64 at 16: -2 */
	b[16] = 0xfe;
	memset(b + 17, 0xff, 7);
	/* gci_read_int material at 32 */
	static const unsigned char ints[8] = {0x85, 0xff, 0x34, 0x92, 0x11, 0x22, 0x33, 0xc4};
	memcpy(b + 32, ints, 8);
	/* positive values with their top bits clear, at 40 */
	static const unsigned char pos[8] = {0x7f, 0x34, 0x12, 0x70, 0x01, 0x02, 0x03, 0x04};
	memcpy(b + 40, pos, 8);

	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0x400000, b, sizeof(b))));

	uint8_t u8 = 0;
	uint32_t u32 = 0;
	int32_t i32 = 0;
	uint64_t u64 = 0;
	int64_t i64 = 0;
	CU_ASSERT(OK(gci_read_u8(&mem, 0x400000, &u8)));
	CU_ASSERT_EQUAL(u8, 0xfe);
	CU_ASSERT(OK(gci_read_u32(&mem, 0x400004, &u32)));
	CU_ASSERT_EQUAL(u32, 0x89abcdefU);
	CU_ASSERT(OK(gci_read_i32(&mem, 0x400004, &i32)));
	CU_ASSERT_EQUAL(i32, -1985229329); /* (int32_t)0x89abcdef */
	CU_ASSERT(OK(gci_read_u64(&mem, 0x400008, &u64)));
	CU_ASSERT_EQUAL(u64, 0x0123456789abcdefULL);
	CU_ASSERT(OK(gci_read_i64(&mem, 0x400010, &i64)));
	CU_ASSERT_EQUAL(i64, -2);
	/* unaligned typed read */
	CU_ASSERT(OK(gci_read_u32(&mem, 0x400005, &u32)));
	CU_ASSERT_EQUAL(u32, 0xef89abcdU); /* bytes 5..8 */

	int64_t v = 0;
	/* sign extension for each size */
	CU_ASSERT(OK(gci_read_int(&mem, 0x400020, 1, true, &v)));
	CU_ASSERT_EQUAL(v, -123);
	CU_ASSERT(OK(gci_read_int(&mem, 0x400020, 1, false, &v)));
	CU_ASSERT_EQUAL(v, 0x85);
	CU_ASSERT(OK(gci_read_int(&mem, 0x400020, 2, true, &v)));
	CU_ASSERT_EQUAL(v, -123); /* 0xff85 */
	CU_ASSERT(OK(gci_read_int(&mem, 0x400020, 2, false, &v)));
	CU_ASSERT_EQUAL(v, 0xff85);
	CU_ASSERT(OK(gci_read_int(&mem, 0x400020, 4, true, &v)));
	CU_ASSERT_EQUAL(v, (int64_t)0x9234ff85LL - 0x100000000LL);
	CU_ASSERT(OK(gci_read_int(&mem, 0x400020, 4, false, &v)));
	CU_ASSERT_EQUAL(v, 0x9234ff85LL);
	CU_ASSERT(OK(gci_read_int(&mem, 0x400020, 8, true, &v)));
	CU_ASSERT_EQUAL((uint64_t)v, 0xc43322119234ff85ULL);
	CU_ASSERT(OK(gci_read_int(&mem, 0x400020, 8, false, &v)));
	CU_ASSERT_EQUAL((uint64_t)v, 0xc43322119234ff85ULL);
	/* top bit clear: no extension even when signed */
	CU_ASSERT(OK(gci_read_int(&mem, 0x400028, 1, true, &v)));
	CU_ASSERT_EQUAL(v, 0x7f);
	CU_ASSERT(OK(gci_read_int(&mem, 0x400028, 2, true, &v)));
	CU_ASSERT_EQUAL(v, 0x347f);
	CU_ASSERT(OK(gci_read_int(&mem, 0x400028, 4, true, &v)));
	CU_ASSERT_EQUAL(v, 0x7012347f);
	CU_ASSERT(OK(gci_read_int(&mem, 0x400028, 8, true, &v)));
	CU_ASSERT_EQUAL(v, 0x040302017012347fLL);
	/* bad sizes */
	v = 77;
	CU_ASSERT(ERR(gci_read_int(&mem, 0x400020, 3, true, &v), GCI_ERR_OTHER, NULL));
	CU_ASSERT(ERR(gci_read_int(&mem, 0x400020, 0, false, &v), GCI_ERR_OTHER, NULL));
	CU_ASSERT(ERR(gci_read_int(&mem, 0x400020, 16, false, &v), GCI_ERR_OTHER, NULL));
	CU_ASSERT_EQUAL(v, 77);

	/* a failed read leaves the result alone */
	u64 = 0x1111;
	CU_ASSERT(ERR_AT(gci_read_u64(&mem, 0x400040, &u64), GCI_ERR_FAULT, 0x400040,
			 "0x400040"));
	CU_ASSERT_EQUAL(u64, 0x1111);
	/* the last 8 bytes are readable, one further is not */
	CU_ASSERT(OK(gci_read_u64(&mem, 0x400038, &u64)));
	CU_ASSERT(ERR_AT(gci_read_u64(&mem, 0x400039, &u64), GCI_ERR_FAULT, 0x400040, NULL));
	v = 5;
	CU_ASSERT(ERR_AT(gci_read_int(&mem, 0x3ffffe, 4, true, &v), GCI_ERR_FAULT,
			 0x3ffffe, NULL));
	CU_ASSERT_EQUAL(v, 5);
	gci_memory_deinit(&mem);
}

static void test_adjacent_segments(void)
{
	static unsigned char a[0x1000], b[0x1000];
	struct gci_memory mem;
	gci_memory_init(&mem);
	for (size_t i = 0; i < sizeof(a); i++) {
		a[i] = (unsigned char)i;
		b[i] = (unsigned char)(0x80 + i);
	}
	/* added out of order on purpose */
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0x2000, b, sizeof(b))));
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0x1000, a, sizeof(a))));

	unsigned char out[16], want[16];
	memcpy(want, a + 0xff8, 8);
	memcpy(want + 8, b, 8);
	CU_ASSERT(OK(gci_memory_read(&mem, 0x1ff8, out, sizeof(out))));
	CU_ASSERT_EQUAL(memcmp(out, want, sizeof(out)), 0);

	uint64_t u64 = 0, w64;
	memcpy(&w64, want + 4, 8);
	CU_ASSERT(OK(gci_read_u64(&mem, 0x1ffc, &u64)));
	CU_ASSERT_EQUAL(u64, w64);

	/* a read covering both segments entirely */
	static unsigned char all[0x2000];
	CU_ASSERT(OK(gci_memory_read(&mem, 0x1000, all, sizeof(all))));
	CU_ASSERT_EQUAL(memcmp(all, a, sizeof(a)), 0);
	CU_ASSERT_EQUAL(memcmp(all + sizeof(a), b, sizeof(b)), 0);
	/* ... and one byte more fails, naming where */
	static unsigned char more[0x2001];
	CU_ASSERT(ERR_AT(gci_memory_read(&mem, 0x1000, more, sizeof(more)), GCI_ERR_FAULT,
			 0x3000, NULL));
	gci_memory_deinit(&mem);
}

static void test_gap(void)
{
	static unsigned char a[0x1000], b[0x1000];
	struct gci_memory mem;
	gci_memory_init(&mem);
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0x1000, a, sizeof(a))));
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0x3000, b, sizeof(b))));

	unsigned char out[16];
	/* straddling the end of the first segment: the fault is at the gap */
	CU_ASSERT(ERR_AT(gci_memory_read(&mem, 0x1ff8, out, sizeof(out)), GCI_ERR_FAULT,
			 0x2000, "0x2000"));
	/* straddling into the second one from the gap */
	CU_ASSERT(ERR_AT(gci_memory_read(&mem, 0x2ff8, out, sizeof(out)), GCI_ERR_FAULT,
			 0x2ff8, "0x2ff8"));
	/* inside the gap, below and above everything */
	CU_ASSERT(ERR_AT(gci_memory_read(&mem, 0x2500, out, 1), GCI_ERR_FAULT, 0x2500,
			 "not mapped"));
	CU_ASSERT(ERR_AT(gci_memory_read(&mem, 0xfff, out, 1), GCI_ERR_FAULT, 0xfff, NULL));
	CU_ASSERT(ERR_AT(gci_memory_read(&mem, 0x4000, out, 1), GCI_ERR_FAULT, 0x4000, NULL));
	CU_ASSERT(ERR_AT(gci_memory_read(&mem, 0, out, 8), GCI_ERR_FAULT, 0, NULL));
	/* both ends of each segment are readable */
	CU_ASSERT(OK(gci_memory_read(&mem, 0x1000, out, 1)));
	CU_ASSERT(OK(gci_memory_read(&mem, 0x1fff, out, 1)));
	CU_ASSERT(OK(gci_memory_read(&mem, 0x3000, out, 1)));
	CU_ASSERT(OK(gci_memory_read(&mem, 0x3fff, out, 1)));

	/* an empty address space */
	struct gci_memory empty;
	gci_memory_init(&empty);
	CU_ASSERT(ERR_AT(gci_memory_read(&empty, 0x1000, out, 8), GCI_ERR_FAULT, 0x1000,
			 NULL));
	CU_ASSERT_PTR_NULL(gci_memory_find(&empty, 0x1000, GCI_TIER_PRIMARY));
	gci_memory_deinit(&empty);
	gci_memory_deinit(&mem);
}

static const char WHY[] = "is past p_filesz in the core (p_memsz larger)";

static void test_unsaved(void)
{
	static unsigned char a[0x1000];
	struct gci_memory mem;
	gci_memory_init(&mem);
	memset(a, 0x5a, sizeof(a));
	struct gci_segment s = seg(0x5000, 0x7000, 0x6000, a, "core segment 3", WHY);
	CU_ASSERT_FATAL(OK(gci_memory_add(&mem, GCI_TIER_PRIMARY, &s)));
	/* nothing saved at all (p_filesz 0) */
	struct gci_segment z = seg(0x9000, 0xa000, 0x9000, NULL, "core segment 4", WHY);
	CU_ASSERT_FATAL(OK(gci_memory_add(&mem, GCI_TIER_PRIMARY, &z)));

	unsigned char out[16];
	uint64_t u64 = 0xabcdef;
	CU_ASSERT(OK(gci_memory_read(&mem, 0x5ff0, out, 16)));
	CU_ASSERT(ERR_AT(gci_memory_read(&mem, 0x6000, out, 8), GCI_ERR_FAULT, 0x6000, WHY));
	CU_ASSERT(ERR_AT(gci_memory_read(&mem, 0x5ff8, out, 16), GCI_ERR_FAULT, 0x6000, WHY));
	CU_ASSERT(ERR_AT(gci_read_u64(&mem, 0x6ff8, &u64), GCI_ERR_FAULT, 0x6ff8, WHY));
	CU_ASSERT(ERR_AT(gci_read_u64(&mem, 0x5ffc, &u64), GCI_ERR_FAULT, 0x6000, WHY));
	CU_ASSERT_EQUAL(u64, 0xabcdef);
	CU_ASSERT(ERR_AT(gci_read_u64(&mem, 0x9000, &u64), GCI_ERR_FAULT, 0x9000, WHY));
	CU_ASSERT_EQUAL(u64, 0xabcdef);
	/* the message names the segment too */
	CU_ASSERT(ERR(gci_read_u64(&mem, 0x9800, &u64), GCI_ERR_FAULT, "core segment 4"));
	/* no why_unsaved: still a fault, never zeros */
	struct gci_segment n = seg(0xb000, 0xc000, 0xb000, NULL, NULL, NULL);
	CU_ASSERT_FATAL(OK(gci_memory_add(&mem, GCI_TIER_PRIMARY, &n)));
	CU_ASSERT(ERR_AT(gci_read_u64(&mem, 0xb010, &u64), GCI_ERR_FAULT, 0xb010, NULL));
	CU_ASSERT_EQUAL(u64, 0xabcdef);
	gci_memory_deinit(&mem);
}

static void test_fallback(void)
{
	static unsigned char prim[0x2000], file[0x4000], next[0x1000];
	struct gci_memory mem;
	gci_memory_init(&mem);
	memset(prim, 0xaa, sizeof(prim));
	memset(file, 0xbb, sizeof(file));
	memset(next, 0xcc, sizeof(next));
	/* [0x10000, 0x14000) in the core, only its first half saved */
	struct gci_segment p = seg(0x10000, 0x14000, 0x12000, prim, "core", WHY);
	CU_ASSERT_FATAL(OK(gci_memory_add(&mem, GCI_TIER_PRIMARY, &p)));
	/* [0x14000, 0x15000) fully saved */
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0x14000, next, sizeof(next))));
	/* the file covers [0x10000, 0x14000): overlapping the other tier is fine */
	struct gci_segment f = seg(0x10000, 0x14000, 0x14000, file, "file /usr/bin/python3",
				   NULL);
	CU_ASSERT_FATAL(OK(gci_memory_add(&mem, GCI_TIER_FALLBACK, &f)));

	unsigned char out[32], want[32];
	/* bytes the core has win */
	CU_ASSERT(OK(gci_memory_read(&mem, 0x11000, out, 16)));
	memset(want, 0xaa, 16);
	CU_ASSERT_EQUAL(memcmp(out, want, 16), 0);
	/* bytes it lacks come from the file */
	CU_ASSERT(OK(gci_memory_read(&mem, 0x13000, out, 16)));
	memset(want, 0xbb, 16);
	CU_ASSERT_EQUAL(memcmp(out, want, 16), 0);
	uint64_t u64 = 0;
	CU_ASSERT(OK(gci_read_u64(&mem, 0x12000, &u64)));
	CU_ASSERT_EQUAL(u64, 0xbbbbbbbbbbbbbbbbULL);
	/* a read across saved_end: first the core, then the file */
	CU_ASSERT(OK(gci_memory_read(&mem, 0x11ff8, out, 16)));
	memset(want, 0xaa, 8);
	memset(want + 8, 0xbb, 8);
	CU_ASSERT_EQUAL(memcmp(out, want, 16), 0);
	/* across the primary segment's end: the file, then the next core segment */
	CU_ASSERT(OK(gci_memory_read(&mem, 0x13ff8, out, 16)));
	memset(want, 0xbb, 8);
	memset(want + 8, 0xcc, 8);
	CU_ASSERT_EQUAL(memcmp(out, want, 16), 0);
	/* all three sources in one read */
	static unsigned char big[0x3008];
	CU_ASSERT(OK(gci_memory_read(&mem, 0x11ff8, big, sizeof(big))));
	CU_ASSERT(big[0] == 0xaa && big[7] == 0xaa && big[8] == 0xbb &&
		  big[0x2007] == 0xbb && big[0x2008] == 0xcc && big[0x3007] == 0xcc);
	/* one byte more runs off the end of everything */
	static unsigned char big1[0x3009];
	CU_ASSERT(ERR_AT(gci_memory_read(&mem, 0x11ff8, big1, sizeof(big1)), GCI_ERR_FAULT,
			 0x15000, NULL));

	/* a file that covers less: the unsaved rest still fails with the reason */
	struct gci_memory m2;
	gci_memory_init(&m2);
	CU_ASSERT_FATAL(OK(gci_memory_add(&m2, GCI_TIER_PRIMARY, &p)));
	struct gci_segment f2 = seg(0x10000, 0x13000, 0x13000, file, "file", NULL);
	CU_ASSERT_FATAL(OK(gci_memory_add(&m2, GCI_TIER_FALLBACK, &f2)));
	CU_ASSERT(OK(gci_memory_read(&m2, 0x12ff8, out, 8)));
	CU_ASSERT(ERR_AT(gci_memory_read(&m2, 0x12ff8, out, 16), GCI_ERR_FAULT, 0x13000, WHY));
	CU_ASSERT(ERR_AT(gci_read_u64(&m2, 0x13800, &u64), GCI_ERR_FAULT, 0x13800, WHY));
	/* a fallback segment with unsaved bytes of its own does not serve them */
	struct gci_memory m3;
	gci_memory_init(&m3);
	CU_ASSERT_FATAL(OK(gci_memory_add(&m3, GCI_TIER_PRIMARY, &p)));
	struct gci_segment f3 = seg(0x10000, 0x14000, 0x12800, file, "file", "past EOF");
	CU_ASSERT_FATAL(OK(gci_memory_add(&m3, GCI_TIER_FALLBACK, &f3)));
	CU_ASSERT(OK(gci_read_u64(&m3, 0x12000, &u64)));
	CU_ASSERT_EQUAL(u64, 0xbbbbbbbbbbbbbbbbULL);
	CU_ASSERT(ERR_AT(gci_read_u64(&m3, 0x12800, &u64), GCI_ERR_FAULT, 0x12800, NULL));
	/* an address only the fallback tier maps */
	struct gci_segment f4 = seg(0x20000, 0x21000, 0x21000, file, "file", NULL);
	CU_ASSERT_FATAL(OK(gci_memory_add(&m3, GCI_TIER_FALLBACK, &f4)));
	CU_ASSERT(OK(gci_read_u64(&m3, 0x20ff8, &u64)));
	CU_ASSERT_EQUAL(u64, 0xbbbbbbbbbbbbbbbbULL);
	CU_ASSERT(ERR_AT(gci_read_u64(&m3, 0x20ffc, &u64), GCI_ERR_FAULT, 0x21000, NULL));
	gci_memory_deinit(&m3);
	gci_memory_deinit(&m2);
	gci_memory_deinit(&mem);
}

/*
 * A read that starts where only the fallback tier maps and runs on into a
 * primary segment must take the primary segment's bytes there.
 */
static void test_fallback_does_not_shadow_next_primary(void)
{
	static unsigned char prim[0x1000], file[0x2000];
	struct gci_memory mem;
	gci_memory_init(&mem);
	memset(prim, 0xcc, sizeof(prim));
	memset(file, 0xbb, sizeof(file));
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0x21000, prim, sizeof(prim))));
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_FALLBACK, 0x20000, file, sizeof(file))));
	unsigned char out[16], want[16];
	memset(want, 0xbb, 8);
	memset(want + 8, 0xcc, 8);
	CU_ASSERT(OK(gci_memory_read(&mem, 0x20ff8, out, 16)));
	CU_ASSERT_EQUAL(memcmp(out, want, 16), 0);
	/* the same bytes read one at a time, for comparison */
	for (int i = 0; i < 16; i++)
		CU_ASSERT(OK(gci_memory_read(&mem, 0x20ff8 + (uint64_t)i, out + i, 1)));
	CU_ASSERT_EQUAL(memcmp(out, want, 16), 0);
	gci_memory_deinit(&mem);
}

struct cb_state {
	unsigned calls;
	uint64_t last_address;
	size_t last_size;
	uint64_t bad_start, bad_end; /* reads touching this range fail */
};

/* Byte at address a is (a * 7) & 0xff. */
static struct gci_error *cb_read(void *arg, uint64_t address, void *buf, size_t size)
{
	struct cb_state *st = arg;
	st->calls++;
	st->last_address = address;
	st->last_size = size;
	if (address < st->bad_end && address + size > st->bad_start)
		return gci_error_at(GCI_ERR_FAULT, address, "callback refused 0x%" PRIx64,
				    address);
	unsigned char *out = buf;
	for (size_t i = 0; i < size; i++)
		out[i] = (unsigned char)((address + i) * 7);
	return NULL;
}

static void test_callback(void)
{
	static unsigned char a[0x1000];
	struct cb_state st = {.bad_start = 0x70800, .bad_end = 0x70810};
	struct gci_memory mem;
	gci_memory_init(&mem);
	memset(a, 0x11, sizeof(a));
	struct gci_segment s = seg(0x70000, 0x71000, 0x71000, NULL, "live", NULL);
	s.read = cb_read;
	s.arg = &st;
	CU_ASSERT_FATAL(OK(gci_memory_add(&mem, GCI_TIER_PRIMARY, &s)));
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0x6f000, a, sizeof(a))));

	uint64_t u64 = 0, want = 0;
	for (int i = 0; i < 8; i++)
		want |= (uint64_t)(unsigned char)((0x70100 + i) * 7) << (8 * i);
	CU_ASSERT(OK(gci_read_u64(&mem, 0x70100, &u64)));
	CU_ASSERT_EQUAL(u64, want);
	CU_ASSERT(st.calls >= 1);
	CU_ASSERT_EQUAL(st.last_address, 0x70100);
	CU_ASSERT_EQUAL(st.last_size, 8);
	/* the fast path cannot serve a callback segment */
	CU_ASSERT_PTR_NULL(gci_memory_peek(&mem, 0x70100, 8));
	/* the callback's own error comes through */
	CU_ASSERT(ERR_AT(gci_read_u64(&mem, 0x70808, &u64), GCI_ERR_FAULT, 0x70808,
			 "callback refused"));
	CU_ASSERT_EQUAL(u64, want);
	/* a read from the buffer segment into the callback one */
	unsigned char out[16];
	unsigned before = st.calls;
	CU_ASSERT(OK(gci_memory_read(&mem, 0x6fff8, out, 16)));
	CU_ASSERT_EQUAL(st.calls, before + 1);
	CU_ASSERT_EQUAL(st.last_address, 0x70000);
	CU_ASSERT_EQUAL(st.last_size, 8);
	CU_ASSERT(out[0] == 0x11 && out[7] == 0x11);
	CU_ASSERT(out[8] == (unsigned char)(0x70000 * 7) &&
		  out[15] == (unsigned char)(0x70007 * 7));
	/* the callback is not asked past its segment */
	CU_ASSERT(ERR_AT(gci_memory_read(&mem, 0x70ff8, out, 16), GCI_ERR_FAULT, 0x71000,
			 NULL));
	CU_ASSERT(st.last_address + st.last_size <= 0x71000);
	gci_memory_deinit(&mem);
}

static void test_overlap(void)
{
	static unsigned char a[0x4000];
	struct gci_memory mem;
	gci_memory_init(&mem);
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0x10000, a, 0x2000)));
	/* touching is fine */
	CU_ASSERT(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0x12000, a, 0x1000)));
	CU_ASSERT(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0xf000, a, 0x1000)));
	/* the other tier may overlap */
	CU_ASSERT(OK(add_buf(&mem, GCI_TIER_FALLBACK, 0x10000, a, 0x4000)));

	gci_memory_deinit(&mem);
	gci_memory_init(&mem);
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0x10000, a, 0x2000)));
	CU_ASSERT(ERR(add_buf(&mem, GCI_TIER_PRIMARY, 0x11000, a, 0x2000), GCI_ERR_INPUT,
		      "overlap"));
	gci_memory_deinit(&mem);
	gci_memory_init(&mem);
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0x10000, a, 0x2000)));
	CU_ASSERT(ERR(add_buf(&mem, GCI_TIER_PRIMARY, 0xf000, a, 0x1001), GCI_ERR_INPUT, NULL));
	gci_memory_deinit(&mem);
	gci_memory_init(&mem);
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0x10000, a, 0x2000)));
	CU_ASSERT(ERR(add_buf(&mem, GCI_TIER_PRIMARY, 0x10000, a, 0x2000), GCI_ERR_INPUT, NULL));
	gci_memory_deinit(&mem);
	gci_memory_init(&mem);
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0x10000, a, 0x2000)));
	CU_ASSERT(ERR(add_buf(&mem, GCI_TIER_PRIMARY, 0x10800, a, 0x10), GCI_ERR_INPUT, NULL));
	gci_memory_deinit(&mem);
	gci_memory_init(&mem);
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_FALLBACK, 0x10800, a, 0x10)));
	CU_ASSERT(ERR(add_buf(&mem, GCI_TIER_FALLBACK, 0x10000, a, 0x2000), GCI_ERR_INPUT,
		      NULL));

	/* invalid segments */
	struct gci_segment bad = seg(0x30000, 0x30000, 0x30000, a, "empty", NULL);
	CU_ASSERT(ERR(gci_memory_add(&mem, GCI_TIER_PRIMARY, &bad), GCI_ERR_INPUT, NULL));
	bad = seg(0x30000, 0x20000, 0x20000, a, "backwards", NULL);
	CU_ASSERT(ERR(gci_memory_add(&mem, GCI_TIER_PRIMARY, &bad), GCI_ERR_INPUT, NULL));
	bad = seg(0x30000, 0x31000, 0x32000, a, "saved past end", NULL);
	CU_ASSERT(ERR(gci_memory_add(&mem, GCI_TIER_PRIMARY, &bad), GCI_ERR_INPUT, NULL));
	bad = seg(0x30000, 0x31000, 0x2f000, a, "saved before start", NULL);
	CU_ASSERT(ERR(gci_memory_add(&mem, GCI_TIER_PRIMARY, &bad), GCI_ERR_INPUT, NULL));
	gci_memory_deinit(&mem);
}

/*
 * A refused segment must leave the address space as it was: not readable,
 * and not in the way of later, valid segments.
 */
static void test_refused_segment_not_kept(void)
{
	static unsigned char a[0x2000], b[0x2000], c[0x1000];
	struct gci_memory mem;
	gci_memory_init(&mem);
	memset(a, 0xaa, sizeof(a));
	memset(b, 0xbb, sizeof(b));
	memset(c, 0xcc, sizeof(c));
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0x10000, a, sizeof(a))));
	CU_ASSERT(ERR(add_buf(&mem, GCI_TIER_PRIMARY, 0x11000, b, sizeof(b)), GCI_ERR_INPUT,
		      NULL));
	/* a valid segment after the refused one */
	CU_ASSERT(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0x20000, c, sizeof(c))));
	uint64_t u64 = 0;
	/* what the refused segment alone would have covered */
	CU_ASSERT(ERR_AT(gci_read_u64(&mem, 0x12800, &u64), GCI_ERR_FAULT, 0x12800, NULL));
	/* the overlapped range still reads from the first segment */
	CU_ASSERT(OK(gci_read_u64(&mem, 0x11800, &u64)));
	CU_ASSERT_EQUAL(u64, 0xaaaaaaaaaaaaaaaaULL);
	CU_ASSERT(OK(gci_read_u64(&mem, 0x20000, &u64)));
	CU_ASSERT_EQUAL(u64, 0xccccccccccccccccULL);
	gci_memory_deinit(&mem);
}

static void test_cstr(void)
{
	static unsigned char a[0x2000];
	struct gci_memory mem;
	gci_memory_init(&mem);
	memset(a, 'x', sizeof(a));
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0x30000, a, sizeof(a))));
	char *s = NULL;

	memcpy(a + 0x10, "hello", 6);
	CU_ASSERT(OK(gci_read_cstr(&mem, 0x30010, 512, &s)));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "hello");
	free(s);
	s = NULL;
	/* the empty string */
	CU_ASSERT(OK(gci_read_cstr(&mem, 0x30015, 512, &s)));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "");
	free(s);
	s = NULL;
	/* exactly max bytes, then one too many */
	CU_ASSERT(OK(gci_read_cstr(&mem, 0x30010, 5, &s)));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "hello");
	free(s);
	s = NULL;
	CU_ASSERT(ERR_AT(gci_read_cstr(&mem, 0x30010, 4, &s), GCI_ERR_INTEGRITY, 0x30010,
			 NULL));
	CU_ASSERT_PTR_NULL(s);
	/* no NUL within max */
	memset(a + 0x100, 'y', 600);
	a[0x100 + 600] = 0;
	CU_ASSERT(ERR_AT(gci_read_cstr(&mem, 0x30100, 512, &s), GCI_ERR_INTEGRITY, 0x30100,
			 "0x30100"));
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT(OK(gci_read_cstr(&mem, 0x30100, 600, &s)));
	CU_ASSERT(s && strlen(s) == 600);
	free(s);
	s = NULL;
	/* a string across a page boundary inside the segment */
	memcpy(a + 0xffc, "pagecross", 10);
	CU_ASSERT(OK(gci_read_cstr(&mem, 0x30ffc, 512, &s)));
	CU_ASSERT(s && strcmp(s, "pagecross") == 0);
	free(s);
	s = NULL;
	/* a string ending exactly at the end of the segment (next page unmapped) */
	memcpy(a + sizeof(a) - 5, "tail", 5);
	CU_ASSERT(OK(gci_read_cstr(&mem, 0x30000 + sizeof(a) - 5, 512, &s)));
	CU_ASSERT(s && strcmp(s, "tail") == 0);
	free(s);
	s = NULL;
	/* a string running into the unmapped page */
	memcpy(a + sizeof(a) - 4, "runs", 4);
	CU_ASSERT(ERR_AT(gci_read_cstr(&mem, 0x30000 + sizeof(a) - 4, 512, &s), GCI_ERR_FAULT,
			 0x32000, NULL));
	CU_ASSERT_PTR_NULL(s);
	/* from unmapped memory */
	CU_ASSERT(ERR_AT(gci_read_cstr(&mem, 0x40000, 512, &s), GCI_ERR_FAULT, 0x40000, NULL));
	/* max 0: only the empty string */
	CU_ASSERT(OK(gci_read_cstr(&mem, 0x30015, 0, &s)));
	CU_ASSERT(s && s[0] == 0);
	free(s);
	s = NULL;
	CU_ASSERT(ERR(gci_read_cstr(&mem, 0x30010, 0, &s), GCI_ERR_INTEGRITY, NULL));
	gci_memory_deinit(&mem);
}

/*
 * Segments need not end on a page boundary (a test buffer, a file-backed
 * range ending at EOF): a short string near such an end must still be read.
 */
static void test_cstr_unaligned_segment_end(void)
{
	static unsigned char a[0x100];
	struct gci_memory mem;
	gci_memory_init(&mem);
	memset(a, 'z', sizeof(a));
	memcpy(a + 0x10, "short", 6);
	memcpy(a + sizeof(a) - 4, "end", 4);
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0x50000, a, sizeof(a))));
	char *s = NULL;
	CU_ASSERT(OK(gci_read_cstr(&mem, 0x50010, 512, &s)));
	CU_ASSERT(s && strcmp(s, "short") == 0);
	free(s);
	s = NULL;
	CU_ASSERT(OK(gci_read_cstr(&mem, 0x50000 + sizeof(a) - 4, 512, &s)));
	CU_ASSERT(s && strcmp(s, "end") == 0);
	free(s);
	gci_memory_deinit(&mem);
}

static void test_wraparound(void)
{
	static unsigned char top[0x1000];
	struct gci_memory mem;
	gci_memory_init(&mem);
	memset(top, 'w', sizeof(top));
	/* [UINT64_MAX - 0xfff, UINT64_MAX): the highest segment there can be */
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_PRIMARY, UINT64_MAX - 0xfff, top, 0xfff)));
	unsigned char out[8];
	uint64_t u64 = 42;
	CU_ASSERT(ERR_AT(gci_memory_read(&mem, UINT64_MAX - 3, out, 8), GCI_ERR_FAULT,
			 UINT64_MAX - 3, NULL));
	CU_ASSERT(ERR_AT(gci_read_u64(&mem, UINT64_MAX - 3, &u64), GCI_ERR_FAULT,
			 UINT64_MAX - 3, NULL));
	CU_ASSERT(ERR(gci_read_u64(&mem, UINT64_MAX, &u64), GCI_ERR_FAULT, NULL));
	/* the last byte, UINT64_MAX, is never inside a segment */
	CU_ASSERT(ERR(gci_read_u64(&mem, UINT64_MAX - 7, &u64), GCI_ERR_FAULT, NULL));
	CU_ASSERT_EQUAL(u64, 42);
	CU_ASSERT(OK(gci_read_u64(&mem, UINT64_MAX - 8, &u64)));
	CU_ASSERT_EQUAL(u64, 0x7777777777777777ULL);
	CU_ASSERT_PTR_NULL(gci_memory_peek(&mem, UINT64_MAX - 3, 8));
	/* a string at the top of the address space without a NUL */
	char *s = NULL;
	CU_ASSERT(ERR(gci_read_cstr(&mem, UINT64_MAX - 16, 512, &s), GCI_ERR_FAULT, NULL));
	CU_ASSERT_PTR_NULL(s);
	gci_memory_deinit(&mem);

	/* wrap-around with nothing mapped at all */
	gci_memory_init(&mem);
	CU_ASSERT(ERR_AT(gci_memory_read(&mem, UINT64_MAX - 3, out, 8), GCI_ERR_FAULT,
			 UINT64_MAX - 3, NULL));
	gci_memory_deinit(&mem);
}

#define NSEGS 10000
#define SEG_STRIDE 0x40
#define SEG_SIZE 16
#define SEG_BASE 0x100000ULL

static void test_many_segments(void)
{
	struct gci_memory mem;
	gci_memory_init(&mem);
	uint64_t *vals = calloc(NSEGS * 2, sizeof(uint64_t));
	size_t *order = calloc(NSEGS, sizeof(size_t));
	CU_ASSERT_FATAL(vals && order);
	for (size_t i = 0; i < NSEGS; i++) {
		vals[2 * i] = i;
		vals[2 * i + 1] = ~(uint64_t)i;
		order[i] = i;
	}
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	for (size_t i = NSEGS - 1; i > 0; i--) {
		size_t j = (size_t)(unit_rand(&rng) % (i + 1));
		size_t t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	clock_t t0 = clock();
	bool all_added = true;
	for (size_t k = 0; k < NSEGS; k++) {
		size_t i = order[k];
		uint64_t start = SEG_BASE + i * SEG_STRIDE;
		struct gci_segment s = seg(start, start + SEG_SIZE, start + SEG_SIZE,
					   &vals[2 * i], "seg", NULL);
		if (!OK(gci_memory_add(&mem, GCI_TIER_PRIMARY, &s)))
			all_added = false;
	}
	CU_ASSERT_FATAL(all_added);
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	/* for information only: timing is no pass/fail criterion */
	fprintf(stderr, "\n  adding %d segments took %.2f s\n", NSEGS, secs);

	size_t bad = 0;
	/* look every segment up, in random order and in address order */
	for (size_t pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < NSEGS; k++) {
			size_t i = pass ? k : order[NSEGS - 1 - k];
			uint64_t start = SEG_BASE + i * SEG_STRIDE;
			uint64_t v = UINT64_MAX, w = 0;
			struct gci_error *err = gci_read_u64(&mem, start, &v);
			if (err || v != i)
				bad++;
			gci_error_destroy(err);
			err = gci_read_u64(&mem, start + 8, &w);
			if (err || w != ~(uint64_t)i)
				bad++;
			gci_error_destroy(err);
			const struct gci_segment *f =
				gci_memory_find(&mem, start + SEG_SIZE - 1, GCI_TIER_PRIMARY);
			if (!f || f->start != start)
				bad++;
			/* the gaps around it are unmapped */
			if (gci_memory_find(&mem, start + SEG_SIZE, GCI_TIER_PRIMARY) ||
			    gci_memory_find(&mem, start - 1, GCI_TIER_PRIMARY))
				bad++;
			err = gci_read_u64(&mem, start + SEG_SIZE, &v);
			if (!err || !err->has_address || err->address != start + SEG_SIZE)
				bad++;
			gci_error_destroy(err);
		}
	}
	if (bad)
		fprintf(stderr, "  %zu bad lookups\n", bad);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_PTR_NULL(gci_memory_find(&mem, SEG_BASE - 1, GCI_TIER_PRIMARY));
	CU_ASSERT_PTR_NULL(gci_memory_find(&mem, SEG_BASE + NSEGS * SEG_STRIDE,
					   GCI_TIER_PRIMARY));
	CU_ASSERT_PTR_NULL(gci_memory_find(&mem, SEG_BASE, GCI_TIER_FALLBACK));
	gci_memory_deinit(&mem);
	free(vals);
	free(order);
}

static void test_peek(void)
{
	static unsigned char a[0x1000], b[0x1000], f[0x1000];
	struct gci_memory mem;
	gci_memory_init(&mem);
	/* nothing mapped */
	CU_ASSERT_PTR_NULL(gci_memory_peek(&mem, 0x1000, 8));
	struct gci_segment s = seg(0x1000, 0x2000, 0x1800, a, "core", WHY);
	CU_ASSERT_FATAL(OK(gci_memory_add(&mem, GCI_TIER_PRIMARY, &s)));
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_PRIMARY, 0x4000, b, sizeof(b))));
	CU_ASSERT_FATAL(OK(add_buf(&mem, GCI_TIER_FALLBACK, 0x1000, f, sizeof(f))));

	/* after a lookup in the first segment the fast path serves it */
	CU_ASSERT_PTR_NOT_NULL(gci_memory_find(&mem, 0x1100, GCI_TIER_PRIMARY));
	CU_ASSERT_PTR_EQUAL(gci_memory_peek(&mem, 0x1100, 8), a + 0x100);
	CU_ASSERT_PTR_EQUAL(gci_memory_peek(&mem, 0x1000, 8), a);
	/* up to saved_end exactly, and no further */
	CU_ASSERT_PTR_EQUAL(gci_memory_peek(&mem, 0x17f8, 8), a + 0x7f8);
	CU_ASSERT_PTR_NULL(gci_memory_peek(&mem, 0x17fc, 8));
	CU_ASSERT_PTR_NULL(gci_memory_peek(&mem, 0x1800, 8));
	CU_ASSERT_PTR_NULL(gci_memory_peek(&mem, 0x1900, 1));
	/* outside: below, in the gap, in another segment, huge sizes */
	CU_ASSERT_PTR_NULL(gci_memory_peek(&mem, 0xff8, 8));
	CU_ASSERT_PTR_NULL(gci_memory_peek(&mem, 0x2000, 8));
	CU_ASSERT_PTR_NULL(gci_memory_peek(&mem, 0x1100, 0x800));
	CU_ASSERT_PTR_NULL(gci_memory_peek(&mem, 0x1100, SIZE_MAX));
	CU_ASSERT_PTR_NULL(gci_memory_peek(&mem, UINT64_MAX - 3, 8));
	/* the second segment, once looked up */
	uint64_t u64;
	CU_ASSERT(OK(gci_read_u64(&mem, 0x4010, &u64)));
	CU_ASSERT_PTR_EQUAL(gci_memory_peek(&mem, 0x4ff8, 8), b + 0xff8);
	CU_ASSERT_PTR_NULL(gci_memory_peek(&mem, 0x4ffc, 8));
	/* never a pointer into the fallback tier, even where it has the bytes */
	CU_ASSERT(OK(gci_read_u64(&mem, 0x1900, &u64)));
	CU_ASSERT_PTR_NULL(gci_memory_peek(&mem, 0x1900, 8));
	/* whatever peek returns is the bytes a read gets */
	for (uint64_t addr = 0x1000; addr < 0x5000; addr += 0x1f8) {
		const unsigned char *p = gci_memory_peek(&mem, addr, 8);
		if (p) {
			uint64_t r, q;
			memcpy(&q, p, 8);
			CU_ASSERT(OK(gci_memory_read(&mem, addr, &r, 8)));
			CU_ASSERT_EQUAL(q, r);
		}
	}
	gci_memory_deinit(&mem);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"typed reads", test_typed_reads},
		{"read across adjacent segments", test_adjacent_segments},
		{"read across a gap", test_gap},
		{"read past saved_end", test_unsaved},
		{"fallback tier", test_fallback},
		{"fallback does not shadow the next primary segment",
		 test_fallback_does_not_shadow_next_primary},
		{"callback segments", test_callback},
		{"overlapping segments refused", test_overlap},
		{"refused segment not kept", test_refused_segment_not_kept},
		{"gci_read_cstr", test_cstr},
		{"gci_read_cstr at an unaligned segment end", test_cstr_unaligned_segment_end},
		{"wrap-around", test_wraparound},
		{"10000 segments in random order", test_many_segments},
		{"gci_memory_peek", test_peek},
		{NULL, NULL},
	};
	return unit_main("memory", tests);
}
