/* Qualified type names: "module.name" for classes (typename.c). */
#ifndef GCI_TYPENAME_H
#define GCI_TYPENAME_H

#include "layout.h"
#include "memory.h"

/*
 * "module.tp_name" for a heap type whose dict holds a str "__module__"
 * other than "builtins"; NULL (keep tp_name) otherwise or on any doubt.
 * The result is malloc'd.
 */
char *gci_type_qualified_name(struct gci_memory *mem, const struct gci_layout *L,
			      uint32_t version_hex, uint64_t type, uint64_t flags,
			      const char *tp_name);

#endif
