/*
 * Discovery: where the interpreter is, which CPython it is, and which
 * interpreters it runs, without running anything in the target.
 *
 *   gci_discover            the anchor (_PyRuntime, 3.6's _PyGC_generation0,
 *                           the _Py_DebugOffsets cookie, or the shape of a GC
 *                           state in memory), the version, the debug offsets
 *   gci_discover_interpreters  with a layout: every interpreter and its GC
 *                           state (thresholds, counts, flags), not the lists
 *
 * Every strategy is logged under -v and works the same on every memory
 * source: searches go through gci_program_scan.
 */
#ifndef GCI_DISCOVERY_H
#define GCI_DISCOVERY_H

#include "debug_offsets.h"
#include "layout.h"
#include "program.h"

#define GCI_MAX_INTERPRETERS 256

struct gci_discovery {
	struct gci_symbol anchor;      /* what was found, in which module */
	const char *how;               /* the strategy that found it */
	Dwfl_Module *module;           /* the module holding the interpreter */
	bool have_dbg;                 /* a validated _Py_DebugOffsets */
	struct gci_debug_offsets dbg;
	bool static_gc;                /* 3.6: file statics, no _PyRuntime */
	uint64_t static_generations;   /* 3.6: &generations[0] */
	/* Found by the GC state's own shape (no symbols, no debug offsets):
	 * the addresses of generations[0] and the table that fits them. */
	size_t nsig;
	uint64_t sig[GCI_MAX_INTERPRETERS];
	const struct gci_layout *sig_table;
	/* A strategy that found too much: discovery stops here, saying so. */
	char *ambiguous;
	/* The first _Py_DebugOffsets block rejected, and why (for the error). */
	char *cookie_rejected;
};

void gci_discovery_deinit(struct gci_discovery *d);

/*
 * Find the interpreter and tell its version: fills snap->runtime,
 * version, version_hex, version_source and debug_build.  A free-threaded
 * build is told by its debug offsets (d->dbg.free_threaded).
 */
struct gci_error *gci_discover(struct gci_program *prog, struct gci_snapshot *snap,
			       struct gci_discovery *d);

/*
 * With the layout chosen: every interpreter (the main one first) and its GC
 * state, into snap->interps.  Reading the generation0 pointer may correct
 * L->gc_generations (Debian 3.13's 4-byte-aligned PyGC_Head).  A
 * subinterpreter that cannot be read is a problem, not an error.
 */
struct gci_error *gci_discover_interpreters(struct gci_program *prog,
					    struct gci_snapshot *snap,
					    const struct gci_discovery *d,
					    struct gci_layout *L, size_t *problems_cap);

#endif
