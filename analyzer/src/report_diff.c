/*
 * gcinspect diff: two snapshots side by side.  The lists of the main
 * interpreters are matched by name ("0", "permanent", ...), and types by
 * name: type objects live at other addresses in another process, and a
 * name held by several type objects (two classes of one name) is one row,
 * their sum.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "report_internal.h"
#include "snapshot.h"

struct diff_row {
	const char *name;
	uint64_t objects[2], bytes[2];
};

struct diff {
	struct diff_row lists[2 * (GCI_MAX_GENS + 1)];
	size_t nlists;
	struct diff_row total;
	struct diff_row *types;
	size_t ntypes;
	char warning[256];
};

static int64_t delta(uint64_t a, uint64_t b)
{
	return (int64_t)(b - a);
}

static struct diff_row *list_row(struct diff *d, const char *name)
{
	for (size_t i = 0; i < d->nlists; i++)
		if (!strcmp(d->lists[i].name, name))
			return &d->lists[i];
	struct diff_row *r = &d->lists[d->nlists++];
	memset(r, 0, sizeof(*r));
	r->name = name;
	return r;
}

struct named_count {
	const char *name;
	int side;
	uint64_t objects, bytes;
};

static int by_name(const void *a, const void *b)
{
	const struct named_count *x = a, *y = b;
	return strcmp(x->name, y->name);
}

static int by_growth(const void *a, const void *b)
{
	const struct diff_row *x = a, *y = b;
	int64_t bx = delta(x->bytes[0], x->bytes[1]), by = delta(y->bytes[0], y->bytes[1]);
	if (bx != by)
		return bx > by ? -1 : 1;
	int64_t ox = delta(x->objects[0], x->objects[1]), oy = delta(y->objects[0], y->objects[1]);
	if (ox != oy)
		return ox > oy ? -1 : 1;
	/* Unchanged: the largest first. */
	if (x->bytes[1] != y->bytes[1])
		return x->bytes[1] > y->bytes[1] ? -1 : 1;
	return strcmp(x->name, y->name);
}

static struct gci_error *diff_compute(const struct gci_snapshot *const snap[2],
				      const char *which, struct diff *d)
{
	memset(d, 0, sizeof(*d));
	struct named_count *all = NULL;
	size_t nall = 0;
	for (int s = 0; s < 2; s++) {
		const struct gci_interp *in = &snap[s]->interps[0];
		const struct gci_gen *g;
		for (size_t i = 0; (g = gci_interp_list(in, i)); i++) {
			struct diff_row *r = list_row(d, g->name);
			r->objects[s] += g->nobjects;
			r->bytes[s] += g->bytes;
			d->total.objects[s] += g->nobjects;
			d->total.bytes[s] += g->bytes;
		}
		const struct gci_gen *sel[GCI_MAX_GENS + 1];
		size_t nsel, nt;
		struct gci_type_count *counts;
		struct gci_error *err = gci_select_lists(snap[s], in, which, sel, &nsel);
		if (err) {
			free(all);
			return gci_error_prefix(err, "%s: ", s ? "B" : "A");
		}
		if ((err = gci_type_histogram(snap[s], sel, nsel, &counts, &nt))) {
			free(all);
			return err;
		}
		struct named_count *more = gci_reallocarray(all, nall + nt + 1, sizeof(*all));
		if (!more) {
			free(counts);
			free(all);
			return &gci_enomem;
		}
		all = more;
		for (size_t i = 0; i < nt; i++)
			all[nall++] = (struct named_count){ snap[s]->types[counts[i].type].name, s,
							    counts[i].objects, counts[i].bytes };
		free(counts);
	}
	d->total.name = "total";
	qsort(all, nall, sizeof(*all), by_name);
	d->types = calloc(nall ? nall : 1, sizeof(*d->types));
	if (!d->types) {
		free(all);
		return &gci_enomem;
	}
	for (size_t i = 0; i < nall; i++) {
		if (!d->ntypes || strcmp(d->types[d->ntypes - 1].name, all[i].name))
			d->types[d->ntypes++].name = all[i].name;
		struct diff_row *r = &d->types[d->ntypes - 1];
		r->objects[all[i].side] += all[i].objects;
		r->bytes[all[i].side] += all[i].bytes;
	}
	free(all);
	qsort(d->types, d->ntypes, sizeof(*d->types), by_growth);
	if (strcmp(snap[0]->version, snap[1]->version) || snap[0]->debug_build != snap[1]->debug_build)
		snprintf(d->warning, sizeof(d->warning), "A runs CPython %s%s and B CPython %s%s: "
			 "lists and types are matched by name only", snap[0]->version,
			 snap[0]->debug_build ? " (debug)" : "", snap[1]->version,
			 snap[1]->debug_build ? " (debug)" : "");
	return NULL;
}

static json_object *row_json(const struct diff_row *r)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(r->name));
	json_object_object_add(o, "objects_a", json_object_new_int64((int64_t)r->objects[0]));
	json_object_object_add(o, "objects_b", json_object_new_int64((int64_t)r->objects[1]));
	json_object_object_add(o, "objects_delta",
			       json_object_new_int64(delta(r->objects[0], r->objects[1])));
	json_object_object_add(o, "bytes_a", json_object_new_int64((int64_t)r->bytes[0]));
	json_object_object_add(o, "bytes_b", json_object_new_int64((int64_t)r->bytes[1]));
	json_object_object_add(o, "bytes_delta",
			       json_object_new_int64(delta(r->bytes[0], r->bytes[1])));
	return o;
}

static json_object *side_json(const struct gci_snapshot *snap)
{
	json_object *side = gci_report_header_json(snap);
	json_object_object_del(side, "schema");
	json_object_object_del(side, "generator");  /* once, for the document */
	gci_report_add_integrity(snap, side);
	return side;
}

static struct gci_error *diff_json(const struct gci_snapshot *const snap[2],
				   const struct gci_report_options *opts,
				   const struct diff *d, char **ret)
{
	json_object *root = json_object_new_object();
	json_object *head = gci_report_header_json(snap[0]);
	json_object *gen = NULL;
	json_object_object_get_ex(head, "schema", &gen);
	json_object_object_add(root, "schema", json_object_get(gen));
	json_object_object_get_ex(head, "generator", &gen);
	json_object_object_add(root, "generator", json_object_get(gen));
	json_object_put(head);
	json_object_object_add(root, "a", side_json(snap[0]));
	json_object_object_add(root, "b", side_json(snap[1]));
	json_object_object_add(root, "generation", opts->generation ?
			       json_object_new_string(opts->generation) : NULL);
	json_object *lists = json_object_new_array();
	for (size_t i = 0; i < d->nlists; i++)
		json_object_array_add(lists, row_json(&d->lists[i]));
	json_object_object_add(root, "generations", lists);
	json_object_object_add(root, "total", row_json(&d->total));
	json_object *types = json_object_new_array();
	for (size_t i = 0; i < d->ntypes; i++)
		json_object_array_add(types, row_json(&d->types[i]));
	json_object_object_add(root, "types", types);
	json_object *w = json_object_new_array();
	if (d->warning[0])
		json_object_array_add(w, json_object_new_string(d->warning));
	json_object_object_add(root, "warnings", w);
	return gci_report_json_finish(root, ret);
}

static void fmt_delta(char *buf, size_t n, int64_t v)
{
	buf[0] = v < 0 ? '-' : v > 0 ? '+' : '\0';
	gci_report_fmt_count(buf + (v != 0), n - 1, v < 0 ? -v : v);
}

static void row_text(FILE *f, const struct diff_row *r, bool name_last)
{
	char c[6][32];
	gci_report_fmt_count(c[0], sizeof(c[0]), (int64_t)r->objects[0]);
	gci_report_fmt_count(c[1], sizeof(c[1]), (int64_t)r->objects[1]);
	fmt_delta(c[2], sizeof(c[2]), delta(r->objects[0], r->objects[1]));
	gci_report_fmt_count(c[3], sizeof(c[3]), (int64_t)r->bytes[0]);
	gci_report_fmt_count(c[4], sizeof(c[4]), (int64_t)r->bytes[1]);
	fmt_delta(c[5], sizeof(c[5]), delta(r->bytes[0], r->bytes[1]));
	if (name_last)
		fprintf(f, "  %11s %11s %11s %14s %14s %14s  %s\n", c[0], c[1], c[2], c[3],
			c[4], c[5], r->name);
	else
		fprintf(f, "  %-10s %11s %11s %11s %14s %14s %14s\n", r->name, c[0], c[1], c[2],
			c[3], c[4], c[5]);
}

static struct gci_error *diff_text(const struct gci_snapshot *const snap[2],
				   const struct gci_report_options *opts,
				   const struct diff *d, char **ret)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return &gci_enomem;
	for (int s = 0; s < 2; s++) {
		fprintf(f, "%s: ", s ? "B" : "A");
		gci_report_text_header(snap[s], f);
	}
	if (d->warning[0])
		fprintf(f, "warning: %s\n", d->warning);
	fprintf(f, "\nmain interpreter's lists:\n  %-10s %11s %11s %11s %14s %14s %14s\n",
		"list", "objects A", "objects B", "delta", "bytes A", "bytes B", "delta");
	for (size_t i = 0; i < d->nlists; i++)
		row_text(f, &d->lists[i], false);
	row_text(f, &d->total, false);
	fprintf(f, "\ntypes %s%s, largest growth (bytes, then objects) first:\n"
		"  %11s %11s %11s %14s %14s %14s  %s\n",
		opts->generation ? "of list " : "of every list",
		opts->generation ? opts->generation : "", "objects A", "objects B", "delta",
		"bytes A", "bytes B", "delta", "type");
	size_t shown = opts->limit && opts->limit < d->ntypes ? opts->limit : d->ntypes;
	for (size_t i = 0; i < shown; i++)
		row_text(f, &d->types[i], true);
	if (shown < d->ntypes)
		fprintf(f, "  ... %zu more types (--limit 0 shows all)\n", d->ntypes - shown);
	if (fclose(f) != 0) {
		free(buf);
		return &gci_enomem;
	}
	*ret = buf;
	return NULL;
}

struct gci_error *gci_report_diff(const struct gci_snapshot *a, const struct gci_snapshot *b,
				  const struct gci_report_options *opts, char **ret)
{
	const struct gci_snapshot *const snap[2] = { a, b };
	if (!a->ninterps || !b->ninterps)
		return gci_error_create(GCI_ERR_NOT_PYTHON, "no interpreter in %s",
					a->ninterps ? "B" : "A");
	struct diff d;
	struct gci_error *err = diff_compute(snap, opts->generation, &d);
	if (!err)
		err = opts->format == GCI_FORMAT_JSON ? diff_json(snap, opts, &d, ret)
						      : diff_text(snap, opts, &d, ret);
	free(d.types);
	return err;
}
