/*
 * record_pages CORE [GCINSPECT-OPTIONS...]: which pages of CORE gcinspect
 * reads.  The core's bytes are made unreadable (PROT_NONE); each first
 * touch faults, is recorded and made readable again.  Then a snapshot is
 * taken and every report rendered, as the fuzz targets do.  Prints the file
 * offset of every page of the file read, one per line (hex), for
 * trim_core.py, which writes a core holding only the memory in those pages:
 * the seed of fuzz_core_patch.  (The headers and notes, read while the
 * core is opened, are kept whole by trim_core.py.)
 *
 * A maintainer's tool (tests/fuzz/make-seed-core.sh), not a test.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gcinspect.h"
#include "program.h"

static unsigned char *raw_start;
static size_t raw_size;
static unsigned char *touched;  /* one byte per page */

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	unsigned char *a = si->si_addr;
	if (!raw_start || a < raw_start || a >= raw_start + raw_size) {
		signal(SIGSEGV, SIG_DFL);
		return;  /* a real crash: fault again, with the default action */
	}
	size_t page = (size_t)(a - raw_start) / 4096;
	touched[page] = 1;
	mprotect(raw_start + page * 4096, 4096, PROT_READ);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: record_pages CORE [--no-dwarf] [--sysroot DIR]\n");
		return 64;
	}
	struct gci_options opts = { .no_cache = true };
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--no-dwarf"))
			opts.no_dwarf = true;
		else if (!strcmp(argv[i], "--sysroot") && i + 1 < argc)
			opts.sysroot = argv[++i];
	}
	struct gci_program *prog;
	struct gci_error *err = gci_program_open_core(argv[1], &opts, &prog);
	if (err) {
		fprintf(stderr, "record_pages: %s\n", err->message);
		return 2;
	}
	raw_start = (unsigned char *)prog->core->raw;
	raw_size = prog->core->size;
	touched = calloc(raw_size / 4096 + 1, 1);
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
	sigaction(SIGSEGV, &sa, NULL);
	if ((uintptr_t)raw_start % 4096 || mprotect(raw_start, raw_size, PROT_NONE) < 0) {
		fprintf(stderr, "record_pages: the core is not mapped page-aligned\n");
		return 70;
	}

	/* What the open read before the core was protected: the headers and
	 * build-id notes at the start of every file mapped at offset 0 (in
	 * their first two pages). */
	for (size_t i = 0; i < prog->nmaps; i++) {
		unsigned char page[4096];
		for (int k = 0; prog->maps[i].offset == 0 && k < 2; k++)
			gci_error_destroy(gci_memory_read(&prog->mem, prog->maps[i].start +
							  k * 4096ULL, page, sizeof(page)));
	}

	struct gci_snapshot *snap;
	err = gci_snapshot_take(prog, GCI_SNAPSHOT_OBJECTS | GCI_SNAPSHOT_TYPE_PAGES, &snap);
	if (err) {
		fprintf(stderr, "record_pages: %s\n", err->message);
		return 3;
	}
	for (int kind = GCI_REPORT_SUMMARY; kind <= GCI_REPORT_TOUCH; kind++) {
		for (int format = GCI_FORMAT_TEXT; format <= GCI_FORMAT_JSON; format++) {
			struct gci_report_options r = { .kind = kind, .format = format,
							.pages = true };
			char *out;
			if (!(err = gci_report(snap, &r, &out)))
				free(out);
			else
				gci_error_destroy(err);
		}
	}
	for (size_t i = 0; i < snap->nobjects; i++)
		(void)gci_object_refcount(snap, i);
	mprotect(raw_start, raw_size, PROT_READ);
	for (size_t p = 0; p * 4096 < raw_size; p++)
		if (touched[p])
			printf("%zx\n", p * 4096);
	gci_snapshot_destroy(snap);
	gci_program_destroy(prog);
	free(touched);
	return 0;
}
