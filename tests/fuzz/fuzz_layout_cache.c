/*
 * Fuzz target (d): the layout cache file parser.  The input is the text of
 * a cache file (anyone who can write the cache directory controls it); the
 * build-id it must name is fixed.  A layout the parser accepts must be one
 * the library's own checks accept.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "layout.h"
#include "layout_cache.h"

#define BUILD_ID "c561f3aa7232f2bd6ac6d56bd475f1c154a00486"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Start from a built-in table, as gcinspect does (3.11). */
	const struct gci_layout *table = gci_layout_table_find(0x030b02f0, false, false);
	if (!table)
		abort();
	struct gci_layout L = *table;
	char *source = NULL;
	const char *why = gci_layout_cache_parse((const char *)data, size, BUILD_ID, &L,
						 &source);
	if (why) {
		if (!*why || source)
			abort();
		return 0;
	}
	if (!source || gci_layout_invalid(&L)) {
		fprintf(stderr, "fuzz: the parser accepted a layout the checks refuse\n");
		abort();
	}
	free(source);
	return 0;
}
