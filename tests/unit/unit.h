/*
 * Helpers shared by the CUnit unit tests: error checks that print what went
 * wrong, and a main() driver whose exit status reflects every failure.
 */
#ifndef GCI_TEST_UNIT_H
#define GCI_TEST_UNIT_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "gcinspect.h"

/* Pass to err_matches() to skip the address check. */
#define ANY_ADDRESS (-1)

/*
 * Whether err is a success (NULL).  A failure's message is printed; err is
 * consumed either way.
 */
static inline bool unit_ok(struct gci_error *err, const char *what, int line)
{
	if (!err)
		return true;
	fprintf(stderr, "  line %d: %s failed: %s\n", line, what,
		err->message ? err->message : "(no message)");
	gci_error_destroy(err);
	return false;
}
#define OK(expr) unit_ok((expr), #expr, __LINE__)

/*
 * Whether err is an error of this code, carrying address (unless want_address
 * is ANY_ADDRESS) and whose message contains substr (unless NULL).  Prints
 * the mismatch.  err is consumed.
 */
static inline bool unit_err_matches(struct gci_error *err, enum gci_error_code code,
				    int want_address, uint64_t address,
				    const char *substr, int line)
{
	bool good = true;
	if (!err) {
		fprintf(stderr, "  line %d: expected an error, got success\n", line);
		return false;
	}
	if (err->code != code) {
		fprintf(stderr, "  line %d: error code %d, expected %d (%s)\n", line,
			(int)err->code, (int)code, err->message);
		good = false;
	}
	if (want_address != ANY_ADDRESS) {
		if (!err->has_address || err->address != address) {
			fprintf(stderr, "  line %d: error address %s0x%" PRIx64
				", expected 0x%" PRIx64 " (%s)\n", line,
				err->has_address ? "" : "(unset) ", err->address,
				address, err->message);
			good = false;
		}
	}
	if (substr && (!err->message || !strstr(err->message, substr))) {
		fprintf(stderr, "  line %d: message \"%s\" lacks \"%s\"\n", line,
			err->message ? err->message : "(null)", substr);
		good = false;
	}
	gci_error_destroy(err);
	return good;
}
#define ERR_AT(expr, code, address, substr) \
	unit_err_matches((expr), (code), 1, (address), (substr), __LINE__)
#define ERR(expr, code, substr) \
	unit_err_matches((expr), (code), ANY_ADDRESS, 0, (substr), __LINE__)

/* "0x1234" for an address, as the library formats it, in a static buffer. */
static inline const char *hex(uint64_t v)
{
	static char bufs[4][24];
	static unsigned next;
	char *b = bufs[next++ % 4];
	snprintf(b, sizeof(bufs[0]), "0x%" PRIx64, v);
	return b;
}

/* A small deterministic PRNG (xorshift64*), so runs are reproducible. */
static inline uint64_t unit_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

struct unit_test {
	const char *name;
	CU_TestFunc fn;
};

/* Run one suite; the exit status is non-zero if anything failed. */
static inline int unit_main(const char *suite_name, const struct unit_test *tests)
{
	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		return 2;
	}
	CU_pSuite suite = CU_add_suite(suite_name, NULL, NULL);
	if (!suite)
		goto cunit_error;
	for (const struct unit_test *t = tests; t->name; t++)
		if (!CU_add_test(suite, t->name, t->fn))
			goto cunit_error;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		goto cunit_error;
	unsigned failures = CU_get_number_of_failures();
	unsigned tests_failed = CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	if (failures) {
		fprintf(stderr, "%s: %u assertion(s) failed in %u test(s)\n", suite_name,
			failures, tests_failed);
		return 1;
	}
	return 0;

cunit_error:
	fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
	CU_cleanup_registry();
	return 2;
}

#endif
