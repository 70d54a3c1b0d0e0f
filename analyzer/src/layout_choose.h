/* Choosing a target's layout (layout_choose.c). */
#ifndef GCI_LAYOUT_CHOOSE_H
#define GCI_LAYOUT_CHOOSE_H

#include "discovery.h"

/*
 * The layout of the discovered interpreter, into *L, in order of trust
 * (DWARF or its cache, the debug offsets with the table, the table), and
 * validated whatever its source.  Sets snap->layout_source, debug_offsets
 * and layout_name (which points at name, namesz bytes the caller keeps).
 */
struct gci_error *gci_layout_choose(struct gci_program *prog, struct gci_snapshot *snap,
				    const struct gci_discovery *d, struct gci_layout *L,
				    char *name, size_t namesz);

#endif
