/*
 * What the report modules share: report.c (summary, types, touch),
 * report_objects.c (one object per line), report_diff.c (two snapshots),
 * report_html.c (the HTML page).
 */
#ifndef GCI_REPORT_INTERNAL_H
#define GCI_REPORT_INTERNAL_H

#include <json-c/json.h>
#include <stdio.h>

#include "gcinspect.h"

/*
 * The pieces of report.c's JSON documents, for the reports over one or
 * several snapshots (report_diff.c, server_report.c): the same keys in the
 * same shape.
 */
/* "schema", "target" and "python" of a snapshot, in a new object. */
json_object *gci_report_header_json(const struct gci_snapshot *snap);
/* An INTERPRETER object (summary's "gc"). */
json_object *gci_report_interp_json(const struct gci_snapshot *snap,
				    const struct gci_interp *in, struct gci_error **err);
/* One entry of touch's "collections" (without the page list). */
json_object *gci_report_touch_json(const struct gci_snapshot *snap,
				   const struct gci_interp *in, const struct gci_collection *c,
				   struct gci_error **err);
/* touch's "what_if". */
json_object *gci_report_what_if_json(const struct gci_snapshot *snap,
				     const struct gci_interp *in, struct gci_error **err);
/* Add "warnings" and "integrity" to root. */
void gci_report_add_integrity(const struct gci_snapshot *snap, json_object *root);
/* root as JSON text (json-c's flags; no escaped slashes) with a newline;
 * root is released. */
struct gci_error *gci_report_json_string(json_object *root, int flags, char **ret);
/* The same, pretty (what every document of report.c is). */
struct gci_error *gci_report_json_finish(json_object *root, char **ret);
/* 1234567 as "1,234,567"; negative as "-". */
void gci_report_fmt_count(char *buf, size_t n, int64_t v);
/* The lines naming the target, the Python version and the layout. */
void gci_report_text_header(const struct gci_snapshot *snap, FILE *f);

/*
 * Append s to out (at *len of cap bytes, NUL-terminated when room) as the
 * body of a JSON string: quotes, backslashes, control characters and
 * <, >, & escaped (the text can then sit inside an HTML <script>).
 */
void gci_json_escape(const char *s, char *out, size_t cap, size_t *len);

#endif
