/* Errors: a code, a message, and for faults the address. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

struct gci_error gci_enomem = {
	.code = GCI_ERR_NOMEM,
	.message = (char *)"out of memory",
};

static struct gci_error *error_vcreate(enum gci_error_code code, bool has_address,
				       uint64_t address, const char *fmt, va_list ap)
	GCI_PRINTF(4, 0);
static struct gci_error *error_vcreate(enum gci_error_code code, bool has_address,
				       uint64_t address, const char *fmt, va_list ap)
{
	struct gci_error *err = calloc(1, sizeof(*err));
	if (!err)
		return &gci_enomem;
	if (vasprintf(&err->message, fmt, ap) < 0) {
		free(err);
		return &gci_enomem;
	}
	err->code = code;
	err->has_address = has_address;
	err->address = address;
	return err;
}

struct gci_error *gci_error_create(enum gci_error_code code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct gci_error *err = error_vcreate(code, false, 0, fmt, ap);
	va_end(ap);
	return err;
}

struct gci_error *gci_error_at(enum gci_error_code code, uint64_t address,
			       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct gci_error *err = error_vcreate(code, true, address, fmt, ap);
	va_end(ap);
	return err;
}

struct gci_error *gci_error_prefix(struct gci_error *err, const char *fmt, ...)
{
	if (!err || err == &gci_enomem)
		return err;
	char *prefix;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&prefix, fmt, ap);
	va_end(ap);
	if (n < 0)
		return err;
	char *joined;
	if (asprintf(&joined, "%s%s", prefix, err->message) >= 0) {
		free(err->message);
		err->message = joined;
	}
	free(prefix);
	return err;
}

void gci_error_destroy(struct gci_error *err)
{
	if (!err || err == &gci_enomem)
		return;
	free(err->message);
	free(err);
}

int gci_error_exit_status(enum gci_error_code code)
{
	switch (code) {
	case GCI_ERR_USAGE:
		return GCI_EXIT_USAGE;
	case GCI_ERR_INPUT:
	case GCI_ERR_FAULT:
		return GCI_EXIT_INPUT;
	case GCI_ERR_NOT_PYTHON:
	case GCI_ERR_UNSUPPORTED:
		return GCI_EXIT_NOT_PYTHON;
	case GCI_ERR_FREE_THREADED:
		return GCI_EXIT_FREE_THREADED;
	case GCI_ERR_INTEGRITY:
		return GCI_EXIT_PARTIAL;
	case GCI_ERR_ACCESS:
		return GCI_EXIT_ACCESS;
	case GCI_ERR_TRACED:
		return GCI_EXIT_TRACED;
	case GCI_ERR_NO_PROCESS:
		return GCI_EXIT_NO_PROCESS;
	case GCI_ERR_OUTPUT:
		return GCI_EXIT_OUTPUT;
	case GCI_ERR_NOMEM:
	case GCI_ERR_OTHER:
	case GCI_ERR_CANCELLED:
	default:
		return GCI_EXIT_SOFTWARE;
	}
}

void *gci_reallocarray(void *p, size_t n, size_t size)
{
	size_t bytes;
	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	return realloc(p, bytes ? bytes : 1);
}

void gci_text_clean(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p) {
		unsigned char c = *p;
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
			     (c & 0xf8) == 0xf0 ? 4 : 0;
		bool ok = len != 0 && !(len == 2 && c < 0xc2) && !(len == 4 && c > 0xf4);
		for (size_t i = 1; ok && i < len; i++)
			ok = (p[i] & 0xc0) == 0x80;
		if (len == 1 && (c < 0x20 || c == 0x7f))
			ok = false;
		if (!ok) {
			*p++ = '?';  /* one byte at a time: never past the NUL */
			continue;
		}
		p += len;
	}
}

const char *gci_strlist_vappend(char ***list, size_t *n, const char *fmt, va_list ap)
{
	char *msg;
	if (vasprintf(&msg, fmt, ap) < 0)
		return NULL;
	char **l = gci_reallocarray(*list, *n + 1, sizeof(*l));
	if (!l) {
		free(msg);
		return NULL;
	}
	*list = l;
	l[(*n)++] = msg;
	return msg;
}
