/*
 * Reports over a pre-fork server: a process record from each snapshot
 * (taken while the snapshot is open), then text, JSON, one line per worker,
 * and the Prometheus text exposition format, all from those records.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "pageset.h"
#include "program.h"
#include "report_internal.h"
#include "server.h"
#include "snapshot.h"
#include "walker.h"

#define PAGE 4096ULL

void gci_server_proc_deinit(struct gci_server_proc *p)
{
	gci_error_destroy(p->error);
	p->error = NULL;
	free(p->first_problem);
	p->first_problem = NULL;
	for (size_t i = 0; i < p->nwarnings; i++)
		free(p->warnings[i]);
	free(p->warnings);
	p->warnings = NULL;
	p->nwarnings = 0;
	if (p->json)
		json_object_put(p->json);
	p->json = NULL;
	gci_copied_deinit(&p->copied);
}

/* Pages of the GC state that a full collection would copy. */
static uint64_t shared_state_pages(const struct gci_snapshot *snap, const struct gci_interp *in)
{
	const struct gci_pageset *shared, *exclusive;
	if (!gci_snapshot_sharing(snap, &shared, &exclusive))
		return 0;
	uint64_t a, b;
	gci_snapshot_state_range(snap, in, &a, &b);
	struct gci_pageset ps;
	gci_pageset_init(&ps);
	uint64_t n = gci_pageset_add_range(&ps, a, b - a) ? gci_pageset_count_and(&ps, shared) : 0;
	gci_pageset_deinit(&ps);
	return n;
}

struct gci_error *gci_server_proc_fill(struct gci_server_proc *p, const struct gci_snapshot *snap)
{
	struct gci_error *err = NULL;
	const struct gci_interp *in = &snap->interps[0];
	struct gci_process_info pi;
	gci_program_process_info(snap->prog, &pi);
	snprintf(p->version, sizeof(p->version), "%s", snap->version);
	p->stopped = pi.stopped;
	p->stopped_ms = pi.stopped_usec / 1000.0;
	p->enabled = in->enabled;
	p->ngens = in->ngens;
	p->nlists = 0;
	struct gci_pageset all;
	gci_pageset_init(&all);
	bool ok = true;
	const struct gci_gen *gen;
	for (size_t g = 0; (gen = gci_interp_list(in, g)) && p->nlists <= GCI_MAX_GENS; g++) {
		struct gci_gen_stats st;
		if ((err = gci_gen_stats(snap, gen, &st)))
			goto out;
		snprintf(p->lists[p->nlists].name, sizeof(p->lists[0].name), "%s", gen->name);
		p->lists[p->nlists].threshold = gen->threshold;
		p->lists[p->nlists].count = gen->count;
		p->lists[p->nlists].objects = st.objects;
		p->lists[p->nlists].bytes = st.bytes;
		p->lists[p->nlists].pages = st.pages;
		p->lists[p->nlists].complete = gen->complete;
		p->nlists++;
	}
	p->frozen = in->has_permanent ? (int64_t)in->permanent.nobjects : -1;
	for (size_t i = 0; i < snap->ninterps && ok; i++)
		for (size_t g = 0; ok && (gen = gci_interp_list(&snap->interps[i], g)); g++)
			if (gen->data)
				ok = gci_pageset_merge(&all, &gen->data->pages);
	if (!ok) {
		err = &gci_enomem;
		goto out;
	}
	p->gc_pages = gci_pageset_count(&all);
	const struct gci_collection *full = gci_collection_full(snap, in);
	p->touch_known = full != NULL;
	if (full) {
		if ((err = gci_touch_compute(snap, in, full->generation, &p->full)))
			goto out;
		p->full_shared_state_pages = shared_state_pages(snap, in);
	}
	struct gci_next_collection nc;
	gci_next_collection(snap, in, &nc);
	p->next_generation = nc.collection ? nc.generation : -1;
	p->next_collection = nc.collection;
	p->next_step = nc.step;
	p->next_allocations = nc.allocations;
	p->next_reason = nc.reason;
	if (p->touch_known && p->next_generation >= 0 &&
	    (err = gci_touch_compute(snap, in, p->next_generation, &p->next)))
		goto out;
	p->have_snapshot = true;
	p->nproblems = snap->nproblems;
	if (snap->nproblems && !(p->first_problem = strdup(snap->problems[0].message))) {
		err = &gci_enomem;
		goto out;
	}
	const char *const *w;
	size_t nw = gci_snapshot_warnings(snap, &w);
	if (nw && !(p->warnings = calloc(nw, sizeof(char *)))) {
		err = &gci_enomem;
		goto out;
	}
	for (size_t i = 0; i < nw; i++) {
		if (asprintf(&p->warnings[i], "pid %d: %s", p->pid, w[i]) < 0) {
			p->warnings[i] = NULL;
			err = &gci_enomem;
			goto out;
		}
		p->nwarnings++;
	}

	/* The JSON of the single-process reports, in the same shape. */
	json_object *o = gci_report_header_json(snap);
	json_object_object_del(o, "schema");
	p->json = o;
	json_object_object_add(o, "gc", gci_report_interp_json(snap, in, &err));
	json_object *cols = p->touch_known ? json_object_new_array() : NULL;
	const struct gci_collection *colls;
	size_t ncolls = gci_collections(snap, in, &colls);
	for (size_t c = 0; cols && c < ncolls && !err; c++)
		json_object_array_add(cols, gci_report_touch_json(snap, in, &colls[c], &err));
	json_object_object_add(o, "collections", cols);
	if (p->touch_known && !err)
		json_object_object_add(o, "what_if", gci_report_what_if_json(snap, in, &err));
	gci_report_add_integrity(snap, o);
out:
	gci_pageset_deinit(&all);
	return err;
}

/* ------------------------------------------------------------------ */
/* Numbers over the server */

struct totals {
	size_t workers;          /* read, with copied pages known */
	uint64_t copied, gc, master;
	uint64_t full_more;      /* a full collection in each: shared pages */
	size_t full_known;
	uint64_t freeze_keep;    /* summed over workers */
	int64_t frozen;          /* the master's */
};

/* Every process of the server, the master first. */
#define FOR_PROCS(srv, p) \
	for (size_t _i = 0; _i <= (srv)->nworkers; _i++) \
		for (const struct gci_server_proc *p = _i == 0 ? &(srv)->master : &(srv)->workers[_i - 1]; \
		     p; p = NULL)

/* The next automatic collection was predicted (the collector runs one),
 * and its figure is a bound, not a count (an incremental step). */
static bool next_known(const struct gci_server_proc *p)
{
	return p->touch_known && p->next_generation >= 0;
}

static bool next_bounded(const struct gci_server_proc *p)
{
	return next_known(p) && p->next.approximation;
}

/* What gc.freeze() before the fork would have kept shared in a worker:
 * the copied pages holding heads a collection writes, and the shared pages
 * of heads a full collection would still copy (an upper bound: a page of
 * heads may have been copied by a reference count write as well).  A full
 * collection after gc.freeze() still writes the GC state and, in
 * free-threaded builds, the allocator metadata of every GC page: those
 * are not kept (the metadata pages counted as if all shared, so that the
 * bound stays one). */
static uint64_t freeze_keep_pages(const struct gci_server_proc *w)
{
	uint64_t n = w->copied.known ? w->copied.young_heads_pages : 0;
	if (w->touch_known && w->full.sharing_known) {
		uint64_t heads = w->full.shared_pages - w->full_shared_state_pages;
		n += heads > w->full.meta_pages ? heads - w->full.meta_pages : 0;
	}
	return n;
}

static void server_totals(const struct gci_server *srv, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	t->master = srv->master_private_pages * PAGE;
	t->frozen = srv->master.frozen;
	for (size_t i = 0; i < srv->nworkers; i++) {
		const struct gci_server_proc *w = &srv->workers[i];
		if (w->error || !w->have_snapshot)
			continue;
		if (w->copied.known) {
			t->workers++;
			t->copied += w->copied.copied_pages * PAGE;
			t->gc += w->copied.cause_pages[GCI_COPY_GC_OBJECTS] * PAGE;
		}
		if (w->touch_known && w->full.sharing_known) {
			t->full_known++;
			t->full_more += w->full.shared_pages * PAGE;
		}
		t->freeze_keep += freeze_keep_pages(w) * PAGE;
	}
}

static void fmt_bytes(char *buf, size_t n, uint64_t b)
{
	if (b < (1ULL << 20))
		snprintf(buf, n, "%" PRIu64 " KiB", (b + 1023) >> 10);
	else if (b < (10ULL << 30))
		snprintf(buf, n, "%.1f MiB", b / 1048576.0);
	else
		snprintf(buf, n, "%.1f GiB", b / 1073741824.0);
}

/* The sentence over the whole server (the wording). */
static char *summary_sentence(const struct gci_server *srv)
{
	struct totals t;
	server_totals(srv, &t);
	char a[32], b[32], c[32], d[32], e[32];
	char *s = NULL;
	fmt_bytes(a, sizeof(a), t.copied);
	fmt_bytes(b, sizeof(b), t.master);
	fmt_bytes(c, sizeof(c), t.gc);
	fmt_bytes(d, sizeof(d), t.full_more);
	fmt_bytes(e, sizeof(e), t.workers ? t.freeze_keep / t.workers : 0);
	char frozen[96] = "";
	if (t.frozen > 0) {
		char f[32];
		gci_report_fmt_count(f, sizeof(f), t.frozen);
		snprintf(frozen, sizeof(frozen), " (the master has %s frozen objects)", f);
	}
	int r;
	if (!t.workers)
		r = asprintf(&s, "no worker could be compared with the master, pid %d",
			     srv->master.pid);
	else
		r = asprintf(&s, "%zu worker%s ha%s copied %s of the master's %s, %s of it on "
			     "pages of GC-tracked objects; a full collection in each would copy "
			     "%s more%s; gc.freeze() before fork would keep %s per worker "
			     "shared%s.", t.workers, t.workers == 1 ? "" : "s",
			     t.workers == 1 ? "s" : "ve", a, b, c, d,
			     t.full_known < t.workers ? " (where known)" : "", e, frozen);
	return r < 0 ? NULL : s;
}

/* The sentence for one worker. */
static char *worker_sentence(const struct gci_server *srv, const struct gci_server_proc *w)
{
	char a[32], b[32], c[32], d[32], e[32];
	char *s = NULL;
	if (w->error)
		return asprintf(&s, "worker %d could not be read: %s", w->pid,
				w->error->message) < 0 ? NULL : s;
	if (!w->copied.known)
		return asprintf(&s, "worker %d: what it copied is unknown", w->pid) < 0 ? NULL : s;
	fmt_bytes(a, sizeof(a), w->copied.copied_pages * PAGE);
	fmt_bytes(b, sizeof(b), srv->master_private_pages * PAGE);
	fmt_bytes(c, sizeof(c), w->copied.cause_pages[GCI_COPY_GC_OBJECTS] * PAGE);
	fmt_bytes(d, sizeof(d), w->touch_known && w->full.sharing_known ?
		  w->full.shared_pages * PAGE : 0);
	fmt_bytes(e, sizeof(e), freeze_keep_pages(w) * PAGE);
	char moved[96] = "";
	if (w->copied.master_moved_pages) {
		char f[32];
		fmt_bytes(f, sizeof(f), w->copied.master_moved_pages * PAGE);
		snprintf(moved, sizeof(moved), " (%s of it the master rewrote since the fork)", f);
	}
	return asprintf(&s, "worker %d has copied %s of the master's %s%s, %s of it on pages of "
			"GC-tracked objects; a full collection would copy %s more; gc.freeze() "
			"before fork would keep %s shared.", w->pid, a, b, moved, c,
			w->touch_known ? d : "an unknown amount", e) < 0 ? NULL : s;
}

/* ------------------------------------------------------------------ */
/* JSON */

static json_object *int_json(uint64_t v)
{
	return json_object_new_int64((int64_t)v);
}

static json_object *rollup_json(const struct gci_rollup *r)
{
	if (!r->known)
		return NULL;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "rss_kb", int_json(r->rss));
	json_object_object_add(o, "pss_kb", int_json(r->pss));
	json_object_object_add(o, "shared_clean_kb", int_json(r->shared_clean));
	json_object_object_add(o, "shared_dirty_kb", int_json(r->shared_dirty));
	json_object_object_add(o, "private_clean_kb", int_json(r->private_clean));
	json_object_object_add(o, "private_dirty_kb", int_json(r->private_dirty));
	json_object_object_add(o, "anonymous_kb", int_json(r->anonymous));
	json_object_object_add(o, "swap_kb", int_json(r->swap));
	return o;
}

static json_object *counts_json(const struct gci_copied_count *c, size_t n)
{
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "name", json_object_new_string(c[i].name));
		json_object_object_add(e, "pages", int_json(c[i].pages));
		json_object_object_add(e, "bytes", int_json(c[i].pages * PAGE));
		json_object_array_add(arr, e);
	}
	return arr;
}

static json_object *copied_json(const struct gci_server_proc *w)
{
	const struct gci_copied *c = &w->copied;
	if (!c->known)
		return NULL;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "method", json_object_new_string(c->method));
	json_object_object_add(o, "pages", int_json(c->copied_pages));
	json_object_object_add(o, "bytes", int_json(c->copied_pages * PAGE));
	json_object_object_add(o, "master_moved_pages", c->method[0] == 'f' ?
			       int_json(c->master_moved_pages) : NULL);
	json_object_object_add(o, "compared_pages", int_json(c->compared_pages));
	json_object_object_add(o, "shared_pages", int_json(c->shared_pages));
	json_object_object_add(o, "own_pages", int_json(c->own_pages));
	json_object *by = json_object_new_object();
	for (int k = 0; k < GCI_COPY_NCAUSES; k++) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "pages", int_json(c->cause_pages[k]));
		json_object_object_add(e, "bytes", int_json(c->cause_pages[k] * PAGE));
		json_object_object_add(by, gci_copy_cause_names[k], e);
	}
	json_object_object_add(o, "by_cause", by);
	json_object_object_add(o, "gc_objects_by_list", counts_json(c->lists, c->nlists));
	json_object_object_add(o, "gc_objects_by_type", counts_json(c->types, c->ntypes));
	json_object_object_add(o, "freeze_before_fork_keeps_bytes",
			       int_json(freeze_keep_pages(w) * PAGE));
	return o;
}

static json_object *proc_json(const struct gci_server *srv, const struct gci_server_proc *p)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "pid", json_object_new_int(p->pid));
	json_object_object_add(o, "ppid", json_object_new_int(p->ppid));
	json_object_object_add(o, "role", json_object_new_string(p->master ? "master" : "worker"));
	json_object_object_add(o, "command", json_object_new_string(p->comm));
	json_object_object_add(o, "error", p->error ? json_object_new_string(p->error->message)
						    : NULL);
	json_object_object_add(o, "memory", rollup_json(&p->rollup));
	json_object_object_add(o, "gc_pages", p->have_snapshot ? int_json(p->gc_pages) : NULL);
	json_object_object_add(o, "gc_bytes", p->have_snapshot ? int_json(p->gc_pages * PAGE)
							       : NULL);
	json_object *next = NULL;
	if (p->have_snapshot) {
		next = json_object_new_object();
		json_object_object_add(next, "generation", p->next_generation >= 0 ?
				       json_object_new_int(p->next_generation) : NULL);
		json_object_object_add(next, "collection", p->next_collection ?
				       json_object_new_string(p->next_collection) : NULL);
		if (p->next_step)
			json_object_object_add(next, "step", json_object_new_string(p->next_step));
		json_object_object_add(next, "allocations", p->next_allocations >= 0 ?
				       json_object_new_int64(p->next_allocations) : NULL);
		json_object_object_add(next, "reason", json_object_new_string(p->next_reason));
		bool k = next_known(p) && p->next.sharing_known;
		json_object_object_add(next, "copy_bytes", k ? int_json(p->next.shared_pages * PAGE)
							    : NULL);
		json_object_object_add(next, "approximation",
				       k && p->next.approximation ?
				       json_object_new_string(p->next.approximation) : NULL);
	}
	json_object_object_add(o, "next_collection", next);
	json_object_object_add(o, "full_collection_copy_bytes",
			       p->touch_known && p->full.sharing_known ?
			       int_json(p->full.shared_pages * PAGE) : NULL);
	if (!p->master) {
		json_object_object_add(o, "copied", copied_json(p));
		char *s = worker_sentence(srv, p);
		json_object_object_add(o, "summary", s ? json_object_new_string(s) : NULL);
		free(s);
	}
	/* target, python, gc, collections, what_if, warnings, integrity */
	if (p->json) {
		json_object_object_foreach(p->json, key, val)
			if (strcmp(key, "generator") != 0)  /* once, for the document */
				json_object_object_add(o, key, json_object_get(val));
	}
	return o;
}

static json_object *server_json(const struct gci_server *srv)
{
	json_object *root = json_object_new_object();
	json_object_object_add(root, "schema", json_object_new_string("gcinspect/1"));
	json_object *gen = NULL;
	if (srv->master.json && json_object_object_get_ex(srv->master.json, "generator", &gen))
		json_object_object_add(root, "generator", json_object_get(gen));
	json_object_object_add(root, "command", json_object_new_string("workers"));
	json_object_object_add(root, "time", json_object_new_double(srv->sample_time));
	struct totals t;
	server_totals(srv, &t);
	json_object *s = json_object_new_object();
	json_object_object_add(s, "pid_given", json_object_new_int(srv->asked_pid));
	json_object_object_add(s, "master_found_as", json_object_new_string(srv->how));
	json_object_object_add(s, "executable", json_object_new_string(srv->exe));
	json_object_object_add(s, "workers", int_json(srv->nworkers));
	json_object_object_add(s, "other_children", int_json(srv->nskipped));
	json_object_object_add(s, "method", json_object_new_string(srv->frames_known ? "frames"
										 : "exclusive"));
	json_object_object_add(s, "master_private_bytes", int_json(t.master));
	json_object_object_add(s, "copied_bytes", int_json(t.copied));
	json_object_object_add(s, "copied_gc_objects_bytes", int_json(t.gc));
	json_object_object_add(s, "full_collection_copy_bytes", int_json(t.full_more));
	json_object_object_add(s, "freeze_before_fork_keeps_bytes_per_worker",
			       int_json(t.workers ? t.freeze_keep / t.workers : 0));
	char *sentence = summary_sentence(srv);
	json_object_object_add(s, "summary", sentence ? json_object_new_string(sentence) : NULL);
	free(sentence);
	json_object_object_add(root, "server", s);
	json_object_object_add(root, "master", proc_json(srv, &srv->master));
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < srv->nworkers; i++)
		json_object_array_add(arr, proc_json(srv, &srv->workers[i]));
	json_object_object_add(root, "workers", arr);
	json_object *w = json_object_new_array();
	for (size_t i = 0; i < srv->nwarnings; i++)
		json_object_array_add(w, json_object_new_string(srv->warnings[i]));
	json_object_object_add(root, "warnings", w);
	return root;
}

/* ------------------------------------------------------------------ */
/* Text */

static void gc_counts(const struct gci_server_proc *p, char *buf, size_t n)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t g = 0; g < p->ngens && o < n; g++)
		o += (size_t)snprintf(buf + o, n - o, "%s%" PRId64, g ? "/" : "", p->lists[g].count);
}

static void gc_thresholds(const struct gci_server_proc *p, char *buf, size_t n)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t g = 0; g < p->ngens && o < n; g++)
		o += (size_t)snprintf(buf + o, n - o, "%s%" PRId64, g ? "/" : "",
				      p->lists[g].threshold);
}

static void text_row(FILE *f, const struct gci_server_proc *p)
{
	char rss[32], pss[32], pd[32], pages[32], full[32], next[48], copied[32], counts[48],
	     frozen[32];
	if (p->error) {
		fprintf(f, "  %7d  %-6s  could not be read: %s\n", p->pid,
			p->master ? "master" : "worker", p->error->message);
		return;
	}
	fmt_bytes(rss, sizeof(rss), p->rollup.rss * 1024);
	fmt_bytes(pss, sizeof(pss), p->rollup.pss * 1024);
	fmt_bytes(pd, sizeof(pd), p->rollup.private_dirty * 1024);
	if (!p->rollup.known)
		snprintf(rss, sizeof(rss), "-"), snprintf(pss, sizeof(pss), "-"),
		snprintf(pd, sizeof(pd), "-");
	gci_report_fmt_count(pages, sizeof(pages), (int64_t)p->gc_pages);
	gci_report_fmt_count(frozen, sizeof(frozen), p->frozen);
	gc_counts(p, counts, sizeof(counts));
	if (p->touch_known && p->full.sharing_known)
		fmt_bytes(full, sizeof(full), p->full.shared_pages * PAGE);
	else
		snprintf(full, sizeof(full), "-");
	if (next_known(p) && p->next.sharing_known) {
		char b[32];
		fmt_bytes(b, sizeof(b), p->next.shared_pages * PAGE);
		/* a bound, not a count (3.14.0-3.14.4's steps): "~" */
		snprintf(next, sizeof(next), "%s: %s%s", p->next_collection,
			 p->next.approximation ? "~" : "", b);
	} else {
		snprintf(next, sizeof(next), "-");
	}
	if (!p->master && p->copied.known)
		fmt_bytes(copied, sizeof(copied), p->copied.copied_pages * PAGE);
	else
		snprintf(copied, sizeof(copied), "-");
	char stop[32] = "running";
	if (p->stopped)
		snprintf(stop, sizeof(stop), "%.1f ms", p->stopped_ms);
	fprintf(f, "  %7d  %-6s %10s %10s %10s  %-3s %-13s %9s %9s %10s %21s %10s %9s\n",
		p->pid, p->master ? "master" : "worker", rss, pss, pd,
		p->enabled > 0 ? "on" : p->enabled == 0 ? "off" : "?", counts, frozen, pages,
		full, next, copied, stop);
}

static struct gci_error *text_report(const struct gci_server *srv, FILE *f)
{
	const struct gci_server_proc *m = &srv->master;
	fprintf(f, "pre-fork server: master %d (%s), %zu worker%s, %s, Python %s\n", m->pid,
		m->comm, srv->nworkers, srv->nworkers == 1 ? "" : "s", srv->exe,
		m->version[0] ? m->version : "?");
	fprintf(f, "  the master is %s\n", srv->how);
	if (srv->nskipped)
		fprintf(f, "  %zu other child%s of the master run%s the same executable but "
			"share%s no page with it: not counted as workers\n", srv->nskipped,
			srv->nskipped == 1 ? "" : "ren", srv->nskipped == 1 ? "s" : "",
			srv->nskipped == 1 ? "s" : "");
	if (m->have_snapshot) {
		char t[64], u[64];
		gc_thresholds(m, t, sizeof(t));
		size_t differ = 0;
		for (size_t i = 0; i < srv->nworkers; i++) {
			if (!srv->workers[i].have_snapshot)
				continue;
			gc_thresholds(&srv->workers[i], u, sizeof(u));
			if (strcmp(t, u)) {
				if (!differ++)
					fprintf(f, "  GC thresholds %s in the master;", t);
				fprintf(f, " %s in %d", u, srv->workers[i].pid);
			}
		}
		if (differ)
			fprintf(f, "\n");
		else
			fprintf(f, "  GC thresholds %s in every process\n", t);
	}
	fprintf(f, "\n  %7s  %-6s %10s %10s %10s  %-3s %-13s %9s %9s %10s %21s %10s %9s\n",
		"pid", "role", "Rss", "Pss", "Priv_Dirty", "GC", "counts", "frozen",
		"GC pages", "full GC", "next GC", "copied", "stopped");
	text_row(f, m);
	for (size_t i = 0; i < srv->nworkers; i++)
		text_row(f, &srv->workers[i]);
	fprintf(f, "  (full GC, next GC: what that collection would copy; next GC: the "
		"collection first, its generation or name)\n");
	bool bound = false;
	FOR_PROCS(srv, p)
		bound = bound || next_bounded(p);
	if (bound)
		fprintf(f, "  (~: the next step of 3.14.0-3.14.4's incremental collector is "
			"bounded, not counted: `gcinspect touch -g increment --pid PID` says how)\n");

	fprintf(f, "\ncopied from the master (%s), by what is on the page:\n",
		srv->frames_known ? "physical frames compared"
				  : "frames hidden: pages the worker maps exclusively");
	fprintf(f, "  %7s %10s", "pid", "copied");
	for (int k = 0; k < GCI_COPY_NCAUSES; k++)
		fprintf(f, " %10s", gci_copy_cause_names[k]);
	fprintf(f, "  types holding the most copied GC pages\n");
	for (size_t i = 0; i < srv->nworkers; i++) {
		const struct gci_server_proc *w = &srv->workers[i];
		if (!w->copied.known)
			continue;
		char b[32];
		fmt_bytes(b, sizeof(b), w->copied.copied_pages * PAGE);
		fprintf(f, "  %7d %10s", w->pid, b);
		for (int k = 0; k < GCI_COPY_NCAUSES; k++) {
			fmt_bytes(b, sizeof(b), w->copied.cause_pages[k] * PAGE);
			fprintf(f, " %10s", b);
		}
		fprintf(f, " ");
		for (size_t t = 0; t < w->copied.ntypes && t < 3; t++) {
			fmt_bytes(b, sizeof(b), w->copied.types[t].pages * PAGE);
			fprintf(f, " %s %s%s", w->copied.types[t].name, b,
				t + 1 < w->copied.ntypes && t < 2 ? "," : "");
		}
		fprintf(f, "\n");
	}
	fprintf(f, "\n");
	for (size_t i = 0; i < srv->nworkers; i++) {
		char *s = worker_sentence(srv, &srv->workers[i]);
		if (!s)
			return &gci_enomem;
		fprintf(f, "%s\n", s);
		free(s);
	}
	char *s = summary_sentence(srv);
	if (!s)
		return &gci_enomem;
	fprintf(f, "\nsummary: %s\n", s);
	free(s);
	size_t problems = m->nproblems;
	for (size_t i = 0; i < srv->nworkers; i++)
		problems += srv->workers[i].nproblems;
	if (problems) {
		fprintf(f, "\nINCOMPLETE: %zu integrity problem%s:\n", problems,
			problems == 1 ? "" : "s");
		if (m->nproblems)
			fprintf(f, "  pid %d: %s\n", m->pid, m->first_problem);
		for (size_t i = 0; i < srv->nworkers; i++)
			if (srv->workers[i].nproblems)
				fprintf(f, "  pid %d: %s\n", srv->workers[i].pid,
					srv->workers[i].first_problem);
	}
	return NULL;
}

/* One line per worker, for --interval. */
static struct gci_error *lines_report(const struct gci_server *srv, FILE *f)
{
	char when[32];
	time_t secs = (time_t)srv->sample_time;
	struct tm tm;
	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (size_t i = 0; i < srv->nworkers; i++) {
		const struct gci_server_proc *w = &srv->workers[i];
		if (w->error) {
			fprintf(f, "%s master %d worker %d: could not be read: %s\n", when,
				srv->master.pid, w->pid, w->error->message);
			continue;
		}
		char rss[32], pss[32], pd[32], cp[32], gc[32], full[32], next[32];
		fmt_bytes(rss, sizeof(rss), w->rollup.rss * 1024);
		fmt_bytes(pss, sizeof(pss), w->rollup.pss * 1024);
		fmt_bytes(pd, sizeof(pd), w->rollup.private_dirty * 1024);
		fmt_bytes(cp, sizeof(cp), w->copied.copied_pages * PAGE);
		fmt_bytes(gc, sizeof(gc), w->copied.cause_pages[GCI_COPY_GC_OBJECTS] * PAGE);
		fmt_bytes(full, sizeof(full), w->touch_known ? w->full.shared_pages * PAGE : 0);
		fmt_bytes(next, sizeof(next), next_known(w) ? w->next.shared_pages * PAGE : 0);
		char which[48] = "none";
		if (w->next_generation >= 0)
			snprintf(which, sizeof(which), "%s%s",
				 isdigit((unsigned char)w->next_collection[0]) ? "generation " : "",
				 w->next_collection);
		fprintf(f, "%s master %d worker %d: rss %s, pss %s, private dirty %s; copied %s "
			"(%s on GC pages); a full collection would copy %s more, the next "
			"(%s) %s%s\n", when, srv->master.pid, w->pid, rss, pss, pd,
			w->copied.known ? cp : "?", w->copied.known ? gc : "?",
			w->touch_known ? full : "?", which,
			next_bounded(w) ? "about " : "", next_known(w) ? next : "nothing");
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Prometheus text exposition format */

struct prom {
	FILE *f;
	const struct gci_server *srv;
};

static void prom_head(struct prom *pr, const char *name, const char *help)
{
	fprintf(pr->f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* name{pid,role,master[,extra]} value */
static void prom_proc(struct prom *pr, const char *name, const struct gci_server_proc *p,
		      const char *extra_key, const char *extra_value, double value)
{
	fprintf(pr->f, "%s{pid=\"%d\",role=\"%s\",master=\"%d\"", name, p->pid,
		p->master ? "master" : "worker", pr->srv->master.pid);
	if (extra_key)
		fprintf(pr->f, ",%s=\"%s\"", extra_key, extra_value);
	fprintf(pr->f, "} %.17g\n", value);
}

typedef bool proc_pred(const struct gci_server_proc *p);

static bool has_rollup(const struct gci_server_proc *p)
{
	return p->rollup.known;
}

static bool has_snapshot(const struct gci_server_proc *p)
{
	return p->have_snapshot;
}

static bool has_touch(const struct gci_server_proc *p)
{
	return p->have_snapshot && p->touch_known && p->full.sharing_known;
}

static bool has_copied(const struct gci_server_proc *p)
{
	return !p->master && p->copied.known;
}


static void prom_rollup(struct prom *pr, const char *name, const char *help, size_t off)
{
	prom_head(pr, name, help);
	FOR_PROCS(pr->srv, p)
		if (has_rollup(p))
			prom_proc(pr, name, p, NULL, NULL,
				  (double)*(const uint64_t *)(const void *)
				  ((const char *)&p->rollup + off) * 1024);
}

/* A label value: the characters Prometheus escapes, escaped. */
static void label_escape(const char *in, char *out, size_t n)
{
	size_t o = 0;
	for (const char *c = in; *c && o + 3 < n; c++) {
		if (*c == '\\' || *c == '"') {
			out[o++] = '\\';
			out[o++] = *c;
		} else if (*c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *c;
		}
	}
	out[o] = '\0';
}

static struct gci_error *prometheus_report(const struct gci_server *srv, FILE *f)
{
	struct prom pr = { f, srv };
	struct totals t;
	server_totals(srv, &t);
	char m[16];
	snprintf(m, sizeof(m), "%d", srv->master.pid);

	prom_head(&pr, "gcinspect_server_workers", "Workers of the pre-fork server.");
	fprintf(f, "gcinspect_server_workers{master=\"%s\"} %zu\n", m, srv->nworkers);
	prom_head(&pr, "gcinspect_server_unreadable_workers",
		  "Workers that could not be read in this sample.");
	size_t bad = 0;
	for (size_t i = 0; i < srv->nworkers; i++)
		bad += srv->workers[i].error != NULL;
	fprintf(f, "gcinspect_server_unreadable_workers{master=\"%s\"} %zu\n", m, bad);
	prom_head(&pr, "gcinspect_server_master_private_bytes",
		  "The master's resident private writable memory, which its workers share "
		  "until they copy it.");
	fprintf(f, "gcinspect_server_master_private_bytes{master=\"%s\"} %" PRIu64 "\n", m,
		t.master);
	prom_head(&pr, "gcinspect_server_copied_bytes",
		  "Memory of the master that the workers have copied, all workers together.");
	fprintf(f, "gcinspect_server_copied_bytes{master=\"%s\"} %" PRIu64 "\n", m, t.copied);
	prom_head(&pr, "gcinspect_server_full_collection_copy_bytes",
		  "What a full collection in each worker would copy, all workers together.");
	fprintf(f, "gcinspect_server_full_collection_copy_bytes{master=\"%s\"} %" PRIu64 "\n", m,
		t.full_more);
	prom_head(&pr, "gcinspect_sample_timestamp_seconds",
		  "When gcinspect read the server (Unix time).");
	fprintf(f, "gcinspect_sample_timestamp_seconds{master=\"%s\"} %.3f\n", m,
		srv->sample_time);

	prom_head(&pr, "gcinspect_process_read", "1 if gcinspect could read the process.");
	FOR_PROCS(srv, p)
		prom_proc(&pr, "gcinspect_process_read", p, NULL, NULL, p->have_snapshot ? 1 : 0);
	prom_rollup(&pr, "gcinspect_process_rss_bytes", "Resident memory (smaps_rollup Rss).",
		    offsetof(struct gci_rollup, rss));
	prom_rollup(&pr, "gcinspect_process_pss_bytes",
		    "Proportional set size (smaps_rollup Pss).", offsetof(struct gci_rollup, pss));
	prom_rollup(&pr, "gcinspect_process_shared_clean_bytes", "smaps_rollup Shared_Clean.",
		    offsetof(struct gci_rollup, shared_clean));
	prom_rollup(&pr, "gcinspect_process_shared_dirty_bytes", "smaps_rollup Shared_Dirty.",
		    offsetof(struct gci_rollup, shared_dirty));
	prom_rollup(&pr, "gcinspect_process_private_clean_bytes", "smaps_rollup Private_Clean.",
		    offsetof(struct gci_rollup, private_clean));
	prom_rollup(&pr, "gcinspect_process_private_dirty_bytes", "smaps_rollup Private_Dirty.",
		    offsetof(struct gci_rollup, private_dirty));

	prom_head(&pr, "gcinspect_process_stopped_seconds",
		  "How long the process was stopped for its walk.");
	FOR_PROCS(srv, p)
		if (has_snapshot(p) && p->stopped)
			prom_proc(&pr, "gcinspect_process_stopped_seconds", p, NULL, NULL,
				  p->stopped_ms / 1000.0);
	prom_head(&pr, "gcinspect_gc_enabled", "1 if the collector is enabled (gc.isenabled()).");
	FOR_PROCS(srv, p)
		if (has_snapshot(p) && p->enabled >= 0)
			prom_proc(&pr, "gcinspect_gc_enabled", p, NULL, NULL, p->enabled);
	prom_head(&pr, "gcinspect_gc_counts", "The collector's count per generation (gc.get_count()).");
	FOR_PROCS(srv, p)
		for (size_t g = 0; has_snapshot(p) && g < p->ngens; g++)
			if (p->lists[g].count >= 0)
				prom_proc(&pr, "gcinspect_gc_counts", p, "generation",
					  p->lists[g].name, (double)p->lists[g].count);
	prom_head(&pr, "gcinspect_gc_threshold",
		  "The collector's threshold per generation (gc.get_threshold()).");
	FOR_PROCS(srv, p)
		for (size_t g = 0; has_snapshot(p) && g < p->ngens; g++)
			if (p->lists[g].threshold >= 0)
				prom_proc(&pr, "gcinspect_gc_threshold", p, "generation",
					  p->lists[g].name, (double)p->lists[g].threshold);
	prom_head(&pr, "gcinspect_gc_objects",
		  "Tracked objects per list (a generation, or permanent: gc.freeze()).");
	FOR_PROCS(srv, p)
		for (size_t g = 0; has_snapshot(p) && g < p->nlists; g++)
			prom_proc(&pr, "gcinspect_gc_objects", p, "list", p->lists[g].name,
				  (double)p->lists[g].objects);
	prom_head(&pr, "gcinspect_gc_head_pages_bytes",
		  "Bytes of the 4 KiB pages holding the list's GC heads.");
	FOR_PROCS(srv, p)
		for (size_t g = 0; has_snapshot(p) && g < p->nlists; g++)
			prom_proc(&pr, "gcinspect_gc_head_pages_bytes", p, "list", p->lists[g].name,
				  (double)(p->lists[g].pages * PAGE));
	prom_head(&pr, "gcinspect_collection_write_bytes",
		  "Bytes of the pages a collection would write (full: gc.collect()'s; next: "
		  "the next automatic one, on 3.14.0-3.14.4 a step whose figure is a bound).");
	FOR_PROCS(srv, p) {
		if (!has_touch(p))
			continue;
		prom_proc(&pr, "gcinspect_collection_write_bytes", p, "collection", "full",
			  (double)(p->full.pages * PAGE));
		if (p->next_generation >= 0)
			prom_proc(&pr, "gcinspect_collection_write_bytes", p, "collection", "next",
				  (double)(p->next.pages * PAGE));
	}
	prom_head(&pr, "gcinspect_collection_copy_bytes",
		  "Of those, the bytes still shared with another process: what the "
		  "collection would copy.");
	FOR_PROCS(srv, p) {
		if (!has_touch(p))
			continue;
		prom_proc(&pr, "gcinspect_collection_copy_bytes", p, "collection", "full",
			  (double)(p->full.shared_pages * PAGE));
		if (p->next_generation >= 0)
			prom_proc(&pr, "gcinspect_collection_copy_bytes", p, "collection", "next",
				  (double)(p->next.shared_pages * PAGE));
	}
	prom_head(&pr, "gcinspect_copied_bytes",
		  "Memory of the master that the worker has copied (another physical page at "
		  "the same address).");
	FOR_PROCS(srv, p)
		if (has_copied(p))
			prom_proc(&pr, "gcinspect_copied_bytes", p, NULL, NULL,
				  (double)(p->copied.copied_pages * PAGE));
	prom_head(&pr, "gcinspect_copied_master_moved_bytes",
		  "Of the copied memory, what the worker still shares with another process: "
		  "the master wrote its own copy since the fork (physical frames known only).");
	FOR_PROCS(srv, p)
		if (has_copied(p) && srv->frames_known)
			prom_proc(&pr, "gcinspect_copied_master_moved_bytes", p, NULL, NULL,
				  (double)(p->copied.master_moved_pages * PAGE));
	prom_head(&pr, "gcinspect_copied_cause_bytes",
		  "Copied memory by what lives on the page (gc_objects, gc_state, allocator, "
		  "malloc, stacks, other).");
	FOR_PROCS(srv, p)
		for (int k = 0; has_copied(p) && k < GCI_COPY_NCAUSES; k++)
			prom_proc(&pr, "gcinspect_copied_cause_bytes", p, "cause",
				  gci_copy_cause_names[k], (double)(p->copied.cause_pages[k] * PAGE));
	prom_head(&pr, "gcinspect_copied_gc_list_bytes",
		  "Copied pages holding GC heads of the list (a page holding heads of "
		  "several lists counts for each).");
	FOR_PROCS(srv, p)
		for (size_t l = 0; has_copied(p) && l < p->copied.nlists; l++)
			prom_proc(&pr, "gcinspect_copied_gc_list_bytes", p, "list",
				  p->copied.lists[l].name, (double)(p->copied.lists[l].pages * PAGE));
	prom_head(&pr, "gcinspect_copied_gc_type_bytes",
		  "Copied pages holding GC heads of the type, for the types holding the most "
		  "(a page holding heads of several types counts for each).");
	FOR_PROCS(srv, p)
		for (size_t k = 0; has_copied(p) && k < p->copied.ntypes; k++) {
			char name[1100];
			label_escape(p->copied.types[k].name, name, sizeof(name));
			prom_proc(&pr, "gcinspect_copied_gc_type_bytes", p, "type", name,
				  (double)(p->copied.types[k].pages * PAGE));
		}
	prom_head(&pr, "gcinspect_freeze_before_fork_keeps_bytes",
		  "What gc.freeze() in the master before the fork would keep shared in the "
		  "worker (at most).");
	FOR_PROCS(srv, p)
		if (has_copied(p))
			prom_proc(&pr, "gcinspect_freeze_before_fork_keeps_bytes", p, NULL, NULL,
				  (double)(freeze_keep_pages(p) * PAGE));
	return NULL;
}

struct gci_error *gci_server_report(const struct gci_server *srv,
				    enum gci_server_format format, char **ret)
{
	if (!srv->read_done)
		return gci_error_create(GCI_ERR_USAGE, "the server has not been read "
					"(gci_server_read)");
	if (format == GCI_SERVER_JSON)
		return gci_report_json_string(server_json(srv), JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED,
				ret);
	if (format == GCI_SERVER_JSON_LINE)
		return gci_report_json_string(server_json(srv), JSON_C_TO_STRING_PLAIN, ret);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return &gci_enomem;
	struct gci_error *err;
	switch (format) {
	case GCI_SERVER_TEXT:
		err = text_report(srv, f);
		break;
	case GCI_SERVER_LINES:
		err = lines_report(srv, f);
		break;
	case GCI_SERVER_PROMETHEUS:
		err = prometheus_report(srv, f);
		break;
	default:
		err = gci_error_create(GCI_ERR_USAGE, "unknown report format %d", (int)format);
		break;
	}
	if (fclose(f) != 0 && !err)
		err = &gci_enomem;
	if (err) {
		free(buf);
		return err;
	}
	*ret = buf;
	return NULL;
}
