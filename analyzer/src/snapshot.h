/* Internal access to what a snapshot keeps beside its public fields. */
#ifndef GCI_SNAPSHOT_H
#define GCI_SNAPSHOT_H

#include "gcinspect.h"
#include "layout.h"

const struct gci_layout *gci_snapshot_layout(const struct gci_snapshot *snap);
/* Warnings the program collected while opening (build-id mismatches, ...). */
size_t gci_snapshot_warnings(const struct gci_snapshot *snap, const char *const **ret);

#endif
