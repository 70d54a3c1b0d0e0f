/*
 * Free-threaded CPython (Py_GIL_DISABLED, 3.13t and later): how its objects
 * are found, and what a collection writes.
 *
 * There is no PyGC_Head and no generation list.  GC objects live in mimalloc
 * heaps of their own, as Python/gc_free_threading.c's gc_visit_heaps finds
 * them: for every thread state of the interpreter whose mimalloc state is
 * initialized, heaps[_Py_MIMALLOC_HEAP_GC] (2, the object at the start of
 * each block) and heaps[_Py_MIMALLOC_HEAP_GC_PRE] (3, the object after the
 * two-word pre-header of managed dict and weakref pointers); then the pages
 * with those tags in the segments that exited threads abandoned.  mimalloc.c
 * walks the pages and knows which blocks are free; here, a block holds a GC
 * object when its ob_gc_bits says _PyGC_BITS_TRACKED (1).
 *
 *   tracked, not frozen, not unreachable  -> the list "heap": what
 *                                           gc.get_objects() returns
 *   tracked and _PyGC_BITS_FROZEN (8)     -> "permanent": what gc.freeze()
 *                                           froze, gc.get_freeze_count()
 *   tracked and _PyGC_BITS_UNREACHABLE (4)-> only during a collection:
 *                                           counted, and a problem
 *
 * Every collection is of the whole heap.  Its touch model
 * (docs/touch-model.md, "Free-threaded builds"): update_refs and
 * scan_heap_visitor write ob_tid and ob_gc_bits of every tracked object
 * that is not frozen, and gc_restore_tid merges the refcount of objects in
 * abandoned segments (ob_ref_local, ob_ref_shared); every gc_visit_heaps
 * pass writes allocator metadata (mimalloc.c's touch set); and the GC state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockcache.h"
#include "collector.h"
#include "mimalloc.h"
#include "snapshot.h"
#include "walker.h"

/* ob_gc_bits (Include/internal/pycore_gc.h, 3.13-3.15). */
#define GC_BITS_TRACKED 1u
#define GC_BITS_UNREACHABLE 4u
#define GC_BITS_FROZEN 8u

/* The heap tags of GC objects (Include/internal/pycore_mimalloc.h). */
#define HEAP_GC 2u
#define HEAP_GC_PRE 3u

#define MAX_THREAD_STATES 100000

/* tp_flags */
#define TPFLAGS_LIST_SUBCLASS (1ULL << 25)
#define TPFLAGS_TUPLE_SUBCLASS (1ULL << 26)

/*
 * The mark stack (_PyObjectStack): chunks of 254 object pointers, 2048
 * bytes each from PyMem_RawMalloc (16 more for malloc's own header).
 */
#define STACK_CHUNK_OBJECTS 254
#define STACK_CHUNK_BYTES (2048 + 16)
/* The lists and tuples looked at for the largest fan-out, and how many of
 * their items are read (beyond that, the share found is extrapolated). */
#define FANOUT_CANDIDATES 4
#define FANOUT_MAX_ITEMS (1u << 20)

struct fanout {
	uint64_t op;
	int64_t size;
	bool tuple;
};
struct page_mark {
	uint64_t page, digest;
};

/* What enumeration keeps per interpreter beside the two lists. */
struct ft_interp {
	struct gci_pageset meta;   /* allocator metadata a collection writes */
	uint64_t pages, heaps, threads, abandoned_segments, unreachable;
	int64_t threshold1;        /* generations[1].threshold (-1 unknown) */
	uint64_t threads_head;     /* at the walk, for --no-stop */
	struct page_mark *marks;   /* every page's lists at the walk */
	size_t nmarks, marks_cap;
	struct fanout big[FANOUT_CANDIDATES]; /* the largest lists and tuples */
	uint64_t stack_peak;       /* mark-stack estimate: objects at once */
};

struct ft_data {
	size_t n;
	struct ft_interp *in;
};

static void destroy(struct gci_snapshot *snap, void *data)
{
	struct ft_data *d = data;
	for (size_t i = 0; d && i < d->n; i++) {
		gci_pageset_deinit(&d->in[i].meta);
		free(d->in[i].marks);
	}
	if (d)
		free(d->in);
	free(d);
}

static struct ft_interp *ft_of(const struct gci_snapshot *snap, const struct gci_interp *in)
{
	struct ft_data *d = gci_snapshot_kind_data(snap);
	size_t i = (size_t)(in - snap->interps);
	return d && i < d->n ? &d->in[i] : NULL;
}

struct visit {
	struct gci_walker *w;
	struct gci_snapshot *snap;
	const struct gci_layout *L;
	struct gci_interp *in;
	struct ft_interp *ft;
	size_t first;              /* the interpreter's first object record */
	unsigned char *frozen;     /* per record from first: 1 if frozen */
	size_t frozen_cap;
};

/* Which list each record belongs to, for the partition afterwards. */
static bool note_record(struct visit *v, bool frozen)
{
	if (!v->w->keep_objects)
		return true;
	size_t k = v->snap->nobjects - 1 - v->first;
	if (k >= v->frozen_cap) {
		size_t cap = v->frozen_cap ? 2 * v->frozen_cap : 4096;
		while (cap <= k)
			cap *= 2;
		unsigned char *f = realloc(v->frozen, cap);
		if (!f)
			return false;
		v->frozen = f;
		v->frozen_cap = cap;
	}
	v->frozen[k] = frozen;
	return true;
}

static struct gci_error *visit_block(void *arg, const struct gci_mi_page *pg, uint64_t block)
{
	struct visit *v = arg;
	const struct gci_layout *L = v->L;
	const struct gci_ft_layout *F = &L->ft;
	uint64_t op = block + L->debug_alloc_prefix + (pg->tag == HEAP_GC_PRE ? L->preheader_size : 0);
	/* The header and ob_size (objects of 32 bytes have none: what is
	 * read there is used only for types with items). */
	unsigned char h[48];
	size_t need = (size_t)(L->ob_size >= 0 ? L->ob_size + 8 : L->ob_type + 8);
	if (need > sizeof(h))
		need = sizeof(h);
	const unsigned char *p = gci_memory_peek(v->w->mem, op, need);
	if (p) {
		memcpy(h, p, need);
	} else {
		struct gci_error *e = gci_memory_read(v->w->mem, op, h, (size_t)L->ob_type + 8);
		if (e) {
			if (e->code == GCI_ERR_NOMEM)
				return e;
			struct gci_error *perr = gci_snapshot_add_problem(
				v->snap, &v->w->problems_cap, op, "interpreter %" PRId64 ": the "
				"object in block 0x%" PRIx64 " cannot be read: %s", v->in->id, block,
				e->message);
			gci_error_destroy(e);
			v->in->gens[0].complete = v->in->permanent.complete = false;
			return perr;
		}
		/* ob_size only if readable */
		if (L->ob_size >= 0 && (size_t)L->ob_size + 8 <= sizeof(h) &&
		    (e = gci_memory_read(v->w->mem, op + (uint64_t)L->ob_size, h + L->ob_size, 8))) {
			if (e->code == GCI_ERR_NOMEM)
				return e;
			gci_error_destroy(e);
			memset(h + L->ob_size, 0, 8);
		}
	}
	unsigned bits = h[F->ob_gc_bits];
	if (!(bits & GC_BITS_TRACKED))
		return NULL;
	if (bits & GC_BITS_UNREACHABLE) {
		v->ft->unreachable++;
		return NULL;
	}
	bool frozen = bits & GC_BITS_FROZEN;
	uint64_t type;
	int64_t ob_size = 0;
	memcpy(&type, h + L->ob_type, 8);
	if (L->ob_size >= 0 && (size_t)L->ob_size + 8 <= sizeof(h))
		memcpy(&ob_size, h + L->ob_size, 8);
	/* What a collection writes of it: ob_tid .. ob_gc_bits; in an abandoned
	 * segment also the refcount it merges (gc_restore_tid). */
	int32_t end = F->ob_tid + 8 > F->ob_gc_bits + 1 ? F->ob_tid + 8 : F->ob_gc_bits + 1;
	if (pg->abandoned) {
		if (F->ob_ref_local + 4 > end)
			end = F->ob_ref_local + 4;
		if (F->ob_ref_shared + 8 > end)
			end = F->ob_ref_shared + 8;
	}
	/* Py_REFCNT: the owner thread's count plus the shared one (its low
	 * two bits are flags); a local UINT32_MAX is immortal. */
	int64_t refcount = -1;
	size_t got = p ? need : (size_t)L->ob_type + 8;  /* bytes of h read */
	if ((size_t)F->ob_ref_local + 4 <= got && (size_t)F->ob_ref_shared + 8 <= got) {
		uint32_t local;
		int64_t shared;
		memcpy(&local, h + F->ob_ref_local, 4);
		memcpy(&shared, h + F->ob_ref_shared, 8);
		refcount = local == UINT32_MAX ? (int64_t)UINT32_MAX : (int64_t)local + (shared >> 2);
	}
	struct gci_gen *gen = frozen ? &v->in->permanent : &v->in->gens[0];
	uint32_t ti;
	struct gci_error *err = gci_walker_add_object(v->w, gen, op, type, ob_size, true,
						      refcount, op, (uint32_t)end, &ti);
	if (err)
		return err;
	/* The largest lists and tuples a collection examines: their items are
	 * pushed on its mark stack at once. */
	uint64_t flags = v->snap->types[ti].flags;
	if (!frozen && (flags & (TPFLAGS_LIST_SUBCLASS | TPFLAGS_TUPLE_SUBCLASS)) &&
	    ob_size > v->ft->big[FANOUT_CANDIDATES - 1].size) {
		struct fanout f = { op, ob_size, (flags & TPFLAGS_TUPLE_SUBCLASS) != 0 };
		int k = FANOUT_CANDIDATES - 1;
		while (k > 0 && v->ft->big[k - 1].size < f.size) {
			v->ft->big[k] = v->ft->big[k - 1];
			k--;
		}
		v->ft->big[k] = f;
	}
	return note_record(v, frozen) ? NULL : &gci_enomem;
}

/*
 * The collector's mark stack at its largest, estimated: mark_reachable
 * pushes every not yet marked referent of the object it traverses, so the
 * stack holds at least the items of the largest list or tuple that are
 * tracked, not frozen and not immortal (update_refs untracks those).  Only
 * the largest few are read, item by item.
 */
static struct gci_error *estimate_stack(struct gci_program *prog, const struct gci_layout *L,
					struct ft_interp *ft)
{
	const struct gci_ft_layout *F = &L->ft;
	uint64_t budget = FANOUT_MAX_ITEMS;
	for (int k = 0; k < FANOUT_CANDIDATES && ft->big[k].size > 0; k++) {
		const struct fanout *f = &ft->big[k];
		if ((uint64_t)f->size <= ft->stack_peak)
			break;  /* no item count can beat the estimate any more */
		uint64_t items = f->op + (uint64_t)F->tuple_items;
		struct gci_error *err;
		if (!f->tuple &&
		    (err = gci_read_u64(&prog->mem, f->op + (uint64_t)F->list_items, &items))) {
			if (err->code == GCI_ERR_NOMEM)
				return err;
			gci_error_destroy(err);
			continue;
		}
		uint64_t n = (uint64_t)f->size < budget ? (uint64_t)f->size : budget, pushed = 0;
		budget -= n;
		if (!n)
			break;
		uint64_t i;
		for (i = 0; i < n; i++) {
			uint64_t item;
			unsigned char h[32];
			if ((err = gci_read_u64(&prog->mem, items + 8 * i, &item))) {
				if (err->code == GCI_ERR_NOMEM)
					return err;
				gci_error_destroy(err);
				break;  /* a list read while it ran; what was counted stands */
			}
			if (!item || (err = gci_memory_read(&prog->mem, item, h, sizeof(h)))) {
				if (err && err->code == GCI_ERR_NOMEM)
					return err;
				gci_error_destroy(err);
				continue;
			}
			uint32_t local;
			memcpy(&local, h + F->ob_ref_local, 4);
			unsigned bits = h[F->ob_gc_bits];
			if ((bits & (GC_BITS_TRACKED | GC_BITS_FROZEN | GC_BITS_UNREACHABLE)) ==
			    GC_BITS_TRACKED && local != UINT32_MAX)
				pushed++;
		}
		/* i: the items read (a list read while it ran may end early) */
		if (i && i < (uint64_t)f->size)
			pushed = (uint64_t)((double)pushed * (double)f->size / (double)i);
		if (pushed > ft->stack_peak)
			ft->stack_peak = pushed;
	}
	return NULL;
}

static struct gci_error *page_done(void *arg, const struct gci_mi_page *pg)
{
	struct visit *v = arg;
	struct ft_interp *ft = v->ft;
	if (ft->nmarks == ft->marks_cap) {
		size_t cap = ft->marks_cap ? 2 * ft->marks_cap : 256;
		struct page_mark *m = gci_reallocarray(ft->marks, cap, sizeof(*m));
		if (!m)
			return &gci_enomem;
		ft->marks = m;
		ft->marks_cap = cap;
	}
	ft->marks[ft->nmarks++] = (struct page_mark){ pg->address, pg->lists };
	return NULL;
}

/* Heap objects first, then the frozen ones: each list's records contiguous. */
static bool partition(struct visit *v)
{
	struct gci_snapshot *snap = v->snap;
	struct gci_interp *in = v->in;
	size_t n = snap->nobjects - v->first;
	in->gens[0].first = v->first;
	in->permanent.first = v->first + in->gens[0].nobjects;
	if (!v->w->keep_objects || !n)
		return true;
	struct gci_object *frozen = malloc(in->permanent.nobjects ? in->permanent.nobjects *
					   sizeof(*frozen) : 1);
	if (!frozen)
		return false;
	struct gci_object *o = snap->objects + v->first;
	size_t h = 0, f = 0;
	for (size_t k = 0; k < n; k++) {
		if (v->frozen[k])
			frozen[f++] = o[k];
		else
			o[h++] = o[k];
	}
	memcpy(o + h, frozen, f * sizeof(*frozen));
	free(frozen);
	return true;
}

/* One interpreter: its threads' heaps, then its abandoned segments. */
static struct gci_error *enumerate_interp(struct gci_program *prog, struct visit *v,
					  struct gci_mi_walker *mw)
{
	const struct gci_layout *L = v->L;
	const struct gci_ft_layout *F = &L->ft;
	struct gci_interp *in = v->in;
	struct gci_error *err;
	char label[64];
	snprintf(label, sizeof(label), "interpreter %" PRId64, in->id);
	mw->label = label;
	uint64_t ts;
	if ((err = gci_read_u64(&prog->mem, in->address + (uint64_t)F->interp_threads_head, &ts))) {
		if (err->code == GCI_ERR_NOMEM)
			return err;
		struct gci_error *perr = gci_snapshot_add_problem(
			v->snap, &v->w->problems_cap, in->address, "%s: its thread states "
			"cannot be read: %s", label, err->message);
		gci_error_destroy(err);
		mw->complete = false;
		return perr;
	}
	v->ft->threads_head = ts;
	/* Brent's cycle detection: a loop anywhere in the list is found
	 * within twice its length, with no extra reads. */
	uint64_t tortoise = 0, power = 1, lam = 0;
	for (uint64_t n = 0; ts; n++) {
		if (n >= MAX_THREAD_STATES || ts == tortoise) {
			mw->complete = false;
			return gci_snapshot_add_problem(v->snap, &v->w->problems_cap, ts,
							"%s: the thread-state list does not end "
							"(a loop at 0x%" PRIx64 "?)", label, ts);
		}
		uint64_t m = ts + (uint64_t)F->tstate_mimalloc;
		int64_t initialized;
		uint64_t thread, next;
		if ((err = gci_read_int(&prog->mem, m + (uint64_t)F->mts_initialized, 4, true,
					&initialized)) ||
		    (err = gci_read_u64(&prog->mem, ts + (uint64_t)F->tstate_thread_id, &thread)) ||
		    (err = gci_read_u64(&prog->mem, ts + (uint64_t)F->tstate_next, &next))) {
			if (err->code == GCI_ERR_NOMEM)
				return err;
			struct gci_error *perr = gci_snapshot_add_problem(
				v->snap, &v->w->problems_cap, ts, "%s: thread state 0x%" PRIx64
				" cannot be read: %s", label, ts, err->message);
			gci_error_destroy(err);
			mw->complete = false;
			return perr;
		}
		v->ft->threads++;
		/* Not yet bound to its thread (tstate_mimalloc_bind): no heaps. */
		if (initialized) {
			for (unsigned tag = HEAP_GC; tag <= HEAP_GC_PRE; tag++) {
				uint64_t heap = m + (uint64_t)F->mts_heaps + (uint64_t)tag * F->heap_size;
				if ((err = gci_mi_walk_heap(mw, heap, tag, thread)))
					return err;
			}
		}
		if (lam == power) {
			tortoise = ts;
			power *= 2;
			lam = 0;
		}
		lam++;
		ts = next;
	}
	return gci_mi_walk_abandoned(mw, in->address + (uint64_t)F->interp_mimalloc, HEAP_GC,
				     HEAP_GC_PRE);
}

static struct gci_error *enumerate(struct gci_program *prog, struct gci_snapshot *snap,
				   const struct gci_layout *L, unsigned flags,
				   const struct gci_object_sink *sink, size_t *problems_cap)
{
	struct ft_data *d = calloc(1, sizeof(*d));
	if (!d)
		return &gci_enomem;
	d->in = calloc(snap->ninterps ? snap->ninterps : 1, sizeof(*d->in));
	if (!d->in) {
		free(d);
		return &gci_enomem;
	}
	d->n = snap->ninterps;
	gci_snapshot_set_kind_data(snap, d);
	struct gci_walker w;
	gci_enumeration_walker(&w, prog, L, snap, UINT64_MAX, flags, sink, *problems_cap);
	struct gci_error *err = NULL;
	struct visit v = { .w = &w, .snap = snap, .L = L };
	for (size_t i = 0; i < snap->ninterps && !err; i++) {
		struct gci_interp *in = &snap->interps[i];
		struct ft_interp *ft = &d->in[i];
		gci_pageset_init(&ft->meta);
		ft->threshold1 = -1;
		/* generations[1].threshold 0 turns the live-object scaling off
		 * (gc_should_collect). */
		if (L->ngens > 1) {
			struct gci_error *e = gci_read_int(
				&prog->mem, in->gc_state + (uint64_t)L->gc_generations + L->gen_size +
				(uint64_t)L->gen_threshold, 4, true, &ft->threshold1);
			if (e) {
				if (e->code == GCI_ERR_NOMEM)
					err = e;
				else
					gci_error_destroy(e);
				ft->threshold1 = -1;
			}
		}
		struct gci_gen *lists[2] = { &in->gens[0], &in->permanent };
		for (int k = 0; k < 2 && !err; k++) {
			gci_gen_data_destroy(lists[k]->data);
			lists[k]->data = calloc(1, sizeof(*lists[k]->data));
			lists[k]->nobjects = 0;
			lists[k]->bytes = 0;
			lists[k]->complete = true;
			if (!lists[k]->data)
				err = &gci_enomem;
		}
		if (err)
			break;
		if (in->collecting > 0 &&
		    (err = gci_snapshot_add_problem(snap, &w.problems_cap, in->gc_state,
						    "interpreter %" PRId64 ": a collection was "
						    "running when the snapshot was taken; object "
						    "headers may be mid-update", in->id)))
			break;
		struct gci_mi_walker mw;
		gci_mi_walker_init(&mw, &prog->mem, L, snap, &w.problems_cap);
		mw.block = visit_block;
		mw.page_done = page_done;
		mw.arg = &v;
		mw.touch = &ft->meta;
		v.in = in;
		v.ft = ft;
		w.interp = in;
		v.first = snap->nobjects;
		err = enumerate_interp(prog, &v, &mw);
		ft->pages = mw.pages;
		ft->heaps = mw.heaps;
		ft->abandoned_segments = mw.segments_abandoned;
		if (!mw.complete)
			in->gens[0].complete = in->permanent.complete = false;
		gci_mi_walker_deinit(&mw);
		if (!err && !partition(&v))
			err = &gci_enomem;
		if (!err)
			err = estimate_stack(prog, L, ft);
		if (!err && ft->unreachable)
			err = gci_snapshot_add_problem(
				snap, &w.problems_cap, in->gc_state, "interpreter %" PRId64 ": %"
				PRIu64 " tracked object%s marked unreachable: a collection was "
				"under way; they are in neither list", in->id, ft->unreachable,
				ft->unreachable == 1 ? " is" : "s are");
		if (!err)
			gci_log(prog, GCI_LOG_INFO, "interpreter %" PRId64 ": %" PRIu64 " thread "
				"state%s, %" PRIu64 " GC heaps, %" PRIu64 " abandoned segment%s, %"
				PRIu64 " pages: %zu objects, %zu frozen", in->id, ft->threads,
				ft->threads == 1 ? "" : "s", ft->heaps, ft->abandoned_segments,
				ft->abandoned_segments == 1 ? "" : "s", ft->pages,
				in->gens[0].nobjects, in->permanent.nobjects);
	}
	free(v.frozen);
	*problems_cap = w.problems_cap;
	if (!err)
		gci_walker_progress(&w, true);
	if (w.unnamed)
		gci_program_warn(prog, "the names of %zu type%s could not be read (first: %s)",
				 w.unnamed, w.unnamed == 1 ? "" : "s", w.unnamed_why);
	gci_walker_deinit(&w);
	return err;
}

/*
 * Read while it ran (--no-stop): a page whose lists or count changed, a new
 * thread state, a young count that moved: the walk mixes two moments.
 */
static struct gci_error *check_unchanged(struct gci_program *prog, struct gci_snapshot *snap,
					 const struct gci_layout *L, size_t *problems_cap)
{
	gci_block_cache_invalidate(prog->cache);
	for (size_t i = 0; i < snap->ninterps; i++) {
		struct gci_interp *in = &snap->interps[i];
		struct ft_interp *ft = ft_of(snap, in);
		if (!ft)
			continue;
		uint64_t changed = 0, first = 0, ts = 0;
		for (size_t k = 0; k < ft->nmarks; k++) {
			if (gci_mi_page_digest(&prog->mem, L, ft->marks[k].page) != ft->marks[k].digest &&
			    !changed++)
				first = ft->marks[k].page;
		}
		int64_t count = in->gens[0].count;
		struct gci_error *e = gci_read_int(&prog->mem, in->gc_state + (uint64_t)L->gc_generations +
						   (uint64_t)L->gen_count, 4, true, &count);
		if (!e)
			e = gci_read_u64(&prog->mem, in->address + (uint64_t)L->ft.interp_threads_head,
					 &ts);
		if (e) {
			gci_error_destroy(e);
			continue;
		}
		if (!changed && count == in->gens[0].count && ts == ft->threads_head)
			continue;
		char pages[96] = "", young[96] = "";
		if (changed)
			snprintf(pages, sizeof(pages), "%" PRIu64 " of %zu heap pages changed (the "
				 "first at 0x%" PRIx64 ")", changed, ft->nmarks, first);
		else
			snprintf(pages, sizeof(pages), "no heap page changed");
		if (count != in->gens[0].count)
			snprintf(young, sizeof(young), ", the young count went from %" PRId64
				 " to %" PRId64, in->gens[0].count, count);
		e = gci_snapshot_add_problem(
			snap, problems_cap, changed ? first : in->gc_state, "interpreter %" PRId64
			": the target ran during the walk (--no-stop): %s%s%s; the numbers mix "
			"two moments", in->id, pages, young, ts == ft->threads_head ? "" :
			", and the thread states changed");
		if (e)
			return e;
		in->gens[0].complete = in->permanent.complete = false;
	}
	return NULL;
}

/*
 * One collection: every one is of the whole heap, whatever generation
 * gc.collect() is given; it is named by the one gc.collect() passes (2).
 */
static const struct gci_collection collections_list[] = {
	{ "full", 2, false, true, "full collection (every collection is full here)" },
};

/*
 * -g N: gc.get_objects(generation=N) returns the whole heap for any N in
 * 0..2 in these builds (_PyGC_GetObjects ignores it); "heap" says so by
 * name; "permanent" is the frozen objects.
 */
static struct gci_error *select_lists(const struct gci_snapshot *snap,
				      const struct gci_interp *in, const char *which,
				      const struct gci_gen **ret, size_t *ret_n)
{
	*ret_n = 0;
	if (!strcmp(which, "0") || !strcmp(which, "1") || !strcmp(which, "2") ||
	    !strcmp(which, "heap")) {
		ret[(*ret_n)++] = &in->gens[0];
		return NULL;
	}
	if (!strcmp(which, "permanent")) {
		ret[(*ret_n)++] = &in->permanent;
		return NULL;
	}
	return gci_error_create(GCI_ERR_USAGE, "no list \"%s\" in free-threaded CPython %s "
				"(choose heap, permanent, or 0-2 as gc.get_objects(generation=N) "
				"takes it: the whole heap)", which, snap->version);
}

static struct gci_error *touch_pages(const struct gci_snapshot *snap, const struct gci_interp *in,
				     int generation, struct gci_pageset *ps, struct gci_touch *ret)
{
	const struct gci_gen *heap = &in->gens[0];
	struct ft_interp *ft = ft_of(snap, in);
	/* gci_touch_pages cleared ret and named the collection */
	ret->objects = heap->nobjects;
	ret->object_bytes = heap->bytes;
	bool ok = !heap->data || gci_pageset_merge(ps, &heap->data->pages);
	uint64_t header_pages = ok ? gci_pageset_count(ps) : 0;
	ok = ok && (!ft || gci_pageset_merge(ps, &ft->meta));
	uint64_t with_meta = ok ? gci_pageset_count(ps) : 0;
	uint64_t a, b;
	gci_snapshot_state_range(snap, in, &a, &b);
	ok = ok && gci_pageset_add_range(ps, a, b - a);
	if (!ok)
		return &gci_enomem;
	ret->pages = gci_pageset_count(ps);
	ret->meta_pages = with_meta - header_pages;
	ret->state_pages = ret->pages - with_meta;
	/* What-if: the per-object state a collection writes (ob_tid and the
	 * GC bits, as much as a GC head) kept densely in pages of its own. */
	ret->packed_pages = (ret->objects * 16 + 4095) / 4096 + ret->meta_pages +
			    ret->state_pages;
	if (ft && ft->stack_peak) {
		uint64_t chunks = (ft->stack_peak + STACK_CHUNK_OBJECTS - 1) / STACK_CHUNK_OBJECTS;
		ret->work_pages = (chunks * STACK_CHUNK_BYTES + 4095) / 4096;
	}
	return NULL;
}

/*
 * gc_should_collect (3.13): an allocation that flushes a thread's count
 * (every 512) schedules a collection when count > threshold, threshold is
 * not 0, the collector is enabled, and count > long_lived_total / 4 unless
 * generations[1].threshold is 0.  Each thread also holds up to 511
 * allocations not yet counted, which are not read.
 */
static void next_collection(const struct gci_snapshot *snap, const struct gci_interp *in,
			    struct gci_next_collection *ret)
{
	const struct gci_gen *g = &in->gens[0];
	struct ft_interp *ft = ft_of(snap, in);
	if (in->enabled == 0) {
		ret->reason = "the collector is disabled (gc.disable()): no automatic "
			      "collection until gc.enable()";
		return;
	}
	if (g->threshold < 0 || g->count < 0) {
		ret->reason = "unknown: the young threshold or count could not be read";
		return;
	}
	if (g->threshold == 0) {
		ret->reason = "threshold 0 disables automatic collection";
		return;
	}
	int64_t need = g->threshold - g->count + 1;
	const char *why = "every collection is of the whole heap; it is due once the count "
			  "(flushed by each thread every 512 allocations) exceeds the threshold";
	if (in->long_lived_total >= 0 && (!ft || ft->threshold1 != 0)) {
		int64_t scaled = in->long_lived_total / 4 - g->count + 1;
		if (scaled > need) {
			need = scaled;
			why = "every collection is of the whole heap; it waits until the count "
			      "also exceeds long_lived_total / 4 (the objects that survived the "
			      "last one)";
		}
	}
	ret->generation = collections_list[0].generation;
	ret->allocations = need > 0 ? need : 0;
	ret->reason = why;
}

static size_t collections(const struct gci_snapshot *snap, const struct gci_interp *in,
			  const struct gci_collection **ret)
{
	*ret = collections_list;
	return 1;
}

/*
 * As parts of the lists (for the types and the page list of the reports):
 * the heap's object headers.  The allocator metadata and the GC state it
 * writes as well are in touch_pages.
 */
static struct gci_error *touch_plan(const struct gci_snapshot *snap, const struct gci_interp *in,
				    int generation, struct gci_touch_plan *ret)
{
	ret->lists[ret->nlists++] = &in->gens[0];
	return NULL;
}

const struct gci_collector_kind gci_collector_freethreaded = {
	.name = "free-threaded",
	.enumerate = enumerate,
	.check_unchanged = check_unchanged,
	.select = select_lists,
	.collections = collections,
	.touch_pages = touch_pages,
	.touch_plan = touch_plan,
	.next_collection = next_collection,
	.destroy = destroy,
};
