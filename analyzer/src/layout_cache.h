/*
 * A cache of layouts read from DWARF, keyed by the build-id of the file
 * that holds _PyRuntime.  Reading DWARF costs more than walking millions of
 * objects (Debian's debug files are compressed); a build-id names exactly
 * one build, so what its DWARF said once stays true.
 */
#ifndef GCI_LAYOUT_CACHE_H
#define GCI_LAYOUT_CACHE_H

#include "layout.h"
#include "program.h"

/* The cache directory (malloc'd), or NULL if caching is off. */
char *gci_layout_cache_dir(const struct gci_program *prog);
/* Load a cached layout; *ret_source gets the DWARF file it came from. */
bool gci_layout_cache_load(struct gci_program *prog, const char *build_id,
			   struct gci_layout *ret, char **ret_source);
/*
 * Parse the text of a cache file (len bytes) for build_id over *ret (whose
 * fields it must set, every one); *ret_source gets the DWARF file it came
 * from (malloc'd).  NULL on success, else why it is not usable; *ret is
 * then unchanged.  The file may have been written by anyone: every line,
 * field and value is checked, and so is the layout as a whole.
 */
const char *gci_layout_cache_parse(const char *text, size_t len, const char *build_id,
				   struct gci_layout *ret, char **ret_source);
/* Store; failures are logged and otherwise ignored. */
void gci_layout_cache_store(struct gci_program *prog, const char *build_id,
			    const struct gci_layout *L, const char *source);

#endif
