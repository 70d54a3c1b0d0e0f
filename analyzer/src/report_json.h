/*
 * The pieces of the JSON reports of report.c, for reports over several
 * snapshots (server_report.c): the same keys in the same shape.
 */
#ifndef GCI_REPORT_JSON_H
#define GCI_REPORT_JSON_H

#include <json-c/json.h>

#include "gcinspect.h"

/* A document's "schema", "target" and "python". */
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
/* "warnings" and "integrity", added to root. */
void gci_report_add_integrity(const struct gci_snapshot *snap, json_object *root);

#endif
