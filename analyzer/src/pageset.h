/*
 * A set of 4 KiB page numbers: a hash map from 16 MiB chunks to 4096-bit
 * bitmaps.  A heap of hundreds of MiB costs a few KiB, whatever the object
 * count, and union and count are word operations.
 */
#ifndef GCI_PAGESET_H
#define GCI_PAGESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GCI_PAGE_SHIFT 12
#define GCI_CHUNK_PAGES 4096

struct gci_pageset_chunk {
	uint64_t key;   /* page number >> 12, plus 1 (0 = empty slot) */
	uint64_t bits[GCI_CHUNK_PAGES / 64];
};

struct gci_pageset {
	struct gci_pageset_chunk *chunks;
	size_t cap, used;
	uint64_t last_key;                /* cache of the last chunk touched */
	struct gci_pageset_chunk *last;
};

void gci_pageset_init(struct gci_pageset *ps);
void gci_pageset_deinit(struct gci_pageset *ps);
/* Add the pages of [address, address + size); false if out of memory. */
bool gci_pageset_add_range(struct gci_pageset *ps, uint64_t address, uint64_t size);
uint64_t gci_pageset_count(const struct gci_pageset *ps);
/* dst |= src; false if out of memory. */
bool gci_pageset_merge(struct gci_pageset *dst, const struct gci_pageset *src);
/* |a & b| */
uint64_t gci_pageset_count_and(const struct gci_pageset *a, const struct gci_pageset *b);
/* Whether page number p (address >> 12) is in the set. */
bool gci_pageset_has(const struct gci_pageset *ps, uint64_t page);
/*
 * Every page number in the set, ascending, into a malloc'd array (*ret,
 * *ret_count); false if out of memory.
 */
bool gci_pageset_list(const struct gci_pageset *ps, uint64_t **ret, size_t *ret_count);

#endif
