/* What the fuzz targets share: options, error checks, the pipeline. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

#ifndef GCI_FUZZ_EMPTY_DIR
#error "GCI_FUZZ_EMPTY_DIR: an empty directory, the targets' sysroot"
#endif

static void drop_log(void *arg, enum gci_log_level level, const char *message)
{
	/* Formatted by the library, read here so that a bad string shows. */
	volatile size_t n = strlen(message);
	(void)n;
}

struct gci_options fuzz_options(void)
{
	return (struct gci_options){
		.sysroot = GCI_FUZZ_EMPTY_DIR,
		.no_cache = true,
		/* Never the network; a compressed input decompresses to 64 MiB at most. */
		.offline = true,
		.max_core_size = 64 << 20,
		.log = drop_log,
	};
}

void fuzz_check_error(struct gci_error *err)
{
	if (!err)
		return;
	if (!err->message || !*err->message) {
		fprintf(stderr, "fuzz: an error (code %d) without a message\n", err->code);
		abort();
	}
	int status = gci_error_exit_status(err->code);
	if (status != GCI_EXIT_PARTIAL && status != GCI_EXIT_INPUT &&
	    status != GCI_EXIT_NOT_PYTHON && status != GCI_EXIT_FREE_THREADED) {
		fprintf(stderr, "fuzz: hostile input gave exit status %d (code %d): %s\n",
			status, err->code, err->message);
		abort();
	}
	gci_error_destroy(err);
}

/* Render one report; its text must be a string (NUL-terminated). */
static void render(const struct gci_snapshot *snap, enum gci_report_kind kind,
		   enum gci_report_format format, const char *generation, bool pages,
		   size_t limit)
{
	struct gci_report_options r = { .kind = kind, .format = format,
					.generation = generation, .pages = pages,
					.limit = limit };
	char *out = NULL;
	struct gci_error *err = gci_report(snap, &r, &out);
	if (err) {
		fuzz_check_error(err);
		return;
	}
	volatile size_t n = strlen(out);
	(void)n;
	free(out);
}

/* The analyses the reports are made of, called directly on every list. */
static void analyses(const struct gci_snapshot *snap)
{
	for (size_t i = 0; i < snap->ninterps; i++) {
		const struct gci_interp *in = &snap->interps[i];
		const struct gci_gen *gens[GCI_MAX_GENS + 1];
		size_t n = 0;
		for (size_t g = 0; g < in->ngens && g < GCI_MAX_GENS; g++) {
			gens[n++] = &in->gens[g];
			struct gci_gen_stats st;
			fuzz_check_error(gci_gen_stats(snap, &in->gens[g], &st));
		}
		/* Each collection this collector runs, as the touch report names it. */
		const struct gci_collection *cs;
		size_t ncs = gci_collections(snap, in, &cs);
		for (size_t c = 0; c < ncs; c++) {
			struct gci_touch t;
			fuzz_check_error(gci_touch_compute(snap, in, cs[c].generation, &t));
		}
		struct gci_touch ft;
		bool known = false;
		fuzz_check_error(gci_freeze_touch(snap, in, &known, &ft));
		if (in->has_permanent)
			gens[n++] = &in->permanent;
		struct gci_type_count *counts = NULL;
		size_t ncounts = 0;
		fuzz_check_error(gci_type_histogram(snap, gens, n, &counts, &ncounts));
		free(counts);
		struct gci_next_collection next;
		gci_next_collection(snap, in, &next);
	}
	for (size_t i = 0; i < snap->nobjects && i < 64; i++)
		(void)gci_object_refcount(snap, i);
	const char *const *w;
	size_t nw = gci_snapshot_warnings(snap, &w);
	for (size_t i = 0; i < nw; i++) {
		volatile size_t n = strlen(w[i]);
		(void)n;
	}
	struct gci_process_info info;
	gci_program_process_info(snap->prog, &info);
}

/* Each object as `gcinspect objects` prints it, during the walk. */
static int each_object(void *arg, const struct gci_snapshot *snap,
		       const struct gci_object_info *obj)
{
	char buf[512];
	uint64_t page = obj->address & ~(uint64_t)4095;
	gci_object_format(snap, obj, GCI_FORMAT_TEXT, NULL, buf, sizeof(buf));
	gci_object_format(snap, obj, GCI_FORMAT_JSON, &page, buf, sizeof(buf));
	(void)gci_object_on_page(obj, page);
	return 0;
}

static void render_html(const struct gci_snapshot *snap)
{
	struct gci_report_options r = { .format = GCI_FORMAT_TEXT, .limit = 5 };
	char *out = NULL;
	struct gci_error *err = gci_report_html(snap, &r, &out);
	if (err) {
		fuzz_check_error(err);
		return;
	}
	volatile size_t n = strlen(out);
	(void)n;
	free(out);
}

static void render_diff(const struct gci_snapshot *snap)
{
	for (int format = GCI_FORMAT_TEXT; format <= GCI_FORMAT_JSON; format++) {
		struct gci_report_options r = { .format = format, .limit = 5 };
		char *out = NULL;
		struct gci_error *err = gci_report_diff(snap, snap, &r, &out);
		if (err) {
			fuzz_check_error(err);
			continue;
		}
		volatile size_t n = strlen(out);
		(void)n;
		free(out);
	}
}

void fuzz_pipeline(struct gci_program *prog, unsigned which)
{
	/* Bits 16, 17: snapshots without object records, without type pages. */
	unsigned flags = 0;
	if (!(which & (1u << 16)))
		flags |= GCI_SNAPSHOT_OBJECTS;
	if (!(which & (1u << 17)))
		flags |= GCI_SNAPSHOT_TYPE_PAGES;
	bool objects = flags & GCI_SNAPSHOT_OBJECTS;
	struct gci_snapshot *snap;
	struct gci_error *err = which & (1u << 11)
		? gci_snapshot_take_each(prog, flags, each_object, NULL, &snap)
		: gci_snapshot_take(prog, flags, &snap);
	if (err) {
		fuzz_check_error(err);
		return;
	}
	const struct gci_interp *in = &snap->interps[0];
	if (which & 1)
		render(snap, GCI_REPORT_SUMMARY, GCI_FORMAT_TEXT, NULL, false, 0);
	if (which & 2)
		render(snap, GCI_REPORT_SUMMARY, GCI_FORMAT_JSON, NULL, false, 0);
	if (which & 4)
		render(snap, GCI_REPORT_TYPES, GCI_FORMAT_TEXT, NULL, false, 5);
	if (which & 8)
		render(snap, GCI_REPORT_TYPES, GCI_FORMAT_JSON, NULL, false, 0);
	if (which & 16) {
		/* Each list by its own name, as -g takes it. */
		const struct gci_gen *g;
		for (size_t i = 0; i < GCI_MAX_GENS + 1 && (g = i < in->ngens ? &in->gens[i] :
				 i == in->ngens && in->has_permanent ? &in->permanent : NULL); i++)
			render(snap, GCI_REPORT_TYPES, i & 1 ? GCI_FORMAT_TEXT : GCI_FORMAT_JSON,
			       g->name, false, 0);
	}
	if (which & 32)
		render(snap, GCI_REPORT_TOUCH, GCI_FORMAT_TEXT, NULL, objects, 0);
	if (which & 64)
		render(snap, GCI_REPORT_TOUCH, GCI_FORMAT_JSON, NULL, objects, 0);
	if (which & 128) {
		/* Each collection by the name the touch report gives it. */
		const struct gci_collection *cs;
		size_t ncs = gci_collections(snap, in, &cs);
		for (size_t i = 0; i < ncs; i++)
			render(snap, GCI_REPORT_TOUCH, i & 1 ? GCI_FORMAT_TEXT : GCI_FORMAT_JSON,
			       cs[i].name, false, 0);
	}
	if (which & 256)
		analyses(snap);
	if ((which & 512) && (flags & GCI_SNAPSHOT_TYPE_PAGES))
		render_html(snap);
	if (which & 1024)
		render_diff(snap);
	gci_snapshot_destroy(snap);
}

int fuzz_memfile(const void *data, size_t size, const char **ret_path)
{
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		fd = memfd_create("gcinspect-fuzz", MFD_CLOEXEC);
		if (fd < 0) {
			perror("fuzz: memfd_create");
			abort();
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
		perror("fuzz: writing the memory file");
		abort();
	}
	*ret_path = path;
	return fd;
}
