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

/* Appending to a line without printf: ten million lines add up. */
struct line {
	char *buf;
	size_t size, len;
};

static void put(struct line *l, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, l->len++)
		if (l->len + 1 < l->size)
			l->buf[l->len] = s[i];
}

static void put_str(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void put_hex(struct line *l, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[sizeof(tmp) - 1 - n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	put(l, "0x", 2);
	put(l, tmp + sizeof(tmp) - n, n);
}

static void put_dec(struct line *l, int64_t v)
{
	char tmp[24];
	size_t n = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[sizeof(tmp) - 1 - n++] = '-';
	put(l, tmp + sizeof(tmp) - n, n);
}

static void put_json_str(struct line *l, const char *s)
{
	put(l, "\"", 1);
	gci_json_escape(s, l->buf, l->size, &l->len);
	put(l, "\"", 1);
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
		struct line l = { buf, size, 0 };
		put_str(&l, "{\"address\": \"");
		put_hex(&l, obj->address);
		put_str(&l, "\", \"type\": ");
		put_json_str(&l, t->name);
		put_str(&l, ", \"type_address\": \"");
		put_hex(&l, t->address);
		put_str(&l, "\", \"size\": ");
		put_dec(&l, obj->size);
		put_str(&l, ", \"refcount\": ");
		if (obj->refcount >= 0)
			put_dec(&l, obj->refcount);
		else
			put_str(&l, "null");
		put_str(&l, ", \"generation\": ");
		put_json_str(&l, obj->list ? obj->list->name : "");
		put_str(&l, ", \"interpreter\": ");
		if (obj->interp && obj->interp->id >= 0)
			put_dec(&l, obj->interp->id);
		else
			put_str(&l, "null");
		if (where) {
			put_str(&l, ", \"on_page\": \"");
			put_str(&l, where);
			put_str(&l, "\"");
		}
		put_str(&l, "}\n");
		if (size)
			buf[l.len < size ? l.len : size - 1] = '\0';
		return l.len;
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
