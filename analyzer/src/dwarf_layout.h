/* Filling a layout from the interpreter's DWARF. */
#ifndef GCI_DWARF_LAYOUT_H
#define GCI_DWARF_LAYOUT_H

#include <elfutils/libdw.h>

#include "layout.h"
#include "program.h"

/*
 * Start from base (the table for the version: flag masks, pre-header rule
 * and other facts DWARF cannot tell), take every offset DWARF knows, and
 * report through gci_log where DWARF and the table disagree (the count of
 * disagreements in *ret_disagree).  Fails if DWARF lacks the structures.
 */
struct gci_error *gci_layout_from_dwarf(struct gci_program *prog, Dwarf *dw,
					const struct gci_layout *base,
					struct gci_layout *ret, int *ret_disagree);

#endif
