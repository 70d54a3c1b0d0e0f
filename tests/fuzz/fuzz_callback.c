/*
 * Fuzz target (c): the callback program (the gdb plugin's path).  The input
 * describes an address space and the files mapped in it:
 *
 *     u8  number of mappings (modulo 9)
 *     per mapping: u64 start, u64 end, u64 file offset, u8 path length
 *                  (modulo 64), the path
 *     then regions up to the end: u64 address, u16 length, the bytes; a
 *     length with bit 15 set is a run of (length & 0x7fff) zero bytes,
 *     with no bytes following
 *
 * (integers little-endian).  A read succeeds when regions cover every byte
 * it asks for, as gdb's does when the memory is there.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define MAX_REGIONS 4096

static const uint8_t zeros[0x8000];

struct region {
	uint64_t start;
	size_t size;
	const uint8_t *bytes;
};

struct space {
	struct region regions[MAX_REGIONS];
	size_t n;
};

static int read_space(void *arg, uint64_t address, void *buf, size_t size)
{
	const struct space *s = arg;
	unsigned char *out = buf;
	/* Byte runs from whichever region holds them; a hole fails the read. */
	while (size) {
		size_t i;
		for (i = 0; i < s->n; i++) {
			const struct region *r = &s->regions[i];
			if (address >= r->start && address - r->start < r->size)
				break;
		}
		if (i == s->n)
			return -1;
		const struct region *r = &s->regions[i];
		size_t off = (size_t)(address - r->start), n = r->size - off;
		if (n > size)
			n = size;
		memcpy(out, r->bytes + off, n);
		out += n;
		address += n;
		size -= n;
	}
	return 0;
}

static bool take(const uint8_t **data, size_t *size, void *out, size_t n)
{
	if (*size < n)
		return false;
	memcpy(out, *data, n);
	*data += n;
	*size -= n;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct space space;
	struct gci_mapping maps[8];
	char paths[8][64];
	uint8_t nmaps = 0;
	space.n = 0;
	if (!take(&data, &size, &nmaps, 1))
		return 0;
	nmaps %= 9;
	for (uint8_t i = 0; i < nmaps; i++) {
		uint8_t len;
		if (!take(&data, &size, &maps[i].start, 8) || !take(&data, &size, &maps[i].end, 8) ||
		    !take(&data, &size, &maps[i].offset, 8) || !take(&data, &size, &len, 1))
			return 0;
		len %= 64;
		if (!take(&data, &size, paths[i], len))
			return 0;
		paths[i][len] = '\0';
		maps[i].path = paths[i];
	}
	while (size >= 10 && space.n < MAX_REGIONS) {
		struct region *r = &space.regions[space.n];
		uint16_t len;
		take(&data, &size, &r->start, 8);
		take(&data, &size, &len, 2);
		if (len & 0x8000) {
			r->size = len & 0x7fff;
			r->bytes = zeros;
		} else {
			r->size = len < size ? len : size;
			r->bytes = data;
			data += r->size;
			size -= r->size;
		}
		if (r->size && r->start + r->size > r->start)
			space.n++;
	}
	struct gci_options opts = fuzz_options();
	struct gci_program *prog;
	struct gci_error *err = gci_program_open_callback(read_space, &space, maps, nmaps,
							  &opts, &prog);
	if (err) {
		fuzz_check_error(err);
		return 0;
	}
	struct gci_process_info info = {
		.pid = 4242, .signal = 11, .command = "python3", .args = "python3 app.py",
		.path = "core.4242", .kind = "core",
	};
	fuzz_check_error(gci_program_set_process_info(prog, &info));
	fuzz_pipeline(prog, 0xffff);
	gci_program_destroy(prog);
	return 0;
}
