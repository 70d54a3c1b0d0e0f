/*
 * The incremental collector of CPython 3.14.0-3.14.4: a young list, two old
 * spaces (old[0], old[1]; which one has been visited in the current cycle is
 * visited_space) and the permanent generation, each a list of GC heads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "snapshot.h"

/*
 * -g as gc.get_objects(generation=N) means it on these versions
 * (gc_get_objects_impl): 0 the young list, 1 nothing (the old spaces are
 * not generation 1), 2 both old spaces; or a list by name, or "old" for
 * both old spaces.
 */
static struct gci_error *select_lists(const struct gci_snapshot *snap,
				      const struct gci_interp *in, const char *which,
				      const struct gci_gen **ret, size_t *ret_n)
{
	*ret_n = 0;
	const struct gci_gen *young = gci_lists_find(in, "young");
	const struct gci_gen *old0 = gci_lists_find(in, "old[0]");
	const struct gci_gen *old1 = gci_lists_find(in, "old[1]");
	if (!strcmp(which, "0") && young) {
		ret[(*ret_n)++] = young;
		return NULL;
	}
	if (!strcmp(which, "1"))
		return NULL;
	if ((!strcmp(which, "2") || !strcmp(which, "old")) && old0 && old1) {
		ret[(*ret_n)++] = old0;
		ret[(*ret_n)++] = old1;
		return NULL;
	}
	const struct gci_gen *g = gci_lists_find(in, which);
	if (g) {
		ret[(*ret_n)++] = g;
		return NULL;
	}
	char names[160];
	gci_lists_choices(in, ", old; or 0 (young), 1 (none), 2 (both old spaces), as "
			  "gc.get_objects(generation=N)", names, sizeof(names));
	return gci_error_create(GCI_ERR_USAGE, "no list \"%s\" in CPython %s (choose one of: "
				"%s)", which, snap->version, names);
}

static struct gci_error *touch_pages(const struct gci_snapshot *snap, const struct gci_interp *in,
				     int generation, struct gci_pageset *ps, struct gci_touch *ret)
{
	return gci_error_create(GCI_ERR_UNSUPPORTED, "the touch model of CPython %s's "
				"incremental collector is not implemented: its first step "
				"of each cycle writes nearly every live GC head "
				"(docs/touch-model.md)", snap->version);
}

static void next_collection(const struct gci_snapshot *snap, const struct gci_interp *in,
			    struct gci_next_collection *ret)
{
	if (in->enabled == 0)
		ret->reason = "the collector is disabled (gc.disable()): no automatic "
			      "collection until gc.enable()";
	else
		ret->reason = "the incremental collector of 3.14.0-3.14.4 works in "
			      "increments, not by generation: not modelled";
}

const struct gci_collector_kind gci_collector_incremental = {
	.name = "incremental",
	.enumerate = gci_lists_enumerate,
	.check_unchanged = gci_lists_check_unchanged,
	.select = select_lists,
	.touch_pages = touch_pages,
	.next_collection = next_collection,
};
