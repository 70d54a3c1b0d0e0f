/*
 * Fuzz target (b): the input patches a real core.  The seed is a core of a
 * small python3.11 process, trimmed to the pages gcinspect reads
 * (seeds/python3.11-tiny.core.xz, made by make-seed-core.sh); a random core
 * rarely gets as far as a heap to walk, patches of a real one start there.
 *
 * Input: a selector byte, then patches, each
 *     u32 offset (little-endian, taken modulo the core's size)
 *     u8  length (bytes written, cut at the end of the core)
 *     the bytes
 * The selector says which report is rendered (its low 4 bits modulo 12:
 * report i of fuzz_pipeline; 15: all of them), bit 7 whether the snapshot
 * keeps object records and type pages, and bit 6 whether the machine's
 * files are used (else nothing is found and the GC state is found by its
 * shape).  The core is restored after
 * each input.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

#ifndef GCI_FUZZ_SEED_CORE
#error "GCI_FUZZ_SEED_CORE: the path of the decompressed seed core"
#endif

static unsigned char *seed;
static size_t seed_size;

static void load_seed(void)
{
	const char *path = getenv("GCI_FUZZ_SEED_CORE");
	if (!path)
		path = GCI_FUZZ_SEED_CORE;
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		abort();
	}
	size_t cap = 1 << 20;
	seed = malloc(cap);
	for (;;) {
		if (seed_size == cap)
			seed = realloc(seed, cap *= 2);
		size_t n = fread(seed + seed_size, 1, cap - seed_size, f);
		if (!n)
			break;
		seed_size += n;
	}
	fclose(f);
	if (seed_size < 64) {
		fprintf(stderr, "%s: not a core\n", path);
		abort();
	}
}

/* The memory file holds the seed; a patch is undone from it after each input. */
static int seed_fd = -1;
static const char *seed_path;

struct patch {
	uint32_t off;
	size_t len;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!seed) {
		load_seed();
		seed_fd = fuzz_memfile(seed, seed_size, &seed_path);
	}
	unsigned which = 0xfff;
	bool files = false;
	if (size) {
		/* Low bits pick one report (15: all of them); bit 7: the lean
		 * snapshot, without object records and type pages. */
		unsigned sel = data[0];
		which = (sel & 0x0f) == 0x0f ? 0xfff : 1u << ((sel & 0x0f) % 12);
		if (sel & 0x80)
			which |= 3u << 16;
		files = sel & 0x40;
		data++;
		size--;
	}
	static struct patch done[4096];
	size_t ndone = 0;
	while (size >= 5 && ndone < sizeof(done) / sizeof(done[0])) {
		uint32_t off;
		memcpy(&off, data, 4);
		size_t len = data[4];
		data += 5;
		size -= 5;
		if (len > size)
			len = size;
		off %= (uint32_t)seed_size;
		if (len > seed_size - off)
			len = seed_size - off;
		if (pwrite(seed_fd, data, len, off) != (ssize_t)len)
			abort();
		done[ndone++] = (struct patch){ off, len };
		data += len;
		size -= len;
	}
	struct gci_options opts = fuzz_options();
	if (files) {
		/* The files the core names, as they are on this machine (the
		 * seed's /usr/bin/python3.11 when it is the same build): symbols
		 * and the fallback tier instead of the shape in memory.  DWARF
		 * stays off: the same layout table every time. */
		opts.sysroot = NULL;
		opts.no_dwarf = true;
	}
	struct gci_program *prog;
	struct gci_error *err = gci_program_open_core(seed_path, &opts, &prog);
	if (err) {
		fuzz_check_error(err);
	} else {
		fuzz_pipeline(prog, which);
		gci_program_destroy(prog);
	}
	for (size_t i = 0; i < ndone; i++)
		if (pwrite(seed_fd, seed + done[i].off, done[i].len, done[i].off) !=
		    (ssize_t)done[i].len)
			abort();
	return 0;
}
