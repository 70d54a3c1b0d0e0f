/*
 * Searching target memory, the same way for every memory source.
 *
 * A core's segments are buffers (the mmap'd file) and are searched in place.
 * A live process and a callback program have no buffers: their memory is
 * read through the program's memory interface (and so its block cache) in
 * blocks of SCAN_BLOCK bytes, never one call per word.  Consecutive blocks
 * overlap, so a pattern that straddles two blocks is still seen whole.
 *
 * Which ranges hold memory: a core's PT_LOAD segments; a live process's
 * /proc/PID/maps entries (one segment each); a callback program answers
 * reads anywhere, so a bounded search (a module's range) reads the range
 * itself, and an unbounded one reads the mappings its caller listed.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "program.h"

#define SCAN_BLOCK (256u * 1024)
#define SCAN_PAGE 4096u
/* A range this large is not "bounded": search the known mappings instead. */
#define SCAN_DIRECT_MAX (UINT64_C(1) << 32)
/*
 * In a mapping a callback's caller listed, this much memory in a row that
 * cannot be read ends the search of that mapping.  The caller (gdb's `info
 * proc mappings`) lists reservations without access too, and gives no
 * permissions: probing such a mapping page by page to its end would never
 * end for one of terabytes (a fuzz_callback finding).  gdb lists each
 * mapping of the process on its own (guard pages too), and what a core
 * lacks of one is its tail; a hole of up to 16 pages is still skipped to
 * what follows it.
 */
#define SCAN_MAPPING_HOLE_MAX (UINT64_C(64) << 10)

struct scan {
	struct gci_program *prog;
	size_t overlap;
	gci_scan_fn *fn;
	void *arg;
	unsigned char *buf;
	uint64_t bytes;        /* searched so far */
	uint64_t hole_max;     /* unreadable bytes in a row that end a range; 0: none */
	bool stop;
};

/*
 * Read [a, b) into the scan buffer as far as it can be read; an unreadable
 * page ends the readable run.  Returns the bytes read from a.
 */
static size_t read_run(struct scan *sc, uint64_t a, uint64_t b)
{
	size_t want = (size_t)(b - a);
	struct gci_error *err = gci_memory_read(&sc->prog->mem, a, sc->buf, want);
	if (!err)
		return want;
	gci_error_destroy(err);
	/* Page by page: keep what can be read. */
	size_t got = 0;
	while (got < want) {
		uint64_t p = a + got;
		size_t n = SCAN_PAGE - (size_t)(p % SCAN_PAGE);
		if (n > want - got)
			n = want - got;
		err = gci_memory_read(&sc->prog->mem, p, sc->buf + got, n);
		if (err) {
			gci_error_destroy(err);
			break;
		}
		got += n;
	}
	return got;
}

/* Search [a, b), a range with no buffer, in overlapping blocks. */
static void scan_read(struct scan *sc, uint64_t a, uint64_t b)
{
	uint64_t unreadable = 0;  /* bytes in a row that could not be read */
	while (a < b && !sc->stop) {
		uint64_t end = b - a > SCAN_BLOCK ? a + SCAN_BLOCK : b;
		size_t got = read_run(sc, a, end);
		if (got) {
			unreadable = 0;
			sc->bytes += got;
			if (sc->fn(sc->arg, a, sc->buf, got))
				sc->stop = true;
		}
		if (got < end - a) {
			/* Skip the unreadable page, then go on. */
			uint64_t bad = a + got;
			a = (bad | (SCAN_PAGE - 1)) + 1;
			if (a <= bad)
				break;
			unreadable += a - bad;
			if (sc->hole_max && unreadable >= sc->hole_max)
				break;
			continue;
		}
		if (end == b)
			break;
		a = end - sc->overlap;
	}
}

/* Search a buffer in place, in blocks (so the callback's work stays bounded). */
static void scan_buffer(struct scan *sc, uint64_t a, const unsigned char *p, uint64_t len)
{
	uint64_t off = 0;
	while (off < len && !sc->stop) {
		uint64_t n = len - off > SCAN_BLOCK ? SCAN_BLOCK : len - off;
		sc->bytes += n;
		if (sc->fn(sc->arg, a + off, p + off, (size_t)n))
			sc->stop = true;
		if (off + n == len)
			break;
		off += n - sc->overlap;
	}
}

static int range_compare(const void *x, const void *y)
{
	const struct gci_mapping *a = x, *b = y;
	return a->start < b->start ? -1 : a->start > b->start;
}

/* Unbounded search of a callback program: the mappings its caller gave. */
static struct gci_error *scan_maps(struct scan *sc, uint64_t lo, uint64_t hi)
{
	struct gci_program *prog = sc->prog;
	if (!prog->nmaps)
		return NULL;
	struct gci_mapping *r = gci_reallocarray(NULL, prog->nmaps, sizeof(*r));
	if (!r)
		return &gci_enomem;
	memcpy(r, prog->maps, prog->nmaps * sizeof(*r));
	qsort(r, prog->nmaps, sizeof(*r), range_compare);
	uint64_t done = lo;
	sc->hole_max = SCAN_MAPPING_HOLE_MAX;
	for (size_t i = 0; i < prog->nmaps && !sc->stop; i++) {
		uint64_t a = r[i].start > done ? r[i].start : done;
		uint64_t b = r[i].end < hi ? r[i].end : hi;
		if (a < b) {
			scan_read(sc, a, b);
			done = b;
		}
	}
	sc->hole_max = 0;
	free(r);
	return NULL;
}

struct gci_error *gci_program_scan(struct gci_program *prog, uint64_t lo, uint64_t hi,
				   size_t overlap, gci_scan_fn *fn, void *arg,
				   uint64_t *ret_bytes)
{
	struct scan sc = { .prog = prog, .overlap = overlap, .fn = fn, .arg = arg };
	if (overlap >= SCAN_BLOCK / 2)
		return gci_error_create(GCI_ERR_OTHER, "scan overlap of %zu bytes is too large",
					overlap);
	struct gci_error *err = NULL;
	struct gci_memory *mem = &prog->mem;
	for (size_t i = 0; i < mem->nsegs[GCI_TIER_PRIMARY] && !sc.stop && !err; i++) {
		const struct gci_segment *seg = &mem->segs[GCI_TIER_PRIMARY][i];
		uint64_t a = seg->start > lo ? seg->start : lo;
		uint64_t b = seg->saved_end < hi ? seg->saved_end : hi;
		if (a >= b)
			continue;
		if (seg->buf) {
			scan_buffer(&sc, a, seg->buf + (a - seg->start), b - a);
			continue;
		}
		if (!sc.buf && !(sc.buf = malloc(SCAN_BLOCK))) {
			err = &gci_enomem;
			break;
		}
		/* A segment over everything (a callback): read a bounded range
		 * itself, else what the caller said is mapped. */
		if (seg->end - seg->start >= SCAN_DIRECT_MAX && b - a >= SCAN_DIRECT_MAX)
			err = scan_maps(&sc, a, b);
		else
			scan_read(&sc, a, b);
	}
	free(sc.buf);
	if (ret_bytes)
		*ret_bytes = sc.bytes;
	return err;
}
