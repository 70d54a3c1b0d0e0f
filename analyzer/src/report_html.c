/*
 * gcinspect report: one self-contained HTML page for an incident write-up.
 *
 * The page is made from the JSON reports themselves (summary, touch, and
 * types of each list), parsed back and rendered as HTML tables here, so that
 * the page shows exactly the numbers `--json` gives; those documents are
 * embedded in the page too.  The page map is an SVG drawn here from the
 * lists' page sets.  Nothing is fetched: inline CSS, inline SVG, a few
 * lines of optional JavaScript (hovering the map).  Every string that comes
 * from the target (type names, paths, command lines) is HTML-escaped, and
 * the embedded JSON has <, > and & escaped, so no name can end an element.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "error.h"
#include "pageset.h"
#include "report_internal.h"
#include "snapshot.h"
#include "walker.h"

/* The page map: at most this many cells and rows of 64 cells; beyond, a
 * cell stands for 2, 4, 8, ... pages. */
#define MAP_MAX_CELLS 8192
#define MAP_MAX_ROWS 512
#define MAP_ROW_CELLS 64
#define CELL 10         /* px, cell pitch */
#define GAP 6           /* px, between rows that are not consecutive memory */
#define LABEL_W 118     /* px, address column */

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

static json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (o && json_object_is_type(o, json_type_object))
		json_object_object_get_ex(o, key, &v);
	return v;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v = jget(o, key);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* A number cell: 1,234; "-" for null or absent. */
static void num_cell(FILE *f, json_object *o, const char *key)
{
	json_object *v = jget(o, key);
	char buf[32];
	if (v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))) {
		if (json_object_is_type(v, json_type_double)) {
			snprintf(buf, sizeof(buf), "%.1f", json_object_get_double(v));
		} else {
			int64_t n = json_object_get_int64(v);
			if (n < 0) {
				buf[0] = '-';
				gci_report_fmt_count(buf + 1, sizeof(buf) - 1, -n);
			} else {
				gci_report_fmt_count(buf, sizeof(buf), n);
			}
		}
	} else if (v && json_object_is_type(v, json_type_boolean)) {
		snprintf(buf, sizeof(buf), "%s", json_object_get_boolean(v) ? "yes" : "no");
	} else {
		snprintf(buf, sizeof(buf), "-");
	}
	fprintf(f, "<td class=\"n\">%s</td>", buf);
}

static void str_cell(FILE *f, const char *s)
{
	fputs("<td>", f);
	esc(f, s ? s : "-");
	fputs("</td>", f);
}

static void dl_row(FILE *f, const char *key, const char *value)
{
	if (!value)
		return;
	fprintf(f, "<tr><th>%s</th><td>", key);
	esc(f, value);
	fputs("</td></tr>\n", f);
}

static const char style[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;"
	"max-width:1100px;padding:16px 24px;color:#1d1d1f;background:#fff}"
	"h1{font-size:22px;margin:4px 0 12px}h2{font-size:18px;margin:28px 0 8px;"
	"border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}"
	"table{border-collapse:collapse;margin:6px 0 10px}th,td{padding:3px 10px;"
	"border-bottom:1px solid #eee;text-align:left;vertical-align:top}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
	"thead th{background:#f4f4f6;font-weight:600}table.kv th{font-weight:600;color:#444}"
	".warn{background:#fff4e5;border-left:4px solid #f0a020;padding:6px 12px;margin:8px 0}"
	".bad{background:#fdecec;border-left:4px solid #d33;padding:6px 12px;margin:8px 0}"
	".note{color:#555}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;"
	"font-size:12.5px}details summary{cursor:pointer;color:#0b57d0;margin:4px 0}"
	"svg text{font:9px ui-monospace,Menlo,Consolas,monospace;fill:#555}"
	".legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;"
	"width:11px;height:11px;margin-right:4px;vertical-align:-1px;border:1px solid #0002}"
	"#mapinfo{min-height:1.4em;font-family:ui-monospace,Menlo,Consolas,monospace;"
	"font-size:12.5px;color:#333}"
	".c0{fill:#d62728;background:#d62728}.c1{fill:#ff7f0e;background:#ff7f0e}"
	".c2{fill:#f2c12e;background:#f2c12e}.c3{fill:#9467bd;background:#9467bd}"
	".cp{fill:#1f77b4;background:#1f77b4}.ce{fill:#eceef1;background:#eceef1}"
	".ss{fill:#2ca02c;background:#2ca02c}.sp{fill:#8c564b;background:#8c564b}"
	".sm{fill:#bcbd22;background:#bcbd22}.sa{fill:#c7c7c7;background:#c7c7c7}";

#define STR(x) #x
#define XSTR(x) STR(x)

/* Hover on a map: the cell's address and what it holds.  Optional. */
static const char script[] =
	"(function(){document.documentElement.classList.add('js');"
	"var info=document.getElementById('mapinfo');"
	"document.querySelectorAll('svg.map').forEach(function(svg){"
	"var unit=+svg.getAttribute('data-unit'),names=JSON.parse(svg.getAttribute('data-names'));"
	"svg.addEventListener('mousemove',function(e){var t=e.target,g=t.parentNode;"
	"if(!g||!g.getAttribute||!g.getAttribute('data-a')){return;}"
	"var r=svg.getBoundingClientRect(),col=Math.floor((e.clientX-r.left-" XSTR(LABEL_W) ")/"
	XSTR(CELL) ");if(col<0||col>=" XSTR(MAP_ROW_CELLS) "){return;}"
	"var page=(BigInt('0x'+g.getAttribute('data-a'))+BigInt(col*unit))*4096n;"
	"info.textContent='0x'+page.toString(16)+(unit>1?' (+'+unit*4+' KiB)':'')+': '+"
	"(names[t.getAttribute('class')]||'');});});})();";

/* The lists of the main interpreter, youngest first, and a class each. */
struct map_list {
	const struct gci_gen *gen;
	char cls[4];
};

struct map {
	uint64_t *pages;         /* every page holding GC heads, ascending */
	unsigned char *youngest; /* per page: index into lists */
	unsigned char *sharing;  /* per page: 0 shared, 1 private, 2 absent */
	size_t npages;
	struct map_list lists[GCI_MAX_GENS + 1];
	size_t nlists;
	unsigned shift;          /* a cell is 1 << shift pages */
	size_t ncells, nrows;
	bool sharing_known;
};

static void map_deinit(struct map *m)
{
	free(m->pages);
	free(m->youngest);
	free(m->sharing);
}

static struct gci_error *map_build(const struct gci_snapshot *snap, const struct gci_interp *in,
				   struct map *m)
{
	memset(m, 0, sizeof(*m));
	struct gci_pageset all;
	gci_pageset_init(&all);
	const struct gci_gen *g;
	bool ok = true;
	for (size_t i = 0; (g = gci_interp_list(in, i)) && ok; i++) {
		struct map_list *l = &m->lists[m->nlists++];
		l->gen = g;
		if (g == &in->permanent)
			strcpy(l->cls, "cp");
		else
			snprintf(l->cls, sizeof(l->cls), "c%zu", i < 3 ? i : 3);
		if (g->data)
			ok = gci_pageset_merge(&all, &g->data->pages);
	}
	ok = ok && gci_pageset_list(&all, &m->pages, &m->npages);
	gci_pageset_deinit(&all);
	if (!ok)
		return &gci_enomem;
	m->youngest = calloc(m->npages ? m->npages : 1, 1);
	m->sharing = calloc(m->npages ? m->npages : 1, 1);
	if (!m->youngest || !m->sharing)
		return &gci_enomem;
	const struct gci_pageset *shared, *exclusive;
	m->sharing_known = gci_snapshot_sharing(snap, &shared, &exclusive);
	for (size_t p = 0; p < m->npages; p++) {
		size_t y = 0;
		while (y < m->nlists && !(m->lists[y].gen->data &&
					  gci_pageset_has(&m->lists[y].gen->data->pages, m->pages[p])))
			y++;
		m->youngest[p] = (unsigned char)y;
		if (m->sharing_known)
			m->sharing[p] = gci_pageset_has(shared, m->pages[p]) ? 0 :
					gci_pageset_has(exclusive, m->pages[p]) ? 1 : 2;
	}
	/* The smallest cell that keeps the picture within bounds. */
	for (m->shift = 0;; m->shift++) {
		size_t cells = 0, rows = 0;
		uint64_t last_cell = UINT64_MAX, last_row = UINT64_MAX;
		for (size_t p = 0; p < m->npages; p++) {
			uint64_t c = m->pages[p] >> m->shift;
			if (c != last_cell)
				cells++;
			if (c / MAP_ROW_CELLS != last_row)
				rows++;
			last_cell = c;
			last_row = c / MAP_ROW_CELLS;
		}
		m->ncells = cells;
		m->nrows = rows;
		if ((cells <= MAP_MAX_CELLS && rows <= MAP_MAX_ROWS) || m->shift >= 40)
			break;
	}
	return NULL;
}

/* The class of a cell: the youngest list, or the sharing of its pages. */
static const char *cell_class(const struct map *m, size_t first, size_t end, bool sharing)
{
	if (!sharing) {
		unsigned char y = 255;
		for (size_t p = first; p < end; p++)
			if (m->youngest[p] < y)
				y = m->youngest[p];
		return y < m->nlists ? m->lists[y].cls : "ce";
	}
	size_t n[3] = { 0, 0, 0 };
	for (size_t p = first; p < end; p++)
		n[m->sharing[p]]++;
	size_t all = end - first;
	return n[0] == all ? "ss" : n[1] == all ? "sp" : n[2] == all ? "sa" : "sm";
}

static void map_svg(FILE *f, const struct map *m, bool sharing)
{
	int width = LABEL_W + MAP_ROW_CELLS * CELL;
	size_t gaps = 0;
	uint64_t prev = UINT64_MAX;
	for (size_t p = 0; p < m->npages; p++) {
		uint64_t row = (m->pages[p] >> m->shift) / MAP_ROW_CELLS;
		if (prev != UINT64_MAX && row != prev && row != prev + 1)
			gaps++;
		prev = row;
	}
	int height = (int)m->nrows * CELL + (int)gaps * GAP;
	fprintf(f, "<svg class=\"map\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\" data-unit=\"%llu\" data-names=\"{", width,
		height, width, height, 1ULL << m->shift);
	if (!sharing) {
		for (size_t i = 0; i < m->nlists; i++) {
			fprintf(f, "&quot;%s&quot;:&quot;GC heads of list ", m->lists[i].cls);
			esc(f, m->lists[i].gen->name);
			fputs(" (the youngest here)&quot;,", f);
		}
		fputs("&quot;ce&quot;:&quot;no GC heads&quot;}\"", f);
	} else {
		fputs("&quot;ss&quot;:&quot;still shared with another process&quot;,"
		      "&quot;sp&quot;:&quot;private to this process&quot;,"
		      "&quot;sm&quot;:&quot;some pages shared, some private&quot;,"
		      "&quot;sa&quot;:&quot;not in memory (never touched, or swapped out)&quot;,"
		      "&quot;ce&quot;:&quot;no GC heads&quot;}\"", f);
	}
	fputs(" role=\"img\">\n", f);
	size_t p = 0;
	int y = 0;
	uint64_t last_row = UINT64_MAX;
	while (p < m->npages) {
		uint64_t row = (m->pages[p] >> m->shift) / MAP_ROW_CELLS;
		uint64_t base_page = (row * MAP_ROW_CELLS) << m->shift;
		if (last_row != UINT64_MAX && row != last_row + 1)
			y += GAP;  /* memory without GC heads in between */
		last_row = row;
		/* data-a: the row's first page number, for the hover script */
		fprintf(f, "<g data-a=\"%llx\"><text x=\"0\" y=\"%d\">0x%llx</text>",
			(unsigned long long)base_page, y + CELL - 2,
			(unsigned long long)(base_page << GCI_PAGE_SHIFT));
		/* The row: a background (no GC heads), then for each class one
		 * path of its runs of cells (a few bytes a run, however big the
		 * heap: at most MAP_MAX_CELLS cells in all). */
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"ce\"/>",
			LABEL_W, y, MAP_ROW_CELLS * CELL - 1, CELL - 1);
		const char *cls[MAP_ROW_CELLS];
		for (int col = 0; col < MAP_ROW_CELLS; col++) {
			uint64_t cell = row * MAP_ROW_CELLS + (uint64_t)col;
			size_t q = p;
			while (q < m->npages && (m->pages[q] >> m->shift) == cell)
				q++;
			cls[col] = q > p ? cell_class(m, p, q, sharing) : NULL;
			p = q;
		}
		for (int first = 0; first < MAP_ROW_CELLS; first++) {
			const char *c = cls[first];
			bool seen = !c;
			for (int k = 0; k < first && !seen; k++)
				seen = cls[k] && !strcmp(cls[k], c);
			if (seen)
				continue;
			fprintf(f, "<path class=\"%s\" d=\"", c);
			for (int col = first; col < MAP_ROW_CELLS;) {
				if (!cls[col] || strcmp(cls[col], c)) {
					col++;
					continue;
				}
				int end = col;
				while (end < MAP_ROW_CELLS && cls[end] && !strcmp(cls[end], c))
					end++;
				int w = (end - col) * CELL - 1;
				fprintf(f, "M%d %dh%dv%dh-%dz", LABEL_W + col * CELL, y, w, CELL - 1, w);
				col = end;
			}
			fputs("\"/>", f);
		}
		fputs("</g>\n", f);
		y += CELL;
	}
	fputs("</svg>\n", f);
}

static void map_section(FILE *f, const struct map *m, json_object *touch)
{
	fputs("<h2 id=\"pagemap\">Page map</h2>\n", f);
	if (!m->npages) {
		fputs("<p class=\"note\">No GC heads: nothing to draw.</p>\n", f);
		return;
	}
	uint64_t counts[GCI_MAX_GENS + 1] = { 0 };
	for (size_t p = 0; p < m->npages; p++)
		counts[m->youngest[p]]++;
	char a[32], b[32];
	gci_report_fmt_count(a, sizeof(a), (int64_t)m->npages);
	fprintf(f, "<p>The %s pages (4 KiB) of the main interpreter that hold GC heads, in "
		"address order: each row is %d cells of consecutive memory, rows without GC "
		"heads are left out. A cell is coloured by the <b>youngest</b> list whose GC "
		"heads it holds: a collection of generation N writes every page coloured 0 to "
		"N (and its GC state); the permanent generation (<code>gc.freeze()</code>) is "
		"never written by a collection.", a, MAP_ROW_CELLS);
	if (m->shift) {
		gci_report_fmt_count(b, sizeof(b), (int64_t)m->ncells);
		fprintf(f, " <b>Aggregated:</b> one cell stands for %llu pages (%llu KiB), so "
			"that the map keeps at most %d cells and %d rows (%s cells here); it takes "
			"the colour of the youngest list among its pages.", 1ULL << m->shift,
			4ULL << m->shift, MAP_MAX_CELLS, MAP_MAX_ROWS, b);
	} else {
		fputs(" One cell per page.", f);
	}
	json_object *wi = jget(touch, "what_if");
	json_object *fz = jget(wi, "freeze_now");
	json_object *cols = jget(touch, "collections");
	size_t nc = cols && json_object_is_type(cols, json_type_array) ?
		json_object_array_length(cols) : 0;
	if (fz && nc) {
		json_object *full = json_object_array_get_idx(cols, nc - 1);
		json_object *pg = jget(full, "pages"), *fp = jget(fz, "pages");
		if (pg && fp) {
			gci_report_fmt_count(a, sizeof(a), json_object_get_int64(pg));
			gci_report_fmt_count(b, sizeof(b), json_object_get_int64(fp));
			fprintf(f, " A full collection writes %s pages now; after "
				"<code>gc.freeze()</code> it would write %s.", a, b);
		}
	}
	fputs("</p>\n<p class=\"legend\">", f);
	for (size_t i = 0; i < m->nlists; i++) {
		fprintf(f, "<span><i class=\"%s\"></i>", m->lists[i].cls);
		esc(f, m->lists[i].gen->name);
		fputs("</span>", f);
	}
	fputs("<span><i class=\"ce\"></i>no GC heads</span></p>\n", f);
	fputs("<table id=\"pagemap-counts\"><thead><tr><th>youngest list on the page</th>"
	      "<th>pages</th></tr></thead><tbody>\n", f);
	for (size_t i = 0; i < m->nlists; i++) {
		gci_report_fmt_count(a, sizeof(a), (int64_t)counts[i]);
		fprintf(f, "<tr data-list=\"");
		esc(f, m->lists[i].gen->name);
		fputs("\"><td>", f);
		esc(f, m->lists[i].gen->name);
		fprintf(f, "</td><td class=\"n\">%s</td></tr>\n", a);
	}
	gci_report_fmt_count(a, sizeof(a), (int64_t)m->npages);
	fprintf(f, "<tr data-list=\"\"><th>every page with GC heads</th><td class=\"n\">%s</td>"
		"</tr>\n</tbody></table>\n<div id=\"mapinfo\"></div>\n", a);
	map_svg(f, m, false);
	if (m->sharing_known) {
		uint64_t sh[3] = { 0, 0, 0 };
		for (size_t p = 0; p < m->npages; p++)
			sh[m->sharing[p]]++;
		fputs("<h3>Shared or private (live process)</h3>\n<p>The same pages, coloured "
		      "by <code>/proc/PID/pagemap</code> at the snapshot: a page still shared "
		      "with another process (a pre-fork master and its workers) is copied when "
		      "a collection writes it.</p>\n<p class=\"legend\"><span><i class=\"ss\">"
		      "</i>shared</span><span><i class=\"sp\"></i>private</span><span><i "
		      "class=\"sm\"></i>mixed (aggregated cells)</span><span><i class=\"sa\">"
		      "</i>not in memory</span></p>\n<table id=\"pagemap-sharing\"><thead><tr>"
		      "<th>pages</th><th>count</th></tr></thead><tbody>\n", f);
		static const char *const names[] = { "shared", "private", "not in memory" };
		for (int i = 0; i < 3; i++) {
			gci_report_fmt_count(a, sizeof(a), (int64_t)sh[i]);
			fprintf(f, "<tr><td>%s</td><td class=\"n\">%s</td></tr>\n", names[i], a);
		}
		fputs("</tbody></table>\n", f);
		map_svg(f, m, true);
	}
}

static void header_section(FILE *f, json_object *summary)
{
	json_object *t = jget(summary, "target"), *py = jget(summary, "python");
	fputs("<table class=\"kv\" id=\"target\">\n", f);
	dl_row(f, "target", jstr(t, "path"));
	dl_row(f, "kind", jstr(t, "kind"));
	json_object *pid = jget(t, "pid");
	if (pid) {
		char b[32];
		snprintf(b, sizeof(b), "%" PRId64, json_object_get_int64(pid));
		dl_row(f, "pid", b);
	}
	dl_row(f, "command", jstr(t, "command"));
	dl_row(f, "command line", jstr(t, "args"));
	dl_row(f, "signal", jstr(t, "signal_name"));
	json_object *st = jget(t, "stopped_ms");
	if (st) {
		char b[48];
		snprintf(b, sizeof(b), "%.1f ms (every thread, for the walk)",
			 json_object_get_double(st));
		dl_row(f, "stopped", b);
	}
	char v[96];
	snprintf(v, sizeof(v), "%s%s", jstr(py, "version") ? jstr(py, "version") : "?",
		 json_object_get_boolean(jget(py, "debug_build")) ? " (debug build)" : "");
	dl_row(f, "Python", v);
	dl_row(f, "version from", jstr(py, "version_source"));
	dl_row(f, "layout", jstr(py, "layout_name"));
	json_object *when = jget(summary, "snapshot");
	if (jstr(when, "time")) {
		char b[96];
		snprintf(b, sizeof(b), "%s (%s)", jstr(when, "time"),
			 jstr(when, "time_source") ? jstr(when, "time_source") : "?");
		dl_row(f, "snapshot", b);
	}
	json_object *gen = jget(summary, "generator");
	char by[320];
	snprintf(by, sizeof(by), "gcinspect %s%s%s", jstr(gen, "version") ? jstr(gen, "version") :
		 GCI_VERSION_STRING, jstr(gen, "host") ? " on " : "",
		 jstr(gen, "host") ? jstr(gen, "host") : "");
	dl_row(f, "report by", by);
	fputs("</table>\n", f);

	json_object *w = jget(summary, "warnings");
	for (size_t i = 0; w && i < json_object_array_length(w); i++) {
		fputs("<p class=\"warn\">warning: ", f);
		esc(f, json_object_get_string(json_object_array_get_idx(w, i)));
		fputs("</p>\n", f);
	}
	json_object *probs = jget(jget(summary, "integrity"), "problems");
	size_t np = probs ? json_object_array_length(probs) : 0;
	if (np) {
		fprintf(f, "<div class=\"bad\"><b>Partial result:</b> %zu integrity problem%s "
			"(a list could not be walked to its end):<ul>\n", np, np == 1 ? "" : "s");
		for (size_t i = 0; i < np; i++) {
			json_object *p = json_object_array_get_idx(probs, i);
			fputs("<li><code>", f);
			esc(f, jstr(p, "address"));
			fputs("</code>: ", f);
			esc(f, jstr(p, "message"));
			fputs("</li>\n", f);
		}
		fputs("</ul></div>\n", f);
	}
}

static void summary_section(FILE *f, json_object *summary)
{
	fputs("<h2 id=\"summary\">Generations</h2>\n", f);
	json_object *interps = jget(summary, "interpreters");
	size_t n = interps ? json_object_array_length(interps) : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *in = json_object_array_get_idx(interps, i);
		json_object *id = jget(in, "id");
		fprintf(f, "<h3>interpreter %s%s at <code>", id ? json_object_get_string(id) : "?",
			i == 0 ? " (main)" : "");
		esc(f, jstr(in, "address"));
		json_object *en = jget(in, "enabled");
		fprintf(f, "</code>: collector %s, ", !en ? "state unknown" :
			json_object_get_boolean(en) ? "enabled" : "<b>disabled</b>");
		esc(f, jstr(in, "collector"));
		fputs("</h3>\n", f);
		fprintf(f, "<table class=\"summary\" id=\"summary-%zu\"><thead><tr><th>list</th>"
			"<th>threshold</th><th>count</th><th>objects</th><th>bytes</th>"
			"<th>pages</th></tr></thead><tbody>\n", i);
		json_object *gens = jget(in, "generations");
		size_t ng = gens ? json_object_array_length(gens) : 0;
		for (size_t g = 0; g <= ng; g++) {
			json_object *gen = g < ng ? json_object_array_get_idx(gens, g)
						  : jget(in, "permanent");
			if (!gen)
				continue;
			fputs("<tr data-list=\"", f);
			esc(f, jstr(gen, "name"));
			fputs("\"><th>", f);
			esc(f, jstr(gen, "name"));
			if (jget(gen, "complete") && !json_object_get_boolean(jget(gen, "complete")))
				fputs(" (incomplete)", f);
			fputs("</th>", f);
			num_cell(f, gen, "threshold");
			num_cell(f, gen, "count");
			num_cell(f, gen, "objects");
			num_cell(f, gen, "bytes");
			num_cell(f, gen, "pages");
			fputs("</tr>\n", f);
		}
		fputs("</tbody></table>\n", f);
	}
	fputs("<p class=\"note\">objects and bytes: what gcinspect found on each list "
	      "(bytes: each object's basic size and items, its GC head and pre-header, not "
	      "the memory it owns elsewhere); pages: distinct 4 KiB pages holding the list's "
	      "GC heads.</p>\n", f);
}

static void touch_section(FILE *f, json_object *touch, const char *why_not)
{
	fputs("<h2 id=\"collections\">What each collection would write</h2>\n", f);
	if (!touch) {
		fputs("<p class=\"note\">", f);
		esc(f, why_not);
		fputs("</p>\n", f);
		return;
	}
	json_object *cols = jget(touch, "collections");
	size_t n = cols ? json_object_array_length(cols) : 0;
	bool sharing = n && jget(json_object_array_get_idx(cols, 0), "sharing");
	fprintf(f, "<table id=\"collections-table\"><thead><tr><th>collection of "
		"generation</th><th>GC heads written</th><th>their bytes</th><th>pages written"
		"</th><th>KiB</th><th>of which GC state</th><th>if heads were packed</th>%s"
		"</tr></thead><tbody>\n", sharing ? "<th>still shared (copied)</th><th>private"
		"</th><th>not in memory</th>" : "");
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(cols, i);
		fprintf(f, "<tr data-generation=\"%s\"><th>%s</th>",
			json_object_get_string(jget(c, "generation")),
			json_object_get_string(jget(c, "generation")));
		num_cell(f, c, "objects");
		num_cell(f, c, "object_bytes");
		num_cell(f, c, "pages");
		char kib[32];
		gci_report_fmt_count(kib, sizeof(kib), json_object_get_int64(jget(c, "bytes")) / 1024);
		fprintf(f, "<td class=\"n\">%s</td>", kib);
		num_cell(f, c, "state_pages");
		num_cell(f, c, "packed_pages");
		if (sharing) {
			json_object *s = jget(c, "sharing");
			num_cell(f, s, "shared_pages");
			num_cell(f, s, "exclusive_pages");
			num_cell(f, s, "absent_pages");
		}
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n<p class=\"note\">A collection of generation N writes the "
	      "GC head of every object in generations 0 to N, the last object of generation "
	      "N+1 (the merge) and the GC state (docs/touch-model.md).</p>\n", f);
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(cols, i);
		json_object *top = jget(c, "top_types");
		size_t nt = top ? json_object_array_length(top) : 0;
		if (!nt)
			continue;
		fprintf(f, "<details><summary>types holding the most pages a collection of "
			"generation %s writes</summary><table class=\"toptypes\" "
			"data-generation=\"%s\"><thead><tr><th>pages</th><th>objects</th><th>type"
			"</th></tr></thead><tbody>\n", json_object_get_string(jget(c, "generation")),
			json_object_get_string(jget(c, "generation")));
		for (size_t k = 0; k < nt; k++) {
			json_object *e = json_object_array_get_idx(top, k);
			fputs("<tr>", f);
			num_cell(f, e, "pages");
			num_cell(f, e, "objects");
			str_cell(f, jstr(e, "name"));
			fputs("</tr>\n", f);
		}
		fputs("</tbody></table></details>\n", f);
	}
	json_object *wi = jget(touch, "what_if");
	json_object *fz = jget(wi, "freeze_now"), *nc = jget(wi, "next_collection");
	fputs("<h3>What if</h3>\n<table class=\"kv\" id=\"whatif\">\n", f);
	fputs("<tr data-key=\"freeze_pages\"><th>gc.freeze() now: pages a full collection "
	      "would write</th>", f);
	num_cell(f, fz, "pages");
	fputs("</tr>\n<tr data-key=\"freeze_pages_saved\"><th>pages it would no longer "
	      "write</th>", f);
	num_cell(f, fz, "pages_saved");
	fputs("</tr>\n", f);
	if (jget(fz, "shared_pages_kept")) {
		fputs("<tr data-key=\"freeze_shared_kept\"><th>shared pages that would stay "
		      "shared</th>", f);
		num_cell(f, fz, "shared_pages_kept");
		fputs("</tr>\n", f);
	}
	fputs("<tr data-key=\"next_generation\"><th>next automatic collection: "
	      "generation</th>", f);
	num_cell(f, nc, "generation");
	fputs("</tr>\n<tr data-key=\"next_allocations\"><th>after this many more net GC "
	      "allocations</th>", f);
	num_cell(f, nc, "allocations");
	fputs("</tr>\n<tr data-key=\"next_reason\"><th>why</th>", f);
	str_cell(f, jstr(nc, "reason"));
	fputs("</tr>\n</table>\n", f);
	json_object *sm = jget(touch, "smaps");
	if (sm) {
		fputs("<h3>Memory of the mappings holding GC heads (smaps, kB)</h3>\n"
		      "<table class=\"kv\" id=\"smaps\">\n", f);
		static const char *const keys[] = { "mappings", "rss_kb", "shared_clean_kb",
						    "shared_dirty_kb", "private_clean_kb",
						    "private_dirty_kb" };
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			fprintf(f, "<tr data-key=\"%s\"><th>%s</th>", keys[k], keys[k]);
			num_cell(f, sm, keys[k]);
			fputs("</tr>\n", f);
		}
		fputs("</table>\n", f);
	}
}

static void type_rows(FILE *f, json_object *arr, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		fputs("<tr>", f);
		num_cell(f, e, "objects");
		num_cell(f, e, "bytes");
		str_cell(f, jstr(e, "name"));
		fputs("<td class=\"mono\">", f);
		esc(f, jstr(e, "address"));
		fputs("</td></tr>\n", f);
	}
}

static void types_section(FILE *f, const struct map *m, json_object *const *types, size_t limit)
{
	fputs("<h2 id=\"types\">Types on each list</h2>\n<p class=\"note\">Objects and bytes "
	      "per type, largest first; a type is named as the target holds it, with the "
	      "address of its type object.</p>\n", f);
	static const char head[] = "<thead><tr><th>objects</th><th>bytes</th><th>type</th>"
				   "<th>type object</th></tr></thead><tbody>\n";
	for (size_t l = 0; l < m->nlists; l++) {
		json_object *arr = jget(types[l], "types");
		size_t n = arr ? json_object_array_length(arr) : 0;
		const char *name = m->lists[l].gen->name;
		fputs("<h3>list ", f);
		esc(f, name);
		fprintf(f, ": %zu type%s</h3>\n", n, n == 1 ? "" : "s");
		if (!n) {
			fputs("<p class=\"note\">no objects</p>\n", f);
			continue;
		}
		size_t shown = limit && limit < n ? limit : n;
		fputs("<table class=\"types\" data-list=\"", f);
		esc(f, name);
		fprintf(f, "\">%s", head);
		type_rows(f, arr, 0, shown);
		fputs("</tbody></table>\n", f);
		if (shown < n) {
			fprintf(f, "<details><summary>%zu more types</summary><table class=\"types\" "
				"data-list=\"", n - shown);
			esc(f, name);
			fprintf(f, "\" data-more=\"1\">%s", head);
			type_rows(f, arr, shown, n);
			fputs("</tbody></table></details>\n", f);
		}
	}
}

/* A JSON report of snap, parsed back. */
static struct gci_error *report_tree(const struct gci_snapshot *snap, enum gci_report_kind kind,
				     const char *generation, json_object **ret)
{
	struct gci_report_options o = { .kind = kind, .format = GCI_FORMAT_JSON,
					.generation = generation };
	char *text;
	struct gci_error *err = gci_report(snap, &o, &text);
	if (err)
		return err;
	*ret = json_tokener_parse(text);
	free(text);
	return *ret ? NULL : gci_error_create(GCI_ERR_OTHER, "the JSON report could not be "
					      "read back");
}

/* The embedded documents, with <, > and & escaped inside their strings. */
static void embed_json(FILE *f, json_object *data)
{
	const char *s = json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN);
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("\\u003c", f); break;
		case '>': fputs("\\u003e", f); break;
		case '&': fputs("\\u0026", f); break;
		default: fputc(*s, f);
		}
	}
}

struct gci_error *gci_report_html(const struct gci_snapshot *snap,
				  const struct gci_report_options *opts, char **ret)
{
	if (snap->ninterps == 0)
		return gci_error_create(GCI_ERR_NOT_PYTHON, "no interpreter in the snapshot");
	const struct gci_interp *in = &snap->interps[0];
	json_object *summary = NULL, *touch = NULL, *types[GCI_MAX_GENS + 1] = { NULL };
	struct map m;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = NULL;
	char why_not[512] = "";
	struct gci_error *err = report_tree(snap, GCI_REPORT_SUMMARY, NULL, &summary);
	if (!err) {
		err = report_tree(snap, GCI_REPORT_TOUCH, NULL, &touch);
		/* A collector kind without a touch model: the page says so
		 * instead. */
		if (err && err->code == GCI_ERR_UNSUPPORTED) {
			snprintf(why_not, sizeof(why_not), "%s", err->message);
			gci_error_destroy(err);
			err = NULL;
			touch = NULL;
		}
	}
	if (!err)
		err = map_build(snap, in, &m);
	else
		memset(&m, 0, sizeof(m));
	for (size_t l = 0; !err && l < m.nlists; l++)
		err = report_tree(snap, GCI_REPORT_TYPES, m.lists[l].gen->name, &types[l]);
	if (!err && !(f = open_memstream(&buf, &len)))
		err = &gci_enomem;
	if (!err) {
		json_object *t = jget(summary, "target");
		fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		      "<meta name=\"generator\" content=\"gcinspect " GCI_VERSION_STRING "\">\n"
		      "<title>gcinspect: ", f);
		esc(f, jstr(t, "path"));
		fprintf(f, "</title>\n<style>%s</style>\n</head><body>\n<h1>gcinspect: ", style);
		esc(f, jstr(t, "path"));
		fputs("</h1>\n<p class=\"note\"><a href=\"#summary\">generations</a> · <a "
		      "href=\"#collections\">collections</a> · <a href=\"#pagemap\">page map</a> · "
		      "<a href=\"#types\">types</a> · the JSON documents this page was made from "
		      "are in it (<code>script#gcinspect-data</code>)</p>\n", f);
		header_section(f, summary);
		summary_section(f, summary);
		touch_section(f, touch, why_not);
		map_section(f, &m, touch);
		types_section(f, &m, types, opts->limit);
		json_object *data = json_object_new_object();
		json_object_object_add(data, "summary", json_object_get(summary));
		json_object_object_add(data, "touch", touch ? json_object_get(touch) : NULL);
		json_object *td = json_object_new_object();
		for (size_t l = 0; l < m.nlists; l++)
			json_object_object_add(td, m.lists[l].gen->name, json_object_get(types[l]));
		json_object_object_add(data, "types", td);
		fputs("<script type=\"application/json\" id=\"gcinspect-data\">", f);
		embed_json(f, data);
		json_object_put(data);
		fprintf(f, "</script>\n<script>%s</script>\n</body></html>\n", script);
		if (fclose(f) != 0)
			err = &gci_enomem;
		f = NULL;
	}
	if (f)
		fclose(f);
	if (err) {
		free(buf);
	} else {
		*ret = buf;
	}
	map_deinit(&m);
	json_object_put(summary);
	json_object_put(touch);
	for (size_t l = 0; l < GCI_MAX_GENS + 1; l++)
		json_object_put(types[l]);
	return err;
}
