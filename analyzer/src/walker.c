/* Walking GC lists: bounded, back-links checked, problems recorded. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "typename.h"
#include "walker.h"

#define MAX_PROBLEMS 1000
#define MAX_TYPE_NAME 512

/* Open addressing: type address -> index + 1 (0 = empty slot). */
struct gci_type_cache {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap, used;
};

static struct gci_error *cache_grow(struct gci_type_cache *c)
{
	size_t cap = c->cap ? c->cap * 2 : 256;
	uint64_t *keys = calloc(cap, sizeof(*keys));
	uint32_t *vals = calloc(cap, sizeof(*vals));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return &gci_enomem;
	}
	for (size_t i = 0; i < c->cap; i++) {
		if (!c->vals[i])
			continue;
		size_t j = gci_hash_addr(c->keys[i]) & (cap - 1);
		while (vals[j])
			j = (j + 1) & (cap - 1);
		keys[j] = c->keys[i];
		vals[j] = c->vals[i];
	}
	free(c->keys);
	free(c->vals);
	c->keys = keys;
	c->vals = vals;
	c->cap = cap;
	return NULL;
}

/* The slot for key: holds it, or is the empty slot to put it in. */
static size_t cache_slot(const struct gci_type_cache *c, uint64_t key)
{
	size_t j = gci_hash_addr(key) & (c->cap - 1);
	while (c->vals[j] && c->keys[j] != key)
		j = (j + 1) & (c->cap - 1);
	return j;
}

struct gci_error *gci_snapshot_add_problem(struct gci_snapshot *snap, size_t *cap,
					   uint64_t address, const char *fmt, ...)
{
	if (snap->nproblems >= MAX_PROBLEMS) {
		/* One more than we keep: the last entry says so, once. */
		struct gci_problem *last = &snap->problems[MAX_PROBLEMS - 1];
		if (last->address != UINT64_MAX) {
			free(last->message);
			last->message = strdup("too many problems: the rest are not listed");
			last->address = UINT64_MAX;
			if (!last->message)
				return &gci_enomem;
		}
		return NULL;
	}
	if (snap->nproblems == *cap) {
		size_t n = *cap ? *cap * 2 : 16;
		struct gci_problem *p = gci_reallocarray(snap->problems, n, sizeof(*p));
		if (!p)
			return &gci_enomem;
		snap->problems = p;
		*cap = n;
	}
	char *msg;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return &gci_enomem;
	snap->problems[snap->nproblems].address = address;
	snap->problems[snap->nproblems].message = msg;
	snap->nproblems++;
	return NULL;
}

void gci_gen_data_destroy(struct gci_gen_data *d)
{
	if (!d)
		return;
	gci_pageset_deinit(&d->pages);
	for (size_t i = 0; d->type_pages && i < d->type_cap; i++)
		gci_pageset_deinit(&d->type_pages[i]);
	free(d->type_pages);
	free(d->type_objects);
	free(d->type_bytes);
	gci_pageset_deinit(&d->prefix_pages);
	for (size_t i = 0; d->prefix_type_pages && i < d->type_cap; i++)
		gci_pageset_deinit(&d->prefix_type_pages[i]);
	free(d->prefix_type_pages);
	free(d->prefix_type_objects);
	free(d);
}

static bool gen_data_reserve(struct gci_gen_data *d, size_t ntypes, bool type_pages)
{
	if (ntypes <= d->type_cap)
		return true;
	size_t cap = d->type_cap ? d->type_cap : 64;
	while (cap < ntypes)
		cap *= 2;
	uint64_t *o = gci_reallocarray(d->type_objects, cap, sizeof(*o));
	if (!o)
		return false;
	d->type_objects = o;
	uint64_t *b = gci_reallocarray(d->type_bytes, cap, sizeof(*b));
	if (!b)
		return false;
	d->type_bytes = b;
	if (type_pages) {
		struct gci_pageset *p = gci_reallocarray(d->type_pages, cap, sizeof(*p));
		if (!p)
			return false;
		d->type_pages = p;
		memset(p + d->type_cap, 0, (cap - d->type_cap) * sizeof(*p));
	}
	if (d->prefix_limit) {
		uint64_t *po = gci_reallocarray(d->prefix_type_objects, cap, sizeof(*po));
		if (!po)
			return false;
		d->prefix_type_objects = po;
		memset(po + d->type_cap, 0, (cap - d->type_cap) * sizeof(*po));
	}
	if (d->prefix_limit && type_pages) {
		struct gci_pageset *p = gci_reallocarray(d->prefix_type_pages, cap, sizeof(*p));
		if (!p)
			return false;
		d->prefix_type_pages = p;
		memset(p + d->type_cap, 0, (cap - d->type_cap) * sizeof(*p));
	}
	memset(o + d->type_cap, 0, (cap - d->type_cap) * sizeof(*o));
	memset(b + d->type_cap, 0, (cap - d->type_cap) * sizeof(*b));
	d->type_cap = cap;
	return true;
}

void gci_walker_init(struct gci_walker *w, struct gci_memory *mem,
		     const struct gci_layout *layout, struct gci_snapshot *snap,
		     uint64_t max_objects)
{
	memset(w, 0, sizeof(*w));
	w->mem = mem;
	w->layout = layout;
	w->snap = snap;
	w->max_objects = max_objects;
	w->keep_objects = true;
	w->objects_cap = snap->nobjects;
	w->types_cap = snap->ntypes;
	w->problems_cap = snap->nproblems;
}

void gci_walker_deinit(struct gci_walker *w)
{
	free(w->unnamed_why);
	w->unnamed_why = NULL;
	if (w->types) {
		free(w->types->keys);
		free(w->types->vals);
		free(w->types);
	}
	w->types = NULL;
}

#define PROBLEM(w, addr, ...) \
	gci_snapshot_add_problem((w)->snap, &(w)->problems_cap, (addr), __VA_ARGS__)

/* Read what we need of a type object the first time we meet it. */
static struct gci_error *type_load(struct gci_walker *w, uint64_t addr,
				   struct gci_type *t)
{
	const struct gci_layout *L = w->layout;
	struct gci_error *err;
	int64_t basic = 0, item = 0;
	uint64_t flags = 0, name_ptr = 0;

	memset(t, 0, sizeof(*t));
	t->address = addr;
	if ((err = gci_read_i64(w->mem, addr + L->tp_basicsize, &basic)) ||
	    (err = gci_read_i64(w->mem, addr + L->tp_itemsize, &item)) ||
	    (err = gci_read_u64(w->mem, addr + L->tp_flags, &flags)) ||
	    (err = gci_read_u64(w->mem, addr + L->tp_name, &name_ptr))) {
		if (err->code == GCI_ERR_NOMEM)
			return err;
		if (asprintf(&t->name, "<type at 0x%" PRIx64 ": unreadable>", addr) < 0)
			t->name = NULL;
		struct gci_error *perr = PROBLEM(w, addr, "type object at 0x%" PRIx64
						 " cannot be read: %s", addr, err->message);
		gci_error_destroy(err);
		if (perr) {
			free(t->name);
			t->name = NULL;
			return perr;
		}
		return t->name ? NULL : &gci_enomem;
	}
	t->basicsize = basic;
	t->itemsize = item;
	t->flags = flags;
	err = gci_read_cstr(w->mem, name_ptr, MAX_TYPE_NAME, &t->name);
	if (!err) {
		char *q = gci_type_qualified_name(w->mem, L, w->snap->version_hex, addr, flags,
						  t->name);
		if (q) {
			free(t->name);
			t->name = q;
		}
		gci_text_clean(t->name);
		t->name_known = true;
		return NULL;
	}
	if (err->code == GCI_ERR_NOMEM)
		return err;
	/* Built-in types' names live in read-only data that a core lacks;
	 * name the type by address, keep the first reason for a warning. */
	int r = asprintf(&t->name, "<type at 0x%" PRIx64 ": name unreadable>", addr);
	w->unnamed++;
	if (!w->unnamed_why) {
		w->unnamed_why = err->message;
		err->message = NULL;
	}
	gci_error_destroy(err);
	return r < 0 ? &gci_enomem : NULL;
}

static struct gci_error *type_index(struct gci_walker *w, uint64_t addr,
				    uint32_t *ret)
{
	if (!w->types) {
		w->types = calloc(1, sizeof(*w->types));
		if (!w->types)
			return &gci_enomem;
	}
	struct gci_type_cache *c = w->types;
	if (c->cap == 0 || (c->used + 1) * 2 > c->cap) {
		struct gci_error *err = cache_grow(c);
		if (err)
			return err;
	}
	size_t slot = cache_slot(c, addr);
	if (c->vals[slot]) {
		*ret = c->vals[slot] - 1;
		return NULL;
	}
	struct gci_snapshot *snap = w->snap;
	if (snap->ntypes == w->types_cap) {
		size_t n = w->types_cap ? w->types_cap * 2 : 64;
		struct gci_type *t = gci_reallocarray(snap->types, n, sizeof(*t));
		if (!t)
			return &gci_enomem;
		snap->types = t;
		w->types_cap = n;
	}
	struct gci_error *err = type_load(w, addr, &snap->types[snap->ntypes]);
	if (err)
		return err;
	c->keys[slot] = addr;
	c->vals[slot] = (uint32_t)snap->ntypes + 1;
	c->used++;
	*ret = (uint32_t)snap->ntypes++;
	return NULL;
}

void gci_walker_progress(struct gci_walker *w, bool final)
{
	if (w->progress)
		w->progress(w->progress_arg, "walk", w->walked, w->progress_total, final);
}

/* Tell the caller about one object (gci_snapshot_take_each). */
static struct gci_error *object_tell(struct gci_walker *w, const struct gci_gen *gen,
				     uint64_t op, uint32_t ti, uint64_t size,
				     int64_t refcount)
{
	const struct gci_layout *L = w->layout;
	const struct gci_type *t = &w->snap->types[ti];
	uint64_t before = L->gc_head_size + L->debug_alloc_prefix;
	if (t->flags & L->preheader_flags)
		before += L->preheader_size;
	struct gci_object_info info = {
		.address = op,
		.gc_head = L->gc_head_size ? op - L->gc_head_size : 0,
		.start = op - before,
		.end = op + (size > before ? size - before : 0),
		.type = ti,
		.size = (uint32_t)size,
		.refcount = refcount,
		.interp = w->interp,
		.list = gen,
	};
	if (w->object_fn(w->object_arg, w->snap, &info))
		return gci_error_create(GCI_ERR_CANCELLED, "the walk was stopped by its caller");
	return NULL;
}

struct gci_error *gci_walker_add_object(struct gci_walker *w, struct gci_gen *gen,
					 uint64_t op, uint64_t type_addr, int64_t ob_size_hint,
					 bool have_ob_size, int64_t refcount, uint64_t touch_at,
					 uint32_t touch_len, uint32_t *ret_type)
{
	const struct gci_layout *L = w->layout;
	struct gci_snapshot *snap = w->snap;
	uint32_t ti;
	struct gci_error *err = type_index(w, type_addr, &ti);
	if (err)
		return err;
	if (ret_type)
		*ret_type = ti;
	const struct gci_type *t = &snap->types[ti];

	uint64_t size = t->basicsize > 0 ? (uint64_t)t->basicsize : 0;
	if (t->itemsize > 0 && L->ob_size >= 0) {
		int64_t n = ob_size_hint;
		if (!have_ob_size) {
			err = gci_read_i64(w->mem, op + L->ob_size, &n);
			if (err) {
				if (err->code == GCI_ERR_NOMEM)
					return err;
				gci_error_destroy(err);
				n = 0;
			}
		}
		uint64_t items = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
		/*
		 * Not every type with tp_itemsize keeps a count at ob_size
		 * (3.11+ generators store a pointer there).  Believe the count
		 * only if the object's last byte is then mapped memory.
		 */
		uint64_t body, last;
		if (items <= UINT32_MAX &&
		    !__builtin_mul_overflow(items, (uint64_t)t->itemsize, &body) &&
		    !__builtin_add_overflow(op, size + body - 1, &last) &&
		    gci_memory_find(w->mem, last, GCI_TIER_PRIMARY))
			size += body;
	}
	size += L->gc_head_size + L->debug_alloc_prefix;
	if (t->flags & L->preheader_flags)
		size += L->preheader_size;
	if (size > UINT32_MAX)
		size = UINT32_MAX;

	struct gci_gen_data *d = gen->data;
	if (ti >= d->type_cap && !gen_data_reserve(d, (size_t)ti + 1, w->keep_type_pages))
		return &gci_enomem;
	if (w->keep_type_pages &&
	    !gci_pageset_add_range(&d->type_pages[ti], touch_at, touch_len))
		return &gci_enomem;
	d->type_objects[ti]++;
	d->type_bytes[ti] += size;
	if (gen->nobjects < d->prefix_limit) {
		d->prefix_objects++;
		d->prefix_bytes += size;
		d->prefix_type_objects[ti]++;
		if (!gci_pageset_add_range(&d->prefix_pages, op - L->gc_head_size,
					   L->gc_head_size) ||
		    (w->keep_type_pages &&
		     !gci_pageset_add_range(&d->prefix_type_pages[ti], op - L->gc_head_size,
					    L->gc_head_size)))
			return &gci_enomem;
	}
	gen->bytes += size;
	gen->nobjects++;
	if (!gci_pageset_add_range(&d->pages, touch_at, touch_len))
		return &gci_enomem;
	if (++w->walked % GCI_PROGRESS_EVERY == 0)
		gci_walker_progress(w, false);
	if (w->object_fn && (err = object_tell(w, gen, op, ti, size, refcount)))
		return err;
	if (!w->keep_objects)
		return NULL;
	if (snap->nobjects == w->objects_cap) {
		size_t n = w->objects_cap ? w->objects_cap * 2 : 4096;
		struct gci_object *o = gci_reallocarray(snap->objects, n, sizeof(*o));
		if (!o)
			return &gci_enomem;
		snap->objects = o;
		w->objects_cap = n;
	}
	struct gci_object *o = &snap->objects[snap->nobjects++];
	o->address = op;
	o->type = ti;
	o->size = (uint32_t)size;
	return NULL;
}

static bool is_other_head(const struct gci_walker *w, uint64_t g, uint64_t own)
{
	for (size_t i = 0; i < w->nheads; i++)
		if (w->heads[i] == g && g != own)
			return true;
	return false;
}

struct gci_error *gci_walk_list(struct gci_walker *w, struct gci_gen *gen)
{
	const struct gci_layout *L = w->layout;
	const uint64_t mask = L->gc_ptr_mask;
	const uint64_t head = gen->head;
	struct gci_error *err;
	uint64_t hnext;

	gen->first = w->snap->nobjects;
	gen->nobjects = 0;
	gen->bytes = 0;
	gen->last_head = 0;
	gen->complete = false;
	gci_gen_data_destroy(gen->data);
	gen->data = calloc(1, sizeof(*gen->data));
	if (!gen->data)
		return &gci_enomem;
	gen->data->prefix_limit = w->prefix;

	err = gci_read_u64(w->mem, head + L->gc_next, &hnext);
	if (err) {
		if (err->code == GCI_ERR_NOMEM)
			return err;
		struct gci_error *perr = PROBLEM(w, head, "generation %s: list head at 0x%"
						 PRIx64 " cannot be read: %s",
						 gen->name, head, err->message);
		gci_error_destroy(err);
		return perr;
	}

	/* One read covers the head and the object fields we need. */
	const size_t span = L->gc_head_size + (size_t)(L->ob_size > L->ob_type ?
						       L->ob_size : L->ob_type) + 8;
	uint64_t prev = head;
	uint64_t g = hnext & mask;
	uint64_t n = 0;
	while (g != head) {
		if (n >= w->max_objects) {
			err = PROBLEM(w, g, "generation %s: list at 0x%" PRIx64
				      " does not end after %" PRIu64 " objects (a loop?)",
				      gen->name, head, n);
			goto stop;
		}
		/* Heads inside the GC state may be only 4-aligned (Debian 3.13):
		 * name a link into one for what it is before judging alignment. */
		if (is_other_head(w, g, head)) {
			err = PROBLEM(w, prev, "generation %s: list runs into another "
				      "list's head at 0x%" PRIx64 " (from 0x%" PRIx64 ")",
				      gen->name, g, prev);
			goto stop;
		}
		if (g == 0 || (g & 7)) {
			err = PROBLEM(w, prev, "generation %s: GC head at 0x%" PRIx64
				      " links to invalid address 0x%" PRIx64,
				      gen->name, prev, g);
			goto stop;
		}
		uint64_t gnext, gprev, type_addr;
		int64_t ob_size = 0, refcount = -1;
		bool have_ob_size = false;
		const unsigned char *p = gci_memory_peek(w->mem, g, span);
		if (p) {
			memcpy(&gnext, p + L->gc_next, 8);
			memcpy(&gprev, p + L->gc_prev, 8);
			memcpy(&type_addr, p + L->gc_head_size + L->ob_type, 8);
			if (L->ob_size >= 0) {
				memcpy(&ob_size, p + L->gc_head_size + L->ob_size, 8);
				have_ob_size = true;
			}
			if (w->object_fn && L->ob_refcnt >= 0)
				memcpy(&refcount, p + L->gc_head_size + L->ob_refcnt, 8);
		} else {
			uint64_t op = g + L->gc_head_size;
			if ((err = gci_read_u64(w->mem, g + L->gc_next, &gnext)) ||
			    (err = gci_read_u64(w->mem, g + L->gc_prev, &gprev)) ||
			    (err = gci_read_u64(w->mem, op + L->ob_type, &type_addr))) {
				if (err->code == GCI_ERR_NOMEM)
					return err;
				struct gci_error *perr = PROBLEM(
					w, g, "generation %s: object at 0x%" PRIx64
					" (linked from 0x%" PRIx64 ") cannot be read: %s",
					gen->name, g + L->gc_head_size, prev, err->message);
				gci_error_destroy(err);
				err = perr;
				goto stop;
			}
			if (w->object_fn && L->ob_refcnt >= 0 &&
			    (err = gci_read_i64(w->mem, op + L->ob_refcnt, &refcount))) {
				if (err->code == GCI_ERR_NOMEM)
					return err;
				gci_error_destroy(err);
				err = NULL;
				refcount = -1;
			}
		}
		if ((gprev & mask) != prev) {
			err = PROBLEM(w, g, "generation %s: broken back-link at GC head 0x%"
				      PRIx64 ": _gc_prev is 0x%" PRIx64 ", expected 0x%" PRIx64,
				      gen->name, g, gprev & mask, prev);
			goto stop;
		}
		err = gci_walker_add_object(w, gen, g + L->gc_head_size, type_addr, ob_size,
					    have_ob_size, refcount, g, L->gc_head_size, NULL);
		if (err)
			return err;
		n++;
		prev = g;
		gen->last_head = g;
		g = gnext & mask;
	}
	gen->complete = true;
	/* The head's prev must be the last object. */
	uint64_t hprev;
	err = gci_read_u64(w->mem, head + L->gc_prev, &hprev);
	if (!err && (hprev & mask) != prev) {
		gen->complete = false;
		err = PROBLEM(w, head, "generation %s: list head 0x%" PRIx64
			      " has _gc_prev 0x%" PRIx64 ", but the last object is 0x%" PRIx64,
			      gen->name, head, hprev & mask, prev);
	} else if (err && err->code != GCI_ERR_NOMEM) {
		gci_error_destroy(err);
		err = NULL;
	}
stop:
	return err;
}
