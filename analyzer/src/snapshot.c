/*
 * The snapshot: discovery, then the layout, then (with a live target held
 * still) the interpreters and the enumeration of their objects by the
 * target's collector kind, then what the live target's page tables say.
 * Each step is a module of its own: discovery.c, layout_choose.c,
 * collector_*.c.
 */
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "discovery.h"
#include "layout_choose.h"
#include "pageset.h"
#include "program.h"
#include "snapshot.h"
#include "walker.h"

struct snapshot {
	struct gci_snapshot pub;
	struct gci_layout layout;
	struct gci_discovery disc;
	const struct gci_collector_kind *collector;
	void *kind_data;               /* the collector kind's own */
	bool sharing_known;            /* live: pagemap was read */
	struct gci_pageset shared, exclusive;
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

const struct gci_collector_kind *gci_snapshot_collector(const struct gci_snapshot *snap)
{
	return to_private(snap)->collector;
}

void *gci_snapshot_kind_data(const struct gci_snapshot *snap)
{
	return to_private(snap)->kind_data;
}

void gci_snapshot_set_kind_data(struct gci_snapshot *snap, void *data)
{
	to_private(snap)->kind_data = data;
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
				 L->gc_collecting + 4, L->gc_enabled + 4,
				 L->gc_heap_size + 8, L->gc_work_to_do + 8,
				 L->gc_visited_space + 4, L->gc_phase + 4 };
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
		/* And whatever else the full collection writes where the kind
		 * has pages of its own beside the lists' (free-threaded:
		 * allocator metadata). */
		const struct gci_collection *c;
		size_t n = ok && s->collector->touch_pages != gci_lists_touch_pages ?
				   gci_collections(snap, in, &c) : 0;
		for (size_t k = 0; k < n; k++) {
			if (!c[k].full)
				continue;
			struct gci_pageset ps;
			struct gci_touch t;
			gci_pageset_init(&ps);
			struct gci_error *err = gci_touch_pages(snap, in, c[k].generation, &ps, &t);
			if (err && err->code == GCI_ERR_NOMEM)
				ok = false;
			gci_error_destroy(err);
			ok = ok && gci_pageset_merge(&all, &ps);
			gci_pageset_deinit(&ps);
		}
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
	struct snapshot *s = to_private(snap);
	if (s->kind_data && s->collector && s->collector->destroy)
		s->collector->destroy(snap, s->kind_data);
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
	const struct gci_layout *L = &s->layout;
	int64_t v;
	if (index >= snap->nobjects)
		return -1;
	uint64_t op = snap->objects[index].address;
	struct gci_error *err;
	if (L->collector == GCI_COLLECTOR_FREE_THREADED) {
		/* Py_REFCNT of free-threaded builds: the owner thread's count
		 * plus the shared count (its low two bits are flags);
		 * UINT32_MAX local means immortal. */
		uint32_t local;
		int64_t shared;
		if ((err = gci_read_u32(&snap->prog->mem, op + (uint64_t)L->ft.ob_ref_local,
					&local)) ||
		    (err = gci_read_i64(&snap->prog->mem, op + (uint64_t)L->ft.ob_ref_shared,
					&shared))) {
			gci_error_destroy(err);
			return -1;
		}
		if (local == UINT32_MAX)
			return (int64_t)UINT32_MAX;
		return (int64_t)local + (shared >> 2);
	}
	err = gci_read_i64(&snap->prog->mem, op + (uint64_t)L->ob_refcnt, &v);
	if (err) {
		gci_error_destroy(err);
		return -1;
	}
	return v;
}

/*
 * When the memory was as read: a live target at its walk, a core when it
 * was written (its file's mtime: the kernel or gcore writes it once).  A
 * callback program is either, as its caller said.
 */
static void snapshot_time(struct gci_program *prog, struct gci_snapshot *snap)
{
	struct gci_process_info pi;
	struct stat st;
	gci_program_process_info(prog, &pi);
	bool live = prog->pid > 0 || (pi.kind && !strcmp(pi.kind, "live"));
	if (live) {
		snap->time = (int64_t)time(NULL);
		snap->time_source = "walk";
	} else if (prog->core ? !prog->core->input.stream && fstat(prog->core->fd, &st) == 0
		   : pi.path && stat(pi.path, &st) == 0 && S_ISREG(st.st_mode)) {
		snap->time = (int64_t)st.st_mtime;
		snap->time_source = "core file mtime";
	}
}

struct gci_error *gci_snapshot_take(struct gci_program *prog, unsigned flags,
				    struct gci_snapshot **ret)
{
	return gci_snapshot_take_each(prog, flags, NULL, NULL, ret);
}

struct gci_error *gci_snapshot_take_each(struct gci_program *prog, unsigned flags,
					 gci_object_fn *fn, void *arg,
					 struct gci_snapshot **ret)
{
	struct gci_error *err;
	const struct gci_object_sink sink = {
		.fn = fn, .arg = arg,
		.progress = prog->opts.progress, .progress_arg = prog->opts.progress_arg,
	};
	struct snapshot *s = calloc(1, sizeof(*s));
	if (!s)
		return &gci_enomem;
	struct gci_snapshot *snap = &s->pub;
	struct gci_discovery *d = &s->disc;
	snap->prog = prog;

	if ((err = gci_program_prepare(prog)) || (err = gci_discover(prog, snap, d)))
		goto fail;
	if ((err = gci_layout_choose(prog, snap, d, &s->layout, s->layout_name,
				     sizeof(s->layout_name))))
		goto fail;
	s->collector = gci_collector_for(&s->layout);
	/* Everything above reads data that does not change while the target
	 * runs; from here on it must hold still. */
	bool stop = (flags & GCI_SNAPSHOT_STOP) && prog->pid > 0;
	if (stop && (err = gci_program_stop(prog)))
		goto fail;
	snapshot_time(prog, snap);
	/* Every file is open now (symbols, DWARF, the layout cache; the
	 * threads are seized): what follows walks the target's own pointers,
	 * confined if asked (docs/sandbox.md). */
	if (flags & GCI_SNAPSHOT_CONFINE)
		err = gci_program_confine(prog);
	if (!err &&
	    !(err = gci_discover_interpreters(prog, snap, d, &s->layout, &s->problems_cap)) &&
	    !(err = s->collector->enumerate(prog, snap, &s->layout, flags, &sink,
					    &s->problems_cap)) &&
	    prog->proc_pid > 0)
		err = read_sharing(prog, s);
	if (!err && prog->pid > 0 && !stop)
		err = s->collector->check_unchanged(prog, snap, &s->layout, &s->problems_cap);
	if (stop) {
		uint64_t usec;
		gci_program_resume(prog, &usec);
		gci_log(prog, GCI_LOG_INFO, "pid %d: resumed after %.1f ms", prog->pid,
			usec / 1000.0);
	}
	if (err)
		goto fail;
	gci_discovery_deinit(d);
	*ret = snap;
	return NULL;
fail:
	/* A rejected block may be why nothing else worked: say so. */
	if (d->cookie_rejected && err != &gci_enomem && !d->have_dbg) {
		char *msg;
		if (asprintf(&msg, "%s (note: %s)", err->message, d->cookie_rejected) >= 0) {
			free(err->message);
			err->message = msg;
		}
	}
	gci_discovery_deinit(d);
	gci_snapshot_destroy(snap);
	/* Every message names its target. */
	if (err != &gci_enomem && err->code != GCI_ERR_CANCELLED && prog->target_path && !strstr(err->message, prog->target_path))
		err = gci_error_prefix(err, "%s: ", prog->target_path);
	/* What fails in a truncated core most likely fails because of it. */
	if (prog->core && prog->core->truncated && err->code != GCI_ERR_NOMEM &&
	    err->code != GCI_ERR_CANCELLED) {
		err->code = GCI_ERR_INPUT;
		err = gci_error_prefix(err, "%s is truncated (%zu of %" PRIu64 " bytes): ",
				       prog->target_path, prog->core->size,
				       prog->core->expected_size);
	}
	return err;
}
