/*
 * Choosing the layout of a target's CPython build, in order of trust: DWARF
 * (or the layout cache, keyed by build-id, that a DWARF read left), the
 * interpreter's own _Py_DebugOffsets with the built-in table, the built-in
 * table alone; cross-checked wherever two sources speak.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout_choose.h"
#include "dwarf_layout.h"
#include "layout_cache.h"

struct choice {
	struct gci_snapshot *snap;
	const struct gci_discovery *d;
	struct gci_layout *L;
	const char *name;
};

/*
 * A layout from DWARF against the built-in table, for the report: computed
 * from the two layouts, so a layout from the cache says the same.
 */
static void dwarf_vs_table(struct gci_program *prog, struct choice *c,
			   const struct gci_layout *table, const char *file)
{
	int n = gci_layout_diff(table, c->L);
	gci_log(prog, GCI_LOG_INFO, "layout: from %s (%d difference%s from the built-in "
		"table%s)", c->name, n, n == 1 ? "" : "s",
		n && c->snap->debug_build ? ", expected for a debug build" : "");
	if (n && !c->snap->debug_build)
		gci_program_warn(prog, "the DWARF of %s disagrees with the built-in %s table "
				 "in %d place%s (see -v); DWARF was used", file, table->name,
				 n, n == 1 ? "" : "s");
}

/* Where DWARF and the target's _Py_DebugOffsets both speak, they must agree. */
static void dwarf_vs_debug_offsets(struct gci_program *prog, struct choice *c)
{
	struct gci_layout check = *c->L;
	int n = gci_debug_offsets_apply(prog, &c->d->dbg, &check);
	c->snap->debug_offsets = "checked";
	if (n)
		gci_program_warn(prog, "DWARF and the interpreter's _Py_DebugOffsets "
				 "disagree in %d place%s (see -v); DWARF was used", n,
				 n == 1 ? "" : "s");
}

struct gci_error *gci_layout_choose(struct gci_program *prog, struct gci_snapshot *snap,
				   const struct gci_discovery *d, struct gci_layout *L,
				   char *name, size_t namesz)
{
	const struct gci_symbol *rt = &d->anchor;
	struct choice ch = { .snap = snap, .d = d, .L = L, .name = name }, *c = &ch;
	const struct gci_layout *table = gci_layout_table_find(snap->version_hex, false);
	if (!table)
		return gci_error_create(GCI_ERR_UNSUPPORTED,
					"CPython %s is not supported: no layout for it",
					snap->version);
	/* The build-id names this build exactly: a layout read from its DWARF
	 * before is still right, and costs no DWARF decompression. */
	char build_id[2 * 64 + 1] = "";
	const unsigned char *bits;
	GElf_Addr bid_vaddr;
	int nbits = dwfl_module_build_id(rt->module, &bits, &bid_vaddr);
	for (int i = 0; i < nbits && i < 64; i++)
		snprintf(build_id + 2 * i, 3, "%02x", bits[i]);
	char *cached_from = NULL;
	*L = *table;
	if (!prog->opts.no_dwarf && build_id[0] &&
	    gci_layout_cache_load(prog, build_id, L, &cached_from)) {
		snap->layout_source = GCI_LAYOUT_DWARF;
		snprintf(name, namesz, "DWARF of %s",
			 cached_from);
		/* Say what the DWARF said of the table, cached or not. */
		dwarf_vs_table(prog, c, table, cached_from);
		free(cached_from);
		if (d->have_dbg)
			dwarf_vs_debug_offsets(prog, c);
		goto done;
	}
	Dwarf_Addr bias;
	const char *file = NULL;
	Dwarf *dw = gci_program_dwarf(prog, rt->module, &bias, &file);
	if (dw) {
		int disagree = 0;
		struct gci_error *err = gci_layout_from_dwarf(prog, dw, table, L,
							      &disagree);
		if (!err) {
			snap->layout_source = GCI_LAYOUT_DWARF;
			snprintf(name, namesz, "DWARF of %s",
				 file ? file : rt->module_name);
			if (build_id[0])
				gci_layout_cache_store(prog, build_id, L,
						       file ? file : rt->module_name);
			if (d->have_dbg)
				dwarf_vs_debug_offsets(prog, c);
			dwarf_vs_table(prog, c, table, file ? file : rt->module_name);
			goto done;
		}
		gci_program_warn(prog, "DWARF of %s unusable: %s", file ? file : "?",
				 err->message);
		gci_error_destroy(err);
	} else if (!prog->opts.no_dwarf) {
		gci_log(prog, GCI_LOG_INFO, "layout: no DWARF found for %s (looked in "
			"the file and under %s)", rt->module_name, prog->debug_dir);
	}
	if (d->have_dbg) {
		/* 3.13+: the interpreter's own offsets for what it publishes,
		 * the table for the inside of the GC state. */
		*L = *table;
		int n = gci_debug_offsets_apply(prog, &d->dbg, L);
		snap->layout_source = GCI_LAYOUT_TABLE;
		snap->debug_offsets = "used";
		snprintf(name, namesz, "%s (%s), with the "
			 "interpreter's _Py_DebugOffsets%s", table->name, table->provenance,
			 n ? " (which differ from the table; see -v)" : "");
		gci_log(prog, GCI_LOG_INFO, "layout: %s", name);
		goto done;
	}
	/* Without DWARF a release table is all there is: refuse the builds it
	 * does not describe rather than misread them.  Before 3.13,
	 * Py_TRACE_REFS (--with-trace-refs) adds two words to every PyObject. */
	struct gci_symbol tr;
	bool trace_refs = snap->version_hex < 0x030d0000 &&
			  gci_program_module_symbol(prog, rt->module, "_Py_PrintReferences", &tr);
	if (trace_refs || snap->debug_build)
		return gci_error_create(GCI_ERR_UNSUPPORTED,
					"%s is %s CPython %s%s: only DWARF describes it (install "
					"its debug info, e.g. its -dbg package, or pass "
					"--debug-dir)%s", rt->module_name,
					trace_refs ? "a" : "a debug build of", snap->version,
					trace_refs ? " built with Py_TRACE_REFS, whose objects have "
						     "two more words"
						   : ", whose structures differ from the release "
						     "build's",
					prog->opts.no_dwarf ? "; --no-dwarf was given" : "");
	*L = *table;
	snap->layout_source = GCI_LAYOUT_TABLE;
	snprintf(name, namesz, "%s (%s)", table->name,
		 table->provenance);
	gci_log(prog, GCI_LOG_INFO, "layout: built-in table %s", name);
done:
	L->debug_alloc_prefix = snap->debug_build ? 16 : 0;
	snap->layout_name = name;
	/* Whatever it came from (a cache file, DWARF, the target's offsets). */
	const char *bad = gci_layout_invalid(L);
	if (bad)
		return gci_error_create(GCI_ERR_UNSUPPORTED, "the layout from %s is unusable: "
					"%s", name, bad);
	return NULL;
}

