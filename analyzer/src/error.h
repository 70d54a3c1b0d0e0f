/* Internal error helpers. */
#ifndef GCI_ERROR_H
#define GCI_ERROR_H

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>

#include "gcinspect.h"

#if defined(__GNUC__)
#define GCI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define GCI_PRINTF(a, b)
#endif

struct gci_error *gci_error_create(enum gci_error_code code, const char *fmt, ...)
	GCI_PRINTF(2, 3);
struct gci_error *gci_error_at(enum gci_error_code code, uint64_t address,
			       const char *fmt, ...) GCI_PRINTF(3, 4);
/* Prefix an error's message with more context ("reading X: "), in place. */
struct gci_error *gci_error_prefix(struct gci_error *err, const char *fmt, ...)
	GCI_PRINTF(2, 3);

/*
 * Make text read from a target safe to print and to put in JSON: control
 * characters and bytes that are not valid UTF-8 become '?', in place.
 */
void gci_text_clean(char *s);

/* Allocation helpers returning NULL on overflow. */
void *gci_reallocarray(void *p, size_t n, size_t size);

/*
 * Format a message and append it to a list of strings (*list, *n: the
 * warnings of a program or a server).  Returns the message, which the
 * list owns, or NULL when out of memory (nothing appended).
 */
const char *gci_strlist_vappend(char ***list, size_t *n, const char *fmt, va_list ap)
	GCI_PRINTF(3, 0);

/* The hash of an address for the open-addressing tables (a 64-bit mix). */
static inline size_t gci_hash_addr(uint64_t a)
{
	a ^= a >> 33;
	a *= 0xff51afd7ed558ccdULL;
	a ^= a >> 33;
	return (size_t)a;
}

#endif
