/*
 * Discovery and the snapshot: find _PyRuntime, tell the version without
 * running anything, choose the layout (DWARF, else the built-in table),
 * confirm it against the target's own data, and walk every GC list of every
 * interpreter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debug_offsets.h"
#include "blockcache.h"
#include "dwarf_layout.h"
#include "layout.h"
#include "layout_cache.h"
#include "pageset.h"
#include "program.h"
#include "snapshot.h"
#include "walker.h"

#define MAX_INTERPRETERS 256

struct snapshot {
	struct gci_snapshot pub;
	struct gci_layout layout;
	bool have_dbg;                 /* a validated _Py_DebugOffsets */
	bool static_gc;                /* 3.6: file statics, no _PyRuntime */
	/* Found by the GC state's own shape (no symbols, no debug offsets):
	 * the addresses of generations[0] and the table that fits them. */
	size_t nsig;
	uint64_t sig[MAX_INTERPRETERS];
	const struct gci_layout *sig_table;
	/* A strategy that found too much: discovery stops here, saying so. */
	char *ambiguous;
	/* The first _Py_DebugOffsets block rejected, and why (for the error). */
	char *cookie_rejected;
	uint64_t static_generations;   /* 3.6: &generations[0] */
	Dwfl_Module *module;           /* the module holding the interpreter */
	bool sharing_known;            /* live: pagemap was read */
	struct gci_pageset shared, exclusive;
	struct gci_debug_offsets dbg;
	size_t problems_cap;
	char layout_name[512];
};

static struct snapshot *to_private(const struct gci_snapshot *s)
{
	return (struct snapshot *)(void *)((char *)s - offsetof(struct snapshot, pub));
}

const struct gci_layout *gci_snapshot_layout(const struct gci_snapshot *snap)
{
	return &to_private(snap)->layout;
}

size_t gci_snapshot_warnings(const struct gci_snapshot *snap, const char *const **ret)
{
	*ret = (const char *const *)snap->prog->warnings;
	return snap->prog->nwarnings;
}

bool gci_snapshot_sharing(const struct gci_snapshot *snap,
			  const struct gci_pageset **shared,
			  const struct gci_pageset **exclusive)
{
	const struct snapshot *s = to_private(snap);
	*shared = &s->shared;
	*exclusive = &s->exclusive;
	return s->sharing_known;
}

void gci_snapshot_state_range(const struct gci_snapshot *snap, const struct gci_interp *in,
			      uint64_t *start, uint64_t *end)
{
	const struct gci_layout *L = &to_private(snap)->layout;
	int64_t hi = (int64_t)L->gc_generations + (int64_t)L->ngens * L->gen_size;
	const int32_t more[] = { L->gc_permanent >= 0 ? L->gc_permanent + (int32_t)L->gen_size : -1,
				 L->gc_long_lived_pending + 8, L->gc_long_lived_total + 8,
				 L->gc_collecting + 4, L->gc_enabled + 4 };
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
		if (more[i] > hi)
			hi = more[i];
	*start = in->gc_state;
	*end = in->gc_state + (uint64_t)hi;
}

/*
 * Live targets, while still stopped: which pages holding GC heads (and the
 * GC state) are still shared with another process, and the smaps totals
 * of their mappings.  Failure is a warning: the rest of the report stands.
 */
static struct gci_error *read_sharing(struct gci_program *prog, struct snapshot *s)
{
	struct gci_snapshot *snap = &s->pub;
	struct gci_pageset all;
	gci_pageset_init(&all);
	bool ok = true;
	for (size_t i = 0; i < snap->ninterps && ok; i++) {
		struct gci_interp *in = &snap->interps[i];
		const struct gci_gen *gen;
		for (size_t g = 0; ok && (gen = gci_interp_list(in, g)); g++)
			if (gen->data)
				ok = gci_pageset_merge(&all, &gen->data->pages);
		uint64_t a, b;
		gci_snapshot_state_range(snap, in, &a, &b);
		ok = ok && gci_pageset_add_range(&all, a, b - a);
	}
	if (!ok) {
		gci_pageset_deinit(&all);
		return &gci_enomem;
	}
	uint64_t absent;
	struct gci_error *err = gci_program_page_sharing(prog, &all, &s->shared, &s->exclusive,
							 &absent);
	if (!err) {
		s->sharing_known = true;
		err = gci_program_smaps(prog, &all, &snap->smaps);
	}
	gci_pageset_deinit(&all);
	if (err && err->code != GCI_ERR_NOMEM) {
		gci_program_warn(prog, "copy-on-write state unknown: %s", err->message);
		gci_error_destroy(err);
		err = NULL;
	}
	return err;
}

void gci_snapshot_destroy(struct gci_snapshot *snap)
{
	if (!snap)
		return;
	gci_pageset_deinit(&to_private(snap)->shared);
	gci_pageset_deinit(&to_private(snap)->exclusive);
	for (size_t i = 0; i < snap->ntypes; i++)
		free(snap->types[i].name);
	free(snap->types);
	for (size_t i = 0; i < snap->nproblems; i++)
		free(snap->problems[i].message);
	free(snap->problems);
	free(snap->objects);
	for (size_t i = 0; i < snap->ninterps; i++) {
		const struct gci_gen *gen;
		for (size_t g = 0; (gen = gci_interp_list(&snap->interps[i], g)); g++)
			gci_gen_data_destroy(gen->data);
	}
	free(snap->interps);
	free(to_private(snap));
}

int64_t gci_object_refcount(const struct gci_snapshot *snap, size_t index)
{
	const struct snapshot *s = to_private(snap);
	int64_t v;
	if (index >= snap->nobjects)
		return -1;
	struct gci_error *err = gci_read_i64(&snap->prog->mem,
					     snap->objects[index].address +
					     s->layout.ob_refcnt, &v);
	if (err) {
		gci_error_destroy(err);
		return -1;
	}
	return v;
}

static void format_version(uint32_t hex, char *buf, size_t n)
{
	unsigned level = (hex >> 4) & 0xf, serial = hex & 0xf;
	const char *lv = level == 0xa ? "a" : level == 0xb ? "b" : level == 0xc ? "rc" : "";
	if (level == 0xf)
		snprintf(buf, n, "%u.%u.%u", hex >> 24, (hex >> 16) & 0xff, (hex >> 8) & 0xff);
	else
		snprintf(buf, n, "%u.%u.%u%s%u", hex >> 24, (hex >> 16) & 0xff,
			 (hex >> 8) & 0xff, lv, serial);
}

static bool plausible_version(uint64_t hex)
{
	return (hex >> 24) == 3 && ((hex >> 16) & 0xff) >= 6 && ((hex >> 16) & 0xff) <= 40 &&
	       hex <= UINT32_MAX;
}

/* Version strategies, in order; each logged. */
/* "3.10.13", "3.13.0rc2" -> PY_VERSION_HEX, or 0 if not a version. */
static uint32_t parse_version(const char *v, size_t n)
{
	unsigned major, minor, micro, serial = 0;
	char tail[8] = "";
	char buf[32];
	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, v, n);
	buf[n] = '\0';
	int k = sscanf(buf, "%u.%u.%u%7[abrc]%u", &major, &minor, &micro, tail, &serial);
	if (k < 3 || major != 3 || minor > 40 || micro > 99)
		return 0;
	/* The whole string must be the version, nothing after it but "+". */
	char check[32];
	if (k == 3)
		snprintf(check, sizeof(check), "%u.%u.%u", major, minor, micro);
	else
		snprintf(check, sizeof(check), "%u.%u.%u%s%u", major, minor, micro, tail, serial);
	size_t cl = strlen(check);
	if (strncmp(buf, check, cl) != 0 || (buf[cl] && strcmp(buf + cl, "+") != 0))
		return 0;
	unsigned level = 0xf;
	if (k == 5)
		level = !strcmp(tail, "a") ? 0xa : !strcmp(tail, "b") ? 0xb :
			!strcmp(tail, "rc") ? 0xc : 0;
	if (!level)
		return 0;
	return (major << 24) | (minor << 16) | (micro << 8) | (level << 4) | (serial & 0xf);
}

/* The minor version a file's name promises (libpython3.10.so, python3.9), or -1. */
static int name_minor(const char *name)
{
	const char *base = name ? strrchr(name, '/') : NULL;
	base = base ? base + 1 : name;
	unsigned minor;
	if (!base)
		return -1;
	if (sscanf(base, "libpython3.%u", &minor) == 1 || sscanf(base, "python3.%u", &minor) == 1)
		return (int)minor;
	return -1;
}

/*
 * Strategy for 3.6-3.10: Py_GetVersion() formats "3.9.18 (main, Nov 20
 * 2023, ...) [GCC ...]" into a static buffer at start-up (sys.version), so
 * it is in the interpreter module's writable data, which a core holds.  The
 * minor version must agree with the file's name, and exactly one version
 * may be found.
 */
static struct gci_error *version_from_memory(struct gci_program *prog, struct snapshot *s,
					     Dwfl_Module *mod)
{
	Dwarf_Addr low = 0, high = UINT64_MAX;
	const char *name = mod ? dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL,
						  NULL)
			       : NULL;
	int want_minor = name_minor(name);
	if (want_minor < 0)
		want_minor = name_minor(prog->exe_core_path);
	uint32_t found = 0;
	bool ambiguous = false;
	uint64_t where = 0;
	struct gci_memory *mem = &prog->mem;
	for (size_t i = 0; i < mem->nsegs[GCI_TIER_PRIMARY]; i++) {
		const struct gci_segment *seg = &mem->segs[GCI_TIER_PRIMARY][i];
		if (!seg->buf || seg->saved_end <= low || seg->start >= high)
			continue;
		uint64_t from = seg->start > low ? seg->start : low;
		uint64_t to = seg->saved_end < high ? seg->saved_end : high;
		const char *p = (const char *)seg->buf + (from - seg->start);
		const char *end = p + (to - from);
		for (const char *q = p; q + 8 < end; q++) {
			q = memchr(q, '3', (size_t)(end - q) - 8);
			if (!q)
				break;
			if (q[1] != '.' || (q > p && (q[-1] >= '0' && q[-1] <= '9')))
				continue;
			size_t room = (size_t)(end - q) < 250 ? (size_t)(end - q) : 250;
			const char *paren = memchr(q, '(', room < 24 ? room : 24);
			if (!paren || paren[-1] != ' ' || !memchr(paren, ')', (size_t)(q + room - paren)))
				continue;
			uint32_t hex = parse_version(q, (size_t)(paren - 1 - q));
			if (!hex || (want_minor >= 0 && (int)((hex >> 16) & 0xff) != want_minor))
				continue;
			if (found && found != hex)
				ambiguous = true;
			found = hex;
			where = from + (uint64_t)(q - p);
		}
	}
	if (!found || ambiguous)
		return gci_error_create(GCI_ERR_UNSUPPORTED, "%s sys.version text in the "
					"data of %s", ambiguous ? "more than one" : "no",
					name ? name : "the process");
	s->pub.version_hex = found;
	s->pub.version_source = "sys.version text";
	gci_log(prog, GCI_LOG_INFO, "version: sys.version text at 0x%" PRIx64 " in %s",
		where, name);
	return NULL;
}

static struct gci_error *find_version(struct gci_program *prog, struct snapshot *s,
				      Dwfl_Module *rt_module)
{
	struct gci_symbol sym;
	struct gci_error *err = NULL;
	/* In the interpreter's own module: a miss elsewhere would make
	 * libdwfl look for the debug info of every library. */
	if (gci_program_module_symbol(prog, rt_module, "Py_Version", &sym)) {
		uint64_t v;
		err = gci_read_u64(&prog->mem, sym.address, &v);
		if (!err && plausible_version(v)) {
			s->pub.version_hex = (uint32_t)v;
			s->pub.version_source = "Py_Version";
			return NULL;
		}
		if (err) {
			gci_log(prog, GCI_LOG_INFO, "version: Py_Version at 0x%" PRIx64
				" unreadable: %s", sym.address, err->message);
			gci_error_destroy(err);
		} else {
			gci_log(prog, GCI_LOG_INFO, "version: Py_Version holds 0x%" PRIx64
				", not a CPython 3 version", v);
		}
		err = NULL;
	} else {
		gci_log(prog, GCI_LOG_DEBUG, "version: no Py_Version symbol");
	}
	/* 3.13+: _Py_DebugOffsets at the start of _PyRuntime, in writable memory. */
	char cookie[8];
	uint64_t v;
	if (s->pub.runtime &&
	    !(err = gci_memory_read(&prog->mem, s->pub.runtime, cookie, 8))) {
		if (!memcmp(cookie, "xdebugpy", 8) &&
		    !(err = gci_read_u64(&prog->mem, s->pub.runtime + 8, &v)) &&
		    plausible_version(v)) {
			s->pub.version_hex = (uint32_t)v;
			s->pub.version_source = "_Py_DebugOffsets";
			return NULL;
		}
	}
	gci_error_destroy(err);
	/* Before 3.11: the PY_VERSION string in the file's read-only data. */
	/* Without a module (no files), the whole of memory is searched. */
	if ((err = version_from_memory(prog, s, rt_module)) == NULL)
		return NULL;
	return gci_error_prefix(err, "cannot tell the Python version: no readable "
				"Py_Version, no _Py_DebugOffsets, and ");
}

/*
 * A layout from DWARF against the built-in table, for the report: computed
 * from the two layouts, so a layout from the cache says the same.
 */
static void dwarf_vs_table(struct gci_program *prog, struct snapshot *s,
			   const struct gci_layout *table, const char *file)
{
	int n = gci_layout_diff(table, &s->layout);
	gci_log(prog, GCI_LOG_INFO, "layout: from %s (%d difference%s from the built-in "
		"table%s)", s->layout_name, n, n == 1 ? "" : "s",
		n && s->pub.debug_build ? ", expected for a debug build" : "");
	if (n && !s->pub.debug_build)
		gci_program_warn(prog, "the DWARF of %s disagrees with the built-in %s table "
				 "in %d place%s (see -v); DWARF was used", file, table->name,
				 n, n == 1 ? "" : "s");
}

/* Where DWARF and the target's _Py_DebugOffsets both speak, they must agree. */
static void dwarf_vs_debug_offsets(struct gci_program *prog, struct snapshot *s)
{
	struct gci_layout check = s->layout;
	int n = gci_debug_offsets_apply(prog, &s->dbg, &check);
	s->pub.debug_offsets = "checked";
	if (n)
		gci_program_warn(prog, "DWARF and the interpreter's _Py_DebugOffsets "
				 "disagree in %d place%s (see -v); DWARF was used", n,
				 n == 1 ? "" : "s");
}

static struct gci_error *choose_layout(struct gci_program *prog, struct snapshot *s,
				       const struct gci_symbol *rt)
{
	struct gci_snapshot *snap = &s->pub;
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
	s->layout = *table;
	if (!prog->opts.no_dwarf && build_id[0] &&
	    gci_layout_cache_load(prog, build_id, &s->layout, &cached_from)) {
		snap->layout_source = GCI_LAYOUT_DWARF;
		snprintf(s->layout_name, sizeof(s->layout_name), "DWARF of %s (cached)",
			 cached_from);
		/* Say what the DWARF said of the table, cached or not. */
		dwarf_vs_table(prog, s, table, cached_from);
		free(cached_from);
		if (s->have_dbg)
			dwarf_vs_debug_offsets(prog, s);
		goto done;
	}
	Dwarf_Addr bias;
	const char *file = NULL;
	Dwarf *dw = gci_program_dwarf(prog, rt->module, &bias, &file);
	if (dw) {
		int disagree = 0;
		struct gci_error *err = gci_layout_from_dwarf(prog, dw, table, &s->layout,
							      &disagree);
		if (!err) {
			snap->layout_source = GCI_LAYOUT_DWARF;
			snprintf(s->layout_name, sizeof(s->layout_name), "DWARF of %s",
				 file ? file : rt->module_name);
			if (build_id[0])
				gci_layout_cache_store(prog, build_id, &s->layout,
						       file ? file : rt->module_name);
			if (s->have_dbg)
				dwarf_vs_debug_offsets(prog, s);
			dwarf_vs_table(prog, s, table, file ? file : rt->module_name);
			goto done;
		}
		gci_program_warn(prog, "DWARF of %s unusable: %s", file ? file : "?",
				 err->message);
		gci_error_destroy(err);
	} else if (!prog->opts.no_dwarf) {
		gci_log(prog, GCI_LOG_INFO, "layout: no DWARF found for %s (looked in "
			"the file and under %s)", rt->module_name, prog->debug_dir);
	}
	if (s->have_dbg) {
		/* 3.13+: the interpreter's own offsets for what it publishes,
		 * the table for the inside of the GC state. */
		s->layout = *table;
		int n = gci_debug_offsets_apply(prog, &s->dbg, &s->layout);
		snap->layout_source = GCI_LAYOUT_TABLE;
		snap->debug_offsets = "used";
		snprintf(s->layout_name, sizeof(s->layout_name), "%s (%s), with the "
			 "interpreter's _Py_DebugOffsets%s", table->name, table->provenance,
			 n ? " (which differ from the table; see -v)" : "");
		gci_log(prog, GCI_LOG_INFO, "layout: %s", s->layout_name);
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
	s->layout = *table;
	snap->layout_source = GCI_LAYOUT_TABLE;
	snprintf(s->layout_name, sizeof(s->layout_name), "%s (%s)", table->name,
		 table->provenance);
	gci_log(prog, GCI_LOG_INFO, "layout: built-in table %s", s->layout_name);
done:
	s->layout.debug_alloc_prefix = snap->debug_build ? 16 : 0;
	snap->layout_name = s->layout_name;
	/* Whatever it came from (a cache file, DWARF, the target's offsets). */
	const char *bad = gci_layout_invalid(&s->layout);
	if (bad)
		return gci_error_create(GCI_ERR_UNSUPPORTED, "the layout from %s is unusable: "
					"%s", s->layout_name, bad);
	return NULL;
}

static struct gci_error *read_int32(struct gci_program *prog, uint64_t base,
				    int32_t off, int64_t *ret)
{
	if (off < 0) {
		*ret = -1;
		return NULL;
	}
	return gci_read_int(&prog->mem, base + (uint64_t)off, 4, true, ret);
}

static struct gci_error *read_ssize(struct gci_program *prog, uint64_t base,
				    int32_t off, int64_t *ret)
{
	if (off < 0) {
		*ret = -1;
		return NULL;
	}
	return gci_read_i64(&prog->mem, base + (uint64_t)off, ret);
}

/*
 * 3.6: enabled, collecting and long_lived_* are file statics of
 * gcmodule.c, found by name in the module's symbol table (unknown, not
 * guessed, when it is stripped).
 */
static struct gci_error *read_static_state(struct gci_program *prog, struct snapshot *s,
					   struct gci_interp *in)
{
	static const struct { const char *name; size_t size; } vars[] = {
		{ "enabled", 4 }, { "collecting", 4 },
		{ "long_lived_total", 8 }, { "long_lived_pending", 8 },
	};
	int64_t v[4];
	for (size_t i = 0; i < 4; i++) {
		struct gci_symbol sym;
		v[i] = -1;
		if (!gci_program_module_symbol(prog, s->module, vars[i].name, &sym)) {
			gci_log(prog, GCI_LOG_INFO, "3.6: no symbol %s (stripped?); reported as "
				"unknown", vars[i].name);
			continue;
		}
		struct gci_error *err = gci_read_int(&prog->mem, sym.address, vars[i].size,
						     true, &v[i]);
		if (err)
			return gci_error_prefix(err, "reading %s: ", vars[i].name);
	}
	in->enabled = v[0] < 0 ? -1 : v[0] != 0;
	in->collecting = v[1] < 0 ? -1 : v[1] != 0;
	in->long_lived_total = v[2];
	in->long_lived_pending = v[3];
	return NULL;
}

/* Read the GC state of one interpreter (not the lists). */
static struct gci_error *read_gc_state(struct gci_program *prog, struct snapshot *s,
				       struct gci_interp *in, bool is_main)
{
	struct gci_layout *L = &s->layout;
	uint64_t gc = in->gc_state;
	struct gci_error *err;
	int64_t v;

	if (L->gc_generation0 >= 0) {
		uint64_t g0;
		if ((err = gci_read_u64(&prog->mem, gc + L->gc_generation0, &g0)))
			return gci_error_prefix(err, "reading the GC state at 0x%" PRIx64
						": ", gc);
		uint64_t want = gc + (uint64_t)L->gc_generations + L->gen_head;
		if (g0 != want) {
			int64_t delta = (int64_t)(g0 - want);
			/* Debian's 3.13 lowers PyGC_Head's alignment to 4, which
			 * moves the generations from +24 to +20: trust the
			 * target's own generation0 pointer for small shifts. */
			if (is_main && delta >= -8 && delta <= 8 && delta % 4 == 0) {
				gci_log(prog, GCI_LOG_INFO, "layout: generation0 points to "
					"gc%+" PRId64 ", not gc%+d: using the target's own "
					"value", (int64_t)(g0 - gc), L->gc_generations);
				L->gc_generations += (int32_t)delta;
			} else {
				return gci_error_at(
					GCI_ERR_UNSUPPORTED, gc + L->gc_generation0,
					"the layout does not fit: generation0 at 0x%" PRIx64
					" is 0x%" PRIx64 ", expected 0x%" PRIx64 " (%s)",
					gc + L->gc_generation0, g0, want, s->layout_name);
			}
		}
	}
	if ((err = read_int32(prog, gc, L->gc_enabled, &v)))
		return err;
	in->enabled = v < 0 ? -1 : v != 0;
	if ((err = read_int32(prog, gc, L->gc_collecting, &v)))
		return err;
	in->collecting = v < 0 ? -1 : v != 0;
	if ((err = read_ssize(prog, gc, L->gc_long_lived_total, &in->long_lived_total)) ||
	    (err = read_ssize(prog, gc, L->gc_long_lived_pending, &in->long_lived_pending)))
		return err;
	if (L->state_kind == GCI_STATE_STATIC &&
	    (err = read_static_state(prog, s, in)))
		return err;
	if ((err = read_ssize(prog, gc, L->gc_heap_size, &in->heap_size)))
		return err;
	in->collector = L->collector == GCI_COLLECTOR_INCREMENTAL ? "incremental"
								  : "generational";
	in->visited_space = in->phase = -1;
	if (L->collector == GCI_COLLECTOR_INCREMENTAL) {
		if ((err = read_int32(prog, gc, L->gc_visited_space, &v)))
			return err;
		in->visited_space = v == 0 || v == 1 ? (int)v : -1;
		if ((err = read_int32(prog, gc, L->gc_phase, &v)))
			return err;
		in->phase = v == 0 || v == 1 ? (int)v : -1;
		if (in->visited_space < 0)
			gci_log(prog, GCI_LOG_INFO, "interpreter at 0x%" PRIx64 ": visited_space "
				"holds %" PRId64 ", neither 0 nor 1", in->address, v);
	}
	in->ngens = L->ngens;
	for (uint32_t i = 0; i < L->ngens && i < GCI_MAX_GENS; i++) {
		struct gci_gen *g = &in->gens[i];
		uint64_t base = gc + (uint64_t)L->gc_generations + (uint64_t)i * L->gen_size;
		if (L->gen_names)
			snprintf(g->name, sizeof(g->name), "%s", L->gen_names[i]);
		else
			snprintf(g->name, sizeof(g->name), "%u", i);
		g->head = base + L->gen_head;
		if ((err = read_int32(prog, base, L->gen_threshold, &g->threshold)) ||
		    (err = read_int32(prog, base, L->gen_count, &g->count)))
			return err;
	}
	in->has_permanent = L->gc_permanent >= 0;
	if (in->has_permanent) {
		snprintf(in->permanent.name, sizeof(in->permanent.name), "permanent");
		in->permanent.head = gc + (uint64_t)L->gc_permanent + L->gen_head;
		in->permanent.threshold = -1;
		in->permanent.count = -1;
	}
	return NULL;
}

static struct gci_error *add_interp(struct snapshot *s, size_t *cap, uint64_t addr)
{
	struct gci_snapshot *snap = &s->pub;
	for (size_t i = 0; i < snap->ninterps; i++)
		if (snap->interps[i].address == addr)
			return NULL;
	if (snap->ninterps == *cap) {
		size_t n = *cap ? 2 * *cap : 4;
		struct gci_interp *p = gci_reallocarray(snap->interps, n, sizeof(*p));
		if (!p)
			return &gci_enomem;
		snap->interps = p;
		*cap = n;
	}
	struct gci_interp *in = &snap->interps[snap->ninterps++];
	memset(in, 0, sizeof(*in));
	in->address = addr;
	in->id = -1;
	return NULL;
}

static struct gci_error *find_interpreters(struct gci_program *prog, struct snapshot *s)
{
	struct gci_snapshot *snap = &s->pub;
	const struct gci_layout *L = &s->layout;
	struct gci_error *err;
	size_t cap = 0;
	uint64_t main_interp = 0, head = 0;

	if (s->nsig) {
		/* The shape found must be this version's. */
		if (L->gc_generation0 - L->gc_generations !=
		    s->sig_table->gc_generation0 - s->sig_table->gc_generations ||
		    L->gen_size != s->sig_table->gen_size)
			return gci_error_create(GCI_ERR_UNSUPPORTED, "the GC state found in "
						"memory is shaped like %s's, not like CPython %s's",
						s->sig_table->name, snap->version);
		for (size_t i = 0; i < s->nsig; i++) {
			uint64_t gc = s->sig[i] - (uint64_t)L->gc_generations;
			uint64_t addr = L->state_kind == GCI_STATE_INTERP ? gc - (uint64_t)L->interp_gc : 0;
			if ((err = add_interp(s, &cap, addr ? addr : i)))
				return err;
			struct gci_interp *in = &snap->interps[snap->ninterps - 1];
			in->address = addr;
			in->gc_state = gc;
			/* 3.7, 3.8: one GC state for the process, the main one's. */
			if (L->state_kind == GCI_STATE_RUNTIME)
				in->id = 0;
			if (addr && L->interp_id >= 0) {
				struct gci_error *e = gci_read_i64(&prog->mem, addr + L->interp_id,
								   &in->id);
				if (e) {
					gci_error_destroy(e);
					in->id = -1;
				}
			}
			if ((err = read_gc_state(prog, s, in, i == 0)))
				return err;
		}
		/* The main interpreter (id 0) first. */
		for (size_t i = 1; i < snap->ninterps; i++) {
			if (snap->interps[i].id == 0) {
				struct gci_interp t = snap->interps[0];
				snap->interps[0] = snap->interps[i];
				snap->interps[i] = t;
			}
		}
		return NULL;
	}
	if (L->state_kind == GCI_STATE_STATIC) {
		if ((err = add_interp(s, &cap, 0)))
			return err;
		struct gci_interp *in = &snap->interps[0];
		in->id = 0;
		in->gc_state = s->static_generations;
		return read_gc_state(prog, s, in, true);
	}
	if (L->runtime_interp_main >= 0 &&
	    (err = gci_read_u64(&prog->mem, snap->runtime + L->runtime_interp_main,
				&main_interp)))
		return gci_error_prefix(err, "reading _PyRuntime.interpreters.main: ");
	if ((err = gci_read_u64(&prog->mem, snap->runtime + L->runtime_interp_head, &head)))
		return gci_error_prefix(err, "reading _PyRuntime.interpreters.head: ");
	if (!main_interp && !head)
		return gci_error_create(GCI_ERR_NOT_PYTHON,
					"the interpreter is not initialised (no "
					"interpreter in _PyRuntime at 0x%" PRIx64 ")",
					snap->runtime);
	if (main_interp && (err = add_interp(s, &cap, main_interp)))
		return err;
	uint64_t p = head;
	for (int i = 0; p && i < MAX_INTERPRETERS; i++) {
		if ((err = add_interp(s, &cap, p)))
			return err;
		if (L->state_kind != GCI_STATE_INTERP)
			break;  /* one GC state for the process */
		err = gci_read_u64(&prog->mem, p + L->interp_next, &p);
		if (err) {
			struct gci_error *perr = gci_snapshot_add_problem(
				snap, &s->problems_cap, p, "interpreter list: %s", err->message);
			gci_error_destroy(err);
			if (perr)
				return perr;
			break;
		}
	}
	if (L->state_kind == GCI_STATE_RUNTIME)
		snap->ninterps = 1;
	for (size_t i = 0; i < snap->ninterps; i++) {
		struct gci_interp *in = &snap->interps[i];
		if (L->state_kind == GCI_STATE_RUNTIME)
			in->gc_state = snap->runtime + (uint64_t)L->runtime_gc;
		else
			in->gc_state = in->address + (uint64_t)L->interp_gc;
		if (L->interp_id >= 0 && L->state_kind == GCI_STATE_INTERP) {
			err = gci_read_i64(&prog->mem, in->address + L->interp_id, &in->id);
			if (err) {
				gci_error_destroy(err);
				in->id = -1;
			}
		} else if (i == 0) {
			in->id = 0;
		}
		err = read_gc_state(prog, s, in, i == 0);
		if (err) {
			if (i == 0 || err->code == GCI_ERR_NOMEM)
				return err;
			/* A subinterpreter we cannot read: say so, keep the rest. */
			struct gci_error *perr = gci_snapshot_add_problem(
				snap, &s->problems_cap, in->address,
				"interpreter at 0x%" PRIx64 ": %s", in->address, err->message);
			gci_error_destroy(err);
			if (perr)
				return perr;
			snap->ninterps = i;
			break;
		}
		gci_log(prog, GCI_LOG_INFO, "interpreter %" PRId64 " at 0x%" PRIx64
			": GC state at 0x%" PRIx64, in->id, in->address, in->gc_state);
	}
	return NULL;
}

static struct gci_error *walk_all(struct gci_program *prog, struct snapshot *s,
				  unsigned flags)
{
	struct gci_snapshot *snap = &s->pub;
	struct gci_walker w;
	uint64_t bound = gci_program_saved_bytes(prog) / (s->layout.gc_head_size + 16) + 1;
	size_t nheads = 0;
	uint64_t *heads = gci_reallocarray(NULL, snap->ninterps * (GCI_MAX_GENS + 1),
					   sizeof(*heads));
	if (!heads)
		return &gci_enomem;
	for (size_t i = 0; i < snap->ninterps; i++) {
		struct gci_interp *in = &snap->interps[i];
		const struct gci_gen *gen;
		for (size_t g = 0; (gen = gci_interp_list(in, g)); g++)
			heads[nheads++] = gen->head;
	}
	gci_walker_init(&w, &prog->mem, &s->layout, snap, bound);
	w.keep_objects = flags & GCI_SNAPSHOT_OBJECTS;
	w.keep_type_pages = flags & GCI_SNAPSHOT_TYPE_PAGES;
	w.problems_cap = s->problems_cap;
	w.heads = heads;
	w.nheads = nheads;
	struct gci_error *err = NULL;
	for (size_t i = 0; i < snap->ninterps && !err; i++) {
		struct gci_interp *in = &snap->interps[i];
		if (in->collecting > 0)
			err = gci_snapshot_add_problem(snap, &w.problems_cap, in->gc_state,
						       "interpreter %" PRId64 ": a collection "
						       "was running when the snapshot was "
						       "taken; the lists may be inconsistent",
						       in->id);
		for (size_t g = 0; g < in->ngens && !err; g++)
			err = gci_walk_list(&w, &in->gens[g]);
		if (in->has_permanent && !err)
			err = gci_walk_list(&w, &in->permanent);
		if (!err)
			gci_log(prog, GCI_LOG_INFO, "interpreter %" PRId64 ": walked", in->id);
	}
	s->problems_cap = w.problems_cap;
	if (w.unnamed)
		gci_program_warn(prog, "the names of %zu type%s could not be read (first: %s)",
				 w.unnamed, w.unnamed == 1 ? "" : "s", w.unnamed_why);
	gci_walker_deinit(&w);
	free(heads);
	return err;
}

/*
 * No symbol (the files are missing or stripped): 3.13+ still announce
 * themselves with the _Py_DebugOffsets cookie at the start of _PyRuntime, in
 * writable memory that the core holds.  Exactly one validated block counts.
 */
static bool scan_debug_offsets(struct gci_program *prog, struct snapshot *s,
			       struct gci_symbol *ret)
{
	struct gci_memory *mem = &prog->mem;
	uint64_t found = 0;
	size_t nfound = 0;
	for (size_t i = 0; i < mem->nsegs[GCI_TIER_PRIMARY]; i++) {
		const struct gci_segment *seg = &mem->segs[GCI_TIER_PRIMARY][i];
		if (!seg->buf)
			continue;
		const unsigned char *p = seg->buf, *end = seg->buf + (seg->saved_end - seg->start);
		while (p < end) {
			const unsigned char *hit = memmem(p, (size_t)(end - p), GCI_DEBUG_COOKIE, 8);
			if (!hit)
				break;
			uint64_t addr = seg->start + (uint64_t)(hit - seg->buf);
			struct gci_debug_offsets d;
			struct gci_error *err;
			if (!(addr & 7) && !(err = gci_debug_offsets_read(mem, addr, &d))) {
				if (addr != found)
					nfound++;
				found = addr;
			} else if (!(addr & 7)) {
				gci_log(prog, GCI_LOG_DEBUG, "cookie at 0x%" PRIx64 ": %s", addr,
					err->message);
				if (!s->cookie_rejected)
					s->cookie_rejected = err->message;
				else
					free(err->message);
				err->message = NULL;
				gci_error_destroy(err);
			}
			p = hit + 8;
		}
	}
	if (nfound > 1) {
		if (asprintf(&s->ambiguous, "%zu valid _Py_DebugOffsets blocks in writable "
			     "memory (the last at 0x%" PRIx64 "): cannot tell which is the "
			     "interpreter's", nfound, found) < 0)
			s->ambiguous = NULL;
		return false;
	}
	if (nfound != 1)
		return false;
	memset(ret, 0, sizeof(*ret));
	ret->address = found;
	ret->module = dwfl_addrmodule(prog->dwfl, found);
	ret->module_name = ret->module ? dwfl_module_info(ret->module, NULL, NULL, NULL,
							  NULL, NULL, NULL, NULL) : NULL;
	if (!ret->module_name)
		ret->module_name = "an unknown module";
	return true;
}

/*
 * A target read while running (--no-stop): if any list's count or last
 * object changed during the walk, the numbers mix two moments; say so as a
 * problem rather than report them as a snapshot.
 */
static struct gci_error *check_unchanged(struct gci_program *prog, struct snapshot *s)
{
	struct gci_snapshot *snap = &s->pub;
	const struct gci_layout *L = &s->layout;
	gci_block_cache_invalidate(prog->cache);
	for (size_t i = 0; i < snap->ninterps; i++) {
		struct gci_interp *in = &snap->interps[i];
		const struct gci_gen *gen;
		for (size_t g = 0; (gen = gci_interp_list(in, g)); g++) {
			int64_t count = gen->count;
			uint64_t prev = 0;
			uint64_t base = gen->head - (uint64_t)L->gen_head;
			struct gci_error *err;
			if (g < in->ngens && (err = read_int32(prog, base, L->gen_count, &count))) {
				gci_error_destroy(err);
				continue;
			}
			if ((err = gci_read_u64(&prog->mem, gen->head + L->gc_prev, &prev))) {
				gci_error_destroy(err);
				continue;
			}
			prev &= L->gc_ptr_mask;
			uint64_t last = gen->last_head ? gen->last_head : gen->head;
			if (count == gen->count && prev == last)
				continue;
			err = gci_snapshot_add_problem(
				snap, &s->problems_cap, gen->head, "interpreter %" PRId64 ", list %s: "
				"the target ran during the walk (--no-stop): its count went from %"
				PRId64 " to %" PRId64 " and its last object from 0x%" PRIx64 " to 0x%"
				PRIx64 "; the numbers mix two moments", in->id, gen->name,
				gen->count, count, last, prev);
			if (err)
				return err;
		}
	}
	return NULL;
}

static bool anchor_runtime_symbol(struct gci_program *prog, struct snapshot *s,
				  struct gci_symbol *ret)
{
	return gci_program_symbol(prog, "_PyRuntime", ret);
}

/* 3.6: the exported pointer to the first generation's head. */
static bool anchor_generation0(struct gci_program *prog, struct snapshot *s,
			       struct gci_symbol *ret)
{
	uint64_t gen0;
	if (!gci_program_symbol(prog, "_PyGC_generation0", ret))
		return false;
	struct gci_error *err = gci_read_u64(&prog->mem, ret->address, &gen0);
	if (err) {
		gci_log(prog, GCI_LOG_INFO, "discovery: _PyGC_generation0 at 0x%" PRIx64
			": %s", ret->address, err->message);
		gci_error_destroy(err);
		return false;
	}
	s->static_gc = true;
	s->static_generations = gen0;
	return true;
}

static bool anchor_cookie(struct gci_program *prog, struct snapshot *s,
			  struct gci_symbol *ret)
{
	return scan_debug_offsets(prog, s, ret);
}

/* A list head whose links close: empty, or first and last point back. */
static bool head_consistent(struct gci_memory *mem, const struct gci_layout *L, uint64_t h)
{
	uint64_t next, prev, back;
	struct gci_error *err;
	if ((err = gci_read_u64(mem, h + L->gc_next, &next)) ||
	    (err = gci_read_u64(mem, h + L->gc_prev, &prev))) {
		gci_error_destroy(err);
		return false;
	}
	next &= L->gc_ptr_mask;
	prev &= L->gc_ptr_mask;
	if (next == h || prev == h)
		return next == h && prev == h;
	if ((next & 7) || (prev & 7) ||
	    (err = gci_read_u64(mem, next + L->gc_prev, &back))) {
		gci_error_destroy(err);
		return false;
	}
	if ((back & L->gc_ptr_mask) != h)
		return false;
	if ((err = gci_read_u64(mem, prev + L->gc_next, &back))) {
		gci_error_destroy(err);
		return false;
	}
	return (back & L->gc_ptr_mask) == h;
}

/* Whether generations[0] of table L can start at g: lists close, the
 * thresholds and counts are plausible, the permanent list closes too. */
static bool gc_state_fits(struct gci_memory *mem, const struct gci_layout *L, uint64_t g)
{
	for (uint32_t i = 0; i < L->ngens; i++) {
		uint64_t h = g + (uint64_t)i * L->gen_size;
		int64_t threshold, count;
		struct gci_error *err;
		if ((err = gci_read_int(mem, h + L->gen_threshold, 4, true, &threshold)) ||
		    (err = gci_read_int(mem, h + L->gen_count, 4, true, &count))) {
			gci_error_destroy(err);
			return false;
		}
		if (threshold < 0 || threshold > 100000000 || count < -1000000 ||
		    count > 1000000000 || !head_consistent(mem, L, h + L->gen_head))
			return false;
	}
	return L->gc_permanent < 0 ||
	       head_consistent(mem, L, g - (uint64_t)L->gc_generations + (uint64_t)L->gc_permanent);
}

/*
 * Before 3.13, with neither symbols nor debug offsets: the GC state has a
 * shape of its own.  Its generation0 field points at generations[0] a fixed
 * distance before it (72 bytes in 3.8-3.12, 144 in 3.7); the three list
 * heads and the permanent one must each close on themselves.  Every GC
 * state found is an interpreter's (3.9+ have one each).
 */
static bool anchor_gc_signature(struct gci_program *prog, struct snapshot *s,
				struct gci_symbol *ret)
{
	size_t ntables;
	const struct gci_layout_table *tables = gci_layout_tables(&ntables);
	struct gci_memory *mem = &prog->mem;
	for (size_t t = 0; t < ntables; t++) {
		const struct gci_layout *L = &tables[t].layout;
		/* 3.13+ announce themselves with _Py_DebugOffsets instead. */
		if (tables[t].debug || L->gc_generation0 < 0 || tables[t].min_hex >= 0x030d0000)
			continue;
		uint64_t delta = (uint64_t)(L->gc_generation0 - L->gc_generations);
		bool same = false;
		for (size_t u = 0; u < t && !same; u++)
			same = tables[u].layout.gc_generation0 >= 0 &&
			       tables[u].layout.gc_generation0 - tables[u].layout.gc_generations ==
			       (int64_t)delta && tables[u].layout.gen_size == L->gen_size;
		if (same)
			continue;  /* that shape was tried already */
		size_t n = 0;
		uint64_t found[MAX_INTERPRETERS];
		for (size_t i = 0; i < mem->nsegs[GCI_TIER_PRIMARY]; i++) {
			const struct gci_segment *seg = &mem->segs[GCI_TIER_PRIMARY][i];
			if (!seg->buf)
				continue;
			uint64_t len = (seg->saved_end - seg->start) & ~(uint64_t)7;
			for (uint64_t off = 0; off + 8 <= len && n < MAX_INTERPRETERS; off += 8) {
				uint64_t v;
				memcpy(&v, seg->buf + off, 8);
				uint64_t a = seg->start + off;
				if (v + delta == a && gc_state_fits(mem, L, v))
					found[n++] = v;
			}
		}
		if (!n)
			continue;
		memcpy(s->sig, found, n * sizeof(found[0]));
		s->nsig = n;
		s->sig_table = L;
		memset(ret, 0, sizeof(*ret));
		ret->address = found[0];
		ret->module = dwfl_addrmodule(prog->dwfl, found[0]);
		ret->module_name = ret->module ? dwfl_module_info(ret->module, NULL, NULL, NULL,
								  NULL, NULL, NULL, NULL) : NULL;
		if (!ret->module_name)
			ret->module_name = "memory of no known file";
		gci_log(prog, GCI_LOG_INFO, "discovery: %zu GC state%s shaped like %s's",
			n, n == 1 ? "" : "s", L->name);
		if (n > 1)
			gci_program_warn(prog, "%zu interpreters' GC states found by their shape; "
					 "without the binaries, which is the main one is not "
					 "known: the first found is reported as main", n);
		return true;
	}
	return false;
}

/* Discovery strategies, in order of trust. */
static const struct {
	const char *what;
	bool (*find)(struct gci_program *, struct snapshot *, struct gci_symbol *);
} anchors[] = {
	{ "symbol _PyRuntime", anchor_runtime_symbol },
	{ "symbol _PyGC_generation0 (3.6)", anchor_generation0 },
	{ "_Py_DebugOffsets cookie in writable memory", anchor_cookie },
	{ "the shape of a GC state in writable memory (before 3.13)", anchor_gc_signature },
};

struct gci_error *gci_snapshot_take(struct gci_program *prog, unsigned flags,
				    struct gci_snapshot **ret)
{
	struct gci_error *err;
	struct snapshot *s = calloc(1, sizeof(*s));
	if (!s)
		return &gci_enomem;
	struct gci_snapshot *snap = &s->pub;
	snap->prog = prog;

	struct gci_symbol rt;
	const char *how = NULL;
	for (size_t i = 0; i < sizeof(anchors) / sizeof(anchors[0]) && !how; i++) {
		if (anchors[i].find(prog, s, &rt))
			how = anchors[i].what;
		else
			gci_log(prog, GCI_LOG_DEBUG, "discovery: %s: not found", anchors[i].what);
		if (s->ambiguous) {
			err = gci_error_create(GCI_ERR_NOT_PYTHON, "%s", s->ambiguous);
			goto fail;
		}
	}
	if (!how) {
		err = gci_error_create(GCI_ERR_NOT_PYTHON,
				       "no CPython interpreter found in %s: neither the "
				       "executable%s%s nor any libpython defines _PyRuntime or "
				       "_PyGC_generation0, and no _Py_DebugOffsets is in its "
				       "memory", prog->target_path, prog->exe_core_path ? " " : "",
				       prog->exe_core_path ? prog->exe_core_path : "");
		goto fail;
	}
	snap->runtime = s->static_gc || s->nsig ? 0 : rt.address;
	gci_log(prog, GCI_LOG_INFO, "discovery: %s: 0x%" PRIx64 " in %s", how, rt.address,
		rt.module_name);
	s->module = rt.module;

	if ((err = find_version(prog, s, rt.module)))
		goto fail;
	uint64_t dbg_version;
	if (!s->static_gc && !s->nsig &&
	    gci_debug_offsets_present(&prog->mem, rt.address, &dbg_version)) {
		err = gci_debug_offsets_read(&prog->mem, rt.address, &s->dbg);
		if (!err) {
			s->have_dbg = true;
			gci_log(prog, GCI_LOG_INFO, "discovery: _Py_DebugOffsets at 0x%" PRIx64
				" (version 0x%" PRIx64 ")", rt.address, s->dbg.version);
		} else if (err->code == GCI_ERR_NOMEM) {
			goto fail;
		} else {
			gci_program_warn(prog, "%s", err->message);
			gci_error_destroy(err);
			err = NULL;
		}
		if (s->have_dbg && s->dbg.free_threaded) {
			err = gci_error_create(
				GCI_ERR_FREE_THREADED,
				"CPython %u.%u.%u is a free-threaded build: its objects have no "
				"GC heads and its collector keeps no generation lists, so there "
				"is nothing to walk (it would take enumerating mimalloc's GC "
				"heaps of every thread state; not supported)",
				(unsigned)(s->dbg.version >> 24), (unsigned)(s->dbg.version >> 16) & 0xff,
				(unsigned)(s->dbg.version >> 8) & 0xff);
			goto fail;
		}
	}
	format_version(snap->version_hex, snap->version, sizeof(snap->version));
	struct gci_symbol dbg;
	snap->debug_build = gci_program_module_symbol(prog, rt.module, "_Py_NegativeRefcount",
						      &dbg);
	gci_log(prog, GCI_LOG_INFO, "version: CPython %s (from %s)%s", snap->version,
		snap->version_source, snap->debug_build ? ", debug build" : "");

	if ((err = choose_layout(prog, s, &rt)))
		goto fail;
	/* Everything above reads data that does not change while the target
	 * runs; from here on it must hold still. */
	bool stop = (flags & GCI_SNAPSHOT_STOP) && prog->pid > 0;
	if (stop && (err = gci_program_stop(prog)))
		goto fail;
	/* Every file is open now (symbols, DWARF, the layout cache; the
	 * threads are seized): what follows walks the target's own pointers,
	 * confined if asked (docs/sandbox.md). */
	if (flags & GCI_SNAPSHOT_CONFINE)
		err = gci_program_confine(prog);
	if (!err && !(err = find_interpreters(prog, s)) && !(err = walk_all(prog, s, flags)) &&
	    prog->pid > 0)
		err = read_sharing(prog, s);
	if (!err && prog->pid > 0 && !stop)
		err = check_unchanged(prog, s);
	if (stop) {
		uint64_t usec;
		gci_program_resume(prog, &usec);
		gci_log(prog, GCI_LOG_INFO, "pid %d: resumed after %.1f ms", prog->pid,
			usec / 1000.0);
	}
	if (err)
		goto fail;
	free(s->ambiguous);
	s->ambiguous = NULL;
	free(s->cookie_rejected);
	s->cookie_rejected = NULL;
	*ret = snap;
	return NULL;
fail:
	free(s->ambiguous);
	s->ambiguous = NULL;
	/* A rejected block may be why nothing else worked: say so. */
	if (s->cookie_rejected && err != &gci_enomem && !s->have_dbg) {
		char *msg;
		if (asprintf(&msg, "%s (note: %s)", err->message, s->cookie_rejected) >= 0) {
			free(err->message);
			err->message = msg;
		}
	}
	free(s->cookie_rejected);
	s->cookie_rejected = NULL;
	gci_snapshot_destroy(snap);
	/* Every message names its target. */
	if (err != &gci_enomem && prog->target_path && !strstr(err->message, prog->target_path))
		err = gci_error_prefix(err, "%s: ", prog->target_path);
	/* What fails in a truncated core most likely fails because of it. */
	if (prog->core && prog->core->truncated && err->code != GCI_ERR_NOMEM) {
		err->code = GCI_ERR_INPUT;
		err = gci_error_prefix(err, "%s is truncated (%zu of %" PRIu64 " bytes): ",
				       prog->target_path, prog->core->size,
				       prog->core->expected_size);
	}
	return err;
}
