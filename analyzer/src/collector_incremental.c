/*
 * The incremental collector of CPython 3.14.0-3.14.4: a young list, two old
 * spaces (old[0], old[1]; which one has been visited in the current cycle is
 * visited_space) and the permanent generation, each a list of GC heads.
 *
 * Its touch model follows Python/gc.c of 3.14.4 (docs/touch-model.md,
 * "Incremental collector"): gc.collect(0) is gc_collect_young, gc.collect(1)
 * and every automatic collection gc_collect_increment, gc.collect(2)
 * gc_collect_full.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "snapshot.h"
#include "walker.h"

/* gc.c: SCAN_RATE_DIVISOR */
#define SCAN_RATE_DIVISOR 10
/* Inputs beyond this are not a collector's numbers (hostile memory). */
#define SANE_LIMIT ((int64_t)1 << 48)

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

/* gc.collect(generation=N) on these versions (_PyGC_Collect). */
enum { COLLECT_YOUNG = 0, COLLECT_INCREMENT = 1, COLLECT_FULL = 2 };

static const struct gci_collection collections_list[] = {
	{ "young", COLLECT_YOUNG, false, false, "young collection (gc.collect(0))" },
	{ "increment", COLLECT_INCREMENT, false, false,
	  "next automatic step, an increment (gc.collect(1) runs one too)" },
	{ "full", COLLECT_FULL, false, true, "full collection (gc.collect())" },
};

static size_t collections(const struct gci_snapshot *snap, const struct gci_interp *in,
			  const struct gci_collection **ret)
{
	*ret = collections_list;
	return sizeof(collections_list) / sizeof(collections_list[0]);
}

/* The lists by role; any may be NULL when the state could not be read. */
struct spaces {
	const struct gci_gen *young, *visited, *pending;
	size_t pending_index;      /* in->gens[] */
};

static void find_spaces(const struct gci_interp *in, struct spaces *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (in->ngens != 3)
		return;
	ret->young = &in->gens[0];
	if (in->visited_space == 0 || in->visited_space == 1) {
		ret->visited = &in->gens[1 + in->visited_space];
		ret->pending_index = 1 + (size_t)(1 - in->visited_space);
		ret->pending = &in->gens[ret->pending_index];
	}
}

/* What the next automatic step (gc_collect_increment) will do. */
enum step_kind { STEP_UNKNOWN, STEP_NOTHING, STEP_MARK, STEP_COLLECT };

struct step {
	enum step_kind kind;
	int64_t allocations;     /* net GC allocations until it runs */
	int64_t work;            /* work_to_do after assess_work_to_do */
	uint64_t pending_taken;  /* STEP_COLLECT: first objects of the pending list */
};

/*
 * The step runs when an allocation takes young.count past young.threshold
 * (_PyObject_GC_TRACK -> _Py_TriggerGC; the collection itself at the next
 * eval-breaker check, _Py_RunGC).  gc_collect_increment then adds
 * assess_work_to_do() to work_to_do: young.count plus a share of the heap,
 * heap_size / SCAN_RATE_DIVISOR / max(old[0].threshold, 2), at most twice
 * young.count.  If work_to_do is still negative it returns at once.  Else,
 * in the mark phase, it marks from the roots (mark_at_start); in the collect
 * phase it collects the young list plus objects of the pending list until
 * the increment holds work_to_do objects.
 *
 * The allocations until then are taken as net new tracked objects (young.count
 * and heap_size grow by as many); the step is modelled at the first moment
 * it can run.
 */
static void step_model(const struct gci_interp *in, struct step *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->allocations = -1;
	struct spaces sp;
	find_spaces(in, &sp);
	if (!sp.young)
		return;
	int64_t T = sp.young->threshold, c = sp.young->count, H = in->heap_size;
	int64_t s = in->gens[1].threshold;
	if (T < 0 || c < 0 || s < 0 || H < 0 || H > SANE_LIMIT || !in->has_work_to_do ||
	    in->work_to_do > SANE_LIMIT || in->work_to_do < -SANE_LIMIT || in->phase < 0 ||
	    !sp.pending)
		return;
	int64_t need = T - c + 1;
	ret->allocations = need > 0 ? need : 0;
	int64_t c1 = c > T ? c : T + 1;
	int64_t h1 = H + (c1 - c);
	if (s < 2)
		s = 2;
	int64_t fraction = h1 / SCAN_RATE_DIVISOR / s;
	if (fraction > 2 * c1)
		fraction = 2 * c1;
	ret->work = in->work_to_do + c1 + fraction;
	if (ret->work < 0) {
		ret->kind = STEP_NOTHING;
	} else if (in->phase == 0) {
		ret->kind = STEP_MARK;
	} else {
		ret->kind = STEP_COLLECT;
		int64_t k = ret->work - (int64_t)sp.young->nobjects;
		ret->pending_taken = k > 0 ? (uint64_t)k : 0;
	}
}

/*
 * The walk keeps the pages of the first objects of the pending list apart:
 * those the next step takes when it collects (after the young list, which
 * is walked first, so that its length is known).
 */
static uint64_t prefix(const struct gci_snapshot *snap, const struct gci_interp *in, size_t g)
{
	struct spaces sp;
	find_spaces(in, &sp);
	if (!sp.pending || g != sp.pending_index)
		return 0;
	struct step st;
	step_model(in, &st);
	return st.kind == STEP_COLLECT ? st.pending_taken : 0;
}

static struct gci_error *enumerate(struct gci_program *prog, struct gci_snapshot *snap,
				   const struct gci_layout *L, unsigned flags,
				   const struct gci_object_sink *sink, size_t *problems_cap)
{
	return gci_lists_enumerate(prog, snap, L, flags, prefix, sink, problems_cap);
}

static bool pending_exhausted(const struct spaces *sp)
{
	const struct gci_gen_data *d = sp->pending->data;
	return !d || d->prefix_objects >= sp->pending->nobjects;
}

static void add_tail(struct gci_touch_plan *plan, const struct gci_gen *gen)
{
	if (gen && gen->last_head && plan->nheads < sizeof(plan->heads) / sizeof(plan->heads[0]))
		plan->heads[plan->nheads++] = gen->last_head;
}

static void all_lists(const struct gci_interp *in, struct gci_touch_plan *plan)
{
	for (size_t g = 0; g < in->ngens && g < 3; g++)
		plan->lists[plan->nlists++] = &in->gens[g];
}

/*
 * gc_collect_young (gc.collect(0)): untrack_tuples, gc_list_set_space and
 * gc_collect_region write every young head; the survivors are merged onto
 * the visited list, whose last object is written.
 *
 * gc_collect_full (gc.collect()): the young list is merged onto the pending
 * one, gc_list_set_space rewrites their old-space bits, both are merged
 * onto the visited list, and gc_collect_region (update_refs,
 * subtract_refs, move_unreachable) writes every head of all three;
 * completed_scavenge then writes the same heads again or none.
 *
 * gc_collect_increment: see step_model and docs/touch-model.md.
 */
static struct gci_error *touch_plan(const struct gci_snapshot *snap, const struct gci_interp *in,
				    int generation, struct gci_touch_plan *ret)
{
	struct spaces sp;
	find_spaces(in, &sp);
	if (generation == COLLECT_FULL) {
		all_lists(in, ret);
		return NULL;
	}
	if (generation == COLLECT_YOUNG) {
		if (sp.young)
			ret->lists[ret->nlists++] = sp.young;
		if (sp.visited)
			add_tail(ret, sp.visited);
		else
			ret->approximation = "visited_space could not be read: the last object "
					     "of the visited list, which the merge writes, "
					     "is not counted";
		return NULL;
	}
	struct step st;
	step_model(in, &st);
	switch (st.kind) {
	case STEP_UNKNOWN:
		all_lists(in, ret);
		ret->approximation = "the collector's state (phase, visited_space, "
				     "work_to_do, counts) could not be read: at most every "
				     "head outside the permanent generation";
		break;
	case STEP_NOTHING:
		/* work_to_do < 0: young.count and work_to_do change, nothing else. */
		break;
	case STEP_MARK:
		/* mark_at_start: what is reachable from the roots and not yet
		 * visited is moved onto the visited list. */
		ret->lists[ret->nlists++] = sp.young;
		ret->lists[ret->nlists++] = sp.pending;
		add_tail(ret, sp.visited);
		ret->approximation = "an upper bound: the mark phase writes only the heads "
				     "of young and pending objects reachable from the roots "
				     "(sys, builtins, every frame), and their list "
				     "neighbours; gcinspect does not follow references, so "
				     "it counts every young and pending object";
		break;
	case STEP_COLLECT:
		ret->lists[ret->nlists++] = sp.young;
		ret->prefix = sp.pending;
		if (pending_exhausted(&sp) && in->has_permanent && in->permanent.nobjects) {
			/* completed_scavenge after gc.freeze(): the visited
			 * list is merged onto the pending one and every old
			 * head's space bit rewritten. */
			ret->lists[ret->nlists++] = sp.visited;
		} else {
			add_tail(ret, sp.visited);
		}
		/* Taking the whole pending list, what the objects reach adds
		 * nothing: the young ones are visited by then. */
		if (!pending_exhausted(&sp))
			ret->approximation = "a lower bound: the step takes the first objects "
					     "of the pending list in list order, and with each "
					     "one every not-yet-visited object it reaches, which "
					     "gcinspect does not follow";
		break;
	}
	return NULL;
}

/*
 * _PyGC_Freeze: gc_list_set_space rewrites the old-space bit of every young
 * object and of every object on the pending list, then gc_list_merge moves
 * the three lists onto the permanent one (writing the permanent list's last
 * object and the first and last object of each list merged).
 */
static bool freeze_plan(const struct gci_snapshot *snap, const struct gci_interp *in,
			struct gci_touch_plan *ret)
{
	struct spaces sp;
	find_spaces(in, &sp);
	if (!sp.young)
		return false;
	if (!sp.pending) {
		all_lists(in, ret);
		ret->approximation = "visited_space could not be read: at most every head "
				     "outside the permanent generation";
		return true;
	}
	ret->lists[ret->nlists++] = sp.young;
	ret->lists[ret->nlists++] = sp.pending;
	add_tail(ret, sp.visited);
	if (in->has_permanent)
		add_tail(ret, &in->permanent);
	return true;
}

static void describe_step(const struct gci_interp *in, const struct step *st,
			  struct gci_next_collection *ret);

/*
 * The next automatic step.  With the collector disabled (or a threshold of
 * 0) there is none, but the step fields still say what the next increment
 * would do (gc.collect(1), or gc.enable() and an allocation), as the touch
 * report's "increment" does.
 */
static void next_collection(const struct gci_snapshot *snap, const struct gci_interp *in,
			    struct gci_next_collection *ret)
{
	struct step st;
	step_model(in, &st);
	describe_step(in, &st, ret);
	if (in->enabled == 0) {
		ret->reason = "the collector is disabled (gc.disable()): no automatic "
			      "collection until gc.enable()";
		return;
	}
	if (in->ngens == 3 && in->gens[0].threshold == 0) {
		ret->reason = "young.threshold 0 disables automatic collection";
		return;
	}
	ret->generation = COLLECT_INCREMENT;
	ret->allocations = st.allocations;
}

static void describe_step(const struct gci_interp *in, const struct step *stp,
			  struct gci_next_collection *ret)
{
	ret->has_work_to_do = stp->kind != STEP_UNKNOWN;
	ret->work_to_do = stp->work;
	struct spaces sp;
	find_spaces(in, &sp);
	switch (stp->kind) {
	case STEP_UNKNOWN:
		ret->step = "unknown";
		ret->reason = "the collector's state (phase, visited_space, work_to_do, "
			      "counts) could not be read";
		break;
	case STEP_NOTHING:
		ret->step = "nothing";
		ret->reason = "work_to_do stays negative after this step's share "
			      "(assess_work_to_do): the step returns at once, writing only "
			      "the GC state, while the debt of the last mark phase is paid off";
		break;
	case STEP_MARK:
		ret->step = "mark";
		ret->reason = "phase mark, the first step of a cycle (mark_at_start): "
			      "everything young or pending that is reachable from the roots "
			      "(sys, builtins, every frame) is moved into the visited space; "
			      "nothing is collected";
		break;
	case STEP_COLLECT:
		ret->pending_objects = stp->pending_taken;
		if (!pending_exhausted(&sp)) {
			ret->step = "collect";
			ret->reason = "phase collect: the young list and the first objects "
				      "of the pending list, with what they reach, are collected "
				      "and merged into the visited space";
		} else {
			ret->step = "collect, ending the cycle";
			ret->reason = in->has_permanent && in->permanent.nobjects
				? "phase collect: the young list and the whole pending list "
				  "are collected, which ends the cycle (completed_scavenge); "
				  "with frozen objects the visited list is merged back onto "
				  "the pending one, rewriting every old head"
				: "phase collect: the young list and the whole pending list "
				  "are collected, which ends the cycle (completed_scavenge "
				  "flips visited_space)";
		}
		break;
	}
}

const struct gci_collector_kind gci_collector_incremental = {
	.name = "incremental",
	.enumerate = enumerate,
	.check_unchanged = gci_lists_check_unchanged,
	.select = select_lists,
	.collections = collections,
	.touch_pages = gci_lists_touch_pages,
	.touch_plan = touch_plan,
	.freeze_plan = freeze_plan,
	.next_collection = next_collection,
};
