/*
 * Reports: text for people, JSON (schema "gcinspect/1", docs/json-schema.md)
 * for pipelines.  Both are built from the same analyses; the library returns
 * the text, the caller prints it.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "error.h"
#include "pageset.h"
#include "program.h"
#include "report_internal.h"
#include "snapshot.h"
#include "walker.h"

#define SCHEMA "gcinspect/1"

static json_object *hex_json(uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

static json_object *opt_int(int64_t v)
{
	return v < 0 ? NULL : json_object_new_int64(v);
}

static json_object *opt_bool(int v)
{
	return v < 0 ? NULL : json_object_new_boolean(v);
}

/* Find a list of the main interpreter by name. */
static json_object *gen_json(const struct gci_snapshot *snap, const struct gci_gen *g,
			     bool permanent, struct gci_error **err)
{
	struct gci_gen_stats st;
	if ((*err = gci_gen_stats(snap, g, &st)))
		return NULL;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(g->name));
	if (!permanent) {
		json_object_object_add(o, "threshold", opt_int(g->threshold));
		json_object_object_add(o, "count", opt_int(g->count));
	}
	json_object_object_add(o, "objects", json_object_new_int64((int64_t)st.objects));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)st.bytes));
	json_object_object_add(o, "pages", json_object_new_int64((int64_t)st.pages));
	/* free-threaded builds keep no lists: no head */
	json_object_object_add(o, "head", g->head ? hex_json(g->head) : NULL);
	json_object_object_add(o, "complete", json_object_new_boolean(g->complete));
	return o;
}

static json_object *interp_json(const struct gci_snapshot *snap,
				const struct gci_interp *in, struct gci_error **err)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", in->id >= 0 ? json_object_new_int64(in->id) : NULL);
	json_object_object_add(o, "address", hex_json(in->address));
	json_object_object_add(o, "gc_state", hex_json(in->gc_state));
	json_object_object_add(o, "enabled", opt_bool(in->enabled));
	json_object_object_add(o, "collecting", opt_bool(in->collecting));
	json_object_object_add(o, "long_lived_total", opt_int(in->long_lived_total));
	json_object_object_add(o, "long_lived_pending", opt_int(in->long_lived_pending));
	json_object_object_add(o, "heap_size", opt_int(in->heap_size));
	json_object_object_add(o, "collector", json_object_new_string(in->collector));
	if (!strcmp(in->collector, "incremental")) {
		json_object_object_add(o, "visited_space", in->visited_space >= 0 ?
				       json_object_new_int(in->visited_space) : NULL);
		json_object_object_add(o, "phase", in->phase < 0 ? NULL :
				       json_object_new_string(in->phase ? "collect" : "mark"));
		json_object_object_add(o, "work_to_do", in->has_work_to_do ?
				       json_object_new_int64(in->work_to_do) : NULL);
	}
	json_object *gens = json_object_new_array();
	json_object_object_add(o, "generations", gens);
	for (size_t i = 0; i < in->ngens && !*err; i++) {
		json_object *g = gen_json(snap, &in->gens[i], false, err);
		/* incremental: which old list is the visited one */
		if (g && i >= 1 && in->visited_space >= 0)
			json_object_object_add(g, "role", json_object_new_string(
				(int)i - 1 == in->visited_space ? "visited" : "pending"));
		json_object_array_add(gens, g);
	}
	json_object *perm = NULL;
	if (in->has_permanent && !*err)
		perm = gen_json(snap, &in->permanent, true, err);
	json_object_object_add(o, "permanent", perm);
	return o;
}

/* Free-threaded builds: objects without GC heads, in mimalloc heaps. */
static bool free_threaded(const struct gci_interp *in)
{
	return !strcmp(in->collector, "free-threaded");
}

static json_object *header_json(const struct gci_snapshot *snap)
{
	json_object *root = json_object_new_object();
	json_object_object_add(root, "schema", json_object_new_string(SCHEMA));
	/* Who wrote the report, where, and when the memory was as read: a
	 * saved report stands on its own.  Nothing here changes between two
	 * reports of one snapshot (no "now"), so they stay byte-identical. */
	json_object *gen = json_object_new_object();
	char host[256];
	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	json_object_object_add(gen, "program", json_object_new_string("gcinspect"));
	json_object_object_add(gen, "version", json_object_new_string(GCI_VERSION_STRING));
	json_object_object_add(gen, "host", host[0] ? json_object_new_string(host) : NULL);
	json_object_object_add(root, "generator", gen);
	json_object *when = json_object_new_object();
	char iso[32] = "";
	time_t when_t = (time_t)snap->time;
	struct tm tm;
	if (snap->time_source && gmtime_r(&when_t, &tm))
		strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_object_add(when, "time", iso[0] ? json_object_new_string(iso) : NULL);
	json_object_object_add(when, "time_source", snap->time_source ?
			       json_object_new_string(snap->time_source) : NULL);
	json_object_object_add(root, "snapshot", when);
	struct gci_process_info pi;
	gci_program_process_info(snap->prog, &pi);
	json_object *t = json_object_new_object();
	json_object_object_add(t, "kind", json_object_new_string(pi.kind));
	json_object_object_add(t, "path", pi.path ? json_object_new_string(pi.path) : NULL);
	json_object_object_add(t, "pid", opt_int(pi.pid));
	json_object_object_add(t, "command", pi.command ? json_object_new_string(pi.command) : NULL);
	json_object_object_add(t, "args", pi.args ? json_object_new_string(pi.args) : NULL);
	json_object_object_add(t, "signal", pi.signal > 0 ? json_object_new_int(pi.signal) : NULL);
	json_object_object_add(t, "signal_name",
			       pi.signal_name ? json_object_new_string(pi.signal_name) : NULL);
	json_object_object_add(t, "stopped_ms", pi.stopped ?
			       json_object_new_double(pi.stopped_usec / 1000.0) : NULL);
	json_object_object_add(root, "target", t);

	json_object *py = json_object_new_object();
	json_object_object_add(py, "version", json_object_new_string(snap->version));
	json_object_object_add(py, "version_hex", hex_json(snap->version_hex));
	json_object_object_add(py, "version_source",
			       json_object_new_string(snap->version_source));
	json_object_object_add(py, "debug_build", json_object_new_boolean(snap->debug_build));
	json_object_object_add(py, "layout", json_object_new_string(
		snap->layout_source == GCI_LAYOUT_DWARF ? "dwarf" : "table"));
	json_object_object_add(py, "layout_name", json_object_new_string(snap->layout_name));
	json_object_object_add(py, "debug_offsets", snap->debug_offsets ?
			       json_object_new_string(snap->debug_offsets) : NULL);
	json_object_object_add(py, "runtime", hex_json(snap->runtime));
	json_object_object_add(root, "python", py);
	return root;
}

static void add_integrity(const struct gci_snapshot *snap, json_object *root)
{
	const char *const *warnings;
	size_t nw = gci_snapshot_warnings(snap, &warnings);
	json_object *w = json_object_new_array();
	for (size_t i = 0; i < nw; i++)
		json_object_array_add(w, json_object_new_string(warnings[i]));
	json_object_object_add(root, "warnings", w);
	json_object *integ = json_object_new_object();
	json_object_object_add(integ, "complete", json_object_new_boolean(snap->nproblems == 0));
	json_object *probs = json_object_new_array();
	for (size_t i = 0; i < snap->nproblems; i++) {
		json_object *p = json_object_new_object();
		json_object_object_add(p, "address", hex_json(snap->problems[i].address));
		json_object_object_add(p, "message",
				       json_object_new_string(snap->problems[i].message));
		json_object_array_add(probs, p);
	}
	json_object_object_add(integ, "problems", probs);
	json_object_object_add(root, "integrity", integ);
}

struct gci_error *gci_report_json_string(json_object *root, int flags, char **ret)
{
	const char *s = json_object_to_json_string_ext(root, flags | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *out = s ? malloc(strlen(s) + 2) : NULL;
	if (out)
		sprintf(out, "%s\n", s);
	json_object_put(root);
	if (!out)
		return &gci_enomem;
	*ret = out;
	return NULL;
}

static struct gci_error *json_finish(json_object *root, char **ret)
{
	return gci_report_json_string(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED, ret);
}

/* The lists a types report covers, or an error naming the choices. */
static struct gci_error *select_gens(const struct gci_snapshot *snap, const char *which,
				     const struct gci_gen **gens, size_t *n)
{
	return gci_select_lists(snap, &snap->interps[0], which, gens, n);
}

static struct gci_error *types_json(const struct gci_snapshot *snap,
				    const struct gci_report_options *opts, char **ret)
{
	const struct gci_gen *gens[GCI_MAX_GENS + 1];
	size_t ngens, nt;
	struct gci_type_count *counts;
	struct gci_error *err = select_gens(snap, opts->generation, gens, &ngens);
	if (err || (err = gci_type_histogram(snap, gens, ngens, &counts, &nt)))
		return err;
	json_object *root = header_json(snap);
	json_object_object_add(root, "generation", opts->generation ?
			       json_object_new_string(opts->generation) : NULL);
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < nt; i++) {
		const struct gci_type *t = &snap->types[counts[i].type];
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(t->name));
		json_object_object_add(o, "address", hex_json(t->address));
		json_object_object_add(o, "name_known", json_object_new_boolean(t->name_known));
		json_object_object_add(o, "objects", json_object_new_int64((int64_t)counts[i].objects));
		json_object_object_add(o, "bytes", json_object_new_int64((int64_t)counts[i].bytes));
		json_object_array_add(arr, o);
	}
	free(counts);
	json_object_object_add(root, "types", arr);
	add_integrity(snap, root);
	return json_finish(root, ret);
}

/* The collection of that name, or NULL. */
static const struct gci_collection *collection_named(const struct gci_snapshot *snap,
						     const struct gci_interp *in, const char *name)
{
	const struct gci_collection *c;
	size_t n = gci_collections(snap, in, &c);
	for (size_t i = 0; name && i < n; i++)
		if (!strcmp(c[i].name, name))
			return &c[i];
	return NULL;
}

/* A collection as JSON names it: its generation number, or its name. */
static json_object *collection_json(const struct gci_collection *c)
{
	return c->numbered ? json_object_new_int(c->generation) : json_object_new_string(c->name);
}

static json_object *next_collection_json(const struct gci_snapshot *snap,
					 const struct gci_interp *in)
{
	struct gci_next_collection nc;
	gci_next_collection(snap, in, &nc);
	const struct gci_collection *c = collection_named(snap, in, nc.collection);
	json_object *n = json_object_new_object();
	json_object_object_add(n, "generation", c ? collection_json(c) : NULL);
	json_object_object_add(n, "allocations", opt_int(nc.allocations));
	json_object_object_add(n, "reason", json_object_new_string(nc.reason));
	if (nc.step) {
		json_object_object_add(n, "step", json_object_new_string(nc.step));
		json_object_object_add(n, "work_to_do", nc.has_work_to_do ?
				       json_object_new_int64(nc.work_to_do) : NULL);
		json_object_object_add(n, "pending_objects",
				       json_object_new_int64((int64_t)nc.pending_objects));
	}
	return n;
}

static struct gci_error *summary_json(const struct gci_snapshot *snap, char **ret)
{
	struct gci_error *err = NULL;
	json_object *root = header_json(snap);
	/* "gc" is interpreters[0], the same object referenced twice. */
	json_object *all = json_object_new_array();
	for (size_t i = 0; i < snap->ninterps && !err; i++)
		json_object_array_add(all, interp_json(snap, &snap->interps[i], &err));
	json_object_object_add(root, "gc", json_object_get(json_object_array_get_idx(all, 0)));
	json_object_object_add(root, "interpreters", all);
	const struct gci_interp *in0 = &snap->interps[0];
	const struct gci_collection *coll;
	size_t ncoll = gci_collections(snap, in0, &coll);
	json_object *cols = json_object_new_array();
	bool named = false;
	for (size_t i = 0; i < ncoll && !err; i++) {
		struct gci_touch t;
		if ((err = gci_touch_compute(snap, in0, coll[i].generation, &t)))
			break;
		json_object *c = json_object_new_object();
		json_object_object_add(c, "generation", collection_json(&coll[i]));
		json_object_object_add(c, "objects", json_object_new_int64((int64_t)t.objects));
		json_object_object_add(c, "pages", json_object_new_int64((int64_t)t.pages));
		json_object_object_add(c, "bytes", json_object_new_int64((int64_t)t.pages * 4096));
		if (!coll[i].numbered) {
			named = true;
			json_object_object_add(c, "approximation", t.approximation ?
					       json_object_new_string(t.approximation) : NULL);
		}
		json_object_array_add(cols, c);
	}
	json_object_object_add(root, "collections", cols);
	/* Collectors whose collections have names (not generations) also
	 * say here what their next automatic step will do. */
	if (named && !err)
		json_object_object_add(root, "next_collection", next_collection_json(snap, in0));
	if (err) {
		json_object_put(root);
		return err;
	}
	add_integrity(snap, root);
	return json_finish(root, ret);
}

/* The collections a touch report covers: one (-g), or each. */
static struct gci_error *touch_range(const struct gci_snapshot *snap, const char *which,
				     const struct gci_collection **ret, size_t *ret_n)
{
	const struct gci_interp *in = &snap->interps[0];
	if (!which) {
		*ret_n = gci_collections(snap, in, ret);
		return NULL;
	}
	*ret_n = 1;
	return gci_collection_find(snap, in, which, ret);
}

struct type_pages {
	uint32_t type;
	uint64_t pages, objects;
};

static int type_pages_compare(const void *a, const void *b)
{
	const struct type_pages *x = a, *y = b;
	if (x->pages != y->pages)
		return x->pages > y->pages ? -1 : 1;
	return x->objects > y->objects ? -1 : x->objects < y->objects;
}

/* Types by distinct pages of the heads a collection writes (top n). */
static struct gci_error *top_type_pages(const struct gci_snapshot *snap,
					const struct gci_interp *in, int generation,
					struct type_pages **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	/* Kept (GCI_SNAPSHOT_TYPE_PAGES) when the lists holding objects have
	 * them; an empty list has none either way. */
	const struct gci_gen *gen = NULL;
	for (size_t i = 0; (gen = gci_interp_list(in, i)); i++)
		if (gen->nobjects)
			break;
	if (!gen || !gen->data || !gen->data->type_pages)
		return NULL;
	struct gci_touch_plan plan;
	bool known;
	struct gci_error *err = gci_touch_plan_of(snap, in, generation, &known, &plan);
	if (err || !known)
		return err;
	const struct gci_gen_data *pd = plan.prefix ? plan.prefix->data : NULL;
	struct type_pages *tp = calloc(snap->ntypes ? snap->ntypes : 1, sizeof(*tp));
	if (!tp)
		return &gci_enomem;
	size_t n = 0;
	for (size_t t = 0; t < snap->ntypes; t++) {
		struct gci_pageset ps;
		gci_pageset_init(&ps);
		uint64_t objects = 0;
		bool ok = true;
		for (size_t g = 0; g < plan.nlists && ok; g++) {
			const struct gci_gen_data *d = plan.lists[g]->data;
			if (!d || t >= d->type_cap || !d->type_objects[t])
				continue;
			objects += d->type_objects[t];
			ok = gci_pageset_merge(&ps, &d->type_pages[t]);
		}
		if (ok && pd && pd->prefix_type_pages && t < pd->type_cap &&
		    pd->prefix_type_objects[t]) {
			objects += pd->prefix_type_objects[t];
			ok = gci_pageset_merge(&ps, &pd->prefix_type_pages[t]);
		}
		if (!ok) {
			gci_pageset_deinit(&ps);
			free(tp);
			return &gci_enomem;
		}
		if (objects)
			tp[n++] = (struct type_pages){ (uint32_t)t, gci_pageset_count(&ps), objects };
		gci_pageset_deinit(&ps);
	}
	qsort(tp, n, sizeof(*tp), type_pages_compare);
	*ret = tp;
	*ret_n = n;
	return NULL;
}

struct page_row {
	uint64_t page;
	uint32_t type;
};

static int page_row_compare(const void *a, const void *b)
{
	const struct page_row *x = a, *y = b;
	if (x->page != y->page)
		return x->page < y->page ? -1 : 1;
	return x->type < y->type ? -1 : x->type > y->type;
}

/* --pages: every page with heads a collection writes, sorted (needs objects). */
static struct gci_error *page_rows(const struct gci_snapshot *snap, const struct gci_interp *in,
				   int generation, struct page_row **ret, size_t *ret_n)
{
	const struct gci_layout *L = gci_snapshot_layout(snap);
	struct gci_touch_plan plan;
	bool known;
	struct gci_error *err = gci_touch_plan_of(snap, in, generation, &known, &plan);
	if (err)
		return err;
	if (!known)
		return gci_error_create(GCI_ERR_USAGE, "listing pages is not available for "
					"CPython %s's collector", snap->version);
	/* [first, first + n) of snap->objects, per list */
	struct part { size_t first, n; } parts[GCI_MAX_GENS + 2];
	size_t nparts = 0, total = 0;
	for (size_t g = 0; g < plan.nlists; g++)
		parts[nparts++] = (struct part){ plan.lists[g]->first, plan.lists[g]->nobjects };
	if (plan.prefix && plan.prefix->data)
		parts[nparts++] = (struct part){ plan.prefix->first,
						      plan.prefix->data->prefix_objects };
	for (size_t i = 0; i < nparts; i++)
		total += parts[i].n;
	if (total && !snap->objects)
		return gci_error_create(GCI_ERR_USAGE, "listing pages needs the object "
					"records (GCI_SNAPSHOT_OBJECTS)");
	struct page_row *rows = malloc((total ? total : 1) * sizeof(*rows));
	if (!rows)
		return &gci_enomem;
	size_t k = 0;
	for (size_t p = 0; p < nparts; p++) {
		for (size_t i = parts[p].first; i < parts[p].first + parts[p].n &&
		     i < snap->nobjects; i++)
			rows[k++] = (struct page_row){
				(snap->objects[i].address - L->gc_head_size) >> GCI_PAGE_SHIFT,
				snap->objects[i].type };
	}
	qsort(rows, k, sizeof(*rows), page_row_compare);
	*ret = rows;
	*ret_n = k;
	return NULL;
}

/* Every page a collection writes (heads, tail object, GC state), ascending. */
static struct gci_error *touched_pages(const struct gci_snapshot *snap,
				       const struct gci_interp *in, int generation,
				       uint64_t **ret, size_t *ret_n)
{
	struct gci_pageset ps;
	struct gci_touch t;
	gci_pageset_init(&ps);
	struct gci_error *err = gci_touch_pages(snap, in, generation, &ps, &t);
	if (!err && !gci_pageset_list(&ps, ret, ret_n))
		err = &gci_enomem;
	gci_pageset_deinit(&ps);
	return err;
}

static json_object *touch_json(const struct gci_snapshot *snap, const struct gci_interp *in,
			       const struct gci_collection *c, bool list_pages,
			       struct gci_error **err)
{
	int generation = c->generation;
	struct gci_touch t;
	if ((*err = gci_touch_compute(snap, in, generation, &t)))
		return NULL;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "generation", collection_json(c));
	json_object_object_add(o, "objects", json_object_new_int64((int64_t)t.objects));
	json_object_object_add(o, "object_bytes", json_object_new_int64((int64_t)t.object_bytes));
	json_object_object_add(o, "pages", json_object_new_int64((int64_t)t.pages));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)t.pages * 4096));
	json_object_object_add(o, "state_pages", json_object_new_int64((int64_t)t.state_pages));
	if (free_threaded(in)) {
		json_object_object_add(o, "metadata_pages",
				       json_object_new_int64((int64_t)t.meta_pages));
		json_object_object_add(o, "work_pages",
				       json_object_new_int64((int64_t)t.work_pages));
	}
	json_object_object_add(o, "packed_pages", json_object_new_int64((int64_t)t.packed_pages));
	json_object *sh = NULL;
	if (t.sharing_known) {
		sh = json_object_new_object();
		json_object_object_add(sh, "shared_pages", json_object_new_int64((int64_t)t.shared_pages));
		json_object_object_add(sh, "exclusive_pages",
				       json_object_new_int64((int64_t)t.exclusive_pages));
		json_object_object_add(sh, "absent_pages", json_object_new_int64((int64_t)t.absent_pages));
	}
	json_object_object_add(o, "sharing", sh);
	if (!c->numbered)
		json_object_object_add(o, "approximation", t.approximation ?
				       json_object_new_string(t.approximation) : NULL);
	struct type_pages *tp;
	size_t ntp;
	if ((*err = top_type_pages(snap, in, generation, &tp, &ntp))) {
		json_object_put(o);
		return NULL;
	}
	if (tp) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < ntp && i < 10; i++) {
			json_object *e = json_object_new_object();
			json_object_object_add(e, "name",
					       json_object_new_string(snap->types[tp[i].type].name));
			json_object_object_add(e, "pages", json_object_new_int64((int64_t)tp[i].pages));
			json_object_object_add(e, "objects", json_object_new_int64((int64_t)tp[i].objects));
			json_object_array_add(arr, e);
		}
		json_object_object_add(o, "top_types", arr);
		free(tp);
	}
	if (list_pages) {
		struct page_row *rows;
		size_t nrows;
		if ((*err = page_rows(snap, in, generation, &rows, &nrows))) {
			json_object_put(o);
			return NULL;
		}
		uint64_t *pages;
		size_t npages;
		if ((*err = touched_pages(snap, in, generation, &pages, &npages))) {
			free(rows);
			json_object_put(o);
			return NULL;
		}
		json_object *arr = json_object_new_array();
		size_t r = 0;
		for (size_t k = 0; k < npages; k++) {
			size_t heads = 0;
			while (r < nrows && rows[r].page < pages[k])
				r++;
			for (; r < nrows && rows[r].page == pages[k]; r++)
				heads++;
			json_object *e = json_object_new_object();
			json_object_object_add(e, "address", hex_json(pages[k] << GCI_PAGE_SHIFT));
			json_object_object_add(e, "heads", json_object_new_int64((int64_t)heads));
			json_object_array_add(arr, e);
		}
		free(pages);
		free(rows);
		json_object_object_add(o, "page_list", arr);
	}
	return o;
}

static json_object *touch_counts_json(const struct gci_touch *t)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "objects", json_object_new_int64((int64_t)t->objects));
	json_object_object_add(o, "pages", json_object_new_int64((int64_t)t->pages));
	json_object_object_add(o, "shared_pages", t->sharing_known ?
			       json_object_new_int64((int64_t)t->shared_pages) : NULL);
	json_object_object_add(o, "approximation", t->approximation ?
			       json_object_new_string(t->approximation) : NULL);
	return o;
}

static json_object *what_if_json(const struct gci_snapshot *snap, const struct gci_interp *in,
				 struct gci_error **err)
{
	const struct gci_collection *fc = gci_collection_full(snap, in);
	if (!fc) {
		*err = gci_error_create(GCI_ERR_OTHER, "CPython %s's collector lists no full "
					"collection", snap->version);
		return NULL;
	}
	json_object *o = json_object_new_object();
	struct gci_touch full;
	if ((*err = gci_touch_compute(snap, in, fc->generation, &full))) {
		json_object_put(o);
		return NULL;
	}
	/* After gc.freeze() every tracked object is permanent: a full
	 * collection then writes only the GC state (and, free-threaded, the
	 * allocator metadata its heap walk writes). */
	uint64_t frozen_pages = full.state_pages + full.meta_pages;
	json_object *fz = json_object_new_object();
	json_object_object_add(fz, "pages", json_object_new_int64((int64_t)frozen_pages));
	json_object_object_add(fz, "pages_saved",
			       json_object_new_int64((int64_t)(full.pages - frozen_pages)));
	json_object_object_add(fz, "shared_pages_kept", full.sharing_known ?
			       json_object_new_int64((int64_t)full.shared_pages) : NULL);
	/* Where gc.freeze() itself writes many heads (3.14.0-3.14.4). */
	struct gci_touch fw;
	bool fw_known;
	if ((*err = gci_freeze_touch(snap, in, &fw_known, &fw))) {
		json_object_put(fz);
		json_object_put(o);
		return NULL;
	}
	if (fw_known)
		json_object_object_add(fz, "writes", touch_counts_json(&fw));
	json_object_object_add(o, "freeze_now", fz);
	json_object_object_add(o, "next_collection", next_collection_json(snap, in));
	return o;
}

static json_object *smaps_json(const struct gci_snapshot *snap)
{
	if (!snap->smaps.known)
		return NULL;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "mappings", json_object_new_int64((int64_t)snap->smaps.mappings));
	json_object_object_add(o, "rss_kb", json_object_new_int64((int64_t)snap->smaps.rss));
	json_object_object_add(o, "shared_clean_kb", json_object_new_int64((int64_t)snap->smaps.shared_clean));
	json_object_object_add(o, "shared_dirty_kb", json_object_new_int64((int64_t)snap->smaps.shared_dirty));
	json_object_object_add(o, "private_clean_kb", json_object_new_int64((int64_t)snap->smaps.private_clean));
	json_object_object_add(o, "private_dirty_kb", json_object_new_int64((int64_t)snap->smaps.private_dirty));
	return o;
}

static struct gci_error *touch_report_json(const struct gci_snapshot *snap,
					   const struct gci_report_options *opts, char **ret)
{
	const struct gci_collection *coll;
	size_t ncoll;
	struct gci_error *err = touch_range(snap, opts->generation, &coll, &ncoll);
	if (err)
		return err;
	const struct gci_interp *in = &snap->interps[0];
	json_object *root = header_json(snap);
	json_object *arr = json_object_new_array();
	json_object_object_add(root, "collections", arr);
	for (size_t i = 0; i < ncoll && !err; i++)
		json_object_array_add(arr, touch_json(snap, in, &coll[i], opts->pages, &err));
	if (!err)
		json_object_object_add(root, "what_if", what_if_json(snap, in, &err));
	if (err) {
		json_object_put(root);
		return err;
	}
	json_object_object_add(root, "smaps", smaps_json(snap));
	add_integrity(snap, root);
	return json_finish(root, ret);
}

/* Text output: an open_memstream, freed by the caller. */
struct text {
	FILE *f;
	char *buf;
	size_t len;
};

static void fmt_count(char *buf, size_t n, int64_t v)
{
	if (v < 0) {
		snprintf(buf, n, "-");
		return;
	}
	char tmp[32];
	int len = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
	size_t o = 0;
	for (int i = 0; i < len && o + 2 < n; i++) {
		if (i && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
}

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

static void text_header(const struct gci_snapshot *snap, FILE *f)
{
	struct gci_process_info pi;
	gci_program_process_info(snap->prog, &pi);
	char pidname[32];
	snprintf(pidname, sizeof(pidname), "pid %" PRId64, pi.pid);
	if (pi.path && pi.pid >= 0 && !strcmp(pi.path, pidname)) {
		/* "pid 123 (python3): live process" */
		fprintf(f, "%s", pidname);
		if (pi.command)
			fprintf(f, " (%s)", pi.command);
		fprintf(f, ": %s process", pi.kind);
	} else {
		/* "core.123: core of pid 123 (python3)" */
		fprintf(f, "%s: %s", pi.path ? pi.path : "target", pi.kind);
		if (pi.pid >= 0)
			fprintf(f, " of pid %" PRId64, pi.pid);
		if (pi.command)
			fprintf(f, " (%s)", pi.command);
	}
	if (pi.signal > 0)
		fprintf(f, ", signal %d%s%s%s", pi.signal, pi.signal_name ? " (" : "",
			pi.signal_name ? pi.signal_name : "", pi.signal_name ? ")" : "");
	if (pi.stopped)
		fprintf(f, ", stopped for %.1f ms", pi.stopped_usec / 1000.0);
	else if (!strcmp(pi.kind, "live") && !snap->prog->read_cb)
		fprintf(f, ", read while running (--no-stop)");
	fprintf(f, "\n");
	if (pi.args)
		fprintf(f, "  command line: %s\n", pi.args);
	fprintf(f, "Python %s%s (version from %s)\n", snap->version,
		snap->debug_build ? " debug build" : "", snap->version_source);
	fprintf(f, "  layout: %s\n", snap->layout_name);
}

static void text_integrity(const struct gci_snapshot *snap, FILE *f)
{
	if (snap->nproblems) {
		fprintf(f, "\nINCOMPLETE: %zu integrity problem%s:\n", snap->nproblems,
			snap->nproblems == 1 ? "" : "s");
		for (size_t i = 0; i < snap->nproblems; i++)
			fprintf(f, "  0x%" PRIx64 ": %s\n", snap->problems[i].address,
				snap->problems[i].message);
	}
}

/* "collection of generation 2", "full collection (gc.collect())": the
 * generational title is built from the number, as it always was. */
static void collection_title(const struct gci_collection *c, char *buf, size_t n)
{
	if (c->numbered)
		snprintf(buf, n, "collection of generation %d", c->generation);
	else
		snprintf(buf, n, "%s", c->title);
}

/* The next automatic collection, one line. */
static void next_collection_text(const struct gci_snapshot *snap, const struct gci_interp *in,
				 FILE *f)
{
	char a[32];
	struct gci_next_collection nc;
	gci_next_collection(snap, in, &nc);
	const struct gci_collection *c = collection_named(snap, in, nc.collection);
	if (nc.generation < 0 || !c) {
		fprintf(f, "  next automatic collection: none (%s)\n", nc.reason);
		return;
	}
	fmt_count(a, sizeof(a), nc.allocations);
	if (c->numbered) {
		fprintf(f, "  next automatic collection: generation %d, after %s more net GC "
			"allocations (%s)\n", nc.generation, a, nc.reason);
		return;
	}
	if (!nc.step) {
		/* free-threaded: one collection, no steps */
		fprintf(f, "  next automatic collection: %s, after %s more net GC allocations "
			"(%s)\n", c->name, a, nc.reason);
		return;
	}
	fprintf(f, "  next automatic collection: %s, after %s more net GC allocations: step "
		"\"%s\"", c->name, a, nc.step);
	if (nc.has_work_to_do) {
		/* a debt is negative: fmt_count shows only counts */
		fmt_count(a, sizeof(a), nc.work_to_do < 0 ? -nc.work_to_do : nc.work_to_do);
		fprintf(f, ", work_to_do %s%s", nc.work_to_do < 0 ? "-" : "", a);
	}
	if (nc.step && !strncmp(nc.step, "collect", 7)) {
		fmt_count(a, sizeof(a), (int64_t)nc.pending_objects);
		fprintf(f, ", %s pending objects", a);
	}
	fprintf(f, " (%s)\n", nc.reason);
}

/*
 * Collectors whose collections have names (3.14.0-3.14.4): what each would
 * write and what the next automatic step is, so that the summary answers
 * "what will the collector copy" without the touch command.  Generational
 * summaries leave this to `touch`, as they always have.
 */
static struct gci_error *summary_collections_text(const struct gci_snapshot *snap, FILE *f)
{
	const struct gci_interp *in = &snap->interps[0];
	const struct gci_collection *coll;
	size_t n = gci_collections(snap, in, &coll);
	if (!n || coll[0].numbered)
		return NULL;
	char a[32], b[32], c[32], title[128];
	fprintf(f, "\ncollections of interpreter %" PRId64 " (gcinspect touch: which pages, "
		"which are shared):\n", in->id);
	for (size_t i = 0; i < n; i++) {
		struct gci_touch t;
		struct gci_error *err = gci_touch_compute(snap, in, coll[i].generation, &t);
		if (err)
			return err;
		collection_title(&coll[i], title, sizeof(title));
		fmt_count(a, sizeof(a), (int64_t)t.objects);
		fmt_count(b, sizeof(b), (int64_t)t.pages);
		fmt_count(c, sizeof(c), (int64_t)t.pages * 4);
		fprintf(f, "  %s: writes %s %s%s on %s page%s (%s KiB)%s\n", title, a,
			free_threaded(in) ? "object header" : "GC head", plural(t.objects), b,
			plural(t.pages), c, t.approximation ? ", approximately" : "");
	}
	next_collection_text(snap, in, f);
	return NULL;
}

static struct gci_error *summary_text(const struct gci_snapshot *snap, FILE *f)
{
	text_header(snap, f);
	for (size_t i = 0; i < snap->ninterps; i++) {
		const struct gci_interp *in = &snap->interps[i];
		char a[32], b[32], c[32], d[32], e[32];
		/* 3.6-3.8 keep one GC state for the process, not per interpreter. */
		fprintf(f, "\ninterpreter %" PRId64 "%s %s 0x%" PRIx64 ": GC %s%s", in->id,
			i == 0 ? " (main)" : "", in->address ? "at" : "with its GC state at",
			in->address ? in->address : in->gc_state,
			in->enabled > 0 ? "enabled" : in->enabled == 0 ? "DISABLED" : "enabled: ?",
			in->collecting > 0 ? ", COLLECTING NOW" : "");
		if (in->long_lived_total >= 0) {
			fmt_count(a, sizeof(a), in->long_lived_total);
			fmt_count(b, sizeof(b), in->long_lived_pending);
			fprintf(f, "; long-lived %s, pending %s", a, b);
		}
		if (!strcmp(in->collector, "free-threaded"))
			fprintf(f, "; free-threaded: no generation lists, the objects are "
				"in mimalloc heaps");
		if (in->visited_space >= 0)
			fprintf(f, "; incremental collector, %s phase, old[%d] visited",
				in->phase == 1 ? "collect" : in->phase == 0 ? "mark" : "unknown",
				in->visited_space);
		fprintf(f, "\n  %-11s %9s %9s %12s %15s %9s\n", "generation", "threshold",
			"count", "objects", "bytes", "pages");
		const struct gci_gen *gen;
		for (size_t g = 0; (gen = gci_interp_list(in, g)); g++) {
			struct gci_gen_stats st;
			struct gci_error *err = gci_gen_stats(snap, gen, &st);
			if (err)
				return err;
			fmt_count(a, sizeof(a), gen->threshold);
			fmt_count(b, sizeof(b), gen->count);
			fmt_count(c, sizeof(c), (int64_t)st.objects);
			fmt_count(d, sizeof(d), (int64_t)st.bytes);
			fmt_count(e, sizeof(e), (int64_t)st.pages);
			fprintf(f, "  %-11s %9s %9s %12s %15s %9s%s\n", gen->name, a, b, c, d, e,
				gen->complete ? "" : "  (incomplete)");
		}
	}
	struct gci_error *err = summary_collections_text(snap, f);
	if (err)
		return err;
	text_integrity(snap, f);
	return NULL;
}

static struct gci_error *types_text(const struct gci_snapshot *snap,
				    const struct gci_report_options *opts, FILE *f)
{
	const struct gci_gen *gens[GCI_MAX_GENS + 1];
	size_t ngens, nt;
	struct gci_type_count *counts;
	struct gci_error *err = select_gens(snap, opts->generation, gens, &ngens);
	if (err || (err = gci_type_histogram(snap, gens, ngens, &counts, &nt)))
		return err;
	uint64_t objs = 0, bytes = 0;
	for (size_t i = 0; i < nt; i++) {
		objs += counts[i].objects;
		bytes += counts[i].bytes;
	}
	char a[32], b[32];
	text_header(snap, f);
	fmt_count(a, sizeof(a), (int64_t)objs);
	fmt_count(b, sizeof(b), (int64_t)bytes);
	/* A selector that names a list by another name (free-threaded: -g 0
	 * is the heap) says which. */
	char what[96];
	if (!opts->generation)
		snprintf(what, sizeof(what), "%s", snap->interps[0].ngens == 1 ?
			 "the heap and the permanent generation" :
			 "all generations and the permanent one");
	else if (!strcmp(opts->generation, "permanent"))
		snprintf(what, sizeof(what), "permanent generation");
	else if (ngens == 1 && strcmp(gens[0]->name, opts->generation))
		snprintf(what, sizeof(what), "generation %s: the list %s", opts->generation,
			 gens[0]->name);
	else
		snprintf(what, sizeof(what), "generation %s", opts->generation);
	fprintf(f, "\n%s: %s objects, %s bytes, %zu types\n", what, a, b, nt);
	fprintf(f, "  %12s %15s  %s\n", "objects", "bytes", "type");
	size_t shown = opts->limit && opts->limit < nt ? opts->limit : nt;
	for (size_t i = 0; i < shown; i++) {
		fmt_count(a, sizeof(a), (int64_t)counts[i].objects);
		fmt_count(b, sizeof(b), (int64_t)counts[i].bytes);
		fprintf(f, "  %12s %15s  %s\n", a, b, snap->types[counts[i].type].name);
	}
	if (shown < nt)
		fprintf(f, "  ... %zu more types (--limit 0 shows all)\n", nt - shown);
	free(counts);
	text_integrity(snap, f);
	return NULL;
}

static struct gci_error *touch_text(const struct gci_snapshot *snap,
				    const struct gci_report_options *opts, FILE *f)
{
	const struct gci_collection *coll;
	size_t ncoll;
	struct gci_error *err = touch_range(snap, opts->generation, &coll, &ncoll);
	if (err)
		return err;
	const struct gci_interp *in = &snap->interps[0];
	const struct gci_collection *fc = gci_collection_full(snap, in);
	if (!fc)
		return gci_error_create(GCI_ERR_OTHER, "CPython %s's collector lists no full "
					"collection", snap->version);
	const bool ft = free_threaded(in);
	char a[32], b[32], c[32], title[128];
	text_header(snap, f);
	struct gci_touch full;      /* a full collection, for the what-ifs */
	bool have_full = false;
	for (size_t i = 0; i < ncoll; i++) {
		int g = coll[i].generation;
		struct gci_touch t;
		if ((err = gci_touch_compute(snap, in, g, &t)))
			return err;
		if (&coll[i] == fc) {
			full = t;
			have_full = true;
		}
		collection_title(&coll[i], title, sizeof(title));
		fmt_count(a, sizeof(a), (int64_t)t.objects);
		fmt_count(b, sizeof(b), (int64_t)t.pages);
		fmt_count(c, sizeof(c), (int64_t)t.pages * 4);
		fprintf(f, "\n%s: writes %s %s%s on %s page%s (%s KiB), %" PRIu64
			" of them the GC state", title, a, ft ? "object header" : "GC head",
			plural(t.objects), b, plural(t.pages), c, t.state_pages);
		if (t.meta_pages)
			fprintf(f, ", %" PRIu64 " allocator metadata", t.meta_pages);
		fprintf(f, "\n");
		if (t.work_pages) {
			fmt_count(a, sizeof(a), (int64_t)t.work_pages);
			fmt_count(b, sizeof(b), (int64_t)t.work_pages * 4);
			fprintf(f, "  and it allocates about %s page%s (%s KiB) for its mark stack\n",
				a, plural(t.work_pages), b);
		}
		if (t.approximation)
			fprintf(f, "  approximate: %s\n", t.approximation);
		if (t.sharing_known) {
			fmt_count(a, sizeof(a), (int64_t)t.shared_pages);
			fmt_count(b, sizeof(b), (int64_t)t.shared_pages * 4);
			fmt_count(c, sizeof(c), (int64_t)t.exclusive_pages);
			fprintf(f, "  still shared with another process: %s page%s (%s KiB): "
				"the collection would copy them; %s already private\n", a,
				plural(t.shared_pages), b, c);
		}
		fmt_count(a, sizeof(a), (int64_t)t.packed_pages);
		fprintf(f, "  if %s were packed in pages of their own: %s page%s\n",
			ft ? "the 16 bytes per object it writes" : "the GC heads", a,
			plural(t.packed_pages));
		struct type_pages *tp;
		size_t ntp;
		if ((err = top_type_pages(snap, in, g, &tp, &ntp)))
			return err;
		if (tp && ntp) {
			fprintf(f, "  types holding the most of those pages:\n");
			for (size_t k = 0; k < ntp && k < 8; k++) {
				fmt_count(a, sizeof(a), (int64_t)tp[k].pages);
				fmt_count(b, sizeof(b), (int64_t)tp[k].objects);
				fprintf(f, "    %10s pages %12s objects  %s\n", a, b,
					snap->types[tp[k].type].name);
			}
		}
		free(tp);
		if (opts->pages) {
			struct page_row *rows;
			size_t nrows;
			if ((err = page_rows(snap, in, g, &rows, &nrows)))
				return err;
			uint64_t *pages;
			size_t npages;
			if ((err = touched_pages(snap, in, g, &pages, &npages))) {
				free(rows);
				return err;
			}
			fprintf(f, "  pages (address, heads, most common type):\n");
			size_t r = 0;
			for (size_t k = 0; k < npages; k++) {
				while (r < nrows && rows[r].page < pages[k])
					r++;
				size_t first = r, best = r, run = 0, best_run = 0;
				for (; r < nrows && rows[r].page == pages[k]; r++) {
					run = r > first && rows[r].type == rows[r - 1].type ? run + 1 : 1;
					if (run > best_run) {
						best_run = run;
						best = r;
					}
				}
				fprintf(f, "    0x%012" PRIx64 " %5zu  %s\n", pages[k] << GCI_PAGE_SHIFT,
					r - first, r > first ? snap->types[rows[best].type].name
					: ft ? "(GC state, or allocator metadata)"
					     : "(GC state, or the next list's tail)");
			}
			free(pages);
			free(rows);
		}
	}
	if (!have_full && (err = gci_touch_compute(snap, in, fc->generation, &full)))
		return err;
	fmt_count(a, sizeof(a), (int64_t)full.pages);
	uint64_t frozen_pages = full.state_pages + full.meta_pages;
	fprintf(f, "\nwhat if:\n  gc.freeze() now: a full collection would write %" PRIu64
		" page%s (the GC state%s) instead of %s", frozen_pages,
		frozen_pages == 1 ? "" : "s", full.meta_pages ? " and allocator metadata" : "", a);
	if (full.sharing_known) {
		fmt_count(b, sizeof(b), (int64_t)full.shared_pages);
		fprintf(f, "; %s shared pages would stay shared", b);
	}
	fprintf(f, "\n");
	struct gci_touch fw;
	bool fw_known;
	if ((err = gci_freeze_touch(snap, in, &fw_known, &fw)))
		return err;
	if (fw_known) {
		fmt_count(a, sizeof(a), (int64_t)fw.objects);
		fmt_count(b, sizeof(b), (int64_t)fw.pages);
		fprintf(f, "    gc.freeze() itself writes %s GC head%s on %s page%s", a,
			plural(fw.objects), b, plural(fw.pages));
		if (fw.sharing_known) {
			fmt_count(c, sizeof(c), (int64_t)fw.shared_pages);
			fprintf(f, ", %s of them still shared: call it before forking", c);
		}
		fprintf(f, "\n");
	}
	next_collection_text(snap, in, f);
	if (snap->smaps.known)
		fprintf(f, "\nmappings holding GC heads (smaps): %" PRIu64 ", Rss %" PRIu64
			" KiB: Shared_Clean %" PRIu64 ", Shared_Dirty %" PRIu64 ", Private_Clean %"
			PRIu64 ", Private_Dirty %" PRIu64 " KiB\n", snap->smaps.mappings,
			snap->smaps.rss, snap->smaps.shared_clean, snap->smaps.shared_dirty,
			snap->smaps.private_clean, snap->smaps.private_dirty);
	text_integrity(snap, f);
	return NULL;
}

static struct gci_error *report(const struct gci_snapshot *snap,
				const struct gci_report_options *opts, char **ret);

struct gci_error *gci_report(const struct gci_snapshot *snap,
			     const struct gci_report_options *opts, char **ret)
{
	struct gci_error *err = report(snap, opts, ret);
	/* Every message names its target. */
	const char *target = snap->prog->target_path;
	if (err && err != &gci_enomem && target && !strstr(err->message, target))
		err = gci_error_prefix(err, "%s: ", target);
	return err;
}

static struct gci_error *report(const struct gci_snapshot *snap,
				const struct gci_report_options *opts, char **ret)
{
	if (snap->ninterps == 0)
		return gci_error_create(GCI_ERR_NOT_PYTHON, "no interpreter in the snapshot");
	if (opts->kind != GCI_REPORT_SUMMARY && opts->kind != GCI_REPORT_TYPES &&
	    opts->kind != GCI_REPORT_TOUCH)
		return gci_error_create(GCI_ERR_USAGE, "unknown report kind %d", (int)opts->kind);
	if (opts->format == GCI_FORMAT_JSON)
		return opts->kind == GCI_REPORT_TYPES ? types_json(snap, opts, ret)
		     : opts->kind == GCI_REPORT_TOUCH ? touch_report_json(snap, opts, ret)
						      : summary_json(snap, ret);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return &gci_enomem;
	struct gci_error *err = opts->kind == GCI_REPORT_TYPES ? types_text(snap, opts, f)
			      : opts->kind == GCI_REPORT_TOUCH ? touch_text(snap, opts, f)
							       : summary_text(snap, f);
	if (fclose(f) != 0 && !err)
		err = &gci_enomem;
	if (err) {
		free(buf);
		return err;
	}
	*ret = buf;
	return NULL;
}

/* The pieces above, for the other report modules (report_internal.h). */
json_object *gci_report_header_json(const struct gci_snapshot *snap)
{
	return header_json(snap);
}

json_object *gci_report_interp_json(const struct gci_snapshot *snap,
				    const struct gci_interp *in, struct gci_error **err)
{
	return interp_json(snap, in, err);
}

json_object *gci_report_touch_json(const struct gci_snapshot *snap,
				   const struct gci_interp *in, const struct gci_collection *c,
				   struct gci_error **err)
{
	return touch_json(snap, in, c, false, err);
}

json_object *gci_report_what_if_json(const struct gci_snapshot *snap,
				     const struct gci_interp *in, struct gci_error **err)
{
	return what_if_json(snap, in, err);
}

void gci_report_add_integrity(const struct gci_snapshot *snap, json_object *root)
{
	add_integrity(snap, root);
}

struct gci_error *gci_report_json_finish(json_object *root, char **ret)
{
	return json_finish(root, ret);
}

void gci_report_fmt_count(char *buf, size_t n, int64_t v)
{
	fmt_count(buf, n, v);
}

void gci_report_text_header(const struct gci_snapshot *snap, FILE *f)
{
	text_header(snap, f);
}
