/*
 * One object per line (gcinspect objects): a text row, or a line of NDJSON
 * (docs/json-schema.md, "objects").  Written by hand rather than through
 * json-c: ten million objects are ten million lines, and each costs one
 * formatted print here.
 */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "report_internal.h"

void gci_json_escape(const char *s, char *out, size_t cap, size_t *len)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = *len;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[8];
		size_t k = 0;
		unsigned char c = *p;
		if (c == '"' || c == '\\') {
			esc[k++] = '\\';
			esc[k++] = (char)c;
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			memcpy(esc, "\\u00", 4);
			k = 4;
			esc[k++] = hex[c >> 4];
			esc[k++] = hex[c & 15];
		} else {
			esc[k++] = (char)c;
		}
		for (size_t i = 0; i < k; i++, n++)
			if (n + 1 < cap)
				out[n] = esc[i];
	}
	if (cap)
		out[n < cap ? n : cap - 1] = '\0';
	*len = n;
}

const char *gci_object_format_header(bool page)
{
	return page ? "  address                 size    refcount  list       on page  type\n"
		    : "  address                 size    refcount  list       type\n";
}

/* Which part of the object lies on the page (NULL: none of it). */
static const char *on_page(const struct gci_object_info *obj, uint64_t page)
{
	uint64_t lo = page & ~(uint64_t)4095, hi = lo + 4096;
	if (obj->gc_head && obj->gc_head < hi && obj->address > lo)
		return "head";
	if (obj->start < hi && obj->end > lo)
		return "object";
	return NULL;
}

bool gci_object_on_page(const struct gci_object_info *obj, uint64_t page)
{
	return on_page(obj, page) != NULL;
}

size_t gci_object_format(const struct gci_snapshot *snap, const struct gci_object_info *obj,
			 enum gci_report_format format, const uint64_t *page, char *buf,
			 size_t size)
{
	const struct gci_type *t = &snap->types[obj->type];
	const char *where = page ? on_page(obj, *page) : NULL;
	char rc[24];
	int n;
	if (format == GCI_FORMAT_JSON) {
		if (obj->refcount >= 0)
			snprintf(rc, sizeof(rc), "%" PRId64, obj->refcount);
		else
			strcpy(rc, "null");
		n = snprintf(buf, size, "{\"address\": \"0x%" PRIx64 "\", \"type\": \"", obj->address);
		size_t len = n < 0 ? 0 : (size_t)n;
		gci_json_escape(t->name, buf, size, &len);
		char tail[256], interp[24];
		if (obj->interp && obj->interp->id >= 0)
			snprintf(interp, sizeof(interp), "%" PRId64, obj->interp->id);
		else
			strcpy(interp, "null");
		char list[48];
		size_t ll = 0;
		gci_json_escape(obj->list ? obj->list->name : "", list, sizeof(list), &ll);
		n = snprintf(tail, sizeof(tail), "\", \"type_address\": \"0x%" PRIx64 "\", "
			     "\"size\": %" PRIu32 ", \"refcount\": %s, \"generation\": \"%s\", "
			     "\"interpreter\": %s%s%s%s}\n", t->address, obj->size, rc, list,
			     interp, where ? ", \"on_page\": \"" : "", where ? where : "",
			     where ? "\"" : "");
		for (int i = 0; i < n && (size_t)i < sizeof(tail) - 1; i++, len++)
			if (len + 1 < size)
				buf[len] = tail[i];
		if (size)
			buf[len < size ? len : size - 1] = '\0';
		return len;
	}
	if (obj->refcount >= 0)
		snprintf(rc, sizeof(rc), "%" PRId64, obj->refcount);
	else
		strcpy(rc, "?");
	if (page)
		n = snprintf(buf, size, "  0x%-16" PRIx64 " %10" PRIu32 " %11s  %-10s %-8s %s\n",
			     obj->address, obj->size, rc, obj->list ? obj->list->name : "?",
			     where ? where : "-", t->name);
	else
		n = snprintf(buf, size, "  0x%-16" PRIx64 " %10" PRIu32 " %11s  %-10s %s\n",
			     obj->address, obj->size, rc, obj->list ? obj->list->name : "?",
			     t->name);
	return n < 0 ? 0 : (size_t)n;
}
