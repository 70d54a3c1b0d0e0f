/*
 * _Py_DebugOffsets (3.13+): the block at the start of _PyRuntime, cookie
 * "xdebugpy", in which the interpreter publishes offsets of its own
 * structures for out-of-process tools.  It lives in writable memory, so a
 * core has it even when every file is gone.
 */
#ifndef GCI_DEBUG_OFFSETS_H
#define GCI_DEBUG_OFFSETS_H

#include "layout.h"
#include "memory.h"
#include "program.h"

#define GCI_DEBUG_COOKIE "xdebugpy"

/* What gcinspect uses of the block, as published by the target. */
struct gci_debug_offsets {
	uint64_t version;
	uint64_t free_threaded;
	uint64_t runtime_size, interpreters_head;
	uint64_t interp_size, interp_id, interp_next, interp_gc;
	uint64_t pyobject_size, ob_type;
	uint64_t type_size, tp_name, tp_flags;
	uint64_t gc_size, gc_collecting;
};

/* Whether a _Py_DebugOffsets block starts at address (cookie + version). */
bool gci_debug_offsets_present(struct gci_memory *mem, uint64_t address,
			       uint64_t *ret_version);

/*
 * Read and validate the block (sizes bounded, fields inside their
 * structs).  GCI_ERR_UNSUPPORTED for a minor version whose block layout
 * gcinspect does not know, GCI_ERR_INTEGRITY for values that fail checks.
 */
struct gci_error *gci_debug_offsets_read(struct gci_memory *mem, uint64_t address,
					 struct gci_debug_offsets *ret);

/*
 * Apply the published offsets to a layout, logging each disagreement with
 * what the layout said; returns the number of disagreements.
 */
int gci_debug_offsets_apply(struct gci_program *prog, const struct gci_debug_offsets *d,
			    struct gci_layout *L);

#endif
