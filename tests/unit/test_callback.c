/*
 * Callback programs and the block cache (what the gdb plugin uses): reads
 * arrive in blocks, never one per object; holes fault with their address;
 * the block last used serves the walker's peek fast path; a reader that
 * fails a whole block is retried page by page.
 */
#include "unit.h"

#include <fcntl.h>
#include <unistd.h>

#include "blockcache.h"
#include "memory.h"
#include "pageset.h"
#include "program.h"

#define BASE 0x40000000ULL
#define SIZE (4 * GCI_BLOCK_SIZE)

static unsigned char image[SIZE];
static uint64_t hole_start, hole_end;  /* unreadable [start, end) */
static unsigned calls;

static int fake_read(void *arg, uint64_t address, void *buf, size_t size)
{
	calls++;
	if (address < BASE || address + size > BASE + SIZE)
		return -1;
	if (address < hole_end && hole_start < address + size)
		return -1;
	memcpy(buf, image + (address - BASE), size);
	return 0;
}

static struct gci_program *open_fake(void)
{
	for (size_t i = 0; i < SIZE; i++)
		image[i] = (unsigned char)(i * 7 + (i >> 12));
	calls = 0;
	struct gci_program *prog = NULL;
	CU_ASSERT_FATAL(OK(gci_program_open_callback(fake_read, NULL, NULL, 0, NULL, &prog)));
	return prog;
}

static void test_blocks_not_objects(void)
{
	hole_start = hole_end = 0;
	struct gci_program *prog = open_fake();
	unsigned before = calls;
	/* 4096 small reads inside one block: one callback. */
	for (uint64_t off = 0; off < GCI_BLOCK_SIZE; off += 16) {
		uint64_t v;
		CU_ASSERT_FATAL(OK(gci_read_u64(&prog->mem, BASE + off, &v)));
		uint64_t want;
		memcpy(&want, image + off, 8);
		CU_ASSERT_EQUAL(v, want);
	}
	CU_ASSERT_EQUAL(calls - before, 1);
	/* The block is the peek window now. */
	const unsigned char *p = gci_memory_peek(&prog->mem, BASE + 100, 16);
	CU_ASSERT_PTR_NOT_NULL(p);
	if (p)
		CU_ASSERT_EQUAL(memcmp(p, image + 100, 16), 0);
	/* A read spanning two blocks: one more callback, right bytes. */
	unsigned char buf[64];
	CU_ASSERT(OK(gci_memory_read(&prog->mem, BASE + GCI_BLOCK_SIZE - 32, buf, 64)));
	CU_ASSERT_EQUAL(memcmp(buf, image + GCI_BLOCK_SIZE - 32, 64), 0);
	CU_ASSERT_EQUAL(calls - before, 2);
	gci_program_destroy(prog);
}

static void test_hole_faults_with_address(void)
{
	/* Page 3 of block 1 cannot be read: the block is retried page by
	 * page, its other pages stay readable, the hole faults. */
	hole_start = BASE + GCI_BLOCK_SIZE + 3 * 4096;
	hole_end = hole_start + 4096;
	struct gci_program *prog = open_fake();
	uint64_t v;
	CU_ASSERT(OK(gci_read_u64(&prog->mem, BASE + GCI_BLOCK_SIZE + 8, &v)));
	CU_ASSERT(ERR_AT(gci_read_u64(&prog->mem, hole_start + 40, &v), GCI_ERR_FAULT,
			 hole_start + 40, "cannot be read"));
	/* A read that starts before the hole names the hole's first byte. */
	unsigned char buf[32];
	CU_ASSERT(ERR_AT(gci_memory_read(&prog->mem, hole_start - 16, buf, 32), GCI_ERR_FAULT,
			 hole_start, NULL));
	CU_ASSERT(OK(gci_read_u64(&prog->mem, hole_end, &v)));
	/* No window over a block with a hole: peek must not serve it. */
	CU_ASSERT_PTR_NULL(gci_memory_peek(&prog->mem, hole_start + 8, 8));
	gci_program_destroy(prog);
	hole_start = hole_end = 0;
}

static void test_unmapped_everywhere(void)
{
	hole_start = hole_end = 0;
	struct gci_program *prog = open_fake();
	uint64_t v;
	CU_ASSERT(ERR_AT(gci_read_u64(&prog->mem, 0x1000, &v), GCI_ERR_FAULT, 0x1000, NULL));
	CU_ASSERT(ERR(gci_read_u64(&prog->mem, UINT64_MAX - 3, &v), GCI_ERR_FAULT, NULL));
	gci_program_destroy(prog);
}

static void test_invalidate(void)
{
	hole_start = hole_end = 0;
	struct gci_program *prog = open_fake();
	uint64_t v, w;
	CU_ASSERT(OK(gci_read_u64(&prog->mem, BASE, &v)));
	image[0] ^= 0xff;  /* the target ran and changed */
	CU_ASSERT(OK(gci_read_u64(&prog->mem, BASE, &w)));
	CU_ASSERT_EQUAL(v, w);  /* cached */
	gci_block_cache_invalidate(prog->cache);
	CU_ASSERT_PTR_NULL(gci_memory_peek(&prog->mem, BASE, 8));
	CU_ASSERT(OK(gci_read_u64(&prog->mem, BASE, &w)));
	CU_ASSERT_NOT_EQUAL(v, w);
	gci_program_destroy(prog);
}

static void test_no_python(void)
{
	hole_start = hole_end = 0;
	struct gci_program *prog = open_fake();
	struct gci_snapshot *snap = NULL;
	CU_ASSERT(ERR(gci_snapshot_take(prog, 0, &snap), GCI_ERR_NOT_PYTHON, "target"));
	CU_ASSERT_PTR_NULL(snap);
	gci_program_destroy(prog);
}

/* Every word names its own block; one page of block `bad` cannot be read. */
static uint64_t bad_page;

static int numbered_read(void *arg, uint64_t address, void *buf, size_t size)
{
	for (uint64_t p = address; p < address + size; p += 4096)
		if (p == bad_page)
			return -1;
	for (size_t i = 0; i + 8 <= size; i += 8) {
		uint64_t v = (address + i) >> GCI_BLOCK_SHIFT;
		memcpy((char *)buf + i, &v, 8);
	}
	return 0;
}

/*
 * A fully readable block is the peek window; a block that evicts it from
 * its cache slot and is only partly readable must not leave the window
 * claiming the old addresses with the new bytes.
 */
static void test_window_after_eviction(void)
{
	struct gci_memory mem;
	gci_memory_init(&mem);
	struct gci_block_cache *c = gci_block_cache_create(&mem, numbered_read, NULL, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	struct gci_segment seg = { .start = 0, .end = 1ULL << 40, .saved_end = 1ULL << 40,
				   .read = gci_block_cache_read, .arg = c, .what = "test" };
	CU_ASSERT_FATAL(OK(gci_memory_add(&mem, GCI_TIER_PRIMARY, &seg)));
	uint64_t a = 0x1000, b = 0x2000, v;  /* one slot: b evicts a */
	bad_page = (b << GCI_BLOCK_SHIFT) + 5 * 4096;
	CU_ASSERT(OK(gci_read_u64(&mem, a << GCI_BLOCK_SHIFT, &v)));
	CU_ASSERT_EQUAL(v, a);
	CU_ASSERT(OK(gci_read_u64(&mem, b << GCI_BLOCK_SHIFT, &v)));
	CU_ASSERT_EQUAL(v, b);
	const unsigned char *p = gci_memory_peek(&mem, (a << GCI_BLOCK_SHIFT) + 8, 8);
	if (p) {
		memcpy(&v, p, 8);
		CU_ASSERT_EQUAL(v, a);  /* a window, if any, must be right */
	}
	CU_ASSERT(OK(gci_read_u64(&mem, (a << GCI_BLOCK_SHIFT) + 8, &v)));
	CU_ASSERT_EQUAL(v, a);
	gci_block_cache_destroy(c);
	gci_memory_deinit(&mem);
}

/* This process's own memory, as a debugger attached to it would read it
 * (through /proc/self/mem: an unmapped address fails, it does not fault). */
static int self_read(void *arg, uint64_t address, void *buf, size_t size)
{
	static int fd = -1;
	if (fd < 0 && (fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	return address <= INT64_MAX &&
	       pread(fd, buf, size, (off_t)address) == (ssize_t)size ? 0 : -1;
}

/* The first mapping of this test's executable, from /proc/self/maps. */
static bool own_exe_mapping(struct gci_mapping *ret, char *path, size_t path_size)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f = fopen("/proc/self/maps", "re");
	if (n <= 0 || !f) {
		if (f)
			fclose(f);
		return false;
	}
	exe[n] = '\0';
	char line[4096 + 128];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long long a, b, off;
		int at = 0;
		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %n", &a, &b, &off, &at) < 3 || !at)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (off == 0 && !strcmp(line + at, exe)) {
			*ret = (struct gci_mapping){ a, b, 0, NULL };
			snprintf(path, path_size, "%s", exe);
			found = true;
		}
	}
	fclose(f);
	return found;
}

/*
 * A caller that says its target is a live process (as the gdb plugin does
 * attached to one): the files are found through /proc/PID/map_files though
 * their paths do not exist here, and page sharing comes from pagemap.
 */
static void test_live_caller(void)
{
	struct gci_mapping m;
	char exe[4096];
	CU_ASSERT_FATAL(own_exe_mapping(&m, exe, sizeof(exe)));
	/* As a container's path would be: not there on this machine. */
	m.path = "/nonexistent/gcinspect-unit/bin/test_callback";
	struct gci_options opts = { .no_cache = true };
	struct gci_program *prog = NULL;
	CU_ASSERT_FATAL(OK(gci_program_open_callback(self_read, NULL, &m, 1, &opts, &prog)));
	struct gci_process_info info = { .pid = getpid(), .signal = -1, .kind = "live",
					 .path = "this test" };
	CU_ASSERT_FATAL(OK(gci_program_set_process_info(prog, &info)));
	CU_ASSERT_EQUAL(prog->proc_pid, getpid());
	/* Detached debug info is looked for in the process's root too. */
	char root_debug[64];
	snprintf(root_debug, sizeof(root_debug), "/proc/%d/root/usr/lib/debug", (int)getpid());
	CU_ASSERT_PTR_NOT_NULL(strstr(prog->debuginfo_path, root_debug));
	CU_ASSERT_FATAL(OK(gci_program_prepare(prog)));
	bool found = false;
	for (size_t i = 0; i < prog->nfiles; i++)
		if (!strcmp(prog->files[i].core_path, m.path) && prog->files[i].path &&
		    strstr(prog->files[i].path, "/map_files/"))
			found = true;
	CU_ASSERT(found);

	/* A page this process wrote and nobody shares: exclusive. */
	static unsigned char page[2 * 4096];
	memset(page, 1, sizeof(page));
	uint64_t addr = ((uint64_t)(uintptr_t)page + 4095) & ~4095ULL;
	struct gci_pageset pages, shared, exclusive;
	gci_pageset_init(&pages);
	gci_pageset_init(&shared);
	gci_pageset_init(&exclusive);
	CU_ASSERT_FATAL(gci_pageset_add_range(&pages, addr, 8));
	uint64_t absent = 99;
	CU_ASSERT(OK(gci_program_page_sharing(prog, &pages, &shared, &exclusive, &absent)));
	CU_ASSERT_EQUAL(absent, 0);
	CU_ASSERT_EQUAL(gci_pageset_count(&shared) + gci_pageset_count(&exclusive), 1);
	struct gci_smaps sm;
	CU_ASSERT(OK(gci_program_smaps(prog, &pages, &sm)));
	CU_ASSERT(sm.known && sm.mappings == 1 && sm.rss >= 4);

	/* Told it is a core after all: no /proc of any process. */
	info.kind = "core";
	CU_ASSERT_FATAL(OK(gci_program_set_process_info(prog, &info)));
	CU_ASSERT_EQUAL(prog->proc_pid, 0);
	CU_ASSERT_PTR_NULL(strstr(prog->debuginfo_path, "/proc/"));
	CU_ASSERT(ERR(gci_program_page_sharing(prog, &pages, &shared, &exclusive, &absent),
		      GCI_ERR_INPUT, "not a live target"));
	gci_pageset_deinit(&pages);
	gci_pageset_deinit(&shared);
	gci_pageset_deinit(&exclusive);
	gci_program_destroy(prog);
}

/* The debug dir a caller names is the only one, live or not. */
static void test_live_debug_dir(void)
{
	struct gci_options opts = { .no_cache = true, .debug_dir = "/nonexistent/debug" };
	struct gci_program *prog = NULL;
	CU_ASSERT_FATAL(OK(gci_program_open_callback(self_read, NULL, NULL, 0, &opts, &prog)));
	struct gci_process_info info = { .pid = getpid(), .signal = -1, .kind = "live" };
	CU_ASSERT_FATAL(OK(gci_program_set_process_info(prog, &info)));
	CU_ASSERT_STRING_EQUAL(prog->debuginfo_path, ":.debug:/nonexistent/debug");
	gci_program_destroy(prog);
	/* and gcinspect --pid without one looks in the process's root too */
	CU_ASSERT_FATAL(OK(gci_program_open_pid(getpid(), NULL, &prog)));
	CU_ASSERT_PTR_NOT_NULL(strstr(prog->debuginfo_path, "/root/usr/lib/debug"));
	gci_program_destroy(prog);
}

/* Without the caller's word, the same path is looked for as it is: missing. */
static void test_callback_without_pid(void)
{
	struct gci_mapping m;
	char exe[4096];
	CU_ASSERT_FATAL(own_exe_mapping(&m, exe, sizeof(exe)));
	m.path = "/nonexistent/gcinspect-unit/bin/test_callback";
	struct gci_options opts = { .no_cache = true };
	struct gci_program *prog = NULL;
	CU_ASSERT_FATAL(OK(gci_program_open_callback(self_read, NULL, &m, 1, &opts, &prog)));
	CU_ASSERT_EQUAL(prog->proc_pid, 0);
	CU_ASSERT_FATAL(OK(gci_program_prepare(prog)));
	for (size_t i = 0; i < prog->nfiles; i++)
		CU_ASSERT_PTR_NULL(prog->files[i].path);
	gci_program_destroy(prog);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"reads arrive in blocks", test_blocks_not_objects},
		{"a hole faults with its address", test_hole_faults_with_address},
		{"unmapped addresses", test_unmapped_everywhere},
		{"invalidate after the target ran", test_invalidate},
		{"no interpreter: a clear error naming the target", test_no_python},
		{"the peek window after an eviction", test_window_after_eviction},
		{"a caller's live pid: files via map_files, pagemap", test_live_caller},
		{"no live pid: files by their paths only", test_callback_without_pid},
		{"a named debug dir stays the only one", test_live_debug_dir},
		{NULL, NULL},
	};
	return unit_main("callback", tests);
}
