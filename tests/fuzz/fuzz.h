/*
 * What the fuzz targets share.  Each target defines
 * LLVMFuzzerTestOneInput (and may define LLVMFuzzerInitialize); it is
 * linked either with libFuzzer (-DGCI_FUZZ=ON, clang) or with replay.c,
 * which runs it over files: the corpus and the regression inputs, in every
 * build's ctest.
 *
 * A target aborts (a finding) when the library breaks one of its promises
 * on hostile input: an error without a message, or with a status that is
 * not one of the documented input statuses (2, 3, 4); sanitizers catch the
 * rest.
 */
#ifndef GCI_FUZZ_H
#define GCI_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "gcinspect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Options for a target under test: no files found (an empty sysroot), no
 * layout cache, no debuginfod, decompressed cores of 64 MiB at most, every
 * log message formatted and dropped. */
struct gci_options fuzz_options(void);

/* Check an error's promises (abort if broken), then destroy it. */
void fuzz_check_error(struct gci_error *err);

/*
 * Snapshot prog and render reports from it.  which selects the reports
 * (bit i: report i of the list in fuzz.c: 0-8 summary, types, touch in
 * text and JSON, the analyses; 9 the HTML page; 10 a diff with itself;
 * 11 the walk with an object callback, each object formatted as `objects`
 * prints it); bits 16, 17: no object records, no type pages.
 */
void fuzz_pipeline(struct gci_program *prog, unsigned which);

/*
 * A memory file holding data, reused from call to call; *ret_path names
 * it for gci_program_open_core.  Returns its descriptor.
 */
int fuzz_memfile(const void *data, size_t size, const char **ret_path);

#endif
