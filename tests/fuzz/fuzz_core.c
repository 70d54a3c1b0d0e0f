/*
 * Fuzz target (a): the input is an ELF core.  It is opened from a memory
 * file, snapshotted, and every report is rendered in text and JSON.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path;
	fuzz_memfile(data, size, &path);
	struct gci_options opts = fuzz_options();
	struct gci_program *prog;
	struct gci_error *err = gci_program_open_core(path, &opts, &prog);
	if (err) {
		fuzz_check_error(err);
		return 0;
	}
	fuzz_pipeline(prog, 0xffff);
	gci_program_destroy(prog);
	return 0;
}
