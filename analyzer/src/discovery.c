/*
 * Discovery: find the interpreter, tell its version without running
 * anything, and find every interpreter's GC state (discovery.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery.h"
#include "walker.h"

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

struct version_scan {
	int want_minor;
	uint32_t found;
	bool ambiguous;
	uint64_t where;
};

static bool version_block(void *arg, uint64_t address, const unsigned char *buf, size_t size)
{
	struct version_scan *vs = arg;
	const char *p = (const char *)buf, *end = p + size;
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
		if (!hex || (vs->want_minor >= 0 && (int)((hex >> 16) & 0xff) != vs->want_minor))
			continue;
		uint64_t at = address + (uint64_t)(q - p);
		if (vs->found && vs->found != hex)
			vs->ambiguous = true;
		/* Blocks overlap: the same text seen twice is one. */
		vs->found = hex;
		vs->where = at;
	}
	return vs->ambiguous;
}

/*
 * Strategy for 3.6-3.10: Py_GetVersion() formats "3.9.18 (main, Nov 20
 * 2023, ...) [GCC ...]" into a static buffer at start-up (sys.version), so
 * it is in the interpreter module's writable data, which a core holds and a
 * live process has.  The minor version must agree with the file's name,
 * and exactly one version may be found.
 */
static struct gci_error *version_from_memory(struct gci_program *prog, struct gci_snapshot *snap,
					     Dwfl_Module *mod)
{
	Dwarf_Addr low = 0, high = UINT64_MAX;
	const char *name = mod ? dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL,
						  NULL)
			       : NULL;
	struct version_scan vs = { .want_minor = name_minor(name) };
	if (vs.want_minor < 0)
		vs.want_minor = name_minor(prog->exe_core_path);
	/* 250 bytes: the longest sys.version text looked at from its start. */
	uint64_t searched = 0;
	struct gci_error *err = gci_program_scan(prog, low, high, 256, version_block, &vs,
						 &searched);
	if (err)
		return err;
	gci_log(prog, GCI_LOG_DEBUG, "version: searched %" PRIu64 " bytes of %s for the "
		"sys.version text", searched, name ? name : "memory");
	if (!vs.found || vs.ambiguous)
		return gci_error_create(GCI_ERR_UNSUPPORTED, "%s sys.version text in the "
					"data of %s", vs.ambiguous ? "more than one" : "no",
					name ? name : "the process");
	snap->version_hex = vs.found;
	snap->version_source = "sys.version text";
	gci_log(prog, GCI_LOG_INFO, "version: sys.version text at 0x%" PRIx64 " in %s",
		vs.where, name ? name : "memory");
	return NULL;
}

static struct gci_error *find_version(struct gci_program *prog, struct gci_snapshot *snap,
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
			snap->version_hex = (uint32_t)v;
			snap->version_source = "Py_Version";
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
	if (snap->runtime &&
	    !(err = gci_memory_read(&prog->mem, snap->runtime, cookie, 8))) {
		if (!memcmp(cookie, "xdebugpy", 8) &&
		    !(err = gci_read_u64(&prog->mem, snap->runtime + 8, &v)) &&
		    plausible_version(v)) {
			snap->version_hex = (uint32_t)v;
			snap->version_source = "_Py_DebugOffsets";
			return NULL;
		}
	}
	gci_error_destroy(err);
	/* Before 3.11: the PY_VERSION string in the file's read-only data. */
	/* Without a module (no files), the whole of memory is searched. */
	if ((err = version_from_memory(prog, snap, rt_module)) == NULL)
		return NULL;
	return gci_error_prefix(err, "cannot tell the Python version: no readable "
				"Py_Version, no _Py_DebugOffsets, and ");
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
static struct gci_error *read_static_state(struct gci_program *prog, const struct gci_discovery *d,
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
		if (!gci_program_module_symbol(prog, d->module, vars[i].name, &sym)) {
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
static struct gci_error *read_gc_state(struct gci_program *prog, const struct gci_discovery *d,
				       struct gci_layout *L, struct gci_interp *in, bool is_main)
{
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
					gc + L->gc_generation0, g0, want, L->name);
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
	    (err = read_static_state(prog, d, in)))
		return err;
	if ((err = read_ssize(prog, gc, L->gc_heap_size, &in->heap_size)))
		return err;
	in->collector = L->collector == GCI_COLLECTOR_INCREMENTAL ? "incremental"
								  : "generational";
	in->visited_space = in->phase = -1;
	in->has_work_to_do = false;
	in->work_to_do = 0;
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
		if (L->gc_work_to_do >= 0) {
			if ((err = gci_read_i64(&prog->mem, gc + (uint64_t)L->gc_work_to_do,
						&in->work_to_do)))
				return err;
			in->has_work_to_do = true;
		}
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

static struct gci_error *add_interp(struct gci_snapshot *snap, size_t *cap, uint64_t addr)
{
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

struct gci_error *gci_discover_interpreters(struct gci_program *prog,
					    struct gci_snapshot *snap,
					    const struct gci_discovery *d,
					    struct gci_layout *L, size_t *problems_cap)
{
	struct gci_error *err;
	size_t cap = 0;
	uint64_t main_interp = 0, head = 0;

	if (d->nsig) {
		/* The shape found must be this version's. */
		if (L->gc_generation0 - L->gc_generations !=
		    d->sig_table->gc_generation0 - d->sig_table->gc_generations ||
		    L->gen_size != d->sig_table->gen_size)
			return gci_error_create(GCI_ERR_UNSUPPORTED, "the GC state found in "
						"memory is shaped like %s's, not like CPython %s's",
						d->sig_table->name, snap->version);
		for (size_t i = 0; i < d->nsig; i++) {
			uint64_t gc = d->sig[i] - (uint64_t)L->gc_generations;
			uint64_t addr = L->state_kind == GCI_STATE_INTERP ? gc - (uint64_t)L->interp_gc : 0;
			if ((err = add_interp(snap, &cap, addr ? addr : i)))
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
			if ((err = read_gc_state(prog, d, L, in, i == 0)))
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
		if ((err = add_interp(snap, &cap, 0)))
			return err;
		struct gci_interp *in = &snap->interps[0];
		in->id = 0;
		in->gc_state = d->static_generations;
		return read_gc_state(prog, d, L, in, true);
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
	if (main_interp && (err = add_interp(snap, &cap, main_interp)))
		return err;
	uint64_t p = head;
	for (int i = 0; p && i < GCI_MAX_INTERPRETERS; i++) {
		if ((err = add_interp(snap, &cap, p)))
			return err;
		if (L->state_kind != GCI_STATE_INTERP)
			break;  /* one GC state for the process */
		err = gci_read_u64(&prog->mem, p + L->interp_next, &p);
		if (err) {
			struct gci_error *perr = gci_snapshot_add_problem(
				snap, problems_cap, p, "interpreter list: %s", err->message);
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
		err = read_gc_state(prog, d, L, in, i == 0);
		if (err) {
			if (i == 0 || err->code == GCI_ERR_NOMEM)
				return err;
			/* A subinterpreter we cannot read: say so, keep the rest. */
			struct gci_error *perr = gci_snapshot_add_problem(
				snap, problems_cap, in->address,
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


struct cookie_scan {
	struct gci_program *prog;
	struct gci_discovery *d;
	uint64_t found;
	size_t nfound;
};

static bool cookie_block(void *arg, uint64_t address, const unsigned char *buf, size_t size)
{
	struct cookie_scan *cs = arg;
	struct gci_memory *mem = &cs->prog->mem;
	const unsigned char *p = buf, *end = buf + size;
	while (p < end) {
		const unsigned char *hit = memmem(p, (size_t)(end - p), GCI_DEBUG_COOKIE, 8);
		if (!hit)
			break;
		p = hit + 8;
		uint64_t addr = address + (uint64_t)(hit - buf);
		/* Blocks overlap by 7 bytes: a whole cookie is seen once. */
		if ((addr & 7) || addr == cs->found)
			continue;
		struct gci_debug_offsets dbg;
		struct gci_error *err = gci_debug_offsets_read(mem, addr, &dbg);
		if (!err) {
			cs->nfound++;
			cs->found = addr;
			continue;
		}
		gci_log(cs->prog, GCI_LOG_DEBUG, "cookie at 0x%" PRIx64 ": %s", addr,
			err->message);
		if (!cs->d->cookie_rejected && err != &gci_enomem) {
			cs->d->cookie_rejected = err->message;
			err->message = NULL;
		}
		gci_error_destroy(err);
	}
	return false;
}

/*
 * No symbol (the files are missing or stripped): 3.13+ still announce
 * themselves with the _Py_DebugOffsets cookie at the start of _PyRuntime, in
 * writable memory that the core holds.  Exactly one validated block counts.
 */
static bool scan_debug_offsets(struct gci_program *prog, struct gci_discovery *d,
			       struct gci_symbol *ret)
{
	struct cookie_scan cs = { .prog = prog, .d = d };
	uint64_t searched = 0;
	struct gci_error *err = gci_program_scan(prog, 0, UINT64_MAX, 7, cookie_block, &cs,
						 &searched);
	if (err) {
		gci_log(prog, GCI_LOG_INFO, "discovery: cookie search: %s", err->message);
		gci_error_destroy(err);
		return false;
	}
	gci_log(prog, GCI_LOG_DEBUG, "discovery: searched %" PRIu64 " bytes for the "
		"_Py_DebugOffsets cookie", searched);
	if (cs.nfound > 1) {
		if (asprintf(&d->ambiguous, "%zu valid _Py_DebugOffsets blocks in writable "
			     "memory (the last at 0x%" PRIx64 "): cannot tell which is the "
			     "interpreter's", cs.nfound, cs.found) < 0)
			d->ambiguous = NULL;
		return false;
	}
	if (cs.nfound != 1)
		return false;
	memset(ret, 0, sizeof(*ret));
	ret->address = cs.found;
	ret->module = dwfl_addrmodule(prog->dwfl, cs.found);
	ret->module_name = ret->module ? dwfl_module_info(ret->module, NULL, NULL, NULL,
							  NULL, NULL, NULL, NULL) : NULL;
	if (!ret->module_name)
		ret->module_name = "an unknown module";
	return true;
}

static bool anchor_runtime_symbol(struct gci_program *prog, struct gci_discovery *d,
				  struct gci_symbol *ret)
{
	return gci_program_symbol(prog, "_PyRuntime", ret);
}

/* 3.6: the exported pointer to the first generation's head. */
static bool anchor_generation0(struct gci_program *prog, struct gci_discovery *d,
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
	d->static_gc = true;
	d->static_generations = gen0;
	return true;
}

static bool anchor_cookie(struct gci_program *prog, struct gci_discovery *d,
			  struct gci_symbol *ret)
{
	return scan_debug_offsets(prog, d, ret);
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

/* The distinct shapes of GC state the tables before 3.13 describe. */
#define MAX_SHAPES 16

struct shape_scan {
	struct gci_memory *mem;
	size_t nshapes;
	const struct gci_layout *shape[MAX_SHAPES];
	uint64_t delta[MAX_SHAPES];
	size_t n[MAX_SHAPES];
	uint64_t found[MAX_SHAPES][GCI_MAX_INTERPRETERS];
};

static bool shape_block(void *arg, uint64_t address, const unsigned char *buf, size_t size)
{
	struct shape_scan *ss = arg;
	size_t skip = (size_t)((8 - (address & 7)) & 7);
	for (size_t off = skip; off + 8 <= size; off += 8) {
		uint64_t v;
		memcpy(&v, buf + off, 8);
		uint64_t a = address + off;
		for (size_t k = 0; k < ss->nshapes; k++) {
			if (v + ss->delta[k] != a || ss->n[k] == GCI_MAX_INTERPRETERS)
				continue;
			if (gc_state_fits(ss->mem, ss->shape[k], v))
				ss->found[k][ss->n[k]++] = v;
		}
	}
	return false;
}

/*
 * Before 3.13, with neither symbols nor debug offsets: the GC state has a
 * shape of its own.  Its generation0 field points at generations[0] a fixed
 * distance before it (72 bytes in 3.8-3.12, 144 in 3.7); the three list
 * heads and the permanent one must each close on themselves.  Every GC
 * state found is an interpreter's (3.9+ have one each).  One pass over
 * memory tries every shape; the first table's shape that is found wins.
 */
static bool anchor_gc_signature(struct gci_program *prog, struct gci_discovery *d,
				struct gci_symbol *ret)
{
	size_t ntables;
	const struct gci_layout_table *tables = gci_layout_tables(&ntables);
	struct shape_scan *ss = calloc(1, sizeof(*ss));
	if (!ss)
		return false;
	ss->mem = &prog->mem;
	for (size_t t = 0; t < ntables && ss->nshapes < MAX_SHAPES; t++) {
		const struct gci_layout *L = &tables[t].layout;
		/* 3.13+ announce themselves with _Py_DebugOffsets instead. */
		if (tables[t].debug || L->gc_generation0 < 0 || tables[t].min_hex >= 0x030d0000)
			continue;
		uint64_t delta = (uint64_t)(L->gc_generation0 - L->gc_generations);
		bool same = false;
		for (size_t k = 0; k < ss->nshapes && !same; k++)
			same = ss->delta[k] == delta && ss->shape[k]->gen_size == L->gen_size;
		if (same)
			continue;  /* that shape is tried already */
		ss->shape[ss->nshapes] = L;
		ss->delta[ss->nshapes++] = delta;
	}
	uint64_t searched = 0;
	struct gci_error *err = gci_program_scan(prog, 0, UINT64_MAX, 0, shape_block, ss,
						 &searched);
	if (err) {
		gci_log(prog, GCI_LOG_INFO, "discovery: GC state search: %s", err->message);
		gci_error_destroy(err);
		free(ss);
		return false;
	}
	gci_log(prog, GCI_LOG_DEBUG, "discovery: searched %" PRIu64 " bytes for %zu shapes "
		"of GC state", searched, ss->nshapes);
	for (size_t k = 0; k < ss->nshapes; k++) {
		size_t n = ss->n[k];
		if (!n)
			continue;
		const struct gci_layout *L = ss->shape[k];
		memcpy(d->sig, ss->found[k], n * sizeof(ss->found[k][0]));
		d->nsig = n;
		d->sig_table = L;
		memset(ret, 0, sizeof(*ret));
		ret->address = d->sig[0];
		ret->module = dwfl_addrmodule(prog->dwfl, d->sig[0]);
		ret->module_name = ret->module ? dwfl_module_info(ret->module, NULL, NULL, NULL,
								  NULL, NULL, NULL, NULL) : NULL;
		if (!ret->module_name)
			ret->module_name = "memory of no known file";
		/* The shape, not a version: several versions share one. */
		gci_log(prog, GCI_LOG_INFO, "discovery: %zu GC state%s with generation0 %"
			PRIu64 " bytes after the generations (the shape of %s and the "
			"versions that share it)", n, n == 1 ? "" : "s", ss->delta[k], L->name);
		if (n > 1)
			gci_program_warn(prog, "%zu interpreters' GC states found by their shape; "
					 "without the binaries, which is the main one is not "
					 "known: the first found is reported as main", n);
		free(ss);
		return true;
	}
	free(ss);
	return false;
}

/* Discovery strategies, in order of trust. */
static const struct {
	const char *what;
	bool (*find)(struct gci_program *, struct gci_discovery *, struct gci_symbol *);
} anchors[] = {
	{ "symbol _PyRuntime", anchor_runtime_symbol },
	{ "symbol _PyGC_generation0 (3.6)", anchor_generation0 },
	{ "_Py_DebugOffsets cookie in writable memory", anchor_cookie },
	{ "the shape of a GC state in writable memory (before 3.13)", anchor_gc_signature },
};


void gci_discovery_deinit(struct gci_discovery *d)
{
	free(d->ambiguous);
	d->ambiguous = NULL;
	free(d->cookie_rejected);
	d->cookie_rejected = NULL;
}

struct gci_error *gci_discover(struct gci_program *prog, struct gci_snapshot *snap,
			       struct gci_discovery *d)
{
	struct gci_error *err;
	struct gci_symbol *rt = &d->anchor;
	for (size_t i = 0; i < sizeof(anchors) / sizeof(anchors[0]) && !d->how; i++) {
		if (anchors[i].find(prog, d, rt))
			d->how = anchors[i].what;
		else
			gci_log(prog, GCI_LOG_DEBUG, "discovery: %s: not found", anchors[i].what);
		if (d->ambiguous)
			return gci_error_create(GCI_ERR_NOT_PYTHON, "%s", d->ambiguous);
	}
	if (!d->how)
		return gci_error_create(GCI_ERR_NOT_PYTHON,
					"no CPython interpreter found in %s: neither the "
					"executable%s%s nor any libpython defines _PyRuntime or "
					"_PyGC_generation0, and no _Py_DebugOffsets is in its "
					"memory", prog->target_path, prog->exe_core_path ? " " : "",
					prog->exe_core_path ? prog->exe_core_path : "");
	snap->runtime = d->static_gc || d->nsig ? 0 : rt->address;
	gci_log(prog, GCI_LOG_INFO, "discovery: %s: 0x%" PRIx64 " in %s", d->how, rt->address,
		rt->module_name);
	d->module = rt->module;

	if ((err = find_version(prog, snap, rt->module)))
		return err;
	uint64_t dbg_version;
	if (!d->static_gc && !d->nsig &&
	    gci_debug_offsets_present(&prog->mem, rt->address, &dbg_version)) {
		err = gci_debug_offsets_read(&prog->mem, rt->address, &d->dbg);
		if (!err) {
			d->have_dbg = true;
			gci_log(prog, GCI_LOG_INFO, "discovery: _Py_DebugOffsets at 0x%" PRIx64
				" (version 0x%" PRIx64 ")%s", rt->address, d->dbg.version,
				d->dbg.free_threaded ? ", free-threaded" : "");
		} else if (err == &gci_enomem) {
			return err;
		} else {
			gci_program_warn(prog, "%s", err->message);
			gci_error_destroy(err);
		}
	}
	format_version(snap->version_hex, snap->version, sizeof(snap->version));
	struct gci_symbol dbg;
	snap->debug_build = gci_program_module_symbol(prog, rt->module, "_Py_NegativeRefcount",
						      &dbg);
	gci_log(prog, GCI_LOG_INFO, "version: CPython %s (from %s)%s", snap->version,
		snap->version_source, snap->debug_build ? ", debug build" : "");
	return NULL;
}
