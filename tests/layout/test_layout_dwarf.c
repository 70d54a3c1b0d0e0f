/*
 * Every built-in layout table against the DWARF of a real build of that
 * version: the offsets a table gives must be exactly what the compiler laid
 * out.  Arguments: VERSION=PATH pairs, PATH an ELF file with DWARF for that
 * CPython (a pyenv libpython, or a Debian detached .debug file).
 */
#include <CUnit/Basic.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dwarf_layout.h"
#include "layout.h"
#include "program.h"

struct build {
	unsigned major, minor, micro;
	bool free_threaded;   /* "3.13.15t=PATH" */
	const char *path;
};

static struct build builds[32];
static size_t nbuilds;
static struct gci_program *prog;

static int read_cb(void *arg, uint64_t address, void *buf, size_t size)
{
	return -1;
}

static void check_build(const struct build *b)
{
	uint32_t hex = (b->major << 24) | (b->minor << 16) | (b->micro << 8) | 0xf0;
	const struct gci_layout *table = gci_layout_table_find(hex, false, b->free_threaded);
	char what[512];
	snprintf(what, sizeof(what), "%u.%u.%u%s (%s)", b->major, b->minor, b->micro,
		 b->free_threaded ? "t" : "", b->path);
	if (!table) {
		fprintf(stderr, "no table for %s\n", what);
		CU_FAIL("a table exists for every version with DWARF here");
		return;
	}
	int fd = open(b->path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "cannot open %s\n", b->path);
		CU_FAIL("the DWARF file exists");
		return;
	}
	Dwarf *dw = dwarf_begin(fd, DWARF_C_READ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dw);
	struct gci_layout from_dwarf;
	int disagree = -1;
	struct gci_error *err = gci_layout_from_dwarf(prog, dw, table, &from_dwarf, &disagree);
	if (err) {
		fprintf(stderr, "%s: %s\n", what, err->message);
		gci_error_destroy(err);
		CU_FAIL("layout from DWARF");
	} else {
		/* Field by field, so that a failure names the field. */
		size_t bad = 0;
		int expected = 0;
		for (size_t i = 0; i < gci_layout_nfields; i++) {
			const struct gci_layout_field *f = &gci_layout_fields[i];
			int64_t t = gci_layout_get(table, f), d = gci_layout_get(&from_dwarf, f);
			/* A build from Debian's sources carries its PyGC_Head
			 * alignment patch: generations at +20, not upstream's +24
			 * (discovery finds that without DWARF). */
			if (b->free_threaded && !strcmp(f->name, "gc_generations") && d == t - 4) {
				printf("  %s: generations at +%lld: Debian's PyGC_Head "
				       "alignment patch\n", what, (long long)d);
				expected++;
				continue;
			}
			if (t != d) {
				fprintf(stderr, "%s: %s: table %lld, DWARF %lld\n", what, f->name,
					(long long)t, (long long)d);
				bad++;
			}
		}
		CU_ASSERT_EQUAL(bad, 0);
		CU_ASSERT_EQUAL(disagree, expected);
		printf("  %s: %zu fields agree with %s\n", what, gci_layout_nfields,
		       table->name);
	}
	dwarf_end(dw);
	close(fd);
}

static void test_tables_match_dwarf(void)
{
	CU_ASSERT_TRUE_FATAL(nbuilds > 0);
	for (size_t i = 0; i < nbuilds; i++)
		check_build(&builds[i]);
}

/* A table that is wrong must be caught: shift one field and compare. */
static void test_mismatch_detected(void)
{
	/* The newest build given: one with a GC state struct. */
	CU_ASSERT_TRUE_FATAL(nbuilds > 0);
	const struct build *b = NULL;
	const struct gci_layout *table = NULL;
	for (size_t i = 0; i < nbuilds; i++) {
		uint32_t hex = (builds[i].major << 24) | (builds[i].minor << 16) |
			       (builds[i].micro << 8) | 0xf0;
		const struct gci_layout *t = gci_layout_table_find(hex, false,
								   builds[i].free_threaded);
		if (t && t->state_kind != GCI_STATE_STATIC) {
			b = &builds[i];
			table = t;
		}
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(table);
	struct gci_layout wrong = *table, out;
	wrong.gc_collecting += 8;
	wrong.tp_flags += 8;
	int fd = open(b->path, O_RDONLY);
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	Dwarf *dw = dwarf_begin(fd, DWARF_C_READ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dw);
	int disagree = 0;
	struct gci_error *err = gci_layout_from_dwarf(prog, dw, &wrong, &out, &disagree);
	CU_ASSERT_PTR_NULL(err);
	/* (+1: Debian's aligned PyGC_Head in a free-threaded build) */
	CU_ASSERT_TRUE(disagree == 2 || (b->free_threaded && disagree == 3));
	CU_ASSERT_EQUAL(out.gc_collecting, table->gc_collecting);
	CU_ASSERT_EQUAL(out.tp_flags, table->tp_flags);
	gci_error_destroy(err);
	dwarf_end(dw);
	close(fd);
}

/* Every table is sane; a layout poisoned as a hostile cache file could be is not. */
static void test_validator(void)
{
	size_t n;
	const struct gci_layout_table *t = gci_layout_tables(&n);
	for (size_t i = 0; i < n; i++) {
		const char *bad = gci_layout_invalid(&t[i].layout);
		if (bad)
			fprintf(stderr, "%s: %s\n", t[i].layout.name, bad);
		CU_ASSERT_PTR_NULL(bad);
	}
	/* The newest GIL table and the newest free-threaded one. */
	size_t gil = 0, ft = 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i].free_threaded)
			ft = i;
		else
			gil = i;
	}
	struct gci_layout L = t[gil].layout;
	L.ngens = 40;
	CU_ASSERT_PTR_NOT_NULL(gci_layout_invalid(&L));
	L = t[gil].layout;
	L.gc_next = 64;
	CU_ASSERT_PTR_NOT_NULL(gci_layout_invalid(&L));
	L = t[gil].layout;
	L.ob_type = -8;
	CU_ASSERT_PTR_NOT_NULL(gci_layout_invalid(&L));
	L = t[gil].layout;
	L.gen_count = 1 << 22;
	CU_ASSERT_PTR_NOT_NULL(gci_layout_invalid(&L));
	CU_ASSERT_TRUE_FATAL(t[ft].free_threaded);
	L = t[ft].layout;
	L.gc_head_size = 16;
	CU_ASSERT_PTR_NOT_NULL(gci_layout_invalid(&L));
	L = t[ft].layout;
	L.ft.page_size = 8;
	CU_ASSERT_PTR_NOT_NULL(gci_layout_invalid(&L));
	L = t[ft].layout;
	L.ft.heap_nqueues = 1000;
	CU_ASSERT_PTR_NOT_NULL(gci_layout_invalid(&L));
	L = t[ft].layout;
	L.ft.page_used = 111;
	CU_ASSERT_PTR_NOT_NULL(gci_layout_invalid(&L));
	L = t[ft].layout;
	L.ft.pool_abandoned = 64;  /* both the pool and the sub-process */
	L.ft.pool_abandoned_visited = 0;
	L.ft.seg_abandoned_next = 176;
	CU_ASSERT_PTR_NOT_NULL(gci_layout_invalid(&L));
	L = t[ft].layout;
	L.ft.segment_shift = 60;
	CU_ASSERT_PTR_NOT_NULL(gci_layout_invalid(&L));
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc && nbuilds < 32; i++) {
		struct build *b = &builds[nbuilds];
		char *eq = strchr(argv[i], '=');
		if (!eq || sscanf(argv[i], "%u.%u.%u", &b->major, &b->minor, &b->micro) != 3) {
			fprintf(stderr, "usage: %s X.Y.Z[t]=DWARF_FILE...\n", argv[0]);
			return 2;
		}
		b->free_threaded = eq > argv[i] && eq[-1] == 't';
		b->path = eq + 1;
		nbuilds++;
	}
	struct gci_error *err = gci_program_open_callback(read_cb, NULL, NULL, 0,
							  NULL, &prog);
	if (err) {
		fprintf(stderr, "%s\n", err->message);
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite s = CU_add_suite("layout-dwarf", NULL, NULL);
	CU_add_test(s, "every table matches the DWARF of its version", test_tables_match_dwarf);
	CU_add_test(s, "a wrong table is detected", test_mismatch_detected);
	CU_add_test(s, "the layout validator", test_validator);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	gci_program_destroy(prog);
	return failures ? 1 : 0;
}
